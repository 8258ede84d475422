/**
 * 500 price monitors at a 60 s interval, checked for 3 minutes by the dispatcher (two lanes sharing the due
 * monitors) while its worker is killed (SIGKILL) somewhere in the middle and started again: every monitor is checked
 * once per slot of its grid — none twice, none skipped — and no check comes an interval late.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, releaseDb, type Knex } from '../../db/knex.js';
import { runPool } from '../../bench/harness.js';
import { call, createMerchant, signIn, unique } from '../helpers.js';
import { waitFor } from '../receiver.js';
import { startShop } from '../shop.js';
import { apiWithWorkerProcess, pause, somewhere } from './processes.js';

const N = 500;
const INTERVAL_MS = 60_000;
const WINDOW_MS = 3 * INTERVAL_MS;

let shop: Awaited<ReturnType<typeof startShop>>;
let db: Knex;

beforeAll(async () => {
  shop = await startShop();
  db = openDb(process.env.DATABASE_URL!);
});
// Declared before the stack: hooks after run in reverse, so the worker and the API stop before these close.
afterAll(async () => {
  await shop?.close();
  if (db) await releaseDb(db);
});
const stack = apiWithWorkerProcess(() => ({
  TEMPORAL_TASK_QUEUE: unique('faults-monitors'),
  OUTBOUND_ALLOWLIST: '127.0.0.1/32',
  MONITOR_DISPATCH_LANES: '2',
}));

describe('a dispatcher’s worker killed mid-way', () => {
  it('500 one-minute monitors for three minutes: each slot checked once, none skipped, none late by an interval', async () => {
    const { api } = stack;
    const admin = await signIn(api.url, 'admin');
    const merchant = await createMerchant(api.url, admin.token);
    const ids: string[] = [];
    await runPool(N, 10, async (i) => {
      const res = await call(api.url, 'POST', '/api/v1/monitors', {
        token: merchant.key,
        body: { url: shop.product(unique(`restart${i}`), 'jsonld'), target_price: 50, currency: 'USD', interval: 60 },
      });
      expect(res.status, res.text).toBe(201);
      ids.push(res.json.id);
    });
    // Each monitor is first due in the second half of its first interval: after `from`, as long as creating them all
    // took less than half an interval. So (from, from + 3 intervals] holds exactly three slots of every grid.
    const from = Date.now();
    const created = await db('monitors').whereIn('id', ids).min('created_at as first').first();
    expect(from - new Date(created!.first).getTime()).toBeLessThan(INTERVAL_MS / 2);

    await pause(from + somewhere(INTERVAL_MS, 1.8 * INTERVAL_MS) - Date.now());
    const held = await db('monitors').whereIn('id', ids).whereNotNull('claimed_by').count('* as n').first();
    await stack.killWorker();
    await pause(somewhere(500, 3000));
    await stack.startWorker();
    console.log(`[faults] worker killed ${Math.round((Date.now() - from) / 1000)} s in, holding ${held!.n} claims`);

    const to = from + WINDOW_MS;
    const inWindow = () =>
      db('price_checks')
        .whereIn('monitor_id', ids)
        .where('scheduled_at', '>', new Date(from))
        .where('scheduled_at', '<=', new Date(to));
    await pause(to - Date.now());
    // The last slots' checks, recorded within an interval (the assertions below tell what is missing, if anything).
    await waitFor(
      async () =>
        Number((await inWindow().clone().count('* as n').first())!.n) >= 3 * N || Date.now() > to + INTERVAL_MS,
      2 * INTERVAL_MS,
    );
    const checks: { monitor_id: string; scheduled_at: Date; checked_at: Date; outcome: string }[] = await inWindow()
      .clone()
      .select('monitor_id', 'scheduled_at', 'checked_at', 'outcome')
      .orderBy('scheduled_at');
    const byMonitor = new Map<string, number[]>(ids.map((id) => [id, []]));
    for (const c of checks) byMonitor.get(c.monitor_id)!.push(new Date(c.scheduled_at).getTime());
    const wrong = [...byMonitor].filter(
      ([, slots]) => slots.length !== 3 || slots[1] - slots[0] !== INTERVAL_MS || slots[2] - slots[1] !== INTERVAL_MS,
    );
    expect(wrong.slice(0, 5)).toEqual([]);
    const lags = checks.map((c) => new Date(c.checked_at).getTime() - new Date(c.scheduled_at).getTime());
    console.log(`[faults] ${checks.length} checks, lag max ${Math.max(...lags)} ms`);
    expect(Math.max(...lags)).toBeLessThan(INTERVAL_MS);
    expect(checks.filter((c) => c.outcome !== 'ok')).toEqual([]);
  });
});
