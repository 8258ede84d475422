import { setNewest } from '../platform/boundedMap.js';

/**
 * What a credential may do as the API checks it on every request — a console user's access (role, active state,
 * modules) by user id, a merchant's API key by its hash — kept in the process for at most `maxAgeMs` instead of read
 * from PostgreSQL each time (that read cost more than the rest of a cached company look-up: README, Benchmarks →
 * companies).
 *
 * A change must still count from the next request: the process that makes it `forget`s the entry before answering,
 * every other process forgets on the change's event (`user.access_changed`, `api_key.revoked`: Redis pub/sub, so
 * delivered within milliseconds or lost); `maxAgeMs` bounds what a lost event can cost. `maxAgeMs` 0 reads on every
 * request.
 */
export class AccessCache<T> {
  private readonly entries = new Map<string, { value: T; expiresAt: number }>();
  /** Bumped by every forget: a read that began before one must not store what it read. */
  private generation = 0;

  constructor(
    private readonly load: (key: string) => Promise<T>,
    private readonly options: { maxAgeMs: number; maxEntries?: number; now?: () => number },
  ) {}

  /** The access under `key`: cached when younger than `maxAgeMs`, else loaded (a load's error is the caller's). */
  async get(key: string): Promise<T> {
    const now = this.options.now ?? Date.now;
    const cached = this.entries.get(key);
    if (cached && cached.expiresAt > now()) return cached.value;
    const generation = this.generation;
    const value = await this.load(key);
    if (generation === this.generation && this.options.maxAgeMs > 0)
      setNewest(
        this.entries,
        key,
        { value, expiresAt: now() + this.options.maxAgeMs },
        this.options.maxEntries ?? 10_000,
      );
    return value;
  }

  /** Drops the entry under `key`, and makes any load in flight not store what it read. */
  forget(key: string): void {
    this.generation++;
    this.entries.delete(key);
  }

  /** Drops every entry whose value `matches` (an API key by its id, whose hash the revoker does not know), like `forget`. */
  forgetWhere(matches: (value: T) => boolean): void {
    this.generation++;
    for (const [key, entry] of this.entries) if (matches(entry.value)) this.entries.delete(key);
  }
}

/** The live event announcing that an admin revoked a merchant's API key (`data.api_key_id`; the merchant's own tenant). */
export const API_KEY_REVOKED = 'api_key.revoked';
