/**
 * Redis, then PostgreSQL, stop for a while under a running API and worker (services of this file's
 * own, started again on the same port and data): the API answers 503 quickly and says why, readiness
 * names what is down, and afterwards everything accepted before the outage completes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchDatabase } from '../../db/knex.js';
import { freePort, startPostgres, startRedis } from '../../scripts/services.js';
import { call, createMerchant, signIn, startStack, unique } from '../helpers.js';
import { startReceiver, waitFor } from '../receiver.js';
import { pause } from './processes.js';

const dataDir = mkdtempSync(path.join(tmpdir(), 'meridian-faults-deps-'));
const serviceOptions = { dataDir, persistent: true, log: () => {} };
let ports: { redis: number; postgres: number };
let redis: Awaited<ReturnType<typeof startRedis>>;
let postgres: Awaited<ReturnType<typeof startPostgres>>;
let stack: Awaited<ReturnType<typeof startStack>>;
let receiver: Awaited<ReturnType<typeof startReceiver>>;

beforeAll(async () => {
  ports = { redis: await freePort(), postgres: await freePort() };
  redis = await startRedis(serviceOptions, ports.redis);
  postgres = await startPostgres(serviceOptions, ports.postgres);
  const database = await createScratchDatabase(postgres.url, 'meridian_faults');
  receiver = await startReceiver();
  stack = await startStack({
    DATABASE_URL: database.url,
    REDIS_URL: redis.url,
    OUTBOUND_ALLOWLIST: '127.0.0.1/32',
    WEBHOOK_RETRY_SCHEDULE_S: '0,1,2,3,5,8,13',
  });
});
afterAll(async () => {
  await stack?.close();
  await receiver?.close();
  await redis?.stop();
  await postgres?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** A request that must not hang: answered within a few seconds whatever is down. */
async function quickly(method: string, route: string, opts: Parameters<typeof call>[3] = {}) {
  const started = Date.now();
  const res = await call(stack.api.url, method, route, opts);
  expect(Date.now() - started, `${method} ${route} took too long`).toBeLessThan(8_000);
  return res;
}

describe('dependencies going away', () => {
  it('answers 503 naming Redis, then PostgreSQL, while they are down, and loses nothing accepted', async () => {
    const url = stack.api.url;
    const admin = await signIn(url, 'admin');
    const merchant = await createMerchant(url, admin.token);
    await call(url, 'PATCH', `/api/v1/merchants/${merchant.id}`, {
      token: admin.token,
      body: { webhook_url: receiver.url },
    });
    const create = () =>
      call(url, 'POST', '/api/v1/payments', {
        token: merchant.key,
        body: { amount: 700, currency: 'usd', order_id: unique('order') },
      });

    // Redis down: the rate limiter (every /api request) cannot count, so the API says so instead of guessing.
    const beforeRedis = await create();
    expect(beforeRedis.status).toBe(201);
    await redis.stop();
    const noRedis = await quickly('GET', '/api/v1/payments', { token: merchant.key });
    expect(noRedis.status).toBe(503);
    expect(noRedis.json.error.code).toBe('dependency_unavailable');
    const readyNoRedis = await quickly('GET', '/readyz');
    expect(readyNoRedis.status).toBe(503);
    expect(readyNoRedis.json.error.details.checks).toMatchObject({
      redis: { status: 'down' },
      postgres: { status: 'ok' },
    });
    await pause(1500);
    redis = await startRedis(serviceOptions, ports.redis);
    await waitFor(async () => (await call(url, 'GET', '/readyz')).status === 200, 20_000, 'Redis to be back');
    expect((await call(url, 'GET', '/api/v1/payments', { token: merchant.key })).status).toBe(200);

    // PostgreSQL down: intents accepted just before wait for it, requests meanwhile are refused cleanly.
    const accepted = [beforeRedis.json];
    for (let i = 0; i < 3; i++) accepted.push((await create()).json);
    await postgres.stop();
    const noDb = await quickly('GET', '/api/v1/payments', { token: merchant.key });
    expect(noDb.status).toBe(503);
    expect(noDb.json.error.code).toBe('dependency_unavailable');
    const refused = await quickly('POST', '/api/v1/payments', {
      token: merchant.key,
      body: { amount: 1, currency: 'usd', order_id: unique('order') },
    });
    expect(refused.status).toBe(503);
    const readyNoDb = await quickly('GET', '/readyz');
    expect(readyNoDb.json.error.details.checks).toMatchObject({
      postgres: { status: 'down' },
      redis: { status: 'ok' },
    });
    await pause(3000);
    postgres = await startPostgres(serviceOptions, ports.postgres);
    await waitFor(async () => (await call(url, 'GET', '/readyz')).status === 200, 30_000, 'PostgreSQL to be back');

    for (const intent of accepted) {
      const paid = await call(url, 'POST', `/api/v1/payments/${intent.payment_token}/process`, {
        body: { outcome: 'succeeded' },
      });
      expect(paid.status, paid.text).toBe(200);
      expect(paid.json.status).toBe('succeeded');
    }
    const list = await call(url, 'GET', '/api/v1/payments?limit=100', { token: merchant.key });
    expect(list.json.data.map((p: { id: string }) => p.id).sort()).toEqual(accepted.map((p) => p.id).sort());
    // Created-events whose delivery the outage interrupted arrive too: every intent's three events.
    await waitFor(
      () => new Set(receiver.received.map((r) => r.headers['webhook-id'])).size >= accepted.length * 3,
      60_000,
      'every webhook',
    );
  });
});

/** The intent's one delivery, once it succeeded, with every attempt. */
async function deliveredOnce(url: string, key: string, intentId: string) {
  const delivered = await waitFor(
    async () => {
      const history = (await call(url, 'GET', `/api/v1/webhooks/history?intent_id=${intentId}`, { token: key })).json
        .data;
      return history?.[0]?.status === 'succeeded' && history[0];
    },
    30_000,
    'the delivery to succeed',
  );
  return (await call(url, 'GET', `/api/v1/webhooks/${delivered.id}`, { token: key })).json;
}

describe('webhook receivers misbehaving', () => {
  it('one down for longer than the first retries gets every event once it recovers, on the schedule', async () => {
    const url = stack.api.url;
    const admin = await signIn(url, 'admin');
    const down = await startReceiver();
    down.setFallback(503);
    const merchant = await createMerchant(url, admin.token);
    await call(url, 'PATCH', `/api/v1/merchants/${merchant.id}`, {
      token: admin.token,
      body: { webhook_url: down.url },
    });
    try {
      const created = await call(url, 'POST', '/api/v1/payments', {
        token: merchant.key,
        body: { amount: 900, currency: 'usd', order_id: unique('order') },
      });
      // Three attempts (at 0, 1 and 3 s) fail before the receiver recovers, in time for the fourth (6 s).
      await waitFor(() => down.received.length >= 3, 20_000, 'three failed attempts');
      down.setFallback(200);
      const detail = await deliveredOnce(url, merchant.key, created.json.id);
      const codes = detail.attempts_log.map((a: { status_code: number | null }) => a.status_code);
      expect(codes.slice(0, 3)).toEqual([503, 503, 503]);
      expect(codes.at(-1)).toBe(200);
      const gaps = down.received.slice(1).map((r, i) => (r.at - down.received[i].at) / 1000);
      // The schedule is 0, 1, 2, 3 s between attempts (±10 %), plus the attempts' own time.
      expect(gaps[0]).toBeGreaterThan(0.85);
      expect(gaps[1]).toBeGreaterThan(1.7);
      expect(new Set(down.received.map((r) => r.headers['webhook-id'])).size).toBe(1);
    } finally {
      await down.close();
    }
  });

  it('one slower than the attempt timeout is retried and counted delivered once', async () => {
    const slowStack = await startStack({
      ...stack.settings,
      TEMPORAL_TASK_QUEUE: unique('slow'),
      WEBHOOK_TIMEOUT_MS: '1000',
    });
    const slow = await startReceiver();
    slow.script.push({ status: 200, delayMs: 2500 });
    try {
      const url = slowStack.api.url;
      const admin = await signIn(url, 'admin');
      const merchant = await createMerchant(url, admin.token);
      await call(url, 'PATCH', `/api/v1/merchants/${merchant.id}`, {
        token: admin.token,
        body: { webhook_url: slow.url },
      });
      const created = await call(url, 'POST', '/api/v1/payments', {
        token: merchant.key,
        body: { amount: 950, currency: 'usd', order_id: unique('order') },
      });
      const detail = await deliveredOnce(url, merchant.key, created.json.id);
      expect(detail.attempts_log).toHaveLength(2);
      expect(detail.attempts_log[0].error).toMatch(/tim/i);
      expect(detail.attempts_log[1].status_code).toBe(200);
      // The receiver saw the event twice (the slow answer came too late to count), under one webhook-id.
      expect(slow.received).toHaveLength(2);
      expect(new Set(slow.received.map((r) => r.headers['webhook-id'])).size).toBe(1);
    } finally {
      await slowStack.close();
      await slow.close();
    }
  });
});
