import type { Client, Connection } from '@temporalio/client';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Config } from '../lib/config.js';
import { openDb, releaseDb, type Knex } from '../db/knex.js';
import { EventHub } from '../lib/events.js';
import { createLogger, type Logger } from '../lib/logger.js';
import { createRedis, type Redis } from '../lib/redis.js';
import { connectTemporal } from '../lib/temporal.js';

/** Everything the API needs from the outside world, opened once per process. */
export interface ApiDeps {
  config: Config;
  log: Logger;
  db: Knex;
  redis: Redis;
  events: EventHub;
  temporal: { connection: Connection; client: Client };
  metrics: Registry;
}

export async function openApiDeps(config: Config): Promise<ApiDeps & { close(): Promise<void> }> {
  const log = createLogger(config.logLevel, 'api');
  const db = openDb(config.databaseUrl);
  const redis = await createRedis(config.redisUrl);
  const events = await EventHub.open(await createRedis(config.redisUrl));
  const temporal = await connectTemporal(config);
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  return {
    config,
    log,
    db,
    redis,
    events,
    temporal,
    metrics,
    async close() {
      await events.close();
      await temporal.connection.close();
      redis.disconnect();
      await releaseDb(db);
    },
  };
}
