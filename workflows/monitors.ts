import { ActivityFailure, proxyActivities, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { ScheduledStartTime } from '../lib/platform/searchAttributes.js';
import type { CheckResult, MonitorDispatchWorkflow, PriceCheckWorkflow } from './contracts/monitors.js';

/** Before `budgetMs` came with the input (a check started by a per-monitor Schedule of old): two minutes. */
const LEGACY_BUDGET_MS = 120_000;

const { recordCheck } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '30 seconds' },
});

/**
 * One price check asked for through the API (check now): fetch and read the page (its attempts and back-off are the
 * activity's, as for the dispatcher's checks), record it, alert on a crossing.
 */
export const priceCheckWorkflow: PriceCheckWorkflow = async (input) => {
  // A local activity: a page fetch is bounded by its budget, and the round trip through the server is saved.
  const { fetchPrice } = proxyLocalActivities<Activities>({
    startToCloseTimeout: input.budgetMs ?? LEGACY_BUDGET_MS,
    retry: { initialInterval: '1 second', maximumAttempts: 2 },
  });
  let result: CheckResult | null;
  try {
    result = await fetchPrice({ monitorId: input.monitorId });
  } catch (error) {
    // Not the shop's answer (those are results): the worker could not reach Redis or PostgreSQL, say.
    const cause = error instanceof ActivityFailure ? error.cause : error;
    result = { outcome: 'network_error', error: (cause as Error)?.message ?? String(error), attempts: 0 };
  }
  if (!result) return 'deleted';
  const info = workflowInfo();
  await recordCheck({
    monitorId: input.monitorId,
    checkId: info.workflowId,
    scheduledAt: (info.typedSearchAttributes.get(ScheduledStartTime) ?? info.startTime).toISOString(),
    workflowId: info.workflowId,
    runId: info.runId,
    result,
  });
  return result.outcome;
};

/**
 * One window of a task queue's dispatcher (started by its Schedule every `windowMs`): `lanes` heartbeating
 * activities claim the monitors falling due before the window ends and check them at their due times. A worker that
 * dies mid-window is noticed by the heartbeat timeout; the activity's next attempt takes back what it had claimed.
 */
export const monitorDispatchWorkflow: MonitorDispatchWorkflow = async ({ windowMs, lanes, budgetMs }) => {
  const { checkDueMonitors } = proxyActivities<Activities>({
    // The window, then the checks still running when it closed.
    startToCloseTimeout: windowMs + budgetMs + 60_000,
    heartbeatTimeout: '20 seconds',
    retry: { initialInterval: '1 second', maximumInterval: '10 seconds' },
  });
  const info = workflowInfo();
  const from = info.typedSearchAttributes.get(ScheduledStartTime) ?? info.startTime;
  const until = new Date(from.getTime() + windowMs).toISOString();
  return Promise.all(Array.from({ length: lanes }, () => checkDueMonitors({ until })));
};
