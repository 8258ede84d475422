/**
 * The COT repository's ingestion side: unit records, the COPY-staged upsert of a file's reports and
 * the indicators of the markets it changed. COPY goes through the transaction's own pg connection
 * (pg-copy-streams).
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Knex } from 'knex';
import type { PoolClient } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { GroupIndicatorColumns, MarketSeries } from '../lib/cot/indicators.js';
import type { CotRow } from '../lib/cot/parse.js';
import { reportColumns, reports, type ReportType, type Subtype } from '../lib/cot/reports.js';
import type { CotValidators } from '../lib/cot/source.js';
import { recordCotRun, type CotRunRecord } from './cot.js';
import { CotRun, CotUnit, type RejectionSummary, type RunStatus, type UnitStatus } from './models/Cot.js';

/** PostgreSQL COPY text format: tab-separated, `\N` for NULL, backslash escapes. */
const SPECIAL = /[\\\t\n\r]/;
const copyText = (value: string) =>
  SPECIAL.test(value)
    ? value.replace(/[\\\t\n\r]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c]!)
    : value;
function copyLine(row: CotRow): string {
  let line = `${row.record}\t${copyText(row.code)}\t${row.reportDate}\t${copyText(row.market)}\t${row.openInterest}\t${row.openInterestChange ?? '\\N'}`;
  for (const v of row.groups) line += v === null ? '\t\\N' : `\t${v}`;
  return line + '\n';
}

/** COPY data travels in pieces of at least this many characters: fewer, larger socket writes. */
const COPY_PIECE = 1 << 18;

/** COPY `chunks` (text lines, or binary COPY data) into PostgreSQL; an error from `chunks` aborts the COPY with that error. */
async function copyChunks(
  client: PoolClient,
  sql: string,
  chunks: AsyncIterable<string | Buffer> | Iterable<string | Buffer>,
): Promise<void> {
  await pipeline(Readable.from(chunks), client.query(copyFrom(sql)));
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
 * rows whose values changed (a later record of the same market and date wins), notes each market it
 * changed as pending for `refreshCotIndicators` (from the earliest date changed), then records the unit
 * with the outcome `settle` makes of the counts. Returns that outcome. An error from `batches` (a parse
 * failure) aborts the COPY and rolls everything back.
 */
export async function loadCotUnit<O extends CotUnitOutcome>(
  db: Knex,
  ref: CotUnitRef,
  batches: AsyncIterable<CotRow[]>,
  settle: (loaded: CotStagedLoad) => O,
): Promise<O> {
  return db.transaction(async (trx) => {
    // The transaction's own connection: COPY needs the raw pg client.
    const client = (await trx.client.acquireConnection()) as PoolClient;
    await client.query(
      `CREATE TEMP TABLE cot_staging (record integer, ${reportColumns.map((c) => `${c} ${c === 'code' || c === 'market_name' ? 'text' : c === 'report_date' ? 'date' : 'bigint'}`).join(', ')}) ON COMMIT DROP`,
    );
    async function* lines() {
      let piece = '';
      for await (const rows of batches) {
        for (const row of rows) piece += copyLine(row);
        if (piece.length >= COPY_PIECE) {
          yield piece;
          piece = '';
        }
      }
      if (piece) yield piece;
    }
    await copyChunks(client, 'COPY cot_staging FROM STDIN', lines());
    // No stored report of this pair within the file's dates (a year's first load, a new week): nothing to
    // conflict with, and a plain insert costs about half the upsert. A unit loading the same dates alongside
    // would make this one fail on the key, and its retry take the upsert.
    const {
      rows: [{ overlaps }],
    } = await client.query(
      `SELECT EXISTS (SELECT 1 FROM cot_reports WHERE report_type = $1 AND subtype = $2
                        AND report_date BETWEEN (SELECT min(report_date) FROM cot_staging) AND (SELECT max(report_date) FROM cot_staging)) AS overlaps`,
      [ref.reportType, ref.subtype],
    );
    const set = reportColumns.filter((c) => c !== 'code' && c !== 'report_date');
    const { rows: counts } = await client.query(
      `WITH latest AS (
         SELECT DISTINCT ON (code, report_date) * FROM cot_staging ORDER BY code, report_date, record DESC
       ), upserted AS (
         INSERT INTO cot_reports (report_type, subtype, ${reportColumns.join(', ')})
         SELECT $1, $2, ${reportColumns.join(', ')} FROM latest
         ${
           overlaps
             ? `ON CONFLICT (report_type, subtype, code, report_date) DO UPDATE
                  SET ${set.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}, loaded_at = now()
                  WHERE (${set.map((c) => `cot_reports.${c}`).join(', ')}) IS DISTINCT FROM (${set.map((c) => `EXCLUDED.${c}`).join(', ')})`
             : ''
         }
         RETURNING code, report_date, (xmax = 0) AS inserted
       ), pending AS (
         -- In code order: units loading side by side take these row locks in one order, never deadlocking.
         INSERT INTO cot_pending_indicators (report_type, subtype, code, since)
         SELECT $1, $2, code, min(report_date) FROM upserted GROUP BY code ORDER BY code
         ON CONFLICT (report_type, subtype, code) DO UPDATE SET since = least(cot_pending_indicators.since, EXCLUDED.since)
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

/** Markets read back and written per round trip: bounds the memory an indicator refresh holds. */
const INDICATOR_BATCH_MARKETS = 20;
const INDICATOR_FIELDS = ['net', 'net_change', 'pct_oi', 'index_13', 'index_52', 'index_156', 'wci_26', 'signal'];

/**
 * Recomputes the indicators of the markets of this report type and subtype that ingestion changed
 * (`cot_pending_indicators`), in one transaction: each market's stored reports are read oldest first and
 * given to `compute` (its groups in the report definition's order), and its indicators from the earliest changed
 * date on replace the stored ones (earlier reports' indicators depend on nothing that changed). Nothing pending:
 * nothing is written. Reports travel both ways in PostgreSQL's binary COPY format. Returns the number of reports
 * whose indicators were written.
 */
export async function refreshCotIndicators(
  db: Knex,
  reportType: ReportType,
  subtype: Subtype,
  compute: (market: MarketSeries) => GroupIndicatorColumns[],
): Promise<number> {
  const { groups } = reports[reportType];
  return db.transaction(async (trx) => {
    const client = (await trx.client.acquireConnection()) as PoolClient;
    // In the database's order of codes, which the ranges below and the key follow.
    const { rows: pending } = await client.query<{ code: string; since: number }>(
      `WITH taken AS (DELETE FROM cot_pending_indicators WHERE report_type = $1 AND subtype = $2 RETURNING code, since)
       SELECT code, since - date '2000-01-01' AS since FROM taken ORDER BY code`,
      [reportType, subtype],
    );
    if (!pending.length) return 0;
    const since = new Map(pending.map((p) => [p.code, p.since]));
    await client.query(
      `DELETE FROM cot_indicators i USING unnest($3::text[], $4::int[]) AS p(code, since)
       WHERE i.report_type = $1 AND i.subtype = $2 AND i.code = p.code AND i.report_date >= date '2000-01-01' + p.since`,
      [reportType, subtype, pending.map((p) => p.code), pending.map((p) => p.since)],
    );
    const columns = groups.flatMap((g) => INDICATOR_FIELDS.map((f) => `${g.key}_${f}`));
    const literal = (value: string) => client.escapeLiteral(value);
    let written = 0;
    for (let first = 0; first < pending.length; first += INDICATOR_BATCH_MARKETS) {
      const last = pending[Math.min(first + INDICATOR_BATCH_MARKETS, pending.length) - 1];
      // A range of the key, in its order: the plan is the same whatever the statistics of a table just loaded
      // say. Markets in the range that are not pending are skipped.
      const read: Buffer[] = [];
      await pipeline(
        client.query(
          copyTo(
            `COPY (SELECT code, report_date, open_interest,
                          ${groups.map((g) => `${g.key}_long, ${g.key}_short, ${g.key}_long_chg, ${g.key}_short_chg`).join(', ')}
                   FROM cot_reports
                   WHERE report_type = ${literal(reportType)} AND subtype = ${literal(subtype)}
                     AND code BETWEEN ${literal(pending[first].code)} AND ${literal(last.code)}
                   ORDER BY report_type, subtype, code, report_date) TO STDOUT (FORMAT binary)`,
          ),
        ),
        async (chunks: AsyncIterable<Buffer>) => {
          for await (const chunk of chunks) read.push(chunk);
        },
      );
      const out = new BinaryCopy();
      const rows = new BinaryRows(Buffer.concat(read));
      let row = rows.next();
      while (row) {
        // One market: its reports, oldest first.
        const code = row.text(0);
        const from = since.get(code);
        const market: MarketSeries = {
          openInterest: [],
          groups: groups.map(() => ({ long: [], short: [], longChange: [], shortChange: [] })),
        };
        const dates: number[] = [];
        for (; row && row.text(0) === code; row = rows.next()) {
          if (from === undefined) continue;
          dates.push(row.int4(1));
          market.openInterest.push(row.int8(2)!);
          for (let k = 0; k < groups.length; k++) {
            const g = market.groups[k];
            g.long.push(row.int8(3 + 4 * k));
            g.short.push(row.int8(4 + 4 * k));
            g.longChange.push(row.int8(5 + 4 * k));
            g.shortChange.push(row.int8(6 + 4 * k));
          }
        }
        if (from === undefined) continue;
        const indicators = compute(market);
        for (let i = 0; i < dates.length; i++) {
          if (dates[i] < from) continue;
          written++;
          out.row(4 + groups.length * INDICATOR_FIELDS.length);
          out.text(reportType).text(subtype).text(code).int4(dates[i]);
          for (const g of indicators) {
            if (g.net[i] === null) for (let f = 0; f < INDICATOR_FIELDS.length; f++) out.null();
            else
              out
                .int8(g.net[i])
                .int8(g.netChange[i])
                .float8(g.pctOi[i])
                .float8(g.index13[i])
                .float8(g.index52[i])
                .float8(g.index156[i])
                .float8(g.wci26[i])
                .text(g.signal[i]);
          }
        }
      }
      await copyChunks(
        client,
        `COPY cot_indicators (report_type, subtype, code, report_date, ${columns.join(', ')}) FROM STDIN (FORMAT binary)`,
        [out.end()],
      );
    }
    return written;
  });
}

/**
 * Tuples of PostgreSQL's binary COPY format (https://www.postgresql.org/docs/current/sql-copy.html, "Binary
 * Format"), read in place: `next()` moves to the next tuple (null after the last), whose fields the accessors read.
 */
class BinaryRows {
  private at = 0;
  private readonly start: number[] = [];
  private readonly length: number[] = [];

  constructor(private readonly data: Buffer) {
    // The signature (11 bytes), flags (4) and the header extension, which is skipped.
    this.at = data.length ? 15 + 4 + data.readInt32BE(15) : 0;
  }

  next(): this | null {
    if (this.at >= this.data.length) return null;
    const fields = this.data.readInt16BE(this.at);
    if (fields < 0) return null;
    this.at += 2;
    for (let f = 0; f < fields; f++) {
      const length = this.data.readInt32BE(this.at);
      this.at += 4;
      this.start[f] = this.at;
      this.length[f] = length;
      if (length > 0) this.at += length;
    }
    return this;
  }

  text(f: number): string {
    return this.data.toString('utf8', this.start[f], this.start[f] + this.length[f]);
  }

  /** An int4, or a date as days since 2000-01-01. */
  int4(f: number): number {
    return this.data.readInt32BE(this.start[f]);
  }

  /** A bigint as a number (COT figures are far below 2^53); null for NULL. */
  int8(f: number): number | null {
    if (this.length[f] < 0) return null;
    return this.data.readInt32BE(this.start[f]) * 2 ** 32 + this.data.readUInt32BE(this.start[f] + 4);
  }
}

/**
 * Rows in PostgreSQL's binary COPY format (see `BinaryRows`): numbers travel as their bytes, neither printed
 * nor parsed again, which for doubles costs more than everything else an indicator refresh does. Fields go in
 * the table's column order.
 */
class BinaryCopy {
  private readonly done: Buffer[] = [];
  private buf = Buffer.allocUnsafe(1 << 16);
  private at = 0;

  constructor() {
    this.room(19);
    this.at += this.buf.write('PGCOPY\n\xff\r\n\0', this.at, 'latin1');
    this.at = this.buf.writeInt32BE(0, this.at);
    this.at = this.buf.writeInt32BE(0, this.at);
  }

  private room(bytes: number) {
    if (this.at + bytes <= this.buf.length) return;
    this.done.push(this.buf.subarray(0, this.at));
    this.buf = Buffer.allocUnsafe(Math.max(1 << 16, bytes));
    this.at = 0;
  }

  row(fields: number) {
    this.room(2);
    this.at = this.buf.writeInt16BE(fields, this.at);
  }

  null() {
    this.room(4);
    this.at = this.buf.writeInt32BE(-1, this.at);
    return this;
  }

  text(value: string | null) {
    if (value === null) return this.null();
    const bytes = Buffer.byteLength(value);
    this.room(4 + bytes);
    this.at = this.buf.writeInt32BE(bytes, this.at);
    this.at += this.buf.write(value, this.at);
    return this;
  }

  /** An int4, or a date as days since 2000-01-01. */
  int4(value: number) {
    this.room(8);
    this.at = this.buf.writeInt32BE(4, this.at);
    this.at = this.buf.writeInt32BE(value, this.at);
    return this;
  }

  /** A safe integer as a bigint: its high and low 32 bits. */
  int8(value: number | null) {
    if (value === null) return this.null();
    this.room(12);
    const high = Math.floor(value / 2 ** 32);
    this.at = this.buf.writeInt32BE(8, this.at);
    this.at = this.buf.writeInt32BE(high, this.at);
    this.at = this.buf.writeUInt32BE(value - high * 2 ** 32, this.at);
    return this;
  }

  float8(value: number | null) {
    if (value === null) return this.null();
    this.room(12);
    this.at = this.buf.writeInt32BE(8, this.at);
    this.at = this.buf.writeDoubleBE(value, this.at);
    return this;
  }

  /** The data so far with the trailer. */
  end(): Buffer {
    this.room(2);
    this.at = this.buf.writeInt16BE(-1, this.at);
    return Buffer.concat([...this.done, this.buf.subarray(0, this.at)]);
  }
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
