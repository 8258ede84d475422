/**
 * A request that reaches a workflow as an Update (the API waits for its result) or, when no worker accepted that
 * within the API's bound, as the Update's Signal twin carrying the same request (clients/requests.ts). Both take
 * the same path through the workflow, once per request id.
 */
import type { SignalDefinition, UpdateDefinition } from '@temporalio/common';
import { log, setHandler } from '@temporalio/workflow';
import type { WorkflowRequest } from './contracts/requests.js';

/** The request's time in ms since the epoch: when the API received it, else (older requests) the workflow's now. */
export const requestTime = (request: WorkflowRequest | undefined) =>
  request?.requestedAt ? Date.parse(request.requestedAt) : Date.now();

/**
 * Handles `update` and its twin `signal` with `handler`. A request id seen before shares the first run's result
 * instead of running again (an Update the server held while no worker polled may arrive beside its Signal).
 * `validator` refuses what the workflow's state does not allow: an Update is rejected with its message, a Signal
 * is dropped (logged), and so is a Signal whose run fails — a Signal handler's error would fail the workflow.
 */
export function handleRequest<Ret, Req extends WorkflowRequest>(
  update: UpdateDefinition<Ret, [Req]>,
  signal: SignalDefinition<[Req]>,
  handler: (request: Req) => Promise<Ret>,
  validator: (request: Req) => void = () => {},
): void {
  const taken = new Map<string, Promise<Ret>>();
  // Requests from before request ids (replayed histories) may come without an argument at all.
  const seen = (request: Req | undefined) => (request?.requestId ? taken.get(request.requestId) : undefined);
  const run = (request: Req) => {
    const result = handler(request);
    if (request?.requestId) taken.set(request.requestId, result);
    return result;
  };
  setHandler(update, (request) => seen(request) ?? run(request), {
    validator: (request: Req) => {
      if (!seen(request)) validator(request);
    },
  });
  setHandler(signal, async (request) => {
    if (seen(request)) return;
    try {
      validator(request);
    } catch (error) {
      log.warn('Request refused', { signal: signal.name, requestId: request?.requestId, reason: String(error) });
      return;
    }
    await run(request).catch((error) =>
      log.warn('Request failed', { signal: signal.name, requestId: request?.requestId, reason: String(error) }),
    );
  });
}
