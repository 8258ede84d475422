import { createHash } from 'node:crypto';
import { z } from 'zod';
import { pingDatabase } from '../../db/health.js';
import type { Api } from '../route.js';
import type { ApiDeps } from '../deps.js';

const CheckResult = z.object({ status: z.enum(['ok', 'down']), error: z.string().optional() });
const Readiness = z
  .object({
    status: z
      .enum(['ok', 'degraded'])
      .describe('`degraded`: the API serves requests, but no worker polls its task queue (checks.workers)'),
    checks: z.record(z.string(), CheckResult),
  })
  .meta({ id: 'Readiness' });
const Meta = z
  .object({ temporal_ui_url: z.string(), temporal_namespace: z.string(), version: z.string() })
  .meta({ id: 'Meta' });

const CHECK_TIMEOUT_MS = 2_000;

async function check(probe: () => Promise<unknown>): Promise<z.infer<typeof CheckResult>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([probe(), timeout]);
    return { status: 'ok' };
  } catch (error) {
    return { status: 'down', error: (error as Error).message || String(error) };
  } finally {
    clearTimeout(timer);
  }
}

const docsInit = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true });`;
const docsHtml = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Meridian API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>${docsInit}</script></body></html>`;
/** The docs page runs one inline script; the CSP allows exactly that script by hash. */
const docsCsp = `default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self' 'sha256-${createHash('sha256').update(docsInit).digest('base64')}'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'`;

export function systemRoutes(api: Api, deps: ApiDeps, spec: () => unknown) {
  api.route({
    method: 'get',
    path: '/healthz',
    summary: 'Liveness: the process is up',
    tag: 'system',
    access: ['public'],
    responses: { 200: { description: 'Alive', schema: z.object({ status: z.literal('ok') }) } },
    handler: (ctx) => {
      ctx.body = { status: 'ok' };
    },
  });

  api.route({
    method: 'get',
    path: '/readyz',
    summary: 'Readiness: PostgreSQL, Redis and Temporal each answer; whether a worker polls the task queue',
    tag: 'system',
    access: ['public'],
    responses: {
      200: {
        description: 'All dependencies answer (`degraded` when no worker polls the task queue)',
        schema: Readiness,
      },
      503: { description: 'At least one dependency is down; details.checks names it' },
    },
    handler: async (ctx) => {
      const [postgres, redis, temporal, workers] = await Promise.all([
        check(() => pingDatabase(deps.db)),
        check(() => deps.redis.ping()),
        check(() => deps.pingTemporal(CHECK_TIMEOUT_MS)),
        check(() => deps.pingWorkers(CHECK_TIMEOUT_MS)),
      ]);
      const checks = { postgres, redis, temporal, workers };
      // Without a worker the API still serves reads and accepts work that waits in Temporal, and API and worker
      // are deployed and restarted apart: taking every API out of rotation while a worker restarts would turn a
      // delay into an outage. So `workers` is reported, and readiness fails only on the API's own dependencies.
      const down = Object.entries({ postgres, redis, temporal })
        .filter(([, c]) => c.status === 'down')
        .map(([name]) => name);
      if (down.length === 0) {
        ctx.body = { status: workers.status === 'ok' ? 'ok' : 'degraded', checks };
        return;
      }
      ctx.status = 503;
      ctx.body = { error: { code: 'not_ready', message: `Unavailable: ${down.join(', ')}`, details: { checks } } };
    },
  });

  api.route({
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics',
    tag: 'system',
    access: ['public'],
    responses: { 200: { description: 'Prometheus text exposition', schema: z.string(), contentType: 'text/plain' } },
    handler: async (ctx) => {
      ctx.type = deps.metrics.contentType;
      ctx.body = await deps.metrics.metrics();
    },
  });

  api.route({
    method: 'get',
    path: '/openapi.json',
    summary: 'This OpenAPI document',
    tag: 'system',
    access: ['public'],
    responses: { 200: { description: 'OpenAPI 3.1 document', schema: z.record(z.string(), z.unknown()) } },
    handler: (ctx) => {
      ctx.body = spec();
    },
  });

  api.route({
    method: 'get',
    path: '/docs',
    summary: 'Human-readable API documentation (Swagger UI)',
    tag: 'system',
    access: ['public'],
    responses: { 200: { description: 'HTML page', schema: z.string(), contentType: 'text/html' } },
    handler: (ctx) => {
      ctx.set('Content-Security-Policy', docsCsp);
      ctx.type = 'html';
      ctx.body = docsHtml;
    },
  });

  api.route({
    method: 'get',
    path: '/api/v1/meta',
    summary: 'Console settings: where the Temporal Web UI lives',
    tag: 'system',
    access: ['public'],
    responses: { 200: { description: 'Settings', schema: Meta } },
    handler: (ctx) => {
      ctx.body = {
        temporal_ui_url: deps.config.temporal.uiUrl,
        temporal_namespace: deps.config.temporal.namespace,
        version: '1.0.0',
      };
    },
  });
}
