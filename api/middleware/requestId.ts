import { randomUUID } from 'node:crypto';
import type { Next } from 'koa';
import type { Logger } from '../../lib/platform/logger.js';
import type { AppContext } from '../context.js';

const acceptable = /^[\w.:-]{1,128}$/;

/** Tags each request with an id (a caller's X-Request-Id if sane) and a child logger carrying it. */
export function requestId(log: Logger) {
  return async (ctx: AppContext, next: Next) => {
    const incoming = ctx.get('x-request-id');
    ctx.state.requestId = acceptable.test(incoming) ? incoming : randomUUID();
    ctx.state.log = log.child({ request_id: ctx.state.requestId });
    ctx.set('X-Request-Id', ctx.state.requestId);
    await next();
  };
}
