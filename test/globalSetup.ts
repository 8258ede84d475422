/**
 * Provisions real services once per test run with the same code as `npm start` (or uses the
 * DATABASE_URL / REDIS_URL / TEMPORAL_ADDRESS given), creates a fresh database, and bundles the
 * workflow code once. Test processes inherit the resulting environment.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import { bundleWorkflowCode } from '@temporalio/worker';
import { provisionServices } from '../lib/services.js';
import { migrate, openDb, releaseDb } from '../db/knex.js';
import { workflowsPath } from '../workers/worker.js';

export default async function setup() {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'meridian-test-'));
  const log = (m: string) => console.log(`[test services] ${m}`);
  const services = await provisionServices({ dataDir, persistent: false, log });

  const dbName = `meridian_test_${Date.now()}_${randomBytes(3).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: services.databaseUrl, pool: { min: 0, max: 1 } });
  await admin.raw(`CREATE DATABASE ${dbName}`);
  const url = new URL(services.databaseUrl);
  url.pathname = `/${dbName}`;
  const db = openDb(url.toString(), 1);
  await migrate(db);
  await releaseDb(db);

  const bundle = await bundleWorkflowCode({ workflowsPath, logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error } as never });
  const bundlePath = path.join(dataDir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);

  Object.assign(process.env, {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    DATA_DIR: dataDir,
    DATABASE_URL: url.toString(),
    REDIS_URL: services.redisUrl,
    TEMPORAL_ADDRESS: services.temporalAddress,
    WORKFLOW_BUNDLE_PATH: bundlePath,
    JWT_SECRET: randomBytes(32).toString('base64url'),
    SECRETS_KEY: randomBytes(32).toString('base64'),
    // Tests share one loopback IP; the rate-limit test uses its own low limits and client addresses.
    RATE_LIMIT_PER_IP: '1000000',
    RATE_LIMIT_PER_KEY: '1000000',
  });

  return async () => {
    await admin.raw(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
    await admin.destroy();
    await services.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
}
