/**
 * Payments end to end (create → payer processes → `payment_intent.succeeded` received by a real
 * webhook receiver) beside the baseline: a bare workflow with one HTTP-POST activity, same server.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMerchant, issueApiKey } from '../db/merchants.js';
import type { bareHttpPostWorkflow } from './baseline/workflows.js';
import { benchEnvironment, measuredPool, percentile, writeResult } from './harness.js';

const LOST_AFTER_MS = 120_000;

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
    const runId = randomBytes(3).toString('hex');
    // A webhook that never comes is a bug to report, not a benchmark that hangs.
    const lost = (orderId: string) =>
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`payment_intent.succeeded for ${orderId} not received within ${LOST_AFTER_MS / 1000} s`)), LOST_AFTER_MS).unref());
    /** Intents end to end for a merchant whose endpoint takes `events`: seconds, create and end-to-end latencies. */
    const intents = async (events: string[]) => {
      const { merchant } = await createMerchant({ name: `bench ${events.join(' ')}`, webhook_url: `${receiverUrl}/hooks`, webhook_events: events }, env.config.secretsKey);
      const { key } = await issueApiKey(merchant.id, 'bench');
      const post = (path: string, body: unknown, auth = true) =>
        fetch(`${env.apiUrl}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${key}` } : {}) },
          body: JSON.stringify(body),
        });
      const createLatencies: number[] = [];
      const endToEnd: number[] = [];
      const run = await measuredPool(n, concurrency, async (i) => {
        const orderId = `bench-${runId}-${merchant.id}-${i}`;
        const started = performance.now();
        const delivered = new Promise<void>((resolve) => waiting.set(orderId, resolve));
        const created = await post('/api/v1/payments', { amount: 1000 + i, currency: 'eur', order_id: orderId });
        createLatencies.push(performance.now() - started);
        if (created.status !== 201) throw new Error(`create failed: ${created.status} ${await created.text()}`);
        const { payment_token } = (await created.json()) as { payment_token: string };
        const processed = await post(`/api/v1/payments/${payment_token}/process`, { outcome: 'succeeded' }, false);
        if (processed.status !== 200) throw new Error(`process failed: ${processed.status}`);
        await Promise.race([delivered, lost(orderId)]);
        endToEnd.push(performance.now() - started);
      });
      return { ...run, createLatencies, endToEnd };
    };

    // Every event delivered (created, processing, succeeded: three delivery workflows per intent),
    // then an endpoint subscribed to the final event only — one webhook per intent, as in the baseline.
    const all = await intents(['*']);
    const finalOnly = await intents(['payment_intent.succeeded', 'payment_intent.payment_failed']);

    const baseline = await measuredPool(n, concurrency, async (i) => {
      await env.deps.temporal.client.workflow.execute<typeof bareHttpPostWorkflow>('bareHttpPostWorkflow', {
        taskQueue: env.baselineQueue,
        workflowId: `baseline-${runId}-${i}`,
        args: [`${receiverUrl}/baseline`, JSON.stringify({ i })],
      });
    });
    if (baselineHits !== n) throw new Error(`baseline delivered ${baselineHits} of ${n}`);

    const cpuMsEach = (cpuSeconds: number | null) => (cpuSeconds === null ? null : (1000 * cpuSeconds) / n);
    const latencies = (run: Awaited<ReturnType<typeof intents>>) => ({
      intents_per_s: n / run.seconds,
      ratio: baseline.seconds / run.seconds,
      // The machine's CPU per intent (all processes) ÷ per baseline workflow: on a saturated machine the ratio is about its inverse.
      cpu_ms_per_intent: cpuMsEach(run.cpuSeconds),
      create_latency_ms: { p50: percentile(run.createLatencies, 50), p99: percentile(run.createLatencies, 99) },
      end_to_end_ms: { p50: percentile(run.endToEnd, 50), p99: percentile(run.endToEnd, 99) },
    });
    const every = latencies(all);
    const final = latencies(finalOnly);
    const result = {
      n,
      concurrency,
      baseline_workflows_per_s: n / baseline.seconds,
      baseline_cpu_ms_per_workflow: cpuMsEach(baseline.cpuSeconds),
      ...every,
      goal: 0.7,
      final_event_only: final,
      variants: { 'endpoint subscribed to the final event only (one webhook per intent, as in the baseline)': final.ratio },
    };
    const file = writeResult('payments', result);
    const cpu = (ms: number | null) => (ms === null ? '' : `, ${ms.toFixed(1)} CPU-ms each (whole machine)`);
    console.log(`payments: baseline ${result.baseline_workflows_per_s.toFixed(1)} workflows/s (one workflow, one HTTP POST)${cpu(result.baseline_cpu_ms_per_workflow)}`);
    for (const [label, r] of [['every event delivered', every], ['final event only    ', final]] as const) {
      console.log(
        `  ${label}: ${r.intents_per_s.toFixed(1)} intents/s → ratio ${r.ratio.toFixed(2)} (goal ≥ ${result.goal}); create p50 ${r.create_latency_ms.p50.toFixed(1)} ms, ` +
          `p99 ${r.create_latency_ms.p99.toFixed(1)} ms; end to end p50 ${r.end_to_end_ms.p50.toFixed(0)} ms, p99 ${r.end_to_end_ms.p99.toFixed(0)} ms${cpu(r.cpu_ms_per_intent)}`,
      );
    }
    console.log(`  → ${file}`);
    return result;
  } finally {
    receiver.closeAllConnections();
    receiver.close();
    await env.close();
  }
}
