import { ApplicationFailure, Context } from '@temporalio/activity';
import {
  cotYearReads,
  cotUnitStatuses,
  loadCotUnit,
  recordCotRunPlan,
  recordCotUnit,
  refreshCotIndicators,
  settleCotRun,
  type CotUnitOutcome,
  type CotUnitRef,
} from '../db/cotIngestion.js';
import type { RejectionSummary, RunStatus } from '../db/cot.js';
import { invalidateCotCache } from '../lib/cot/cache.js';
import { marketIndicators } from '../lib/cot/indicators.js';
import { CotFormatError, parseCotBatches, type CotRow } from '../lib/cot/parse.js';
import { reports, unitLabel, type ReportType, type Subtype } from '../lib/cot/reports.js';
import { CotHttpError, cotFileMissing, openCotSource } from '../lib/cot/source.js';
import { domainEvent, publish } from '../lib/platform/events.js';
import { guardedAgent, parseAllowList } from '../lib/platform/outbound.js';
import type { CotRunInput, CotUnitPlan, CotUnitResult } from '../workflows/contracts/cot.js';
import type { ActivityDeps } from './index.js';

const MAX_LISTED_REJECTIONS = 20;
const HEARTBEAT_INTERVAL_MS = 5000;
/** Files asked about at once while planning, and how long one answer may take (or the download's limit if shorter). */
const PROBES_AT_ONCE = 8;
const PROBE_TIMEOUT_MS = 10_000;

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

/** One CFTC file: a year's zip, or (year null) the current-week file. */
type CotFile = Pick<CotUnitPlan, 'reportType' | 'subtype' | 'year'>;

const unitPath = (u: CotFile) =>
  u.year === null ? reports[u.reportType].weeklyFile[u.subtype] : reports[u.reportType].yearlyZip[u.subtype](u.year);

export function cotActivities({ config, db, redis }: ActivityDeps) {
  const agent = guardedAgent(parseAllowList(config.outboundAllowList));
  const settings = config.cot;

  const unitUrl = (unit: CotFile) => new URL(unitPath(unit), settings.baseUrl);
  const unitRef = (runId: string, { reportType, subtype, year }: CotFile): CotUnitRef => ({
    runId,
    reportType,
    subtype,
    year,
    url: unitUrl({ reportType, subtype, year }).toString(),
  });

  const announce = (type: string, data: Record<string, unknown>) =>
    publish(redis, domainEvent(type, null, data)).catch(() => {});

  /** The outcome of a file CFTC does not have (yet). */
  const unpublished = (unit: CotFile): CotUnitOutcome => ({
    status: 'unavailable',
    error: `${unitUrl(unit)} does not exist (not published yet?)`,
  });

  /** What `planCotIngestion` does: see there. */
  async function planRun(input: CotRunInput): Promise<{ units: CotUnitPlan[]; total: number }> {
    const currentYear = new Date().getUTCFullYear();
    const years = input.years ?? Array.from({ length: settings.years }, (_, i) => currentYear - settings.years + 1 + i);
    const reads = await cotYearReads(db, { ...input, years });
    const planned: { unit: CotUnitPlan; settled: boolean; missing?: boolean }[] = input.reportTypes.flatMap(
      (reportType) =>
        input.subtypes.flatMap((subtype) => [
          ...[...years].sort().map((year) => {
            const { nextYearStored, last } = reads.find(
              (r) => r.reportType === reportType && r.subtype === subtype && r.year === year,
            )!;
            const known = input.force ? null : last;
            const lastRead = known && {
              validators: known.validators,
              dataFrom: known.dataFrom,
              dataThrough: known.dataThrough,
            };
            return {
              unit: { reportType, subtype, year, lastRead, final: nextYearStored },
              settled: known?.final ?? false,
            };
          }),
          // The current-week file is small and may repeat a week its year's file holds: it is always read whole.
          { unit: { reportType, subtype, year: null, lastRead: null, final: false }, settled: false },
        ]),
    );
    // One HEAD each here, a few at a time, costs less than a unit each that finds nothing.
    const unknown = planned.filter((p) => !p.settled && !p.unit.lastRead);
    for (let i = 0; i < unknown.length; i += PROBES_AT_ONCE) {
      await Promise.all(
        unknown.slice(i, i + PROBES_AT_ONCE).map(async (p) => {
          p.missing = await cotFileMissing(unitUrl(p.unit), {
            dispatcher: agent,
            timeoutMs: Math.min(settings.downloadTimeoutMs, PROBE_TIMEOUT_MS),
            signal: Context.current().cancellationSignal,
          });
        }),
      );
    }
    await recordCotRunPlan(db, { ...input, id: input.runId }, planned.length, [
      ...planned
        .filter((p) => p.settled)
        .map(({ unit }) => ({
          ref: unitRef(input.runId, unit),
          outcome: { status: 'skipped' as const, error: 'final: read after the next year began; force reloads it' },
        })),
      ...planned
        .filter((p) => p.missing)
        .map(({ unit }) => ({ ref: unitRef(input.runId, unit), outcome: unpublished(unit) })),
    ]);
    return { units: planned.filter((p) => !p.settled && !p.missing).map((p) => p.unit), total: planned.length };
  }

  return {
    /**
     * Records the run and decides its units. A year whose file was read after the next year's reports were
     * stored is final and skipped unless forced; every other year is read again, conditionally on what its
     * last read found (see `cotYearReads`, `openCotSource`). A file with no committed read, which CFTC says it
     * does not have (a year to come, a current week not published yet), is recorded `unavailable` here.
     */
    async planCotIngestion(input: CotRunInput): Promise<{ units: CotUnitPlan[]; total: number }> {
      return heartbeating(
        () => ({ planning: input.runId }),
        () => planRun(input),
      );
    },

    /**
     * Downloads, parses and loads one file in one transaction: a retry starts it over, a failure keeps what was
     * stored. A file that is the one last read (a 304, or the same bytes) is recorded `unchanged`, unparsed.
     */
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
              previous: unit.lastRead?.validators,
            });
          } catch (error) {
            throw error instanceof CotHttpError && !error.transient
              ? ApplicationFailure.nonRetryable(error.message, 'CotHttpError')
              : asFailure(error);
          }
          if (!source) {
            await recordCotUnit(db, unitRef(runId, unit), unpublished(unit));
            return { status: 'unavailable', rowsRead: 0, inserted: 0, updated: 0, rejected: 0 };
          }
          if (source.status === 'unchanged') {
            // What that read stored is still what CFTC serves; this re-check may make the year final.
            await recordCotUnit(db, unitRef(runId, unit), {
              status: 'unchanged',
              validators: source.validators,
              final: unit.final,
              data_from: unit.lastRead?.dataFrom,
              data_through: unit.lastRead?.dataThrough,
            });
            return { status: 'unchanged', rowsRead: 0, inserted: 0, updated: 0, rejected: 0 };
          }
          const { stream, validators } = source;
          let rowsRead = 0;
          async function* goodRows(): AsyncGenerator<CotRow[]> {
            for await (const batch of parseCotBatches(stream, unit.reportType)) {
              rowsRead += batch.length;
              progress.rows = rowsRead;
              const good: CotRow[] = [];
              for (const item of batch) {
                if (!('reason' in item)) good.push(item);
                else {
                  rejections.by_reason[item.reason] = (rejections.by_reason[item.reason] ?? 0) + 1;
                  if (rejections.first.length < MAX_LISTED_REJECTIONS) rejections.first.push(item);
                }
              }
              yield good;
            }
          }
          try {
            // A parse failure ends the COPY with that error, which is what the unit reports — unless the archive
            // turns out damaged, whose bytes may have read as malformed records first.
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
                validators,
                final: unit.final,
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
            throw asFailure((await source.damage()) ?? error);
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

    /**
     * Recomputes the indicators of the markets of one report type and subtype whose reports changed since
     * they were last computed (by this run, or by one that ended before this step), in one transaction;
     * returns the number of reports whose indicators were written (0: nothing changed).
     */
    async computeCotIndicators(reportType: ReportType, subtype: Subtype): Promise<number> {
      const roles = reports[reportType].groups.map((g) => g.role);
      return heartbeating(
        () => ({ reportType, subtype }),
        () => refreshCotIndicators(db, reportType, subtype, (market) => marketIndicators(market, roles)),
      );
    },

    /** Settles the run's status from its units, retires cached answers and tells the console. */
    async finishCotRun(runId: string, error: string | null): Promise<RunStatus> {
      const units = await cotUnitStatuses(db, runId);
      const failed = units.filter((status) => status === 'failed').length;
      const status: RunStatus =
        error || (failed && failed === units.length) ? 'failed' : failed ? 'partial' : 'succeeded';
      // Retired first: whoever sees the run settled must not be served answers cached before it.
      await invalidateCotCache(redis);
      await settleCotRun(db, runId, status, error);
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
