import { ActivityFailure, ApplicationFailure, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { CheckResult } from '../activities/monitors.js';
import { ScheduledStartTime } from '../lib/searchAttributes.js';

export interface PriceCheckInput {
  monitorId: string;
  /** Backoff for network errors and 5xx: first wait, doubled per attempt, this many attempts in all. */
  retry: { initialMs: number; attempts: number };
}

export const monitorScheduleId = (monitorId: string) => `monitor-${monitorId}`;
export const priceCheckWorkflowId = (monitorId: string) => `price-check-${monitorId}`;


const { recordCheck } = proxyLocalActivities<Activities>({ startToCloseTimeout: '30 seconds', retry: { initialInterval: '500 milliseconds', maximumInterval: '30 seconds' } });

/** What a fetch that never succeeded looks like in the history: the last error and how often it was tried. */
function failedCheck(error: unknown, attempts: number): CheckResult {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  const details = (cause instanceof ApplicationFailure ? cause.details?.[0] : undefined) as { http_status?: number } | undefined;
  const serverError = cause instanceof ApplicationFailure && cause.type === 'ServerError';
  return { outcome: serverError ? 'http_error' : 'network_error', http_status: details?.http_status, error: (cause as Error)?.message ?? String(error), attempts };
}

/** One price check: fetch and read the page (retried with backoff), record it, alert on a crossing. */
export async function priceCheckWorkflow(input: PriceCheckInput): Promise<string> {
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
  await recordCheck({ monitorId: input.monitorId, checkId: info.workflowId, scheduledAt: scheduledAt.toISOString(), result });
  return result.outcome;
}
