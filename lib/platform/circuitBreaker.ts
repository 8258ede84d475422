/**
 * A per-host circuit breaker kept in Redis, so every worker sees the same state: after `threshold`
 * failures (5xx, network errors) within `windowMs` it opens for `cooldownMs`; then one probe request
 * at a time may go (half-open); a success closes it, a failure opens it again.
 */
import type { Redis } from 'ioredis';

export interface BreakerSettings {
  threshold: number;
  cooldownMs: number;
  windowMs: number;
}

export interface BreakerState {
  state: 'closed' | 'open' | 'half_open';
  failures: number;
  /** When an open breaker lets a probe through. */
  open_until: string | null;
}

export class CircuitBreaker {
  constructor(
    private readonly redis: Redis,
    private readonly settings: BreakerSettings,
    private readonly prefix = 'breaker',
  ) {}

  private key(host: string) {
    return `${this.prefix}:${host.toLowerCase()}`;
  }

  async state(host: string, now = Date.now()): Promise<BreakerState> {
    const h = await this.redis.hgetall(this.key(host));
    const failures = Number(h.failures ?? 0);
    const openedAt = Number(h.opened_at ?? 0);
    if (!openedAt) return { state: 'closed', failures, open_until: null };
    const until = openedAt + this.settings.cooldownMs;
    return { state: now < until ? 'open' : 'half_open', failures, open_until: new Date(until).toISOString() };
  }

  /** May a request go to this host now? Half-open lets one probe through per cooldown. */
  async allow(host: string): Promise<boolean> {
    const { state } = await this.state(host);
    if (state === 'closed') return true;
    if (state === 'open') return false;
    return (await this.redis.set(`${this.key(host)}:probe`, '1', 'PX', this.settings.cooldownMs, 'NX')) === 'OK';
  }

  async success(host: string): Promise<void> {
    await this.redis.del(this.key(host), `${this.key(host)}:probe`);
  }

  async failure(host: string): Promise<void> {
    const key = this.key(host);
    const results = await this.redis
      .multi()
      .hincrby(key, 'failures', 1)
      .pexpire(key, this.settings.windowMs + this.settings.cooldownMs)
      .exec();
    const failures = Number(results?.[0]?.[1] ?? 0);
    if (failures >= this.settings.threshold) {
      await this.redis.multi().hset(key, 'opened_at', Date.now()).del(`${key}:probe`).exec();
    }
  }
}
