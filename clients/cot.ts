/** The COT ingestion's Temporal client side: starting a run, its live progress and the weekly Schedule. */
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  WorkflowExecutionAlreadyStartedError,
  type Client,
  type ScheduleDescription,
  type ScheduleOptionsAction,
  type ScheduleSpec,
} from '@temporalio/client';
import type { Config } from '../lib/platform/config.js';
import {
  COT_SCHEDULE_ID,
  COT_WORKFLOW_ID,
  cotProgressQuery,
  type CotIngestionInput,
  type CotIngestionWorkflow,
  type CotProgress,
  type CotScheduledIngestionWorkflow,
} from '../workflows/contracts/cot.js';
import { reportTypes, subtypes } from '../lib/cot/reports.js';
import { within } from './requests.js';

/** What an ingestion loads unless asked otherwise: every report, the configured window, complete years skipped. */
export const defaultIngestion = (config: Config): CotIngestionInput => ({
  trigger: 'schedule',
  requestedBy: null,
  reportTypes: [...reportTypes],
  subtypes: [...subtypes],
  force: false,
  concurrency: config.cot.concurrency,
  retry: config.cot.retry,
});

/**
 * Creates the weekly COT Schedule, or brings an existing one in line with the configuration (the
 * cron, zone or task queue may have changed); with COT_SCHEDULE=off it deletes it.
 */
export async function ensureCotSchedule(client: Client, config: Config): Promise<void> {
  const handle = client.schedule.getHandle(COT_SCHEDULE_ID);
  if (!config.cot.schedule) {
    await handle.delete().catch(() => {});
    return;
  }
  const spec: ScheduleSpec = { cronExpressions: [config.cot.schedule.cron], timezone: config.cot.schedule.timezone };
  const action: ScheduleOptionsAction = {
    type: 'startWorkflow',
    workflowType: 'cotScheduledIngestionWorkflow',
    args: [defaultIngestion(config)] satisfies Parameters<CotScheduledIngestionWorkflow>,
    taskQueue: config.temporal.taskQueue,
    workflowExecutionTimeout: '5 minutes',
  };
  try {
    await client.schedule.create({
      scheduleId: COT_SCHEDULE_ID,
      spec,
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
    });
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    await handle.update((previous) => ({ ...previous, spec, action }));
  }
}

/**
 * Starts an ingestion under the one COT workflow id. `started` false: one was running already, and
 * `runId` (the Temporal run id, also the run's row id) is that one's. The server's answers (no worker is needed)
 * must come within WORKFLOW_WAIT_MS, else this rejects with DEADLINE_EXCEEDED.
 */
export async function startCotIngestion(
  client: Client,
  config: Config,
  input: CotIngestionInput,
): Promise<{ started: boolean; runId: string }> {
  return client.connection.withDeadline(Date.now() + config.temporal.workflowWaitMs, async () => {
    try {
      const handle = await client.workflow.start<CotIngestionWorkflow>('cotIngestionWorkflow', {
        workflowId: COT_WORKFLOW_ID,
        taskQueue: config.temporal.taskQueue,
        args: [input],
      });
      return { started: true, runId: handle.firstExecutionRunId };
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      return { started: false, runId: (await client.workflow.getHandle(COT_WORKFLOW_ID).describe()).runId };
    }
  });
}

/** A running ingestion's live progress; null when its worker does not answer within `timeoutMs` (the query is then cancelled). */
export async function cotIngestionProgress(
  client: Client,
  workflowId: string,
  runId: string,
  timeoutMs: number,
): Promise<CotProgress | null> {
  const answer = await within(client.connection, timeoutMs, () =>
    client.workflow.getHandle(workflowId, runId).query(cotProgressQuery),
  ).catch(() => null);
  return answer?.done ? answer.value : null;
}

/** The weekly COT Schedule's description (next action times, …); null when there is none (COT_SCHEDULE=off). */
export async function describeCotSchedule(client: Client): Promise<ScheduleDescription | null> {
  return client.schedule
    .getHandle(COT_SCHEDULE_ID)
    .describe()
    .catch((e) => (e instanceof ScheduleNotFoundError ? null : Promise.reject(e)));
}
