/**
 * Self-service accounts (README "Accounts"): sign-up with an emailed 6-digit code, resending it, and password
 * reset by an emailed single-use link. Each sign-up and each reset request is a Temporal workflow (workflows/
 * accounts.ts: code expiry, resend cool-down, removal of abandoned sign-ups); codes are checked here against
 * their stored digests. Answers never tell whether an email has an account.
 */
import bcrypt from 'bcryptjs';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { z } from 'zod';
import { checkVerificationCode, consumeResetToken, createUnverifiedUser, latestAttempt } from '../../db/accounts.js';
import { findUserByEmail } from '../../db/auth.js';
import { isVerificationCode, resetTokenHash, sameDigest, verificationCodeHash } from '../../lib/accounts/codes.js';
import { LANGUAGES } from '../../lib/accounts/emails.js';
import { isTimeZone } from '../../lib/platform/config.js';
import {
  notifyResetUsed,
  notifyVerified,
  requestResend,
  startPasswordReset,
  startRegistration,
} from '../../clients/accounts.js';
import type { AppContext } from '../context.js';
import type { ApiDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { consumeOrRefuse } from '../middleware/rateLimit.js';
import type { Api } from '../route.js';
import { BCRYPT_ROUNDS, NewPassword } from './auth.js';
import { Session, signInAs } from './sessions.js';

const Email = z.email().max(254);
const Accepted = z
  .object({ status: z.literal('accepted'), message: z.string() })
  .meta({ id: 'AccountRequestAccepted' });

const accepted = (ctx: AppContext, message: string) => {
  ctx.status = 202;
  ctx.body = { status: 'accepted', message };
};

const invalidCode = (attemptsLeft?: number) =>
  new ApiError(
    400,
    'invalid_code',
    attemptsLeft === 0
      ? 'Wrong code. It no longer works: ask for a new one'
      : 'Wrong code, or no code is pending for this email',
    attemptsLeft === undefined ? undefined : { attempts_left: attemptsLeft },
  );

export function accountRoutes(api: Api, deps: ApiDeps) {
  const { config, db, redis, temporal } = deps;
  const limiter = (keyPrefix: string, points: number, duration: number) =>
    new RateLimiterRedis({ storeClient: redis, keyPrefix, points, duration });
  const actions = ['register', 'verify', 'resend', 'reset'] as const;
  /**
   * Per action: a budget per email and one per client IP, each per window; and one resend per email per cool-down,
   * whether or not the email has an account (the workflow enforces the cool-down too). Built on first use: declaring
   * routes touches no dependency (the OpenAPI generator passes none).
   */
  let limiters: ReturnType<typeof buildLimiters> | undefined;
  function buildLimiters() {
    const { perEmail, perIp, windowS } = config.accounts.limits;
    const budgets = (action: string) => ({
      email: limiter(`acct:${action}:email`, perEmail, windowS),
      ip: limiter(`acct:${action}:ip`, perIp, windowS),
    });
    return {
      budgets: Object.fromEntries(actions.map((a) => [a, budgets(a)])) as Record<
        (typeof actions)[number],
        ReturnType<typeof budgets>
      >,
      resendCooldown: limiter(
        'acct:resend:cooldown',
        1,
        Math.max(1, Math.ceil(config.accounts.resendCooldownMs / 1000)),
      ),
    };
  }
  const limits = () => (limiters ??= buildLimiters());
  async function spend(ctx: AppContext, action: (typeof actions)[number], email?: string) {
    const budget = limits().budgets[action];
    await consumeOrRefuse(budget.ip, ctx.ip, 'Too many attempts from this address; try again later');
    if (email) await consumeOrRefuse(budget.email, email, 'Too many attempts for this email; try again later');
  }

  api.route({
    method: 'post',
    path: '/api/v1/auth/register',
    summary: 'Sign up: emails a 6-digit code (valid 10 min) to confirm the address; always 202',
    tag: 'auth',
    access: ['public'],
    body: z.object({
      email: Email,
      password: NewPassword,
      display_name: z.string().trim().max(100).optional(),
      language: z.enum(LANGUAGES as ['en', 'pl']).default('en'),
      time_zone: z.string().max(64).refine(isTimeZone, 'an IANA time zone').default('UTC'),
    }),
    responses: {
      202: {
        description: 'The code is on its way — or, when the email already has an account, its owner is told so',
        schema: Accepted,
      },
    },
    handler: async (ctx, { body }) => {
      const email = body.email.toLowerCase();
      await spend(ctx, 'register', email);
      // Hashed either way, and a workflow started either way, so an existing email takes as long as a new one.
      const passwordHash = await bcrypt.hash(body.password, BCRYPT_ROUNDS);
      const { userId, created } = await createUnverifiedUser(db, {
        email,
        passwordHash,
        displayName: body.display_name || null,
        language: body.language,
        timeZone: body.time_zone,
      });
      await startRegistration(temporal.client, config, { userId, existing: !created });
      accepted(ctx, 'If this email can be registered, a 6-digit code is on its way to it.');
    },
  });

  api.route({
    method: 'post',
    path: '/api/v1/auth/verify-email',
    summary: 'Confirm the email with the emailed code; signs in (as login does). 5 wrong codes kill the code',
    tag: 'auth',
    access: ['public'],
    body: z.object({ email: Email, code: z.string().trim().max(20) }),
    responses: {
      200: { description: 'Verified and signed in', schema: Session },
      400: {
        description:
          '`invalid_code` (with `attempts_left` when a code is pending) or `code_expired` (expired, or dead after too many wrong codes: ask for a new one)',
      },
    },
    handler: async (ctx, { body }) => {
      const email = body.email.toLowerCase();
      await spend(ctx, 'verify', email);
      const user = await findUserByEmail(db, email);
      if (!user || user.email_verified_at || !isVerificationCode(body.code)) throw invalidCode();
      const result = await checkVerificationCode(
        db,
        user.id,
        (attemptId, digest) => sameDigest(verificationCodeHash(config.secretsKey, attemptId, body.code), digest),
        config.accounts.maxWrongCodes,
      );
      if (result.outcome === 'no_code')
        throw new ApiError(
          400,
          'code_expired',
          'This code has expired or was entered wrong too often: ask for a new one',
        );
      if (result.outcome !== 'verified')
        throw invalidCode(result.outcome === 'wrong' ? result.attemptsLeft : undefined);
      await notifyVerified(temporal.client, result.attemptId);
      if (!result.user.active) throw new ApiError(403, 'account_inactive', 'This account is deactivated');
      await signInAs(ctx, deps, result.user);
    },
  });

  api.route({
    method: 'post',
    path: '/api/v1/auth/resend-verification',
    summary: 'Send a new sign-up code (one per cool-down per email); always 202',
    tag: 'auth',
    access: ['public'],
    body: z.object({ email: Email }),
    responses: { 202: { description: 'A new code is on its way if a sign-up is pending', schema: Accepted } },
    handler: async (ctx, { body }) => {
      const email = body.email.toLowerCase();
      await spend(ctx, 'resend', email);
      await consumeOrRefuse(limits().resendCooldown, email, 'Wait a little before asking for another code');
      const user = await findUserByEmail(db, email);
      const attempt = user && !user.email_verified_at ? await latestAttempt(db, user.id, 'verify_email') : undefined;
      if (attempt) {
        const waited = await requestResend(temporal.client, attempt.id, config.temporal.workflowWaitMs).catch(
          // The attempt's workflow is over (verified meanwhile, or removed): nothing to resend.
          () => undefined,
        );
        if (waited?.done && !waited.value.sent) {
          const retryAfter = Math.ceil(waited.value.retryAfterMs / 1000);
          throw new ApiError(
            429,
            'rate_limited',
            'Wait a little before asking for another code',
            { retry_after_s: retryAfter },
            { 'Retry-After': String(retryAfter) },
          );
        }
      }
      accepted(ctx, 'If a sign-up is pending for this email, a new code is on its way.');
    },
  });

  api.route({
    method: 'post',
    path: '/api/v1/auth/password-reset',
    summary: 'Email a single-use password-reset link (valid 30 min); always 202',
    tag: 'auth',
    access: ['public'],
    body: z.object({ email: Email }),
    responses: { 202: { description: 'A link is on its way if the email has an account', schema: Accepted } },
    handler: async (ctx, { body }) => {
      const email = body.email.toLowerCase();
      await spend(ctx, 'reset', email);
      const user = await findUserByEmail(db, email);
      // A workflow either way (one without an account ends at once), so both answers take as long.
      await startPasswordReset(temporal.client, config, user?.active ? user.id : null);
      accepted(ctx, 'If this email has an account, a link to reset its password is on its way.');
    },
  });

  api.route({
    method: 'post',
    path: '/api/v1/auth/password-reset/confirm',
    summary: 'Set a new password with the emailed token; every session of the account ends',
    tag: 'auth',
    access: ['public'],
    body: z.object({ token: z.string().min(20).max(200), password: NewPassword }),
    responses: {
      204: { description: 'Password set; sign in with it' },
      400: { description: '`invalid_token`: unknown, already used or expired' },
    },
    handler: async (ctx, { body }) => {
      await spend(ctx, 'reset');
      const passwordHash = await bcrypt.hash(body.password, BCRYPT_ROUNDS);
      const used = await consumeResetToken(db, resetTokenHash(body.token), passwordHash);
      if (!used)
        throw new ApiError(
          400,
          'invalid_token',
          'This reset link is invalid, expired or already used: ask for a new one',
        );
      await notifyResetUsed(temporal.client, used.attemptId);
      ctx.status = 204;
    },
  });
}
