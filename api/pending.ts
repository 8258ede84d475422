/**
 * The answer to a request its workflow has not carried out within `WORKFLOW_WAIT_MS`, say because no worker polls:
 * the request is recorded (clients/requests.ts) and is carried out once a worker runs, so the API answers 202 with
 * the state so far and a `Location` to poll, instead of holding the connection.
 */
import type { ZodType } from 'zod';
import type { AppContext } from './context.js';

/** The route declaration's 202 (OpenAPI): `schema` is the body, `outcome` says where the outcome will show. */
export const pendingResponse = (schema: ZodType, outcome: string) => ({
  description:
    'Recorded but not carried out yet (no worker took it within WORKFLOW_WAIT_MS); it is carried out once a worker ' +
    `runs. The body is the state so far; ${outcome}`,
  schema,
  headers: { Location: 'Where to poll for the outcome' },
});

/** Answers 202 with `body` (the state so far) and `location`, the path to poll. */
export function answerPending(ctx: AppContext, location: string, body: unknown): void {
  ctx.status = 202;
  ctx.set('Location', location);
  ctx.body = body;
}

/** The route declaration's 503 for a route that waits on Temporal: its server did not answer within the bound. */
export const temporalUnavailableResponse = {
  description:
    '`dependency_unavailable`: the Temporal server did not answer within WORKFLOW_WAIT_MS (or another backing ' +
    'service is down); retry later',
};
