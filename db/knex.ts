import knexFactory, { type Knex } from 'knex';
import { Model } from 'objection';
import { migrationSource } from './migrations/index.js';

const pools = new Map<string, { db: Knex; users: number }>();

/**
 * One pool per database per process, shared by everything that opens it (API and worker in
 * `npm start`, several stacks in a test): Objection models bind to it process-wide, so a pool
 * may only close when its last user releases it.
 */
export function openDb(databaseUrl: string, poolMax = 10): Knex {
  let entry = pools.get(databaseUrl);
  if (!entry) {
    const db = knexFactory({ client: 'pg', connection: databaseUrl, pool: { min: 0, max: poolMax }, acquireConnectionTimeout: 10_000 });
    entry = { db, users: 0 };
    pools.set(databaseUrl, entry);
  }
  entry.users += 1;
  Model.knex(entry.db);
  return entry.db;
}

export async function releaseDb(db: Knex): Promise<void> {
  for (const [url, entry] of pools) {
    if (entry.db !== db || --entry.users > 0) continue;
    pools.delete(url);
    await db.destroy();
  }
}

export async function migrate(db: Knex): Promise<string[]> {
  const [, applied] = await db.migrate.latest({ migrationSource });
  return applied as string[];
}
export type { Knex };
