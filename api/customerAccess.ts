/**
 * Customers act on their own booking or chat with the unguessable token they got when creating it
 * (only its SHA-256 is stored); operators act on all. Anybody else learns nothing: 401 or 404.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { sha256 } from '../lib/platform/crypto.js';
import type { AppContext } from './context.js';
import { ApiError, notFound, unauthorized } from './errors.js';

export async function customerOrOperator<T extends { access_token_hash: string }>(
  ctx: AppContext,
  header: string,
  what: string,
  find: () => Promise<T | undefined>,
): Promise<{ row: T; operator: boolean }> {
  const operator = ctx.state.principal?.kind === 'user';
  const token = ctx.get(header);
  if (!operator && !token) throw unauthorized(`An operator login or the ${header} header is required`);
  const row = await find();
  if (!row || (!operator && sha256(token) !== row.access_token_hash)) throw notFound(what);
  return { row, operator };
}

/** Runs an Update; one the workflow rejects, or a closed workflow, becomes a 409 `invalid_state`. */
export async function runUpdate<T>(
  handle: WorkflowHandle,
  run: (h: WorkflowHandle) => Promise<T>,
  details?: () => Promise<Record<string, unknown>>,
): Promise<T> {
  try {
    return await run(handle);
  } catch (error) {
    const e = error as Error & { cause?: Error };
    if (
      !(error instanceof WorkflowNotFoundError) &&
      e.name !== 'WorkflowUpdateFailedError' &&
      e.name !== 'WorkflowNotFoundError'
    )
      throw error;
    const extra = details ? await details() : undefined;
    throw new ApiError(409, 'invalid_state', e.cause?.message ?? 'The process has already finished', extra);
  }
}
