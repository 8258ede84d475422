/**
 * Each console user's access (role, active state, modules) as the API checks it on every request, kept in the
 * process for at most `maxAgeMs` instead of read from PostgreSQL each time (that read cost more than the rest of a
 * cached company look-up: README, Benchmarks → companies).
 *
 * A change must still count from the next request: the process that makes it `forget`s the user before answering,
 * every other process forgets on the `user.access_changed` event (Redis pub/sub, so delivered within milliseconds or
 * lost); `maxAgeMs` bounds what a lost event can cost. `maxAgeMs` 0 reads on every request.
 */
export class AccessCache<T> {
  private readonly entries = new Map<string, { value: T; expiresAt: number }>();
  /** Bumped by every forget: a read that began before one must not store what it read. */
  private generation = 0;

  constructor(
    private readonly load: (userId: string) => Promise<T>,
    private readonly options: { maxAgeMs: number; maxEntries?: number; now?: () => number },
  ) {}

  /** The user's access: cached when younger than `maxAgeMs`, else loaded (a load's error is the caller's). */
  async get(userId: string): Promise<T> {
    const now = this.options.now ?? Date.now;
    const cached = this.entries.get(userId);
    if (cached && cached.expiresAt > now()) return cached.value;
    const generation = this.generation;
    const value = await this.load(userId);
    if (generation === this.generation && this.options.maxAgeMs > 0) {
      // Insertion order is age order: the oldest entry goes first when full.
      this.entries.delete(userId);
      if (this.entries.size >= (this.options.maxEntries ?? 10_000))
        this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(userId, { value, expiresAt: now() + this.options.maxAgeMs });
    }
    return value;
  }

  /** Drops the user's entry, and makes any load in flight not store what it read. */
  forget(userId: string): void {
    this.generation++;
    this.entries.delete(userId);
  }
}
