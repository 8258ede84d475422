/**
 * The VAT white list's REST API as Meridian calls it, for the API (look-ups, account checks) and the watch checks
 * alike. Every request goes through the outbound guard (`lib/platform/outbound`: address checked at connect, a
 * deadline, a size cap), behind two shared Redis states of the registry's host:
 * - the circuit breaker (`lib/platform/circuitBreaker`): network errors, timeouts and 5xx count against it; while it
 *   is open nothing is sent and the call fails `unavailable` until its probe time;
 * - the throttle (`lib/platform/hostThrottle`): the registry's 429 (its daily query limits) holds every request
 *   back until its `Retry-After`, or without one until the next midnight in Poland, when the limits start again.
 * Answers are parsed with zod (`registryAnswer.ts`); one that does not fit is `invalid_answer`, never data.
 */
import type { Redis } from 'ioredis';
import type { Dispatcher } from 'undici';
import type { z } from 'zod';
import { CircuitBreaker } from '../platform/circuitBreaker.js';
import type { Config } from '../platform/config.js';
import { HostThrottle } from '../platform/hostThrottle.js';
import { BlockedAddressError, guardedAgent, outboundRequest, parseAllowList } from '../platform/outbound.js';
import { retryAfterMs } from '../platform/retryAfter.js';
import {
  CheckAnswer,
  companyOf,
  describeIssues,
  msUntilRegistryMidnight,
  RegistryErrorAnswer,
  registryTime,
  registryToday,
  SearchAnswer,
  type Company,
} from './registryAnswer.js';

/** No answer of the registry comes near this; more is a broken peer. */
const MAX_ANSWER_BYTES = 1024 * 1024;

/**
 * Why the registry gave no answer to use: `unavailable` (network error, timeout, 5xx, or the breaker open after
 * those), `limited` (its query limit is spent: 429), `refused` (it refused the request: a `WL-…` code), or
 * `invalid_answer` (an answer that does not fit the registry's format).
 */
export type RegistryFailureKind = 'unavailable' | 'limited' | 'refused' | 'invalid_answer';

export class RegistryError extends Error {
  constructor(
    readonly kind: RegistryFailureKind,
    message: string,
    /** When asking again makes sense (ISO 8601): the breaker's probe time, or the end of the registry's limit. */
    readonly retryAt: string | null = null,
    /** The registry's `WL-…` code, when it sent one. */
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

/** One search by NIP: the company (null: not on the list) and the registry's proof of the query. */
export interface SearchResult {
  company: Company | null;
  requestId: string;
  /** When the registry answered (ISO 8601), from its `requestDateTime`. */
  requestedAt: string;
}

/** One account check: whether the account is the NIP's on `date`, with the registry's proof of the query. */
export interface AccountCheckResult {
  assigned: boolean;
  requestId: string;
  requestedAt: string;
}

export interface RegistrySettings {
  /** e.g. `https://wl-api.mf.gov.pl`. */
  baseUrl: string;
  /** The whole request's deadline. */
  timeoutMs: number;
}

/** The registry's two queries, each guarded (throttle, breaker, outbound limits) and its answer validated. */
export class WhiteListRegistry {
  private readonly host: string;

  constructor(
    private readonly settings: RegistrySettings,
    private readonly dispatcher: Dispatcher,
    private readonly breaker: CircuitBreaker,
    private readonly throttle: HostThrottle,
  ) {
    this.host = new URL(settings.baseUrl).host;
  }

  /** The subject with this (normalised) NIP on `date` (YYYY-MM-DD, default today in Poland). Throws RegistryError. */
  async searchNip(nip: string, date = registryToday()): Promise<SearchResult> {
    const { result } = await this.get(`/api/search/nip/${nip}?date=${date}`, SearchAnswer);
    if (result.subject && result.subject.nip !== nip)
      throw new RegistryError('invalid_answer', `asked for NIP ${nip}, the registry answered ${result.subject.nip}`);
    return {
      company: result.subject ? companyOf(result.subject) : null,
      requestId: result.requestId,
      requestedAt: this.time(result.requestDateTime),
    };
  }

  /** Whether the 26-digit NRB is on the white list for the NIP on `date` (the registry's own check). Throws RegistryError. */
  async checkAccount(nip: string, nrb: string, date: string): Promise<AccountCheckResult> {
    const { result } = await this.get(`/api/check/nip/${nip}/bank-account/${nrb}?date=${date}`, CheckAnswer);
    return {
      assigned: result.accountAssigned === 'TAK',
      requestId: result.requestId,
      requestedAt: this.time(result.requestDateTime),
    };
  }

  private time(value: string): string {
    const at = registryTime(value);
    if (!at) throw new RegistryError('invalid_answer', `the registry's requestDateTime ${value} is not a time`);
    return at;
  }

  private async get<S extends z.ZodType>(path: string, schema: S): Promise<z.output<S>> {
    const held = await this.throttle.state(this.host);
    if (held)
      throw new RegistryError(
        'limited',
        `the registry's query limit is spent until ${held.until} (${held.reason})`,
        held.until,
      );
    if (!(await this.breaker.allow(this.host))) {
      const { open_until } = await this.breaker.state(this.host);
      throw new RegistryError('unavailable', `the registry keeps failing; next try at ${open_until}`, open_until);
    }
    let res;
    try {
      // Appended, not resolved: a base URL with a path of its own (a proxy's prefix) keeps it.
      res = await outboundRequest(this.dispatcher, new URL(`${this.settings.baseUrl.replace(/\/+$/, '')}${path}`), {
        method: 'GET',
        headers: { accept: 'application/json' },
        timeoutMs: this.settings.timeoutMs,
        maxBytes: MAX_ANSWER_BYTES,
        overflow: 'fail',
      });
    } catch (error) {
      const e = error as Error & { code?: string };
      // Our own configuration refuses the address: no sign the registry is unwell.
      if (e instanceof BlockedAddressError) throw new RegistryError('unavailable', e.message);
      if (e.code === 'ETOOLARGE' || e.code === 'EUNSUPPORTEDENCODING')
        throw new RegistryError('invalid_answer', e.message);
      await this.breaker.failure(this.host);
      const timedOut =
        e.name === 'TimeoutError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT';
      throw new RegistryError(
        'unavailable',
        timedOut
          ? `the registry did not answer within ${this.settings.timeoutMs} ms`
          : `the registry could not be reached: ${e.message || e}`,
      );
    }
    if (res.status === 429) {
      const wait = retryAfterMs(res.headers['retry-after']) ?? msUntilRegistryMidnight();
      const held = await this.throttle.throttle(this.host, { status: 429, retryAfterMs: wait });
      const refusal = this.refusal(res.body);
      throw new RegistryError(
        'limited',
        `the registry's query limit is spent${refusal ? ` (${refusal.code}: ${refusal.message})` : ''}`,
        held?.until ?? null,
        refusal?.code ?? null,
      );
    }
    if (res.status >= 500) {
      await this.breaker.failure(this.host);
      throw new RegistryError('unavailable', `the registry answered ${res.status}`);
    }
    await Promise.all([this.breaker.success(this.host), this.throttle.answered(this.host)]);
    if (res.status !== 200) {
      const refusal = this.refusal(res.body);
      if (!refusal)
        throw new RegistryError('invalid_answer', `the registry answered ${res.status} without an error code`);
      throw new RegistryError(
        'refused',
        `the registry refused the query: ${refusal.code}: ${refusal.message}`,
        null,
        refusal.code,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(res.body);
    } catch {
      throw new RegistryError('invalid_answer', 'the registry answered with something that is not JSON');
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success)
      throw new RegistryError(
        'invalid_answer',
        `the registry's answer has an unexpected shape: ${describeIssues(parsed.error)}`,
      );
    return parsed.data;
  }

  /** The registry's `{code, message}` in an error body, or null when the body is not one. */
  private refusal(body: string): z.infer<typeof RegistryErrorAnswer> | null {
    try {
      const parsed = RegistryErrorAnswer.safeParse(JSON.parse(body));
      return parsed.success ? parsed.data : null;
    } catch {
      return null;
    }
  }
}

/**
 * The registry client a process uses: the configured base URL and deadline, its own guarded connection pool, the
 * breaker (BREAKER_* settings) and the throttle kept in `redis` under the registry's host, shared by every process.
 */
export function createWhiteListRegistry(config: Config, redis: Redis): WhiteListRegistry {
  return new WhiteListRegistry(
    config.companies.registry,
    guardedAgent(parseAllowList(config.outboundAllowList), { connections: 32 }),
    new CircuitBreaker(redis, config.monitors.breaker, 'wl-breaker'),
    // Every 429 passes its wait (Retry-After, else until midnight in Poland): the default is never used.
    new HostThrottle(redis, { defaultMs: 60_000, maxMs: 25 * 3600_000 }, 'wl-throttle'),
  );
}
