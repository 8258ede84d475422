import { randomUUID } from 'node:crypto';
import knex from 'knex';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createMerchant, signIn, startStack, testConfig, unique } from './helpers.js';
import { startReceiver, waitFor } from './receiver.js';
import { startWorker } from '../workers/worker.js';
import { migrationSource } from '../db/migrations/index.js';
import { transitionIntent } from '../db/payments.js';
import { paymentWorkflowId, processPayment } from '../workflows/contracts/payments.js';

// Retry schedule in seconds (0 = at once) and a short attempt timeout keep these tests quick;
// the production schedule is the default of WEBHOOK_RETRY_SCHEDULE_S.
const settings = { OUTBOUND_ALLOWLIST: '127.0.0.1/32', WEBHOOK_RETRY_SCHEDULE_S: '0,1,1', WEBHOOK_TIMEOUT_MS: '1500' };

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

const url = () => stack.api.url;

async function merchantWithEndpoint(endpoint: string | null = receiver.url) {
  const m = await createMerchant(url(), admin.token);
  if (endpoint)
    expect(
      (await call(url(), 'PATCH', `/api/v1/merchants/${m.id}`, { token: admin.token, body: { webhook_url: endpoint } }))
        .status,
    ).toBe(200);
  return m;
}

async function createIntent(key: string, body: Record<string, unknown> = {}, idempotencyKey?: string) {
  return call(url(), 'POST', '/api/v1/payments', {
    token: key,
    body: { amount: 1999, currency: 'eur', order_id: unique('order'), ...body },
    headers: idempotencyKey ? { 'idempotency-key': idempotencyKey } : {},
  });
}

const deliveredTo = (orderId: string, type: string) =>
  receiver.received.filter((r) => {
    const body = JSON.parse(r.body);
    return body.type === type && body.data.order_id === orderId;
  });

/** Waits until at least `count` requests of this event type arrived for the order. */
const awaitDeliveries = (orderId: string, type: string, count = 1, timeoutMs = 15_000) =>
  waitFor(
    () => {
      const hits = deliveredTo(orderId, type);
      return hits.length >= count ? hits : null;
    },
    timeoutMs,
    `${count} × ${type}`,
  );

describe('payment intents', () => {
  it('create → pay on the payer side → signed webhooks for every transition', async () => {
    const m = await merchantWithEndpoint();
    const created = await createIntent(m.key, { metadata: { cart: 'c1' } });
    expect(created.status).toBe(201);
    const intent = created.json;
    expect(intent).toMatchObject({
      status: 'requires_payment_method',
      amount: 1999,
      currency: 'EUR',
      metadata: { cart: 'c1' },
    });
    expect(intent.payment_token).toMatch(/^pt_[A-Za-z0-9_-]{43}$/);
    expect(intent.checkout_url).toBe(`${stack.api.deps.config.publicUrl}/pay/${intent.payment_token}`);

    const payer = await call(url(), 'GET', `/api/v1/payments/${intent.payment_token}`);
    expect(payer.json).toMatchObject({ amount: 1999, currency: 'EUR', status: 'requires_payment_method' });
    expect(JSON.stringify(payer.json)).not.toContain(m.id);

    const paid = await call(url(), 'POST', `/api/v1/payments/${intent.payment_token}/process`, {
      body: { outcome: 'succeeded' },
    });
    expect(paid.status).toBe(200);
    expect(paid.json.status).toBe('succeeded');

    for (const type of ['payment_intent.created', 'payment_intent.processing', 'payment_intent.succeeded']) {
      const [hit] = await awaitDeliveries(intent.order_id, type);
      const verified = new Webhook(m.webhookSecret).verify(hit.body, hit.headers as Record<string, string>) as {
        id: string;
        data: { id: string };
      };
      expect(verified.data.id).toBe(intent.id);
      expect(hit.headers['webhook-id']).toBe(verified.id);
    }

    const detail = await call(url(), 'GET', `/api/v1/payments/${intent.id}`, { token: m.key });
    expect(detail.json.transactions.map((t: { to_status: string }) => t.to_status)).toEqual([
      'requires_payment_method',
      'processing',
      'succeeded',
    ]);
    expect(detail.json.events.map((e: { type: string }) => e.type)).toEqual([
      'payment_intent.created',
      'payment_intent.processing',
      'payment_intent.succeeded',
    ]);
    // Every status change has its log row and event.
    const rows = await stack.api.deps.db('payment_transactions').where({ intent_id: intent.id });
    expect(rows).toHaveLength(3);
  });

  it('rejects invalid intents with field details', async () => {
    const m = await merchantWithEndpoint(null);
    const res = await createIntent(m.key, { amount: 0, currency: 'EURO', metadata: { k: { nested: true } } });
    expect(res.status).toBe(400);
    expect(res.json.error.details.map((d: { path: string }) => d.path).sort()).toEqual([
      'amount',
      'currency',
      'metadata.k',
    ]);
    expect((await createIntent(m.key, { amount: 100_000_000 })).status).toBe(400);
    expect((await createIntent(m.key, { currency: 'xyz' })).status).toBe(400);
  });

  it('concurrent submits process once: one outcome, one log row per state', async () => {
    const m = await merchantWithEndpoint(null);
    const intent = (await createIntent(m.key)).json;
    const outcomes = Array.from({ length: 12 }, (_, i) => (i % 2 ? 'failed' : 'succeeded'));
    const responses = await Promise.all(
      outcomes.map((outcome) =>
        call(url(), 'POST', `/api/v1/payments/${intent.payment_token}/process`, { body: { outcome } }),
      ),
    );
    const finals = new Set(responses.map((r) => r.json.status));
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(finals.size).toBe(1);
    const rows = await stack.api.deps.db('payment_transactions').where({ intent_id: intent.id });
    expect(rows.map((r) => r.to_status).sort()).toEqual(
      ['processing', 'requires_payment_method', [...finals][0]].sort(),
    );
  });

  it('transitions committed by a workflow task that was then lost still get their webhooks', async () => {
    // A local activity's transaction can commit and its workflow task be lost (timed out under load,
    // superseded): the Update is retried and the steps run again. Here the steps commit behind the
    // workflow's back, as the lost task left them, and the retried Update reaches the workflow.
    const m = await merchantWithEndpoint();
    const intent = (await createIntent(m.key)).json;
    await awaitDeliveries(intent.order_id, 'payment_intent.created');
    const db = stack.api.deps.db;
    expect((await transitionIntent(db, intent.id, ['requires_payment_method'], 'processing'))?.changed).toBe(true);
    expect((await transitionIntent(db, intent.id, ['processing'], 'succeeded'))?.changed).toBe(true);

    const workflow = stack.api.deps.temporal.client.workflow.getHandle(paymentWorkflowId(intent.id));
    expect(await workflow.executeUpdate(processPayment, { args: [{ outcome: 'succeeded' }] })).toBe('succeeded');
    for (const type of ['payment_intent.processing', 'payment_intent.succeeded'])
      await awaitDeliveries(intent.order_id, type);
    expect(await db('payment_transactions').where({ intent_id: intent.id }).pluck('to_status')).toHaveLength(3);
    const statuses = () =>
      db('webhook_deliveries')
        .join('events', 'events.id', 'webhook_deliveries.event_id')
        .where({ 'events.intent_id': intent.id })
        .pluck('webhook_deliveries.status');
    await waitFor(
      async () => (await statuses()).join() === 'succeeded,succeeded,succeeded',
      10_000,
      'every delivery settled',
    );
  });

  it('the created webhook waits for the API to commit the intent its workflow was started for', async () => {
    // The API starts the workflow inside its transaction; here that commit takes 1.5 s (a deferred
    // trigger, for this merchant only), so the workflow's first task runs before the intent is visible.
    const m = await merchantWithEndpoint();
    const db = stack.api.deps.db;
    await db.raw(
      `CREATE OR REPLACE FUNCTION test_slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(1.5); RETURN NULL; END $$`,
    );
    await db.raw(
      `CREATE CONSTRAINT TRIGGER test_slow_commit AFTER INSERT ON payment_intents DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
       WHEN (NEW.merchant_id = '${m.id}') EXECUTE FUNCTION test_slow_commit()`,
    );
    try {
      const created = await createIntent(m.key);
      expect(created.status).toBe(201);
      expect(await awaitDeliveries(created.json.order_id, 'payment_intent.created')).toHaveLength(1);
      const delivery = () =>
        db('webhook_deliveries')
          .join('events', 'events.id', 'webhook_deliveries.event_id')
          .where({ 'events.intent_id': created.json.id })
          .first('webhook_deliveries.*');
      // The attempt is logged once the receiver has answered.
      await expect.poll(delivery).toMatchObject({ status: 'succeeded', attempts: 1 });
    } finally {
      await db.raw('DROP TRIGGER test_slow_commit ON payment_intents');
      await db.raw('DROP FUNCTION test_slow_commit()');
    }
  });

  it('cancel: only before payment; a canceled intent cannot be paid', async () => {
    const m = await merchantWithEndpoint(null);
    const a = (await createIntent(m.key)).json;
    const canceled = await call(url(), 'POST', `/api/v1/payments/${a.id}/cancel`, {
      token: m.key,
      body: { reason: 'abandoned' },
    });
    expect(canceled.json).toMatchObject({ status: 'canceled', cancellation_reason: 'abandoned' });
    const pay = await call(url(), 'POST', `/api/v1/payments/${a.payment_token}/process`, {
      body: { outcome: 'succeeded' },
    });
    expect(pay.status).toBe(409);
    expect(pay.json.error.code).toBe('invalid_state');

    const b = (await createIntent(m.key)).json;
    await call(url(), 'POST', `/api/v1/payments/${b.payment_token}/process`, { body: { outcome: 'succeeded' } });
    const late = await call(url(), 'POST', `/api/v1/payments/${b.id}/cancel`, { token: m.key, body: {} });
    expect(late.status).toBe(409);
    // A second identical process call answers the state without processing again.
    const again = await call(url(), 'POST', `/api/v1/payments/${b.payment_token}/process`, {
      body: { outcome: 'failed' },
    });
    expect(again.json.status).toBe('succeeded');
  });

  it('lists with filters and cursor pagination, confined to the merchant', async () => {
    const m = await merchantWithEndpoint(null);
    const other = await merchantWithEndpoint(null);
    for (let i = 0; i < 5; i++) await createIntent(m.key);
    await createIntent(other.key);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof call>> = await call(
        url(),
        'GET',
        `/api/v1/payments?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        { token: m.key },
      );
      seen.push(
        ...page.json.data.map((p: { id: string; merchant_id: string }) => (expect(p.merchant_id).toBe(m.id), p.id)),
      );
      cursor = page.json.next_cursor;
    } while (cursor);
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
    expect((await call(url(), 'GET', '/api/v1/payments?cursor=garbage', { token: m.key })).status).toBe(400);
  });
});

describe('currency codes', () => {
  it('takes ISO 4217 in any letter case and answers upper case everywhere: intent, payer, webhook, events, services', async () => {
    const m = await merchantWithEndpoint();
    const intents = [];
    for (const currency of ['PLN', 'pln', 'Pln']) {
      const res = await createIntent(m.key, { currency });
      expect(res.status, res.text).toBe(201);
      expect(res.json.currency).toBe('PLN');
      intents.push(res.json);
    }
    const [first] = intents;
    expect((await call(url(), 'GET', `/api/v1/payments/${first.payment_token}`)).json.currency).toBe('PLN');
    expect((await call(url(), 'GET', `/api/v1/payments/${first.id}`, { token: m.key })).json.currency).toBe('PLN');
    const listed = await call(url(), 'GET', '/api/v1/payments', { token: m.key });
    expect(listed.json.data.map((p: { currency: string }) => p.currency)).toEqual(['PLN', 'PLN', 'PLN']);
    const [hook] = await awaitDeliveries(first.order_id, 'payment_intent.created');
    expect(JSON.parse(hook.body).data.currency).toBe('PLN');
    expect(
      await stack.api.deps
        .db('payment_intents')
        .whereIn(
          'id',
          intents.map((i) => i.id),
        )
        .distinct()
        .pluck('currency'),
    ).toEqual(['PLN']);

    // KWD has three minor units and the amount is in them: 12.500 KWD is 12500.
    expect((await createIntent(m.key, { amount: 12500, currency: 'kwd' })).json).toMatchObject({
      amount: 12500,
      currency: 'KWD',
    });

    for (const currency of ['PLNX', 'pl', 'xyz', 'XYZ', ' pln', 'p1n'])
      expect((await createIntent(m.key, { currency })).json.error, String(currency)).toMatchObject({
        code: 'validation_error',
        details: [{ path: 'currency', message: expect.stringMatching(/ISO 4217/) }],
      });

    // Booking services take and answer the same form.
    const w = await call(url(), 'POST', '/api/v1/workshops', {
      token: admin.token,
      body: { name: unique('Garage'), address: '1 Test St', time_zone: 'Europe/Kyiv' },
    });
    const service = await call(url(), 'POST', `/api/v1/workshops/${w.json.id}/services`, {
      token: admin.token,
      body: { name: 'Oil change', duration_min: 30, price_min: 1200, currency: 'uah' },
    });
    expect([service.status, service.json.currency]).toEqual([201, 'UAH']);
  });

  it('the migration upper-cases what was stored in lower case: intents, their events and log, services', async () => {
    const server = stack.api.deps.db;
    const name = `currency_${randomUUID().replace(/-/g, '')}`;
    await server.raw('CREATE DATABASE ??', [name]);
    const dbUrl = new URL(stack.api.deps.config.databaseUrl);
    dbUrl.pathname = `/${name}`;
    const db = knex({ client: 'pg', connection: dbUrl.toString(), pool: { min: 0, max: 1 } });
    try {
      const names = await migrationSource.getMigrations([]);
      for (const migration of names.slice(0, names.indexOf('20261123000008_webhook_events') + 1))
        await db.migrate.up({ migrationSource, name: migration });
      const [merchant] = await db('merchants').insert({ name: 'old', webhook_secret_enc: 'x' }).returning('id');
      const intent = {
        id: 'pi_old_lower_case_0001',
        merchant_id: merchant.id,
        amount: 1999,
        currency: 'eur',
        order_id: 'o1',
        status: 'requires_payment_method',
        payment_token_hash: 'h',
        payment_token_enc: 'e',
        expires_at: new Date(),
      };
      await db('payment_intents').insert(intent);
      await db('payment_transactions').insert({
        intent_id: intent.id,
        type: 'created',
        to_status: intent.status,
        data: { amount: 1999, currency: 'eur' },
      });
      await db('events').insert({
        id: 'evt_old',
        merchant_id: merchant.id,
        type: 'payment_intent.created',
        intent_id: intent.id,
        payload: { id: intent.id, amount: 1999, currency: 'eur' },
      });
      const [workshop] = await db('workshops')
        .insert({ name: 'W', address: 'A', time_zone: 'Europe/Kyiv' })
        .returning('id');
      await db('services').insert({ workshop_id: workshop.id, name: 'S', duration_min: 30, currency: 'uah' });

      await db.migrate.latest({ migrationSource });
      expect(await db('payment_intents').pluck('currency')).toEqual(['EUR']);
      expect(await db('payment_transactions').pluck('data')).toEqual([{ amount: 1999, currency: 'EUR' }]);
      expect(await db('events').pluck('payload')).toEqual([{ id: intent.id, amount: 1999, currency: 'EUR' }]);
      expect(await db('services').pluck('currency')).toEqual(['UAH']);
      // And it stays so: a lower-case code cannot be stored any more.
      await expect(
        db('payment_intents').insert({ ...intent, id: 'pi_new_lower_case_0002', payment_token_hash: 'h2' }),
      ).rejects.toThrow(/payment_intents_currency_iso4217/);
    } finally {
      await db.destroy();
      await server.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [name]);
    }
  });
});

describe('Idempotency-Key', () => {
  it('replays the same request, refuses a different one, and 409s while the first runs', async () => {
    const m = await merchantWithEndpoint(null);
    const key = randomUUID();
    const body = { order_id: unique('idem'), amount: 500, currency: 'usd' };
    const first = await createIntent(m.key, body, key);
    const replay = await createIntent(m.key, body, key);
    expect(first.status).toBe(201);
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.json).toEqual(first.json);
    expect(first.headers.get('idempotent-replayed')).toBeNull();

    const mismatch = await createIntent(m.key, { ...body, amount: 501 }, key);
    expect(mismatch.status).toBe(422);
    expect(mismatch.json.error.code).toBe('idempotency_error');

    // Another merchant may use the same key independently.
    const other = await merchantWithEndpoint(null);
    expect((await createIntent(other.key, body, key)).headers.get('idempotent-replayed')).toBeNull();

    // The same request while the first is still running (its row put back to that state, its lease held).
    await stack.api.deps
      .db('idempotency_keys')
      .where({ merchant_id: m.id, key })
      .update({ state: 'running', locked_until: new Date(Date.now() + 60_000) });
    const busy = await createIntent(m.key, body, key);
    expect([busy.status, busy.json.error.code]).toEqual([409, 'idempotency_in_progress']);
    expect(busy.headers.get('retry-after')).toBe('1');
  });

  it('50 concurrent identical creates make one intent', async () => {
    const m = await merchantWithEndpoint(null);
    const key = randomUUID();
    const body = { order_id: unique('burst'), amount: 700, currency: 'eur' };
    const responses = await Promise.all(Array.from({ length: 50 }, () => createIntent(m.key, body, key)));
    const statuses = responses.map((r) => r.status);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(1);
    expect(
      responses.filter((r) => r.status === 409).every((r) => r.json.error.code === 'idempotency_in_progress'),
    ).toBe(true);
    const rows = await stack.api.deps.db('payment_intents').where({ order_id: body.order_id });
    expect(rows).toHaveLength(1);
    const ids = new Set(responses.filter((r) => r.status === 201).map((r) => r.json.id));
    expect([...ids]).toEqual([rows[0].id]);
  });
});

describe('POST /api/v1/payments/create (the seed contract’s path)', () => {
  const createAt = (path: string, key: string, body: Record<string, unknown>, idempotencyKey?: string) =>
    call(url(), 'POST', path, {
      token: key,
      body,
      headers: idempotencyKey ? { 'idempotency-key': idempotencyKey } : {},
    });

  it('is the same operation as POST /api/v1/payments: response, validation, access and Idempotency-Key', async () => {
    const m = await merchantWithEndpoint(null);
    const body = { amount: 1250, currency: 'eur', order_id: unique('alias'), metadata: { cart: 'c9' } };
    const key = randomUUID();
    const created = await createAt('/api/v1/payments/create', m.key, body, key);
    expect(created.status, created.text).toBe(201);
    const viaPrimary = (await createAt('/api/v1/payments', m.key, { ...body, order_id: unique('primary') })).json;
    expect(Object.keys(created.json).sort()).toEqual(Object.keys(viaPrimary).sort());
    expect(created.json).toMatchObject({
      object: 'payment_intent',
      amount: 1250,
      currency: viaPrimary.currency,
      order_id: body.order_id,
      metadata: { cart: 'c9' },
      merchant_id: m.id,
      status: 'requires_payment_method',
    });
    expect(created.json.payment_token).toMatch(/^pt_[A-Za-z0-9_-]{43}$/);
    expect(created.json.checkout_url).toBe(`${stack.api.deps.config.publicUrl}/pay/${created.json.payment_token}`);
    // The payer reaches it with its token like any other intent.
    expect((await call(url(), 'GET', `/api/v1/payments/${created.json.payment_token}`)).json).toMatchObject({
      amount: 1250,
      status: 'requires_payment_method',
    });

    // One key, one operation: the same request on either path replays the one intent; another request is refused.
    for (const path of ['/api/v1/payments/create', '/api/v1/payments']) {
      const again = await createAt(path, m.key, body, key);
      expect([again.status, again.headers.get('idempotent-replayed')], path).toEqual([201, 'true']);
      expect(again.json).toEqual(created.json);
      const other = await createAt(path, m.key, { ...body, amount: 1251 }, key);
      expect([other.status, other.json.error.code], path).toEqual([422, 'idempotency_error']);
    }
    expect(await stack.api.deps.db('payment_intents').where({ order_id: body.order_id }).pluck('id')).toEqual([
      created.json.id,
    ]);

    const invalid = { amount: -1, currency: 'eur', order_id: '' };
    const [bad, badPrimary] = await Promise.all(
      ['/api/v1/payments/create', '/api/v1/payments'].map((path) => createAt(path, m.key, invalid)),
    );
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual(badPrimary.json);
    expect((await call(url(), 'POST', '/api/v1/payments/create', { body })).status).toBe(401);
    expect((await call(url(), 'POST', '/api/v1/payments/create', { token: admin.token, body })).status).toBe(403);
  });

  it('"create" is never read as a payment reference', async () => {
    const m = await merchantWithEndpoint(null);
    for (const [method, path] of [
      ['GET', '/api/v1/payments/create'],
      ['POST', '/api/v1/payments/create/process'],
      ['POST', '/api/v1/payments/create/cancel'],
    ]) {
      const res = await call(url(), method, path, { token: m.key, body: method === 'POST' ? {} : undefined });
      expect([res.status, res.json.error.code], `${method} ${path}`).toEqual([400, 'validation_error']);
    }
  });

  it('is documented in the OpenAPI document with the request and responses of POST /api/v1/payments', async () => {
    const spec = (await call(url(), 'GET', '/openapi.json')).json;
    const alias = spec.paths['/api/v1/payments/create']?.post;
    const primary = spec.paths['/api/v1/payments'].post;
    expect(alias).toBeDefined();
    for (const part of ['requestBody', 'responses', 'security', 'x-access', 'parameters'])
      expect(alias[part], part).toEqual(primary[part]);
    expect(alias.responses['201'].content['application/json'].schema.$ref).toBe('#/components/schemas/PaymentIntent');
  });
});

describe('webhook event subscriptions', () => {
  it('an endpoint receives only the event types it subscribed to; every event is still recorded', async () => {
    const m = await merchantWithEndpoint();
    const bad = await call(url(), 'PATCH', `/api/v1/merchants/${m.id}`, {
      token: m.key,
      body: { webhook_events: ['payment_intent.refunded'] },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error.details[0].path).toBe('webhook_events.0');
    expect((await call(url(), 'PATCH', `/api/v1/merchants/${m.id}`, { token: m.key, body: {} })).status).toBe(400);
    expect(
      (await call(url(), 'PATCH', `/api/v1/merchants/${m.id}`, { token: m.key, body: { webhook_events: [] } })).status,
    ).toBe(400);

    const set = await call(url(), 'PATCH', `/api/v1/merchants/${m.id}`, {
      token: m.key,
      body: {
        webhook_events: ['payment_intent.succeeded', 'payment_intent.payment_failed', 'payment_intent.succeeded'],
      },
    });
    expect(set.status).toBe(200);
    // Setting only the event types leaves the endpoint as it was; duplicates collapse.
    expect(set.json).toMatchObject({
      webhook_url: receiver.url,
      webhook_events: ['payment_intent.succeeded', 'payment_intent.payment_failed'],
    });

    const intent = (await createIntent(m.key)).json;
    expect(
      (
        await call(url(), 'POST', `/api/v1/payments/${intent.payment_token}/process`, {
          body: { outcome: 'succeeded' },
        })
      ).json.status,
    ).toBe('succeeded');
    await awaitDeliveries(intent.order_id, 'payment_intent.succeeded');
    const detail = await call(url(), 'GET', `/api/v1/payments/${intent.id}`, { token: m.key });
    expect(detail.json.events.map((e: { type: string }) => e.type)).toEqual([
      'payment_intent.created',
      'payment_intent.processing',
      'payment_intent.succeeded',
    ]);
    const deliveries = await stack.api.deps
      .db('webhook_deliveries')
      .join('events', 'events.id', 'webhook_deliveries.event_id')
      .where({ 'events.intent_id': intent.id })
      .select('events.type');
    expect(deliveries.map((d) => d.type)).toEqual(['payment_intent.succeeded']);
    expect(deliveredTo(intent.order_id, 'payment_intent.created')).toHaveLength(0);
    expect(deliveredTo(intent.order_id, 'payment_intent.processing')).toHaveLength(0);

    // Back to everything: the next intent's creation is delivered again.
    expect(
      (await call(url(), 'PATCH', `/api/v1/merchants/${m.id}`, { token: m.key, body: { webhook_events: ['*'] } })).json
        .webhook_events,
    ).toEqual(['*']);
    await awaitDeliveries((await createIntent(m.key)).json.order_id, 'payment_intent.created');
  });
});

describe('webhook delivery', () => {
  it('retries a 500 and delivers once with the same webhook-id and a fresh timestamp', async () => {
    const m = await merchantWithEndpoint();
    receiver.script.push(500);
    const intent = (await createIntent(m.key)).json;
    const hits = await awaitDeliveries(intent.order_id, 'payment_intent.created', 2);
    expect(hits[0].headers['webhook-id']).toBe(hits[1].headers['webhook-id']);
    expect(Number(hits[1].headers['webhook-timestamp'])).toBeGreaterThanOrEqual(
      Number(hits[0].headers['webhook-timestamp']),
    );
    const history = await waitFor(async () => {
      const res = await call(url(), 'GET', `/api/v1/webhooks/history?intent_id=${intent.id}`, { token: m.key });
      return res.json.data[0]?.status === 'succeeded' && res.json;
    });
    const delivery = await call(url(), 'GET', `/api/v1/webhooks/${history.data[0].id}`, { token: m.key });
    expect(delivery.json.attempts_log.map((a: { status_code: number }) => a.status_code)).toEqual([500, 200]);
    expect(delivery.json.attempts_log[0].response_snippet).toBe('answered 500');
    await new Promise((r) => setTimeout(r, 1500));
    expect(deliveredTo(intent.order_id, 'payment_intent.created')).toHaveLength(2);
  });

  it('410 disables the endpoint and stops delivering', async () => {
    const m = await merchantWithEndpoint();
    receiver.script.push(410);
    const intent = (await createIntent(m.key)).json;
    await waitFor(
      async () => (await call(url(), 'GET', `/api/v1/merchants/${m.id}`, { token: m.key })).json.webhook_disabled_at,
    );
    const merchant = (await call(url(), 'GET', `/api/v1/merchants/${m.id}`, { token: m.key })).json;
    expect(merchant.webhook_disabled_reason).toContain('410');
    await call(url(), 'POST', `/api/v1/payments/${intent.payment_token}/process`, { body: { outcome: 'failed' } });
    await new Promise((r) => setTimeout(r, 1000));
    expect(deliveredTo(intent.order_id, 'payment_intent.payment_failed')).toHaveLength(0);
    const history = await call(url(), 'GET', `/api/v1/webhooks/history?intent_id=${intent.id}`, { token: m.key });
    expect(history.json.data.map((d: { status: string }) => d.status)).toEqual(['failed']);
  });

  it('gives up after the schedule, then a manual retry delivers', async () => {
    const m = await merchantWithEndpoint();
    receiver.script.push(503, 503, 503);
    const intent = (await createIntent(m.key)).json;
    const failed = await waitFor(async () => {
      const res = await call(url(), 'GET', `/api/v1/webhooks/history?intent_id=${intent.id}&status=failed`, {
        token: m.key,
      });
      return res.json.data[0];
    });
    expect(failed.attempts).toBe(3);
    const retried = await call(url(), 'POST', `/api/v1/webhooks/${failed.id}/retry`, { token: m.key });
    expect(retried.status).toBe(202);
    await waitFor(
      async () =>
        (await call(url(), 'GET', `/api/v1/webhooks/${failed.id}`, { token: m.key })).json.status === 'succeeded',
    );
    // Nothing failed any more: a bulk redelivery finds nothing.
    const since = new Date(Date.now() - 60_000).toISOString();
    expect(
      (await call(url(), 'POST', '/api/v1/webhooks/redeliver', { token: m.key, body: { since } })).json.redelivered,
    ).toBe(0);

    // Two more fail for good; one bulk call redelivers both.
    receiver.script.push(503, 503, 503, 503, 503, 503);
    const more = [(await createIntent(m.key)).json, (await createIntent(m.key)).json];
    await waitFor(
      async () =>
        (await call(url(), 'GET', '/api/v1/webhooks/history?status=failed', { token: m.key })).json.data.length === 2,
    );
    const bulk = await call(url(), 'POST', '/api/v1/webhooks/redeliver', { token: m.key, body: { since } });
    expect([bulk.status, bulk.json.redelivered]).toEqual([202, 2]);
    for (const intent of more) await awaitDeliveries(intent.order_id, 'payment_intent.created', 4);
    await waitFor(
      async () =>
        (await call(url(), 'GET', '/api/v1/webhooks/history?status=succeeded', { token: m.key })).json.data.length ===
        3,
    );
  });

  it('signs with both secrets for a day after a rotation', async () => {
    const m = await merchantWithEndpoint();
    const rotated = await call(url(), 'POST', `/api/v1/merchants/${m.id}/webhook-secret/rotate`, { token: m.key });
    expect(rotated.json.webhook_secret).toMatch(/^whsec_/);
    const intent = (await createIntent(m.key)).json;
    const [hit] = await awaitDeliveries(intent.order_id, 'payment_intent.created');
    expect((hit.headers['webhook-signature'] as string).split(' ')).toHaveLength(2);
    for (const secret of [m.webhookSecret, rotated.json.webhook_secret])
      expect(() => new Webhook(secret).verify(hit.body, hit.headers as Record<string, string>)).not.toThrow();
  });

  it('a restarted worker finishes a delivery that was mid-schedule', async () => {
    const m = await merchantWithEndpoint();
    receiver.script.push(500);
    const intent = (await createIntent(m.key)).json;
    await awaitDeliveries(intent.order_id, 'payment_intent.created');
    await stack.worker.stop();
    const restarted = await startWorker(testConfig(stack.settings), { codePath: process.env.WORKFLOW_BUNDLE_PATH! });
    stack.worker = restarted;
    const hits = await awaitDeliveries(intent.order_id, 'payment_intent.created', 2, 20_000);
    expect(new Set(hits.map((h) => h.headers['webhook-id'])).size).toBe(1);
  });
});

describe('webhook delivery edge cases', () => {
  it('honours Retry-After on 429 over the schedule', async () => {
    const m = await merchantWithEndpoint();
    receiver.script.push({ status: 429, headers: { 'retry-after': '3' } });
    const intent = (await createIntent(m.key)).json;
    const hits = await awaitDeliveries(intent.order_id, 'payment_intent.created', 2, 20_000);
    // The schedule alone would wait about 1 s.
    expect(hits[1].at - hits[0].at).toBeGreaterThanOrEqual(2_900);
  });

  it('retries a receiver slower than the attempt timeout, logging the timeout', async () => {
    const m = await merchantWithEndpoint();
    receiver.script.push({ status: 200, delayMs: 2_500 });
    const intent = (await createIntent(m.key)).json;
    const done = await waitFor(async () => {
      const res = await call(url(), 'GET', `/api/v1/webhooks/history?intent_id=${intent.id}`, { token: m.key });
      return res.json.data[0]?.status === 'succeeded' && res.json.data[0];
    });
    const attempts = (await call(url(), 'GET', `/api/v1/webhooks/${done.id}`, { token: m.key })).json.attempts_log;
    expect(attempts[0].error).toMatch(/timed out/);
    expect(attempts.at(-1).status_code).toBe(200);
  });

  it('disables an endpoint failing for longer than allowed and tells operators', async () => {
    const quick = await startStack({
      ...settings,
      WEBHOOK_DISABLE_AFTER_S: '1',
      WEBHOOK_RETRY_SCHEDULE_S: '0,1.5,1.5,1.5',
    });
    const failing = await startReceiver();
    failing.setFallback(500);
    try {
      const adminQuick = await signIn(quick.api.url, 'admin');
      const m = await createMerchant(quick.api.url, adminQuick.token);
      await call(quick.api.url, 'PATCH', `/api/v1/merchants/${m.id}`, {
        token: m.key,
        body: { webhook_url: failing.url },
      });
      const events: string[] = [];
      const stop = quick.api.deps.events.listen(
        (e) => void (e.type === 'webhook_endpoint.disabled' && e.data.merchant_id === m.id && events.push(e.type)),
      );
      await call(quick.api.url, 'POST', '/api/v1/payments', {
        token: m.key,
        body: { amount: 5, currency: 'eur', order_id: unique('dis') },
      });
      const merchant = await waitFor(async () => {
        const res = await call(quick.api.url, 'GET', `/api/v1/merchants/${m.id}`, { token: m.key });
        return res.json.webhook_disabled_at && res.json;
      }, 20_000);
      expect(merchant.webhook_disabled_reason).toMatch(/failed continuously/);
      await waitFor(() => events.length > 0);
      stop();
      expect(failing.received.length).toBeLessThan(4);
    } finally {
      await failing.close();
      await quick.close();
    }
  });

  it('tags workflows with search attributes for the Temporal Web UI', async () => {
    const m = await merchantWithEndpoint();
    const intent = (await createIntent(m.key)).json;
    await call(url(), 'POST', `/api/v1/payments/${intent.payment_token}/process`, { body: { outcome: 'succeeded' } });
    const found = await waitFor(async () => {
      const ids: string[] = [];
      for await (const wf of stack.api.deps.temporal.client.workflow.list({
        query: `MerchantId = '${m.id}' AND BusinessStatus = 'succeeded'`,
      }))
        ids.push(wf.workflowId);
      return ids.length > 0 && ids;
    }, 20_000);
    expect(found).toEqual([intent.workflow_id]);
  });
});

describe('outbound safety and tenants', () => {
  it('refuses endpoints on private, loopback and metadata addresses', async () => {
    const m = await createMerchant(url(), admin.token);
    for (const target of [
      'http://169.254.169.254/latest',
      'http://10.0.0.5/hook',
      'http://[::1]/hook',
      'ftp://example.com/x',
    ]) {
      const res = await call(url(), 'PATCH', `/api/v1/merchants/${m.id}`, {
        token: m.key,
        body: { webhook_url: target },
      });
      expect(res.status, target).toBe(400);
    }
  });

  it('a name resolving to loopback is refused when connecting', async () => {
    const strict = await startStack({ ...settings, OUTBOUND_ALLOWLIST: '' });
    try {
      const adminStrict = await signIn(strict.api.url, 'admin');
      const m = await createMerchant(strict.api.url, adminStrict.token);
      const port = new URL(receiver.url).port;
      expect(
        (
          await call(strict.api.url, 'PATCH', `/api/v1/merchants/${m.id}`, {
            token: m.key,
            body: { webhook_url: `http://localhost:${port}/hooks` },
          })
        ).status,
      ).toBe(200);
      const intent = (
        await call(strict.api.url, 'POST', '/api/v1/payments', {
          token: m.key,
          body: { amount: 1, currency: 'eur', order_id: unique('ssrf') },
        })
      ).json;
      const delivery = await waitFor(
        async () =>
          (await call(strict.api.url, 'GET', `/api/v1/webhooks/history?intent_id=${intent.id}`, { token: m.key })).json
            .data[0]?.last_error,
      );
      expect(delivery).toMatch(/not a public address/);
      expect(deliveredTo(intent.order_id, 'payment_intent.created')).toHaveLength(0);
    } finally {
      await strict.close();
    }
  });

  it('a merchant never sees or touches another merchant’s intents and deliveries', async () => {
    const a = await merchantWithEndpoint();
    const b = await merchantWithEndpoint();
    const intent = (await createIntent(a.key)).json;
    const delivery = await waitFor(
      async () =>
        (await call(url(), 'GET', `/api/v1/webhooks/history?intent_id=${intent.id}`, { token: a.key })).json.data[0],
    );
    expect((await call(url(), 'GET', `/api/v1/payments/${intent.id}`, { token: b.key })).status).toBe(404);
    expect((await call(url(), 'POST', `/api/v1/payments/${intent.id}/cancel`, { token: b.key, body: {} })).status).toBe(
      404,
    );
    expect((await call(url(), 'GET', `/api/v1/webhooks/${delivery.id}`, { token: b.key })).status).toBe(404);
    expect((await call(url(), 'POST', `/api/v1/webhooks/${delivery.id}/retry`, { token: b.key })).status).toBe(404);
    expect(
      (await call(url(), 'GET', '/api/v1/payments', { token: b.key })).json.data.some(
        (p: { id: string }) => p.id === intent.id,
      ),
    ).toBe(false);
    expect(
      (await call(url(), 'GET', `/api/v1/webhooks/history?intent_id=${intent.id}`, { token: b.key })).json.data,
    ).toEqual([]);
    expect((await call(url(), 'GET', `/api/v1/payments/${intent.id}`)).status).toBe(401);
    // Operators see everything.
    expect((await call(url(), 'GET', `/api/v1/payments/${intent.id}`, { token: admin.token })).status).toBe(200);
  });
});

describe('expiry', () => {
  it('an unpaid intent is canceled as expired by a durable timer', async () => {
    const short = await startStack({ ...settings, PAYMENT_EXPIRY_S: '2' });
    try {
      const adminShort = await signIn(short.api.url, 'admin');
      const m = await createMerchant(short.api.url, adminShort.token);
      const intent = (
        await call(short.api.url, 'POST', '/api/v1/payments', {
          token: m.key,
          body: { amount: 10, currency: 'eur', order_id: unique('exp') },
        })
      ).json;
      const expired = await waitFor(async () => {
        const res = await call(short.api.url, 'GET', `/api/v1/payments/${intent.id}`, { token: m.key });
        return res.json.status === 'canceled' && res.json;
      }, 15_000);
      expect(expired.cancellation_reason).toBe('expired');
      expect(expired.transactions.at(-1)).toMatchObject({ to_status: 'canceled', data: { reason: 'expired' } });
    } finally {
      await short.close();
    }
  });
});
