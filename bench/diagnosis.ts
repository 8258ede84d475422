/**
 * Diagnosis: a chat message's round trip through the API (Update → persist → built-in engine → persist
 * → reply) beside a no-op Update on the same server; `concurrency` sessions talk at once.
 */
import { noopUpdate, type noopUpdateWorkflow } from './baseline/workflows.js';
import { benchEnvironment, percentile, runPool, writeResult } from './harness.js';

const LINES = ['There is a grinding noise', 'Only when I brake', 'It started last week', 'And a squeal too'];

export async function diagnosisBench({ n = 400, concurrency = 10 } = {}) {
  const env = await benchEnvironment({ DIAGNOSIS_MESSAGES_PER_MIN: '100000' });
  try {
    const sessions = await Promise.all(
      Array.from({ length: concurrency }, async () => {
        const res = await fetch(`${env.apiUrl}/api/v1/diagnosis/sessions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ vehicle: { make: 'Skoda', model: 'Octavia', year: 2016, mileage: 140000 } }),
        });
        const body = (await res.json()) as { id: string; access_token: string };
        return body;
      }),
    );
    const latencies: number[] = [];
    const perSession = Math.ceil(n / concurrency);
    const messageSeconds = await runPool(concurrency, concurrency, async (i) => {
      for (let k = 0; k < perSession; k++) {
        const started = performance.now();
        const res = await fetch(`${env.apiUrl}/api/v1/diagnosis/sessions/${sessions[i].id}/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-session-token': sessions[i].access_token },
          body: JSON.stringify({ text: LINES[k % LINES.length] }),
        });
        if (res.status !== 200) throw new Error(`message failed: ${res.status} ${await res.text()}`);
        latencies.push(performance.now() - started);
      }
    });

    const runId = Date.now().toString(36);
    const handles = await Promise.all(
      Array.from({ length: concurrency }, (_, i) =>
        env.deps.temporal.client.workflow.start<typeof noopUpdateWorkflow>('noopUpdateWorkflow', {
          taskQueue: env.baselineQueue,
          workflowId: `noop-${runId}-${i}`,
        }),
      ),
    );
    const baselineSeconds = await runPool(concurrency, concurrency, async (i) => {
      for (let k = 0; k < perSession; k++) await handles[i].executeUpdate(noopUpdate, { args: [k] });
    });
    await Promise.all(handles.map((h) => h.executeUpdate('finish')));

    const total = perSession * concurrency;
    const result = {
      n: total,
      concurrency,
      messages_per_s: total / messageSeconds,
      baseline_updates_per_s: total / baselineSeconds,
      ratio: total / messageSeconds / (total / baselineSeconds),
      message_round_trip_ms: { p50: percentile(latencies, 50), p99: percentile(latencies, 99) },
    };
    const file = writeResult('diagnosis', result);
    console.log(
      `diagnosis: ${result.messages_per_s.toFixed(1)} messages/s vs ${result.baseline_updates_per_s.toFixed(1)} no-op Updates/s → ratio ${result.ratio.toFixed(2)}`,
    );
    console.log(
      `  round trip p50 ${result.message_round_trip_ms.p50.toFixed(1)} ms, p99 ${result.message_round_trip_ms.p99.toFixed(1)} ms → ${file}`,
    );
    return result;
  } finally {
    await env.close();
  }
}
