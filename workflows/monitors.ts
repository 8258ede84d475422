import { ActivityFailure, ApplicationFailure, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { ScheduledStartTime } from '../lib/platform/searchAttributes.js';
import type { CheckResult, PriceCheckWorkflow } from './contracts/monitors.js';

const { recordCheck } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '30 seconds' },
});

/** What a fetch that never succeeded looks like in the history: the last error and how often it was tried. */
function failedCheck(error: unknown, attempts: number): CheckResult {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  const details = (cause instanceof ApplicationFailure ? cause.details?.[0] : undefined) as
    { http_status?: number } | undefined;
  const serverError = cause instanceof ApplicationFailure && cause.type === 'ServerError';
  return {
    outcome: serverError ? 'http_error' : 'network_error',
    http_status: details?.http_status,
    error: (cause as Error)?.message ?? String(error),
    attempts,
  };
}

/** One price check: fetch and read the page (retried with backoff), record it, alert on a crossing. */
export const priceCheckWorkflow: PriceCheckWorkflow = async (input) => {
  // A local activity: a page fetch is bounded by its deadline, and at thousands of monitors per minute
  // skipping the activity task round trip through the server halves the server's work per check.
  const { fetchPrice } = proxyLocalActivities<Activities>({
    startToCloseTimeout: '2 minutes',
    retry: { initialInterval: input.retry.initialMs, backoffCoefficient: 2, maximumAttempts: input.retry.attempts },
  });
  let result: CheckResult | null;
  try {
    result = await fetchPrice({ monitorId: input.monitorId });
  } catch (error) {
    result = failedCheck(error, input.retry.attempts);
  }
  if (!result) return 'deleted';
  const info = workflowInfo();
  const scheduledAt = info.typedSearchAttributes.get(ScheduledStartTime) ?? info.startTime;
  await recordCheck({
    monitorId: input.monitorId,
    checkId: info.workflowId,
    scheduledAt: scheduledAt.toISOString(),
    result,
  });
  return result.outcome;
};
