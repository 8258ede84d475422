import type { Knex } from 'knex';

/** Resolves once PostgreSQL answers a trivial query (readiness); rejects with the driver's error. */
export async function pingDatabase(db: Knex): Promise<void> {
  await db.raw('select 1');
}
