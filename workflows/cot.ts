import {
  ActivityFailure,
  ApplicationFailure,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Activities } from '../activities/index.js';
import { unitLabel } from '../lib/cot/reports.js';
import {
  COT_WORKFLOW_ID,
  cotProgressQuery,
  type CotIngestionWorkflow,
  type CotProgress,
  type CotScheduledIngestionWorkflow,
  type CotUnitPlan,
} from './contracts/cot.js';

const retry = { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 5 };
// Bookkeeping is a short transaction each: a worker lost in one is noticed after seconds, not minutes.
const { recordCotUnitFailure, finishCotRun } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry,
});
// Long work heartbeats on a timer: a lost worker is noticed within the heartbeat timeout.
const HEARTBEAT_TIMEOUT = '20 seconds';
const { planCotIngestion, computeCotIndicators } = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: HEARTBEAT_TIMEOUT,
  retry,
});

const failureMessage = (error: unknown) => {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  return cause instanceof Error ? cause.message : String(cause);
};

/** Runs each task given to it with at most `limit` running at a time, in the order they were given. */
function limiter(limit: number) {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (running < limit) running++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      // The place goes to the next in line, or is freed.
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

/**
 * The weekly COT ingestion: plan the files; for each report type and subtype, load its yearly files, then its
 * current-week file, then recompute the indicators of the markets they changed; settle the run.
 */
export const cotIngestionWorkflow: CotIngestionWorkflow = async (input) => {
  const { runId, workflowId } = workflowInfo();
  const { ingestCotUnit } = proxyActivities<Activities>({
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout: HEARTBEAT_TIMEOUT,
    retry: {
      initialInterval: input.retry.initialMs,
      backoffCoefficient: 3,
      maximumInterval: '5 minutes',
      maximumAttempts: input.retry.attempts,
    },
  });
  const progress: CotProgress = {
    unitsTotal: 0,
    unitsDone: 0,
    rows: { read: 0, inserted: 0, updated: 0, rejected: 0 },
    inFlight: [],
  };
  setHandler(cotProgressQuery, () => progress);
  try {
    const plan = await planCotIngestion({ ...input, runId, workflowId });
    progress.unitsTotal = plan.total;
    progress.unitsDone = plan.total - plan.units.length;
    const load = async (unit: CotUnitPlan) => {
      progress.inFlight.push(unitLabel(unit));
      try {
        const result = await ingestCotUnit(runId, unit);
        progress.rows.read += result.rowsRead;
        progress.rows.inserted += result.inserted;
        progress.rows.updated += result.updated;
        progress.rows.rejected += result.rejected;
      } catch (error) {
        if (!(error instanceof ActivityFailure)) throw error;
        await recordCotUnitFailure(runId, unit, failureMessage(error));
      }
      progress.inFlight = progress.inFlight.filter((l) => l !== unitLabel(unit));
      progress.unitsDone++;
    };
    // Files of every report type and subtype share `concurrency` places. Yearly files hold disjoint weeks and
    // load side by side; a current-week file may repeat its year's last week, so it comes after them. Then the
    // pair's markets whose reports changed, in this run or in one that died before this step, get their
    // indicators, while other pairs' files still load.
    const place = limiter(input.concurrency);
    const pairs = input.reportTypes.flatMap((reportType) => input.subtypes.map((subtype) => ({ reportType, subtype })));
    await Promise.all(
      pairs.map(async ({ reportType, subtype }) => {
        const units = plan.units.filter((u) => u.reportType === reportType && u.subtype === subtype);
        await Promise.all(units.filter((u) => u.year !== null).map((u) => place(() => load(u))));
        for (const u of units.filter((w) => w.year === null)) await place(() => load(u));
        await place(() => computeCotIndicators(reportType, subtype));
      }),
    );
    return await finishCotRun(runId, null);
  } catch (error) {
    await finishCotRun(runId, failureMessage(error));
    throw ApplicationFailure.nonRetryable(`COT ingestion failed: ${failureMessage(error)}`);
  }
};

/**
 * What the weekly Schedule starts. Schedules append a timestamp to workflow ids, so this starts the
 * ingestion under the one fixed id itself: a run already going (someone started it by hand) wins.
 */
export const cotScheduledIngestionWorkflow: CotScheduledIngestionWorkflow = async (input) => {
  try {
    const child = await startChild(cotIngestionWorkflow, {
      workflowId: COT_WORKFLOW_ID,
      args: [{ ...input, trigger: 'schedule' }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
    return `started ${child.firstExecutionRunId}`;
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return 'an ingestion was already running';
    throw error;
  }
};
