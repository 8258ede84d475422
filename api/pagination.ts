import type { QueryBuilder, Model } from 'objection';
import { z } from 'zod';
import { ApiError } from './errors.js';

/** Keyset pagination on (created_at, id), newest first: stable under concurrent inserts. */
export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
});

const encode = (createdAt: Date, id: string) =>
  Buffer.from(JSON.stringify([new Date(createdAt).toISOString(), id])).toString('base64url');

function decode(cursor: string): [string, string] {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof at !== 'string' || typeof id !== 'string' || Number.isNaN(Date.parse(at))) throw new Error('shape');
    return [at, id];
  } catch {
    throw new ApiError(400, 'validation_error', 'Invalid cursor', [
      { path: 'cursor', message: 'not a cursor from this API' },
    ]);
  }
}

export async function pageOf<M extends Model & { created_at: Date; id: string }>(
  query: QueryBuilder<M, M[]>,
  { limit, cursor }: z.infer<typeof PageQuery>,
): Promise<{ rows: M[]; nextCursor: string | null }> {
  // Qualified (the query may join), and at JavaScript's millisecond precision, like the cursors.
  const table = query.modelClass().tableName;
  const createdMs = `date_trunc('milliseconds', ${table}.created_at)`;
  if (cursor) {
    const [at, id] = decode(cursor);
    query.whereRaw(`(${createdMs}, ${table}.id::text) < (?::timestamptz, ?)`, [at, id]);
  }
  const rows = (await query.orderByRaw(`${createdMs} desc, ${table}.id::text desc`).limit(limit + 1)) as M[];
  const more = rows.length > limit;
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { rows: page, nextCursor: more && last ? encode(last.created_at, String(last.id)) : null };
}
