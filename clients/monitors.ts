/**
 * Price monitors' Temporal side: the dispatcher Schedule of a task queue (its runs check whatever falls due, see
 * workflows/monitors.ts), checks started on demand, and the removal of the per-monitor Schedules of old.
 */
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  WorkflowIdReusePolicy,
  type Client,
  type ScheduleOptionsAction,
  type ScheduleSpec,
} from '@temporalio/client';
import { checkBudgetMs } from '../lib/monitors/retry.js';
import type { Config } from '../lib/platform/config.js';
import { within } from './requests.js';
import {
  checkNowWorkflowId,
  monitorDispatchScheduleId,
  monitorScheduleId,
  type MonitorDispatchWorkflow,
  type PriceCheckWorkflow,
} from '../workflows/contracts/monitors.js';

/**
 * Creates the Schedule whose runs check the monitors of this task queue, or brings an existing one in line with the
 * configuration (window, lanes, retry budget); a pause an operator set stays. Every MONITOR_DISPATCH_WINDOW_S a run
 * starts for the window that begins then. Runs may overlap: one still finishing its last checks (a slow shop) must
 * not hold the next window back, and the claims in PostgreSQL keep them apart. Throws when Temporal refuses.
 */
export async function ensureMonitorDispatch(client: Client, config: Config): Promise<void> {
  const { windowMs, lanes } = config.monitors.dispatch;
  const budgetMs = checkBudgetMs(config.monitors);
  const scheduleId = monitorDispatchScheduleId(config.temporal.taskQueue);
  const spec: ScheduleSpec = { intervals: [{ every: windowMs }] };
  const action: ScheduleOptionsAction = {
    type: 'startWorkflow',
    workflowType: 'monitorDispatchWorkflow',
    workflowId: scheduleId,
    taskQueue: config.temporal.taskQueue,
    args: [{ windowMs, lanes, budgetMs }] satisfies Parameters<MonitorDispatchWorkflow>,
    // A run whose worker never came back must not linger (its claims lapse and later runs take the monitors).
    workflowExecutionTimeout: windowMs + budgetMs + 5 * 60_000,
  };
  try {
    await client.schedule.create({
      scheduleId,
      spec,
      action,
      policies: { overlap: ScheduleOverlapPolicy.ALLOW_ALL, catchupWindow: '1 minute' },
    });
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec, action }));
  }
}

/** Deletes the per-monitor Schedules (`monitor-<id>`) of the days before dispatchers; ones already gone count. */
export async function retireMonitorSchedules(client: Client, monitorIds: string[]): Promise<void> {
  await Promise.all(
    monitorIds.map((id) =>
      client.schedule
        .getHandle(monitorScheduleId(id))
        .delete()
        .catch((e) => (e instanceof ScheduleNotFoundError ? undefined : Promise.reject(e))),
    ),
  );
}

/**
 * Starts a check of the monitor now, apart from its grid, and waits for it to end, all within `waitMs` (ms; the
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
      args: [{ monitorId, budgetMs: checkBudgetMs(config.monitors) }],
      workflowExecutionTimeout: '10 minutes',
    }),
  );
  // A failed run has ended too.
  const ended = await within(client.connection, deadline - Date.now(), () => handle.result()).catch(() => ({
    done: true,
  }));
  return { workflowId, finished: ended.done };
}
