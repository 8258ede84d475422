/**
 * The secrets self-service accounts email (README "Accounts"): 6-digit sign-up codes and password-reset tokens,
 * and how they are stored — only a digest, compared in constant time.
 */
import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import { randomToken, sha256 } from '../platform/crypto.js';

/** A uniformly random 6-digit code, leading zeros kept ("004217"). */
export function newVerificationCode(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, '0');
}

/** Whether `code` looks like a verification code at all (6 ASCII digits). */
export const isVerificationCode = (code: string) => /^\d{6}$/.test(code);

/**
 * What is stored of a verification code: HMAC-SHA-256 (hex) keyed by `key` (SECRETS_KEY) over the attempt id and
 * the code. Keyed, because a plain hash of one of a million codes is reversed offline; the attempt id makes two
 * attempts' equal codes differ.
 */
export function verificationCodeHash(key: Buffer, attemptId: string, code: string): string {
  return createHmac('sha256', key).update(`${attemptId}:${code}`).digest('hex');
}

/** A password-reset token for the emailed link: 32 random bytes, base64url (43 characters). */
export const newResetToken = (): string => randomToken(32);

/** What is stored of a reset token: its SHA-256 (hex); 256 random bits need no key. */
export const resetTokenHash = (token: string): string => sha256(token);

/** Constant-time equality of two hex digests (false when their lengths differ). */
export function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}
