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

interface Run {
  seconds: number;
  cpuSeconds: number | null;
  createLatencies: number[];
  endToEnd: number[];
}

export async function paymentsBench({ n = 200, concurrency = 20, rounds = 3 } = {}) {
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
    // A webhook that never comes is a bug to report, not a benchmark that hangs.
    const lost = (orderId: string) =>
      new Promise<never>((_, reject) =>
        setTimeout(
          () =>
            reject(new Error(`payment_intent.succeeded for ${orderId} not received within ${LOST_AFTER_MS / 1000} s`)),
          LOST_AFTER_MS,
        ).unref(),
      );
    /** One round of intents end to end for a merchant whose endpoint takes `events`. */
    const intents = async (runId: string, events: string[]): Promise<Run> => {
      const { merchant } = await createMerchant(
        { name: `bench ${events.join(' ')}`, webhook_url: `${receiverUrl}/hooks`, webhook_events: events },
        env.config.secretsKey,
      );
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
    const bareWorkflows = (runId: string): Promise<Run> =>
      measuredPool(n, concurrency, async (i) => {
        await env.deps.temporal.client.workflow.execute<typeof bareHttpPostWorkflow>('bareHttpPostWorkflow', {
          taskQueue: env.baselineQueue,
          workflowId: `baseline-${runId}-${i}`,
          args: [`${receiverUrl}/baseline`, JSON.stringify({ i })],
        });
      }).then((run) => ({ ...run, createLatencies: [], endToEnd: [] }));

    // This machine's speed drifts by a third within minutes, so the three shapes take turns, round after
    // round: every event delivered (created, processing, succeeded: three delivery workflows per intent),
    // an endpoint subscribed to the final event only (one webhook per intent, as in the baseline), the baseline.
    const every: Run[] = [];
    const final: Run[] = [];
    const baseline: Run[] = [];
    for (let round = 0; round < rounds; round++) {
      const runId = randomBytes(3).toString('hex');
      every.push(await intents(runId, ['*']));
      final.push(await intents(runId, ['payment_intent.succeeded', 'payment_intent.payment_failed']));
      baseline.push(await bareWorkflows(runId));
    }
    if (baselineHits !== n * rounds) throw new Error(`baseline delivered ${baselineHits} of ${n * rounds}`);

    const total = (runs: Run[], key: 'seconds' | 'cpuSeconds') =>
      runs.some((r) => r[key] === null) ? null : runs.reduce((sum, r) => sum + r[key]!, 0);
    const cpuMsEach = (runs: Run[]) => {
      const cpu = total(runs, 'cpuSeconds');
      return cpu === null ? null : (1000 * cpu) / (n * rounds);
    };
    const baselineSeconds = total(baseline, 'seconds')!;
    const summary = (runs: Run[]) => {
      const createLatencies = runs.flatMap((r) => r.createLatencies);
      const endToEnd = runs.flatMap((r) => r.endToEnd);
      const roundRatios = runs.map((r, i) => baseline[i].seconds / r.seconds);
      return {
        intents_per_s: (n * rounds) / total(runs, 'seconds')!,
        ratio: baselineSeconds / total(runs, 'seconds')!,
        ratio_range: [Math.min(...roundRatios), Math.max(...roundRatios)],
        // The machine's CPU per intent (all processes); on a saturated machine the ratio is about baseline ÷ this.
        cpu_ms_per_intent: cpuMsEach(runs),
        create_latency_ms: { p50: percentile(createLatencies, 50), p99: percentile(createLatencies, 99) },
        end_to_end_ms: { p50: percentile(endToEnd, 50), p99: percentile(endToEnd, 99) },
      };
    };
    const everyEvent = summary(every);
    const finalEvent = summary(final);
    const result = {
      n,
      concurrency,
      rounds,
      baseline_workflows_per_s: (n * rounds) / baselineSeconds,
      baseline_cpu_ms_per_workflow: cpuMsEach(baseline),
      ...everyEvent,
      goal: 0.7,
      final_event_only: finalEvent,
      variants: {
        'endpoint subscribed to the final event only (one webhook per intent, as in the baseline)': finalEvent.ratio,
      },
    };
    const file = writeResult('payments', result);
    const cpu = (ms: number | null) => (ms === null ? '' : `, ${ms.toFixed(1)} CPU-ms each (whole machine)`);
    console.log(
      `payments, ${rounds} rounds of ${n}: baseline ${result.baseline_workflows_per_s.toFixed(1)} workflows/s (one workflow, one HTTP POST)${cpu(result.baseline_cpu_ms_per_workflow)}`,
    );
    for (const [label, r] of [
      ['every event delivered', everyEvent],
      ['final event only    ', finalEvent],
    ] as const) {
      console.log(
        `  ${label}: ${r.intents_per_s.toFixed(1)} intents/s → ratio ${r.ratio.toFixed(2)} (rounds ${r.ratio_range.map((x) => x.toFixed(2)).join('–')}; goal ≥ ${result.goal}); ` +
          `create p50 ${r.create_latency_ms.p50.toFixed(1)} ms, p99 ${r.create_latency_ms.p99.toFixed(1)} ms; end to end p50 ${r.end_to_end_ms.p50.toFixed(0)} ms, p99 ${r.end_to_end_ms.p99.toFixed(0)} ms${cpu(r.cpu_ms_per_intent)}`,
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
