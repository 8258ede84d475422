/**
 * Payments end to end (create → payer processes → `payment_intent.succeeded` received by a real
 * webhook receiver) beside the baseline: a bare workflow with one HTTP-POST activity, same server.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMerchant, issueApiKey } from '../db/merchants.js';
import type { bareHttpPostWorkflow } from './baseline/workflows.js';
import { benchEnvironment, percentile, runPool, writeResult } from './harness.js';

export async function paymentsBench({ n = 200, concurrency = 20 } = {}) {
  const env = await benchEnvironment({ OUTBOUND_ALLOWLIST: '127.0.0.1/32' });
  const waiting = new Map<string, () => void>();
  let baselineHits = 0;
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      res.end('ok');
      if (req.url === '/baseline') return void baselineHits++;
      const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { type: string; data: { order_id: string } };
      if (event.type === 'payment_intent.succeeded') waiting.get(event.data.order_id)?.();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

  try {
    const { merchant } = await createMerchant({ name: 'bench', webhook_url: `${receiverUrl}/hooks` }, env.config.secretsKey);
    const { key } = await issueApiKey(merchant.id, 'bench');
    const post = (path: string, body: unknown, auth = true) =>
      fetch(`${env.apiUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${key}` } : {}) },
        body: JSON.stringify(body),
      });

    const createLatencies: number[] = [];
    const endToEnd: number[] = [];
    const runId = randomBytes(3).toString('hex');
    const e2eSeconds = await runPool(n, concurrency, async (i) => {
      const orderId = `bench-${runId}-${i}`;
      const started = performance.now();
      const delivered = new Promise<void>((resolve) => waiting.set(orderId, resolve));
      const created = await post('/api/v1/payments', { amount: 1000 + i, currency: 'eur', order_id: orderId });
      createLatencies.push(performance.now() - started);
      if (created.status !== 201) throw new Error(`create failed: ${created.status} ${await created.text()}`);
      const { payment_token } = (await created.json()) as { payment_token: string };
      const processed = await post(`/api/v1/payments/${payment_token}/process`, { outcome: 'succeeded' }, false);
      if (processed.status !== 200) throw new Error(`process failed: ${processed.status}`);
      await delivered;
      endToEnd.push(performance.now() - started);
    });

    const baselineSeconds = await runPool(n, concurrency, async (i) => {
      await env.deps.temporal.client.workflow.execute<typeof bareHttpPostWorkflow>('bareHttpPostWorkflow', {
        taskQueue: env.baselineQueue,
        workflowId: `baseline-${runId}-${i}`,
        args: [`${receiverUrl}/baseline`, JSON.stringify({ i })],
      });
    });
    if (baselineHits !== n) throw new Error(`baseline delivered ${baselineHits} of ${n}`);

    const result = {
      n,
      concurrency,
      intents_per_s: n / e2eSeconds,
      baseline_workflows_per_s: n / baselineSeconds,
      ratio: n / e2eSeconds / (n / baselineSeconds),
      goal: 0.7,
      create_latency_ms: { p50: percentile(createLatencies, 50), p99: percentile(createLatencies, 99) },
      end_to_end_ms: { p50: percentile(endToEnd, 50), p99: percentile(endToEnd, 99) },
    };
    const file = writeResult('payments', result);
    console.log(`payments: ${result.intents_per_s.toFixed(1)} intents/s end to end vs baseline ${result.baseline_workflows_per_s.toFixed(1)} workflows/s`);
    console.log(`  ratio ${result.ratio.toFixed(2)} (goal ≥ ${result.goal}); create latency p50 ${result.create_latency_ms.p50.toFixed(1)} ms, p99 ${result.create_latency_ms.p99.toFixed(1)} ms`);
    console.log(`  end-to-end p50 ${result.end_to_end_ms.p50.toFixed(0)} ms, p99 ${result.end_to_end_ms.p99.toFixed(0)} ms → ${file}`);
    return result;
  } finally {
    receiver.closeAllConnections();
    receiver.close();
    await env.close();
  }
}
