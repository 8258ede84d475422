/** Price monitors: each one a Temporal Schedule starting a price check; history, alerts, breakers. */
import { ScheduleNotFoundError, ScheduleOverlapPolicy, WorkflowIdReusePolicy } from '@temporalio/client';
import type { AnyQueryBuilder } from 'objection';
import { z } from 'zod';
import { Monitor, MonitorAlert, PriceCheck, checkOutcomes } from '../../db/models/Monitor.js';
import { CircuitBreaker } from '../../lib/platform/circuitBreaker.js';
import { invalidLocator } from '../../lib/monitors/priceExtract.js';
import { domainEvent, publish } from '../../lib/platform/events.js';
import { scheduleUrl, workflowUrl } from '../../lib/platform/temporal.js';
import {
  monitorScheduleId,
  priceCheckWorkflowId,
  type PriceCheckInput,
  type PriceCheckWorkflow,
} from '../../workflows/contracts/monitors.js';
import type { AppContext } from '../context.js';
import type { ApiDeps } from '../deps.js';
import { ApiError, notFound } from '../errors.js';
import { HttpUrl, publicUrl } from '../outboundUrl.js';
import { pageOf, PageQuery } from '../pagination.js';
import type { Api } from '../route.js';
import { isoOrNull } from '../dates.js';

const MAX_INTERVAL_S = 7 * 24 * 3600;
const CHECK_NOW_WAIT_MS = 10_000;
const MAX_HISTORY_POINTS = 5000;

const currencies = new Set(Intl.supportedValuesOf('currency'));
const BreakerOut = z.object({
  state: z.enum(['closed', 'open', 'half_open']),
  failures: z.number(),
  open_until: z.string().nullable(),
});
const MonitorOut = z
  .object({
    id: z.string(),
    url: z.string(),
    target_price: z.number(),
    currency: z.string(),
    interval: z.number().describe('seconds between checks'),
    selector: z.string().nullable(),
    json_path: z.string().nullable(),
    notify_webhook: z.string().nullable(),
    paused: z.boolean(),
    merchant_id: z.string().nullable(),
    last_outcome: z.enum(checkOutcomes).nullable(),
    last_price: z.number().nullable(),
    last_currency: z.string().nullable(),
    last_availability: z.string().nullable(),
    last_error: z.string().nullable(),
    last_checked_at: z.string().nullable(),
    below_target: z.boolean(),
    breaker: BreakerOut,
    schedule_id: z.string(),
    temporal_url: z.string(),
    created_at: z.string(),
  })
  .meta({ id: 'Monitor' });
const CheckOut = z
  .object({
    id: z.number(),
    outcome: z.enum(checkOutcomes),
    price: z.number().nullable(),
    currency: z.string().nullable(),
    availability: z.string().nullable(),
    source: z.string().nullable(),
    http_status: z.number().nullable(),
    error: z.string().nullable(),
    attempts: z.number(),
    scheduled_at: z.string().nullable(),
    checked_at: z.string(),
  })
  .meta({ id: 'PriceCheck' });
const AlertOut = z
  .object({
    id: z.number(),
    price: z.number(),
    target_price: z.number(),
    currency: z.string().nullable(),
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
  currency: z
    .string()
    .transform((c) => c.toUpperCase())
    .refine((c) => currencies.has(c), 'an ISO 4217 currency code'),
  interval: Interval.describe('seconds between checks'),
  selector: z.string().trim().min(1).max(500).nullish(),
  json_path: z.string().trim().min(1).max(500).nullish(),
  notify_webhook: HttpUrl.nullish(),
});
const CreateMonitor = MonitorFields.refine((m) => !(m.selector && m.json_path), {
  message: 'a selector or a JSON path, not both',
  path: ['json_path'],
});
const UpdateMonitor = MonitorFields.pick({
  target_price: true,
  interval: true,
  selector: true,
  json_path: true,
  notify_webhook: true,
})
  .partial()
  .extend({ paused: z.boolean().optional() });
const IdParams = z.object({ id: z.uuid() });

const checkView = (c: PriceCheck) => ({
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
});
const alertView = (a: MonitorAlert) => ({
  id: a.id,
  price: a.price,
  target_price: a.target_price,
  currency: a.currency,
  delivery_id: a.delivery_id,
  created_at: isoOrNull(a.created_at)!,
});

export function monitorRoutes(api: Api, deps: ApiDeps) {
  const { config, db, temporal, redis } = deps;
  // Built on first use: declaring routes (the OpenAPI generator) touches no dependency.
  let breakers: CircuitBreaker | undefined;
  const breaker = () => (breakers ??= new CircuitBreaker(redis, config.monitors.breaker));
  const schedules = () => temporal.client.schedule;

  const checkInput = (monitorId: string): PriceCheckInput => ({
    monitorId,
    retry: config.monitors.retry,
  });

  async function view(m: Monitor) {
    const scheduleId = monitorScheduleId(m.id);
    return {
      id: m.id,
      url: m.url,
      target_price: m.target_price,
      currency: m.currency,
      interval: m.interval_s,
      selector: m.selector,
      json_path: m.json_path,
      notify_webhook: m.notify_webhook,
      paused: m.paused,
      merchant_id: m.merchant_id,
      last_outcome: m.last_outcome,
      last_price: m.last_price,
      last_currency: m.last_currency,
      last_availability: m.last_availability,
      last_error: m.last_error,
      last_checked_at: isoOrNull(m.last_checked_at),
      below_target: m.below_target,
      breaker: await breaker().state(new URL(m.url).host),
      schedule_id: scheduleId,
      temporal_url: scheduleUrl(config, scheduleId),
      created_at: isoOrNull(m.created_at)!,
    };
  }

  /** Merchants reach their own monitors, operators all; deleted ones only through their history. */
  async function visibleMonitor(ctx: AppContext, id: string, includeDeleted = false): Promise<Monitor> {
    const p = ctx.state.principal!;
    const q = Monitor.query().findById(id);
    if (p.kind === 'merchant') q.where({ merchant_id: p.merchantId });
    if (!includeDeleted) q.whereNull('deleted_at');
    const monitor = await q;
    if (!monitor) throw notFound('Monitor');
    return monitor;
  }

  function checkedFields<
    T extends {
      url?: string;
      interval?: number;
      notify_webhook?: string | null;
      selector?: string | null;
      json_path?: string | null;
    },
  >(body: T, ownerIsMerchant: boolean): T {
    if (body.url) publicUrl(body.url, 'url', config.outboundAllowList);
    if (body.notify_webhook) {
      if (!ownerIsMerchant)
        throw new ApiError(
          400,
          'validation_error',
          'Alert webhooks are signed with a merchant secret: create the monitor with a merchant API key',
          [{ path: 'notify_webhook', message: 'needs a merchant-owned monitor' }],
        );
      publicUrl(body.notify_webhook, 'notify_webhook', config.outboundAllowList);
    }
    for (const kind of ['selector', 'json_path'] as const) {
      const problem = body[kind] ? invalidLocator(kind, body[kind]!) : null;
      if (problem)
        throw new ApiError(400, 'validation_error', `The ${kind} cannot be used`, [{ path: kind, message: problem }]);
    }
    if (body.interval !== undefined && body.interval < config.monitors.minIntervalS) {
      throw new ApiError(400, 'validation_error', 'The interval is too short', [
        { path: 'interval', message: `at least ${config.monitors.minIntervalS} seconds` },
      ]);
    }
    return body;
  }

  /** Every interval, ±10 % jitter (at most a minute) so many monitors do not hit shops in lockstep. */
  const spec = (intervalS: number) => ({
    intervals: [{ every: intervalS * 1000 }],
    jitter: Math.min(intervalS * 100, 60_000),
  });

  api.route({
    method: 'post',
    path: '/api/v1/monitors',
    summary: 'Watch a product page: a Temporal Schedule checks it every `interval` seconds',
    tag: 'monitors',
    access: ['merchant', 'operator'],
    idempotent: true,
    body: CreateMonitor,
    responses: { 201: { description: 'Created and scheduled', schema: MonitorOut } },
    handler: async (ctx, { body }) => {
      const p = ctx.state.principal!;
      checkedFields(body, p.kind === 'merchant');
      const monitor = await db.transaction(async (trx) => {
        const created = await Monitor.query(trx).insertAndFetch({
          merchant_id: p.kind === 'merchant' ? p.merchantId : null,
          user_id: p.kind === 'user' ? p.userId : null,
          url: body.url,
          target_price: body.target_price,
          currency: body.currency,
          interval_s: body.interval,
          selector: body.selector ?? null,
          json_path: body.json_path ?? null,
          notify_webhook: body.notify_webhook ?? null,
        });
        // Created inside the transaction: if Temporal refuses, no monitor is stored.
        await schedules().create({
          scheduleId: monitorScheduleId(created.id),
          spec: spec(body.interval),
          action: {
            type: 'startWorkflow',
            workflowType: 'priceCheckWorkflow',
            workflowId: priceCheckWorkflowId(created.id),
            taskQueue: config.temporal.taskQueue,
            args: [checkInput(created.id)],
            // A check that cannot finish must not hold the schedule: with overlap SKIP it would skip every later one.
            workflowExecutionTimeout: '10 minutes',
          },
          policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '5 minutes' },
        });
        return created;
      });
      await publish(redis, domainEvent('monitor.created', monitor.merchant_id, { monitor_id: monitor.id })).catch(
        () => {},
      );
      ctx.status = 201;
      ctx.body = await view(monitor);
    },
  });

  api.route({
    method: 'get',
    path: '/api/v1/monitors',
    summary: 'Monitors, newest first',
    tag: 'monitors',
    access: ['merchant', 'operator'],
    query: PageQuery.extend({
      outcome: z.enum(checkOutcomes).optional(),
      paused: z.enum(['true', 'false']).optional(),
    }),
    responses: {
      200: {
        description: 'A page',
        schema: z.object({ data: z.array(MonitorOut), next_cursor: z.string().nullable() }),
      },
    },
    handler: async (ctx, { query }) => {
      const p = ctx.state.principal!;
      const q = Monitor.query().whereNull('deleted_at');
      if (p.kind === 'merchant') q.where({ merchant_id: p.merchantId });
      if (query.outcome) q.where({ last_outcome: query.outcome });
      if (query.paused) q.where({ paused: query.paused === 'true' });
      const page = await pageOf(q, query);
      ctx.body = { data: await Promise.all(page.rows.map(view)), next_cursor: page.nextCursor };
    },
  });

  api.route({
    method: 'get',
    path: '/api/v1/monitors/:id',
    summary: 'One monitor with its breaker state, next scheduled checks and recent alerts',
    tag: 'monitors',
    access: ['merchant', 'operator'],
    params: IdParams,
    responses: {
      200: {
        description: 'The monitor',
        schema: MonitorOut.extend({ next_checks: z.array(z.string()), alerts: z.array(AlertOut) }).meta({
          id: 'MonitorDetail',
        }),
      },
      404: { description: 'No such monitor' },
    },
    handler: async (ctx, { params }) => {
      const monitor = await visibleMonitor(ctx, params.id);
      const [schedule, alerts] = await Promise.all([
        schedules()
          .getHandle(monitorScheduleId(monitor.id))
          .describe()
          .catch((e) => (e instanceof ScheduleNotFoundError ? null : Promise.reject(e))),
        MonitorAlert.query().where({ monitor_id: monitor.id }).orderBy('id', 'desc').limit(50),
      ]);
      ctx.body = {
        ...(await view(monitor)),
        next_checks: (schedule?.info.nextActionTimes ?? []).map((d) => d.toISOString()),
        alerts: alerts.map(alertView),
      };
    },
  });

  api.route({
    method: 'patch',
    path: '/api/v1/monitors/:id',
    summary: 'Pause or resume, or change the interval, target, selector or alert webhook',
    tag: 'monitors',
    access: ['merchant', 'operator'],
    params: IdParams,
    body: UpdateMonitor,
    responses: { 200: { description: 'Changed', schema: MonitorOut }, 404: { description: 'No such monitor' } },
    handler: async (ctx, { params, body }) => {
      const monitor = await visibleMonitor(ctx, params.id);
      checkedFields(body, monitor.merchant_id !== null);
      const selector = body.selector !== undefined ? body.selector : monitor.selector;
      const jsonPath = body.json_path !== undefined ? body.json_path : monitor.json_path;
      if (selector && jsonPath)
        throw new ApiError(400, 'validation_error', 'a selector or a JSON path, not both', [
          { path: 'json_path', message: 'clear the selector first' },
        ]);
      const handle = schedules().getHandle(monitorScheduleId(monitor.id));
      const updated = await db.transaction(async (trx) => {
        // Locked, so concurrent changes apply to the row and the schedule in the same order.
        await Monitor.query(trx).findById(monitor.id).forUpdate();
        const changed = await Monitor.query(trx).patchAndFetchById(monitor.id, {
          ...(body.target_price !== undefined ? { target_price: body.target_price, below_target: false } : {}),
          ...(body.interval !== undefined ? { interval_s: body.interval } : {}),
          ...(body.selector !== undefined ? { selector: body.selector } : {}),
          ...(body.json_path !== undefined ? { json_path: body.json_path } : {}),
          ...(body.notify_webhook !== undefined ? { notify_webhook: body.notify_webhook } : {}),
          ...(body.paused !== undefined ? { paused: body.paused } : {}),
          updated_at: new Date(),
        });
        if (body.interval !== undefined && body.interval !== monitor.interval_s)
          await handle.update((prev) => ({ ...prev, spec: spec(body.interval!) }));
        // Pausing a paused schedule (or resuming a running one) is harmless: follow the request, not the old row.
        if (body.paused === true) await handle.pause('paused through the API');
        if (body.paused === false) await handle.unpause('resumed through the API');
        return changed;
      });
      ctx.body = await view(updated);
    },
  });

  api.route({
    method: 'delete',
    path: '/api/v1/monitors/:id',
    summary: 'Stop monitoring: removes the schedule, keeps the history',
    tag: 'monitors',
    access: ['merchant', 'operator'],
    params: IdParams,
    responses: { 204: { description: 'Deleted' }, 404: { description: 'No such monitor' } },
    handler: async (ctx, { params }) => {
      const monitor = await visibleMonitor(ctx, params.id);
      await db.transaction(async (trx) => {
        await Monitor.query(trx).patch({ deleted_at: new Date(), paused: true }).findById(monitor.id);
        await schedules()
          .getHandle(monitorScheduleId(monitor.id))
          .delete()
          .catch((e) => (e instanceof ScheduleNotFoundError ? undefined : Promise.reject(e)));
      });
      ctx.status = 204;
    },
  });

  api.route({
    method: 'post',
    path: '/api/v1/monitors/:id/check',
    summary: 'Check now; answers with the check when it finishes within 10 s, else 202 with the workflow',
    tag: 'monitors',
    access: ['merchant', 'operator'],
    params: IdParams,
    responses: {
      200: { description: 'The check', schema: CheckOut },
      202: {
        description: 'Still running (retrying a failing shop)',
        schema: z.object({ workflow_id: z.string(), temporal_url: z.string() }),
      },
      404: { description: 'No such monitor' },
    },
    handler: async (ctx, { params }) => {
      const monitor = await visibleMonitor(ctx, params.id);
      const workflowId = `${priceCheckWorkflowId(monitor.id)}-now-${Date.now()}`;
      const handle = await temporal.client.workflow.start<PriceCheckWorkflow>('priceCheckWorkflow', {
        taskQueue: config.temporal.taskQueue,
        workflowId,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        args: [checkInput(monitor.id)],
        workflowExecutionTimeout: '10 minutes',
      });
      // A failed run also has nothing to show beyond its workflow; either way the stored check answers.
      const settled = () => true;
      const finished = await Promise.race([
        handle.result().then(settled, settled),
        new Promise<false>((r) => setTimeout(() => r(false), CHECK_NOW_WAIT_MS).unref()),
      ]);
      const check = finished ? await PriceCheck.query().findOne({ check_id: workflowId }) : undefined;
      if (!check) {
        ctx.status = 202;
        ctx.body = { workflow_id: workflowId, temporal_url: workflowUrl(config, workflowId) };
        return;
      }
      ctx.body = checkView(check);
    },
  });

  api.route({
    method: 'get',
    path: '/api/v1/monitors/:id/history',
    summary: 'Every check (failures too) and alert in a time range, oldest first: chart data',
    tag: 'monitors',
    access: ['merchant', 'operator'],
    params: IdParams,
    query: z.object({
      from: z.iso.datetime({ offset: true }).optional(),
      to: z.iso.datetime({ offset: true }).optional(),
    }),
    responses: {
      200: {
        description: `At most ${MAX_HISTORY_POINTS} checks`,
        schema: z.object({ checks: z.array(CheckOut), alerts: z.array(AlertOut), truncated: z.boolean() }),
      },
      404: { description: 'No such monitor' },
    },
    handler: async (ctx, { params, query }) => {
      const monitor = await visibleMonitor(ctx, params.id, true);
      const inRange = (column: string) => (b: AnyQueryBuilder) => {
        if (query.from) b.where(column, '>=', new Date(query.from));
        if (query.to) b.where(column, '<', new Date(query.to));
      };
      const [checks, alerts] = await Promise.all([
        PriceCheck.query()
          .where({ monitor_id: monitor.id })
          .modify(inRange('checked_at'))
          .orderBy('checked_at', 'desc')
          .limit(MAX_HISTORY_POINTS + 1),
        MonitorAlert.query().where({ monitor_id: monitor.id }).modify(inRange('created_at')).orderBy('created_at'),
      ]);
      ctx.body = {
        checks: checks.slice(0, MAX_HISTORY_POINTS).reverse().map(checkView),
        alerts: alerts.map(alertView),
        truncated: checks.length > MAX_HISTORY_POINTS,
      };
    },
  });
}
