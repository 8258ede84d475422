import bcrypt from 'bcryptjs';
import { z } from 'zod';
import { changePassword, updateProfile } from '../../db/accounts.js';
import { findUser, findUserByEmail, revokeRefreshFamily, rotateRefreshToken } from '../../db/auth.js';
import type { User } from '../../db/models/User.js';
import { LANGUAGES } from '../../lib/accounts/emails.js';
import { isTimeZone } from '../../lib/platform/config.js';
import { sha256 } from '../../lib/platform/crypto.js';
import type { AppContext } from '../context.js';
import type { ApiDeps } from '../deps.js';
import { ApiError, unauthorized } from '../errors.js';
import type { Api } from '../route.js';
import {
  REFRESH_COOKIE,
  Session,
  answerSession,
  clearRefreshCookie,
  currentSession,
  newRefreshToken,
  signInAs,
} from './sessions.js';

const Language = z.enum(LANGUAGES as ['en', 'pl']);
const TimeZone = z.string().max(64).refine(isTimeZone, 'an IANA time zone such as Europe/Warsaw');
/** Passwords: 10–200 characters (NIST SP 800-63B: a minimum length, no composition rules). */
export const NewPassword = z.string().min(10).max(200);

const Me = z
  .discriminatedUnion('kind', [
    z.object({
      kind: z.literal('user'),
      id: z.string(),
      email: z.string(),
      role: z.enum(['admin', 'operator']),
      display_name: z.string().nullable(),
      language: Language,
      time_zone: z.string(),
      email_verified_at: z.string().nullable(),
    }),
    z.object({ kind: z.literal('merchant'), merchant_id: z.string(), api_key_id: z.string() }),
  ])
  .meta({ id: 'Me' });

/** The stored hash a missing user is compared against, so unknown emails take as long as wrong passwords. */
const decoyHash = bcrypt.hashSync('decoy-password', 10);

/** bcrypt's cost for new password hashes. */
export const BCRYPT_ROUNDS = 10;

const meOf = (user: User) => ({
  kind: 'user' as const,
  id: user.id,
  email: user.email,
  role: user.role,
  display_name: user.display_name,
  language: user.language,
  time_zone: user.time_zone,
  email_verified_at: user.email_verified_at?.toISOString() ?? null,
});

/** Refuses an account that may not hold a session: deactivated (403 `account_inactive`). */
function refuseInactive(user: User) {
  if (!user.active) throw new ApiError(403, 'account_inactive', 'This account is deactivated; ask an administrator');
}

export function authRoutes(api: Api, deps: ApiDeps) {
  const { config, db } = deps;

  /** The signed-in console user, or 401 when the account no longer exists. */
  async function signedInUser(ctx: AppContext): Promise<User> {
    const p = ctx.state.principal!;
    const user = p.kind === 'user' ? await findUser(db, p.userId) : undefined;
    if (!user) throw unauthorized('This account no longer exists');
    return user;
  }

  api.route({
    method: 'post',
    path: '/api/v1/auth/login',
    summary: 'Operator login; sets the rotating refresh-token cookie',
    tag: 'auth',
    access: ['public'],
    body: z.object({ email: z.email().max(254), password: z.string().min(1).max(200) }),
    responses: {
      200: { description: 'Signed in', schema: Session },
      403: { description: '`email_not_verified` (finish sign-up first) or `account_inactive`' },
    },
    handler: async (ctx, { body }) => {
      const user = await findUserByEmail(db, body.email.toLowerCase());
      const matches = await bcrypt.compare(body.password, user?.password_hash ?? decoyHash);
      if (!user || !matches) throw unauthorized('Wrong email or password');
      // Only after the password matched: otherwise these answers would tell which emails have accounts.
      if (!user.email_verified_at)
        throw new ApiError(403, 'email_not_verified', 'Confirm your email address with the code we sent first');
      refuseInactive(user);
      await signInAs(ctx, deps, user);
    },
  });

  api.route({
    method: 'post',
    path: '/api/v1/auth/refresh',
    summary: 'Exchange the refresh cookie for a new access token (the cookie rotates)',
    tag: 'auth',
    access: ['public'],
    responses: { 200: { description: 'New session', schema: Session } },
    handler: async (ctx) => {
      const presented = ctx.cookies.get(REFRESH_COOKIE);
      if (!presented) throw unauthorized('No refresh token');
      const refresh = newRefreshToken(config);
      const user = await rotateRefreshToken(db, sha256(presented), refresh.stored, config.refreshReuseGraceS);
      if (!user) throw unauthorized('Refresh token is invalid, expired or already used');
      if (!user.active) {
        await revokeRefreshFamily(db, refresh.stored.tokenHash);
        refuseInactive(user);
      }
      await answerSession(ctx, config, user, refresh.value);
    },
  });

  api.route({
    method: 'post',
    path: '/api/v1/auth/logout',
    summary: 'End this console session',
    tag: 'auth',
    access: ['public'],
    responses: { 204: { description: 'Signed out' } },
    handler: async (ctx) => {
      const presented = ctx.cookies.get(REFRESH_COOKIE);
      if (presented) await revokeRefreshFamily(db, sha256(presented));
      clearRefreshCookie(ctx);
      ctx.status = 204;
    },
  });

  api.route({
    method: 'get',
    path: '/api/v1/auth/me',
    summary: 'Who the credentials belong to (a console user: with the profile)',
    tag: 'auth',
    access: ['operator', 'merchant'],
    responses: { 200: { description: 'The caller', schema: Me } },
    handler: async (ctx) => {
      const p = ctx.state.principal!;
      if (p.kind === 'merchant') {
        ctx.body = { kind: 'merchant', merchant_id: p.merchantId, api_key_id: p.apiKeyId };
        return;
      }
      ctx.body = meOf(await signedInUser(ctx));
    },
  });

  api.route({
    method: 'put',
    path: '/api/v1/auth/me',
    summary: 'Change your profile: display name, language (of emails), time zone (IANA)',
    tag: 'auth',
    access: ['operator'],
    body: z.object({
      display_name: z.string().trim().max(100).nullable().optional(),
      language: Language.optional(),
      time_zone: TimeZone.optional(),
    }),
    responses: { 200: { description: 'The profile after the change', schema: Me } },
    handler: async (ctx, { body }) => {
      const user = await signedInUser(ctx);
      const change = { ...body, ...(body.display_name === '' ? { display_name: null } : {}) };
      ctx.body = meOf((await updateProfile(db, user.id, change)) ?? user);
    },
  });

  api.route({
    method: 'put',
    path: '/api/v1/auth/me/password',
    summary: 'Change your password (the current one required); your other sessions end, this one stays',
    tag: 'auth',
    access: ['operator'],
    body: z.object({ current_password: z.string().min(1).max(200), new_password: NewPassword }),
    responses: {
      204: { description: 'Changed' },
      400: { description: '`wrong_password`: the current password does not match' },
    },
    handler: async (ctx, { body }) => {
      const user = await signedInUser(ctx);
      if (!(await bcrypt.compare(body.current_password, user.password_hash)))
        throw new ApiError(400, 'wrong_password', 'The current password is wrong', [
          { path: 'current_password', message: 'does not match', code: 'custom' },
        ]);
      const hash = await bcrypt.hash(body.new_password, BCRYPT_ROUNDS);
      await changePassword(db, user.id, hash, await currentSession(ctx, deps));
      ctx.status = 204;
    },
  });
}
