/** Price monitors: due times in PostgreSQL, checked by their task queue's dispatcher; history, alerts, breakers. */
import { z } from 'zod';
import { ensureMonitorDispatch } from '../../clients/monitors.js';
import {
  checkOutcomes,
  createMonitor,
  deleteMonitor,
  monitorListQuery,
  recentAlerts,
  updateMonitor,
} from '../../db/monitors.js';
import type { Monitor } from '../../db/models/Monitor.js';
import { CircuitBreaker } from '../../lib/platform/circuitBreaker.js';
import { HostThrottle } from '../../lib/platform/hostThrottle.js';
import { invalidLocator } from '../../lib/monitors/priceExtract.js';
import { domainEvent, publish } from '../../lib/platform/events.js';
import { scheduleUrl } from '../../lib/platform/temporal.js';
import { monitorDispatchScheduleId } from '../../workflows/contracts/monitors.js';
import type { ApiDeps } from '../deps.js';
import { ApiError, notFound } from '../errors.js';
import { markReplayed } from '../idempotency.js';
import { publicUrl } from '../outboundUrl.js';
import { pageOf, PageQuery } from '../pagination.js';
import type { Api } from '../route.js';
import { isoOrNull } from '../dates.js';
import { monitorCheckRoutes } from './monitorChecks.js';
import {
  AlertOut,
  alertView,
  CreateMonitor,
  IdParams,
  MonitorOut,
  UpdateMonitor,
  visibleMonitor,
} from './monitorShared.js';

/** Declares the `/api/v1/monitors` routes, then their checks' (monitorChecks.ts): the OpenAPI document's order. */
export function monitorRoutes(api: Api, deps: ApiDeps) {
  const { config, db, temporal, redis } = deps;
  // Built on first use: declaring routes (the OpenAPI generator) touches no dependency.
  let breakers: CircuitBreaker | undefined;
  const breaker = () => (breakers ??= new CircuitBreaker(redis, config.monitors.breaker));
  let throttles: HostThrottle | undefined;
  const throttle = () => (throttles ??= new HostThrottle(redis, config.monitors.throttle));
  // Once per process: every monitor of this task queue is checked by the same Schedule's runs.
  let dispatch: Promise<void> | undefined;
  const ensureDispatch = () =>
    (dispatch ??= ensureMonitorDispatch(temporal.client, config).catch((error) => {
      dispatch = undefined;
      throw error;
    }));

  async function view(m: Monitor) {
    const scheduleId = monitorDispatchScheduleId(m.task_queue ?? config.temporal.taskQueue);
    const host = new URL(m.url).host;
    const [breakerState, hostThrottle] = await Promise.all([breaker().state(host), throttle().state(host)]);
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
      next_check_at: m.paused || m.deleted_at ? null : isoOrNull(m.next_check_at),
      breaker: breakerState,
      host_throttle: hostThrottle,
      schedule_id: scheduleId,
      temporal_url: scheduleUrl(config, scheduleId),
      created_at: isoOrNull(m.created_at)!,
    };
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

  api.route({
    method: 'post',
    path: '/api/v1/monitors',
    summary: 'Watch a product page: checked every `interval` seconds, first within one interval',
    tag: 'monitors',
    access: ['merchant', 'operator'],
    idempotent: true,
    body: CreateMonitor,
    responses: { 201: { description: 'Created and due', schema: MonitorOut } },
    handler: async (ctx, { body, idempotencyKeyId }) => {
      const p = ctx.state.principal!;
      checkedFields(body, p.kind === 'merchant');
      const fields = {
        merchant_id: p.kind === 'merchant' ? p.merchantId : null,
        user_id: p.kind === 'user' ? p.userId : null,
        url: body.url,
        target_price: body.target_price,
        currency: body.currency,
        interval_s: body.interval,
        selector: body.selector ?? null,
        json_path: body.json_path ?? null,
        notify_webhook: body.notify_webhook ?? null,
        idempotency_key_id: idempotencyKeyId ?? null,
        task_queue: config.temporal.taskQueue,
      };
      // If Temporal refuses the dispatcher's Schedule, no monitor is stored: nothing would check it.
      await ensureDispatch();
      const { monitor, created } = await createMonitor(db, fields);
      // Not created: an earlier attempt of this request (its process killed, say) stored it and announced it.
      if (!created) markReplayed(ctx);
      else
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
      const q = monitorListQuery(db, {
        merchantId: p.kind === 'merchant' ? p.merchantId : undefined,
        outcome: query.outcome,
        paused: query.paused ? query.paused === 'true' : undefined,
      });
      const page = await pageOf(q, query);
      ctx.body = { data: await Promise.all(page.rows.map(view)), next_cursor: page.nextCursor };
    },
  });

  api.route({
    method: 'get',
    path: '/api/v1/monitors/:id',
    summary: "One monitor with its host's breaker and throttle, its next three due times and recent alerts",
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
      const monitor = await visibleMonitor(db, ctx, params.id);
      const [shown, alerts] = await Promise.all([view(monitor), recentAlerts(db, monitor.id, 50)]);
      const next = shown.next_check_at ? Date.parse(shown.next_check_at) : null;
      ctx.body = {
        ...shown,
        // The monitor's grid: the next slot, then one interval apart.
        next_checks:
          next === null ? [] : [0, 1, 2].map((k) => new Date(next + k * monitor.interval_s * 1000).toISOString()),
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
      const monitor = await visibleMonitor(db, ctx, params.id);
      checkedFields(body, monitor.merchant_id !== null);
      const selector = body.selector !== undefined ? body.selector : monitor.selector;
      const jsonPath = body.json_path !== undefined ? body.json_path : monitor.json_path;
      if (selector && jsonPath)
        throw new ApiError(400, 'validation_error', 'a selector or a JSON path, not both', [
          { path: 'json_path', message: 'clear the selector first' },
        ]);
      const changes = {
        target_price: body.target_price,
        interval_s: body.interval,
        selector: body.selector,
        json_path: body.json_path,
        notify_webhook: body.notify_webhook,
        paused: body.paused,
      };
      const updated = await updateMonitor(db, monitor.id, changes);
      // Deleted meanwhile.
      if (!updated) throw notFound('Monitor');
      ctx.body = await view(updated);
    },
  });

  api.route({
    method: 'delete',
    path: '/api/v1/monitors/:id',
    summary: 'Stop monitoring: no more checks, the history stays',
    tag: 'monitors',
    access: ['merchant', 'operator'],
    params: IdParams,
    responses: { 204: { description: 'Deleted' }, 404: { description: 'No such monitor' } },
    handler: async (ctx, { params }) => {
      const monitor = await visibleMonitor(db, ctx, params.id);
      await deleteMonitor(db, monitor.id);
      ctx.status = 204;
    },
  });

  monitorCheckRoutes(api, deps);
}
