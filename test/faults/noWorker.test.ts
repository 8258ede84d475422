/**
 * No worker polls the task queue. Every request that waits on a workflow still answers within WORKFLOW_WAIT_MS,
 * with 202, the state so far and where to poll, and once a worker starts each request is carried out exactly once:
 * the payer's outcome (and its webhook), an appointment's confirmation, a diagnosis message's single reply.
 */
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker } from '../../workers/worker.js';
import { call, createMerchant, createWorkshop, signIn, startApi, testConfig, unique } from '../helpers.js';
import { startReceiver, waitFor } from '../receiver.js';
import { startShop } from '../shop.js';

const WAIT_MS = 3000;
/** HTTP, the database and a busy 2-core machine on top of the bound. */
const SLACK_MS = 2500;

let api: Awaited<ReturnType<typeof startApi>>;
let worker: Awaited<ReturnType<typeof startWorker>> | undefined;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let shop: Awaited<ReturnType<typeof startShop>>;
let settings: Record<string, string>;
let merchant: Awaited<ReturnType<typeof createMerchant>>;
let operator: Awaited<ReturnType<typeof signIn>>;

beforeAll(async () => {
  receiver = await startReceiver();
  shop = await startShop();
  settings = {
    TEMPORAL_TASK_QUEUE: unique('noworker'),
    WORKFLOW_WAIT_MS: String(WAIT_MS),
    OUTBOUND_ALLOWLIST: '127.0.0.1/32',
    WEBHOOK_RETRY_SCHEDULE_S: '0,1,1',
    BOOKING_MIN_NOTICE_MIN: '0',
  };
  api = await startApi(settings);
  const admin = await signIn(api.url, 'admin');
  operator = await signIn(api.url, 'operator');
  merchant = await createMerchant(api.url, admin.token);
  const endpoint = await call(api.url, 'PATCH', `/api/v1/merchants/${merchant.id}`, {
    token: admin.token,
    body: { webhook_url: receiver.url },
  });
  expect(endpoint.status, endpoint.text).toBe(200);
});
afterAll(async () => {
  await worker?.stop();
  await api?.close();
  await receiver?.close();
  await shop?.close();
});

/** `call`, failing the test when no answer comes within the bound and its slack; with how long the answer took. */
async function bounded(method: string, path: string, opts: Parameters<typeof call>[3] = {}) {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const res = await Promise.race([
    call(api.url, method, path, opts),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${method} ${path}: no answer within the bound`)), WAIT_MS + SLACK_MS);
    }),
  ]).finally(() => clearTimeout(timer));
  return { ...res, ms: Date.now() - started };
}

const createIntent = async () => {
  const res = await call(api.url, 'POST', '/api/v1/payments', {
    token: merchant.key,
    body: { amount: 4200, currency: 'eur', order_id: unique('order') },
  });
  expect(res.status, res.text).toBe(201);
  return res.json as { id: string; order_id: string; payment_token: string };
};

async function book() {
  const shopWorkshop = await createWorkshop(api.url, operator.token);
  const start = DateTime.now()
    .setZone('Europe/Kyiv')
    .plus({ days: 2 })
    .startOf('day')
    .set({ hour: 10 })
    .toUTC()
    .toISO()!;
  const res = await call(api.url, 'POST', '/api/v1/appointments', {
    body: {
      workshop_id: shopWorkshop.id,
      service_id: shopWorkshop.serviceId,
      start,
      customer: { name: 'Oksana', email: `${unique('o')}@example.com` },
      vehicle: { make: 'Skoda', model: 'Fabia', year: 2019 },
    },
  });
  expect(res.status, res.text).toBe(201);
  return { id: res.json.id as string, as: { headers: { 'x-appointment-token': res.json.access_token as string } } };
}

async function chat() {
  const res = await call(api.url, 'POST', '/api/v1/diagnosis/sessions', {
    body: { vehicle: { make: 'Skoda', model: 'Octavia', year: 2016, mileage: 142000 } },
  });
  expect(res.status, res.text).toBe(201);
  return { id: res.json.id as string, as: { headers: { 'x-session-token': res.json.access_token as string } } };
}

const transitions = async (intentId: string) =>
  (await call(api.url, 'GET', `/api/v1/payments/${intentId}`, { token: merchant.key })).json.transactions.map(
    (t: { to_status: string }) => t.to_status,
  );
const messages = async (session: Awaited<ReturnType<typeof chat>>) =>
  (await call(api.url, 'GET', `/api/v1/diagnosis/sessions/${session.id}`, session.as)).json.messages.map(
    (m: { seq: number; role: string; content: string }) => [m.seq, m.role, m.content],
  );

describe('requests that wait on a workflow, with no worker polling', () => {
  let intent: Awaited<ReturnType<typeof createIntent>>;
  let appointment: Awaited<ReturnType<typeof book>>;
  let session: Awaited<ReturnType<typeof chat>>;
  let monitorId: string;

  it('answer 202 within WORKFLOW_WAIT_MS with the state so far and where to poll', async () => {
    intent = await createIntent();
    const paid = await bounded('POST', `/api/v1/payments/${intent.payment_token}/process`, {
      body: { outcome: 'succeeded' },
    });
    expect(paid.status, paid.text).toBe(202);
    expect(paid.json.status).toBe('requires_payment_method');
    expect(paid.headers.get('location')).toBe(`/api/v1/payments/${intent.payment_token}`);
    expect((await call(api.url, 'GET', paid.headers.get('location')!)).json.status).toBe('requires_payment_method');

    appointment = await book();
    const confirmed = await bounded('POST', `/api/v1/appointments/${appointment.id}/confirm`, appointment.as);
    expect(confirmed.status, confirmed.text).toBe(202);
    expect(confirmed.json.status).toBe('held');
    expect(confirmed.headers.get('location')).toBe(`/api/v1/appointments/${appointment.id}`);

    session = await chat();
    const said = await bounded('POST', `/api/v1/diagnosis/sessions/${session.id}/messages`, {
      ...session.as,
      body: { text: 'There is a grinding noise when I brake' },
    });
    expect(said.status, said.text).toBe(202);
    expect(said.json).toEqual({ status: 'pending', poll: `/api/v1/diagnosis/sessions/${session.id}` });
    expect(said.headers.get('location')).toBe(said.json.poll);

    const created = await call(api.url, 'POST', '/api/v1/monitors', {
      token: merchant.key,
      body: { url: shop.product('nw1', 'jsonld'), target_price: 80, currency: 'USD', interval: 3600 },
    });
    expect(created.status, created.text).toBe(201);
    monitorId = created.json.id;
    const checked = await bounded('POST', `/api/v1/monitors/${monitorId}/check`, { token: merchant.key });
    expect(checked.status, checked.text).toBe(202);
    expect(checked.headers.get('location')).toBe(`/api/v1/monitors/${monitorId}/history`);
  });

  it('carry every recorded request out, once, when a worker starts', async () => {
    worker = await startWorker(testConfig(settings), { codePath: process.env.WORKFLOW_BUNDLE_PATH! });

    await waitFor(
      async () =>
        (await call(api.url, 'GET', `/api/v1/payments/${intent.id}`, { token: merchant.key })).json.status ===
        'succeeded',
      30_000,
      "the payer's outcome",
    );
    expect(await transitions(intent.id)).toEqual(['requires_payment_method', 'processing', 'succeeded']);
    await waitFor(
      () =>
        receiver.received.find((r) => {
          const event = JSON.parse(r.body);
          return event.type === 'payment_intent.succeeded' && event.data.order_id === intent.order_id;
        }),
      30_000,
      'the succeeded webhook',
    );

    await waitFor(
      async () =>
        (await call(api.url, 'GET', `/api/v1/appointments/${appointment.id}`, appointment.as)).json.status ===
        'confirmed',
      30_000,
      'the confirmation',
    );

    const expected = [
      [1, 'user', 'There is a grinding noise when I brake'],
      [2, 'assistant', expect.any(String)],
    ];
    await waitFor(async () => (await messages(session)).length >= 2, 30_000, 'the reply');
    // The Update the server held while no worker polled arrives beside its Signal: still one reply.
    await new Promise((r) => setTimeout(r, 2000));
    expect(await messages(session)).toEqual(expected);
    // Both copies of the request reached the workflow: the Signal, and the Update the server held meanwhile.
    const { events } = await api.deps.temporal.client.workflow.getHandle(`diagnosis-${session.id}`).fetchHistory();
    expect(
      events!.filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'sendMessageRequested'),
    ).toHaveLength(1);
    expect(
      events!.filter(
        (e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === 'sendMessage',
      ),
    ).toHaveLength(1);

    await waitFor(
      async () =>
        (await call(api.url, 'GET', `/api/v1/monitors/${monitorId}/history`, { token: merchant.key })).json.checks
          .length > 0,
      30_000,
      'the check',
    );
    expect((await call(api.url, 'DELETE', `/api/v1/monitors/${monitorId}`, { token: merchant.key })).status).toBe(204);
  });

  it('answer as before while a worker polls', async () => {
    const next = await createIntent();
    const paid = await bounded('POST', `/api/v1/payments/${next.payment_token}/process`, {
      body: { outcome: 'failed' },
    });
    expect(paid.status, paid.text).toBe(200);
    expect(paid.json.status).toBe('failed');

    const another = await book();
    const confirmed = await bounded('POST', `/api/v1/appointments/${another.id}/confirm`, another.as);
    expect(confirmed.status, confirmed.text).toBe(200);
    expect(confirmed.json.status).toBe('confirmed');

    const said = await bounded('POST', `/api/v1/diagnosis/sessions/${session.id}/messages`, {
      ...session.as,
      body: { text: 'Only when braking' },
    });
    expect(said.status, said.text).toBe(200);
    expect(said.json.type).toMatch(/question|diagnosis/);
    expect((await messages(session)).map((m: unknown[]) => m[0])).toEqual([1, 2, 3, 4]);
  });
});
