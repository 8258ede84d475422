import { ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monitorScheduleId } from '../workflows/contracts/monitors.js';
import { call, createMerchant, signIn, startStack } from './helpers.js';
import { startReceiver, waitFor } from './receiver.js';
import { startShop } from './shop.js';

// Quick retries (100 ms, doubled, 3 attempts), a 1.5 s fetch deadline and a breaker that opens after
// 3 failures for 2 s keep these tests short; production defaults are in lib/config.ts.
const settings = {
  OUTBOUND_ALLOWLIST: '127.0.0.1/32',
  MONITOR_RETRY_INITIAL_MS: '100',
  MONITOR_RETRY_ATTEMPTS: '3',
  MONITOR_FETCH_TIMEOUT_MS: '1500',
  BREAKER_THRESHOLD: '3',
  BREAKER_COOLDOWN_S: '2',
  WEBHOOK_RETRY_SCHEDULE_S: '0,1',
};

let stack: Awaited<ReturnType<typeof startStack>>;
let shop: Awaited<ReturnType<typeof startShop>>;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let admin: Awaited<ReturnType<typeof signIn>>;
let merchant: Awaited<ReturnType<typeof createMerchant>>;
const url = () => stack.api.url;

beforeAll(async () => {
  stack = await startStack(settings);
  shop = await startShop();
  receiver = await startReceiver();
  admin = await signIn(url(), 'admin');
  merchant = await createMerchant(url(), admin.token);
});
afterAll(async () => {
  await stack?.close();
  await shop?.close();
  await receiver?.close();
});

let skus = 0;
const sku = () => `sku${++skus}-${Date.now().toString(36)}`;
const schedules = () => stack.api.deps.temporal.client.schedule;

async function monitor(pageUrl: string, extra: Record<string, unknown> = {}, token = merchant.key) {
  const res = await call(url(), 'POST', '/api/v1/monitors', {
    token,
    body: { url: pageUrl, target_price: 80, currency: 'USD', interval: 3600, ...extra },
  });
  expect(res.status, res.text).toBe(201);
  return res.json as { id: string };
}
const checkNow = async (id: string, token = merchant.key) => {
  const res = await call(url(), 'POST', `/api/v1/monitors/${id}/check`, { token });
  expect(res.status, res.text).toBe(200);
  return res.json;
};

describe('monitor lifecycle', () => {
  it('is a Temporal Schedule: created with SKIP overlap, paused and resumed, re-timed, deleted while history stays', async () => {
    const m = await monitor(shop.product(sku(), 'jsonld'), { interval: 60 });
    const handle = schedules().getHandle(monitorScheduleId(m.id));
    let described = await handle.describe();
    expect(described.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
    expect(described.spec.intervals?.[0].every).toBe(60_000);
    expect(described.state.paused).toBe(false);
    expect(described.info.nextActionTimes.length).toBeGreaterThan(0);

    expect(
      (await call(url(), 'PATCH', `/api/v1/monitors/${m.id}`, { token: merchant.key, body: { paused: true } })).json
        .paused,
    ).toBe(true);
    expect((await handle.describe()).state.paused).toBe(true);
    await call(url(), 'PATCH', `/api/v1/monitors/${m.id}`, {
      token: merchant.key,
      body: { paused: false, interval: 120 },
    });
    described = await handle.describe();
    expect(described.state.paused).toBe(false);
    expect(described.spec.intervals?.[0].every).toBe(120_000);

    await checkNow(m.id);
    expect((await call(url(), 'DELETE', `/api/v1/monitors/${m.id}`, { token: merchant.key })).status).toBe(204);
    await expect(handle.describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    expect((await call(url(), 'GET', `/api/v1/monitors/${m.id}`, { token: merchant.key })).status).toBe(404);
    const history = await call(url(), 'GET', `/api/v1/monitors/${m.id}/history`, { token: merchant.key });
    expect(history.json.checks).toHaveLength(1);
  });

  it('fires on its schedule by itself', { timeout: 120_000 }, async () => {
    const path = `/jsonld/${sku()}`;
    const m = await monitor(shop.product(path.split('/')[2], 'jsonld'), { interval: 60 });
    await waitFor(() => shop.hits(path) > 0, 100_000, 'a scheduled check');
    const history = await waitFor(
      async () => {
        const h = await call(url(), 'GET', `/api/v1/monitors/${m.id}/history`, { token: merchant.key });
        return h.json.checks.length ? h.json : null;
      },
      10_000,
      'the check recorded',
    );
    expect(history.checks[0]).toMatchObject({ outcome: 'ok', price: 100 });
    expect(Date.parse(history.checks[0].checked_at) - Date.parse(history.checks[0].scheduled_at)).toBeLessThan(70_000);
  });

  it('validates input and keeps owners apart', async () => {
    const page = shop.product(sku(), 'jsonld');
    const post = (body: Record<string, unknown>, token = merchant.key) =>
      call(url(), 'POST', '/api/v1/monitors', {
        token,
        body: { url: page, target_price: 10, currency: 'usd', interval: 3600, ...body },
      });
    expect((await post({ interval: 30 })).json.error.details[0].path).toBe('interval');
    expect((await post({ url: 'http://10.1.2.3/p' })).json.error.details[0].path).toBe('url');
    expect((await post({ url: 'file:///etc/passwd' })).status).toBe(400);
    expect((await post({ target_price: 10.123 })).status).toBe(400);
    expect((await post({ currency: 'XYZ' })).status).toBe(400);
    expect((await post({ selector: '.p', json_path: '$.p' })).status).toBe(400);
    expect((await post({ notify_webhook: receiver.url }, admin.token)).json.error.details[0].path).toBe(
      'notify_webhook',
    );
    expect((await post({ selector: 'div[[[' })).json.error.details[0].path).toBe('selector');
    expect((await post({ json_path: '$..[?(@.x' })).json.error.details[0].path).toBe('json_path');
    expect((await post({})).json.currency).toBe('USD');
    expect((await post({ target_price: 19.99 })).json.target_price).toBe(19.99);

    const mine = await monitor(page);
    const other = await createMerchant(url(), admin.token);
    expect((await call(url(), 'GET', `/api/v1/monitors/${mine.id}`, { token: other.key })).status).toBe(404);
    expect((await call(url(), 'POST', `/api/v1/monitors/${mine.id}/check`, { token: other.key })).status).toBe(404);
    expect((await call(url(), 'GET', '/api/v1/monitors', { token: other.key })).json.data).toEqual([]);
    for (const [method, path, body] of [
      ['PATCH', `/api/v1/monitors/${mine.id}`, { paused: true }],
      ['DELETE', `/api/v1/monitors/${mine.id}`, undefined],
      ['GET', `/api/v1/monitors/${mine.id}/history`, undefined],
    ] as const) {
      expect((await call(url(), method, path, { token: other.key, body })).status).toBe(404);
    }
    expect((await call(url(), 'GET', `/api/v1/monitors/${mine.id}`, { token: admin.token })).status).toBe(200);
  });
});

describe('price checks', () => {
  it('records the price history and alerts exactly once per crossing, with a signed webhook', async () => {
    const id = sku();
    const m = await monitor(shop.product(id, 'jsonld'), { target_price: 80, notify_webhook: receiver.url });
    for (const price of [100, 79, 75, 90, 70]) {
      shop.setPrice(id, price);
      expect(await checkNow(m.id)).toMatchObject({
        outcome: 'ok',
        price,
        currency: 'USD',
        availability: 'InStock',
        source: 'json-ld',
      });
    }
    const history = await call(url(), 'GET', `/api/v1/monitors/${m.id}/history`, { token: merchant.key });
    expect(history.json.checks.map((c: { price: number }) => c.price)).toEqual([100, 79, 75, 90, 70]);
    expect(history.json.alerts.map((a: { price: number }) => a.price)).toEqual([79, 70]);

    const hooks = await waitFor(
      () => {
        const got = receiver.forType('monitor.price_alert').filter((r) => JSON.parse(r.body).data.monitor_id === m.id);
        return got.length >= 2 ? got : null;
      },
      15_000,
      'two alert webhooks',
    );
    const verifier = new Webhook(merchant.webhookSecret);
    expect(
      hooks.map(
        (h) => (verifier.verify(h.body, h.headers as Record<string, string>) as { data: { price: number } }).data.price,
      ),
    ).toEqual([79, 70]);

    const detail = await call(url(), 'GET', `/api/v1/monitors/${m.id}`, { token: merchant.key });
    expect(detail.json).toMatchObject({ last_price: 70, below_target: true, last_outcome: 'ok' });
    expect(detail.json.alerts).toHaveLength(2);
  });

  it('reads microdata, OpenGraph, a selector, a JSON API and follows redirects', async () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      [shop.product(sku(), 'microdata', { price: 1234.5 }), {}, 'microdata'],
      [shop.product(sku(), 'opengraph', { price: 1234.5 }), {}, 'opengraph'],
      [
        shop.product(sku(), 'selector', { price: 1234.5, currency: 'EUR' }),
        { selector: '.pricing .now', currency: 'EUR' },
        'selector',
      ],
      [shop.product(sku(), 'api', { price: 1234.5 }), { json_path: '$.data.product.price.amount' }, 'json_path'],
    ];
    const moved = sku();
    shop.product(moved, 'jsonld', { price: 1234.5 });
    cases.push([`${shop.base}/moved/jsonld/${moved}`, {}, 'json-ld']);
    for (const [page, extra, source] of cases) {
      const m = await monitor(page, extra);
      expect(await checkNow(m.id)).toMatchObject({ outcome: 'ok', price: 1234.5, source });
    }
  });

  it('records what it could not read: ambiguous pages, 404s, another currency', async () => {
    const ambiguous = await monitor(shop.product(sku(), 'ambiguous'));
    expect(await checkNow(ambiguous.id)).toMatchObject({ outcome: 'ambiguous', price: null });
    expect((await checkNow(ambiguous.id)).error).toMatch(/several prices \(100, 200\)/);

    const missingPath = `/jsonld/${sku()}-gone`;
    const missing = await monitor(`${shop.base}${missingPath}`);
    expect(await checkNow(missing.id)).toMatchObject({ outcome: 'http_error', http_status: 404, attempts: 1 });
    expect(shop.hits(missingPath)).toBe(1);

    const euros = await monitor(shop.product(sku(), 'jsonld', { currency: 'EUR' }));
    expect(await checkNow(euros.id)).toMatchObject({ outcome: 'currency_mismatch', price: 100, currency: 'EUR' });
    expect(
      (await call(url(), 'GET', `/api/v1/monitors/${euros.id}/history`, { token: merchant.key })).json.alerts,
    ).toEqual([]);
  });

  it('retries 5xx with backoff and records the attempts', async () => {
    const id = sku();
    const page = shop.product(id, 'jsonld');
    shop.failNext(`/jsonld/${id}`, 2);
    const m = await monitor(page);
    expect(await checkNow(m.id)).toMatchObject({ outcome: 'ok', attempts: 3 });
    expect(shop.hits(`/jsonld/${id}`)).toBe(3);
  });
});

describe('per-host circuit breaker', () => {
  it('opens after repeated 5xx, skips the host while open, and closes after a good probe', async () => {
    // A shop of its own: an open breaker is per host and would stop the other tests' checks.
    const flaky = await startShop();
    try {
      const id = sku();
      const path = `/jsonld/${id}`;
      const m = await monitor(flaky.product(id, 'jsonld'));
      flaky.failNext(path);
      expect(await checkNow(m.id)).toMatchObject({
        outcome: 'http_error',
        http_status: 500,
        attempts: 3,
        error: 'the shop answered 500',
      });
      expect(flaky.hits(path)).toBe(3);
      const open = await call(url(), 'GET', `/api/v1/monitors/${m.id}`, { token: merchant.key });
      expect(open.json.breaker).toMatchObject({ state: 'open', failures: 3 });

      expect(await checkNow(m.id)).toMatchObject({ outcome: 'circuit_open' });
      expect(flaky.hits(path)).toBe(3);

      flaky.heal(path);
      await waitFor(
        async () =>
          (await call(url(), 'GET', `/api/v1/monitors/${m.id}`, { token: merchant.key })).json.breaker.state ===
          'half_open',
        5000,
        'half-open',
      );
      expect(await checkNow(m.id)).toMatchObject({ outcome: 'ok' });
      expect(
        (await call(url(), 'GET', `/api/v1/monitors/${m.id}`, { token: merchant.key })).json.breaker,
      ).toMatchObject({ state: 'closed', failures: 0 });
    } finally {
      await flaky.close();
    }
  });

  it('gives up on a slow shop after the deadline, as a network error', async () => {
    const slow = await startShop();
    try {
      const id = sku();
      const m = await monitor(slow.product(id, 'jsonld'));
      slow.slow(`/jsonld/${id}`, 2500);
      const res = await call(url(), 'POST', `/api/v1/monitors/${m.id}/check`, { token: merchant.key });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ outcome: 'network_error', attempts: 3 });
      expect(res.json.error).toMatch(/timed out after 1500 ms/);
    } finally {
      await slow.close();
    }
  });
});
