/** The COT repository's read side and run records: runs, units, markets, screener and freshness. */
import type { Knex } from 'knex';
import type { Signal } from '../lib/cot/indicators.js';
import { reports, type ReportType, type Subtype } from '../lib/cot/reports.js';
import { CotRun, CotUnit, type RunStatus } from './models/Cot.js';

// The status lists are API enums too; routes take them from here, not from the model module.
export { runStatuses, unitStatuses, type RejectionSummary, type RunStatus } from './models/Cot.js';

export interface CotRunRecord {
  id: string;
  workflowId: string;
  trigger: 'manual' | 'schedule';
  requestedBy: string | null;
  reportTypes: ReportType[];
  subtypes: Subtype[];
  /** Default: the last COT_YEARS years up to the current one. */
  years?: number[];
  /** Reload years that are already complete. */
  force: boolean;
}

/**
 * The run's row, written by whoever gets there first — the API starting it (so it is readable at once)
 * or the workflow's first activity (scheduled runs) — and completed with `unitsTotal` once planned.
 */
export async function recordCotRun(db: Knex, run: CotRunRecord, unitsTotal: number | null = null): Promise<void> {
  const params = { report_types: run.reportTypes, subtypes: run.subtypes, years: run.years ?? null, force: run.force };
  await db.raw(
    `INSERT INTO cot_runs (id, workflow_id, trigger, requested_by, params, units_total) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET units_total = coalesce(EXCLUDED.units_total, cot_runs.units_total)`,
    [run.id, run.workflowId, run.trigger, run.requestedBy, JSON.stringify(params), unitsTotal],
  );
}

/** The run with this id (the Temporal run id), or undefined. */
export async function findCotRun(db: Knex, id: string): Promise<CotRun | undefined> {
  return CotRun.query(db).findById(id);
}

/** The most recently started run, or undefined when there has been none. */
export async function latestCotRun(db: Knex): Promise<CotRun | undefined> {
  return CotRun.query(db).orderBy('started_at', 'desc').first();
}

/** A page of runs, newest first, optionally of one status, with the count of all that match. */
export async function listCotRuns(
  db: Knex,
  { status, limit, offset }: { status?: RunStatus; limit: number; offset: number },
): Promise<{ runs: CotRun[]; total: number }> {
  const q = CotRun.query(db);
  if (status) q.where({ status });
  const [runs, total] = await Promise.all([
    q.clone().orderBy('started_at', 'desc').limit(limit).offset(offset),
    q.clone().resultSize(),
  ]);
  return { runs, total };
}

/** Units finished by a run and the rows they read, inserted, … (sums of its units, all integers). */
export interface CotRunTotals {
  run_id: string;
  units_done: number;
  read: number;
  inserted: number;
  updated: number;
  unchanged: number;
  rejected: number;
}

/** The totals of each of these runs that has finished a unit; a run with none has no entry. */
export async function cotRunTotals(db: Knex, runIds: string[]): Promise<CotRunTotals[]> {
  if (!runIds.length) return [];
  return (await db('cot_units')
    .whereIn('run_id', runIds)
    .groupBy('run_id')
    .select('run_id')
    .select(db.raw('count(*)::int AS units_done'))
    .select(
      ['read', 'inserted', 'updated', 'unchanged', 'rejected'].map((c) =>
        db.raw(`coalesce(sum(rows_${c}), 0)::int AS ${c}`),
      ),
    )) as CotRunTotals[];
}

/** A run's units in the order they were recorded; `data_from`/`data_through` as `YYYY-MM-DD` text. */
export async function listCotUnits(db: Knex, runId: string): Promise<CotUnit[]> {
  return CotUnit.query(db)
    .where({ run_id: runId })
    .orderBy('id')
    .select('*', db.raw('data_from::text AS data_from'), db.raw('data_through::text AS data_through'));
}

/** A market of one report: names and dates as text, `open_interest` of its latest report. */
export interface CotMarketRow {
  code: string;
  name: string;
  first_report: string;
  latest_report: string;
  reports: number;
  open_interest: number;
}

/** Every market of one report type and subtype, each with its latest name and report; ordered by code. */
export async function listCotMarkets(db: Knex, type: ReportType, subtype: Subtype): Promise<CotMarketRow[]> {
  const { rows } = await db.raw(
    `SELECT DISTINCT ON (code) code, market_name AS name, report_date::text AS latest_report, open_interest::float8 AS open_interest,
            count(*) OVER (PARTITION BY code)::int AS reports, (min(report_date) OVER (PARTITION BY code))::text AS first_report
     FROM cot_reports WHERE report_type = ? AND subtype = ?
     ORDER BY code, report_date DESC`,
    [type, subtype],
  );
  return rows as CotMarketRow[];
}

/**
 * `cot_indicators` (one row per report, each group's values in `g1_net` … `g5_signal`) as one row per group
 * that has indicators on that report: a lateral join on `alias`'s columns, yielding `grp` (the group's id),
 * `net`, `net_change`, … `signal`.
 */
const indicatorsByGroup = (type: ReportType, alias: string) =>
  `LATERAL (VALUES ${reports[type].groups
    .map(
      (g) =>
        `('${g.id}', ${['net', 'net_change', 'pct_oi', 'index_13', 'index_52', 'index_156', 'wci_26', 'signal'].map((f) => `${alias}.${g.key}_${f}`).join(', ')})`,
    )
    .join(', ')}) AS g(grp, net, net_change, pct_oi, index_13, index_52, index_156, wci_26, signal)`;

/** A group's indicators on one report as the read API selects them: bigint `net`/`net_change` arrive as strings. */
export interface CotIndicatorRow {
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

export interface CotMarketHistory {
  /** `cot_reports` rows, newest first, each with `report_day` (its date as text); bigints as strings. */
  reports: Record<string, string | null>[];
  /** How many reports the market has in all (an index over N reports exists once this reaches N). */
  total: number;
  /** Every name the market has had, oldest first. */
  names: { name: string; from: string; through: string }[];
  /** Its indicators over the same reports, each with `report_day`. */
  indicators: (CotIndicatorRow & { report_day: string })[];
}

/**
 * One market's latest `weeks` reports, how many it has in all, its names and its indicators over them; null when it
 * has no reports.
 */
export async function cotMarketHistory(
  db: Knex,
  type: ReportType,
  subtype: Subtype,
  code: string,
  weeks: number,
): Promise<CotMarketHistory | null> {
  const [{ rows }, { rows: names }] = await Promise.all([
    db.raw(
      // The window count is taken before LIMIT: every report of the market, not only those returned.
      `SELECT *, report_date::text AS report_day, count(*) OVER ()::int AS total_reports
       FROM cot_reports WHERE report_type = ? AND subtype = ? AND code = ? ORDER BY cot_reports.report_date DESC LIMIT ?`,
      [type, subtype, code, weeks],
    ),
    db.raw(
      `SELECT market_name AS name, min(report_date)::text AS "from", max(report_date)::text AS through
       FROM cot_reports WHERE report_type = ? AND subtype = ? AND code = ? GROUP BY market_name ORDER BY min(report_date)`,
      [type, subtype, code],
    ),
  ]);
  if (!rows.length) return null;
  const { rows: indicators } = await db.raw(
    `SELECT i.report_date::text AS report_day, g.*
     FROM cot_indicators i CROSS JOIN ${indicatorsByGroup(type, 'i')}
     WHERE i.report_type = ? AND i.subtype = ? AND i.code = ? AND i.report_date >= ?::date AND g.net IS NOT NULL`,
    [type, subtype, code, rows[rows.length - 1].report_day],
  );
  return { reports: rows, total: Number(rows[0].total_reports), names, indicators };
}

/**
 * A market of the latest report joined with one of its groups' indicators (all null when it has none); `reports` is
 * how many reports the market has up to that one (the history its indexes are computed over).
 */
export type CotScreenerRow = {
  code: string;
  market_name: string;
  report_date: string;
  open_interest: number;
  reports: number;
} & (CotIndicatorRow | { [K in keyof CotIndicatorRow]: null });

/** Every market of the latest report of this type and subtype, one row per market and group; unordered. */
export async function cotScreenerRows(db: Knex, type: ReportType, subtype: Subtype): Promise<CotScreenerRow[]> {
  const { rows } = await db.raw(
    `SELECT r.code, r.market_name, r.report_date::text AS report_date, r.open_interest::float8 AS open_interest,
            (SELECT count(*) FROM cot_reports h
             WHERE h.report_type = r.report_type AND h.subtype = r.subtype AND h.code = r.code
               AND h.report_date <= r.report_date)::int AS reports,
            g.grp, g.net, g.net_change, g.pct_oi, g.index_13, g.index_52, g.index_156, g.wci_26, g.signal
     FROM cot_reports r
     LEFT JOIN cot_indicators i USING (report_type, subtype, code, report_date)
     LEFT JOIN ${indicatorsByGroup(type, 'i')} ON g.net IS NOT NULL
     WHERE r.report_type = ? AND r.subtype = ?
       AND r.report_date = (SELECT max(report_date) FROM cot_reports WHERE report_type = ? AND subtype = ?)`,
    [type, subtype, type, subtype],
  );
  return rows as CotScreenerRow[];
}

/** Latest report date (text) and its age in days of each report type and subtype that has reports. */
export async function cotFreshness(
  db: Knex,
): Promise<{ report_type: ReportType; subtype: Subtype; latest_report: string; age_days: number }[]> {
  const { rows } = await db.raw(
    `SELECT report_type, subtype, max(report_date)::text AS latest_report, (current_date - max(report_date))::int AS age_days
     FROM cot_reports GROUP BY report_type, subtype ORDER BY report_type, subtype`,
  );
  return rows;
}
