/**
 * The COT read API's Redis cache. Every key embeds a generation number; an ingestion run bumps it,
 * which retires every cached answer at once without scanning for keys (the old ones expire).
 */
import type { Redis } from 'ioredis';

const GENERATION_KEY = 'cot:cache:generation';

export async function invalidateCotCache(redis: Redis): Promise<void> {
  await redis.incr(GENERATION_KEY);
}

/** The cached JSON under `key`, else `compute()` stored for `ttlS` seconds; `hit` says which. */
export async function cachedCot<T>(
  redis: Redis,
  key: string,
  ttlS: number,
  compute: () => Promise<T>,
): Promise<{ value: T; hit: boolean }> {
  const generation = (await redis.get(GENERATION_KEY)) ?? '0';
  const fullKey = `cot:cache:${generation}:${key}`;
  const cached = await redis.get(fullKey);
  if (cached !== null) return { value: JSON.parse(cached) as T, hit: true };
  const value = await compute();
  await redis.set(fullKey, JSON.stringify(value), 'EX', ttlS);
  return { value, hit: false };
}
