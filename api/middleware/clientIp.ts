import type { Next } from 'koa';
import { clientAddress, type ProxyTrust } from '../../lib/platform/clientIp.js';
import type { AppContext } from '../context.js';

/**
 * Sets `ctx.ip` once per request to the client address derived from the socket peer and the proxies
 * `trust` names (`clientAddress`). It runs first, so rate limits, the access log and everything else that
 * reads `ctx.ip` see this one value and never Koa's left-most `X-Forwarded-For` entry.
 */
export function clientIp(trust: ProxyTrust) {
  return async (ctx: AppContext, next: Next) => {
    ctx.request.ip = clientAddress(ctx.req.socket.remoteAddress ?? '', ctx.get('x-forwarded-for'), trust);
    await next();
  };
}
