import { randomUUID } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { SignJWT } from 'jose';
import { z } from 'zod';
import {
  findUser,
  findUserByEmail,
  insertRefreshToken,
  revokeRefreshFamily,
  rotateRefreshToken,
} from '../../db/auth.js';
import type { User } from '../../db/models/User.js';
import { randomToken, sha256 } from '../../lib/platform/crypto.js';
import type { AppContext } from '../context.js';
import type { ApiDeps } from '../deps.js';
import { unauthorized } from '../errors.js';
import type { Api } from '../route.js';

const REFRESH_COOKIE = 'meridian_refresh';
const COOKIE_PATH = '/api/v1/auth';

const Session = z
  .object({
    access_token: z.string(),
    token_type: z.literal('Bearer'),
    expires_in: z.number().int(),
    user: z.object({ id: z.string(), email: z.string(), role: z.enum(['admin', 'operator']) }),
  })
  .meta({ id: 'Session' });
const Me = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('user'), id: z.string(), email: z.string(), role: z.enum(['admin', 'operator']) }),
    z.object({ kind: z.literal('merchant'), merchant_id: z.string(), api_key_id: z.string() }),
  ])
  .meta({ id: 'Me' });

/** The stored hash a missing user is compared against, so unknown emails take as long as wrong passwords. */
const decoyHash = bcrypt.hashSync('decoy-password', 10);

export function authRoutes(api: Api, { config, db }: ApiDeps) {
  /** A fresh refresh token: the value for the cookie, and what is stored of it. */
  function newRefreshToken() {
    const value = randomToken(32);
    return {
      value,
      stored: { tokenHash: sha256(value), expiresAt: new Date(Date.now() + config.refreshTokenTtlS * 1000) },
    };
  }

  /** Answers with a session: `refresh` (already stored) in the cookie, a new access token in the body. */
  async function answerSession(ctx: AppContext, user: User, refresh: string) {
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

  api.route({
    method: 'post',
    path: '/api/v1/auth/login',
    summary: 'Operator login; sets the rotating refresh-token cookie',
    tag: 'auth',
    access: ['public'],
    body: z.object({ email: z.email().max(254), password: z.string().min(1).max(200) }),
    responses: { 200: { description: 'Signed in', schema: Session } },
    handler: async (ctx, { body }) => {
      const user = await findUserByEmail(db, body.email.toLowerCase());
      const matches = await bcrypt.compare(body.password, user?.password_hash ?? decoyHash);
      if (!user || !matches) throw unauthorized('Wrong email or password');
      const refresh = newRefreshToken();
      await insertRefreshToken(db, { ...refresh.stored, userId: user.id, familyId: randomUUID() });
      await answerSession(ctx, user, refresh.value);
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
      const refresh = newRefreshToken();
      const user = await rotateRefreshToken(db, sha256(presented), refresh.stored, config.refreshReuseGraceS);
      if (!user) throw unauthorized('Refresh token is invalid, expired or already used');
      await answerSession(ctx, user, refresh.value);
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
      ctx.cookies.set(REFRESH_COOKIE, null, { path: COOKIE_PATH });
      ctx.status = 204;
    },
  });

  api.route({
    method: 'get',
    path: '/api/v1/auth/me',
    summary: 'Who the credentials belong to',
    tag: 'auth',
    access: ['operator', 'merchant'],
    responses: { 200: { description: 'The caller', schema: Me } },
    handler: async (ctx) => {
      const p = ctx.state.principal!;
      if (p.kind === 'merchant') {
        ctx.body = { kind: 'merchant', merchant_id: p.merchantId, api_key_id: p.apiKeyId };
        return;
      }
      const user = await findUser(db, p.userId);
      if (!user) throw unauthorized('This account no longer exists');
      ctx.body = { kind: 'user', id: user.id, email: user.email, role: user.role };
    },
  });
}
