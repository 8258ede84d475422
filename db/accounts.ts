/**
 * Self-service accounts (README "Accounts"): unverified sign-ups, profiles, passwords, and the emailed codes of
 * sign-up verification and password reset — only their digests, checked here under a row lock so that wrong
 * guesses are counted exactly.
 */
import type { Knex } from 'knex';
import { revokeUserSessions } from './auth.js';
import { AccountCode, type CodePurpose } from './models/AccountCode.js';
import { User, type Language } from './models/User.js';

export type { CodePurpose, Language };

export interface NewAccount {
  email: string;
  passwordHash: string;
  displayName: string | null;
  language: Language;
  timeZone: string;
}

/**
 * Inserts an unverified `operator` with no module permissions; when the email (lower-cased by the caller) is
 * taken, inserts nothing and returns the existing user's id with `created: false` — one statement, so two
 * sign-ups racing for one email cannot both create it.
 */
export async function createUnverifiedUser(
  db: Knex,
  account: NewAccount,
): Promise<{ userId: string; created: boolean }> {
  const inserted = await db('users')
    .insert({
      email: account.email,
      password_hash: account.passwordHash,
      role: 'operator',
      email_verified_at: null,
      display_name: account.displayName,
      language: account.language,
      time_zone: account.timeZone,
    })
    .onConflict('email')
    .ignore()
    .returning('id');
  if (inserted.length) return { userId: inserted[0].id, created: true };
  const existing = await User.query(db).findOne({ email: account.email });
  return { userId: existing!.id, created: false };
}

export interface ProfileChange {
  display_name?: string | null;
  language?: Language;
  time_zone?: string;
}

/** Applies `change` to the user's profile; the user after it, undefined when it does not exist. */
export async function updateProfile(db: Knex, userId: string, change: ProfileChange): Promise<User | undefined> {
  if (Object.keys(change).length) await User.query(db).patch(change).findById(userId);
  return User.query(db).findById(userId);
}

/** Sets the password hash and ends every other session of the user (`keep`: the one that asked), in one transaction. */
export async function changePassword(db: Knex, userId: string, passwordHash: string, keep?: string): Promise<void> {
  await db.transaction(async (trx) => {
    await User.query(trx).patch({ password_hash: passwordHash }).findById(userId);
    await revokeUserSessions(trx, userId, keep);
  });
}

/**
 * Stores the live code of attempt `attemptId` (a new attempt, or a resend replacing the previous code and its
 * count of wrong guesses), unless the attempt was already consumed. False when nothing was stored.
 */
export async function storeCode(
  db: Knex,
  code: { attemptId: string; userId: string; purpose: CodePurpose; codeHash: string; expiresAt: Date },
): Promise<boolean> {
  const live = { code_hash: code.codeHash, expires_at: code.expiresAt, failed_attempts: 0, sent_at: new Date() };
  const stored = await db('account_codes')
    .insert({ id: code.attemptId, user_id: code.userId, purpose: code.purpose, ...live })
    .onConflict('id')
    .merge(live)
    .where('account_codes.consumed_at', null)
    .returning('id');
  return stored.length > 0;
}

/** Forgets the attempt's code if it is still the one that expires at `expiresAt` (a resent one lives on). */
export async function expireCode(db: Knex, attemptId: string, expiresAt: Date): Promise<void> {
  await AccountCode.query(db)
    .patch({ code_hash: null })
    .findById(attemptId)
    .where('expires_at', '<=', expiresAt)
    .whereNull('consumed_at');
}

/** The user's newest attempt for `purpose`, or undefined. */
export async function latestAttempt(db: Knex, userId: string, purpose: CodePurpose): Promise<AccountCode | undefined> {
  return AccountCode.query(db).where({ user_id: userId, purpose }).orderBy('created_at', 'desc').first();
}

export type VerifyOutcome =
  | { outcome: 'verified'; attemptId: string; user: User }
  | { outcome: 'wrong'; attemptsLeft: number }
  /** No live code: never sent, expired, or dead after too many wrong guesses. */
  | { outcome: 'no_code' }
  | { outcome: 'already_verified' };

/**
 * Checks a sign-up code for the user in one transaction holding the attempt's row: `matches(attemptId, digest)`
 * compares (in constant time). A match consumes the code and marks the email verified; a miss counts, and the
 * `maxWrong`-th miss kills the code (README "Accounts": at most 5 wrong codes).
 */
export async function checkVerificationCode(
  db: Knex,
  userId: string,
  matches: (attemptId: string, digest: string) => boolean,
  maxWrong: number,
): Promise<VerifyOutcome> {
  return db.transaction(async (trx) => {
    const user = await User.query(trx).findById(userId).forUpdate();
    if (!user) return { outcome: 'no_code' };
    if (user.email_verified_at) return { outcome: 'already_verified' };
    const attempt = await latestAttempt(trx, userId, 'verify_email');
    const now = new Date();
    if (!attempt?.code_hash || !attempt.expires_at || attempt.expires_at <= now) return { outcome: 'no_code' };
    if (matches(attempt.id, attempt.code_hash)) {
      await AccountCode.query(trx).patch({ code_hash: null, consumed_at: now }).findById(attempt.id);
      await User.query(trx).patch({ email_verified_at: now }).findById(userId);
      return { outcome: 'verified', attemptId: attempt.id, user: { ...user, email_verified_at: now } as User };
    }
    const failed = attempt.failed_attempts + 1;
    await AccountCode.query(trx)
      .patch({ failed_attempts: failed, ...(failed >= maxWrong ? { code_hash: null } : {}) })
      .findById(attempt.id);
    return { outcome: 'wrong', attemptsLeft: Math.max(0, maxWrong - failed) };
  });
}

/**
 * Uses a password-reset token by its digest in one transaction: sets the password, marks the email verified (the
 * link reached it), consumes the token and revokes every session of the user. The attempt's id and the user's, or
 * undefined when no live token has this digest (unknown, used, expired).
 */
export async function consumeResetToken(
  db: Knex,
  tokenHash: string,
  passwordHash: string,
): Promise<{ attemptId: string; userId: string } | undefined> {
  return db.transaction(async (trx) => {
    const attempt = await AccountCode.query(trx)
      .findOne({ code_hash: tokenHash, purpose: 'password_reset' })
      .whereNull('consumed_at')
      .where('expires_at', '>', new Date())
      .forUpdate();
    if (!attempt) return undefined;
    const now = new Date();
    await AccountCode.query(trx).patch({ code_hash: null, consumed_at: now }).findById(attempt.id);
    await User.query(trx)
      .patch({ password_hash: passwordHash, email_verified_at: trx.raw('coalesce(email_verified_at, ?)', [now]) })
      .findById(attempt.user_id);
    await revokeUserSessions(trx, attempt.user_id);
    return { attemptId: attempt.id, userId: attempt.user_id };
  });
}

/** Deletes the user if it is still unverified (sign-up abandoned); whether it did. */
export async function removeUnverifiedUser(db: Knex, userId: string): Promise<boolean> {
  const deleted = await db('users').where({ id: userId }).whereNull('email_verified_at').delete();
  return deleted > 0;
}
