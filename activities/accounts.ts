/**
 * The account workflows' I/O: issuing an emailed code or reset link (stored as a digest, sent in the user's
 * language), the notice to an existing account's owner, a code's expiry and an abandoned sign-up's removal.
 */
import { findUser } from '../db/auth.js';
import { expireCode, removeUnverifiedUser, storeCode, type CodePurpose } from '../db/accounts.js';
import { newResetToken, newVerificationCode, resetTokenHash, verificationCodeHash } from '../lib/accounts/codes.js';
import { renderAccountEmail, type AccountEmail } from '../lib/accounts/emails.js';
import { createMailer, type Mailer } from '../lib/platform/mail.js';
import type { ActivityDeps } from './index.js';

export function accountActivities({ config, db }: ActivityDeps) {
  let mailer: Mailer | undefined;
  const mail = () => (mailer ??= createMailer(config.mail.smtpUrl, config.mail.from));
  const consoleUrl = (path: string) => new URL(path, config.publicUrl).toString();

  return {
    /**
     * Makes a new code (sign-up: 6 digits; reset: a link's token), stores its digest as the attempt's live code
     * (expiring `ttlMs` from now) and emails it. Each try makes a new code, so a retry after a failed send
     * leaves only the code actually sent valid; the code itself never leaves this activity. Its expiry (ISO 8601),
     * or null when the user no longer exists or the attempt was already used.
     */
    async issueAccountCode(input: {
      attemptId: string;
      userId: string;
      purpose: CodePurpose;
      ttlMs: number;
    }): Promise<{ expiresAt: string } | null> {
      const user = await findUser(db, input.userId);
      if (!user) return null;
      const expiresAt = new Date(Date.now() + input.ttlMs);
      const validMinutes = Math.max(1, Math.round(input.ttlMs / 60_000));
      let email: AccountEmail;
      let codeHash: string;
      if (input.purpose === 'verify_email') {
        const code = newVerificationCode();
        codeHash = verificationCodeHash(config.secretsKey, input.attemptId, code);
        email = { kind: 'verify_email', code, validMinutes };
      } else {
        const token = newResetToken();
        codeHash = resetTokenHash(token);
        email = { kind: 'password_reset', link: consoleUrl(`/reset-password#token=${token}`), validMinutes };
      }
      const stored = await storeCode(db, { ...input, codeHash, expiresAt });
      if (!stored) return null;
      await mail().send({ to: user.email, ...renderAccountEmail(email, user.language, user.display_name ?? '') });
      return { expiresAt: expiresAt.toISOString() };
    },

    /** Tells an existing account's owner that someone tried to sign up with the address (no code, no secret). */
    async sendAccountNotice(input: { userId: string }): Promise<void> {
      const user = await findUser(db, input.userId);
      if (!user) return;
      const email: AccountEmail = {
        kind: 'already_registered',
        signInUrl: consoleUrl('/login'),
        resetUrl: consoleUrl('/forgot-password'),
      };
      await mail().send({ to: user.email, ...renderAccountEmail(email, user.language, user.display_name ?? '') });
    },

    async expireAccountCode(input: { attemptId: string; expiresAt: string }): Promise<void> {
      await expireCode(db, input.attemptId, new Date(input.expiresAt));
    },

    /** Removes the user when still unverified; whether it did. */
    async removeUnverifiedAccount(input: { userId: string }): Promise<boolean> {
      return removeUnverifiedUser(db, input.userId);
    },
  };
}
