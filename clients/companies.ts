/** Company watches' Temporal client side: the one Schedule whose runs check every watch that is due. */
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptionsAction,
  type ScheduleSpec,
} from '@temporalio/client';
import { REGISTRY_ZONE } from '../lib/companies/registryAnswer.js';
import type { Config } from '../lib/platform/config.js';
import {
  COMPANY_WATCH_SCHEDULE_ID,
  COMPANY_WATCH_SWEEP_ID,
  type CompanyWatchSweepInput,
  type CompanyWatchSweepWorkflow,
} from '../workflows/contracts/companies.js';

/** Watches claimed per batch of a sweep. */
const SWEEP_BATCH = 200;

/** What each sweep runs with: the configured interval, concurrency and backoff. */
export const sweepInput = (config: Config): CompanyWatchSweepInput => ({
  batchSize: SWEEP_BATCH,
  concurrency: config.companies.watch.concurrency,
  intervalS: config.companies.watch.intervalS,
  retry: config.companies.watch.retry,
});

/**
 * Creates the `company-watches-daily` Schedule (cron COMPANY_WATCH_SCHEDULE in Polish time, overlap SKIP: a sweep
 * still waiting on the registry is not joined by another), or brings an existing one in line with the
 * configuration; with COMPANY_WATCH_SCHEDULE=off it deletes it.
 */
export async function ensureCompanyWatchSchedule(client: Client, config: Config): Promise<void> {
  const handle = client.schedule.getHandle(COMPANY_WATCH_SCHEDULE_ID);
  const cron = config.companies.watch.schedule;
  if (!cron) {
    await handle.delete().catch((e) => (e instanceof ScheduleNotFoundError ? undefined : Promise.reject(e)));
    return;
  }
  const spec: ScheduleSpec = { cronExpressions: [cron], timezone: REGISTRY_ZONE };
  const action: ScheduleOptionsAction = {
    type: 'startWorkflow',
    workflowType: 'companyWatchSweepWorkflow',
    workflowId: COMPANY_WATCH_SWEEP_ID,
    args: [sweepInput(config)] satisfies Parameters<CompanyWatchSweepWorkflow>,
    taskQueue: config.temporal.taskQueue,
  };
  try {
    await client.schedule.create({
      scheduleId: COMPANY_WATCH_SCHEDULE_ID,
      spec,
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
    });
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    await handle.update((previous) => ({ ...previous, spec, action }));
  }
}
