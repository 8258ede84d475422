import { ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostThrottle } from '../lib/platform/hostThrottle.js';
import { monitorDispatchScheduleId, monitorScheduleId } from '../workflows/contracts/monitors.js';
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
  it('is due in PostgreSQL, checked by its task queue’s dispatcher: paused, resumed and re-timed, deleted while history stays', async () => {
    const before = Date.now();
    const m = await monitor(shop.product(sku(), 'jsonld'), { interval: 60 });
    const detail = async () => (await call(url(), 'GET', `/api/v1/monitors/${m.id}`, { token: merchant.key })).json;
    const grid = (d: { next_check_at: string }, intervalS: number) =>
      [0, 1, 2].map((k) => new Date(Date.parse(d.next_check_at) + k * intervalS * 1000).toISOString());
    // First due in the second half of its first interval, then every interval.
    let d = await detail();
    expect(Date.parse(d.next_check_at)).toBeGreaterThanOrEqual(before + 30_000);
    expect(Date.parse(d.next_check_at)).toBeLessThanOrEqual(Date.now() + 60_000);
    expect(d.next_checks).toEqual(grid(d, 60));
    // No Schedule of its own: the dispatcher Schedule of its task queue checks it.
    await expect(schedules().getHandle(monitorScheduleId(m.id)).describe()).rejects.toBeInstanceOf(
      ScheduleNotFoundError,
    );
    const dispatcher = await schedules().getHandle(d.schedule_id).describe();
    expect(d.schedule_id).toBe(monitorDispatchScheduleId(stack.settings.TEMPORAL_TASK_QUEUE));
    expect(dispatcher.policies.overlap).toBe(ScheduleOverlapPolicy.ALLOW_ALL);
    expect(dispatcher.action).toMatchObject({
      workflowType: 'monitorDispatchWorkflow',
      taskQueue: stack.settings.TEMPORAL_TASK_QUEUE,
    });
    expect(d.temporal_url).toContain(`/schedules/${d.schedule_id}`);

    expect(
      (await call(url(), 'PATCH', `/api/v1/monitors/${m.id}`, { token: merchant.key, body: { paused: true } })).json,
    ).toMatchObject({ paused: true, next_check_at: null });
    expect((await detail()).next_checks).toEqual([]);
    const resumedAt = Date.now();
    await call(url(), 'PATCH', `/api/v1/monitors/${m.id}`, {
      token: merchant.key,
      body: { paused: false, interval: 120 },
    });
    d = await detail();
    expect(d).toMatchObject({ paused: false, interval: 120 });
    expect(Date.parse(d.next_check_at)).toBeGreaterThanOrEqual(resumedAt + 60_000);
    expect(Date.parse(d.next_check_at)).toBeLessThanOrEqual(Date.now() + 120_000);
    expect(d.next_checks).toEqual(grid(d, 120));
    // Re-timed again: a new grid within the new interval.
    const retimedAt = Date.now();
    d = (await call(url(), 'PATCH', `/api/v1/monitors/${m.id}`, { token: merchant.key, body: { interval: 600 } })).json;
    expect(Date.parse(d.next_check_at)).toBeGreaterThanOrEqual(retimedAt + 300_000);
    expect(Date.parse(d.next_check_at)).toBeLessThanOrEqual(Date.now() + 600_000);

    const checked = await checkNow(m.id);
    expect(checked.workflow_id).toMatch(new RegExp(`^price-check-${m.id}-now-`));
    expect(checked.temporal_url).toMatch(/\/workflows\/price-check-[^/]+\/[0-9a-f-]{36}\/history$/);
    expect((await call(url(), 'DELETE', `/api/v1/monitors/${m.id}`, { token: merchant.key })).status).toBe(204);
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
    // Checked by a run of its task queue's dispatcher, linked in the Web UI.
    expect(history.checks[0].workflow_id).toMatch(
      new RegExp(`^${monitorDispatchScheduleId(stack.settings.TEMPORAL_TASK_QUEUE)}-`),
    );
    expect(history.checks[0].temporal_url).toContain(
      `/workflows/${encodeURIComponent(history.checks[0].workflow_id)}/`,
    );
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

  it('reads a price in its currency’s minor units and records it to the last one (12.500 KWD is 12.5)', async () => {
    const kwd = await monitor(shop.product(sku(), 'jsonld', { price: 12.5, priceText: '12.500', currency: 'KWD' }), {
      currency: 'kwd',
      target_price: 13,
    });
    expect(await checkNow(kwd.id)).toMatchObject({ outcome: 'ok', price: 12.5, currency: 'KWD', source: 'json-ld' });
    const detail = (await call(url(), 'GET', `/api/v1/monitors/${kwd.id}`, { token: merchant.key })).json;
    expect(detail).toMatchObject({ currency: 'KWD', last_price: 12.5, last_currency: 'KWD', below_target: true });
    expect(detail.alerts.map((a: { price: number; currency: string }) => [a.price, a.currency])).toEqual([
      [12.5, 'KWD'],
    ]);

    const bhd = await monitor(
      shop.product(sku(), 'microdata', { price: 12.345, priceText: '12.345', currency: 'BHD' }),
      { currency: 'BHD', target_price: 10 },
    );
    await checkNow(bhd.id);
    const history = (await call(url(), 'GET', `/api/v1/monitors/${bhd.id}/history`, { token: merchant.key })).json;
    expect(history.checks[0]).toMatchObject({ outcome: 'ok', price: 12.345, currency: 'BHD', source: 'microdata' });
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

describe('per-host throttle (429, 503 with Retry-After)', () => {
  // Shops of their own: a throttle holds back every monitor on the host.
  const detail = async (id: string) =>
    (await call(url(), 'GET', `/api/v1/monitors/${id}`, { token: merchant.key })).json;
  const waitedUntil = (check: { error: string }) => check.error.match(/ asked us to wait until (\S+) /)![1];

  it('a 429 with Retry-After: 600 reaches the shop once in seven checks, and holds back every monitor on it', async () => {
    const limited = await startShop();
    try {
      const [a, b] = [sku(), sku()];
      const first = await monitor(limited.product(a, 'jsonld'));
      const second = await monitor(limited.product(b, 'microdata'));
      const host = new URL(limited.base).host;
      limited.limitAll(429, { 'retry-after': '600' });
      const before = Date.now();
      const checks = [];
      for (let i = 0; i < 7; i++) checks.push(await checkNow(first.id));
      const after = Date.now();
      expect(limited.hits(`/jsonld/${a}`)).toBe(1);
      const until = waitedUntil(checks[0]);
      expect(Date.parse(until)).toBeGreaterThanOrEqual(before + 600_000 - 1);
      expect(Date.parse(until)).toBeLessThanOrEqual(after + 600_000);
      const error = `${host} asked us to wait until ${until} (answered 429 with Retry-After 600 s)`;
      expect(checks[0]).toMatchObject({ outcome: 'throttled', http_status: 429, attempts: 1, error });
      for (const skipped of checks.slice(1))
        expect(skipped).toMatchObject({ outcome: 'throttled', http_status: null, attempts: 1, error });

      expect(await checkNow(second.id)).toMatchObject({ outcome: 'throttled', http_status: null, error });
      expect(limited.hits(`/microdata/${b}`)).toBe(0);
      for (const m of [first, second])
        expect(await detail(m.id)).toMatchObject({
          last_outcome: 'throttled',
          last_error: error,
          host_throttle: { until, reason: 'answered 429 with Retry-After 600 s' },
        });
    } finally {
      await limited.close();
    }
  });

  it('reaches the shop again once the allowed time passed; a 503 with Retry-After is not retried; the wait is capped', async () => {
    const limited = await startShop();
    try {
      const id = sku();
      const path = `/jsonld/${id}`;
      const m = await monitor(limited.product(id, 'jsonld'));
      const waitOut = async (until: string) => {
        await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(until) - Date.now() + 50)));
        expect((await detail(m.id)).host_throttle).toBeNull();
      };

      limited.limitAll(429, { 'retry-after': '2' });
      let until = waitedUntil(await checkNow(m.id));
      expect(await checkNow(m.id)).toMatchObject({ outcome: 'throttled', http_status: null });
      expect(limited.hits(path)).toBe(1);
      limited.unlimit();
      await waitOut(until);
      expect(await checkNow(m.id)).toMatchObject({ outcome: 'ok', price: 100 });
      expect(limited.hits(path)).toBe(2);

      // An HTTP-date, and no retry within the check although 5xx are retried.
      limited.limitAll(503, { 'retry-after': new Date(Date.now() + 2000).toUTCString() });
      const unavailable = await checkNow(m.id);
      expect(unavailable).toMatchObject({ outcome: 'throttled', http_status: 503, attempts: 1 });
      expect(unavailable.error).toMatch(/answered 503 with Retry-After [12] s\)$/);
      expect(limited.hits(path)).toBe(3);
      until = waitedUntil(unavailable);
      await waitOut(until);

      limited.limitAll(429, { 'retry-after': '2592000' });
      const before = Date.now();
      const capped = await checkNow(m.id);
      expect(capped.error).toMatch(/answered 429 with Retry-After 2592000 s \(capped at 3600 s\)\)$/);
      expect(Date.parse(waitedUntil(capped)) - before).toBeGreaterThanOrEqual(3600_000 - 1);
      expect(Date.parse(waitedUntil(capped)) - before).toBeLessThan(3600_000 + 5000);
      expect(limited.hits(path)).toBe(4);
    } finally {
      await limited.close();
    }
  });

  it('without Retry-After waits 60 s, doubled per throttle in a row up to the cap; never shortens a wait', async () => {
    const throttle = new HostThrottle(stack.api.deps.redis, { defaultMs: 60_000, maxMs: 3_600_000 });
    const host = `${sku()}.shop.test`;
    let now = Date.now();
    const waitsS: number[] = [];
    for (let i = 0; i < 8; i++) {
      const held = await throttle.throttle(host, { status: 429, retryAfterMs: null }, now);
      waitsS.push((Date.parse(held!.until) - now) / 1000);
      now = Date.parse(held!.until);
    }
    expect(waitsS).toEqual([60, 120, 240, 480, 960, 1920, 3600, 3600]);
    expect((await throttle.state(host, now - 1))!.reason).toBe(
      'answered 429 without Retry-After (8 in a row: back-off 3600 s)',
    );
    expect(await throttle.state(host, now)).toBeNull();

    // An ordinary answer ends the row: the next back-off starts again at 60 s.
    await throttle.answered(host);
    const fresh = await throttle.throttle(host, { status: 429, retryAfterMs: null }, now);
    expect(Date.parse(fresh!.until) - now).toBe(60_000);

    // A shorter wait answered meanwhile (a concurrent check) leaves the longer one in place.
    const long = await throttle.throttle(host, { status: 503, retryAfterMs: 600_000 }, now);
    expect(await throttle.throttle(host, { status: 429, retryAfterMs: 2000 }, now)).toEqual(long);
    expect(await throttle.throttle(host, { status: 429, retryAfterMs: 0 }, now)).toEqual(long);
    expect(await throttle.throttle(`${sku()}.shop.test`, { status: 429, retryAfterMs: 0 }, now)).toBeNull();
  });

  it('counts 401 and 403 against the breaker; a 503 without Retry-After is retried and counted, not throttled', async () => {
    const refusing = await startShop();
    try {
      const [a, b] = [sku(), sku()];
      const forbidden = await monitor(refusing.product(a, 'jsonld'));
      const unauthorized = await monitor(refusing.product(b, 'jsonld'));
      refusing.failNext(`/jsonld/${a}`, Infinity, 403);
      refusing.failNext(`/jsonld/${b}`, Infinity, 401);
      expect(await checkNow(forbidden.id)).toMatchObject({ outcome: 'http_error', http_status: 403, attempts: 1 });
      expect(await checkNow(unauthorized.id)).toMatchObject({ outcome: 'http_error', http_status: 401, attempts: 1 });
      expect((await detail(forbidden.id)).breaker).toMatchObject({ state: 'closed', failures: 2 });
      await checkNow(forbidden.id);
      expect((await detail(forbidden.id)).breaker).toMatchObject({ state: 'open', failures: 3 });
      expect(await checkNow(unauthorized.id)).toMatchObject({ outcome: 'circuit_open' });
      expect(refusing.hits(`/jsonld/${a}`) + refusing.hits(`/jsonld/${b}`)).toBe(3);
    } finally {
      await refusing.close();
    }

    const unwell = await startShop();
    try {
      const id = sku();
      const m = await monitor(unwell.product(id, 'jsonld'));
      unwell.failNext(`/jsonld/${id}`, Infinity, 503);
      expect(await checkNow(m.id)).toMatchObject({ outcome: 'http_error', http_status: 503, attempts: 3 });
      expect(unwell.hits(`/jsonld/${id}`)).toBe(3);
      expect(await detail(m.id)).toMatchObject({ breaker: { state: 'open', failures: 3 }, host_throttle: null });
    } finally {
      await unwell.close();
    }
  });
});
