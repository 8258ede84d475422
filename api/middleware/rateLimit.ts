import type { Next } from 'koa';
import { RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Redis } from 'ioredis';
import { ApiError } from '../errors.js';
import type { AppContext } from '../context.js';

interface Limits {
  perIp: number;
  perKey: number;
  windowS: number;
}

/** Takes one point for `key`, or refuses with 429 and Retry-After when the window is spent. */
export async function consumeOrRefuse(
  limiter: RateLimiterAbstract,
  key: string,
  message = 'Too many requests',
): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (rejection) {
    if (!(rejection instanceof RateLimiterRes)) throw rejection;
    const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
    throw new ApiError(
      429,
      'rate_limited',
      message,
      { retry_after_s: retryAfter },
      { 'Retry-After': String(retryAfter) },
    );
  }
}

const limiter = (redis: Redis, keyPrefix: string, points: number, windowS: number) =>
  new RateLimiterRedis({ storeClient: redis, keyPrefix, points, duration: windowS });

// Probes, metrics and docs stay reachable whatever Redis does.
const limited = (ctx: AppContext) => ctx.path.startsWith('/api/');

/**
 * Fixed-window limits kept in Redis so every API process shares them. The per-IP budget runs before
 * authentication, so guessing credentials is throttled like anything else; exceeding it is a 429. The IP is
 * `ctx.ip` as the clientIp middleware set it: forwarded addresses count only from trusted proxies.
 */
export function rateLimitByIp(redis: Redis, limits: Limits) {
  const byIp = limiter(redis, 'rl:ip', limits.perIp, limits.windowS);
  return async (ctx: AppContext, next: Next) => {
    if (limited(ctx)) await consumeOrRefuse(byIp, ctx.ip);
    await next();
  };
}

/** The second budget, per credential (API key or operator), once authentication has named it. */
export function rateLimitByCredential(redis: Redis, limits: Limits) {
  const byKey = limiter(redis, 'rl:key', limits.perKey, limits.windowS);
  return async (ctx: AppContext, next: Next) => {
    const principal = ctx.state.principal;
    if (limited(ctx) && principal)
      await consumeOrRefuse(byKey, principal.kind === 'merchant' ? `k:${principal.apiKeyId}` : `u:${principal.userId}`);
    await next();
  };
}
