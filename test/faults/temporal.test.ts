/**
 * The Temporal dev server (SQLite on disk) is stopped mid-flight and started again on the same port
 * and file: the API and the worker reconnect by themselves, and every workflow resumes where it was.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startTemporal } from '../../scripts/services.js';
import { call, createMerchant, signIn, startStack, unique } from '../helpers.js';
import { startReceiver, waitFor } from '../receiver.js';
import { pause } from './processes.js';

const dataDir = mkdtempSync(path.join(tmpdir(), 'meridian-faults-temporal-'));
const serviceOptions = { dataDir, persistent: true, log: () => {} };
let port: number;
let temporal: Awaited<ReturnType<typeof startTemporal>>;
let stack: Awaited<ReturnType<typeof startStack>>;
let receiver: Awaited<ReturnType<typeof startReceiver>>;

beforeAll(async () => {
  port = await freePort();
  temporal = await startTemporal(serviceOptions, port);
  receiver = await startReceiver();
  stack = await startStack({
    TEMPORAL_ADDRESS: temporal.address,
    OUTBOUND_ALLOWLIST: '127.0.0.1/32',
    WEBHOOK_RETRY_SCHEDULE_S: '0,1,2,3,5,8',
  });
});
afterAll(async () => {
  await stack?.close();
  await temporal?.stop();
  await receiver?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('a Temporal server restart', () => {
  it('loses no workflow: intents started before it are paid after it, deliveries in flight arrive', async () => {
    const url = stack.api.url;
    const admin = await signIn(url, 'admin');
    const merchant = await createMerchant(url, admin.token);
    await call(url, 'PATCH', `/api/v1/merchants/${merchant.id}`, {
      token: admin.token,
      body: { webhook_url: receiver.url },
    });
    // The receiver is slow to answer at first, so deliveries are still in flight when the server goes.
    receiver.script.push(...Array.from({ length: 6 }, () => ({ status: 200, delayMs: 1500 })));

    const intents = [];
    for (let i = 0; i < 6; i++) {
      const created = await call(url, 'POST', '/api/v1/payments', {
        token: merchant.key,
        body: { amount: 500 + i, currency: 'usd', order_id: unique('order') },
      });
      expect(created.status, created.text).toBe(201);
      intents.push(created.json as { id: string; payment_token: string });
    }
    for (const intent of intents.slice(0, 3)) {
      expect(
        (
          await call(url, 'POST', `/api/v1/payments/${intent.payment_token}/process`, {
            body: { outcome: 'succeeded' },
          })
        ).json.status,
      ).toBe('succeeded');
    }

    await temporal.stop();
    const whileDown = await call(url, 'GET', '/readyz');
    expect(whileDown.status).toBe(503);
    expect(whileDown.json.error.details.checks.temporal.status).toBe('down');
    await pause(2000);
    temporal = await startTemporal(serviceOptions, port);

    await waitFor(
      async () => (await call(url, 'GET', '/readyz')).status === 200,
      30_000,
      'readiness after the restart',
    );
    for (const intent of intents.slice(3)) {
      const res = await call(url, 'POST', `/api/v1/payments/${intent.payment_token}/process`, {
        body: { outcome: 'succeeded' },
      });
      expect(res.status, res.text).toBe(200);
      expect(res.json.status).toBe('succeeded');
    }
    // Three events per intent (created, processing, succeeded), each received at least once.
    await waitFor(
      () => {
        const ids = new Set(receiver.received.map((r) => r.headers['webhook-id']));
        return ids.size >= intents.length * 3;
      },
      60_000,
      'every webhook',
    );
    const succeeded = receiver.forType('payment_intent.succeeded').map((r) => JSON.parse(r.body).data.id);
    expect(new Set(succeeded)).toEqual(new Set(intents.map((i) => i.id)));
  });
});
