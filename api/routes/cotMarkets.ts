/** COT reference data and markets: a report's trader groups, its markets, and one market's history (cached). */
import type { Knex } from 'knex';
import { z } from 'zod';
import { cotMarketHistory, listCotMarkets } from '../../db/cot.js';
import { CROWDED, INDEX_WINDOWS, WCI_WINDOW } from '../../lib/cot/indicators.js';
import { reports, reportTypes, subtypes, type ReportType, type Subtype } from '../../lib/cot/reports.js';
import type { ApiDeps } from '../deps.js';
import { notFound } from '../errors.js';
import type { Api } from '../route.js';
import { cachedView, IndicatorsOut, indicatorsView, num, PairParams, TypeParams } from './cotShared.js';

const MARKETS_TTL_S = 600;

const MarketParams = PairParams.extend({
  code: z
    .string()
    .regex(/^[0-9A-Za-z+]{1,12}$/, 'a CFTC contract market code such as 099741 or 13874A')
    .transform((c) => c.toUpperCase()),
});

const GroupOut = z
  .object({
    id: z.string(),
    key: z.string(),
    label: z.string(),
    role: z.enum(['commercial', 'speculative', 'small']),
    has_spread: z.boolean(),
  })
  .meta({ id: 'CotGroup' });
const PositionsOut = IndicatorsOut.extend({
  long: z.number().nullable(),
  short: z.number().nullable(),
  spread: z.number().nullable(),
  long_change: z.number().nullable(),
  short_change: z.number().nullable(),
  spread_change: z.number().nullable(),
}).meta({ id: 'CotGroupWeek' });
const MarketOut = z
  .object({
    code: z.string(),
    name: z.string(),
    first_report: z.string(),
    latest_report: z.string(),
    reports: z.number(),
    open_interest: z.number(),
  })
  .meta({ id: 'CotMarket' });
const WeekOut = z
  .object({
    report_date: z.string(),
    open_interest: z.number(),
    open_interest_change: z.number().nullable(),
    groups: z.array(PositionsOut),
  })
  .meta({ id: 'CotWeek' });
const MarketDetailOut = z
  .object({
    report_type: z.enum(reportTypes),
    subtype: z.enum(subtypes),
    code: z.string(),
    name: z.string(),
    names: z
      .array(z.object({ name: z.string(), from: z.string(), through: z.string() }))
      .describe('every name the market has had, oldest first'),
    reports: z
      .number()
      .describe('how many reports the market has in all (`weeks` may hold fewer): an index over N reports needs N'),
    weeks: z.array(WeekOut).describe('newest first'),
  })
  .meta({ id: 'CotMarketDetail' });

/** One market's latest `weeks` reports with every group's positions and indicators; null when it has none. */
async function marketDetail(
  db: Knex,
  type: ReportType,
  subtype: Subtype,
  code: string,
  weeks: number,
): Promise<z.infer<typeof MarketDetailOut> | null> {
  const def = reports[type];
  const history = await cotMarketHistory(db, type, subtype, code, weeks);
  if (!history) return null;
  const { reports: rows, total, names, indicators } = history;
  return {
    report_type: type,
    subtype,
    code,
    name: rows[0].market_name!,
    names,
    reports: total,
    weeks: rows.map((r) => ({
      report_date: r.report_day!,
      open_interest: Number(r.open_interest),
      open_interest_change: num(r.oi_change),
      groups: def.groups.map((g) => {
        const i = indicators.find((x) => x.report_day === r.report_day && x.grp === g.id);
        return {
          ...(i
            ? indicatorsView(i)
            : {
                group: g.id,
                net: Number(r[`${g.key}_long`]) - Number(r[`${g.key}_short`]),
                net_change: null,
                pct_oi: null,
                index_13: null,
                index_52: null,
                index_156: null,
                wci_26: null,
                signal: null,
              }),
          long: num(r[`${g.key}_long`]),
          short: num(r[`${g.key}_short`]),
          spread: num(r[`${g.key}_spread`]),
          long_change: num(r[`${g.key}_long_chg`]),
          short_change: num(r[`${g.key}_short_chg`]),
          spread_change: num(r[`${g.key}_spread_chg`]),
        };
      }),
    })),
  };
}

/** `GET /api/v1/cot/groups/:type`, `/markets/:type/:subtype` and `/markets/:type/:subtype/:code`. */
export function cotMarketRoutes(api: Api, deps: ApiDeps) {
  const { db, redis } = deps;

  api.route({
    method: 'get',
    path: '/api/v1/cot/groups/:type',
    summary: "A report type's trader groups, their roles and CFTC columns",
    tag: 'cot',
    access: ['operator', 'merchant'],
    params: TypeParams,
    responses: {
      200: {
        description: 'Groups g1..g5 (legacy has three)',
        schema: z.object({
          report_type: z.enum(reportTypes),
          label: z.string(),
          groups: z.array(GroupOut),
          windows: z
            .object({ index_13: z.number(), index_52: z.number(), index_156: z.number(), wci_26: z.number() })
            .describe('how many reports each index is computed over (null until a market has that many)'),
          crowded: z
            .object({ high: z.number(), low: z.number() })
            .describe(
              'the 52-report index at or above `high` or at or below `low` is crowded: BUY/SELL follow commercial groups and fade the others',
            ),
        }),
      },
    },
    handler: (ctx, { params }) => {
      const def = reports[params.type];
      ctx.body = {
        report_type: params.type,
        label: def.label,
        groups: def.groups.map((g) => ({
          id: g.id,
          key: g.key,
          label: g.label,
          role: g.role,
          has_spread: g.spread !== null,
        })),
        windows: {
          index_13: INDEX_WINDOWS[0],
          index_52: INDEX_WINDOWS[1],
          index_156: INDEX_WINDOWS[2],
          wci_26: WCI_WINDOW,
        },
        crowded: CROWDED,
      };
    },
  });

  api.route({
    method: 'get',
    path: '/api/v1/cot/markets/:type/:subtype',
    summary: 'Markets of one report (cached 10 minutes)',
    tag: 'cot',
    access: ['operator', 'merchant'],
    params: PairParams,
    responses: {
      200: {
        description: 'Markets by name; `X-Cache` says whether the cache answered',
        schema: z.object({ data: z.array(MarketOut) }),
      },
    },
    handler: async (ctx, { params }) => {
      ctx.body = await cachedView(ctx, redis, `markets:${params.type}:${params.subtype}`, MARKETS_TTL_S, async () => {
        const rows = await listCotMarkets(db, params.type, params.subtype);
        return { data: rows.sort((a, b) => a.name.localeCompare(b.name)) };
      });
    },
  });

  api.route({
    method: 'get',
    path: '/api/v1/cot/markets/:type/:subtype/:code',
    summary: 'One market: positions and indicators per trader group, newest report first (cached 10 minutes)',
    tag: 'cot',
    access: ['operator', 'merchant'],
    params: MarketParams,
    query: z.object({ weeks: z.coerce.number().int().min(1).max(2000).default(156) }),
    responses: {
      200: { description: 'The market', schema: MarketDetailOut },
      404: { description: 'No reports for this code' },
    },
    handler: async (ctx, { params, query }) => {
      const { type, subtype, code } = params;
      const market = await cachedView(
        ctx,
        redis,
        `market:${type}:${subtype}:${code}:${query.weeks}`,
        MARKETS_TTL_S,
        () => marketDetail(db, type, subtype, code, query.weeks),
      );
      if (!market) throw notFound('Market');
      ctx.body = market;
    },
  });
}
