/**
 * The look-up cache in Redis: one key per NIP, `nip:{nip}`, holding the registry's last answer (a company, or
 * "not on the list") for `ttlS` seconds — 24 h by default — shared by every API process. Clearing it is an
 * admin's tool: one NIP, or every `nip:*` key.
 */
import type { Redis } from 'ioredis';
import type { Company } from './registryAnswer.js';

/** A registry answer as cached: `company` null when the NIP is not on the list. */
export interface CachedAnswer {
  nip: string;
  company: Company | null;
  /** The registry's id of the query that fetched it. */
  request_id: string;
  /** When it was fetched from the registry (ISO 8601). */
  fetched_at: string;
}

/** The Redis key of a NIP's cached answer. */
export const cacheKeyOf = (nip: string) => `nip:${nip}`;

export class CompanyCache {
  constructor(
    private readonly redis: Redis,
    private readonly ttlS: number,
  ) {}

  /** The cached answer for the NIP, or null on a miss. */
  async get(nip: string): Promise<CachedAnswer | null> {
    const cached = await this.redis.get(cacheKeyOf(nip));
    return cached === null ? null : (JSON.parse(cached) as CachedAnswer);
  }

  /** Caches the answer for the configured TTL, replacing any older one. */
  async set(answer: CachedAnswer): Promise<void> {
    await this.redis.set(cacheKeyOf(answer.nip), JSON.stringify(answer), 'EX', this.ttlS);
  }

  /** Drops the NIP's answer; returns how many keys went (0 or 1). */
  async clear(nip: string): Promise<number> {
    return this.redis.del(cacheKeyOf(nip));
  }

  /** Drops every cached answer (scanning `nip:*` in batches, never `KEYS`); returns how many keys went. */
  async clearAll(): Promise<number> {
    let cleared = 0;
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', 'nip:*', 'COUNT', 1000);
      // Only our shape: `nip:` and ten digits (the single-flight keys are named apart).
      const ours = keys.filter((k) => /^nip:\d{10}$/.test(k));
      if (ours.length) cleared += await this.redis.del(...ours);
      cursor = next;
    } while (cursor !== '0');
    return cleared;
  }
}
