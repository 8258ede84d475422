/**
 * An Idempotency-Key whose request died mid-way: the API process is killed (SIGKILL) inside the handler, or the final
 * bookkeeping write fails. While the request lives its key answers 409; once its lease lapses a retry replays what
 * the dead request committed, or runs it again when nothing was committed: one intent either way (one monitor, one
 * secret rotation for the other operations that must happen once per key).
 *
 * The request is stalled inside PostgreSQL, not in the code: a trigger (for one merchant only) waits on an advisory
 * lock that the test holds — at the intent's commit, or at the key's final write.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, releaseDb, type Knex } from '../../db/knex.js';
import { decryptSecret } from '../../lib/platform/crypto.js';
import { createMerchant, signIn, testConfig, unique } from '../helpers.js';
import { waitFor } from '../receiver.js';
import { pause, spawnApi } from './processes.js';

const LEASE_S = 2;
const settings = { TEMPORAL_TASK_QUEUE: unique('idem'), IDEMPOTENCY_LEASE_S: String(LEASE_S) };

let api: Awaited<ReturnType<typeof spawnApi>>;
let db: Knex;
let adminToken: string;

beforeAll(async () => {
  db = openDb(process.env.DATABASE_URL!);
  api = await spawnApi(settings);
  adminToken = (await signIn(api.url, 'admin')).token;
});
afterAll(async () => {
  await api?.kill();
  if (db) await releaseDb(db);
});

interface Answer {
  status: number;
  replayed: string | null;
  json: any;
}

/** A merchant's POST with an Idempotency-Key; rejects when no answer comes within `timeoutMs`. */
async function post(path: string, merchantKey: string, key: string, body: object, timeoutMs = 10_000): Promise<Answer> {
  const res = await fetch(`${api.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${merchantKey}`, 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: res.status, replayed: res.headers.get('idempotent-replayed'), json: await res.json() };
}

const create = (merchantKey: string, key: string, body: object, timeoutMs?: number) =>
  post('/api/v1/payments', merchantKey, key, body, timeoutMs);

/** Retries until the key is no longer in progress (its lease lapsed); the first other answer. */
async function retryUntilAccepted(
  merchantKey: string,
  key: string,
  body: object,
  path = '/api/v1/payments',
): Promise<Answer> {
  for (const deadline = Date.now() + (LEASE_S + 10) * 1000; ; await pause(200)) {
    const answer = await post(path, merchantKey, key, body);
    if (answer.status !== 409 || Date.now() > deadline) return answer;
    expect(answer.json.error.code).toBe('idempotency_in_progress');
  }
}

const intentsOf = (merchantId: string) => db('payment_intents').where({ merchant_id: merchantId }).pluck('id');

/**
 * A trigger, for one merchant's rows, that stalls the request at `at` (the intent's commit, or the key's final write
 * marking it done) until the test releases an advisory lock it holds (`open`) — or, with `fail`, raises there.
 */
async function stall(merchantId: string, at: 'intent commit' | 'key done', fail = false) {
  const name = unique('test_stall').replace('-', '_');
  const lock = [17017, randomInt(1, 2 ** 31 - 1)];
  const holder = await db.transaction();
  await holder.raw('SELECT pg_advisory_xact_lock(?, ?)', lock);
  const body = fail
    ? `RAISE EXCEPTION 'bookkeeping write failed (test)'`
    : `PERFORM pg_advisory_xact_lock(${lock.join(', ')})`;
  await db.raw(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ${body}; RETURN NEW; END $$`);
  await db.raw(
    at === 'intent commit'
      ? `CREATE CONSTRAINT TRIGGER ${name} AFTER INSERT ON payment_intents DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
         WHEN (NEW.merchant_id = '${merchantId}') EXECUTE FUNCTION ${name}()`
      : `CREATE TRIGGER ${name} BEFORE UPDATE ON idempotency_keys FOR EACH ROW
         WHEN (NEW.merchant_id = '${merchantId}' AND NEW.state = 'done') EXECUTE FUNCTION ${name}()`,
  );
  const table = at === 'intent commit' ? 'payment_intents' : 'idempotency_keys';
  return {
    /** The backend of the stalled request, once it waits on the lock. */
    async stalled(): Promise<number> {
      const waiting = async () =>
        (
          await db.raw(
            `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = ? AND objid = ? AND objsubid = 2`,
            lock,
          )
        ).rows[0]?.pid as number | undefined;
      return waitFor(waiting, 30_000, `a request stalled at ${at}`);
    },
    async open() {
      await holder.commit();
    },
    async remove() {
      if (!holder.isCompleted()) await holder.commit();
      await db.raw(`DROP TRIGGER ${name} ON ${table}`);
      await db.raw(`DROP FUNCTION ${name}()`);
    },
  };
}

/** Kills the API (SIGKILL) and starts a new one. */
async function crashAndRestart() {
  await api.kill();
  api = await spawnApi(settings);
}

const order = () => ({ amount: 4200, currency: 'eur', order_id: unique('order') });

describe('an Idempotency-Key outlives a crashed request by one lease', () => {
  it('killed after the intent committed, before the key was marked done: the retry replays that intent', async () => {
    const m = await createMerchant(api.url, adminToken);
    const key = randomUUID();
    const body = order();
    const gate = await stall(m.id, 'key done');
    try {
      const first = create(m.key, key, body).catch((error: Error) => error);
      const backend = await gate.stalled();
      const [committed] = await intentsOf(m.id);
      expect(committed).toBeDefined();
      await crashAndRestart();
      expect(await first).toBeInstanceOf(Error);
      // The dead process's connection goes with it: its unfinished write is rolled back.
      await db.raw('SELECT pg_terminate_backend(?)', [backend]);
    } finally {
      await gate.remove();
    }
    const retry = await retryUntilAccepted(m.key, key, body);
    expect([retry.status, retry.replayed]).toEqual([201, 'true']);
    expect(retry.json).toMatchObject({ amount: 4200, order_id: body.order_id });
    expect(await intentsOf(m.id)).toEqual([retry.json.id]);
    expect(retry.json.payment_token).toMatch(/^pt_/);
    const again = await create(m.key, key, body);
    expect([again.status, again.replayed, again.json]).toEqual([201, 'true', retry.json]);
  });

  it('killed while the intent commits and the commit is lost: 409 while it lives, then the retry runs it again', async () => {
    const m = await createMerchant(api.url, adminToken);
    const key = randomUUID();
    const body = order();
    const gate = await stall(m.id, 'intent commit');
    try {
      const first = create(m.key, key, body).catch((error: Error) => error);
      const backend = await gate.stalled();
      // Alive for several leases: it keeps renewing its own, so a retry is told to wait and does not run it twice.
      await pause(3 * LEASE_S * 1000);
      const busy = await create(m.key, key, body, 5000);
      expect([busy.status, busy.json.error.code]).toEqual([409, 'idempotency_in_progress']);
      await crashAndRestart();
      expect(await first).toBeInstanceOf(Error);
      await db.raw('SELECT pg_terminate_backend(?)', [backend]);
    } finally {
      await gate.remove();
    }
    expect(await intentsOf(m.id)).toEqual([]);
    const retry = await retryUntilAccepted(m.key, key, body);
    expect([retry.status, retry.replayed]).toEqual([201, null]);
    expect(await intentsOf(m.id)).toEqual([retry.json.id]);
    const again = await create(m.key, key, body);
    expect([again.status, again.replayed, again.json]).toEqual([201, 'true', retry.json]);
  });

  it('killed while the intent commits and the commit lands later: the retry waits for it and replays it', async () => {
    const m = await createMerchant(api.url, adminToken);
    const key = randomUUID();
    const body = order();
    const gate = await stall(m.id, 'intent commit');
    try {
      const first = create(m.key, key, body).catch((error: Error) => error);
      const backend = await gate.stalled();
      await crashAndRestart();
      expect(await first).toBeInstanceOf(Error);
      await pause(LEASE_S * 1000 + 200);
      // The lease has lapsed but the dead request's transaction is still open: the retry's own insert of the intent
      // waits behind it, then finds it committed.
      let answered = false;
      const retry = create(m.key, key, body, 30_000).finally(() => (answered = true));
      const waitsBehind = async () =>
        answered ||
        (
          await db.raw(
            `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'transactionid' AND pid <> ?`,
            [backend],
          )
        ).rows.length > 0;
      await waitFor(waitsBehind, 30_000, 'the retry to wait for the open transaction');
      await gate.open();
      const answer = await retry;
      expect([answer.status, answer.replayed]).toEqual([201, 'true']);
      expect(await intentsOf(m.id)).toEqual([answer.json.id]);
    } finally {
      await gate.remove();
    }
  });
});

type Merchant = Awaited<ReturnType<typeof createMerchant>>;

/** The merchant POSTs whose work must happen once per key, and how to tell that it did. */
const onceOperations: {
  name: string;
  path: (m: Merchant) => string;
  body: () => object;
  status: number;
  doneOnce: (m: Merchant, answer: Answer) => Promise<void>;
}[] = [
  {
    name: 'POST /api/v1/payments',
    path: () => '/api/v1/payments',
    body: order,
    status: 201,
    doneOnce: async (m, answer) => expect(await intentsOf(m.id)).toEqual([answer.json.id]),
  },
  {
    name: 'POST /api/v1/monitors',
    path: () => '/api/v1/monitors',
    body: () => ({ url: 'https://shop.example/p/1', target_price: 10, currency: 'usd', interval: 3600 }),
    status: 201,
    doneOnce: async (m, answer) =>
      expect(await db('monitors').where({ merchant_id: m.id }).pluck('id')).toEqual([answer.json.id]),
  },
  {
    name: 'POST /api/v1/merchants/{id}/webhook-secret/rotate',
    path: (m) => `/api/v1/merchants/${m.id}/webhook-secret/rotate`,
    body: () => ({}),
    status: 200,
    // Rotated once: the answered secret signs, and the one the merchant had before still does, for the overlap.
    doneOnce: async (m, answer) => {
      const row = await db('merchants').where({ id: m.id }).first();
      const open = (sealed: string) => decryptSecret(sealed, testConfig().secretsKey);
      expect([open(row.webhook_secret_enc), open(row.webhook_secret_prev_enc)]).toEqual([
        answer.json.webhook_secret,
        m.webhookSecret,
      ]);
    },
  },
];

describe('the final bookkeeping write of an Idempotency-Key fails', () => {
  it.each(onceOperations)(
    '$name: the work’s answer stands, and a retry after the lease replays it without doing it again',
    async ({ path, body: makeBody, status, doneOnce }) => {
      const m = await createMerchant(api.url, adminToken);
      const key = randomUUID();
      const body = makeBody();
      const gate = await stall(m.id, 'key done', true);
      const first = await post(path(m), m.key, key, body).finally(() => gate.remove());
      expect(first.status, JSON.stringify(first.json)).toBe(status);
      // Still held by the lease the request took: nothing marks it done, nothing frees it at once.
      const state = () => db('idempotency_keys').where({ merchant_id: m.id, key }).first('state');
      expect(await state()).toEqual({ state: 'running' });
      const retry = await retryUntilAccepted(m.key, key, body, path(m));
      expect([retry.status, retry.replayed]).toEqual([status, 'true']);
      expect(retry.json).toEqual(first.json);
      await doneOnce(m, retry);
      expect(await state()).toEqual({ state: 'done' });
    },
  );
});
