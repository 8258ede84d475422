/**
 * Monitors checked by their task queue's dispatcher (due times in PostgreSQL, claimed in batches): pause, resume and
 * delete take effect within one interval, each slot of a monitor's grid is checked once, the host gate keeps its
 * concurrency and spacing, batched recordings alert once per crossing, and monitors from before dispatchers are
 * taken over from their old Schedules. Short intervals (4 s) and dispatcher windows (5 s) keep it quick.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ScheduleNotFoundError } from '@temporalio/client';
import knexFactory from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, releaseDb, type Knex } from '../db/knex.js';
import { migrationSource } from '../db/migrations/index.js';
import { recordPriceChecks } from '../db/monitors.js';
import { adoptLegacyMonitors } from '../workers/worker.js';
import { monitorDispatchScheduleId, monitorScheduleId } from '../workflows/contracts/monitors.js';
import { call, createMerchant, signIn, startStack } from './helpers.js';
import { waitFor } from './receiver.js';
import { startShop } from './shop.js';

const INTERVAL_S = 4;
const settings = {
  OUTBOUND_ALLOWLIST: '127.0.0.1/32',
  MONITOR_MIN_INTERVAL_S: '2',
  MONITOR_DISPATCH_WINDOW_S: '5',
  MONITOR_RETRY_INITIAL_MS: '100',
  MONITOR_RETRY_ATTEMPTS: '2',
  MONITOR_FETCH_TIMEOUT_MS: '1500',
  MONITOR_HOST_CONCURRENCY: '2',
  MONITOR_HOST_DELAY_MS: '200',
};

let stack: Awaited<ReturnType<typeof startStack>>;
let shop: Awaited<ReturnType<typeof startShop>>;
let merchant: Awaited<ReturnType<typeof createMerchant>>;
let db: Knex;
const url = () => stack.api.url;
const queue = () => stack.settings.TEMPORAL_TASK_QUEUE;

beforeAll(async () => {
  stack = await startStack(settings);
  shop = await startShop();
  const admin = await signIn(url(), 'admin');
  merchant = await createMerchant(url(), admin.token);
  db = openDb(process.env.DATABASE_URL!);
});
afterAll(async () => {
  await stack?.close();
  await shop?.close();
  if (db) await releaseDb(db);
});

let skus = 0;
const sku = () => `dispatch${++skus}-${Date.now().toString(36)}`;

async function monitor(pageUrl: string, extra: Record<string, unknown> = {}) {
  const res = await call(url(), 'POST', '/api/v1/monitors', {
    token: merchant.key,
    body: { url: pageUrl, target_price: 50, currency: 'USD', interval: INTERVAL_S, ...extra },
  });
  expect(res.status, res.text).toBe(201);
  return res.json as { id: string };
}

interface Check {
  scheduled_at: string;
  checked_at: string;
  outcome: string;
  workflow_id: string;
  temporal_url: string;
}
const history = async (id: string): Promise<Check[]> =>
  (await call(url(), 'GET', `/api/v1/monitors/${id}/history`, { token: merchant.key })).json.checks;
const patch = (id: string, body: Record<string, unknown>) =>
  call(url(), 'PATCH', `/api/v1/monitors/${id}`, { token: merchant.key, body });

describe('the dispatcher', () => {
  it('checks each slot of the grid once; pause and delete stop the checks within one interval, resume restarts them', async () => {
    const paths = Array.from({ length: 6 }, () => `/jsonld/${sku()}`);
    const ms: { id: string }[] = [];
    for (const path of paths) ms.push(await monitor(shop.product(path.split('/')[2], 'jsonld')));
    await waitFor(
      async () => (await Promise.all(ms.map((m) => history(m.id)))).every((h) => h.length >= 2),
      30_000,
      'two checks of every monitor',
    );
    const [paused, deleted, kept] = [ms.slice(0, 2), ms.slice(2, 4), ms.slice(4)];
    const stoppedAt = Date.now();
    for (const m of paused) expect((await patch(m.id, { paused: true })).json.paused).toBe(true);
    for (const m of deleted)
      expect((await call(url(), 'DELETE', `/api/v1/monitors/${m.id}`, { token: merchant.key })).status).toBe(204);
    const hitsAfterOneInterval = async () => {
      await new Promise((r) => setTimeout(r, stoppedAt + INTERVAL_S * 1000 - Date.now()));
      return paths.slice(0, 4).map((p) => shop.hits(p));
    };
    const hits = await hitsAfterOneInterval();
    const keptBefore = await Promise.all(kept.map((m) => history(m.id)));
    await new Promise((r) => setTimeout(r, 3 * INTERVAL_S * 1000));

    // Nothing reached the shop for a paused or deleted monitor after one interval, and nothing more was recorded.
    expect(paths.slice(0, 4).map((p) => shop.hits(p))).toEqual(hits);
    for (const m of [...paused, ...deleted])
      for (const c of await history(m.id)) expect(Date.parse(c.checked_at)).toBeLessThan(stoppedAt + INTERVAL_S * 1000);
    expect((await call(url(), 'GET', `/api/v1/monitors/${deleted[0].id}`, { token: merchant.key })).status).toBe(404);
    expect((await history(deleted[0].id)).length).toBeGreaterThanOrEqual(2);
    // The others went on: three more slots each.
    for (const [i, m] of kept.entries())
      expect((await history(m.id)).length).toBeGreaterThanOrEqual(keptBefore[i].length + 2);

    // Every check of every monitor: its own slot, one interval after the one before, checked soon after it.
    for (const m of ms) {
      const checks = await history(m.id);
      const slots = checks.map((c) => Date.parse(c.scheduled_at));
      expect(slots.slice(1).map((s, i) => s - slots[i])).toEqual(slots.slice(1).map(() => INTERVAL_S * 1000));
      for (const c of checks) {
        expect(c.outcome).toBe('ok');
        expect(Date.parse(c.checked_at) - Date.parse(c.scheduled_at)).toBeLessThan(INTERVAL_S * 1000);
        expect(c.workflow_id.startsWith(`${monitorDispatchScheduleId(queue())}-`)).toBe(true);
        expect(c.temporal_url).toContain(`/workflows/${encodeURIComponent(c.workflow_id)}/`);
      }
    }

    // Resumed: due again within one interval.
    const resumedAt = Date.now();
    const resumed = (await patch(paused[0].id, { paused: false })).json;
    expect(Date.parse(resumed.next_check_at) - resumedAt).toBeLessThanOrEqual(INTERVAL_S * 1000);
    const before = (await history(paused[0].id)).length;
    await waitFor(
      async () => (await history(paused[0].id)).length > before,
      INTERVAL_S * 1000 + 5000,
      'a check after resuming',
    );
  });

  it('re-timed, a monitor follows its new interval', async () => {
    const m = await monitor(shop.product(sku(), 'jsonld'), { interval: 3600 });
    const retimedAt = Date.now();
    const changed = (await patch(m.id, { interval: 2 })).json;
    expect(Date.parse(changed.next_check_at) - retimedAt).toBeLessThanOrEqual(2000);
    await waitFor(async () => (await history(m.id)).length >= 3, 15_000, 'three checks two seconds apart');
    const slots = (await history(m.id)).map((c) => Date.parse(c.scheduled_at));
    expect(slots[2] - slots[1]).toBe(2000);
    await patch(m.id, { paused: true });
  });

  it('keeps to the host gate: at most MONITOR_HOST_CONCURRENCY requests at once, MONITOR_HOST_DELAY_MS apart', async () => {
    const starts: number[] = [];
    let inFlight = 0;
    let most = 0;
    const page = `<html><head><script type="application/ld+json">${JSON.stringify({
      '@type': 'Product',
      offers: { '@type': 'Offer', price: '70.00', priceCurrency: 'USD' },
    })}</script></head></html>`;
    const slowShop: Server = createServer((req, res) => {
      starts.push(Date.now());
      most = Math.max(most, ++inFlight);
      setTimeout(() => {
        inFlight--;
        res.writeHead(200, { 'content-type': 'text/html' }).end(page);
      }, 300);
    });
    await new Promise<void>((r) => slowShop.listen(0, '127.0.0.1', r));
    try {
      const base = `http://127.0.0.1:${(slowShop.address() as AddressInfo).port}`;
      const ms: { id: string }[] = [];
      for (let i = 0; i < 6; i++) ms.push(await monitor(`${base}/p/${i}`, { interval: 3600 }));
      // All due at the same moment.
      await db('monitors')
        .whereIn(
          'id',
          ms.map((m) => m.id),
        )
        .update({ next_check_at: new Date(Date.now() + 1000) });
      await waitFor(
        async () => (await Promise.all(ms.map((m) => history(m.id)))).every((h) => h.length === 1),
        20_000,
        'one check of each',
      );
      expect(starts).toHaveLength(6);
      expect(most).toBe(2);
      const gaps = starts.slice(1).map((t, i) => t - starts[i]);
      // Measured where they arrive, a few ms of scheduling either way.
      for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(160);
      for (const m of ms) expect((await history(m.id))[0].outcome).toBe('ok');
    } finally {
      await new Promise((r) => slowShop.close(r));
    }
  });
});

describe('recording checks in batches', () => {
  it('applies a monitor’s checks in order: one alert per crossing, and a retried batch changes nothing', async () => {
    const m = await monitor(shop.product(sku(), 'jsonld'), { interval: 3600, target_price: 80 });
    const run = { workflowId: 'test-run', runId: '00000000-0000-4000-8000-000000000000' };
    const batch = [100, 79, 75, 90, 70].map((price, i) => ({
      monitorId: m.id,
      checkId: `${m.id}-batch-${i}`,
      scheduledAt: new Date().toISOString(),
      ...run,
      result: { outcome: 'ok' as const, price, currency: 'USD', attempts: 1 },
    }));
    const first = await recordPriceChecks(db, batch);
    expect(first.map((r) => r?.alert?.price ?? null)).toEqual([null, 79, null, null, 70]);
    const again = await recordPriceChecks(db, batch);
    expect(again.map((r) => r?.alert)).toEqual([null, null, null, null, null]);
    const detail = (await call(url(), 'GET', `/api/v1/monitors/${m.id}`, { token: merchant.key })).json;
    expect(detail).toMatchObject({ last_price: 70, below_target: true, last_outcome: 'ok' });
    expect(detail.alerts.map((a: { price: number }) => a.price)).toEqual([70, 79]);
    expect((await history(m.id)).map((c) => c.workflow_id)).toEqual(batch.map(() => 'test-run'));
    await patch(m.id, { paused: true });
  });
});

describe('monitors from before dispatchers', () => {
  it('are taken over once: their old Schedule removed, then their task queue set', async () => {
    const client = stack.api.deps.temporal.client;
    const [withSchedule, without] = [
      await monitor(shop.product(sku(), 'jsonld'), { interval: 3600 }),
      await monitor(shop.product(sku(), 'jsonld'), { interval: 3600 }),
    ];
    await db('monitors').whereIn('id', [withSchedule.id, without.id]).update({ task_queue: null });
    await client.schedule.create({
      scheduleId: monitorScheduleId(withSchedule.id),
      spec: { intervals: [{ every: '1 hour' }] },
      action: { type: 'startWorkflow', workflowType: 'priceCheckWorkflow', taskQueue: queue(), args: [] },
      state: { paused: true },
    });
    const otherQueue = `${queue()}-upgraded`;
    expect(await adoptLegacyMonitors(client, db, otherQueue)).toBeGreaterThanOrEqual(2);
    await expect(client.schedule.getHandle(monitorScheduleId(withSchedule.id)).describe()).rejects.toBeInstanceOf(
      ScheduleNotFoundError,
    );
    expect(
      await db('monitors').whereIn('id', [withSchedule.id, without.id]).orderBy('task_queue').pluck('task_queue'),
    ).toEqual([otherQueue, otherQueue]);
    expect(await adoptLegacyMonitors(client, db, otherQueue)).toBe(0);
    await db('monitors').whereIn('id', [withSchedule.id, without.id]).update({ paused: true });
  });

  it('get a due time from the migration: their cadence where it still holds, else within one interval', async () => {
    const name = `meridian_monitor_due_${Date.now()}`;
    await db.raw(`CREATE DATABASE ${name}`);
    const target = new URL(process.env.DATABASE_URL!);
    target.pathname = `/${name}`;
    const old = knexFactory({ client: 'pg', connection: target.toString(), pool: { min: 0, max: 1 } });
    try {
      const before: typeof migrationSource = {
        ...migrationSource,
        getMigrations: async (extensions) =>
          (await migrationSource.getMigrations(extensions)).filter((m) => m < '20261130000040'),
      };
      await old.migrate.latest({ migrationSource: before });
      const [user] = await old('users').insert({ email: 'o@test.local', password_hash: 'x', role: 'operator' }, 'id');
      const now = Date.now();
      const row = (lastCheckedAgoS: number | null) => ({
        user_id: user.id,
        url: 'https://shop.example/p',
        target_price: 10,
        currency: 'USD',
        interval_s: 60,
        last_checked_at: lastCheckedAgoS === null ? null : new Date(now - lastCheckedAgoS * 1000),
      });
      const [recent, overdue, never] = await old('monitors').insert([row(20), row(7200), row(null)], 'id');
      await old('price_checks').insert({ monitor_id: recent.id, check_id: 'price-check-old-run', outcome: 'ok' });
      await old.migrate.latest({ migrationSource });

      const due = async (id: string) =>
        new Date((await old('monitors').where({ id }).first('next_check_at')).next_check_at).getTime();
      expect(Math.abs((await due(recent.id)) - (now + 40_000))).toBeLessThan(1000);
      for (const id of [overdue.id, never.id]) {
        expect(await due(id)).toBeGreaterThanOrEqual(now - 1000);
        expect(await due(id)).toBeLessThanOrEqual(Date.now() + 60_000);
      }
      expect(await old('monitors').whereNotNull('task_queue').count('* as n').first()).toEqual({ n: '0' });
      expect(await old('price_checks').first('workflow_id', 'run_id')).toEqual({
        workflow_id: 'price-check-old-run',
        run_id: null,
      });
    } finally {
      await old.destroy();
      await db.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  });
});
