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
  const client = new Redis(url, { maxRetriesPerRequest: 1, commandTimeout: 2_000 });
  // Connection errors surface on the commands that fail (and in /readyz); no need to log each reconnect.
  client.on('error', () => {});
  return client;
}
export type { Redis };
