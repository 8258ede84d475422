/**
 * Single flight for cache misses: however many requests miss the same key at once, in however many processes,
 * one of them does the work (a registry call) and the others wait for its outcome.
 * - In one process, callers of a key share one promise.
 * - Across processes, the first takes a Redis lock (`SET flight:{key} <token> NX PX lockMs`); the others poll for
 *   the outcome the lock holder publishes: its result through `peek` (the cache), or its failure under
 *   `flight:{key}:{token}:failed` for a few seconds, so waiters fail with it rather than call the registry again.
 *   When the holder vanishes (its lock expires or is released with nothing published), a waiter takes over.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface FlightSettings {
  /** How long a lock holds without its holder: longer than the work's own deadline. */
  lockMs: number;
  /** How often a waiter in another process looks for the outcome. */
  pollMs: number;
}

/** What a failed flight tells its waiters; callers choose the shape (it travels as JSON). */
export type FlightFailure = Record<string, unknown>;

export class FlightFailed extends Error {
  constructor(readonly failure: FlightFailure) {
    super('the request this one waited on failed');
  }
}

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class SingleFlight<T> {
  private readonly inProcess = new Map<string, Promise<T>>();

  constructor(
    private readonly redis: Redis,
    private readonly settings: FlightSettings,
  ) {}

  /**
   * `work()`'s result for `key`, done once among all concurrent callers. `peek()` finds a result another process
   * published (the cache). `work` reports a failure by throwing FlightFailed: it is published for the waiters,
   * who throw the same FlightFailed; any other error is the caller's own.
   */
  run(key: string, work: () => Promise<T>, peek: () => Promise<T | null>): Promise<T> {
    const shared = this.inProcess.get(key);
    if (shared) return shared;
    const flight = this.fly(key, work, peek).finally(() => this.inProcess.delete(key));
    this.inProcess.set(key, flight);
    return flight;
  }

  private async fly(key: string, work: () => Promise<T>, peek: () => Promise<T | null>): Promise<T> {
    const lock = `flight:${key}`;
    for (;;) {
      const token = randomUUID();
      if ((await this.redis.set(lock, token, 'PX', this.settings.lockMs, 'NX')) === 'OK') {
        try {
          // A caller that missed just as another flight finished would fly again: the lock is free by then, and the
          // result it missed is there to find.
          const done = await peek();
          if (done !== null) return done;
          return await work();
        } catch (error) {
          if (error instanceof FlightFailed)
            await this.redis.set(`${lock}:${token}:failed`, JSON.stringify(error.failure), 'PX', 5000);
          throw error;
        } finally {
          await this.redis.eval(RELEASE, 1, lock, token);
        }
      }
      const holder = await this.redis.get(lock);
      // Waits for this holder's outcome; a holder gone without one leaves the lock to be taken again.
      for (let current = holder; current !== null && current === holder; current = await this.redis.get(lock)) {
        await sleep(this.settings.pollMs);
        const done = await peek();
        if (done !== null) return done;
        const failed = await this.redis.get(`${lock}:${holder}:failed`);
        if (failed !== null) throw new FlightFailed(JSON.parse(failed) as FlightFailure);
      }
      const done = await peek();
      if (done !== null) return done;
      if (holder !== null) {
        const failed = await this.redis.get(`${lock}:${holder}:failed`);
        if (failed !== null) throw new FlightFailed(JSON.parse(failed) as FlightFailure);
      }
    }
  }
}
