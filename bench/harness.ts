/** What every benchmark scenario needs: real services, a fresh database, an API, workers, statistics. */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { listen } from '../api/server.js';
import { openApiDeps } from '../api/deps.js';
import { createScratchDatabase } from '../db/knex.js';
import { loadConfig } from '../lib/platform/config.js';
import { freePort, provisionServices } from '../scripts/services.js';
import { startWorker } from '../workers/worker.js';
import { baselineActivities } from './baseline/activities.js';

export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Runs `task` for indexes 0..n-1 with at most `concurrency` in flight; returns elapsed seconds. */
export async function runPool(n: number, concurrency: number, task: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) await task(next++);
    }),
  );
  return (performance.now() - started) / 1000;
}

/**
 * CPU seconds the whole machine has spent busy since boot (every process: Node, the Temporal server,
 * PostgreSQL, Redis), from /proc/stat; null where there is none. Deltas around a run tell what each
 * unit of work costs, which on a saturated machine is what sets the throughput ratio.
 */
export function machineBusySeconds(): number | null {
  let line: string | undefined;
  try {
    line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  } catch {
    return null;
  }
  // cpu  user nice system idle iowait irq softirq steal …, in USER_HZ (1/100 s on Linux).
  const [user, nice, system, , , irq, softirq] = line.trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq) / 100;
}

/** `runPool`, also measuring the machine's CPU seconds spent meanwhile. */
export async function measuredPool(
  n: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<{ seconds: number; cpuSeconds: number | null }> {
  const busyBefore = machineBusySeconds();
  const seconds = await runPool(n, concurrency, task);
  const busyAfter = machineBusySeconds();
  return { seconds, cpuSeconds: busyBefore === null || busyAfter === null ? null : busyAfter - busyBefore };
}

/**
 * Services, a fresh database, an API and (unless `worker: false`: a scenario that runs its own, as a process) a worker
 * on a task queue of its own; `settings` are the environment variables that configure both.
 */
export async function benchEnvironment(overrides: Record<string, string> = {}, { worker: inProcess = true } = {}) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'meridian-bench-'));
  const services = await provisionServices({ dataDir, persistent: false, log: (m) => console.error(`[bench] ${m}`) });
  const database = await createScratchDatabase(services.databaseUrl, 'meridian_bench');

  const port = await freePort();
  const settings: Record<string, string> = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATA_DIR: dataDir,
    DATABASE_URL: database.url,
    REDIS_URL: services.redisUrl,
    TEMPORAL_ADDRESS: services.temporalAddress,
    TEMPORAL_TASK_QUEUE: `bench-${randomBytes(3).toString('hex')}`,
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    JWT_SECRET: randomBytes(32).toString('base64url'),
    SECRETS_KEY: randomBytes(32).toString('base64'),
    RATE_LIMIT_PER_IP: '100000000',
    RATE_LIMIT_PER_KEY: '100000000',
    ...overrides,
  };
  const config = loadConfig({ ...process.env, ...settings });
  const deps = await openApiDeps(config);
  const server = await listen(deps, port, '127.0.0.1');
  const worker = inProcess ? await startWorker(config) : null;

  // The baseline runs on the same server, on a task queue of its own.
  const baselineQueue = `${config.temporal.taskQueue}-baseline`;
  const baselineConnection = await NativeConnection.connect({ address: config.temporal.address });
  const baselineWorker = await Worker.create({
    connection: baselineConnection,
    taskQueue: baselineQueue,
    workflowsPath: fileURLToPath(new URL('./baseline/workflows.ts', import.meta.url)),
    activities: baselineActivities,
  });
  const baselineRun = baselineWorker.run();

  return {
    config,
    settings,
    deps,
    apiUrl: `http://127.0.0.1:${port}`,
    baselineQueue,
    async close() {
      server.closeAllConnections();
      server.close();
      baselineWorker.shutdown();
      await baselineRun;
      await baselineConnection.close();
      await worker?.stop();
      await deps.close();
      await database.drop();
      await services.stop();
    },
  };
}

export function writeResult(scenario: string, result: Record<string, unknown>): string {
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${scenario}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  const machine = { cpus: cpus().length, model: cpus()[0]?.model, node: process.version };
  writeFileSync(file, `${JSON.stringify({ scenario, date: new Date().toISOString(), machine, ...result }, null, 2)}\n`);
  return file;
}
