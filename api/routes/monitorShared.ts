/** What the monitor route files share: the schemas, the check and alert views, and the caller's monitor lookup. */
import type { Knex } from 'knex';
import { z } from 'zod';
import { checkOutcomes, findMonitor } from '../../db/monitors.js';
import type { Monitor, MonitorAlert, PriceCheck } from '../../db/models/Monitor.js';
import type { Config } from '../../lib/platform/config.js';
import { workflowUrl } from '../../lib/platform/temporal.js';
import type { AppContext } from '../context.js';
import { CurrencyIn, CurrencyOut } from '../currency.js';
import { isoOrNull } from '../dates.js';
import { notFound } from '../errors.js';
import { HttpUrl } from '../outboundUrl.js';

const MAX_INTERVAL_S = 7 * 24 * 3600;

const BreakerOut = z.object({
  state: z.enum(['closed', 'open', 'half_open']),
  failures: z.number(),
  open_until: z.string().nullable(),
});
const HostThrottleOut = z
  .object({
    until: z.string().describe('no request goes to the host before this time'),
    reason: z.string().describe('the answer that asked for the wait'),
  })
  .nullable()
  .describe(
    'the host asked us to wait (429, or 503 with Retry-After): every monitor on it skips its checks until then',
  );
export const MonitorOut = z
  .object({
    id: z.string(),
    url: z.string(),
    target_price: z.number(),
    currency: CurrencyOut,
    interval: z.number().describe('seconds between checks'),
    selector: z.string().nullable(),
    json_path: z.string().nullable(),
    notify_webhook: z.string().nullable(),
    paused: z.boolean(),
    merchant_id: z.string().nullable(),
    last_outcome: z.enum(checkOutcomes).nullable(),
    last_price: z.number().nullable(),
    last_currency: CurrencyOut.nullable(),
    last_availability: z.string().nullable(),
    last_error: z.string().nullable(),
    last_checked_at: z.string().nullable(),
    below_target: z.boolean(),
    next_check_at: z
      .string()
      .nullable()
      .describe('when the next check is due (its slot; null while paused); then every `interval` seconds'),
    breaker: BreakerOut,
    host_throttle: HostThrottleOut,
    schedule_id: z.string().describe("the Schedule whose runs check the monitors of this monitor's task queue"),
    temporal_url: z.string().describe('that Schedule in the Temporal Web UI'),
    created_at: z.string(),
  })
  .meta({ id: 'Monitor' });
export const CheckOut = z
  .object({
    id: z.number(),
    outcome: z.enum(checkOutcomes),
    price: z.number().nullable(),
    currency: CurrencyOut.nullable(),
    availability: z.string().nullable(),
    source: z.string().nullable(),
    http_status: z.number().nullable(),
    error: z.string().nullable(),
    attempts: z.number(),
    scheduled_at: z.string().nullable().describe('the slot the check was due at (check now: when it was asked)'),
    checked_at: z.string(),
    workflow_id: z.string().nullable().describe('the workflow that made the check: a dispatcher run, or a check now'),
    temporal_url: z.string().nullable().describe('that workflow run in the Temporal Web UI'),
  })
  .meta({ id: 'PriceCheck' });
export const AlertOut = z
  .object({
    id: z.number(),
    price: z.number(),
    target_price: z.number(),
    currency: CurrencyOut.nullable(),
    delivery_id: z.string().nullable(),
    created_at: z.string(),
  })
  .meta({ id: 'MonitorAlert' });

const price = z
  .number()
  .positive()
  .max(1e11)
  .refine((n) => Number(n.toFixed(2)) === n, 'at most two decimals');
const Interval = z.number().int().max(MAX_INTERVAL_S);
const MonitorFields = z.object({
  url: HttpUrl,
  target_price: price,
  currency: CurrencyIn,
  interval: Interval.describe('seconds between checks'),
  selector: z.string().trim().min(1).max(500).nullish(),
  json_path: z.string().trim().min(1).max(500).nullish(),
  notify_webhook: HttpUrl.nullish(),
});
export const CreateMonitor = MonitorFields.refine((m) => !(m.selector && m.json_path), {
  message: 'a selector or a JSON path, not both',
  path: ['json_path'],
});
export const UpdateMonitor = MonitorFields.pick({
  target_price: true,
  interval: true,
  selector: true,
  json_path: true,
  notify_webhook: true,
})
  .partial()
  .extend({ paused: z.boolean().optional() });
export const IdParams = z.object({ id: z.uuid() });

/** A check as the API shows it, with a link to the workflow run that made it (`config`: the Web UI's address). */
export const checkView = (config: Config) => (c: PriceCheck) => ({
  id: c.id,
  outcome: c.outcome,
  price: c.price,
  currency: c.currency,
  availability: c.availability,
  source: c.source,
  http_status: c.http_status,
  error: c.error,
  attempts: c.attempts,
  scheduled_at: isoOrNull(c.scheduled_at),
  checked_at: isoOrNull(c.checked_at)!,
  workflow_id: c.workflow_id,
  temporal_url: !c.workflow_id
    ? null
    : c.run_id
      ? `${workflowUrl(config, c.workflow_id)}/${encodeURIComponent(c.run_id)}/history`
      : workflowUrl(config, c.workflow_id),
});
export const alertView = (a: MonitorAlert) => ({
  id: a.id,
  price: a.price,
  target_price: a.target_price,
  currency: a.currency,
  delivery_id: a.delivery_id,
  created_at: isoOrNull(a.created_at)!,
});

/**
 * The monitor the caller may reach: merchants their own, operators all; deleted ones only through their
 * history (`includeDeleted`). Throws a 404 ApiError otherwise.
 */
export async function visibleMonitor(db: Knex, ctx: AppContext, id: string, includeDeleted = false): Promise<Monitor> {
  const p = ctx.state.principal!;
  const monitor = await findMonitor(db, id, {
    merchantId: p.kind === 'merchant' ? p.merchantId : undefined,
    includeDeleted,
  });
  if (!monitor) throw notFound('Monitor');
  return monitor;
}
