import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openApiDeps, type ApiDeps } from '../api/deps.js';
import { cotIngestionProgress } from '../clients/cot.js';
import { freePort, startTemporal } from '../scripts/services.js';
import { call, startApi, startTestWorker, testConfig, unique } from './helpers.js';

/** A Redis of this test's own, so stopping it hurts no other test. */
async function ownRedis() {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 100; i++) {
    const { Redis } = await import('ioredis');
    const probe = new Redis(port, '127.0.0.1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    probe.on('error', () => {});
    const up = await probe.connect().then(
      () => true,
      () => false,
    );
    probe.disconnect();
    if (up) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () => new Promise<void>((r) => (child.once('exit', () => r()), child.kill('SIGKILL'))),
  };
}

describe('readiness', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  it('is 200 when PostgreSQL, Redis and Temporal answer and a worker polls, and 503 naming Redis once it stops', async () => {
    const redis = await ownRedis();
    const worker = await startTestWorker();
    cleanups.push(worker.stop);
    const api = await startApi({ REDIS_URL: redis.url, TEMPORAL_TASK_QUEUE: worker.taskQueue });
    cleanups.push(api.close);

    // The worker's first polls reach the server a moment after it starts.
    await expect.poll(async () => (await call(api.url, 'GET', '/readyz')).json?.status).toBe('ok');
    const ready = await call(api.url, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.json.checks).toEqual({
      postgres: { status: 'ok' },
      redis: { status: 'ok' },
      temporal: { status: 'ok' },
      workers: { status: 'ok' },
    });

    await redis.stop();
    const started = Date.now();
    const down = await call(api.url, 'GET', '/readyz');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(down.status).toBe(503);
    expect(down.json.error.code).toBe('not_ready');
    expect(down.json.error.message).toContain('redis');
    expect(down.json.error.details.checks.redis.status).toBe('down');
    expect(down.json.error.details.checks.postgres.status).toBe('ok');
    expect(down.json.error.details.checks.temporal.status).toBe('ok');
    expect(down.json.error.details.checks.workers.status).toBe('ok');

    // Liveness does not depend on Redis; API routes answer 503 instead of hanging or failing with 500.
    expect((await call(api.url, 'GET', '/healthz')).status).toBe(200);
    const meta = await call(api.url, 'GET', '/api/v1/meta');
    expect(meta.status).toBe(503);
    expect(meta.json.error.code).toBe('dependency_unavailable');
  });

  it('reports workers down, and stays ready (degraded), when nobody polls the task queue', async () => {
    const taskQueue = unique('nobody');
    const api = await startApi({ TEMPORAL_TASK_QUEUE: taskQueue });
    cleanups.push(api.close);

    const ready = await call(api.url, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.json.status).toBe('degraded');
    expect(ready.json.checks).toMatchObject({
      postgres: { status: 'ok' },
      redis: { status: 'ok' },
      temporal: { status: 'ok' },
      workers: { status: 'down' },
    });
    expect(ready.json.checks.workers.error).toContain(taskQueue);

    // A worker on that queue turns it ok: the check follows the queue's pollers, not a flag.
    const worker = await startTestWorker({ TEMPORAL_TASK_QUEUE: taskQueue });
    cleanups.push(worker.stop);
    await expect
      .poll(async () => (await call(api.url, 'GET', '/readyz')).json?.checks.workers)
      .toEqual({ status: 'ok' });
  });

  // The client retries an unanswered call on its own timers; one firing after close() used to throw
  // "Channel has been shut down" as an uncaught exception (seen in the Temporal restart fault test, and in
  // the COT tests once a request that stopped waiting — a bounded query — left its retries behind).
  it.each([
    ['a readiness ping', (deps: ApiDeps) => deps.pingTemporal(1_000)],
    [
      'a request that stopped waiting (a bounded query)',
      (deps: ApiDeps) => cotIngestionProgress(deps.temporal.client, 'cot-ingestion', 'no-such-run', 500),
    ],
  ])('closing while %s is still being retried leaves no retry to fire on the closed channel', async (_, start) => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'meridian-ping-'));
    const temporal = await startTemporal({ dataDir, persistent: false, log: () => {} });
    const deps = await openApiDeps(testConfig({ TEMPORAL_ADDRESS: temporal.address }));
    await temporal.stop();
    const uncaught: Error[] = [];
    const onUncaught = (error: Error) => void uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      const outcome = start(deps).then(
        (value) => (value == null ? 'gave up' : 'answered'),
        () => 'gave up',
      );
      await new Promise((r) => setTimeout(r, 700));
      await deps.close();
      expect(await outcome).toBe('gave up');
      // The client's longest wait between retries is 5 s.
      await new Promise((r) => setTimeout(r, 6_000));
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
