import type { Next } from 'koa';
import { Histogram, type Registry } from 'prom-client';
import type { AppContext } from '../context.js';

/** Request duration by route template (not raw path, to keep label cardinality bounded). */
export function httpMetrics(registry: Registry) {
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route template, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return async (ctx: AppContext, next: Next) => {
    const end = duration.startTimer();
    try {
      await next();
    } finally {
      end({
        route: ctx._matchedRoute ? String(ctx._matchedRoute) : 'unmatched',
        method: ctx.method,
        status: String(ctx.status),
      });
    }
  };
}
