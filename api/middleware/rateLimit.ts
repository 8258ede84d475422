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
export async function consumeOrRefuse(limiter: RateLimiterAbstract, key: string, message = 'Too many requests'): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (rejection) {
    if (!(rejection instanceof RateLimiterRes)) throw rejection;
    const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
    throw new ApiError(429, 'rate_limited', message, { retry_after_s: retryAfter }, { 'Retry-After': String(retryAfter) });
  }
}

/**
 * Fixed-window limits kept in Redis so every API process shares them: one budget per client IP,
 * a second per credential (API key or operator). Exceeding either is a 429 with Retry-After.
 */
export function rateLimit(redis: Redis, limits: Limits) {
  const byIp = new RateLimiterRedis({ storeClient: redis, keyPrefix: 'rl:ip', points: limits.perIp, duration: limits.windowS });
  const byKey = new RateLimiterRedis({ storeClient: redis, keyPrefix: 'rl:key', points: limits.perKey, duration: limits.windowS });
  return async (ctx: AppContext, next: Next) => {
    // Probes, metrics and docs stay reachable whatever Redis does.
    if (!ctx.path.startsWith('/api/')) return next();
    const principal = ctx.state.principal;
    const credential = principal && (principal.kind === 'merchant' ? `k:${principal.apiKeyId}` : `u:${principal.userId}`);
    await consumeOrRefuse(byIp, ctx.ip);
    if (credential) await consumeOrRefuse(byKey, credential);
    await next();
  };
}
