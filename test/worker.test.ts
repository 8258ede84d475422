import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../scripts/services.js';
import { installWorkerRuntime } from '../workers/worker.js';
import { startTestWorker } from './helpers.js';

let worker: Awaited<ReturnType<typeof startTestWorker>>;
let metricsPort: number;

beforeAll(async () => {
  metricsPort = await freePort();
  installWorkerRuntime(metricsPort);
  worker = await startTestWorker();
});
afterAll(() => worker?.stop());

describe('worker', () => {
  it('polls its task queue and exposes Temporal SDK metrics on its own port', async () => {
    expect(worker.worker.getState()).toBe('RUNNING');
    let body = '';
    for (let i = 0; i < 50 && !body.includes('temporal_num_pollers'); i++) {
      body = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text());
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(body).toContain('temporal_num_pollers');
    expect(body).toContain(`task_queue="${worker.taskQueue}"`);
  });
});
