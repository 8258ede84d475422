/**
 * The peer-behaviour matrix: every outbound path — CFTC yearly zip, CFTC weekly text file, shop page
 * fetch, webhook delivery, monitor alert webhook, AI provider call — against a peer that answers HTTP/1.0
 * and closes (small and multi-megabyte), resets mid-body, promises more than it sends, drips, sends more
 * than the cap, sends endless headers, or answers gzip. Each case asserts the outcome (success, or a
 * failure recorded with its reason on the unit, attempt or check), that the worker process lives (its
 * pid unchanged: it runs as a separate process, as in production) and that nothing stored before is lost.
 */
import type { ChildProcess } from 'node:child_process';
import yazl from 'yazl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, releaseDb, type Knex } from '../../db/knex.js';
import { reports } from '../../lib/cot/reports.js';
import { startCftc } from '../cftc.js';
import { call, createMerchant, signIn, startApi, unique } from '../helpers.js';
import { waitFor } from '../receiver.js';
import { pages } from '../shop.js';
import { spawnWorker } from '../faults/processes.js';
import { behaviours, startPeer, type Answer, type Behaviour, type PeerRequest } from './peer.js';

/** Every path's deadline (ms); a dripped byte comes slower than that. */
const TIMEOUT_MS = 2500;
const CAPS = { page: 2 * 1024 * 1024, cot: 8 * 1024 * 1024 };
/** Multi-megabyte answers, each under its path's cap (the page cap is 2 MB, an AI answer's 4 MB). */
const LARGE = { page: 1_800_000, answer: 3_000_000 };
const YEAR = 2025;
const YEARLY = reports.legacy.yearlyZip.fo(YEAR);
const WEEKLY = reports.legacy.weeklyFile.fo;

/** What each path must make of each behaviour: loaded/delivered/read, or failed with a recorded reason. */
const succeeds: Record<Behaviour, boolean> = {
  'http10-close': true,
  'http10-close-large': true,
  'reset-mid-body': false,
  'short-content-length': false,
  drip: false,
  'over-cap': false,
  'endless-headers': false,
  gzip: true,
};
/** A receiver's answer body does not matter to a delivery: only its status and that it arrived whole. */
const deliverySucceeds = (b: Behaviour) => succeeds[b] || b === 'over-cap';

let api: Awaited<ReturnType<typeof startApi>>;
let worker: Awaited<ReturnType<typeof spawnWorker>>;
let workerPid: number | undefined;
let db: Knex;
let admin: Awaited<ReturnType<typeof signIn>>;
let merchant: Awaited<ReturnType<typeof createMerchant>>;
let cftcPeer: Awaited<ReturnType<typeof startPeer>>;
let shopPeer: Awaited<ReturnType<typeof startPeer>>;
let hookPeer: Awaited<ReturnType<typeof startPeer>>;
let aiPeer: Awaited<ReturnType<typeof startPeer>>;
let goodShop: Awaited<ReturnType<typeof startPeer>>;

const storedZip = (name: string, content: Buffer) =>
  new Promise<Buffer>((resolve, reject) => {
    const zip = new yazl.ZipFile();
    // Stored, not deflated: the archive is as large as the text (multi-megabyte).
    zip.addBuffer(content, name, { compress: false, mtime: new Date('2026-01-01T00:00:00Z') });
    zip.end();
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });

const pad = (text: string, size: number, at: string) => {
  const i = text.lastIndexOf(at);
  return text.slice(0, i) + `<!-- ${' '.repeat(Math.max(0, size - text.length))} -->` + text.slice(i);
};

function completion(large: boolean): Buffer {
  const turn = { type: 'question', text: 'Does it happen only when braking?', confidence: 0.4, diagnosis: null };
  const json = JSON.stringify({
    id: 'chatcmpl-peer',
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: 'peer-model',
    choices: [{ index: 0, message: { role: 'assistant', content: JSON.stringify(turn) }, finish_reason: 'stop' }],
  });
  // Whitespace after a JSON value is still the same JSON.
  return Buffer.from(large ? json + ' '.repeat(LARGE.answer) : json);
}

beforeAll(async () => {
  const cftc = await startCftc();
  const fetched = async (p: string) => Buffer.from(await (await fetch(`${cftc.url}${p}`)).arrayBuffer());
  const yearly = await fetched(YEARLY);
  const weekly = await fetched(WEEKLY);
  await cftc.close();
  const { unzipText } = await import('../cftc.js');
  const yearlyLarge = await storedZip('annual.txt', Buffer.from(await unzipText(yearly)));
  expect(yearlyLarge.length).toBeGreaterThan(2_000_000);

  const html = pages.jsonld('Headphones', { price: 79.5, currency: 'USD', inStock: true });
  const notFound: Answer = { status: 404, body: Buffer.from('not found') };
  cftcPeer = await startPeer({
    answer: (req: PeerRequest, large) =>
      req.path === YEARLY
        ? { status: 200, headers: { 'Content-Type': 'application/zip' }, body: large ? yearlyLarge : yearly }
        : req.path === WEEKLY
          ? { status: 200, headers: { 'Content-Type': 'text/plain' }, body: weekly }
          : notFound,
    overCapBytes: CAPS.cot + 1024 * 1024,
    dripEveryMs: TIMEOUT_MS + 500,
  });
  shopPeer = await startPeer({
    answer: (_req, large) => ({
      status: 200,
      headers: { 'Content-Type': 'text/html; charset=utf-8' },
      body: Buffer.from(large ? pad(html, LARGE.page, '</body>') : html),
    }),
    overCapBytes: CAPS.page + 1024 * 1024,
    dripEveryMs: TIMEOUT_MS + 500,
  });
  const ok = (_req: PeerRequest, large: boolean): Answer => ({
    status: 200,
    headers: { 'Content-Type': 'text/plain' },
    body: Buffer.from(large ? 'ok'.padEnd(LARGE.answer, '.') : 'ok'),
  });
  hookPeer = await startPeer({ answer: ok, overCapBytes: 4 * 1024 * 1024, dripEveryMs: TIMEOUT_MS + 500 });
  aiPeer = await startPeer({
    answer: (_req, large) => ({
      status: 200,
      headers: { 'Content-Type': 'application/json' },
      body: completion(large),
    }),
    overCapBytes: 6 * 1024 * 1024,
    dripEveryMs: TIMEOUT_MS + 500,
  });
  // The alert path needs a well-behaved shop: the misbehaving peer is the alert's receiver.
  goodShop = await startPeer({
    answer: () => ({ status: 200, headers: { 'Content-Type': 'text/html' }, body: Buffer.from(html) }),
    overCapBytes: 0,
    dripEveryMs: 0,
  });

  const settings = {
    TEMPORAL_TASK_QUEUE: unique('peers'),
    OUTBOUND_ALLOWLIST: '127.0.0.1/32',
    CFTC_BASE_URL: cftcPeer.url,
    COT_SCHEDULE: 'off',
    COT_RETRY_ATTEMPTS: '1',
    COT_DOWNLOAD_TIMEOUT_MS: String(TIMEOUT_MS),
    COT_MAX_BYTES: String(CAPS.cot),
    MONITOR_FETCH_TIMEOUT_MS: String(TIMEOUT_MS),
    MONITOR_MAX_BYTES: String(CAPS.page),
    MONITOR_RETRY_ATTEMPTS: '1',
    BREAKER_THRESHOLD: '1000',
    WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
    WEBHOOK_RETRY_SCHEDULE_S: '0',
    AI_BASE_URL: `${aiPeer.url}/v1`,
    AI_API_KEY: 'sk-peer',
    AI_MODEL: 'peer-model',
    AI_TIMEOUT_MS: String(TIMEOUT_MS),
    DIAGNOSIS_MESSAGES_PER_MIN: '1000',
  };
  api = await startApi(settings);
  worker = await spawnWorker(settings);
  workerPid = worker.child.pid;
  db = openDb(process.env.DATABASE_URL!);
  admin = await signIn(api.url, 'admin');
  merchant = await createMerchant(api.url, admin.token);
  const endpoint = await call(api.url, 'PATCH', `/api/v1/merchants/${merchant.id}`, {
    token: admin.token,
    body: { webhook_url: `${hookPeer.url}/hooks` },
  });
  expect(endpoint.status, endpoint.text).toBe(200);
}, 240_000);

afterAll(async () => {
  await worker?.kill();
  await api?.close();
  for (const peer of [cftcPeer, shopPeer, hookPeer, aiPeer, goodShop]) await peer?.close();
  if (db) await releaseDb(db);
});

/** The worker is the process every outbound call runs in: it must still be the same one. */
function expectWorkerAlive(child: ChildProcess = worker.child) {
  expect(child.exitCode, 'worker exit code').toBeNull();
  expect(child.signalCode, 'worker signal').toBeNull();
  expect(child.pid).toBe(workerPid);
}

/** Checks the monitor now; a check that outlasts the API's wait (202) is read from the history when recorded. */
async function checkNow(id: string) {
  const res = await call(api.url, 'POST', `/api/v1/monitors/${id}/check`, { token: merchant.key });
  if (res.status === 200) return res.json;
  expect(res.status, res.text).toBe(202);
  return waitFor(
    async () => (await call(api.url, 'GET', `/api/v1/monitors/${id}/history`, { token: merchant.key })).json.checks[0],
    60_000,
    'the check to be recorded',
  );
}

const storedCotRows = async () =>
  Number((await db('cot_reports').where({ report_type: 'legacy', subtype: 'fo' }).count({ n: '*' }).first())?.n ?? 0);

describe.each(behaviours)('a peer that %s', (behaviour) => {
  it('CFTC yearly zip and weekly text file: loaded, or the unit fails with its reason; stored rows stay', async () => {
    cftcPeer.behaviour = behaviour;
    const before = await storedCotRows();
    const res = await call(api.url, 'POST', '/api/v1/cot/ingestions', {
      token: admin.token,
      body: { report_types: ['legacy'], subtypes: ['fo'], years: [YEAR], force: true },
    });
    expect(res.status, res.text).toBe(202);
    const id = res.json.ingestion.id as string;
    const run = await waitFor(
      async () => {
        const r = (await call(api.url, 'GET', `/api/v1/cot/ingestions/${id}`, { token: admin.token })).json;
        return r.status !== 'running' ? r : null;
      },
      120_000,
      'the ingestion to settle',
    );
    const units = run.units as Array<{ year: number | null; status: string; error: string | null; rows_read: number }>;
    for (const year of [YEAR, null]) {
      const unit = units.find((u) => u.year === year)!;
      expect(unit, `unit ${year ?? 'weekly'}`).toBeDefined();
      if (succeeds[behaviour]) {
        expect(unit.status, unit.error ?? '').toBe('loaded');
        expect(unit.rows_read).toBeGreaterThan(0);
      } else {
        expect(unit.status).toBe('failed');
        expect(unit.error).toMatch(/\S{3,}/);
      }
    }
    if (!succeeds[behaviour]) expect(await storedCotRows()).toBe(before);
    else expect(await storedCotRows()).toBeGreaterThanOrEqual(before);
    expectWorkerAlive();
  });

  it('shop page fetch: the price is read, or the check records why it failed; the last price stays', async () => {
    shopPeer.behaviour = 'http10-close';
    const created = await call(api.url, 'POST', '/api/v1/monitors', {
      token: merchant.key,
      body: { url: `${shopPeer.url}/p/${behaviour}`, target_price: 10, currency: 'USD', interval: 3600 },
    });
    expect(created.status, created.text).toBe(201);
    expect(await checkNow(created.json.id)).toMatchObject({ outcome: 'ok', price: 79.5 });
    shopPeer.behaviour = behaviour;
    const check = await checkNow(created.json.id);
    if (succeeds[behaviour]) {
      expect(check).toMatchObject({ outcome: 'ok', price: 79.5, currency: 'USD' });
    } else {
      expect(check.outcome).not.toBe('ok');
      expect(check.price ?? null).toBeNull();
      expect(check.error).toMatch(/\S{3,}/);
    }
    const stored = await call(api.url, 'GET', `/api/v1/monitors/${created.json.id}`, { token: merchant.key });
    expect(stored.json.last_price).toBe(79.5);
    expectWorkerAlive();
  });

  it('webhook delivery: delivered, or the attempt records why it failed', async () => {
    hookPeer.behaviour = behaviour;
    const intent = await call(api.url, 'POST', '/api/v1/payments', {
      token: merchant.key,
      headers: { 'idempotency-key': unique('peer') },
      body: { amount: 1000, currency: 'pln', order_id: unique('order'), description: `peer ${behaviour}` },
    });
    expect(intent.status, intent.text).toBe(201);
    const delivery = await waitFor(
      async () => {
        const page = await call(api.url, 'GET', `/api/v1/webhooks/history?intent_id=${intent.json.id}`, {
          token: merchant.key,
        });
        const d = page.json.data?.find((x: { event_type: string }) => x.event_type === 'payment_intent.created');
        return d && d.status !== 'pending' ? d : null;
      },
      60_000,
      'the created webhook to settle',
    );
    if (deliverySucceeds(behaviour)) expect(delivery.status, delivery.last_error ?? '').toBe('succeeded');
    else {
      expect(delivery.status).toBe('failed');
      expect(delivery.last_error).toMatch(/\S{3,}/);
    }
    expectWorkerAlive();
  });

  it('monitor alert webhook: delivered, or the attempt records why it failed', async () => {
    hookPeer.behaviour = behaviour;
    const created = await call(api.url, 'POST', '/api/v1/monitors', {
      token: merchant.key,
      body: {
        url: `${goodShop.url}/p/alert-${behaviour}`,
        target_price: 100,
        currency: 'USD',
        interval: 3600,
        notify_webhook: `${hookPeer.url}/alerts/${behaviour}`,
      },
    });
    expect(created.status, created.text).toBe(201);
    expect(await checkNow(created.json.id)).toMatchObject({ outcome: 'ok', price: 79.5 });
    const delivery = await waitFor(
      async () => {
        const d = await db('webhook_deliveries as d')
          .join('events as e', 'e.id', 'd.event_id')
          .where({ 'e.type': 'monitor.price_alert', 'e.monitor_id': created.json.id })
          .select('d.status', 'd.last_error')
          .first();
        return d && d.status !== 'pending' ? d : null;
      },
      60_000,
      'the alert webhook to settle',
    );
    if (deliverySucceeds(behaviour)) expect(delivery.status, delivery.last_error ?? '').toBe('succeeded');
    else {
      expect(delivery.status).toBe('failed');
      expect(delivery.last_error).toMatch(/\S{3,}/);
    }
    expectWorkerAlive();
  });

  it('AI provider call: the provider answers, or the built-in engine does and says why', async () => {
    aiPeer.behaviour = behaviour;
    const session = await call(api.url, 'POST', '/api/v1/diagnosis/sessions', {
      body: { vehicle: { make: 'VW', model: 'Golf', year: 2014, mileage: 180000, obd_codes: ['C0035'] } },
    });
    expect(session.status, session.text).toBe(201);
    const reply = await call(api.url, 'POST', `/api/v1/diagnosis/sessions/${session.json.id}/messages`, {
      headers: { 'x-session-token': session.json.access_token },
      body: { text: 'Grinding noise when braking' },
    });
    // A provider that fails slowly outlasts the API's wait: the reply is then read from the session.
    const model =
      reply.status === 202
        ? await waitFor(
            async () =>
              (
                await call(api.url, 'GET', `/api/v1/diagnosis/sessions/${session.json.id}`, {
                  headers: { 'x-session-token': session.json.access_token },
                })
              ).json.messages?.find((m: { role: string }) => m.role === 'assistant')?.model,
            120_000,
            'the reply',
          )
        : reply.json.model;
    expect([200, 202], reply.text).toContain(reply.status);
    if (succeeds[behaviour]) expect(model).toMatch(/^peer-model\b/);
    else expect(model).toMatch(/^built-in \(fallback: \S.+\)$/);
    expectWorkerAlive();
  });
});
