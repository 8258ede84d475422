import { allHandlersFinished, condition, log, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import {
  emailVerified,
  resendCode,
  resendCodeRequested,
  resetUsed,
  type PasswordResetWorkflow,
  type RegistrationWorkflow,
  type ResendResult,
} from './contracts/accounts.js';
import { handleRequest, requestTime } from './requests.js';

// Sending email waits on an SMTP server: regular activities, retried with back-off (a code is re-issued per try).
const { issueAccountCode, sendAccountNotice } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 10 },
});
const { expireAccountCode, removeUnverifiedAccount } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

/**
 * One sign-up attempt: emails a code, answers resends after a cool-down (each a new code with a fresh count of
 * wrong guesses), forgets each code when it expires (durable timer), and removes the account if it is still
 * unverified after `unverifiedTtlMs`. The code is checked by the API in the database; it signals `emailVerified`.
 */
export const registrationWorkflow: RegistrationWorkflow = async (input) => {
  if (input.existing) {
    await sendAccountNotice({ userId: input.userId });
    return 'notified';
  }
  const removeAt = Date.now() + input.unverifiedTtlMs;
  let verified = false;
  let gone = false;
  /** When the last code was sent (claimed before sending, so two resends at once send one), and its expiry. */
  let sentAt = 0;
  let issued = 0;
  let expiresAt: string | null = null;
  setHandler(emailVerified, () => {
    verified = true;
  });

  const issue = async () => {
    sentAt = Date.now();
    try {
      const code = await issueAccountCode({
        attemptId: input.attemptId,
        userId: input.userId,
        purpose: 'verify_email',
        ttlMs: input.codeTtlMs,
      });
      if (!code) gone = true;
      else expiresAt = code.expiresAt;
    } catch (error) {
      // Retries spent (the SMTP server kept refusing): the person may ask for a resend.
      log.warn('Verification code not sent', { reason: String(error) });
    }
    issued += 1;
  };

  handleRequest(
    resendCode,
    resendCodeRequested,
    async (request): Promise<ResendResult> => {
      const retryAfterMs = sentAt + input.resendCooldownMs - requestTime(request);
      if (retryAfterMs > 0) return { sent: false, retryAfterMs };
      await issue();
      return { sent: true };
    },
    () => {
      if (verified || gone) throw new Error('This sign-up is finished');
    },
  );

  await issue();
  while (!verified && !gone) {
    const seen = issued;
    const codeExpiry = expiresAt ? Date.parse(expiresAt) : Infinity;
    const wakeAt = Math.min(codeExpiry, removeAt);
    const woke = await condition(() => verified || issued !== seen, Math.max(1, wakeAt - Date.now()));
    if (woke) continue;
    if (Date.now() >= removeAt) {
      // Verified while no Signal arrived (an API crash after the commit): the account stays.
      if (!(await removeUnverifiedAccount({ userId: input.userId }))) break;
      await condition(allHandlersFinished);
      return 'removed';
    }
    await expireAccountCode({ attemptId: input.attemptId, expiresAt: expiresAt! });
    expiresAt = null;
  }
  await condition(allHandlersFinished);
  return gone ? 'removed' : 'verified';
};

/** One password-reset request: emails a single-use link and forgets it when it expires (durable timer). */
export const passwordResetWorkflow: PasswordResetWorkflow = async (input) => {
  if (!input.userId) return 'no_account';
  let used = false;
  setHandler(resetUsed, () => {
    used = true;
  });
  const token = await issueAccountCode({
    attemptId: input.attemptId,
    userId: input.userId,
    purpose: 'password_reset',
    ttlMs: input.ttlMs,
  });
  if (!token) return 'no_account';
  if (await condition(() => used, Math.max(1, Date.parse(token.expiresAt) - Date.now()))) return 'used';
  await expireAccountCode({ attemptId: input.attemptId, expiresAt: token.expiresAt });
  return 'expired';
};
