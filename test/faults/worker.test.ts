/**
 * The worker is killed (SIGKILL) at random moments while payments are processed, webhooks delivered,
 * a COT ingestion loads and bookings are made and confirmed, then started again. Every process must
 * still complete, exactly once where it matters.
 */
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, releaseDb, type Knex } from '../../db/knex.js';
import { startCftc } from '../cftc.js';
import { call, createMerchant, createWorkshop, signIn, unique } from '../helpers.js';
import { startReceiver, waitFor } from '../receiver.js';
import { apiWithWorkerProcess, pause, somewhere } from './processes.js';

let cftc: Awaited<ReturnType<typeof startCftc>>;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let db: Knex;

beforeAll(async () => {
  cftc = await startCftc();
  receiver = await startReceiver();
  db = openDb(process.env.DATABASE_URL!);
});
// Declared before the stack: hooks after run in reverse, so the worker and the API stop before these close.
afterAll(async () => {
  await receiver?.close();
  await cftc?.close();
  if (db) await releaseDb(db);
});
const stack = apiWithWorkerProcess(() => ({
  TEMPORAL_TASK_QUEUE: unique('faults'),
  OUTBOUND_ALLOWLIST: '127.0.0.1/32',
  CFTC_BASE_URL: cftc.url,
  COT_SCHEDULE: 'off',
  COT_RETRY_INITIAL_MS: '200',
  WEBHOOK_RETRY_SCHEDULE_S: '0,1,1,2,3,5,8',
  // A request reaching a killed worker's workflow task waits for that task's 10 s timeout, past the default
  // WORKFLOW_WAIT_MS (then 202). This test is about exactly-once under kills, so it waits the requests out; the
  // bound itself is tested in noWorker.test.ts.
  WORKFLOW_WAIT_MS: '120000',
}));

describe('a worker killed at random points', () => {
  it('payments, deliveries, an ingestion and bookings all complete; outcomes and log rows exactly once', async () => {
    const { api } = stack;
    const admin = await signIn(api.url, 'admin');
    const merchant = await createMerchant(api.url, admin.token);
    await call(api.url, 'PATCH', `/api/v1/merchants/${merchant.id}`, {
      token: admin.token,
      body: { webhook_url: receiver.url },
    });
    const shop = await createWorkshop(api.url, admin.token, { mechanics: 2 });

    // Faults land while the work is under way: kill, stay down a moment, start again, four times.
    let faults = 0;
    const chaos = (async () => {
      for (let i = 0; i < 4; i++) {
        await pause(somewhere(800, 2500));
        await stack.killWorker();
        faults++;
        await pause(somewhere(200, 1500));
        await stack.startWorker();
      }
    })();

    const ingestion = await call(api.url, 'POST', '/api/v1/cot/ingestions', {
      token: admin.token,
      body: { report_types: ['tff'], subtypes: ['fo'], years: [2017, 2018, 2019, 2020], force: true },
    });
    expect(ingestion.status, ingestion.text).toBe(202);

    const intents: { id: string; outcome: 'succeeded' | 'failed' }[] = [];
    const payments = (async () => {
      for (let i = 0; i < 16; i++) {
        const created = await call(api.url, 'POST', '/api/v1/payments', {
          token: merchant.key,
          body: { amount: 1000 + i, currency: 'eur', order_id: unique('order') },
          headers: { 'idempotency-key': unique('k') },
        });
        expect(created.status, created.text).toBe(201);
        const outcome = i % 3 === 0 ? 'failed' : 'succeeded';
        intents.push({ id: created.json.id, outcome });
        // Submitted twice, as a double-clicking payer would: one outcome all the same.
        const [a, b] = await Promise.all(
          [0, 1].map(() =>
            call(api.url, 'POST', `/api/v1/payments/${created.json.payment_token}/process`, { body: { outcome } }),
          ),
        );
        expect([a.status, b.status], a.text + b.text).toEqual([200, 200]);
        await pause(somewhere(50, 300));
      }
    })();

    const day = DateTime.now().setZone('Europe/Kyiv').plus({ days: 3 }).toISODate()!;
    const appointments: string[] = [];
    const bookings = (async () => {
      for (let hour = 9; hour < 15; hour++) {
        const start = DateTime.fromISO(`${day}T${String(hour).padStart(2, '0')}:00`, { zone: 'Europe/Kyiv' })
          .toUTC()
          .toISO()!;
        const held = await call(api.url, 'POST', '/api/v1/appointments', {
          body: {
            workshop_id: shop.id,
            service_id: shop.serviceId,
            start,
            customer: { name: 'Olena', email: 'olena@example.com' },
            vehicle: { make: 'Skoda', model: 'Fabia', year: 2019 },
          },
        });
        expect(held.status, held.text).toBe(201);
        appointments.push(held.json.id);
        const confirmed = await call(api.url, 'POST', `/api/v1/appointments/${held.json.id}/confirm`, {
          headers: { 'x-appointment-token': held.json.access_token },
        });
        expect(confirmed.status, confirmed.text).toBe(200);
        await pause(somewhere(100, 600));
      }
    })();

    await Promise.all([payments, bookings, chaos]);
    expect(faults).toBe(4);

    // Payments: the outcome asked for, and each state entered once in the log.
    for (const intent of intents) {
      const res = await call(api.url, 'GET', `/api/v1/payments/${intent.id}`, { token: merchant.key });
      expect(res.json.status).toBe(intent.outcome);
    }
    const log = await db('payment_transactions')
      .whereIn(
        'intent_id',
        intents.map((i) => i.id),
      )
      .select('intent_id', 'to_status');
    for (const intent of intents) {
      const states = log.filter((r) => r.intent_id === intent.id).map((r) => r.to_status);
      expect(new Set(states).size, `${intent.id}: ${states}`).toBe(states.length);
      expect(states).toEqual(expect.arrayContaining(['processing', intent.outcome]));
    }

    // Webhooks: every event delivered at least once; duplicates share their webhook-id, so receivers can drop them.
    const events = await db('events')
      .whereIn(
        'intent_id',
        intents.map((i) => i.id),
      )
      .select('id');
    expect(events.length).toBeGreaterThanOrEqual(intents.length * 3);
    await waitFor(
      async () =>
        (
          await db('webhook_deliveries')
            .whereIn(
              'event_id',
              events.map((e) => e.id),
            )
            .where({ status: 'succeeded' })
            .count<{ count: string }[]>('* as count')
        )[0].count === String(events.length),
      60_000,
      'every delivery to succeed',
    );
    const received = new Set(receiver.received.map((r) => r.headers['webhook-id']));
    for (const e of events) expect(received.has(e.id), e.id).toBe(true);

    // The ingestion finished every file, each loaded once (a killed load rolled back and ran again).
    const run = await waitFor(
      async () => {
        const r = (
          await call(api.url, 'GET', `/api/v1/cot/ingestions/${ingestion.json.ingestion.id}`, { token: admin.token })
        ).json;
        return r.status !== 'running' && r;
      },
      120_000,
      'the ingestion to finish',
    );
    expect(run.status).toBe('succeeded');
    const yearly = run.units.filter((u: any) => u.year !== null).sort((a: any, b: any) => a.year - b.year);
    expect(yearly.map((u: any) => [u.year, u.status, u.rows_read])).toEqual(
      [2017, 2018, 2019, 2020].map((y) => [y, 'loaded', cftc.records(`/files/dea/history/fut_fin_txt_${y}.zip`)]),
    );

    // Bookings: every hold confirmed, one appointment per slot.
    const rows = await db('appointments').whereIn('id', appointments).select('status', 'starts_at');
    expect(rows.map((r) => r.status)).toEqual(appointments.map(() => 'confirmed'));
    expect(new Set(rows.map((r) => new Date(r.starts_at).toISOString())).size).toBe(appointments.length);
  });
});
