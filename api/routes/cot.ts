/** CFTC Commitments of Traders: ingestion runs (a Temporal workflow) and the cached read API. */
import { ScheduleNotFoundError, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { z } from 'zod';
import { recordCotRun } from '../../db/cot.js';
import { CotRun, CotUnit, runStatuses, unitStatuses } from '../../db/models/Cot.js';
import { cachedCot } from '../../lib/cot/cache.js';
import { defaultIngestion } from '../../clients/cot.js';
import type { Signal } from '../../lib/cot/indicators.js';
import { reports, reportTypes, subtypes, type ReportType, type Subtype } from '../../lib/cot/reports.js';
import { scheduleUrl, workflowUrl } from '../../lib/platform/temporal.js';
import {
  COT_SCHEDULE_ID,
  COT_WORKFLOW_ID,
  cotProgressQuery,
  type CotIngestionInput,
  type CotIngestionWorkflow,
} from '../../workflows/contracts/cot.js';
import type { AppContext } from '../context.js';
import { isoOrNull } from '../dates.js';
import type { ApiDeps } from '../deps.js';
import { ApiError, notFound } from '../errors.js';
import type { Api } from '../route.js';

const MARKETS_TTL_S = 600;
const SCREENER_TTL_S = 300;
const QUERY_TIMEOUT_MS = 2000;

const TypeParams = z.object({ type: z.enum(reportTypes) });
const PairParams = TypeParams.extend({ subtype: z.enum(subtypes) });
const MarketParams = PairParams.extend({
  code: z
    .string()
    .regex(/^[0-9A-Za-z+]{1,12}$/, 'a CFTC contract market code such as 099741 or 13874A')
    .transform((c) => c.toUpperCase()),
});
const Offset = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).max(100_000).default(0),
});

const metrics = ['net', 'net_change', 'pct_oi', 'index_13', 'index_52', 'index_156', 'wci_26'] as const;
type Metric = (typeof metrics)[number];
const SORT =
  /^-?(name|code|open_interest|signals|[a-z_]+\.(net|net_change|pct_oi|index_13|index_52|index_156|wci_26))$/;

const GroupOut = z
  .object({
    id: z.string(),
    key: z.string(),
    label: z.string(),
    role: z.enum(['commercial', 'speculative', 'small']),
    has_spread: z.boolean(),
  })
  .meta({ id: 'CotGroup' });
const IndicatorsOut = z.object({
  group: z.string(),
  net: z.number(),
  net_change: z.number().nullable(),
  pct_oi: z.number().nullable(),
  index_13: z.number().nullable(),
  index_52: z.number().nullable(),
  index_156: z.number().nullable(),
  wci_26: z.number().nullable().describe('the COT Index of % net of open interest over 26 reports'),
  signal: z.enum(['BUY', 'SELL']).nullable().describe('crowded signal from the 52-report index'),
});
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
    weeks: z.array(WeekOut).describe('newest first'),
  })
  .meta({ id: 'CotMarketDetail' });
const ScreenerRowOut = z
  .object({
    code: z.string(),
    name: z.string(),
    report_date: z.string(),
    open_interest: z.number(),
    signals: z.number(),
    groups: z.array(IndicatorsOut.meta({ id: 'CotIndicators' })),
  })
  .meta({ id: 'CotScreenerRow' });
const UnitOut = z
  .object({
    report_type: z.enum(reportTypes),
    subtype: z.enum(subtypes),
    year: z.number().nullable().describe('null: the current-week file'),
    url: z.string(),
    status: z.enum(unitStatuses),
    rows_read: z.number(),
    rows_inserted: z.number(),
    rows_updated: z.number(),
    rows_unchanged: z.number(),
    rows_rejected: z.number(),
    rejections: z
      .object({
        by_reason: z.record(z.string(), z.number()),
        first: z.array(z.object({ record: z.number(), reason: z.string() })),
      })
      .nullable(),
    data_from: z.string().nullable(),
    data_through: z.string().nullable(),
    error: z.string().nullable(),
    finished_at: z.string(),
  })
  .meta({ id: 'CotUnit' });
const RunOut = z
  .object({
    id: z.string(),
    workflow_id: z.string(),
    temporal_url: z.string(),
    trigger: z.enum(['manual', 'schedule']),
    params: z.object({
      report_types: z.array(z.enum(reportTypes)),
      subtypes: z.array(z.enum(subtypes)),
      years: z.array(z.number()).nullable(),
      force: z.boolean(),
    }),
    status: z.enum(runStatuses),
    units_total: z.number().nullable(),
    units_done: z.number(),
    rows: z.object({
      read: z.number(),
      inserted: z.number(),
      updated: z.number(),
      unchanged: z.number(),
      rejected: z.number(),
    }),
    error: z.string().nullable(),
    started_at: z.string(),
    finished_at: z.string().nullable(),
  })
  .meta({ id: 'CotIngestion' });
const RunDetailOut = RunOut.extend({
  units: z.array(UnitOut),
  in_flight: z.array(z.string()).describe('units being loaded now (running ingestions)'),
}).meta({ id: 'CotIngestionDetail' });
const StartIngestion = z
  .object({
    report_types: z
      .array(z.enum(reportTypes))
      .min(1)
      .max(3)
      .default([...reportTypes]),
    subtypes: z
      .array(z.enum(subtypes))
      .min(1)
      .max(2)
      .default([...subtypes]),
    years: z
      .array(z.number().int().min(1986).max(2100))
      .min(1)
      .max(40)
      .optional()
      .describe('default: the last COT_YEARS years'),
    force: z.boolean().default(false).describe('reload years that are already complete'),
  })
  .strict();

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
const unique = <T>(values: T[]) => [...new Set(values)];

interface IndicatorRow {
  grp: string;
  net: string;
  net_change: string | null;
  pct_oi: number | null;
  index_13: number | null;
  index_52: number | null;
  index_156: number | null;
  wci_26: number | null;
  signal: Signal | null;
}
const indicatorsView = (i: IndicatorRow) => ({
  group: i.grp,
  net: Number(i.net),
  net_change: num(i.net_change),
  pct_oi: i.pct_oi,
  index_13: i.index_13,
  index_52: i.index_52,
  index_156: i.index_156,
  wci_26: i.wci_26,
  signal: i.signal,
});

type ScreenerRow = z.infer<typeof ScreenerRowOut>;
function sortScreener(rows: ScreenerRow[], sort: string): ScreenerRow[] {
  const descending = sort.startsWith('-');
  const [field, metric] = sort.replace(/^-/, '').split('.') as [string, Metric | undefined];
  const value = (row: ScreenerRow): string | number | null =>
    metric
      ? (row.groups.find((g) => g.group === field)?.[metric] ?? null)
      : (row[field as 'name' | 'code' | 'open_interest' | 'signals'] as string | number);
  return [...rows].sort((a, b) => {
    const [x, y] = [value(a), value(b)];
    // Markets without a value (too little history) sort last either way.
    if (x === null || y === null) return x === y ? a.name.localeCompare(b.name) : x === null ? 1 : -1;
    const order = typeof x === 'string' ? x.localeCompare(y as string) : x - (y as number);
    return (descending ? -order : order) || a.name.localeCompare(b.name);
  });
}

export function cotRoutes(api: Api, deps: ApiDeps) {
  const { config, db, redis, temporal } = deps;
  const cached = async <T>(ctx: AppContext, key: string, ttlS: number, compute: () => Promise<T>) => {
    const { value, hit } = await cachedCot(redis, key, ttlS, compute);
    ctx.set('X-Cache', hit ? 'HIT' : 'MISS');
    return value;
  };

  async function runViews(runs: CotRun[]) {
    const totals = runs.length
      ? ((await db('cot_units')
          .whereIn(
            'run_id',
            runs.map((r) => r.id),
          )
          .groupBy('run_id')
          .select('run_id')
          .select(db.raw('count(*)::int AS units_done'))
          .select(
            ['read', 'inserted', 'updated', 'unchanged', 'rejected'].map((c) =>
              db.raw(`coalesce(sum(rows_${c}), 0)::int AS ${c}`),
            ),
          )) as Record<string, number | string>[])
      : [];
    return runs.map((run) => {
      const t = totals.find((x) => x.run_id === run.id) ?? {};
      return {
        id: run.id,
        workflow_id: run.workflow_id,
        temporal_url: workflowUrl(config, run.workflow_id),
        trigger: run.trigger,
        params: run.params,
        status: run.status,
        units_total: run.units_total,
        units_done: Number(t.units_done ?? 0),
        rows: {
          read: Number(t.read ?? 0),
          inserted: Number(t.inserted ?? 0),
          updated: Number(t.updated ?? 0),
          unchanged: Number(t.unchanged ?? 0),
          rejected: Number(t.rejected ?? 0),
        },
        error: run.error,
        started_at: isoOrNull(run.started_at)!,
        finished_at: isoOrNull(run.finished_at),
      };
    });
  }

  async function runDetail(run: CotRun) {
    const [[view], units] = await Promise.all([
      runViews([run]),
      CotUnit.query()
        .where({ run_id: run.id })
        .orderBy('id')
        .select('*', db.raw('data_from::text AS data_from'), db.raw('data_through::text AS data_through')),
    ]);
    let inFlight: string[] = [];
    if (run.status === 'running') {
      // Live from the workflow; a run whose worker is away still answers from the database.
      const progress = await Promise.race([
        temporal.client.workflow
          .getHandle(run.workflow_id, run.id)
          .query(cotProgressQuery)
          .catch(() => null),
        new Promise<null>((resolve) => setTimeout(() => resolve(null), QUERY_TIMEOUT_MS).unref()),
      ]);
      inFlight = progress?.inFlight ?? [];
    }
    return {
      ...view,
      in_flight: inFlight,
      units: units.map((u) => ({
        report_type: u.report_type,
        subtype: u.subtype,
        year: u.year,
        url: u.url,
        status: u.status,
        rows_read: u.rows_read,
        rows_inserted: u.rows_inserted,
        rows_updated: u.rows_updated,
        rows_unchanged: u.rows_unchanged,
        rows_rejected: u.rows_rejected,
        rejections: u.rejections,
        data_from: u.data_from,
        data_through: u.data_through,
        error: u.error,
        finished_at: isoOrNull(u.finished_at)!,
      })),
    };
  }

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
        schema: z.object({ report_type: z.enum(reportTypes), label: z.string(), groups: z.array(GroupOut) }),
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
      ctx.body = await cached(ctx, `markets:${params.type}:${params.subtype}`, MARKETS_TTL_S, async () => {
        const { rows } = await db.raw(
          `SELECT DISTINCT ON (code) code, market_name AS name, report_date::text AS latest_report, open_interest::float8 AS open_interest,
                  count(*) OVER (PARTITION BY code)::int AS reports, (min(report_date) OVER (PARTITION BY code))::text AS first_report
           FROM cot_reports WHERE report_type = ? AND subtype = ?
           ORDER BY code, report_date DESC`,
          [params.type, params.subtype],
        );
        return { data: (rows as z.infer<typeof MarketOut>[]).sort((a, b) => a.name.localeCompare(b.name)) };
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
      const market = await cached(ctx, `market:${type}:${subtype}:${code}:${query.weeks}`, MARKETS_TTL_S, () =>
        marketDetail(type, subtype, code, query.weeks),
      );
      if (!market) throw notFound('Market');
      ctx.body = market;
    },
  });

  async function marketDetail(type: ReportType, subtype: Subtype, code: string, weeks: number) {
    const def = reports[type];
    const [{ rows }, { rows: names }] = await Promise.all([
      db.raw(
        `SELECT *, report_date::text AS report_day FROM cot_reports WHERE report_type = ? AND subtype = ? AND code = ? ORDER BY cot_reports.report_date DESC LIMIT ?`,
        [type, subtype, code, weeks],
      ),
      db.raw(
        `SELECT market_name AS name, min(report_date)::text AS "from", max(report_date)::text AS through
         FROM cot_reports WHERE report_type = ? AND subtype = ? AND code = ? GROUP BY market_name ORDER BY min(report_date)`,
        [type, subtype, code],
      ),
    ]);
    if (!rows.length) return null;
    const { rows: indicators } = (await db.raw(
      `SELECT *, report_date::text AS report_day FROM cot_indicators WHERE report_type = ? AND subtype = ? AND code = ? AND report_date >= ?::date`,
      [type, subtype, code, rows[rows.length - 1].report_day],
    )) as { rows: (IndicatorRow & { report_day: string })[] };
    return {
      report_type: type,
      subtype,
      code,
      name: rows[0].market_name as string,
      names,
      weeks: (rows as Record<string, string | null>[]).map((r) => ({
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

  api.route({
    method: 'get',
    path: '/api/v1/cot/screener/:type/:subtype',
    summary: 'Every market in the latest report with its indicators and crowded signals (cached 5 minutes)',
    tag: 'cot',
    access: ['operator', 'merchant'],
    params: PairParams,
    query: Offset.extend({
      sort: z
        .string()
        .regex(
          SORT,
          '`name`, `code`, `open_interest`, `signals` or `<group>.<metric>` such as `leveraged_funds.index_52`; `-` for descending',
        )
        .default('name'),
    }),
    responses: {
      200: {
        description: 'A page of markets',
        schema: z.object({ report_date: z.string().nullable(), total: z.number(), data: z.array(ScreenerRowOut) }),
      },
    },
    handler: async (ctx, { params, query }) => {
      const group = query.sort.includes('.') ? query.sort.replace(/^-/, '').split('.')[0] : null;
      if (group && !reports[params.type].groups.some((g) => g.id === group)) {
        throw new ApiError(400, 'validation_error', `No group "${group}" in the ${reports[params.type].label} report`, [
          { path: 'sort', message: `one of ${reports[params.type].groups.map((g) => g.id).join(', ')}` },
        ]);
      }
      const screener = await cached(ctx, `screener:${params.type}:${params.subtype}`, SCREENER_TTL_S, () =>
        screenerRows(params.type, params.subtype),
      );
      ctx.body = {
        report_date: screener.report_date,
        total: screener.rows.length,
        data: sortScreener(screener.rows, query.sort).slice(query.offset, query.offset + query.limit),
      };
    },
  });

  async function screenerRows(
    type: ReportType,
    subtype: Subtype,
  ): Promise<{ report_date: string | null; rows: ScreenerRow[] }> {
    const { rows } = (await db.raw(
      `SELECT r.code, r.market_name, r.report_date::text AS report_date, r.open_interest::float8 AS open_interest,
              i.grp, i.net, i.net_change, i.pct_oi, i.index_13, i.index_52, i.index_156, i.wci_26, i.signal
       FROM cot_reports r
       LEFT JOIN cot_indicators i USING (report_type, subtype, code, report_date)
       WHERE r.report_type = ? AND r.subtype = ?
         AND r.report_date = (SELECT max(report_date) FROM cot_reports WHERE report_type = ? AND subtype = ?)`,
      [type, subtype, type, subtype],
    )) as {
      rows: (IndicatorRow & { code: string; market_name: string; report_date: string; open_interest: number })[];
    };
    const markets = new Map<string, ScreenerRow>();
    for (const row of rows) {
      const market = markets.get(row.code) ?? {
        code: row.code,
        name: row.market_name,
        report_date: row.report_date,
        open_interest: row.open_interest,
        signals: 0,
        groups: [],
      };
      markets.set(row.code, market);
      if (row.grp === null) continue;
      market.groups.push(indicatorsView(row));
      if (row.signal) market.signals++;
    }
    return { report_date: rows[0]?.report_date ?? null, rows: [...markets.values()] };
  }

  api.route({
    method: 'get',
    path: '/api/v1/cot/status',
    summary: 'Freshness of each report, the last ingestion and the next scheduled one',
    tag: 'cot',
    access: ['operator', 'merchant'],
    responses: {
      200: {
        description: 'Status',
        schema: z.object({
          stale: z.boolean().describe(`true when no report is newer than DATA_STALE_DAYS`),
          stale_after_days: z.number(),
          reports: z.array(
            z.object({
              report_type: z.enum(reportTypes),
              subtype: z.enum(subtypes),
              latest_report: z.string(),
              age_days: z.number(),
              stale: z.boolean(),
            }),
          ),
          last_run: z.union([RunOut, z.null()]),
          next_run_at: z.string().nullable(),
          schedule_url: z.string().nullable(),
        }),
      },
    },
    handler: async (ctx) => {
      const [{ rows }, lastRun, schedule] = await Promise.all([
        db.raw(
          `SELECT report_type, subtype, max(report_date)::text AS latest_report, (current_date - max(report_date))::int AS age_days
           FROM cot_reports GROUP BY report_type, subtype ORDER BY report_type, subtype`,
        ),
        CotRun.query().orderBy('started_at', 'desc').first(),
        temporal.client.schedule
          .getHandle(COT_SCHEDULE_ID)
          .describe()
          .catch((e) => (e instanceof ScheduleNotFoundError ? null : Promise.reject(e))),
      ]);
      const staleDays = config.cot.staleDays;
      const freshness = (
        rows as { report_type: ReportType; subtype: Subtype; latest_report: string; age_days: number }[]
      ).map((r) => ({ ...r, stale: r.age_days > staleDays }));
      ctx.body = {
        stale: freshness.every((r) => r.stale),
        stale_after_days: staleDays,
        reports: freshness,
        last_run: lastRun ? (await runViews([lastRun]))[0] : null,
        next_run_at: schedule?.info.nextActionTimes[0]?.toISOString() ?? null,
        schedule_url: schedule ? scheduleUrl(config, COT_SCHEDULE_ID) : null,
      };
    },
  });

  api.route({
    method: 'get',
    path: '/api/v1/cot/ingestions',
    summary: 'Ingestion runs, newest first',
    tag: 'cot',
    access: ['operator'],
    query: Offset.extend({ status: z.enum(runStatuses).optional() }),
    responses: {
      200: { description: 'A page of runs', schema: z.object({ total: z.number(), data: z.array(RunOut) }) },
    },
    handler: async (ctx, { query }) => {
      const q = CotRun.query();
      if (query.status) q.where({ status: query.status });
      const [runs, total] = await Promise.all([
        q.clone().orderBy('started_at', 'desc').limit(query.limit).offset(query.offset),
        q.clone().resultSize(),
      ]);
      ctx.body = { total, data: await runViews(runs) };
    },
  });

  api.route({
    method: 'get',
    path: '/api/v1/cot/ingestions/:id',
    summary: 'One run with every unit (file) it loaded, skipped or failed, and live progress while it runs',
    tag: 'cot',
    access: ['operator'],
    params: z.object({ id: z.uuid() }),
    responses: { 200: { description: 'The run', schema: RunDetailOut }, 404: { description: 'No such run' } },
    handler: async (ctx, { params }) => {
      const run = await CotRun.query().findById(params.id);
      if (!run) throw notFound('Ingestion');
      ctx.body = await runDetail(run);
    },
  });

  api.route({
    method: 'post',
    path: '/api/v1/cot/ingestions',
    summary: 'Start an ingestion now; while one runs, answers with that one instead',
    tag: 'cot',
    access: ['admin'],
    body: StartIngestion,
    responses: {
      202: { description: 'Started', schema: z.object({ started: z.literal(true), ingestion: RunDetailOut }) },
      200: {
        description: 'One was already running: that one',
        schema: z.object({ started: z.literal(false), ingestion: RunDetailOut }),
      },
    },
    handler: async (ctx, { body }) => {
      const p = ctx.state.principal!;
      const input: CotIngestionInput = {
        ...defaultIngestion(config),
        trigger: 'manual',
        requestedBy: p.kind === 'user' ? p.userId : null,
        reportTypes: unique(body.report_types),
        subtypes: unique(body.subtypes),
        years: body.years ? unique(body.years).sort() : undefined,
        force: body.force,
      };
      let runId: string;
      let started = true;
      try {
        const handle = await temporal.client.workflow.start<CotIngestionWorkflow>('cotIngestionWorkflow', {
          workflowId: COT_WORKFLOW_ID,
          taskQueue: config.temporal.taskQueue,
          args: [input],
        });
        runId = handle.firstExecutionRunId;
        // Recorded here too (the workflow's first activity does the same), so the run is readable at once.
        await recordCotRun(db, { ...input, id: runId, workflowId: COT_WORKFLOW_ID });
      } catch (error) {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
        started = false;
        runId = (await temporal.client.workflow.getHandle(COT_WORKFLOW_ID).describe()).runId;
      }
      const run = await CotRun.query().findById(runId);
      if (!run) throw new ApiError(409, 'ingestion_starting', 'An ingestion is starting; try again in a moment');
      ctx.status = started ? 202 : 200;
      ctx.body = { started, ingestion: await runDetail(run) };
    },
  });
}
