import type { Next } from 'koa';
import type { AppContext } from '../context.js';

/** A payment token in a path (payer API, payer page) grants paying: logs get its kind, not its value. */
const PAYMENT_TOKEN = /pt_[A-Za-z0-9_-]+/g;

/** One JSON line per request, written after the response status is known; `ip` is the client address (clientIp). */
export async function accessLog(ctx: AppContext, next: Next) {
  const started = performance.now();
  try {
    await next();
  } finally {
    ctx.state.log.info(
      {
        method: ctx.method,
        path: ctx.path.replace(PAYMENT_TOKEN, 'pt_[redacted]'),
        status: ctx.status,
        ip: ctx.ip,
        ms: Math.round(performance.now() - started),
      },
      'request',
    );
  }
}
