/**
 * `npm start`: the whole system on embedded defaults — Temporal dev server, PostgreSQL, Redis
 * (each only where no address is configured), migrations, demo seed, worker, API and console.
 */
import { DEFAULT_WORKER_METRICS_PORT, loadConfig } from '../lib/platform/config.js';
import { provisionServices } from './services.js';
import { migrate, openDb, releaseDb } from '../db/knex.js';
import { seed } from '../db/seed.js';
import { ensureSchedules, installWorkerRuntime, startWorker } from '../workers/worker.js';
import { startApi } from '../api/server.js';

const dataDir = process.env.DATA_DIR ?? '.data';
const say = (message: string) => console.log(`[meridian] ${message}`);

// The Temporal runtime is a process singleton: install it (with worker metrics) before the dev server starts.
installWorkerRuntime(Number(process.env.WORKER_METRICS_PORT ?? DEFAULT_WORKER_METRICS_PORT));
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
const config = loadConfig();

const db = openDb(config.databaseUrl, 2);
const applied = await migrate(db);
say(applied.length ? `migrations applied: ${applied.join(', ')}` : 'database schema is up to date');
const demo = await seed(db, config);
await releaseDb(db);

const worker = await startWorker(config);
await ensureSchedules(config);
const api = await startApi(config);

say('ready');
console.log(`
  Console       ${config.publicUrl}/
  API           ${config.publicUrl}/api/v1
  API docs      ${config.publicUrl}/docs   (spec: ${config.publicUrl}/openapi.json)
  Readiness     ${config.publicUrl}/readyz
  Metrics       ${config.publicUrl}/metrics   (worker: http://localhost:${config.workerMetricsPort}/metrics)
  Temporal UI   ${config.temporal.uiUrl}   (gRPC ${config.temporal.address})
  PostgreSQL    ${config.databaseUrl.replace(/:[^:@/]+@/, ':***@')}
  Redis         ${config.redisUrl}

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
  await services.stop();
  say('stopped');
  process.exit(0);
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
