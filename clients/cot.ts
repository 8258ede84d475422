import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptionsAction,
  type ScheduleSpec,
} from '@temporalio/client';
import type { Config } from '../lib/platform/config.js';
import {
  COT_SCHEDULE_ID,
  type CotIngestionInput,
  type CotScheduledIngestionWorkflow,
} from '../workflows/contracts/cot.js';
import { reportTypes, subtypes } from '../lib/cot/reports.js';

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
