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
    const db = knexFactory({
      client: 'pg',
      connection: databaseUrl,
      pool: { min: 0, max: poolMax },
      acquireConnectionTimeout: 10_000,
    });
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

/** A new, migrated database on the server of `serverUrl` (tests, benchmarks), and how to drop it. */
export async function createScratchDatabase(
  serverUrl: string,
  prefix: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${Date.now()}_${Math.random().toString(16).slice(2, 8)}`;
  const server = knexFactory({ client: 'pg', connection: serverUrl, pool: { min: 0, max: 1 } });
  await server.raw(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const db = openDb(url.toString(), 1);
  await migrate(db);
  await releaseDb(db);
  return {
    url: url.toString(),
    async drop() {
      await server.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
      await server.destroy();
    },
  };
}
