/**
 * The COT repository's ingestion side: unit records, the COPY-staged upsert of a file's reports and
 * the indicator rebuild. COPY goes through the transaction's own pg connection (pg-copy-streams).
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Knex } from 'knex';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { GroupIndicators } from '../lib/cot/indicators.js';
import type { CotRow } from '../lib/cot/parse.js';
import { reportColumns, reports, type ReportType, type Subtype } from '../lib/cot/reports.js';
import type { CotValidators } from '../lib/cot/source.js';
import { recordCotRun, type CotRunRecord } from './cot.js';
import { CotRun, CotUnit, type RejectionSummary, type RunStatus, type UnitStatus } from './models/Cot.js';

/** PostgreSQL COPY text format: tab-separated, `\N` for NULL, backslash escapes. */
const copyText = (value: string) =>
  value.replace(/[\\\t\n\r]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c]!);
const copyLine = (row: CotRow) =>
  [
    row.record,
    copyText(row.code),
    row.reportDate,
    copyText(row.market),
    row.openInterest,
    row.openInterestChange ?? '\\N',
    ...row.groups.map((v) => v ?? '\\N'),
  ].join('\t') + '\n';

/** COPY text lines into PostgreSQL in 64 KiB writes; an error from `lines` aborts the COPY with that error. */
async function copyLines(
  client: PoolClient,
  sql: string,
  lines: AsyncIterable<string> | Iterable<string>,
): Promise<void> {
  async function* chunks() {
    let buffer = '';
    for await (const line of lines) {
      buffer += line;
      if (buffer.length > 1 << 16) {
        yield buffer;
        buffer = '';
      }
    }
    if (buffer) yield buffer;
  }
  await pipeline(Readable.from(chunks()), client.query(copyFrom(sql)));
}

/** Which unit of which run a record is about: one file of one report type and subtype. */
export interface CotUnitRef {
  runId: string;
  reportType: ReportType;
  subtype: Subtype;
  /** Null: the current-week file. */
  year: number | null;
  url: string;
}

/** A unit's outcome as recorded; row counts default to 0, the rest to null. */
export interface CotUnitOutcome {
  status: UnitStatus;
  rows_read?: number;
  rows_inserted?: number;
  rows_updated?: number;
  rows_unchanged?: number;
  rows_rejected?: number;
  rejections?: RejectionSummary | null;
  data_from?: string | null;
  data_through?: string | null;
  error?: string | null;
  /** What CFTC served (a read that got the file or a 304), for the next read's re-check. */
  validators?: CotValidators | null;
  /** Read once the next year's reports were stored: the year's file is final (see `cotYearReads`). */
  final?: boolean;
}

/** Records the unit's outcome; a unit recorded before (a retried or reloaded file) is overwritten. */
export async function recordCotUnit(db: Knex, ref: CotUnitRef, outcome: CotUnitOutcome): Promise<void> {
  await db.raw(
    `INSERT INTO cot_units (run_id, report_type, subtype, year, url, status, rows_read, rows_inserted, rows_updated, rows_unchanged, rows_rejected, rejections, data_from, data_through, error, etag, last_modified, sha256, final)
     VALUES (:runId, :reportType, :subtype, :year, :url, :status, :rows_read, :rows_inserted, :rows_updated, :rows_unchanged, :rows_rejected, :rejections, :data_from, :data_through, :error, :etag, :last_modified, :sha256, :final)
     ON CONFLICT (run_id, report_type, subtype, coalesce(year, -1)) DO UPDATE SET status = EXCLUDED.status, rows_read = EXCLUDED.rows_read,
       rows_inserted = EXCLUDED.rows_inserted, rows_updated = EXCLUDED.rows_updated, rows_unchanged = EXCLUDED.rows_unchanged,
       rows_rejected = EXCLUDED.rows_rejected, rejections = EXCLUDED.rejections, data_from = EXCLUDED.data_from,
       data_through = EXCLUDED.data_through, error = EXCLUDED.error, etag = EXCLUDED.etag, last_modified = EXCLUDED.last_modified,
       sha256 = EXCLUDED.sha256, final = EXCLUDED.final, finished_at = now()`,
    {
      runId: ref.runId,
      reportType: ref.reportType,
      subtype: ref.subtype,
      year: ref.year,
      url: ref.url,
      status: outcome.status,
      rows_read: outcome.rows_read ?? 0,
      rows_inserted: outcome.rows_inserted ?? 0,
      rows_updated: outcome.rows_updated ?? 0,
      rows_unchanged: outcome.rows_unchanged ?? 0,
      rows_rejected: outcome.rows_rejected ?? 0,
      rejections: outcome.rejections ? JSON.stringify(outcome.rejections) : null,
      data_from: outcome.data_from ?? null,
      data_through: outcome.data_through ?? null,
      error: outcome.error ?? null,
      etag: outcome.validators?.etag ?? null,
      last_modified: outcome.validators?.lastModified ?? null,
      sha256: outcome.validators?.sha256 ?? null,
      final: outcome.final ?? false,
    },
  );
}

/** What planning knows of one yearly file: its last committed read and whether the next year has begun. */
export interface CotYearRead {
  reportType: ReportType;
  subtype: Subtype;
  year: number;
  /** The store holds a report of this type and subtype dated in the next year. */
  nextYearStored: boolean;
  /** The latest `loaded` or `unchanged` unit of this file in any run; null when none committed. */
  last: {
    final: boolean;
    validators: CotValidators;
    dataFrom: string | null;
    dataThrough: string | null;
  } | null;
}

interface YearReadRow {
  report_type: ReportType;
  subtype: Subtype;
  year: number;
  next_year_stored: boolean;
  unit_id: string | null;
  final: boolean;
  etag: string | null;
  last_modified: string | null;
  sha256: string | null;
  data_from: string | null;
  data_through: string | null;
}

/**
 * One entry per yearly file of these report types, subtypes and years. A year's file is final once read
 * after a report of the next year was stored: CFTC publishes reports in date order (late ones too, after a
 * shutdown), so by then the year's file holds its last report, whatever its date.
 */
export async function cotYearReads(
  db: Knex,
  { reportTypes, subtypes, years }: { reportTypes: ReportType[]; subtypes: Subtype[]; years: number[] },
): Promise<CotYearRead[]> {
  const { rows } = await db.raw<{ rows: YearReadRow[] }>(
    `WITH f AS (SELECT * FROM unnest(?::text[]) AS t(report_type), unnest(?::text[]) AS s(subtype), unnest(?::int[]) AS y(year))
     SELECT f.report_type, f.subtype, f.year,
            EXISTS (SELECT 1 FROM cot_reports r WHERE r.report_type = f.report_type AND r.subtype = f.subtype
                      AND r.report_date >= make_date(f.year + 1, 1, 1) AND r.report_date < make_date(f.year + 2, 1, 1)) AS next_year_stored,
            u.id AS unit_id, u.final, u.etag, u.last_modified, u.sha256, u.data_from::text AS data_from, u.data_through::text AS data_through
     FROM f LEFT JOIN LATERAL (
       SELECT * FROM cot_units u
       WHERE u.report_type = f.report_type AND u.subtype = f.subtype AND u.year = f.year AND u.status IN ('loaded', 'unchanged')
       ORDER BY u.id DESC LIMIT 1
     ) u ON true`,
    [reportTypes, subtypes, years],
  );
  return rows.map((r) => ({
    reportType: r.report_type,
    subtype: r.subtype,
    year: r.year,
    nextYearStored: r.next_year_stored,
    last:
      r.unit_id === null
        ? null
        : {
            final: r.final,
            validators: { etag: r.etag, lastModified: r.last_modified, sha256: r.sha256 },
            dataFrom: r.data_from,
            dataThrough: r.data_through,
          },
  }));
}

/** Records the planned run with its unit count and the units settled at planning (skipped), in one transaction. */
export async function recordCotRunPlan(
  db: Knex,
  run: CotRunRecord,
  unitsTotal: number,
  settled: { ref: CotUnitRef; outcome: CotUnitOutcome }[],
): Promise<void> {
  await db.transaction(async (trx) => {
    await recordCotRun(trx, run, unitsTotal);
    for (const { ref, outcome } of settled) await recordCotUnit(trx, ref, outcome);
  });
}

/** What the staged upsert of one file did: rows staged and distinct, the dates they span (text), rows written. */
export interface CotStagedLoad {
  staged: number;
  distinct_rows: number;
  data_from: string | null;
  data_through: string | null;
  inserted: number;
  updated: number;
}

/**
 * Loads one file's rows in one transaction: COPY into a staging table, then one upsert that only touches
 * rows whose values changed (a later record of the same market and date wins), then records the unit with
 * the outcome `settle` makes of the counts. Returns that outcome. An error from `rows` (a parse failure)
 * aborts the COPY and rolls everything back.
 */
export async function loadCotUnit<O extends CotUnitOutcome>(
  db: Knex,
  ref: CotUnitRef,
  rows: AsyncIterable<CotRow>,
  settle: (loaded: CotStagedLoad) => O,
): Promise<O> {
  return db.transaction(async (trx) => {
    // The transaction's own connection: COPY needs the raw pg client.
    const client = (await trx.client.acquireConnection()) as PoolClient;
    await client.query(
      `CREATE TEMP TABLE cot_staging (record integer, ${reportColumns.map((c) => `${c} ${c === 'code' || c === 'market_name' ? 'text' : c === 'report_date' ? 'date' : 'bigint'}`).join(', ')}) ON COMMIT DROP`,
    );
    async function* lines() {
      for await (const row of rows) yield copyLine(row);
    }
    await copyLines(client, 'COPY cot_staging FROM STDIN', lines());
    const set = reportColumns.filter((c) => c !== 'code' && c !== 'report_date');
    const { rows: counts } = await client.query(
      `WITH latest AS (
         SELECT DISTINCT ON (code, report_date) * FROM cot_staging ORDER BY code, report_date, record DESC
       ), upserted AS (
         INSERT INTO cot_reports (report_type, subtype, ${reportColumns.join(', ')})
         SELECT $1, $2, ${reportColumns.join(', ')} FROM latest
         ON CONFLICT (report_type, subtype, code, report_date) DO UPDATE
           SET ${set.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}, loaded_at = now()
           WHERE (${set.map((c) => `cot_reports.${c}`).join(', ')}) IS DISTINCT FROM (${set.map((c) => `EXCLUDED.${c}`).join(', ')})
         RETURNING (xmax = 0) AS inserted
       )
       SELECT (SELECT count(*) FROM cot_staging)::int AS staged,
              (SELECT count(*) FROM latest)::int AS distinct_rows,
              (SELECT min(report_date)::text FROM latest) AS data_from,
              (SELECT max(report_date)::text FROM latest) AS data_through,
              count(*) FILTER (WHERE inserted)::int AS inserted,
              count(*) FILTER (WHERE NOT inserted)::int AS updated
       FROM upserted`,
      [ref.reportType, ref.subtype],
    );
    const outcome = settle(counts[0] as CotStagedLoad);
    await recordCotUnit(trx, ref, outcome);
    return outcome;
  });
}

/**
 * Every stored report of this type and subtype, ordered by code then date: `code`, `report_date` (text),
 * `open_interest` and each group's `<key>_long`, `_short`, `_long_chg`, `_short_chg` (bigints as strings, null where absent).
 */
export async function cotGroupSeries(
  db: Knex,
  reportType: ReportType,
  subtype: Subtype,
): Promise<Record<string, string | null>[]> {
  const { rows } = await db.raw(
    `SELECT code, report_date::text AS report_date, open_interest, ${reports[reportType].groups.map((g) => `${g.key}_long, ${g.key}_short, ${g.key}_long_chg, ${g.key}_short_chg`).join(', ')}
     FROM cot_reports WHERE report_type = ? AND subtype = ? ORDER BY code, report_date`,
    [reportType, subtype],
  );
  return rows;
}

/** One group's indicators on one report of one market, as stored in `cot_indicators`. */
export interface CotIndicatorRecord extends GroupIndicators {
  code: string;
  /** The group's id (`leveraged_funds`, …). */
  grp: string;
}

/** Replaces every indicator of this report type and subtype with `indicators` (COPY), in one transaction. */
export async function replaceCotIndicators(
  db: Knex,
  reportType: ReportType,
  subtype: Subtype,
  indicators: Iterable<CotIndicatorRecord>,
): Promise<void> {
  function* lines() {
    for (const i of indicators)
      yield (
        [
          reportType,
          subtype,
          copyText(i.code),
          i.grp,
          i.reportDate,
          i.net,
          i.netChange,
          i.pctOi,
          i.index13,
          i.index52,
          i.index156,
          i.wci26,
          i.signal,
        ]
          .map((v) => (v === null ? '\\N' : v))
          .join('\t') + '\n'
      );
  }
  await db.transaction(async (trx) => {
    await trx('cot_indicators').where({ report_type: reportType, subtype }).delete();
    await copyLines(
      (await trx.client.acquireConnection()) as PoolClient,
      'COPY cot_indicators (report_type, subtype, code, grp, report_date, net, net_change, pct_oi, index_13, index_52, index_156, wci_26, signal) FROM STDIN',
      lines(),
    );
  });
}

/** The status of each unit the run has recorded. */
export async function cotUnitStatuses(db: Knex, runId: string): Promise<UnitStatus[]> {
  const units = await CotUnit.query(db).where({ run_id: runId }).select('status');
  return units.map((u) => u.status);
}

/** Settles a running run with its status and error; a run already settled is left as it is. */
export async function settleCotRun(db: Knex, runId: string, status: RunStatus, error: string | null): Promise<void> {
  await CotRun.query(db)
    .patch({ status, error, finished_at: new Date() })
    .where({ id: runId })
    .where({ status: 'running' });
}
