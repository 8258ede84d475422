import type { Client, Connection } from '@temporalio/client';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Config } from '../lib/platform/config.js';
import { openDb, releaseDb, type Knex } from '../db/knex.js';
import { findActiveApiKey, type ActiveApiKey } from '../db/auth.js';
import { userAccess as readUserAccess, type UserAccess } from '../db/users.js';
import { AccessCache, API_KEY_REVOKED } from '../lib/accounts/accessCache.js';
import { USER_ACCESS_CHANGED } from '../lib/accounts/modules.js';
import { EventHub } from '../lib/platform/events.js';
import { createLogger, type Logger } from '../lib/platform/logger.js';
import { createRedis, type Redis } from '../lib/platform/redis.js';
import { connectTemporal } from '../lib/platform/temporal.js';
import { checkTemporalHealth, checkWorkersPolling } from '../clients/system.js';

/** Everything the API needs from the outside world, opened once per process. */
export interface ApiDeps {
  config: Config;
  log: Logger;
  db: Knex;
  redis: Redis;
  events: EventHub;
  /** Each console user's role, active state and modules as the access check reads them (undefined: no such user). */
  userAccess: AccessCache<UserAccess | undefined>;
  /** Unrevoked API keys by the SHA-256 of the key (undefined: none such), as authentication reads them. */
  apiKeys: AccessCache<ActiveApiKey | undefined>;
  temporal: { connection: Connection; client: Client };
  /** Asks the Temporal server for its health, giving up after `timeoutMs`. */
  pingTemporal(timeoutMs: number): Promise<unknown>;
  /** Asks the Temporal server whether a worker polls this API's task queue (clients/system), giving up after `timeoutMs`. */
  pingWorkers(timeoutMs: number): Promise<unknown>;
  metrics: Registry;
  /** Runs `close` when the API closes, before its connections do (a background drain, say). */
  onClose(close: () => Promise<void>): void;
}

export async function openApiDeps(config: Config): Promise<ApiDeps & { close(): Promise<void> }> {
  const log = createLogger(config.logLevel, 'api');
  const db = openDb(config.databaseUrl);
  const redis = await createRedis(config.redisUrl, { autoPipelining: true });
  const events = await EventHub.open(await createRedis(config.redisUrl));
  const temporal = await connectTemporal(config);
  const userAccess = new AccessCache((id) => readUserAccess(db, id), { maxAgeMs: config.userAccessCacheMs });
  const apiKeys = new AccessCache((hash) => findActiveApiKey(db, hash), { maxAgeMs: config.apiKeyCacheMs });
  // Another process changed a user's access or revoked a key (api/routes/users.ts, merchants.ts announce it; the
  // process that made the change forgot it already).
  events.listen((event) => {
    if (event.type === USER_ACCESS_CHANGED) userAccess.forget(String(event.data.user_id));
    if (event.type === API_KEY_REVOKED) apiKeys.forgetWhere((key) => key?.id === event.data.api_key_id);
  });
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  // A ping has a deadline; close() stops the client's retries and lets those already waiting fire first (pings
  // and requests that gave up waiting alike), so no retry fires on a closed channel.
  const pingTemporal = (timeoutMs: number) => checkTemporalHealth(temporal.connection, timeoutMs);
  const pingWorkers = (timeoutMs: number) =>
    checkWorkersPolling(temporal.connection, config.temporal.namespace, config.temporal.taskQueue, timeoutMs);
  const closers: (() => Promise<void>)[] = [];
  return {
    config,
    log,
    db,
    redis,
    events,
    userAccess,
    apiKeys,
    temporal,
    pingTemporal,
    pingWorkers,
    metrics,
    onClose: (close) => void closers.push(close),
    async close() {
      for (const close of closers.splice(0)) await close().catch(() => {});
      await events.close();
      await temporal.drain();
      await temporal.connection.close();
      redis.disconnect();
      await releaseDb(db);
    },
  };
}
