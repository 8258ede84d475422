/**
 * Company verification: NIP look-ups through the Redis cache, the VAT white list and PostgreSQL, account checks
 * with the registry's proof, the most looked-up NIPs, the admin's cache clear; watches in companyWatches.ts.
 */
import { z } from 'zod';
import {
  popularCompanies,
  recordAccountCheck,
  recordLookups,
  storeCompanyAnswer,
  storedCompanyAnswer,
  type LookupOutcome,
  type LookupSource,
} from '../../db/companies.js';
import type { CompanyAccountCheck } from '../../db/models/Company.js';
import { normaliseAccount } from '../../lib/companies/account.js';
import { cacheKeyOf, CompanyCache, type CachedAnswer } from '../../lib/companies/cache.js';
import { LookupJournal, startJournalDrainer } from '../../lib/companies/lookupJournal.js';
import { registryToday } from '../../lib/companies/registryAnswer.js';
import {
  createWhiteListRegistry,
  RegistryError,
  type RegistryFailureKind,
  type WhiteListRegistry,
} from '../../lib/companies/registry.js';
import { FlightFailed, SingleFlight } from '../../lib/companies/singleFlight.js';
import type { ApiDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import type { Api } from '../route.js';
import { isoOrNull } from '../dates.js';
import { askerOf, CompanyOut, NipIn, NipParams } from './companyShared.js';
import { companyWatchRoutes } from './companyWatches.js';

/** A registry failure as it travels between the requests of one flight. */
type Failure = {
  kind: RegistryFailureKind;
  message: string;
  retry_at: string | null;
  code: string | null;
};

const failureOf = (e: RegistryError): Failure => ({
  kind: e.kind,
  message: e.message,
  retry_at: e.retryAt,
  code: e.code,
});

/** The registry's state as an answer shows it, from the failure that made the answer stale (or refused it). */
const registryState = (f: Failure) => ({
  available: false,
  reason:
    f.kind === 'limited'
      ? ('limit_reached' as const)
      : f.kind === 'unavailable' && f.retry_at
        ? ('circuit_open' as const)
        : f.kind,
  retry_at: f.retry_at,
  message: f.message,
});

const AccountCheckOut = z
  .object({
    id: z.string(),
    nip: z.string(),
    account: z.string().describe('the 26-digit NRB checked'),
    date: z.string().describe('the day the registry answered for (YYYY-MM-DD)'),
    assigned: z.boolean().describe('whether the account is on the white list for the NIP on that day'),
    request_id: z.string().describe("the registry's request id: the payer's proof of the check"),
    requested_at: z.string().describe('when the registry answered'),
    checked_at: z.string(),
  })
  .meta({ id: 'CompanyAccountCheck' });

const accountCheckView = (c: CompanyAccountCheck) => ({
  id: c.id,
  nip: c.nip,
  account: c.account,
  date: c.date,
  assigned: c.assigned,
  request_id: c.request_id,
  requested_at: isoOrNull(c.requested_at)!,
  checked_at: isoOrNull(c.created_at)!,
});

const registryErrors = {
  502: {
    description:
      'The registry refused the query (`registry_refused`, its WL code in details) or answered in an unexpected shape (`registry_invalid_answer`)',
  },
  503: {
    description:
      'The registry is unavailable (`registry_unavailable`: errors, or the circuit breaker open) or its daily query limit is spent (`registry_limit_reached`), and nothing is stored to answer with',
    headers: { 'Retry-After': 'seconds until asking the registry again makes sense' },
  },
};

/** Declares the company routes: watches first (companyWatches.ts), then look-ups, account checks, popular, cache clear. */
export function companyRoutes(api: Api, deps: ApiDeps) {
  const { config, db, redis } = deps;
  // Watches first: `/api/v1/companies/watches` must not be taken for a NIP.
  companyWatchRoutes(api, deps);

  // Built on first use: declaring routes (the OpenAPI generator) touches no dependency.
  let parts:
    | {
        registry: WhiteListRegistry;
        cache: CompanyCache;
        flights: SingleFlight<CachedAnswer>;
        journal: LookupJournal;
        drainer: ReturnType<typeof startJournalDrainer>;
      }
    | undefined;
  const use = () => {
    if (parts) return parts;
    const journal = new LookupJournal(redis);
    const drainer = startJournalDrainer(journal, (entries) => recordLookups(db, entries), {
      onError: (error) => deps.log.warn({ err: error }, 'look-up journal not drained; retrying'),
    });
    deps.onClose(() => drainer.stop());
    return (parts = {
      registry: createWhiteListRegistry(config, redis),
      cache: new CompanyCache(redis, config.companies.cacheTtlS),
      // A waiter gives up on a holder that outlived its registry call by far: its lock lapses, a waiter takes over.
      flights: new SingleFlight(redis, { lockMs: config.companies.registry.timeoutMs + 5000, pollMs: 20 }),
      journal,
      drainer,
    });
  };

  /** The answer to refuse a request with when the registry gave none and nothing is stored. */
  function refusal(f: Failure): ApiError {
    const waitS = Math.max(
      1,
      Math.ceil(
        ((f.retry_at ? Date.parse(f.retry_at) : Date.now() + config.monitors.breaker.cooldownMs) - Date.now()) / 1000,
      ),
    );
    const details = { reason: f.kind, retry_at: f.retry_at, registry_code: f.code, message: f.message };
    if (f.kind === 'refused') return new ApiError(502, 'registry_refused', f.message, details);
    if (f.kind === 'invalid_answer') return new ApiError(502, 'registry_invalid_answer', f.message, details);
    return new ApiError(
      503,
      f.kind === 'limited' ? 'registry_limit_reached' : 'registry_unavailable',
      f.kind === 'limited'
        ? `The VAT white list's query limit is spent: ${f.message}`
        : `The VAT white list is unavailable: ${f.message}`,
      details,
      { 'Retry-After': String(waitS) },
    );
  }

  /**
   * Redis, else the registry (one call for all concurrent misses of the NIP, in every process), else — when the
   * registry cannot answer — the answer last stored in PostgreSQL, marked stale. Every look-up is journalled before
   * it is answered, whatever it found (a cache hit in the same Redis call as its GET), and counted once drained.
   */
  async function lookUp(nip: string, asker: ReturnType<typeof askerOf>) {
    const { registry, cache, flights, journal } = use();
    const found = (answer: CachedAnswer, source: LookupSource, failure: Failure | null) => ({
      answer,
      source,
      stale: failure !== null,
      registry: failure && registryState(failure),
    });
    const who = { merchant_id: asker.merchantId, user_id: asker.userId };
    const record = (source: LookupSource | null, outcome: LookupOutcome, error: string | null) =>
      journal.append({ nip, source, outcome, error, ...who });
    const outcomeOf = (a: CachedAnswer): LookupOutcome => (a.company ? 'found' : 'not_registered');

    const hit = await journal.cachedLookup(cacheKeyOf(nip), { nip, source: 'cache', error: null, ...who });
    if (hit) return found(JSON.parse(hit) as CachedAnswer, 'cache', null);
    let failure: Failure;
    try {
      const fresh = await flights.run(
        nip,
        async () => {
          try {
            const result = await registry.searchNip(nip);
            const answer: CachedAnswer = {
              nip,
              company: result.company,
              request_id: result.requestId,
              fetched_at: new Date().toISOString(),
            };
            await storeCompanyAnswer(db, answer);
            await cache.set(answer);
            return answer;
          } catch (error) {
            if (error instanceof RegistryError) throw new FlightFailed(failureOf(error));
            throw error;
          }
        },
        () => cache.get(nip),
      );
      await record('live', outcomeOf(fresh), null);
      return found(fresh, 'live', null);
    } catch (error) {
      if (!(error instanceof FlightFailed)) throw error;
      failure = error.failure as Failure;
    }
    const stored = await storedCompanyAnswer(db, nip);
    if (stored) {
      await record('stored', outcomeOf(stored), failure.message);
      return found(stored, 'stored', failure);
    }
    await record(null, failure.kind, failure.message);
    throw refusal(failure);
  }

  api.route({
    method: 'get',
    path: '/api/v1/companies/:nip',
    summary:
      'A company by NIP from the VAT white list: Redis cache (24 h), else the registry, else the copy kept in PostgreSQL',
    tag: 'companies',
    access: ['merchant', 'operator'],
    params: NipParams,
    responses: {
      200: { description: 'The company, with where the answer came from and whether it is stale', schema: CompanyOut },
      404: {
        description:
          'The NIP is valid but not on the white list (`not_registered`; details: `source`, `fetched_at`, `stale`, `request_id`)',
      },
      ...registryErrors,
    },
    handler: async (ctx, { params }) => {
      const { answer, source, stale, registry } = await lookUp(params.nip, askerOf(ctx));
      const meta = { source, fetched_at: answer.fetched_at, stale, request_id: answer.request_id, registry };
      if (!answer.company)
        throw new ApiError(404, 'not_registered', `NIP ${params.nip} is not on the VAT white list`, {
          nip: params.nip,
          ...meta,
        });
      ctx.body = { ...answer.company, ...meta };
    },
  });

  api.route({
    method: 'post',
    path: '/api/v1/companies/:nip/accounts/check',
    summary:
      "Whether a bank account is on the white list for the NIP on a day (the registry's own check), recorded with the registry's request id as proof",
    tag: 'companies',
    access: ['merchant', 'operator'],
    idempotent: true,
    params: NipParams,
    body: z.object({
      account: z
        .string()
        .max(64)
        .describe('a 26-digit NRB or a PL IBAN; spaces and dashes are accepted')
        .meta({ example: 'PL 11 1020 1026 9935 1819 0937 8657' }),
      date: z.iso
        .date()
        .optional()
        .describe('the day to check (YYYY-MM-DD, not in the future); today in Poland by default'),
    }),
    responses: {
      200: { description: 'The check and its proof', schema: AccountCheckOut },
      ...registryErrors,
    },
    handler: async (ctx, { params, body }) => {
      const account = normaliseAccount(body.account);
      if (!account.ok)
        throw new ApiError(400, 'validation_error', 'The account number is invalid', [
          { path: 'account', message: account.reason },
        ]);
      const today = registryToday();
      const date = body.date ?? today;
      if (date > today)
        throw new ApiError(400, 'validation_error', 'The date is in the future', [
          { path: 'date', message: `the registry answers for days up to today (${today} in Poland)` },
        ]);
      let result;
      try {
        result = await use().registry.checkAccount(params.nip, account.nrb, date);
      } catch (error) {
        if (error instanceof RegistryError) throw refusal(failureOf(error));
        throw error;
      }
      const asker = askerOf(ctx);
      const check = await recordAccountCheck(db, {
        nip: params.nip,
        account: account.nrb,
        date,
        assigned: result.assigned,
        request_id: result.requestId,
        requested_at: result.requestedAt,
        merchant_id: asker.merchantId,
        user_id: asker.userId,
      });
      ctx.body = accountCheckView(check);
    },
  });

  api.route({
    method: 'get',
    path: '/api/v1/analytics/popular',
    summary:
      "The most looked-up NIPs with their counts and names: everyone's for console users, a merchant's own for a merchant",
    tag: 'companies',
    access: ['merchant', 'operator'],
    query: z.object({
      limit: z.coerce.number().int().min(1).max(100).default(10),
      since: z.iso.datetime({ offset: true }).optional().describe('count only look-ups at or after this time'),
    }),
    responses: {
      200: {
        description: 'Most looked-up first',
        schema: z.object({
          data: z.array(
            z.object({
              nip: z.string(),
              name: z.string().nullable().describe('null until the registry named it'),
              count: z.number(),
              last_searched_at: z.string(),
            }),
          ),
          since: z.string().nullable(),
        }),
      },
    },
    handler: async (ctx, { query }) => {
      const asker = askerOf(ctx);
      const since = query.since ? new Date(query.since) : undefined;
      // Every look-up answered before this request counts: the journal is drained first (bounded wait).
      await use().drainer.flush();
      const rows = await popularCompanies(db, { limit: query.limit, since, merchantId: asker.merchantId ?? undefined });
      ctx.body = {
        data: rows.map((r) => ({ ...r, last_searched_at: isoOrNull(r.last_searched_at)! })),
        since: since ? since.toISOString() : null,
      };
    },
  });

  api.route({
    method: 'post',
    path: '/api/v1/cache/clear',
    summary: 'Clear cached registry answers: one NIP, or every one with `all: true`',
    tag: 'companies',
    access: ['admin'],
    body: z
      .object({ nip: NipIn.optional(), all: z.boolean().optional().describe('true: clear every cached NIP') })
      .refine((b) => (b.nip !== undefined) !== (b.all === true), {
        message: 'give either `nip` or `all: true`',
        path: ['nip'],
      }),
    responses: {
      200: {
        description: 'How many cached answers were removed',
        schema: z.object({ cleared: z.number(), nip: z.string().nullable() }),
      },
    },
    handler: async (ctx, { body }) => {
      const { cache } = use();
      const cleared = body.nip ? await cache.clear(body.nip) : await cache.clearAll();
      ctx.body = { cleared, nip: body.nip ?? null };
    },
  });
}
