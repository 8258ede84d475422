/**
 * Waiting on workflows within a bound (`WORKFLOW_WAIT_MS`), for the API: no request may hang because no worker polls
 * the task queue.
 *
 * An Update is durable only once a worker has accepted it: sent while none polls, the server merely holds it in memory
 * and the call blocks. So a request is tried as an Update for most of the bound; when no worker has accepted it by
 * then, the same request is recorded as its Signal twin, which the server writes to the workflow's history at once,
 * worker or not. The workflow handles both alike, once per request id (workflows/requests.ts), so the request is
 * carried out when a worker returns even if the Update the server held is delivered as well.
 */
import { randomUUID } from 'node:crypto';
import {
  WorkflowUpdateStage,
  type ConnectionLike,
  type SignalDefinition,
  type UpdateDefinition,
  type WorkflowHandle,
} from '@temporalio/client';
import type { WorkflowRequest } from '../workflows/contracts/requests.js';

/** A wait's outcome: the value, or `done: false` when the bound passed first (the request is recorded, not lost). */
export type Waited<T> = { done: true; value: T } | { done: false };

/** Of the bound, what recording the request as a Signal may take once the Update had its share: ¼, at most 2 s. */
const signalShare = (waitMs: number) => Math.min(2000, Math.floor(waitMs / 4));

/**
 * Runs `run` and resolves with its value, or with `done: false` once `waitMs` (ms) pass: the Temporal calls it made
 * are then cancelled, so none outlives the request (a call left retrying could fire on a closed connection).
 * Errors `run` throws before that propagate.
 */
export async function within<T>(connection: ConnectionLike, waitMs: number, run: () => Promise<T>): Promise<Waited<T>> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), waitMs);
  const timedOut = new Promise<Waited<T>>((resolve) =>
    abort.signal.addEventListener('abort', () => resolve({ done: false })),
  );
  const work = connection.withAbortSignal(abort.signal, run).then(
    (value): Waited<T> => ({ done: true, value }),
    (error) => (abort.signal.aborted ? { done: false as const } : Promise.reject(error)),
  );
  try {
    return await Promise.race([work, timedOut]);
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

/** A new request to a workflow: its id (also the Update's id) and when the API received it. */
export const newRequest = (): Required<WorkflowRequest> => ({
  requestId: randomUUID(),
  requestedAt: new Date().toISOString(),
});

/**
 * Sends `request` to the workflow as `update` and waits for its result, all within `waitMs` (ms). When no worker
 * has accepted the Update by the bound's last quarter (at most 2 s), the request is recorded as `signal` instead
 * and this resolves `done: false`; an accepted Update still running at the bound is durable and simply resolves
 * `done: false`. Rejects as `executeUpdate` does when the workflow refuses or has closed, and with the server's
 * ServiceError (DEADLINE_EXCEEDED) when even the Signal could not be recorded in its share of the bound.
 */
export async function updateWithin<Ret, Req extends WorkflowRequest>(
  handle: WorkflowHandle,
  update: UpdateDefinition<Ret, [Req]>,
  signal: SignalDefinition<[Req]>,
  request: Req & Required<WorkflowRequest>,
  waitMs: number,
): Promise<Waited<Ret>> {
  const connection = handle.client.connection;
  let accepted = false;
  const answer = await within(connection, waitMs - signalShare(waitMs), async () => {
    const started = await handle.startUpdate(update, {
      args: [request],
      updateId: request.requestId,
      waitForStage: WorkflowUpdateStage.ACCEPTED,
    });
    accepted = true;
    return started.result();
  });
  if (!answer.done && !accepted)
    await connection.withDeadline(Date.now() + signalShare(waitMs), () => handle.signal(signal, request));
  return answer;
}
