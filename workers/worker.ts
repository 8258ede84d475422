/** `npm run worker`: runs every workflow and activity on the Meridian task queue. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import { openDb, releaseDb, type Knex } from '../db/knex.js';
import { adoptMonitors, monitorsWithoutQueue } from '../db/monitors.js';
import { loadConfig, type Config } from '../lib/platform/config.js';
import { createLogger } from '../lib/platform/logger.js';
import { createRedis } from '../lib/platform/redis.js';
import { ensureCompanyWatchSchedule } from '../clients/companies.js';
import { ensureCotSchedule } from '../clients/cot.js';
import { ensureMonitorDispatch, retireMonitorSchedules } from '../clients/monitors.js';
import { permanentDataErrors } from './permanentDataErrors.js';
import { connectTemporal } from '../lib/platform/temporal.js';

export const workflowsPath = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'workflows', 'index.ts');

/**
 * Must run before any native Temporal connection exists in this process; SDK metrics go to their own port
 * (none when `metricsPort` is undefined: a process that hosts no worker of its own).
 */
export function installWorkerRuntime(metricsPort?: number): void {
  Runtime.install({
    // Shutdown is ours to order (API, then worker, then services), so the runtime traps no signals.
    shutdownSignals: [],
    telemetryOptions:
      metricsPort === undefined ? {} : { metrics: { prometheus: { bindAddress: `0.0.0.0:${metricsPort}` } } },
  });
}

export async function startWorker(config: Config, bundle?: WorkerOptions['workflowBundle']) {
  const log = createLogger(config.logLevel, 'worker');
  const db = openDb(config.databaseUrl);
  const redis = await createRedis(config.redisUrl);
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    // Activities start workflows (webhook deliveries) over the worker's own connection: eager starts.
    activities: createActivities({
      config,
      db,
      redis,
      temporal: new Client({ connection, namespace: config.temporal.namespace }),
    }),
    interceptors: { activity: [permanentDataErrors] },
    ...(bundle ? { workflowBundle: bundle } : { workflowsPath }),
  });
  const running = worker.run();
  log.info({ taskQueue: config.temporal.taskQueue, metricsPort: config.workerMetricsPort }, 'worker running');
  return {
    worker,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connection.close();
      redis.disconnect();
      await releaseDb(db);
    },
  };
}

/** System-wide schedules follow the deployed worker's configuration: the weekly COT ingestion, the company watches' sweep. */
export async function ensureSchedules(config: Config): Promise<void> {
  const temporal = await connectTemporal(config);
  const db = openDb(config.databaseUrl);
  try {
    await ensureCotSchedule(temporal.client, config);
    await ensureCompanyWatchSchedule(temporal.client, config);
    // This task queue's price monitors: its dispatcher, and the monitors from before dispatchers taken over.
    await ensureMonitorDispatch(temporal.client, config);
    await adoptLegacyMonitors(temporal.client, db, config.temporal.taskQueue);
  } finally {
    await temporal.drain();
    await temporal.connection.close();
    await releaseDb(db);
  }
}

/**
 * Hands the monitors created before dispatchers (no task queue yet) to `taskQueue`'s dispatcher, each once its old
 * Schedule (`monitor-<id>`) is deleted, so none is ever checked by both; returns how many. Idempotent: a worker that
 * stops halfway leaves the rest for the next start, and a Schedule already gone counts as deleted.
 */
export async function adoptLegacyMonitors(client: Client, db: Knex, taskQueue: string): Promise<number> {
  for (let adopted = 0; ;) {
    const ids = await monitorsWithoutQueue(db, 100);
    if (!ids.length) return adopted;
    await retireMonitorSchedules(client, ids);
    await adoptMonitors(db, ids, taskQueue);
    adopted += ids.length;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const config = loadConfig();
  installWorkerRuntime(config.workerMetricsPort);
  const bundlePath = process.env.WORKFLOW_BUNDLE_PATH;
  const worker = await startWorker(config, bundlePath ? { codePath: bundlePath } : undefined);
  await ensureSchedules(config);
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= worker.stop().then(() => process.exit(0)));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, stop);
  // Started by a supervisor (scripts/supervise.ts) over an IPC channel: a supervisor gone without a word
  // (killed) closes it, and the worker stops rather than run on unsupervised.
  if (process.send) process.once('disconnect', stop);
}
