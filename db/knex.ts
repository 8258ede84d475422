import knexFactory, { type Knex } from 'knex';
import { Model } from 'objection';
import { migrationSource } from './migrations/index.js';

/** One pool per process; Objection models are bound to it. */
export function createDb(databaseUrl: string, poolMax = 10): Knex {
  const db = knexFactory({
    client: 'pg',
    connection: databaseUrl,
    pool: { min: 0, max: poolMax },
    acquireConnectionTimeout: 10_000,
  });
  Model.knex(db);
  return db;
}

export async function migrate(db: Knex): Promise<string[]> {
  const [, applied] = await db.migrate.latest({ migrationSource });
  return applied as string[];
}
export type { Knex };
