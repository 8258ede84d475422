import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCompanyWatchSchedule } from '../clients/companies.js';
import { randomUUID } from 'node:crypto';
import { recordLookups } from '../db/companies.js';
import { openDb, releaseDb, type Knex } from '../db/knex.js';
import { LookupJournal, type JournalEntry } from '../lib/companies/lookupJournal.js';
import { SingleFlight } from '../lib/companies/singleFlight.js';
import { createRedis } from '../lib/platform/redis.js';
import type { DomainEvent } from '../lib/platform/events.js';
import { COMPANY_WATCH_SCHEDULE_ID } from '../workflows/contracts/companies.js';
import { call, createMerchant, signIn, startApi, startStack, testConfig } from './helpers.js';
import { startReceiver, waitFor } from './receiver.js';
import { ACTIVE, companyLike, randomNip, startWhiteList } from './whitelist.js';

// A 2 s cache and watch interval, quick retries and a breaker that opens after 3 failures for 2 s keep this
// file short; production defaults are in lib/platform/config.ts. The Schedule is triggered by the tests.
let registry: Awaited<ReturnType<typeof startWhiteList>>;
let stack: Awaited<ReturnType<typeof startStack>>;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let admin: Awaited<ReturnType<typeof signIn>>;
let operator: Awaited<ReturnType<typeof signIn>>;
let merchant: Awaited<ReturnType<typeof createMerchant>>;
let db: Knex;
const url = () => stack.api.url;
const CACHE_TTL_S = 2;
const settings = () => ({
  OUTBOUND_ALLOWLIST: '127.0.0.1/32',
  WHITELIST_BASE_URL: registry.url,
  WHITELIST_TIMEOUT_MS: '1500',
  COMPANY_CACHE_TTL_S: String(CACHE_TTL_S),
  COMPANY_WATCH_INTERVAL_S: '2',
  COMPANY_WATCH_RETRY_INITIAL_MS: '200',
  COMPANY_WATCH_RETRY_MAX_MS: '1000',
  // Far from now: the tests trigger the Schedule themselves.
  COMPANY_WATCH_SCHEDULE: '0 3 29 2 *',
  BREAKER_THRESHOLD: '3',
  BREAKER_COOLDOWN_S: '2',
  WEBHOOK_RETRY_SCHEDULE_S: '0,1',
});

beforeAll(async () => {
  [registry, receiver] = await Promise.all([startWhiteList(), startReceiver()]);
  stack = await startStack(settings());
  db = openDb(process.env.DATABASE_URL!);
  [admin, operator] = await Promise.all([signIn(url(), 'admin'), signIn(url(), 'operator')]);
  merchant = await createMerchant(url(), admin.token);
  const endpoint = await call(url(), 'PATCH', `/api/v1/merchants/${merchant.id}`, {
    token: merchant.key,
    body: { webhook_url: receiver.url, webhook_events: ['company.changed'] },
  });
  expect(endpoint.status, endpoint.text).toBe(200);
});
afterAll(async () => {
  await stack?.api.deps.temporal.client.schedule
    .getHandle(COMPANY_WATCH_SCHEDULE_ID)
    .delete()
    .catch(() => {});
  await stack?.close();
  if (db) await releaseDb(db);
  await registry?.close();
  await receiver?.close();
});

const lookUp = (nip: string, token = merchant.key) =>
  call(url(), 'GET', `/api/v1/companies/${encodeURIComponent(nip)}`, { token });
/** A new company on the stand-in under a NIP no earlier run has cached. */
function newCompany(overrides = {}) {
  const nip = randomNip();
  registry.setSubject(nip, companyLike(nip, overrides));
  return nip;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const lookups = (nip: string) =>
  db('company_lookups').where({ nip }).orderBy('id').select('source', 'outcome', 'error');

describe('the look-up journal (Redis → PostgreSQL)', () => {
  const entry = (nip: string): JournalEntry => ({
    id: randomUUID(),
    nip,
    source: 'cache',
    outcome: 'found',
    error: null,
    merchant_id: null,
    user_id: null,
    at: new Date().toISOString(),
  });
  const count = async (nip: string) =>
    Number((await db('company_search_stats').where({ nip }).first('count'))?.count ?? 0);

  it('a drain repeated after a crash records and counts each look-up once', async () => {
    const nip = randomNip();
    const entries = [entry(nip), entry(nip)];
    await recordLookups(db, entries);
    await recordLookups(db, [...entries, entry(nip)]);
    expect(await count(nip)).toBe(3);
    expect(await lookups(nip)).toHaveLength(3);
  });

  it('drops the look-ups of a merchant or user deleted meanwhile instead of failing the batch for good', async () => {
    const nip = randomNip();
    const gone = randomUUID();
    await recordLookups(db, [entry(nip), { ...entry(nip), merchant_id: gone }, { ...entry(nip), user_id: gone }]);
    expect(await count(nip)).toBe(1);
    expect(await lookups(nip)).toHaveLength(1);
  });

  it('keeps what a failed store did not commit, and one drainer runs at a time', async () => {
    const redis = await createRedis(process.env.REDIS_URL!);
    // A journal of its own: the API's drainer runs beside this test.
    const journal = new LookupJournal(redis, { key: `test:journal:${randomUUID()}`, batch: 2 });
    try {
      const nip = randomNip();
      for (let i = 0; i < 3; i++) await journal.append({ ...entry(nip), source: 'live' });
      let stores = 0;
      const failing = async (e: JournalEntry[]) => {
        await recordLookups(db, e);
        if (++stores === 2) throw new Error('connection lost after the commit');
      };
      let competing: number | null = 0;
      const drained = journal.drain(async (e) => {
        competing = await journal.drain(async () => {});
        return failing(e);
      });
      await expect(drained).rejects.toThrow('connection lost');
      expect(competing).toBeNull();
      // The second batch committed but was not trimmed: the next drain stores it again, counted once.
      expect(await journal.drain((e) => recordLookups(db, e))).toBeGreaterThanOrEqual(1);
      expect(await count(nip)).toBe(3);
    } finally {
      redis.disconnect();
    }
  });
});

describe('single flight', () => {
  it('a caller that missed the cache just as a flight finished takes its result instead of flying again', async () => {
    const redis = await createRedis(process.env.REDIS_URL!);
    try {
      const flights = new SingleFlight<string>(redis, { lockMs: 5000, pollMs: 20 });
      let cached: string | null = null;
      const key = randomUUID();
      let calls = 0;
      const work = async () => {
        calls++;
        cached = 'answer';
        return cached;
      };
      expect(await flights.run(key, work, async () => cached)).toBe('answer');
      // This caller looked at the cache before the first flight stored its answer; the lock is free now.
      expect(await flights.run(key, work, async () => cached)).toBe('answer');
      expect(calls).toBe(1);
    } finally {
      redis.disconnect();
    }
  });
});

describe('look-ups: cache → registry → PostgreSQL', () => {
  it('misses, hits, expires; answers in the API’s shape; every look-up recorded and counted', async () => {
    const nip = newCompany();
    const first = await lookUp(`PL ${nip.slice(0, 3)}-${nip.slice(3, 6)}-${nip.slice(6, 8)}-${nip.slice(8)}`);
    expect(first.status, first.text).toBe(200);
    expect(first.json).toMatchObject({
      nip,
      vat_status: 'active',
      vat_status_label: 'Czynny',
      account_numbers: ACTIVE.accountNumbers,
      representatives: [{ name: 'ANNA PRZYKŁADOWA', nip: null }],
      source: 'live',
      stale: false,
      registry: null,
    });
    expect(first.json.request_id).toMatch(/\S/);
    expect(Date.now() - Date.parse(first.json.fetched_at)).toBeLessThan(5000);
    expect(registry.searches(nip)).toBe(1);

    const second = await lookUp(nip);
    expect(second.json).toMatchObject({ source: 'cache', stale: false, fetched_at: first.json.fetched_at });
    expect(second.json.request_id).toBe(first.json.request_id);
    expect(registry.searches(nip)).toBe(1);

    await sleep(CACHE_TTL_S * 1000 + 300);
    const third = await lookUp(nip);
    expect(third.json.source).toBe('live');
    expect(third.json.request_id).not.toBe(first.json.request_id);
    expect(registry.searches(nip)).toBe(2);

    // Popular drains the journal first: every look-up answered before it counts, at once.
    const popular = await call(url(), 'GET', '/api/v1/analytics/popular?limit=100', { token: operator.token });
    expect(popular.json.data).toContainEqual({
      nip,
      name: companyLike(nip).name,
      count: 3,
      last_searched_at: expect.any(String),
    });
    expect(await lookups(nip)).toEqual(
      ['live', 'cache', 'live'].map((source) => ({ source, outcome: 'found', error: null })),
    );
  });

  it('refuses invalid NIPs with the reason, before any registry call; accepts the usual spellings', async () => {
    const cases: Array<[string, RegExp]> = [
      ['1234563219', /check digit should be 8, not 9/],
      ['1234567890', /never issued/],
      ['123456321', /10 digits, not 9/],
      ['12345632AB', /digits only/],
      ['ABC-DEF-GH-IJ', /digits only/],
    ];
    const before = registry.calls.length;
    for (const [nip, reason] of cases) {
      const res = await lookUp(nip);
      expect(res.status, nip).toBe(400);
      expect(res.json.error.code).toBe('validation_error');
      expect(res.json.error.details[0]).toMatchObject({ path: 'nip', message: expect.stringMatching(reason) });
    }
    expect(registry.calls.length).toBe(before);
    // Valid spellings of one NIP reach the registry as its ten digits (not on the list: 404 with the answer's origin).
    for (const spelled of ['123-456-32-18', 'PL1234563218', 'pl 123 456 32 18', ' 1234563218 ']) {
      const res = await lookUp(spelled);
      expect(res.status, spelled).toBe(404);
      expect(res.json.error).toMatchObject({ code: 'not_registered', details: { nip: '1234563218' } });
    }
    expect(registry.calls.slice(before).every((c) => c.nip === '1234563218')).toBe(true);
  });

  it('a valid NIP not on the list is a 404 not_registered, cached and recorded as such', async () => {
    const nip = randomNip();
    const res = await lookUp(nip);
    expect(res.status).toBe(404);
    expect(res.json.error).toMatchObject({
      code: 'not_registered',
      details: { nip, source: 'live', stale: false, request_id: expect.any(String) },
    });
    expect((await lookUp(nip)).json.error.details.source).toBe('cache');
    expect(registry.searches(nip)).toBe(1);
    await expect
      .poll(async () => (await lookups(nip)).map((l) => l.outcome))
      .toEqual(['not_registered', 'not_registered']);
  });

  it('an answer of an unexpected shape is a recorded error: 502 without a stored copy, the stored copy otherwise', async () => {
    const unseen = newCompany();
    registry.setFault(unseen, { garbled: true });
    const refused = await lookUp(unseen);
    expect(refused.status, refused.text).toBe(502);
    expect(refused.json.error.code).toBe('registry_invalid_answer');
    await expect
      .poll(() => lookups(unseen))
      .toEqual([{ source: null, outcome: 'invalid_answer', error: expect.stringMatching(/unexpected shape/) }]);

    const known = newCompany();
    expect((await lookUp(known)).json.source).toBe('live');
    await call(url(), 'POST', '/api/v1/cache/clear', { token: admin.token, body: { nip: known } });
    registry.setFault(known, { garbled: true });
    const stale = await lookUp(known);
    expect(stale.status).toBe(200);
    expect(stale.json).toMatchObject({
      source: 'stored',
      stale: true,
      registry: { available: false, reason: 'invalid_answer' },
    });
    registry.setFault(unseen, null);
    registry.setFault(known, null);
  });

  it('100 concurrent misses of one NIP, over two API processes, make one registry call', async () => {
    const nip = newCompany();
    registry.setFault(nip, { delayMs: 300 });
    const second = await startApi(stack.settings);
    try {
      const answers = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          call(i % 2 ? second.url : url(), 'GET', `/api/v1/companies/${nip}`, { token: operator.token }),
        ),
      );
      expect(answers.map((a) => a.status)).toEqual(Array(100).fill(200));
      expect(new Set(answers.map((a) => a.json.request_id)).size).toBe(1);
      expect(registry.searches(nip)).toBe(1);
      // Journalled before each answer, counted once drained into PostgreSQL.
      await expect
        .poll(async () => Number((await db('company_search_stats').where({ nip }).first('count'))?.count))
        .toBe(100);
    } finally {
      registry.setFault(nip, null);
      await second.close();
    }
  });

  it('admins clear the cache, one NIP or all; nobody else may', async () => {
    const nip = newCompany();
    await lookUp(nip);
    expect((await call(url(), 'POST', '/api/v1/cache/clear', { token: operator.token, body: { nip } })).status).toBe(
      403,
    );
    expect(
      (await call(url(), 'POST', '/api/v1/cache/clear', { token: merchant.key, body: { all: true } })).status,
    ).toBe(403);
    expect((await call(url(), 'POST', '/api/v1/cache/clear', { token: admin.token, body: {} })).status).toBe(400);
    expect(
      (await call(url(), 'POST', '/api/v1/cache/clear', { token: admin.token, body: { nip: '1234563219' } })).status,
    ).toBe(400);
    const one = await call(url(), 'POST', '/api/v1/cache/clear', { token: admin.token, body: { nip } });
    expect(one.json).toEqual({ cleared: 1, nip });
    expect((await lookUp(nip)).json.source).toBe('live');
    const all = await call(url(), 'POST', '/api/v1/cache/clear', { token: admin.token, body: { all: true } });
    expect(all.json.cleared).toBeGreaterThanOrEqual(1);
    expect((await lookUp(nip)).json.source).toBe('live');
    expect(registry.searches(nip)).toBe(3);
  });
});

describe('the registry failing', () => {
  it('5xx opens the breaker: stale answers from PostgreSQL, 503 with Retry-After when nothing is stored, then recovery', async () => {
    const known = newCompany();
    const unknown = newCompany();
    expect((await lookUp(known)).json.source).toBe('live');
    await call(url(), 'POST', '/api/v1/cache/clear', { token: admin.token, body: { nip: known } });
    registry.setFault('*', { status: 503 });
    try {
      for (let i = 0; i < 3; i++) {
        const stale = await lookUp(known);
        expect(stale.status, stale.text).toBe(200);
        expect(stale.json).toMatchObject({ source: 'stored', stale: true, registry: { reason: 'unavailable' } });
      }
      const sent = registry.calls.length;
      const open = await lookUp(known);
      expect(open.json).toMatchObject({
        source: 'stored',
        stale: true,
        registry: { available: false, reason: 'circuit_open', retry_at: expect.any(String) },
      });
      const refused = await lookUp(unknown);
      expect(refused.status).toBe(503);
      expect(refused.json.error.code).toBe('registry_unavailable');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(2);
      expect(registry.calls.length, 'nothing is sent while the breaker is open').toBe(sent);
      await expect
        .poll(async () => (await lookups(known)).map((l) => l.source))
        .toEqual(['live', 'stored', 'stored', 'stored', 'stored']);
    } finally {
      registry.setFault('*', null);
    }
    await sleep(2100);
    const recovered = await lookUp(known);
    expect(recovered.json).toMatchObject({ source: 'live', stale: false });
    expect((await lookUp(unknown)).json.source).toBe('live');
  });

  it("honours and shows the registry's 429: no query until its Retry-After, stored copies stale meanwhile", async () => {
    const known = newCompany();
    const unknown = newCompany();
    expect((await lookUp(known)).json.source).toBe('live');
    await call(url(), 'POST', '/api/v1/cache/clear', { token: admin.token, body: { nip: known } });
    const limit = { code: 'WL-190', message: 'Przekroczono dzienny limit zapytań.' };
    registry.setFault('*', { status: 429, body: limit, headers: { 'retry-after': '2' } });
    try {
      const refused = await lookUp(unknown);
      expect(refused.status).toBe(503);
      expect(refused.json.error).toMatchObject({
        code: 'registry_limit_reached',
        message: expect.stringContaining('WL-190'),
        details: { reason: 'limited', registry_code: 'WL-190', retry_at: expect.any(String) },
      });
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      const sent = registry.calls.length;
      expect((await lookUp(unknown)).json.error.code).toBe('registry_limit_reached');
      const stale = await lookUp(known);
      expect(stale.json).toMatchObject({ source: 'stored', stale: true, registry: { reason: 'limit_reached' } });
      expect(registry.calls.length, 'held back until the time the registry allowed').toBe(sent);
    } finally {
      registry.setFault('*', null);
    }
    await sleep(2100);
    expect((await lookUp(unknown)).json.source).toBe('live');
  });
});

describe('account checks', () => {
  it("answers TAK/NIE from the registry's own check, recorded with its request id as proof", async () => {
    const nip = newCompany();
    const [nrb] = ACTIVE.accountNumbers!;
    const iban = `PL ${nrb.slice(0, 2)} ${nrb
      .slice(2)
      .replace(/(\d{4})/g, '$1 ')
      .trim()}`;
    const yes = await call(url(), 'POST', `/api/v1/companies/${nip}/accounts/check`, {
      token: merchant.key,
      body: { account: iban },
    });
    expect(yes.status, yes.text).toBe(200);
    expect(yes.json).toMatchObject({ nip, account: nrb, assigned: true, request_id: expect.stringMatching(/\S/) });
    const stored = await db('company_account_checks').where({ id: yes.json.id }).first();
    expect(stored).toMatchObject({ request_id: yes.json.request_id, assigned: true, merchant_id: merchant.id });

    const other = '61109010140000071219812874';
    const no = await call(url(), 'POST', `/api/v1/companies/${nip}/accounts/check`, {
      token: operator.token,
      body: { account: other, date: '2026-01-15' },
    });
    expect(no.json).toMatchObject({ account: other, assigned: false, date: '2026-01-15' });
    expect(no.json.request_id).not.toBe(yes.json.request_id);
  });

  it('refuses invalid accounts and dates with the reason, before any registry call', async () => {
    const nip = newCompany();
    const before = registry.calls.length;
    for (const [account, reason] of [
      ['11102010269935181909378658', /check digits/],
      ['DE89370400440532013000', /only Polish/],
      ['1234', /26 digits/],
    ]) {
      const res = await call(url(), 'POST', `/api/v1/companies/${nip}/accounts/check`, {
        token: merchant.key,
        body: { account },
      });
      expect(res.status, String(account)).toBe(400);
      expect(res.json.error.details[0]).toMatchObject({ path: 'account', message: expect.stringMatching(reason) });
    }
    const future = await call(url(), 'POST', `/api/v1/companies/${nip}/accounts/check`, {
      token: merchant.key,
      body: { account: ACTIVE.accountNumbers![0], date: '2999-01-01' },
    });
    expect(future.json.error.details[0].path).toBe('date');
    expect(registry.calls.length).toBe(before);
  });
});

describe('watches', () => {
  const schedule = () => stack.api.deps.temporal.client.schedule.getHandle(COMPANY_WATCH_SCHEDULE_ID);
  /** Runs the Schedule now and waits for that sweep to finish; returns its workflow's final status. */
  async function sweep(): Promise<string> {
    const last = async () => (await schedule().describe()).info.recentActions.at(-1)?.action.workflow.workflowId;
    const before = await last();
    await schedule().trigger();
    const started = await waitFor(
      async () => {
        const id = await last();
        return id !== before ? id : null;
      },
      10_000,
      'the sweep to start',
    );
    const handle = stack.api.deps.temporal.client.workflow.getHandle(started!);
    await handle.result();
    return (await handle.describe()).status.name;
  }
  const watchOf = (id: string, token = merchant.key) =>
    call(url(), 'GET', `/api/v1/companies/watches/${id}`, { token });

  beforeAll(async () => {
    await ensureCompanyWatchSchedule(stack.api.deps.temporal.client, testConfig(stack.settings));
  });

  it('a status change sends exactly one signed company.changed webhook, records the change and publishes it', async () => {
    const nip = newCompany();
    expect((await lookUp(nip)).status).toBe(200);
    const created = await call(url(), 'POST', '/api/v1/companies/watches', { token: merchant.key, body: { nip } });
    expect(created.status, created.text).toBe(201);
    expect(created.json).toMatchObject({
      nip,
      vat_status: 'active',
      name: companyLike(nip).name,
      merchant_id: merchant.id,
    });
    expect(created.json.baseline_at).not.toBeNull();
    // Asking again is no second watch.
    const again = await call(url(), 'POST', '/api/v1/companies/watches', { token: merchant.key, body: { nip } });
    expect([again.status, again.json.id]).toEqual([200, created.json.id]);

    // Other merchants do not see it.
    const other = await createMerchant(url(), admin.token);
    expect((await watchOf(created.json.id, other.key)).status).toBe(404);
    expect(
      (await call(url(), 'DELETE', `/api/v1/companies/watches/${created.json.id}`, { token: other.key })).status,
    ).toBe(404);
    const theirs = await call(url(), 'GET', '/api/v1/companies/watches', { token: other.key });
    expect(theirs.json.data).toEqual([]);
    expect((await watchOf(created.json.id, operator.token)).status).toBe(200);

    const live: DomainEvent[] = [];
    const stop = stack.api.deps.events.listen((e) => {
      if (e.type === 'company.changed') live.push(e);
    });
    try {
      registry.setSubject(
        nip,
        companyLike(nip, { statusVat: 'Zwolniony', accountNumbers: [ACTIVE.accountNumbers![1]] }),
      );
      await sleep(2100);
      expect(await sweep()).toBe('COMPLETED');
      const detail = await waitFor(
        async () => {
          const w = await watchOf(created.json.id);
          return w.json.changes.length ? w.json : null;
        },
        10_000,
        'the change recorded',
      );
      expect(detail).toMatchObject({ vat_status: 'exempt', company: { vat_status: 'exempt' } });
      expect(detail.changes[0].changes).toEqual([
        { field: 'vat_status', before: 'active', after: 'exempt' },
        { field: 'account_numbers', added: [], removed: [ACTIVE.accountNumbers![0]] },
      ]);
      const [hit] = await waitFor(() =>
        receiver.forType('company.changed').length ? receiver.forType('company.changed') : null,
      );
      const verified = new Webhook(merchant.webhookSecret).verify(hit.body, hit.headers as Record<string, string>) as {
        type: string;
        data: { watch_id: string; nip: string; changes: unknown[] };
      };
      expect(verified).toMatchObject({ type: 'company.changed', data: { watch_id: created.json.id, nip } });
      expect(verified.data.changes).toEqual(detail.changes[0].changes);
      await waitFor(() => live.length > 0, 5000, 'the live event');
      expect(live[0]).toMatchObject({ merchant_id: merchant.id, data: { watch_id: created.json.id, nip } });

      // Checked again with nothing new: no second change, no second webhook.
      const checkedAt = detail.last_checked_at;
      await sleep(2100);
      expect(await sweep()).toBe('COMPLETED');
      const later = (await watchOf(created.json.id)).json;
      expect(Date.parse(later.last_checked_at)).toBeGreaterThan(Date.parse(checkedAt));
      expect(later.changes).toHaveLength(1);
      await sleep(1500);
      expect(receiver.forType('company.changed')).toHaveLength(1);
      expect(live).toHaveLength(1);
    } finally {
      stop();
    }

    expect(
      (await call(url(), 'DELETE', `/api/v1/companies/watches/${created.json.id}`, { token: merchant.key })).status,
    ).toBe(204);
    expect((await watchOf(created.json.id)).status).toBe(404);
  });

  it('a first check without a baseline takes one and announces nothing', async () => {
    const nip = newCompany();
    const created = await call(url(), 'POST', '/api/v1/companies/watches', { token: operator.token, body: { nip } });
    expect(created.json).toMatchObject({ baseline_at: null, vat_status: null, merchant_id: null });
    expect(await sweep()).toBe('COMPLETED');
    const detail = (await watchOf(created.json.id, operator.token)).json;
    expect(detail).toMatchObject({ vat_status: 'active', changes: [] });
    expect(detail.baseline_at).not.toBeNull();
  });

  it('a registry outage during a check makes it wait and retry; it completes once the registry answers', async () => {
    const nip = newCompany();
    await lookUp(nip);
    const created = await call(url(), 'POST', '/api/v1/companies/watches', { token: merchant.key, body: { nip } });
    expect(created.json.baseline_at).not.toBeNull();
    registry.setSubject(nip, companyLike(nip, { name: 'NOWA NAZWA SPÓŁKA Z O.O.' }));
    registry.setFault(nip, { status: 503 });
    const delivered = receiver.forType('company.changed').length;
    await sleep(2100);
    const searched = registry.searches(nip);
    const running = (async () => sweep())();
    try {
      await waitFor(() => registry.searches(nip) >= searched + 3, 15_000, 'the check retried');
      const waiting = (await watchOf(created.json.id)).json;
      expect(waiting.last_error).toMatch(/waits and retries/);
      expect(waiting.changes).toEqual([]);
    } finally {
      registry.setFault(nip, null);
    }
    expect(await running).toBe('COMPLETED');
    const done = (await watchOf(created.json.id)).json;
    expect(done).toMatchObject({ name: 'NOWA NAZWA SPÓŁKA Z O.O.', last_error: null });
    expect(done.changes[0].changes).toEqual([
      { field: 'name', before: companyLike(nip).name, after: 'NOWA NAZWA SPÓŁKA Z O.O.' },
    ]);
    await waitFor(() => receiver.forType('company.changed').length > delivered, 10_000, 'the webhook');
  });
});
