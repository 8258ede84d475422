/** The worker and the API as separate processes (`npm run worker`, `npm run api`), so a fault test can kill them without warning. */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll } from 'vitest';
import { freePort } from '../../scripts/services.js';
import { startApi } from '../helpers.js';

export async function spawnWorker(
  settings: Record<string, string>,
): Promise<{ child: ChildProcess; kill(): Promise<void> }> {
  return spawnScript('workers/worker.ts', { ...settings, WORKER_METRICS_PORT: String(await freePort()) });
}

/** `api/server.ts` on a free loopback port; resolves once it answers `/healthz`. */
export async function spawnApi(
  settings: Record<string, string>,
): Promise<{ url: string; child: ChildProcess; kill(): Promise<void> }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const api = spawnScript('api/server.ts', { ...settings, PORT: String(port), PUBLIC_URL: url });
  for (const deadline = Date.now() + 60_000; ; await pause(100)) {
    if (api.child.exitCode !== null) throw new Error(`the API exited with ${api.child.exitCode}`);
    if (Date.now() > deadline) throw new Error('the API did not come up within 60 s');
    const up = await fetch(`${url}/healthz`)
      .then((r) => r.ok)
      .catch(() => false);
    if (up) return { url, ...api };
  }
}

function spawnScript(script: string, settings: Record<string, string>): { child: ChildProcess; kill(): Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, LOG_LEVEL: 'error', ...settings },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return {
    child,
    /** SIGKILL: no shutdown, no draining; whatever was in flight is simply gone. */
    kill: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

/**
 * For one test file: an API in this process and the worker as a child process, both with `settings()` (evaluated in
 * `beforeAll`, after the file's own hooks started the peers they name), started before the tests and stopped after.
 * `killWorker` and `startWorker` are the faults.
 */
export function apiWithWorkerProcess(settings: () => Record<string, string>) {
  let worker: Awaited<ReturnType<typeof spawnWorker>> | undefined;
  let chosen: Record<string, string>;
  const env = {
    api: undefined as unknown as Awaited<ReturnType<typeof startApi>>,
    killWorker: async () => worker?.kill(),
    startWorker: async () => void (worker = await spawnWorker(chosen)),
  };
  beforeAll(async () => {
    chosen = settings();
    env.api = await startApi(chosen);
    await env.startWorker();
  });
  afterAll(async () => {
    await worker?.kill();
    await env.api?.close();
  });
  return env;
}

export const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A whole number of milliseconds between `min` and `max`: where in the work the next fault lands. */
export const somewhere = (min: number, max: number) => Math.round(min + Math.random() * (max - min));
