import type { Model, QueryBuilder } from 'objection';

/** A position in a keyset page: the last row's `created_at` (ISO 8601) and id. */
export type KeysetPosition = [createdAt: string, id: string];

/**
 * Keyset pagination on (created_at, id), newest first: stable under concurrent inserts. Returns up to `limit`
 * rows strictly after `after`, and the position of the last one when more follow (else null).
 */
export async function keysetPage<M extends Model & { created_at: Date; id: string }>(
  query: QueryBuilder<M, M[]>,
  limit: number,
  after: KeysetPosition | null,
): Promise<{ rows: M[]; next: KeysetPosition | null }> {
  // Qualified (the query may join), and at JavaScript's millisecond precision, like the cursors.
  const table = query.modelClass().tableName;
  const createdMs = `date_trunc('milliseconds', ${table}.created_at)`;
  if (after) query.whereRaw(`(${createdMs}, ${table}.id::text) < (?::timestamptz, ?)`, after);
  const rows = (await query.orderByRaw(`${createdMs} desc, ${table}.id::text desc`).limit(limit + 1)) as M[];
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    rows: page,
    next: rows.length > limit && last ? [new Date(last.created_at).toISOString(), String(last.id)] : null,
  };
}
