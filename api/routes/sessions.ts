/**
 * Console sessions: opening one (the refresh cookie and an access token: login, a verified sign-up), and the
 * signed-in user's list of them — a session is a refresh-token family, with the device that opened it — and
 * revoking one.
 */
import { SignJWT } from 'jose';
import { z } from 'zod';
import { familyOfToken, listSessions, openSession, revokeSession } from '../../db/auth.js';
import type { User } from '../../db/models/User.js';
import { randomToken, sha256 } from '../../lib/platform/crypto.js';
import type { Config } from '../../lib/platform/config.js';
import type { AppContext } from '../context.js';
import type { ApiDeps } from '../deps.js';
import { notFound } from '../errors.js';
import type { Api } from '../route.js';

export const REFRESH_COOKIE = 'meridian_refresh';
const COOKIE_PATH = '/api/v1/auth';

export const Session = z
  .object({
    access_token: z.string(),
    token_type: z.literal('Bearer'),
    expires_in: z.number().int(),
    user: z.object({ id: z.string(), email: z.string(), role: z.enum(['admin', 'operator']) }),
  })
  .meta({ id: 'Session' });

const SessionInfo = z
  .object({
    id: z.string(),
    user_agent: z.string().nullable(),
    ip: z.string().nullable(),
    created_at: z.string(),
    last_used_at: z.string(),
    current: z.boolean().meta({ description: 'The session whose refresh cookie came with this request' }),
  })
  .meta({ id: 'SessionInfo' });

/** A fresh refresh token: the value for the cookie, and what is stored of it. */
export function newRefreshToken(config: Config) {
  const value = randomToken(32);
  return {
    value,
    stored: { tokenHash: sha256(value), expiresAt: new Date(Date.now() + config.refreshTokenTtlS * 1000) },
  };
}

/** The session (family id) of the refresh cookie this request carries, if any. */
export async function currentSession(ctx: AppContext, deps: Pick<ApiDeps, 'db'>): Promise<string | undefined> {
  const presented = ctx.cookies.get(REFRESH_COOKIE);
  return presented ? familyOfToken(deps.db, sha256(presented)) : undefined;
}

/** Clears the refresh cookie. */
export const clearRefreshCookie = (ctx: AppContext) => ctx.cookies.set(REFRESH_COOKIE, null, { path: COOKIE_PATH });

/** Answers with a session: `refresh` (already stored) in the cookie, a new access token in the body. */
export async function answerSession(ctx: AppContext, config: Config, user: User, refresh: string): Promise<void> {
  ctx.cookies.set(REFRESH_COOKIE, refresh, {
    httpOnly: true,
    sameSite: 'strict',
    path: COOKIE_PATH,
    secure: ctx.secure,
    maxAge: config.refreshTokenTtlS * 1000,
  });
  const accessToken = await new SignJWT({ role: user.role })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(user.id)
    .setIssuer('meridian')
    .setAudience('meridian-console')
    .setIssuedAt()
    .setExpirationTime(`${config.accessTokenTtlS}s`)
    .sign(config.jwtSecret);
  ctx.body = {
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: config.accessTokenTtlS,
    user: { id: user.id, email: user.email, role: user.role },
  };
}

/** Opens a new session for `user` from this request's device (User-Agent, client IP) and answers with it. */
export async function signInAs(ctx: AppContext, deps: Pick<ApiDeps, 'db' | 'config'>, user: User): Promise<void> {
  const refresh = newRefreshToken(deps.config);
  await openSession(deps.db, user.id, refresh.stored, { userAgent: ctx.get('user-agent') || null, ip: ctx.ip || null });
  await answerSession(ctx, deps.config, user, refresh.value);
}

export function sessionRoutes(api: Api, deps: ApiDeps) {
  const userId = (ctx: AppContext) => {
    const p = ctx.state.principal!;
    return p.kind === 'user' ? p.userId : '';
  };

  api.route({
    method: 'get',
    path: '/api/v1/auth/sessions',
    summary: "The signed-in user's sessions (refresh-token families): device, IP, opened, last used, which is this one",
    tag: 'auth',
    access: ['operator'],
    responses: {
      200: { description: 'Live sessions, most recently used first', schema: z.object({ data: z.array(SessionInfo) }) },
    },
    handler: async (ctx) => {
      const current = await currentSession(ctx, deps);
      const sessions = await listSessions(deps.db, userId(ctx));
      ctx.body = {
        data: sessions.map((s) => ({
          id: s.id,
          user_agent: s.user_agent,
          ip: s.ip,
          created_at: s.created_at.toISOString(),
          last_used_at: s.last_used_at.toISOString(),
          current: s.id === current,
        })),
      };
    },
  });

  api.route({
    method: 'delete',
    path: '/api/v1/auth/sessions/:id',
    summary: 'End one of your sessions (its refresh token stops working; its access token lapses within minutes)',
    tag: 'auth',
    access: ['operator'],
    params: z.object({ id: z.uuid() }),
    responses: {
      204: { description: 'Revoked' },
      404: { description: 'No session of yours has this id (`not_found`; another user’s sessions are not yours)' },
    },
    handler: async (ctx, { params }) => {
      if (!(await revokeSession(deps.db, userId(ctx), params.id))) throw notFound('Session');
      if (params.id === (await currentSession(ctx, deps))) clearRefreshCookie(ctx);
      ctx.status = 204;
    },
  });
}
