import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Knex } from 'knex';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { recordCotRun, type CotRunRecord } from '../db/cot.js';
import { CotRun, CotUnit, type RejectionSummary, type RunStatus, type UnitStatus } from '../db/models/Cot.js';
import { invalidateCotCache } from '../lib/cot/cache.js';
import { groupIndicators } from '../lib/cot/indicators.js';
import { CotFormatError, parseCotFile, type CotRow } from '../lib/cot/parse.js';
import { reportColumns, reports, unitLabel, type ReportType, type Subtype } from '../lib/cot/reports.js';
import { CotHttpError, openCotSource } from '../lib/cot/source.js';
import { domainEvent, publish } from '../lib/platform/events.js';
import { guardedAgent, parseAllowList } from '../lib/platform/outbound.js';
import type { CotRunInput, CotUnitPlan, CotUnitResult } from '../workflows/contracts/cot.js';
import type { ActivityDeps } from './index.js';

const MAX_LISTED_REJECTIONS = 20;
const HEARTBEAT_INTERVAL_MS = 5000;

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

/**
 * Heartbeats on a timer while `work` runs, whatever phase it is in (download, parse, upsert, indicator
 * maths): a worker that dies is noticed within the heartbeat timeout, not the activity's whole deadline.
 */
async function heartbeating<T>(details: () => unknown, work: () => Promise<T>): Promise<T> {
  const activity = Context.current();
  const timer = setInterval(() => activity.heartbeat(details()), HEARTBEAT_INTERVAL_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

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

const unitPath = (u: CotUnitPlan) =>
  u.year === null ? reports[u.reportType].weeklyFile[u.subtype] : reports[u.reportType].yearlyZip[u.subtype](u.year);

export function cotActivities({ config, db, redis }: ActivityDeps) {
  const agent = guardedAgent(parseAllowList(config.outboundAllowList));
  const settings = config.cot;

  const recordUnit = (runId: string, unit: CotUnitPlan, fields: Partial<CotUnit>, trx: Knex | Knex.Transaction = db) =>
    trx.raw(
      `INSERT INTO cot_units (run_id, report_type, subtype, year, url, status, rows_read, rows_inserted, rows_updated, rows_unchanged, rows_rejected, rejections, data_from, data_through, error)
       VALUES (:runId, :reportType, :subtype, :year, :url, :status, :rows_read, :rows_inserted, :rows_updated, :rows_unchanged, :rows_rejected, :rejections, :data_from, :data_through, :error)
       ON CONFLICT (run_id, report_type, subtype, coalesce(year, -1)) DO UPDATE SET status = EXCLUDED.status, rows_read = EXCLUDED.rows_read,
         rows_inserted = EXCLUDED.rows_inserted, rows_updated = EXCLUDED.rows_updated, rows_unchanged = EXCLUDED.rows_unchanged,
         rows_rejected = EXCLUDED.rows_rejected, rejections = EXCLUDED.rejections, data_from = EXCLUDED.data_from,
         data_through = EXCLUDED.data_through, error = EXCLUDED.error, finished_at = now()`,
      {
        runId,
        reportType: unit.reportType,
        subtype: unit.subtype,
        year: unit.year,
        url: new URL(unitPath(unit), settings.baseUrl).toString(),
        status: fields.status,
        rows_read: fields.rows_read ?? 0,
        rows_inserted: fields.rows_inserted ?? 0,
        rows_updated: fields.rows_updated ?? 0,
        rows_unchanged: fields.rows_unchanged ?? 0,
        rows_rejected: fields.rows_rejected ?? 0,
        rejections: fields.rejections ? JSON.stringify(fields.rejections) : null,
        data_from: fields.data_from ?? null,
        data_through: fields.data_through ?? null,
        error: fields.error ?? null,
      },
    );

  const announce = (type: string, data: Record<string, unknown>) =>
    publish(redis, domainEvent(type, null, data)).catch(() => {});

  /** COPY into a staging table, then one upsert that only touches rows whose values changed. */
  async function load(
    client: PoolClient,
    unit: CotUnitPlan,
    stream: Readable,
    rejections: RejectionSummary,
    progress: { rows: number },
  ) {
    await client.query(
      `CREATE TEMP TABLE cot_staging (record integer, ${reportColumns.map((c) => `${c} ${c === 'code' || c === 'market_name' ? 'text' : c === 'report_date' ? 'date' : 'bigint'}`).join(', ')}) ON COMMIT DROP`,
    );
    let rowsRead = 0;
    async function* goodRows() {
      for await (const item of parseCotFile(stream, unit.reportType)) {
        progress.rows = ++rowsRead;
        if (!('reason' in item)) yield copyLine(item);
        else {
          rejections.by_reason[item.reason] = (rejections.by_reason[item.reason] ?? 0) + 1;
          if (rejections.first.length < MAX_LISTED_REJECTIONS) rejections.first.push(item);
        }
      }
    }
    // A parse failure ends the COPY with that error, which is what the unit reports.
    await copyLines(client, 'COPY cot_staging FROM STDIN', goodRows());
    const set = reportColumns.filter((c) => c !== 'code' && c !== 'report_date');
    const { rows } = await client.query(
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
      [unit.reportType, unit.subtype],
    );
    const r = rows[0] as {
      staged: number;
      distinct_rows: number;
      data_from: string | null;
      data_through: string | null;
      inserted: number;
      updated: number;
    };
    const duplicates = r.staged - r.distinct_rows;
    if (duplicates > 0) rejections.by_reason['a later record has the same market and report date'] = duplicates;
    return { ...r, rowsRead };
  }

  return {
    /** Records the run and decides its units; complete years already loaded are skipped unless forced. */
    async planCotIngestion(input: CotRunInput): Promise<{ units: CotUnitPlan[]; total: number }> {
      // A year's file is final once it holds a late-December report (a holiday moves it to Monday the 24th at the earliest).
      const currentYear = new Date().getUTCFullYear();
      const years =
        input.years ?? Array.from({ length: settings.years }, (_, i) => currentYear - settings.years + 1 + i);
      const complete = input.force
        ? []
        : ((
            await db.raw(
              `SELECT DISTINCT report_type, subtype, year FROM cot_units
             WHERE status = 'loaded' AND year IS NOT NULL AND data_through >= make_date(year, 12, 24)
               AND report_type = ANY(?) AND subtype = ANY(?) AND year = ANY(?)`,
              [input.reportTypes, input.subtypes, years],
            )
          ).rows as { report_type: string; subtype: string; year: number }[]);
      const isComplete = (u: CotUnitPlan) =>
        complete.some((c) => c.report_type === u.reportType && c.subtype === u.subtype && c.year === u.year);
      const all: CotUnitPlan[] = input.reportTypes.flatMap((reportType) =>
        input.subtypes.flatMap((subtype) => [
          ...[...years].sort().map((year) => ({ reportType, subtype, year })),
          { reportType, subtype, year: null },
        ]),
      );
      await db.transaction(async (trx) => {
        await recordCotRun(trx, { ...input, id: input.runId }, all.length);
        for (const unit of all.filter(isComplete))
          await recordUnit(input.runId, unit, { status: 'skipped', error: 'already complete; force reloads it' }, trx);
      });
      return { units: all.filter((u) => !isComplete(u)), total: all.length };
    },

    /** Downloads, parses and loads one file in one transaction: a retry starts it over, a failure keeps what was stored. */
    async ingestCotUnit(runId: string, unit: CotUnitPlan): Promise<CotUnitResult> {
      const progress = { unit: unitLabel(unit), rows: 0 };
      return heartbeating(
        () => progress,
        async () => {
          const url = new URL(unitPath(unit), settings.baseUrl);
          const rejections: RejectionSummary = { by_reason: {}, first: [] };
          let source;
          try {
            source = await openCotSource(url, unit.year === null ? 'text' : 'zip', {
              dispatcher: agent,
              timeoutMs: settings.downloadTimeoutMs,
              maxBytes: settings.maxBytes,
              signal: Context.current().cancellationSignal,
            });
          } catch (error) {
            throw error instanceof CotHttpError && !error.transient
              ? ApplicationFailure.nonRetryable(error.message, 'CotHttpError')
              : asFailure(error);
          }
          if (!source) {
            await recordUnit(runId, unit, {
              status: 'unavailable',
              error: `${url} does not exist (not published yet?)`,
            });
            return { status: 'unavailable', rowsRead: 0, inserted: 0, updated: 0, rejected: 0 };
          }
          try {
            const result = await db.transaction(async (trx) => {
              // The transaction's own connection: COPY needs the raw pg client.
              const client = (await trx.client.acquireConnection()) as PoolClient;
              const loaded = await load(client, unit, source.stream, rejections, progress);
              const rejected = Object.values(rejections.by_reason).reduce((a, b) => a + b, 0);
              await recordUnit(
                runId,
                unit,
                {
                  status: 'loaded',
                  rows_read: loaded.rowsRead,
                  rows_inserted: loaded.inserted,
                  rows_updated: loaded.updated,
                  rows_unchanged: loaded.distinct_rows - loaded.inserted - loaded.updated,
                  rows_rejected: rejected,
                  rejections: rejected ? rejections : null,
                  data_from: loaded.data_from,
                  data_through: loaded.data_through,
                },
                trx,
              );
              return {
                status: 'loaded' as const,
                rowsRead: loaded.rowsRead,
                inserted: loaded.inserted,
                updated: loaded.updated,
                rejected,
              };
            });
            await announce('cot.unit.loaded', { run_id: runId, unit: unitLabel(unit), ...result });
            return result;
          } catch (error) {
            throw asFailure(error);
          } finally {
            await source.close();
          }
        },
      );
    },

    /** After retries ran out: the unit is marked failed with the reason; the run goes on without it. */
    async recordCotUnitFailure(runId: string, unit: CotUnitPlan, error: string): Promise<void> {
      await recordUnit(runId, unit, { status: 'failed', error: error.slice(0, 2000) });
      await announce('cot.unit.failed', { run_id: runId, unit: unitLabel(unit), error });
    },

    /** Rebuilds the indicators of one report type and subtype from its stored reports, in one transaction. */
    async computeCotIndicators(reportType: ReportType, subtype: Subtype): Promise<number> {
      return heartbeating(
        () => ({ reportType, subtype }),
        async () => {
          const { groups } = reports[reportType];
          const { rows } = (await db.raw(
            `SELECT code, report_date::text AS report_date, open_interest, ${groups.map((g) => `${g.key}_long, ${g.key}_short, ${g.key}_long_chg, ${g.key}_short_chg`).join(', ')}
           FROM cot_reports WHERE report_type = ? AND subtype = ? ORDER BY code, report_date`,
            [reportType, subtype],
          )) as { rows: Record<string, string | null>[] };
          let count = 0;
          function* lines() {
            for (let start = 0; start < rows.length;) {
              let end = start;
              while (end < rows.length && rows[end].code === rows[start].code) end++;
              const market = rows.slice(start, end);
              for (const g of groups) {
                const series = market
                  .filter((r) => r[`${g.key}_long`] !== null && r[`${g.key}_short`] !== null)
                  .map((r) => ({
                    reportDate: r.report_date!,
                    openInterest: Number(r.open_interest),
                    long: Number(r[`${g.key}_long`]),
                    short: Number(r[`${g.key}_short`]),
                    longChange: r[`${g.key}_long_chg`] === null ? null : Number(r[`${g.key}_long_chg`]),
                    shortChange: r[`${g.key}_short_chg`] === null ? null : Number(r[`${g.key}_short_chg`]),
                  }));
                for (const i of groupIndicators(series, g.role)) {
                  count++;
                  yield (
                    [
                      reportType,
                      subtype,
                      copyText(market[0].code!),
                      g.id,
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
              }
              start = end;
            }
          }
          await db.transaction(async (trx) => {
            await trx('cot_indicators').where({ report_type: reportType, subtype }).delete();
            await copyLines(
              (await trx.client.acquireConnection()) as PoolClient,
              'COPY cot_indicators (report_type, subtype, code, grp, report_date, net, net_change, pct_oi, index_13, index_52, index_156, wci_26, signal) FROM STDIN',
              lines(),
            );
          });
          return count;
        },
      );
    },

    /** Settles the run's status from its units, retires cached answers and tells the console. */
    async finishCotRun(runId: string, error: string | null): Promise<RunStatus> {
      const units = await CotUnit.query().where({ run_id: runId }).select('status');
      const failed = units.filter((u) => u.status === 'failed').length;
      const status: RunStatus =
        error || (failed && failed === units.length) ? 'failed' : failed ? 'partial' : 'succeeded';
      await CotRun.query()
        .patch({ status, error, finished_at: new Date() })
        .where({ id: runId })
        .where({ status: 'running' });
      await invalidateCotCache(redis);
      await announce('cot.run.finished', { run_id: runId, status });
      return status;
    },
  };
}

/** Malformed files will not get better on a retry; everything else (network, database) may. */
function asFailure(error: unknown): Error {
  if (error instanceof CotFormatError) return ApplicationFailure.nonRetryable(error.message, 'CotFormatError');
  return error instanceof Error ? error : new Error(String(error));
}
