/** The COT screener: every market of the latest report with its indicators and crowded signals (cached). */
import type { Knex } from 'knex';
import { z } from 'zod';
import { cotScreenerRows } from '../../db/cot.js';
import { reports, type ReportType, type Subtype } from '../../lib/cot/reports.js';
import type { ApiDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import type { Api } from '../route.js';
import { cachedView, IndicatorsOut, indicatorsView, Offset, PairParams } from './cotShared.js';

const SCREENER_TTL_S = 300;

const metrics = ['net', 'net_change', 'pct_oi', 'index_13', 'index_52', 'index_156', 'wci_26'] as const;
type Metric = (typeof metrics)[number];
const SORT = new RegExp(`^-?(name|code|open_interest|signals|[a-z_]+\\.(${metrics.join('|')}))$`);

const ScreenerRowOut = z
  .object({
    code: z.string(),
    name: z.string(),
    report_date: z.string(),
    open_interest: z.number(),
    reports: z
      .number()
      .describe('how many reports the market has up to this one: an index over N reports needs N of them'),
    signals: z.number(),
    groups: z.array(IndicatorsOut.meta({ id: 'CotIndicators' })),
  })
  .meta({ id: 'CotScreenerRow' });

type ScreenerRow = z.infer<typeof ScreenerRowOut>;
function sortScreener(rows: ScreenerRow[], sort: string): ScreenerRow[] {
  const descending = sort.startsWith('-');
  const [field, metric] = sort.replace(/^-/, '').split('.') as [string, Metric | undefined];
  const value = (row: ScreenerRow): string | number | null =>
    metric
      ? (row.groups.find((g) => g.group === field)?.[metric] ?? null)
      : row[field as 'name' | 'code' | 'open_interest' | 'signals'];
  return [...rows].sort((a, b) => {
    const [x, y] = [value(a), value(b)];
    // Markets without a value (too little history) sort last either way.
    if (x === null || y === null) return x === y ? a.name.localeCompare(b.name) : x === null ? 1 : -1;
    const order = typeof x === 'string' ? x.localeCompare(y as string) : x - (y as number);
    return (descending ? -order : order) || a.name.localeCompare(b.name);
  });
}

/** The latest report's date (null when there is none) and its markets, each with its groups' indicators. */
async function screenerRows(
  db: Knex,
  type: ReportType,
  subtype: Subtype,
): Promise<{ report_date: string | null; rows: ScreenerRow[] }> {
  const rows = await cotScreenerRows(db, type, subtype);
  const markets = new Map<string, ScreenerRow>();
  for (const row of rows) {
    const market = markets.get(row.code) ?? {
      code: row.code,
      name: row.market_name,
      report_date: row.report_date,
      open_interest: row.open_interest,
      reports: row.reports,
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

/** `GET /api/v1/cot/screener/:type/:subtype`. */
export function cotScreenerRoutes(api: Api, { db, redis }: ApiDeps) {
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
      const screener = await cachedView(ctx, redis, `screener:${params.type}:${params.subtype}`, SCREENER_TTL_S, () =>
        screenerRows(db, params.type, params.subtype),
      );
      ctx.body = {
        report_date: screener.report_date,
        total: screener.rows.length,
        data: sortScreener(screener.rows, query.sort).slice(query.offset, query.offset + query.limit),
      };
    },
  });
}
