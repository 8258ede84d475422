import type { Next } from 'koa';
import type { AppContext } from '../context.js';

/** Conservative defaults for every response; pages that need more (docs) set their own CSP. */
export async function securityHeaders(ctx: AppContext, next: Next) {
  ctx.set({
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Content-Security-Policy':
      "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
  });
  // API answers are per caller and may carry tokens (login, a new intent's payment token): never stored by a cache.
  if (ctx.path.startsWith('/api/')) ctx.set('Cache-Control', 'no-store');
  await next();
}
