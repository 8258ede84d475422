import type { Next } from 'koa';
import type { AppContext } from '../context.js';

/** One JSON line per request, written after the response status is known. */
export async function accessLog(ctx: AppContext, next: Next) {
  const started = performance.now();
  try {
    await next();
  } finally {
    ctx.state.log.info(
      { method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(performance.now() - started) },
      'request',
    );
  }
}
