import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Next } from 'koa';
import send from 'koa-send';
import type { AppContext } from '../context.js';

/**
 * Serves a built single-page app after the API router had its turn: files as they are, any other
 * GET that is not an API path gets index.html so client-side routes survive a reload.
 */
export function staticFiles(prefix: string, root: string, spaFallback: boolean) {
  const available = existsSync(root);
  return async (ctx: AppContext, next: Next) => {
    await next();
    if (!available || ctx.body !== undefined || ctx.status !== 404 || (ctx.method !== 'GET' && ctx.method !== 'HEAD'))
      return;
    if (!ctx.path.startsWith(prefix) || ctx.path.startsWith('/api/')) return;
    const file = ctx.path.slice(prefix.length) || 'index.html';
    const served = await send(ctx, file, {
      root,
      maxage: file.startsWith('assets/') ? 31_536_000_000 : 0,
      immutable: file.startsWith('assets/'),
    }).catch(() => undefined);
    if (!served && spaFallback && !path.extname(file)) await send(ctx, 'index.html', { root });
  };
}
