import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Koa from 'koa';
import { bodyParser } from '@koa/bodyparser';
import cors from '@koa/cors';
import { trustsProxies } from '../lib/platform/clientIp.js';
import type { AppState } from './context.js';
import type { ApiDeps } from './deps.js';
import { accessLog } from './middleware/accessLog.js';
import { clientIp } from './middleware/clientIp.js';
import { authenticate } from './middleware/authenticate.js';
import { errors } from './middleware/errors.js';
import { httpMetrics } from './middleware/metrics.js';
import { rateLimitByCredential, rateLimitByIp } from './middleware/rateLimit.js';
import { requestId } from './middleware/requestId.js';
import { securityHeaders } from './middleware/securityHeaders.js';
import { staticFiles } from './middleware/staticFiles.js';
import { Api } from './route.js';
import { accountRoutes } from './routes/accounts.js';
import { authRoutes } from './routes/auth.js';
import { bookingRoutes } from './routes/booking.js';
import { companyRoutes } from './routes/companies.js';
import { cotRoutes } from './routes/cot.js';
import { diagnosisRoutes } from './routes/diagnosis.js';
import { eventRoutes } from './routes/events.js';
import { merchantRoutes } from './routes/merchants.js';
import { monitorRoutes } from './routes/monitors.js';
import { overviewRoutes } from './routes/overview.js';
import { paymentRoutes } from './routes/payments.js';
import { webhookRoutes } from './routes/webhooks.js';
import { workshopRoutes } from './routes/workshops.js';
import { idempotencyGuard } from './idempotency.js';
import { mailboxRoutes } from './routes/mailbox.js';
import { sessionRoutes } from './routes/sessions.js';
import { systemRoutes } from './routes/system.js';
import { userRoutes } from './routes/users.js';
import { adminStatsRoutes } from './routes/adminStats.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const swaggerUiDir = path.join(root, 'node_modules', 'swagger-ui-dist');
const consoleDir = path.join(root, 'ui', 'dist');

/**
 * Declares every route; used by the app and by the OpenAPI generator alike. Declaring a route
 * touches no dependency (handlers use them per request), so the generator can pass none.
 */
export function buildApi(deps: ApiDeps): Api {
  const api = new Api(
    deps.db && idempotencyGuard(deps.db, { secretsKey: deps.config.secretsKey, leaseS: deps.config.idempotencyLeaseS }),
  );
  let spec: unknown;
  systemRoutes(api, deps, () => (spec ??= api.document()));
  authRoutes(api, deps);
  accountRoutes(api, deps);
  sessionRoutes(api, deps);
  mailboxRoutes(api, deps);
  merchantRoutes(api, deps);
  eventRoutes(api, deps);
  paymentRoutes(api, deps);
  webhookRoutes(api, deps);
  workshopRoutes(api, deps);
  bookingRoutes(api, deps);
  monitorRoutes(api, deps);
  diagnosisRoutes(api, deps);
  cotRoutes(api, deps);
  overviewRoutes(api, deps);
  companyRoutes(api, deps);
  userRoutes(api, deps);
  adminStatsRoutes(api, deps);
  return api;
}

export function createApp(deps: ApiDeps): Koa<AppState> {
  // `proxy` lets X-Forwarded-Proto/-Host count behind trusted proxies; the client IP is clientIp's alone.
  const app = new Koa<AppState>({ proxy: trustsProxies(deps.config.proxyTrust) });
  const api = buildApi(deps);
  app.use(clientIp(deps.config.proxyTrust));
  app.use(requestId(deps.log));
  app.use(accessLog);
  app.use(httpMetrics(deps.metrics));
  app.use(errors);
  app.use(securityHeaders);
  app.use(
    cors({
      origin: (ctx) => (deps.config.corsOrigins.includes(ctx.get('origin')) ? ctx.get('origin') : ''),
      credentials: true,
    }),
  );
  app.use(staticFiles('/docs/assets/', swaggerUiDir, false));
  app.use(staticFiles('/', consoleDir, true));
  app.use(bodyParser({ enableTypes: ['json'], jsonLimit: deps.config.bodyLimit }));
  app.use(rateLimitByIp(deps.redis, deps.config.rateLimit));
  app.use(
    authenticate(
      deps.config.jwtSecret,
      deps.db,
      (id) => deps.userAccess.get(id),
      (hash) => deps.apiKeys.get(hash),
    ),
  );
  app.use(rateLimitByCredential(deps.redis, deps.config.rateLimit));
  app.use(api.router.routes());
  app.use(api.router.allowedMethods({ throw: false }));
  // Errors after the response started (a stream cut short); an SSE client leaving is routine.
  app.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'ERR_STREAM_PREMATURE_CLOSE') deps.log.warn({ err: error }, 'response stream failed');
  });
  return app;
}
