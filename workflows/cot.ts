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
const { planCotIngestion, recordCotUnitFailure, finishCotRun } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry,
});
// Long work heartbeats on a timer: a lost worker is noticed within the heartbeat timeout.
const HEARTBEAT_TIMEOUT = '20 seconds';
const { computeCotIndicators } = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: HEARTBEAT_TIMEOUT,
  retry,
});

const failureMessage = (error: unknown) => {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  return cause instanceof Error ? cause.message : String(cause);
};

/** Runs `task` for each item with at most `limit` at a time. */
async function inBatches<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: Math.min(limit, queue.length) }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await task(item);
    }),
  );
}

/**
 * The weekly COT ingestion: plan the files, load the yearly files and then the current-week files,
 * rebuild the indicators of every report that loaded, and settle the run.
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
    const readPairs = new Map<string, CotUnitPlan>();
    const load = async (unit: CotUnitPlan) => {
      progress.inFlight.push(unitLabel(unit));
      try {
        const result = await ingestCotUnit(runId, unit);
        progress.rows.read += result.rowsRead;
        progress.rows.inserted += result.inserted;
        progress.rows.updated += result.updated;
        progress.rows.rejected += result.rejected;
        if (result.status === 'loaded' || result.status === 'unchanged')
          readPairs.set(`${unit.reportType}/${unit.subtype}`, unit);
      } catch (error) {
        if (!(error instanceof ActivityFailure)) throw error;
        await recordCotUnitFailure(runId, unit, failureMessage(error));
      }
      progress.inFlight = progress.inFlight.filter((l) => l !== unitLabel(unit));
      progress.unitsDone++;
    };
    // Yearly files hold disjoint weeks and load side by side; a current-week file may repeat its year's last week, so it comes after.
    await inBatches(
      plan.units.filter((u) => u.year !== null),
      input.concurrency,
      load,
    );
    await inBatches(
      plan.units.filter((u) => u.year === null),
      input.concurrency,
      load,
    );
    // Rebuilt whenever a file was read, changed or not: a run that died before this step is mended by the next.
    await inBatches([...readPairs.values()], input.concurrency, (u) =>
      computeCotIndicators(u.reportType, u.subtype).then(() => undefined),
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
