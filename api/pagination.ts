import type { Model, QueryBuilder } from 'objection';
import { z } from 'zod';
import { keysetPage, type KeysetPosition } from '../db/pagination.js';
import { ApiError } from './errors.js';

/** `?limit&cursor` of every list: newest first, `cursor` being the `next_cursor` of the page before. */
export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
});

const encode = (position: KeysetPosition) => Buffer.from(JSON.stringify(position)).toString('base64url');

function decode(cursor: string): KeysetPosition {
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

/** One page of a repository's list query; an unreadable cursor is a 400 `validation_error`. */
export async function pageOf<M extends Model & { created_at: Date; id: string }>(
  query: QueryBuilder<M, M[]>,
  { limit, cursor }: z.infer<typeof PageQuery>,
): Promise<{ rows: M[]; nextCursor: string | null }> {
  const { rows, next } = await keysetPage(query, limit, cursor ? decode(cursor) : null);
  return { rows, nextCursor: next ? encode(next) : null };
}
