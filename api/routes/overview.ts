/** The console's overview: counts per area for the operator's day, and the recent history of every feature. */
import { DateTime, IANAZone } from 'luxon';
import { z } from 'zod';
import { appointmentStatuses } from '../../db/booking.js';
import { cotFreshness } from '../../db/cot.js';
import {
  appointmentCountsIn,
  type TargetKind,
  monitorCounts,
  openChatCount,
  paymentCountsIn,
  recentEvents,
  webhookTrouble,
} from '../../db/overview.js';
import { paymentStatuses } from '../../db/payments.js';
import { reportTypes, subtypes } from '../../lib/cot/reports.js';
import { CircuitBreaker } from '../../lib/platform/circuitBreaker.js';
import type { Module } from '../../lib/accounts/modules.js';
import type { ApiDeps } from '../deps.js';
import type { Api } from '../route.js';

const RECENT_LIMIT = 50;

const perStatus = <T extends readonly [string, ...string[]]>(statuses: T) =>
  z.object(Object.fromEntries(statuses.map((s) => [s, z.number().int()])) as Record<T[number], z.ZodNumber>);
/** Every status present, zero where none: the console shows the same tiles every day. */
const zeroFilled = (statuses: readonly string[], counts: Record<string, number>) =>
  Object.fromEntries(statuses.map((s) => [s, counts[s] ?? 0]));
const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
/** Whose recent events each module shows. */
const kindsOf: Record<Module, TargetKind[]> = {
  payments: ['payment'],
  monitors: ['monitor'],
  cot: ['cot_run'],
  diagnosis: ['diagnosis'],
  booking: ['appointment'],
  companies: [],
};
const withoutModule = 'null when the caller does not hold the module';

const Overview = z
  .object({
    day: z.object({
      date: z.string().describe('the calendar day counted, in `time_zone`'),
      time_zone: z.string(),
      from: z.string(),
      to: z.string(),
    }),
    payments: z
      .object({ total: z.number().int(), by_status: perStatus(paymentStatuses) })
      .nullable()
      .describe(withoutModule),
    webhooks: z
      .object({
        failed: z.number().int().describe('deliveries given up on after the whole retry schedule'),
        retrying: z.number().int().describe('deliveries still pending after at least one failed attempt'),
        disabled_endpoints: z.number().int(),
      })
      .nullable()
      .describe(`${withoutModule} (payments)`),
    monitors: z
      .object({
        active: z.number().int(),
        paused: z.number().int(),
        alerting: z.number().int().describe('running monitors whose last price is at or below the target'),
        failing: z.number().int().describe('running monitors whose last check did not read a price'),
        breaker_open: z.number().int().describe("running monitors whose host's circuit breaker is open or half-open"),
        open_hosts: z.array(z.string()),
      })
      .nullable()
      .describe(withoutModule),
    cot: z
      .object({
        stale_after_days: z.number().int(),
        reports: z.array(
          z.object({
            report_type: z.enum(reportTypes),
            subtype: z.enum(subtypes),
            latest_report: z.string(),
            age_days: z.number().int(),
            stale: z.boolean(),
          }),
        ),
      })
      .nullable()
      .describe(withoutModule),
    appointments: z
      .object({ total: z.number().int(), by_status: perStatus(appointmentStatuses) })
      .nullable()
      .describe(`${withoutModule} (booking)`),
    diagnosis: z.object({ open: z.number().int() }).nullable().describe(withoutModule),
    recent: z.array(
      z.object({
        id: z.string(),
        type: z.string(),
        occurred_at: z.string(),
        label: z.string(),
        target: z.object({
          kind: z.enum(['payment', 'monitor', 'appointment', 'diagnosis', 'cot_run']),
          id: z.string(),
        }),
      }),
    ),
  })
  .meta({ id: 'Overview' });

/** `GET /api/v1/overview`. */
export function overviewRoutes(api: Api, deps: ApiDeps) {
  const { config, db, redis } = deps;
  // Built on first use: declaring routes (the OpenAPI generator) touches no dependency.
  let breakers: CircuitBreaker | undefined;
  const breaker = () => (breakers ??= new CircuitBreaker(redis, config.monitors.breaker));

  api.route({
    method: 'get',
    path: '/api/v1/overview',
    summary:
      "Counts per area for the operator's day and the newest events of every feature, each with its target: the areas of the caller's modules only",
    tag: 'system',
    access: ['operator'],
    query: z.object({
      time_zone: z
        .string()
        .max(100)
        .refine((zone) => IANAZone.isValidZone(zone), 'an IANA time zone, e.g. Europe/Kyiv')
        .default('UTC')
        .describe("the operator's time zone: whose calendar day `today` is"),
    }),
    responses: { 200: { description: 'The overview', schema: Overview } },
    handler: async (ctx, { query }) => {
      const start = DateTime.now().setZone(query.time_zone).startOf('day');
      // The next day's start, not +24 h: a day with a clock change has 23 or 25 hours.
      const span = { from: start.toJSDate(), to: start.plus({ days: 1 }).startOf('day').toJSDate() };
      const principal = ctx.state.principal;
      const holds = (m: Module) => principal?.kind === 'user' && principal.modules.includes(m);
      /** The area's figures when the caller holds its module, else null (nothing is read). */
      const area = <T>(m: Module, read: () => Promise<T>): Promise<T | null> =>
        holds(m) ? read() : Promise.resolve(null);
      const kinds = (Object.keys(kindsOf) as Module[]).filter(holds).flatMap((m) => kindsOf[m]);
      const [payments, webhooks, monitors, freshness, appointments, openChats, recent] = await Promise.all([
        area('payments', () => paymentCountsIn(db, span)),
        area('payments', () => webhookTrouble(db)),
        area('monitors', () => monitorCounts(db)),
        area('cot', () => cotFreshness(db)),
        area('booking', () => appointmentCountsIn(db, span)),
        area('diagnosis', () => openChatCount(db)),
        recentEvents(db, RECENT_LIMIT, kinds),
      ]);
      const hosts = monitors ? [...new Set(monitors.urls.map((u) => new URL(u.url).host))] : [];
      const states = await Promise.all(hosts.map((host) => breaker().state(host)));
      const openHosts = hosts.filter((_, i) => states[i].state !== 'closed');
      ctx.body = {
        day: {
          date: start.toISODate(),
          time_zone: query.time_zone,
          from: span.from.toISOString(),
          to: span.to.toISOString(),
        },
        payments: payments && { total: total(payments), by_status: zeroFilled(paymentStatuses, payments) },
        webhooks,
        monitors: monitors && {
          active: monitors.active,
          paused: monitors.paused,
          alerting: monitors.alerting,
          failing: monitors.failing,
          breaker_open: monitors.urls
            .filter((u) => openHosts.includes(new URL(u.url).host))
            .reduce((n, u) => n + u.monitors, 0),
          open_hosts: openHosts,
        },
        cot: freshness && {
          stale_after_days: config.cot.staleDays,
          reports: freshness.map((r) => ({ ...r, stale: r.age_days > config.cot.staleDays })),
        },
        appointments: appointments && {
          total: total(appointments),
          by_status: zeroFilled(appointmentStatuses, appointments),
        },
        diagnosis: openChats === null ? null : { open: openChats },
        recent: recent.map((e) => ({
          id: e.id,
          type: e.type,
          occurred_at: new Date(e.occurred_at).toISOString(),
          label: e.label,
          target: { kind: e.target_kind, id: e.target_id },
        })),
      };
    },
  });
}
