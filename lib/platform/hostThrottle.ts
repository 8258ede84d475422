/**
 * A per-host throttle kept in Redis beside the circuit breaker, so every worker holds back from a host that asked
 * us to slow down (429, or 503 with `Retry-After`; RFC 6585 §4, RFC 9110 §15.6.4): nothing is sent to it before
 * the time it allowed. `Retry-After` is honoured up to `maxMs`; without one the wait is `defaultMs`, doubled for
 * each throttle answer in a row (an answer that is not one ends the row), up to `maxMs`.
 */
import type { Redis } from 'ioredis';

export interface ThrottleSettings {
  /** The wait after a throttle answer without `Retry-After`, doubled per one in a row. */
  defaultMs: number;
  /** The longest wait, whatever the host asks. */
  maxMs: number;
}

/** A host's throttle while it lasts: when a request may go again (ISO 8601) and the answer that asked for it. */
export interface ThrottleState {
  until: string;
  reason: string;
}

/** What the host answered: its status and `Retry-After` in ms (null: none or unreadable, lib/platform/retryAfter). */
export interface ThrottleAnswer {
  status: number;
  retryAfterMs: number | null;
}

// Atomic so that concurrent answers from one host never shorten a wait another worker stored.
const KEEP_LATEST = `
local old = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
if tonumber(ARGV[1]) > old then redis.call('HSET', KEYS[1], 'until', ARGV[1], 'reason', ARGV[2]) end
redis.call('PEXPIRE', KEYS[1], math.max(tonumber(ARGV[1]), old) - tonumber(ARGV[3]) + tonumber(ARGV[4]))
return {redis.call('HGET', KEYS[1], 'until'), redis.call('HGET', KEYS[1], 'reason')}`;

export class HostThrottle {
  constructor(
    private readonly redis: Redis,
    private readonly settings: ThrottleSettings,
    private readonly prefix = 'throttle',
  ) {}

  private key(host: string) {
    return `${this.prefix}:${host.toLowerCase()}`;
  }

  /** The host's throttle at `now` (epoch ms), or null when a request may go. */
  async state(host: string, now = Date.now()): Promise<ThrottleState | null> {
    const h = await this.redis.hgetall(this.key(host));
    const until = Number(h.until ?? 0);
    return until > now ? { until: new Date(until).toISOString(), reason: h.reason ?? '' } : null;
  }

  /**
   * Records a throttle answer received at `now` (epoch ms) and returns the host's throttle: the wait it asked for
   * (capped), or the back-off, or a later one already stored. Null only when the wait is nothing (`Retry-After: 0`).
   */
  async throttle(host: string, answer: ThrottleAnswer, now = Date.now()): Promise<ThrottleState | null> {
    const { defaultMs, maxMs } = this.settings;
    const key = this.key(host);
    const inARow = await this.redis.hincrby(key, 'strikes', 1);
    let waitMs: number;
    let reason: string;
    if (answer.retryAfterMs !== null) {
      waitMs = Math.min(answer.retryAfterMs, maxMs);
      const asked = Math.ceil(answer.retryAfterMs / 1000);
      reason =
        `answered ${answer.status} with Retry-After ${asked} s` +
        (answer.retryAfterMs > maxMs ? ` (capped at ${maxMs / 1000} s)` : '');
    } else {
      waitMs = Math.min(defaultMs * 2 ** (inARow - 1), maxMs);
      reason = `answered ${answer.status} without Retry-After (${inARow} in a row: back-off ${waitMs / 1000} s)`;
    }
    // The row is remembered a cap's length past the wait, so the next throttle answer doubles the back-off.
    const at = Math.ceil(now + waitMs);
    const [until, stored] = (await this.redis.eval(KEEP_LATEST, 1, key, at, reason, now, maxMs)) as [string, string];
    return Number(until) > now ? { until: new Date(Number(until)).toISOString(), reason: stored } : null;
  }

  /** The host answered normally: the next throttle answer starts a new row. A wait still running stays. */
  async answered(host: string): Promise<void> {
    await this.redis.hdel(this.key(host), 'strikes');
  }
}
