/**
 * The look-up journal: every NIP look-up is appended to a Redis list before it is answered — a cache hit in the same
 * script as its `GET`, so hit and record are one round trip and atomic — and moved into PostgreSQL in batches by
 * `drain` (db/companies.ts `recordLookups`: history and counts in one transaction, each entry once by its id).
 *
 * Why not PostgreSQL directly: a cached answer that waits for a commit costs more than the rest of the request
 * (README, Benchmarks: companies). The journal is as durable as Redis is configured to be; an entry leaves it only
 * after PostgreSQL committed it, and a drain that dies half-way is repeated by the next (the ids make it a no-op).
 * One drainer at a time across API processes (a lock with a lease), so that trimming never drops another's entries.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/** One look-up as journalled; `at` is ISO 8601, `id` a UUID (the unique key in PostgreSQL). */
export interface JournalEntry {
  id: string;
  nip: string;
  source: string | null;
  outcome: string;
  error: string | null;
  merchant_id: string | null;
  user_id: string | null;
  at: string;
}

/** A look-up to journal: the entry without its id and time, which `LookupJournal` gives it. */
export type NewJournalEntry = Omit<JournalEntry, 'id' | 'at'>;

const JOURNAL = 'companies:lookups:journal';

/**
 * KEYS: the cache key, the journal. ARGV: the entry if the cached answer names a company, the entry if it says "not
 * registered". Returns the cached answer (nil on a miss, journalling nothing: the caller records what it finds).
 * The answer is ours (`JSON.stringify` of a CachedAnswer): `"company":null` stands in it only for "not registered" —
 * inside a string a quote would be escaped.
 */
const CACHED_LOOKUP = `
local answer = redis.call('GET', KEYS[1])
if not answer then return false end
if string.find(answer, '"company":null', 1, true) then
  redis.call('RPUSH', KEYS[2], ARGV[2])
else
  redis.call('RPUSH', KEYS[2], ARGV[1])
end
return answer`;

const CACHED_LOOKUP_COMMAND = 'companyCachedLookup';

/** KEYS: the lock, the journal. ARGV: the drainer's token, how many entries it committed. Trims only while it holds the lock. */
const TRIM = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('LTRIM', KEYS[2], tonumber(ARGV[2]), -1)
return 1`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export interface JournalOptions {
  /** The Redis list (its drain lock is `<key>:drain-lock`); every API process must use the same one. */
  key?: string;
  /** Entries committed per PostgreSQL statement at most. */
  batch?: number;
  /** How long a drainer may hold the lock before another may take over (ms). */
  leaseMs?: number;
}

export class LookupJournal {
  private readonly journal: string;
  private readonly lock: string;
  private readonly batch: number;
  private readonly leaseMs: number;

  constructor(
    private readonly redis: Redis,
    options: JournalOptions = {},
  ) {
    this.journal = options.key ?? JOURNAL;
    this.lock = `${this.journal}:drain-lock`;
    this.batch = options.batch ?? 1000;
    // EVALSHA with a fallback to EVAL: the hot path sends the script's hash, not its text.
    redis.defineCommand(CACHED_LOOKUP_COMMAND, { numberOfKeys: 2, lua: CACHED_LOOKUP });
    this.leaseMs = options.leaseMs ?? 10_000;
  }

  private entry(e: NewJournalEntry): string {
    return JSON.stringify({ id: randomUUID(), ...e, at: new Date().toISOString() } satisfies JournalEntry);
  }

  /**
   * The cached answer under `cacheKey` (a JSON string, or null on a miss), the look-up journalled with it when it was
   * a hit: with outcome `found` or `not_registered` by what the answer says.
   */
  async cachedLookup(cacheKey: string, hit: Omit<NewJournalEntry, 'outcome'>): Promise<string | null> {
    const run = (this.redis as unknown as Record<string, (...args: string[]) => Promise<unknown>>)[
      CACHED_LOOKUP_COMMAND
    ];
    const answer = await run.call(
      this.redis,
      cacheKey,
      this.journal,
      this.entry({ ...hit, outcome: 'found' }),
      this.entry({ ...hit, outcome: 'not_registered' }),
    );
    // Lua's false is Redis' nil (null here; ioredis-mock, the memory:// store, passes false on).
    return typeof answer === 'string' ? answer : null;
  }

  /** Journals a look-up that was not a cache hit. */
  async append(e: NewJournalEntry): Promise<void> {
    await this.redis.rpush(this.journal, this.entry(e));
  }

  /**
   * Moves journalled look-ups into `store` (one call per batch, oldest first) until the journal is empty or `rounds`
   * batches went; `store` must commit each entry once whatever it is given again. Returns the entries moved, or null
   * when another drainer holds the lock (its entries will be there when it is done).
   */
  async drain(store: (entries: JournalEntry[]) => Promise<void>, rounds = 20): Promise<number | null> {
    const token = randomUUID();
    if ((await this.redis.set(this.lock, token, 'PX', this.leaseMs, 'NX')) !== 'OK') return null;
    let moved = 0;
    try {
      for (let round = 0; round < rounds; round++) {
        const raw = await this.redis.lrange(this.journal, 0, this.batch - 1);
        if (!raw.length) break;
        await store(raw.map((r) => JSON.parse(r) as JournalEntry));
        if (!(await this.redis.eval(TRIM, 2, this.lock, this.journal, token, raw.length))) break;
        moved += raw.length;
        if (raw.length < this.batch) break;
      }
    } finally {
      await this.redis.eval(RELEASE, 1, this.lock, token);
    }
    return moved;
  }

  /** Look-ups journalled and not yet moved. */
  pending(): Promise<number> {
    return this.redis.llen(this.journal);
  }
}

/**
 * Drains `journal` into `store` every `everyMs` in the background until `stop`; `flush` drains now, waiting (at most
 * `waitMs`) for another process's drain to finish, so a reader that flushes first sees every look-up answered before.
 * Errors are given to `onError` and retried at the next turn.
 */
export function startJournalDrainer(
  journal: LookupJournal,
  store: (entries: JournalEntry[]) => Promise<void>,
  { everyMs = 200, waitMs = 2000, onError = (_: unknown) => {} } = {},
) {
  let stopped = false;
  let running: Promise<unknown> = Promise.resolve();
  const once = () => (running = running.then(() => journal.drain(store)).catch(onError));
  const timer = setInterval(() => void once(), everyMs);
  timer.unref();
  return {
    async flush(): Promise<void> {
      for (const deadline = Date.now() + waitMs; !stopped && Date.now() < deadline;) {
        const moved = await journal.drain(store, 1000);
        if (moved !== null && (await journal.pending()) === 0) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop(): Promise<void> {
      stopped = true;
      clearInterval(timer);
      // A last drain, chained after any in flight.
      await once();
    },
  };
}
