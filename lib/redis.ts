import { Redis } from 'ioredis';

/**
 * A Redis client that fails fast instead of queueing forever when Redis is down, so callers can
 * answer 503. `memory://` selects the single-process store used when no Redis exists at all.
 */
export async function createRedis(url: string): Promise<Redis> {
  if (url === 'memory://') {
    const { default: RedisMock } = await import('ioredis-mock');
    return new RedisMock() as unknown as Redis;
  }
  return new Redis(url, { maxRetriesPerRequest: 1, commandTimeout: 2_000, lazyConnect: false });
}
export type { Redis };
