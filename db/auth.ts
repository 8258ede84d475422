/** Credentials: console users, their rotating refresh tokens, and the API-key lookup that authenticates merchants. */
import type { Knex } from 'knex';
import { ApiKey } from './models/ApiKey.js';
import { RefreshToken } from './models/RefreshToken.js';
import { User } from './models/User.js';

/** The user with this (already lower-cased) email, or undefined. */
export async function findUserByEmail(db: Knex, email: string): Promise<User | undefined> {
  return User.query(db).findOne({ email });
}

/** The user with this id, or undefined (the account was deleted). */
export async function findUser(db: Knex, id: string): Promise<User | undefined> {
  return User.query(db).findById(id);
}

/** Stores a new refresh token of `familyId` (only its hash); resolves when inserted. */
export async function insertRefreshToken(
  db: Knex,
  token: { userId: string; familyId: string; tokenHash: string; expiresAt: Date },
): Promise<void> {
  await RefreshToken.query(db).insert({
    user_id: token.userId,
    family_id: token.familyId,
    token_hash: token.tokenHash,
    expires_at: token.expiresAt,
  });
}

/** Revokes every unrevoked token of the family; resolves when done. */
async function revokeFamily(db: Knex, familyId: string): Promise<void> {
  await RefreshToken.query(db).patch({ revoked_at: new Date() }).where({ family_id: familyId }).whereNull('revoked_at');
}

/**
 * Spends the refresh token with this hash, in one transaction (the row locked): its user (undefined if
 * deleted) and family, or undefined when the token is unknown, expired or already spent — a spent one
 * revokes its whole family.
 */
export async function spendRefreshToken(
  db: Knex,
  tokenHash: string,
): Promise<{ user: User | undefined; familyId: string } | undefined> {
  return db.transaction(async (trx) => {
    const token = await RefreshToken.query(trx).findOne({ token_hash: tokenHash }).forUpdate();
    if (!token || token.expires_at < new Date()) return undefined;
    if (token.revoked_at) {
      // A rotated token came back: someone holds a copy. End the whole family.
      await revokeFamily(trx, token.family_id);
      return undefined;
    }
    await RefreshToken.query(trx).patch({ revoked_at: new Date() }).findById(token.id);
    return { user: await User.query(trx).findById(token.user_id), familyId: token.family_id };
  });
}

/** Revokes the family of the refresh token with this hash (logout); nothing when the token is unknown. */
export async function revokeRefreshFamily(db: Knex, tokenHash: string): Promise<void> {
  const token = await RefreshToken.query(db).findOne({ token_hash: tokenHash });
  if (token) await revokeFamily(db, token.family_id);
}

/** The unrevoked API key with this hash, or undefined. */
export async function findActiveApiKey(db: Knex, keyHash: string): Promise<ApiKey | undefined> {
  return ApiKey.query(db).findOne({ key_hash: keyHash }).whereNull('revoked_at');
}

/** Sets the key's `last_used_at` to now; resolves when written. */
export async function touchApiKey(db: Knex, id: string): Promise<void> {
  await ApiKey.query(db).patch({ last_used_at: new Date() }).findById(id);
}
