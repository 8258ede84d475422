import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import type { Config } from '../lib/platform/config.js';
import { accountActivities } from './accounts.js';
import { bookingActivities } from './booking.js';
import { companyActivities } from './companies.js';
import { cotActivities } from './cot.js';
import { diagnosisActivities } from './diagnosis.js';
import { eventActivities } from './events.js';
import { monitorActivities } from './monitors.js';
import { paymentActivities } from './payments.js';
import { webhookActivities } from './webhooks.js';

export interface ActivityDeps {
  config: Config;
  db: Knex;
  redis: Redis;
  /** Shares the worker's connection. */
  temporal: Client;
}

/** All activities, bound to this worker's connections. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...eventActivities(deps.redis),
    ...paymentActivities(deps),
    ...webhookActivities(deps),
    ...bookingActivities(deps),
    ...monitorActivities(deps),
    ...diagnosisActivities(deps),
    ...cotActivities(deps),
    ...companyActivities(deps),
    ...accountActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
