/**
 * Provisions real services once per test run with the same code as `npm start` (or uses the
 * DATABASE_URL / REDIS_URL / TEMPORAL_ADDRESS given), creates a fresh database, and bundles the
 * workflow code once. Test processes inherit the resulting environment.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { provisionServices } from '../scripts/services.js';
import { createScratchDatabase } from '../db/knex.js';
import { workflowsPath } from '../workers/worker.js';

export default async function setup() {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'meridian-test-'));
  const log = (m: string) => console.log(`[test services] ${m}`);
  const services = await provisionServices({ dataDir, persistent: false, log });

  const database = await createScratchDatabase(services.databaseUrl, 'meridian_test');

  const bundle = await bundleWorkflowCode({
    workflowsPath,
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error } as never,
  });
  const bundlePath = path.join(dataDir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);

  Object.assign(process.env, {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    DATA_DIR: dataDir,
    DATABASE_URL: database.url,
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
    await database.drop();
    await services.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
}
