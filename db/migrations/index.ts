import type { Knex } from 'knex';
import * as platform from './20261123000001_platform.js';
import * as workshops from './20261123000002_workshops.js';
import * as payments from './20261123000003_payments.js';
import * as booking from './20261123000004_booking.js';
import * as monitors from './20261123000005_monitors.js';
import * as diagnosis from './20261123000006_diagnosis.js';
import * as cot from './20261123000007_cot.js';
import * as webhookEvents from './20261123000008_webhook_events.js';
import * as currencyUpper from './20261130000001_currency_upper.js';
import * as idempotencyLease from './20261130000002_idempotency_lease.js';
import * as cotUnitValidators from './20261130000003_cot_unit_validators.js';
import * as refreshGrace from './20261130000004_refresh_grace.js';
import * as bookingHoldClient from './20261130000007_booking_hold_client.js';
import * as companies from './20261130000020_companies.js';
import * as cotStaging from './20261130000030_cot_staging.js';
import * as monitorDue from './20261130000040_monitor_due.js';
import * as accounts from './20261130000050_accounts.js';
import * as permissions from './20261130000060_permissions.js';

/**
 * Migrations are imported, not discovered on disk, so they load the same way under tsx, Vitest
 * and a compiled build. Append new ones here in order.
 */
const migrations: Record<string, Knex.Migration> = {
  '20261123000001_platform': platform,
  '20261123000002_workshops': workshops,
  '20261123000003_payments': payments,
  '20261123000004_booking': booking,
  '20261123000005_monitors': monitors,
  '20261123000006_diagnosis': diagnosis,
  '20261123000007_cot': cot,
  '20261123000008_webhook_events': webhookEvents,
  '20261130000001_currency_upper': currencyUpper,
  '20261130000002_idempotency_lease': idempotencyLease,
  '20261130000003_cot_unit_validators': cotUnitValidators,
  '20261130000004_refresh_grace': refreshGrace,
  '20261130000007_booking_hold_client': bookingHoldClient,
  '20261130000020_companies': companies,
  '20261130000030_cot_staging': cotStaging,
  '20261130000040_monitor_due': monitorDue,
  '20261130000050_accounts': accounts,
  '20261130000060_permissions': permissions,
};

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name],
};
