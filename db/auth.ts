/**
 * Credentials: console users, their sessions (a refresh-token family each, with the device that opened it) and
 * rotating refresh tokens, and the API-key lookup that authenticates merchants.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { ApiKey } from './models/ApiKey.js';
import { RefreshFamily } from './models/RefreshFamily.js';
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
async function insertRefreshToken(
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

/** Where a session was opened from: the request's User-Agent and client IP (api/middleware/clientIp). */
export interface SessionDevice {
  userAgent: string | null;
  ip: string | null;
}

/** Opens a session for `userId` in one transaction: a new family with its device, and its first token. Its id. */
export async function openSession(
  db: Knex,
  userId: string,
  token: NewRefreshToken,
  device: SessionDevice,
): Promise<string> {
  const familyId = randomUUID();
  await db.transaction(async (trx) => {
    await RefreshFamily.query(trx).insert({
      id: familyId,
      user_id: userId,
      user_agent: device.userAgent?.slice(0, 512) ?? null,
      ip: device.ip,
    });
    await insertRefreshToken(trx, { ...token, userId, familyId });
  });
  return familyId;
}

/**
 * Inside `trx`: the refresh token with this hash, read after taking its family's lock (a transaction-scoped
 * advisory lock), so rotations and revocations of one family run one at a time and a revocation sees every
 * token a rotation added. Undefined when the hash is unknown.
 */
async function lockedToken(trx: Knex.Transaction, tokenHash: string): Promise<RefreshToken | undefined> {
  const found = await RefreshToken.query(trx).findOne({ token_hash: tokenHash });
  if (!found) return undefined;
  await lockFamily(trx, found.family_id);
  return RefreshToken.query(trx).findById(found.id);
}

/** Revokes the family and every unrevoked token of it (spent ones too, which ends their grace); resolves when done. */
async function revokeFamily(db: Knex, familyId: string): Promise<void> {
  const now = new Date();
  await RefreshToken.query(db).patch({ revoked_at: now }).where({ family_id: familyId }).whereNull('revoked_at');
  await RefreshFamily.query(db).patch({ revoked_at: now }).findById(familyId).whereNull('revoked_at');
}

/** Inside `trx`: takes the family's lock (see `lockedToken`). */
async function lockFamily(trx: Knex.Transaction, familyId: string): Promise<void> {
  await trx.raw('SELECT pg_advisory_xact_lock(hashtextextended(?, 0))', [`refresh-family:${familyId}`]);
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
    await RefreshFamily.query(trx).patch({ last_used_at: now }).findById(token.family_id);
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

/** The family (session id) of the refresh token with this hash, or undefined when unknown. */
export async function familyOfToken(db: Knex, tokenHash: string): Promise<string | undefined> {
  return (await RefreshToken.query(db).findOne({ token_hash: tokenHash }))?.family_id;
}

/** A user's live sessions: unrevoked families holding an unexpired token, the most recently used first. */
export async function listSessions(db: Knex, userId: string): Promise<RefreshFamily[]> {
  return RefreshFamily.query(db)
    .where({ user_id: userId })
    .whereNull('revoked_at')
    .whereExists(
      RefreshToken.query(db)
        .whereColumn('refresh_tokens.family_id', 'refresh_families.id')
        .whereNull('refresh_tokens.revoked_at')
        .where('refresh_tokens.expires_at', '>', new Date()),
    )
    .orderBy('last_used_at', 'desc');
}

/** Revokes the user's session `familyId` under its lock: false when the user has no such live session. */
export async function revokeSession(db: Knex, userId: string, familyId: string): Promise<boolean> {
  return db.transaction(async (trx) => {
    await lockFamily(trx, familyId);
    const family = await RefreshFamily.query(trx).findById(familyId);
    if (!family || family.user_id !== userId || family.revoked_at) return false;
    await revokeFamily(trx, familyId);
    return true;
  });
}

/**
 * Inside `trx`: revokes every session of the user but `keep` (a password change keeps the session that made it),
 * each under its family's lock (taken in id order, one lock per rotation, so no deadlock) — a rotation racing this
 * either finished before (its successor is revoked here) or sees its token revoked.
 */
export async function revokeUserSessions(trx: Knex.Transaction, userId: string, keep?: string): Promise<void> {
  const families = await RefreshToken.query(trx).distinct('family_id').where({ user_id: userId }).orderBy('family_id');
  for (const { family_id: familyId } of families) {
    if (familyId === keep) continue;
    await lockFamily(trx, familyId);
    await revokeFamily(trx, familyId);
  }
}

/** The unrevoked API key with this hash, or undefined. */
export async function findActiveApiKey(db: Knex, keyHash: string): Promise<ActiveApiKey | undefined> {
  return ApiKey.query(db).select('id', 'merchant_id').findOne({ key_hash: keyHash }).whereNull('revoked_at');
}

/** An unrevoked API key as authentication needs it: its id and its merchant's. */
export type ActiveApiKey = Pick<ApiKey, 'id' | 'merchant_id'>;

/** Sets the key's `last_used_at` to now; resolves when written. */
export async function touchApiKey(db: Knex, id: string): Promise<void> {
  await ApiKey.query(db).patch({ last_used_at: new Date() }).findById(id);
}
