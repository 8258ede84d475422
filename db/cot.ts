/** The COT repository's read side and run records: runs, units, markets, screener and freshness. */
import type { Knex } from 'knex';
import type { Signal } from '../lib/cot/indicators.js';
import type { ReportType, Subtype } from '../lib/cot/reports.js';
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

/** A `cot_indicators` row as the read API selects it: bigint `net`/`net_change` arrive as strings. */
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
  /** Every name the market has had, oldest first. */
  names: { name: string; from: string; through: string }[];
  /** Its indicators over the same reports, each with `report_day`. */
  indicators: (CotIndicatorRow & { report_day: string })[];
}

/** One market's latest `weeks` reports, its names and its indicators over them; null when it has no reports. */
export async function cotMarketHistory(
  db: Knex,
  type: ReportType,
  subtype: Subtype,
  code: string,
  weeks: number,
): Promise<CotMarketHistory | null> {
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
  const { rows: indicators } = await db.raw(
    `SELECT *, report_date::text AS report_day FROM cot_indicators WHERE report_type = ? AND subtype = ? AND code = ? AND report_date >= ?::date`,
    [type, subtype, code, rows[rows.length - 1].report_day],
  );
  return { reports: rows, names, indicators };
}

/** A market of the latest report joined with one of its groups' indicators (all null when it has none). */
export type CotScreenerRow = { code: string; market_name: string; report_date: string; open_interest: number } & (
  CotIndicatorRow | { [K in keyof CotIndicatorRow]: null }
);

/** Every market of the latest report of this type and subtype, one row per market and group; unordered. */
export async function cotScreenerRows(db: Knex, type: ReportType, subtype: Subtype): Promise<CotScreenerRow[]> {
  const { rows } = await db.raw(
    `SELECT r.code, r.market_name, r.report_date::text AS report_date, r.open_interest::float8 AS open_interest,
            i.grp, i.net, i.net_change, i.pct_oi, i.index_13, i.index_52, i.index_156, i.wci_26, i.signal
     FROM cot_reports r
     LEFT JOIN cot_indicators i USING (report_type, subtype, code, report_date)
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
