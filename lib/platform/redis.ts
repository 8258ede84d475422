import { Redis } from 'ioredis';

/**
 * A Redis client that fails fast instead of queueing forever when Redis is down, so callers can
 * answer 503. `memory://` selects the single-process store used when no Redis exists at all.
 * `autoPipelining` sends the commands issued in one event-loop turn in one write (ioredis'
 * `enableAutoPipelining`): for the API, whose concurrent requests each make a few small calls
 * (+19 % cached company look-ups/s: README, Benchmarks → companies).
 */
export async function createRedis(url: string, { autoPipelining = false } = {}): Promise<Redis> {
  if (url === 'memory://') {
    const { default: RedisMock } = await import('ioredis-mock');
    return new RedisMock() as unknown as Redis;
  }
  const client = new Redis(url, {
    maxRetriesPerRequest: 1,
    commandTimeout: 2_000,
    enableAutoPipelining: autoPipelining,
  });
  // Connection errors surface on the commands that fail (and in /readyz); no need to log each reconnect.
  client.on('error', () => {});
  return client;
}
export type { Redis };
