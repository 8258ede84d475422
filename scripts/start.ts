/**
 * `npm start`: the whole system on embedded defaults — Temporal dev server, PostgreSQL, Redis
 * (each only where no address is configured), migrations, demo seed, worker, API and console.
 * The worker runs as a supervised child process (scripts/supervise.ts), so its crash leaves the API up.
 */
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config } from '../lib/platform/config.js';
import path from 'node:path';
import { keepCaughtMail } from '../lib/platform/mailbox.js';
import { startMailCatcher } from './mailCatcher.js';
import { provisionServices } from './services.js';
import { supervise } from './supervise.js';
import { migrate, openDb, releaseDb } from '../db/knex.js';
import { seed } from '../db/seed.js';
import { ensureSchedules, installWorkerRuntime, startWorker } from '../workers/worker.js';
import { startApi } from '../api/server.js';

const dataDir = process.env.DATA_DIR ?? '.data';
const say = (message: string) => console.log(`[meridian] ${message}`);

// The Temporal runtime is a process singleton: install it before the dev server may start on it. Worker
// metrics are the worker child's (its own runtime, its own port).
installWorkerRuntime();
say('starting services…');
const services = await provisionServices({
  dataDir,
  persistent: true,
  temporalUiPort: Number(process.env.TEMPORAL_UI_PORT ?? 8233),
  log: say,
});
process.env.DATABASE_URL = services.databaseUrl;
process.env.REDIS_URL = services.redisUrl;
process.env.TEMPORAL_ADDRESS = services.temporalAddress;
if (services.temporalUiUrl) process.env.TEMPORAL_UI_URL = services.temporalUiUrl;
// Without SMTP_URL, email goes to a local catcher whose messages admins read in the console (README "Accounts").
const mailboxDir = path.resolve(dataDir, 'mailbox');
const mailCatcher = process.env.SMTP_URL
  ? undefined
  : await startMailCatcher({ onMail: (mail) => keepCaughtMail(mailboxDir, mail) });
if (mailCatcher) {
  process.env.SMTP_URL = mailCatcher.url;
  process.env.MAILBOX_DIR = mailboxDir;
}
const config = loadConfig();

const db = openDb(config.databaseUrl, 2);
const applied = await migrate(db);
say(applied.length ? `migrations applied: ${applied.join(', ')}` : 'database schema is up to date');
const demo = await seed(db, config);
await releaseDb(db);

/** A run this long counts as healthy: the next crash restarts after the first, shortest wait again. */
const WORKER_HEALTHY_AFTER_MS = 60_000;

/** The worker as a child process (`workers/worker.ts`, which also ensures the schedules) with this environment. */
function superviseWorker(config: Config) {
  return supervise({
    name: 'worker',
    command: process.execPath,
    args: ['--import', import.meta.resolve('tsx'), fileURLToPath(new URL('../workers/worker.ts', import.meta.url))],
    // The provisioned addresses were put into process.env above; secrets and WORKFLOW_BUNDLE_PATH come along.
    env: process.env,
    backoff: config.workerRestart,
    healthyAfterMs: WORKER_HEALTHY_AFTER_MS,
    stopTimeoutMs: 30_000,
    log: say,
  });
}

/** Without a shared Redis the worker's live events could not reach the API's stream: one process, as before. */
async function inProcessWorker(config: Config) {
  say('no shared Redis (memory://): the worker runs inside this process, without crash isolation or metrics');
  const worker = await startWorker(config);
  await ensureSchedules(config);
  return worker;
}

const isolated = config.redisUrl !== 'memory://';
const worker = isolated ? superviseWorker(config) : await inProcessWorker(config);
const api = await startApi(config);

say('ready');
console.log(`
  Console       ${config.publicUrl}/
  API           ${config.publicUrl}/api/v1
  API docs      ${config.publicUrl}/docs   (spec: ${config.publicUrl}/openapi.json)
  Readiness     ${config.publicUrl}/readyz
  Metrics       ${config.publicUrl}/metrics${isolated ? `   (worker: http://localhost:${config.workerMetricsPort}/metrics)` : ''}
  Temporal UI   ${config.temporal.uiUrl}   (gRPC ${config.temporal.address})
  PostgreSQL    ${config.databaseUrl.replace(/:[^:@/]+@/, ':***@')}
  Redis         ${config.redisUrl}
  Email         ${mailCatcher ? `embedded SMTP catcher ${mailCatcher.url}; admins read it at ${config.publicUrl}/dev/mailbox` : 'SMTP_URL'}

  Console logins:
${demo.logins.map((l) => `    ${l.role.padEnd(8)} ${l.email} / ${l.password}`).join('\n')}
  Demo merchant ${demo.merchant.id}
    API key         ${demo.merchant.apiKey}
    Webhook secret  ${demo.merchant.webhookSecret}
  Demo workshop ${demo.workshop.id} (mechanics: ${demo.workshop.mechanics.join(', ')})
`);

let stopping = false;
async function shutdown() {
  if (stopping) return;
  stopping = true;
  say('stopping…');
  await api.close();
  say('api stopped');
  await worker.stop();
  say('worker stopped');
  await mailCatcher?.stop();
  await services.stop();
  say('stopped');
  process.exit(0);
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
