/**
 * `npm start` (scripts/start.ts, every service address given) runs the worker as a supervised child: the worker
 * is killed with SIGKILL, the API process keeps answering, `/readyz` reports the worker gone and back, and an
 * intent accepted meanwhile is paid once the restarted worker runs; SIGTERM then stops both, restarting nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { WORKER_SEEN_WITHIN_MS } from '../../clients/system.js';
import { freePort } from '../../scripts/services.js';
import { call, unique } from '../helpers.js';
import { waitFor } from '../receiver.js';

// The restart waits past the readiness window, so the worker is seen missing before it comes back.
const RESTART_DELAY_MS = WORKER_SEEN_WITHIN_MS + 15_000;

let start: ChildProcess | undefined;
afterAll(async () => {
  if (!start || start.exitCode !== null || start.signalCode !== null) return;
  const exited = new Promise((r) => start!.once('exit', r));
  start.kill('SIGTERM');
  const force = setTimeout(() => start!.kill('SIGKILL'), 40_000);
  await exited;
  clearTimeout(force);
});

describe('npm start with the worker killed', () => {
  it('keeps the API answering, reports the worker down then up, and pays what was accepted meanwhile', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    start = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
      env: {
        ...process.env,
        PORT: String(port),
        PUBLIC_URL: url,
        WORKER_METRICS_PORT: String(await freePort()),
        TEMPORAL_TASK_QUEUE: unique('start'),
        COT_SCHEDULE: 'off',
        LOG_LEVEL: 'info',
        WORKER_RESTART_DELAY_MS: String(RESTART_DELAY_MS),
        WORKER_RESTART_MAX_DELAY_MS: String(RESTART_DELAY_MS),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    start.stdout!.on('data', (chunk) => (output += chunk));
    start.stderr!.on('data', (chunk) => (output += chunk));
    const lines = () => output.split('\n');
    const workerPids = () =>
      [...output.matchAll(/\[meridian\] worker started \(pid (\d+)\)/g)].map((m) => Number(m[1]));
    const workersCheck = async () => {
      const ready = await call(url, 'GET', '/readyz');
      // The API's own dependencies are up throughout: a missing worker degrades readiness, never fails it.
      expect(ready.status, ready.text).toBe(200);
      return ready.json as { status: string; checks: { workers: { status: string; error?: string } } };
    };

    await waitFor(() => output.includes('[meridian] ready'), 120_000, `npm start to be ready:\n${output}`);
    const apiKey = /API key\s+(\S+)/.exec(output)![1];
    await waitFor(async () => (await workersCheck()).status === 'ok', 60_000, 'the worker to poll');
    expect(workerPids()).toHaveLength(1);
    const [firstWorker] = workerPids();
    expect(firstWorker).not.toBe(start.pid);
    // The worker's own log lines reach npm start's output, prefixed.
    expect(lines().some((l) => l.startsWith('[worker] ') && l.includes('worker running'))).toBe(true);

    process.kill(firstWorker, 'SIGKILL');
    await waitFor(() => output.includes('[meridian] worker killed by SIGKILL'), 10_000, 'the supervisor to notice');
    expect(output).toContain(`worker killed by SIGKILL; restarting in ${RESTART_DELAY_MS} ms`);

    // The API (the same process) answers while no worker runs, and accepts work for later.
    expect(start.exitCode).toBeNull();
    expect((await call(url, 'GET', '/healthz')).status).toBe(200);
    const created = await call(url, 'POST', '/api/v1/payments', {
      token: apiKey,
      body: { amount: 4200, currency: 'eur', order_id: unique('order') },
    });
    expect(created.status, created.text).toBe(201);

    const missing = await waitFor(
      async () => {
        expect((await call(url, 'GET', '/healthz')).status).toBe(200);
        const ready = await workersCheck();
        return ready.checks.workers.status === 'down' && ready;
      },
      WORKER_SEEN_WITHIN_MS + 10_000,
      'readiness to report the worker missing',
    );
    expect(missing.status).toBe('degraded');
    expect(missing.checks.workers.error).toContain('no worker polled task queue');
    expect(workerPids()).toHaveLength(1);

    await waitFor(
      async () => {
        expect((await call(url, 'GET', '/healthz')).status).toBe(200);
        return (await workersCheck()).status === 'ok';
      },
      RESTART_DELAY_MS + 30_000,
      'the restarted worker to poll',
    );
    const [, secondWorker] = workerPids();
    expect(secondWorker).toBeGreaterThan(0);
    expect(secondWorker).not.toBe(firstWorker);
    expect(start.exitCode).toBeNull();

    // The intent accepted while the worker was down is carried out by the restarted one.
    const paid = await call(url, 'POST', `/api/v1/payments/${created.json.payment_token}/process`, {
      body: { outcome: 'succeeded' },
    });
    expect(paid.status, paid.text).toBe(200);
    expect(paid.json.status).toBe('succeeded');
    expect((await call(url, 'GET', `/api/v1/payments/${created.json.id}`, { token: apiKey })).json.status).toBe(
      'succeeded',
    );

    // SIGTERM (as Ctrl-C): the API, then the worker stop; nothing is restarted.
    const exited = new Promise<number | null>((r) => start!.once('exit', (code) => r(code)));
    start.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(() => process.kill(secondWorker, 0)).toThrow();
    const afterStop = output.slice(output.indexOf('[meridian] stopping'));
    expect(afterStop).toContain('[meridian] worker stopped');
    expect(afterStop).not.toContain('restarting');
    expect(workerPids()).toHaveLength(2);
  });
});
