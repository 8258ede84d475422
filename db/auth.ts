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

interface NewRefreshToken {
  tokenHash: string;
  expiresAt: Date;
}

/** Stores a new refresh token of `familyId` (only its hash); resolves when inserted. */
export async function insertRefreshToken(
  db: Knex,
  token: NewRefreshToken & { userId: string; familyId: string },
): Promise<void> {
  await RefreshToken.query(db).insert({
    user_id: token.userId,
    family_id: token.familyId,
    token_hash: token.tokenHash,
    expires_at: token.expiresAt,
  });
}

/**
 * Inside `trx`: the refresh token with this hash, read after taking its family's lock (a transaction-scoped
 * advisory lock), so rotations and revocations of one family run one at a time and a revocation sees every
 * token a rotation added. Undefined when the hash is unknown.
 */
async function lockedToken(trx: Knex.Transaction, tokenHash: string): Promise<RefreshToken | undefined> {
  const found = await RefreshToken.query(trx).findOne({ token_hash: tokenHash });
  if (!found) return undefined;
  await trx.raw('SELECT pg_advisory_xact_lock(hashtextextended(?, 0))', [`refresh-family:${found.family_id}`]);
  return RefreshToken.query(trx).findById(found.id);
}

/** Revokes every unrevoked token of the family (spent ones too, which ends their grace); resolves when done. */
async function revokeFamily(db: Knex, familyId: string): Promise<void> {
  await RefreshToken.query(db).patch({ revoked_at: new Date() }).where({ family_id: familyId }).whereNull('revoked_at');
}

/**
 * Rotates the refresh token with hash `tokenHash` in one transaction under its family's lock: marks it spent,
 * stores `successor` in the same family and returns the user. Undefined (nothing stored) when the token is
 * unknown, expired, revoked, or its user was deleted.
 *
 * A token already spent at most `graceS` seconds ago is a twin request racing the one that spent it (two tabs
 * or two API calls sharing one cookie): it gets a successor of its own and the family lives on. Spent longer
 * ago, or revoked, it is taken for a stolen copy and its whole family is revoked — the reuse detection of
 * refresh-token rotation (RFC 9700 §4.14.2), whose grace period for concurrent requests is this window.
 */
export async function rotateRefreshToken(
  db: Knex,
  tokenHash: string,
  successor: NewRefreshToken,
  graceS: number,
): Promise<User | undefined> {
  return db.transaction(async (trx) => {
    const token = await lockedToken(trx, tokenHash);
    const now = new Date();
    if (!token || token.expires_at < now) return undefined;
    const twin = token.used_at !== null && now.getTime() - token.used_at.getTime() <= graceS * 1000;
    if (token.revoked_at || (token.used_at && !twin)) {
      await revokeFamily(trx, token.family_id);
      return undefined;
    }
    const user = await User.query(trx).findById(token.user_id);
    if (!user) return undefined;
    if (!token.used_at) await RefreshToken.query(trx).patch({ used_at: now }).findById(token.id);
    await insertRefreshToken(trx, { ...successor, userId: user.id, familyId: token.family_id });
    return user;
  });
}

/** Revokes the family of the refresh token with this hash (logout), under the family's lock; nothing when unknown. */
export async function revokeRefreshFamily(db: Knex, tokenHash: string): Promise<void> {
  await db.transaction(async (trx) => {
    const token = await lockedToken(trx, tokenHash);
    if (token) await revokeFamily(trx, token.family_id);
  });
}

/** The unrevoked API key with this hash, or undefined. */
export async function findActiveApiKey(db: Knex, keyHash: string): Promise<ApiKey | undefined> {
  return ApiKey.query(db).findOne({ key_hash: keyHash }).whereNull('revoked_at');
}

/** Sets the key's `last_used_at` to now; resolves when written. */
export async function touchApiKey(db: Knex, id: string): Promise<void> {
  await ApiKey.query(db).patch({ last_used_at: new Date() }).findById(id);
}
