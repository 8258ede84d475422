/** The worker as a separate process (`npm run worker`), so a fault test can kill it without warning. */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../../scripts/services.js';

export async function spawnWorker(
  settings: Record<string, string>,
): Promise<{ child: ChildProcess; kill(): Promise<void> }> {
  const env = { ...process.env, ...settings, WORKER_METRICS_PORT: String(await freePort()), LOG_LEVEL: 'error' };
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/worker.ts'], {
    env,
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

export const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A whole number of milliseconds between `min` and `max`: where in the work the next fault lands. */
export const somewhere = (min: number, max: number) => Math.round(min + Math.random() * (max - min));
