import type { Next } from 'koa';
import { jwtVerify } from 'jose';
import type { Knex } from 'knex';
import { touchApiKey, type ActiveApiKey } from '../../db/auth.js';
import type { UserAccess } from '../../db/users.js';
import { effectiveModules } from '../../lib/accounts/modules.js';
import { setNewest } from '../../lib/platform/boundedMap.js';
import { sha256 } from '../../lib/platform/crypto.js';
import { unauthorized } from '../errors.js';
import type { AppContext, Principal } from '../context.js';

export const API_KEY_PREFIX = 'mk_';

/**
 * Resolves `Authorization: Bearer …` to a principal: merchant API keys start with `mk_`, anything
 * else must be an operator access token (JWT), checked with `jwtSecret`; API keys are found by their hash with
 * `keyOf` (ApiDeps' `apiKeys`: cached like a user's access, and forgotten when revoked).
 * A user's role, active state and modules come from `access` on every request (never from the token's claims): the
 * stored ones, cached no longer than a change takes to be announced (lib/accounts/accessCache.ts), so a
 * deactivation, a demotion or a revoked module counts from the next request on.
 * A bad credential, or a deactivated or deleted account, is a 401 even on public routes.
 */
export function authenticate(jwtSecret: Uint8Array, db: Knex, access: AccessOf, keyOf: KeyOf) {
  // Imported once: given the raw bytes, jose imports the key again for every token it verifies.
  const key = crypto.subtle.importKey('raw', new Uint8Array(jwtSecret), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'verify',
  ]);
  const touched = new Map<string, number>();
  const verified: VerifiedTokens = new Map();
  return async (ctx: AppContext, next: Next) => {
    const header = ctx.get('authorization');
    if (header) {
      const [scheme, token] = header.split(' ');
      if (scheme?.toLowerCase() !== 'bearer' || !token) throw unauthorized('Expected "Authorization: Bearer <token>"');
      ctx.state.principal = token.startsWith(API_KEY_PREFIX)
        ? await merchantFromKey(db, keyOf, token, touched)
        : await userFromJwt(access, token, await key, verified);
    }
    await next();
  };
}

/** How often a key's `last_used_at` is written at most, per process (ms): it tells when a key was last used, not how often. */
const TOUCH_EVERY_MS = 60_000;

async function merchantFromKey(db: Knex, keyOf: KeyOf, key: string, touched: Map<string, number>): Promise<Principal> {
  const found = await keyOf(sha256(key));
  if (!found) throw unauthorized('Unknown or revoked API key');
  // A write per request queued a busy key's requests on its row lock and took a pooled connection each. Recognition
  // aid only: a lost update is harmless, so it does not delay the request.
  const now = Date.now();
  if ((touched.get(found.id) ?? -Infinity) <= now - TOUCH_EVERY_MS) {
    if (touched.size >= 10_000) touched.clear();
    touched.set(found.id, now);
    void touchApiKey(db, found.id).catch(() => {});
  }
  return { kind: 'merchant', merchantId: found.merchant_id, apiKeyId: found.id };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Access tokens this process verified, with the user they name, until they expire (epoch ms, the `exp` claim): a
 * token's signature and claims cannot change, and verifying one (jose, WebCrypto HMAC) cost more than the rest of a
 * cached company look-up (README, Benchmarks → companies). What the user may do is still read per request. A token
 * that fails is not kept: anyone could fill the map with them.
 */
type VerifiedTokens = Map<string, { userId: string; expiresAt: number }>;

const VERIFIED_TOKENS_MAX = 10_000;

async function userFromJwt(
  access: AccessOf,
  token: string,
  secret: CryptoKey,
  verified: VerifiedTokens,
): Promise<Principal> {
  const known = verified.get(token);
  // jose's rule: a token is expired once `exp` <= now (whole seconds), i.e. from exp * 1000 ms on.
  const userId =
    known && Date.now() < known.expiresAt ? known.userId : await verifyAccessToken(token, secret, verified);
  const user = await currentUser(access, userId);
  if (typeof user === 'string') throw unauthorized(`This account ${user}`);
  return user;
}

/** Checks the token's signature, issuer, audience, expiry and claims; returns its user id and keeps it in `verified`. */
async function verifyAccessToken(token: string, secret: CryptoKey, verified: VerifiedTokens): Promise<string> {
  try {
    const { payload } = await jwtVerify(token, secret, { issuer: 'meridian', audience: 'meridian-console' });
    // The role claim is only checked for shape (a token this API issued); what the user may do is read later.
    const role = payload.role;
    if (typeof payload.sub !== 'string' || !UUID.test(payload.sub) || (role !== 'admin' && role !== 'operator'))
      throw new Error('bad claims');
    if (typeof payload.exp === 'number')
      setNewest(verified, token, { userId: payload.sub, expiresAt: payload.exp * 1000 }, VERIFIED_TOKENS_MAX);
    return payload.sub;
  } catch {
    throw unauthorized('Invalid or expired access token');
  }
}

/** Where a user's access comes from: db/users.ts `userAccess`, or the cache of it in ApiDeps. */
type AccessOf = (userId: string) => Promise<UserAccess | undefined>;

/** Where an unrevoked API key comes from, by the key's SHA-256: db/auth.ts `findActiveApiKey`, or ApiDeps' cache. */
type KeyOf = (keyHash: string) => Promise<ActiveApiKey | undefined>;

/**
 * The user as a principal, with their role and modules as `accessOf` gives them; or why they may not act: the
 * account `'no longer exists'` or `'is deactivated'`.
 */
export async function currentUser(
  accessOf: AccessOf,
  userId: string,
): Promise<Principal | 'no longer exists' | 'is deactivated'> {
  const access = await accessOf(userId);
  if (!access) return 'no longer exists';
  if (!access.active) return 'is deactivated';
  return { kind: 'user', userId, role: access.role, modules: effectiveModules(access.role, access.modules) };
}
