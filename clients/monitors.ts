/** A price monitor's Temporal side: its Schedule (one price check per interval) and checks started on demand. */
import { ScheduleNotFoundError, ScheduleOverlapPolicy, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import type { Config } from '../lib/platform/config.js';
import { within } from './requests.js';
import {
  checkNowWorkflowId,
  monitorScheduleId,
  priceCheckWorkflowId,
  type PriceCheckInput,
  type PriceCheckWorkflow,
} from '../workflows/contracts/monitors.js';

const checkInput = (config: Config, monitorId: string): PriceCheckInput => ({
  monitorId,
  retry: config.monitors.retry,
});

/** Every interval, ±10 % jitter (at most a minute) so many monitors do not hit shops in lockstep. */
const spec = (intervalS: number) => ({
  intervals: [{ every: intervalS * 1000 }],
  jitter: Math.min(intervalS * 100, 60_000),
});

/** Creates the monitor's Schedule, checking every `intervalS` seconds; throws when Temporal refuses. */
export async function createMonitorSchedule(
  client: Client,
  config: Config,
  monitorId: string,
  intervalS: number,
): Promise<void> {
  await client.schedule.create({
    scheduleId: monitorScheduleId(monitorId),
    spec: spec(intervalS),
    action: {
      type: 'startWorkflow',
      workflowType: 'priceCheckWorkflow',
      workflowId: priceCheckWorkflowId(monitorId),
      taskQueue: config.temporal.taskQueue,
      args: [checkInput(config, monitorId)] satisfies Parameters<PriceCheckWorkflow>,
      // A check that cannot finish must not hold the schedule: with overlap SKIP it would skip every later one.
      workflowExecutionTimeout: '10 minutes',
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '5 minutes' },
  });
}

/**
 * Changes the Schedule's interval to `intervalS` seconds (and its paused state, when given); throws
 * ScheduleNotFoundError without one.
 */
export async function retimeMonitorSchedule(
  client: Client,
  monitorId: string,
  intervalS: number,
  paused?: boolean,
): Promise<void> {
  // An update carries the whole schedule, paused state included: one that lands in the same scheduler task as
  // a pause or resume may be applied after it, so it states the paused state wanted, not the one it read.
  await client.schedule.getHandle(monitorScheduleId(monitorId)).update((prev) => ({
    ...prev,
    spec: spec(intervalS),
    state: { ...prev.state, paused: paused ?? prev.state.paused },
  }));
}

/** Pauses the Schedule (a paused one stays paused), noting why; throws ScheduleNotFoundError without one. */
export async function pauseMonitorSchedule(client: Client, monitorId: string, note: string): Promise<void> {
  await client.schedule.getHandle(monitorScheduleId(monitorId)).pause(note);
}

/** Resumes the Schedule (a running one keeps running), noting why; throws ScheduleNotFoundError without one. */
export async function resumeMonitorSchedule(client: Client, monitorId: string, note: string): Promise<void> {
  await client.schedule.getHandle(monitorScheduleId(monitorId)).unpause(note);
}

/** Deletes the Schedule; one already gone counts as deleted. */
export async function deleteMonitorSchedule(client: Client, monitorId: string): Promise<void> {
  await client.schedule
    .getHandle(monitorScheduleId(monitorId))
    .delete()
    .catch((e) => (e instanceof ScheduleNotFoundError ? undefined : Promise.reject(e)));
}

/** When the Schedule will start its next checks, soonest first; empty when it has none or is gone. */
export async function nextMonitorChecks(client: Client, monitorId: string): Promise<Date[]> {
  const schedule = await client.schedule
    .getHandle(monitorScheduleId(monitorId))
    .describe()
    .catch((e) => (e instanceof ScheduleNotFoundError ? null : Promise.reject(e)));
  return schedule?.info.nextActionTimes ?? [];
}

/**
 * Starts a check of the monitor now, outside its Schedule, and waits for it to end, all within `waitMs` (ms; the
 * start alone past it rejects with DEADLINE_EXCEEDED); `finished` says whether it ended (successfully or not) in time.
 */
export async function checkMonitorNow(
  client: Client,
  config: Config,
  monitorId: string,
  waitMs: number,
): Promise<{ workflowId: string; finished: boolean }> {
  const workflowId = checkNowWorkflowId(monitorId, Date.now());
  const deadline = Date.now() + waitMs;
  const handle = await client.connection.withDeadline(deadline, () =>
    client.workflow.start<PriceCheckWorkflow>('priceCheckWorkflow', {
      taskQueue: config.temporal.taskQueue,
      workflowId,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      args: [checkInput(config, monitorId)],
      workflowExecutionTimeout: '10 minutes',
    }),
  );
  // A failed run has ended too.
  const ended = await within(client.connection, deadline - Date.now(), () => handle.result()).catch(() => ({
    done: true,
  }));
  return { workflowId, finished: ended.done };
}
