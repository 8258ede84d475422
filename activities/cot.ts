import { ApplicationFailure, Context } from '@temporalio/activity';
import {
  completeCotYears,
  cotGroupSeries,
  cotUnitStatuses,
  loadCotUnit,
  recordCotRunPlan,
  recordCotUnit,
  replaceCotIndicators,
  settleCotRun,
  type CotIndicatorRecord,
  type CotUnitRef,
} from '../db/cotIngestion.js';
import type { RejectionSummary, RunStatus } from '../db/cot.js';
import { invalidateCotCache } from '../lib/cot/cache.js';
import { groupIndicators } from '../lib/cot/indicators.js';
import { CotFormatError, parseCotFile, type CotRow } from '../lib/cot/parse.js';
import { reports, unitLabel, type ReportType, type Subtype } from '../lib/cot/reports.js';
import { CotHttpError, openCotSource } from '../lib/cot/source.js';
import { domainEvent, publish } from '../lib/platform/events.js';
import { guardedAgent, parseAllowList } from '../lib/platform/outbound.js';
import type { CotRunInput, CotUnitPlan, CotUnitResult } from '../workflows/contracts/cot.js';
import type { ActivityDeps } from './index.js';

const MAX_LISTED_REJECTIONS = 20;
const HEARTBEAT_INTERVAL_MS = 5000;

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

const unitPath = (u: CotUnitPlan) =>
  u.year === null ? reports[u.reportType].weeklyFile[u.subtype] : reports[u.reportType].yearlyZip[u.subtype](u.year);

export function cotActivities({ config, db, redis }: ActivityDeps) {
  const agent = guardedAgent(parseAllowList(config.outboundAllowList));
  const settings = config.cot;

  const unitUrl = (unit: CotUnitPlan) => new URL(unitPath(unit), settings.baseUrl);
  const unitRef = (runId: string, unit: CotUnitPlan): CotUnitRef => ({ runId, ...unit, url: unitUrl(unit).toString() });

  const announce = (type: string, data: Record<string, unknown>) =>
    publish(redis, domainEvent(type, null, data)).catch(() => {});

  return {
    /** Records the run and decides its units; complete years already loaded are skipped unless forced. */
    async planCotIngestion(input: CotRunInput): Promise<{ units: CotUnitPlan[]; total: number }> {
      const currentYear = new Date().getUTCFullYear();
      const years =
        input.years ?? Array.from({ length: settings.years }, (_, i) => currentYear - settings.years + 1 + i);
      const complete = input.force ? [] : await completeCotYears(db, { ...input, years });
      const isComplete = (u: CotUnitPlan) =>
        complete.some((c) => c.report_type === u.reportType && c.subtype === u.subtype && c.year === u.year);
      const all: CotUnitPlan[] = input.reportTypes.flatMap((reportType) =>
        input.subtypes.flatMap((subtype) => [
          ...[...years].sort().map((year) => ({ reportType, subtype, year })),
          { reportType, subtype, year: null },
        ]),
      );
      await recordCotRunPlan(
        db,
        { ...input, id: input.runId },
        all.length,
        all.filter(isComplete).map((unit) => ({
          ref: unitRef(input.runId, unit),
          outcome: { status: 'skipped', error: 'already complete; force reloads it' },
        })),
      );
      return { units: all.filter((u) => !isComplete(u)), total: all.length };
    },

    /** Downloads, parses and loads one file in one transaction: a retry starts it over, a failure keeps what was stored. */
    async ingestCotUnit(runId: string, unit: CotUnitPlan): Promise<CotUnitResult> {
      const progress = { unit: unitLabel(unit), rows: 0 };
      return heartbeating(
        () => progress,
        async () => {
          const url = unitUrl(unit);
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
            await recordCotUnit(db, unitRef(runId, unit), {
              status: 'unavailable',
              error: `${url} does not exist (not published yet?)`,
            });
            return { status: 'unavailable', rowsRead: 0, inserted: 0, updated: 0, rejected: 0 };
          }
          const stream = source.stream;
          let rowsRead = 0;
          async function* goodRows(): AsyncGenerator<CotRow> {
            for await (const item of parseCotFile(stream, unit.reportType)) {
              progress.rows = ++rowsRead;
              if (!('reason' in item)) yield item;
              else {
                rejections.by_reason[item.reason] = (rejections.by_reason[item.reason] ?? 0) + 1;
                if (rejections.first.length < MAX_LISTED_REJECTIONS) rejections.first.push(item);
              }
            }
          }
          try {
            // A parse failure ends the COPY with that error, which is what the unit reports.
            const loaded = await loadCotUnit(db, unitRef(runId, unit), goodRows(), (counts) => {
              const duplicates = counts.staged - counts.distinct_rows;
              if (duplicates > 0)
                rejections.by_reason['a later record has the same market and report date'] = duplicates;
              const rejected = Object.values(rejections.by_reason).reduce((a, b) => a + b, 0);
              return {
                status: 'loaded' as const,
                rows_read: rowsRead,
                rows_inserted: counts.inserted,
                rows_updated: counts.updated,
                rows_unchanged: counts.distinct_rows - counts.inserted - counts.updated,
                rows_rejected: rejected,
                rejections: rejected ? rejections : null,
                data_from: counts.data_from,
                data_through: counts.data_through,
              };
            });
            const result = {
              status: loaded.status,
              rowsRead: loaded.rows_read,
              inserted: loaded.rows_inserted,
              updated: loaded.rows_updated,
              rejected: loaded.rows_rejected,
            };
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
      await recordCotUnit(db, unitRef(runId, unit), { status: 'failed', error: error.slice(0, 2000) });
      await announce('cot.unit.failed', { run_id: runId, unit: unitLabel(unit), error });
    },

    /** Rebuilds the indicators of one report type and subtype from its stored reports, in one transaction. */
    async computeCotIndicators(reportType: ReportType, subtype: Subtype): Promise<number> {
      return heartbeating(
        () => ({ reportType, subtype }),
        async () => {
          const { groups } = reports[reportType];
          const rows = await cotGroupSeries(db, reportType, subtype);
          let count = 0;
          function* indicators(): Generator<CotIndicatorRecord> {
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
                  yield { ...i, code: market[0].code!, grp: g.id };
                }
              }
              start = end;
            }
          }
          await replaceCotIndicators(db, reportType, subtype, indicators());
          return count;
        },
      );
    },

    /** Settles the run's status from its units, retires cached answers and tells the console. */
    async finishCotRun(runId: string, error: string | null): Promise<RunStatus> {
      const units = await cotUnitStatuses(db, runId);
      const failed = units.filter((status) => status === 'failed').length;
      const status: RunStatus =
        error || (failed && failed === units.length) ? 'failed' : failed ? 'partial' : 'succeeded';
      await settleCotRun(db, runId, status, error);
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
