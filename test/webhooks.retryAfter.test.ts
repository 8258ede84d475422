/** A receiver's Retry-After on 429 and 503: honoured, capped, bounded by the disable window, and shown truthfully. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createMerchant, signIn, startStack, unique } from './helpers.js';
import { startReceiver, waitFor } from './receiver.js';
import { RETRY_AFTER_GRACE_S } from '../lib/webhooks/retryDelay.js';
import { deliveryWorkflowId } from '../workflows/contracts/webhooks.js';

const settings = { OUTBOUND_ALLOWLIST: '127.0.0.1/32', WEBHOOK_RETRY_SCHEDULE_S: '0,1,1', WEBHOOK_TIMEOUT_MS: '1500' };
const THIRTY_DAYS_S = '2592000';

let stack: Awaited<ReturnType<typeof startStack>>;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let admin: Awaited<ReturnType<typeof signIn>>;

beforeAll(async () => {
  stack = await startStack(settings);
  receiver = await startReceiver();
  admin = await signIn(stack.api.url, 'admin');
});
afterAll(async () => {
  await stack?.close();
  await receiver?.close();
});

/** A fresh merchant (its own failing-since clock) whose endpoint is `endpoint`, with one intent created. */
async function intentFor(apiUrl: string, adminToken: string, endpoint: string) {
  const m = await createMerchant(apiUrl, adminToken);
  await call(apiUrl, 'PATCH', `/api/v1/merchants/${m.id}`, { token: m.key, body: { webhook_url: endpoint } });
  const orderId = unique('ra');
  const created = await call(apiUrl, 'POST', '/api/v1/payments', {
    token: m.key,
    body: { amount: 100, currency: 'eur', order_id: orderId },
  });
  expect(created.status).toBe(201);
  return { m, intent: created.json as { id: string; order_id: string } };
}

/** The intent's `payment_intent.created` delivery as `GET /api/v1/webhooks/{id}` shows it, once `ready` holds. */
function deliveryWhen(apiUrl: string, key: string, intentId: string, ready: (d: any) => boolean) {
  return waitFor(async () => {
    const list = await call(apiUrl, 'GET', `/api/v1/webhooks/history?intent_id=${intentId}`, { token: key });
    const id = list.json.data[0]?.id;
    const d = id && (await call(apiUrl, 'GET', `/api/v1/webhooks/${id}`, { token: key })).json;
    return d && ready(d) && d;
  }, 20_000);
}

const hitsFor = (r: typeof receiver, orderId: string) =>
  r.received.filter((h) => JSON.parse(h.body).data.order_id === orderId);

describe('Retry-After from a webhook receiver', () => {
  it('429 asking for thirty days: next_attempt_at is within the cap (the step + grace), not a month away', async () => {
    receiver.script.push({ status: 429, headers: { 'retry-after': THIRTY_DAYS_S } });
    const { m, intent } = await intentFor(stack.api.url, admin.token, receiver.url);
    const d = await deliveryWhen(stack.api.url, m.key, intent.id, (d) => d.attempts === 1 && d.next_attempt_at);
    const [first] = hitsFor(receiver, intent.order_id);
    const waitMs = Date.parse(d.next_attempt_at) - first.at;
    // The step is 1 s (±10 % jitter); the receiver's wish is honoured up to the step + grace.
    expect(waitMs).toBeGreaterThanOrEqual(RETRY_AFTER_GRACE_S * 1000);
    expect(waitMs).toBeLessThanOrEqual((1.1 + RETRY_AFTER_GRACE_S) * 1000 + 1000);
    expect(d.status).toBe('pending');
    await stack.api.deps.temporal.client.workflow.getHandle(deliveryWorkflowId(d.id)).terminate('test done');
  });

  it.each([
    ['delta-seconds', () => '3'],
    ['an HTTP-date', () => new Date(Date.now() + 4_000).toUTCString()],
  ])('503 with Retry-After as %s is honoured, and next_attempt_at is when it is retried', async (_form, value) => {
    receiver.script.push({ status: 503, headers: { 'retry-after': value() } });
    const { m, intent } = await intentFor(stack.api.url, admin.token, receiver.url);
    const d = await deliveryWhen(stack.api.url, m.key, intent.id, (d) => d.attempts === 1 && d.next_attempt_at);
    const hits = await waitFor(
      () => hitsFor(receiver, intent.order_id).length >= 2 && hitsFor(receiver, intent.order_id),
    );
    // The schedule alone would retry after about 1 s; the HTTP-date has whole seconds, so at least 3 s remain.
    expect(hits[1].at - hits[0].at).toBeGreaterThanOrEqual(2_900);
    const promised = Date.parse(d.next_attempt_at);
    expect(hits[1].at).toBeGreaterThanOrEqual(promised - 100);
    expect(hits[1].at).toBeLessThanOrEqual(promised + 1_000);
    const done = await deliveryWhen(stack.api.url, m.key, intent.id, (d) => d.status === 'succeeded');
    expect(done.attempts_log.map((a: { status_code: number }) => a.status_code)).toEqual([503, 200]);
    expect(done.next_attempt_at).toBeNull();
  });

  it('never waits past the disable window: the last chance comes when the window ends, then the endpoint is off', async () => {
    const quick = await startStack({ ...settings, WEBHOOK_DISABLE_AFTER_S: '3' });
    const limited = await startReceiver();
    limited.script.push({ status: 429, headers: { 'retry-after': THIRTY_DAYS_S } });
    limited.setFallback(503);
    try {
      const quickAdmin = await signIn(quick.api.url, 'admin');
      const { m, intent } = await intentFor(quick.api.url, quickAdmin.token, limited.url);
      const d = await deliveryWhen(quick.api.url, m.key, intent.id, (d) => d.attempts === 1 && d.next_attempt_at);
      const [first] = hitsFor(limited, intent.order_id);
      const promised = Date.parse(d.next_attempt_at);
      // Failing since the first attempt's answer: the next one is due no later than 3 s after it.
      expect(promised - first.at).toBeLessThanOrEqual(3_000 + 1_500);
      const merchant = await waitFor(async () => {
        const res = await call(quick.api.url, 'GET', `/api/v1/merchants/${m.id}`, { token: m.key });
        return res.json.webhook_disabled_at && res.json;
      }, 20_000);
      expect(merchant.webhook_disabled_reason).toMatch(/failed continuously/);
      const hits = hitsFor(limited, intent.order_id);
      expect(hits).toHaveLength(2);
      expect(hits[1].at).toBeGreaterThanOrEqual(promised - 100);
      expect(hits[1].at).toBeLessThanOrEqual(promised + 1_000);
    } finally {
      await limited.close();
      await quick.close();
    }
  });
});
