import { describe, expect, it } from 'vitest';
import {
  isVerificationCode,
  newResetToken,
  newVerificationCode,
  resetTokenHash,
  sameDigest,
  verificationCodeHash,
} from '../../lib/accounts/codes.js';
import { renderAccountEmail } from '../../lib/accounts/emails.js';

const key = Buffer.alloc(32, 7);

describe('verification codes', () => {
  it('are six digits, leading zeros kept, and spread over the range', () => {
    const codes = Array.from({ length: 2000 }, newVerificationCode);
    expect(codes.every(isVerificationCode)).toBe(true);
    expect(new Set(codes).size).toBeGreaterThan(1990);
    expect(codes.some((c) => c.startsWith('0'))).toBe(true);
  });

  it('recognises only six ASCII digits', () => {
    expect(isVerificationCode('012345')).toBe(true);
    for (const bad of ['12345', '1234567', '12345a', '١٢٣٤٥٦', ' 12345']) expect(isVerificationCode(bad)).toBe(false);
  });

  it('are stored keyed by the secret and the attempt', () => {
    const digest = verificationCodeHash(key, 'attempt-1', '123456');
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    expect(sameDigest(digest, verificationCodeHash(key, 'attempt-1', '123456'))).toBe(true);
    expect(sameDigest(digest, verificationCodeHash(key, 'attempt-2', '123456'))).toBe(false);
    expect(sameDigest(digest, verificationCodeHash(Buffer.alloc(32, 8), 'attempt-1', '123456'))).toBe(false);
    expect(sameDigest(digest, verificationCodeHash(key, 'attempt-1', '123457'))).toBe(false);
  });

  it('compares digests of different lengths as unequal instead of throwing', () => {
    expect(sameDigest('abcd', 'abcdef')).toBe(false);
  });
});

describe('reset tokens', () => {
  it('are long, url-safe and stored as their SHA-256', () => {
    const token = newResetToken();
    expect(token).toMatch(/^[\w-]{43}$/);
    expect(resetTokenHash(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(resetTokenHash(token)).not.toBe(resetTokenHash(newResetToken()));
  });
});

describe('account emails', () => {
  it('carry the code in subject, text and HTML, in English or Polish', () => {
    const en = renderAccountEmail({ kind: 'verify_email', code: '042424', validMinutes: 10 }, 'en', 'Ann');
    expect(en.subject).toBe('Your Meridian verification code: 042424');
    expect(en.text).toContain('Code: 042424');
    expect(en.text).toContain('10 minutes');
    expect(en.html).toContain('042424');
    expect(en.html).toContain('lang="en"');
    const pl = renderAccountEmail({ kind: 'verify_email', code: '042424', validMinutes: 10 }, 'pl');
    expect(pl.subject).toContain('kod weryfikacyjny');
    expect(pl.text).toContain('Kod: 042424');
    expect(pl.html).toContain('lang="pl"');
  });

  it('escape what they put into HTML', () => {
    const mail = renderAccountEmail(
      { kind: 'password_reset', link: 'https://x.test/reset#token=a"b<c', validMinutes: 30 },
      'en',
      '<script>',
    );
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).toContain('&lt;script&gt;');
    expect(mail.html).toContain('href="https://x.test/reset#token=a&quot;b&lt;c"');
    expect(mail.text).toContain('https://x.test/reset#token=a"b<c');
  });

  it('tell an existing account’s owner without any code', () => {
    const mail = renderAccountEmail(
      { kind: 'already_registered', signInUrl: 'http://c/login', resetUrl: 'http://c/forgot-password' },
      'en',
    );
    expect(mail.text).toContain('http://c/forgot-password');
    expect(mail.text).not.toMatch(/\d{6}/);
  });
});
