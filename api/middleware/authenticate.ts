import type { Next } from 'koa';
import { jwtVerify } from 'jose';
import type { Knex } from 'knex';
import { findActiveApiKey, touchApiKey } from '../../db/auth.js';
import { sha256 } from '../../lib/platform/crypto.js';
import { unauthorized } from '../errors.js';
import type { AppContext, Principal } from '../context.js';

export const API_KEY_PREFIX = 'mk_';

/**
 * Resolves `Authorization: Bearer …` to a principal: merchant API keys start with `mk_`, anything
 * else must be an operator access token (JWT), checked with `jwtSecret`; API keys are looked up in `db`.
 * A bad credential is a 401 even on public routes.
 */
export function authenticate(jwtSecret: Uint8Array, db: Knex) {
  return async (ctx: AppContext, next: Next) => {
    const header = ctx.get('authorization');
    if (header) {
      const [scheme, token] = header.split(' ');
      if (scheme?.toLowerCase() !== 'bearer' || !token) throw unauthorized('Expected "Authorization: Bearer <token>"');
      ctx.state.principal = token.startsWith(API_KEY_PREFIX)
        ? await merchantFromKey(db, token)
        : await userFromJwt(token, jwtSecret);
    }
    await next();
  };
}

async function merchantFromKey(db: Knex, key: string): Promise<Principal> {
  const found = await findActiveApiKey(db, sha256(key));
  if (!found) throw unauthorized('Unknown or revoked API key');
  // Recognition aid only; a lost update here is harmless, so it does not delay the request.
  void touchApiKey(db, found.id).catch(() => {});
  return { kind: 'merchant', merchantId: found.merchant_id, apiKeyId: found.id };
}

async function userFromJwt(token: string, secret: Uint8Array): Promise<Principal> {
  try {
    const { payload } = await jwtVerify(token, secret, { issuer: 'meridian', audience: 'meridian-console' });
    const role = payload.role;
    if (typeof payload.sub !== 'string' || (role !== 'admin' && role !== 'operator')) throw new Error('bad claims');
    return { kind: 'user', userId: payload.sub, role };
  } catch {
    throw unauthorized('Invalid or expired access token');
  }
}
