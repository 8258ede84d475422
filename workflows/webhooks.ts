import {
  proxyActivities,
  proxyLocalActivities,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { BusinessStatus } from '../lib/platform/searchAttributes.js';
import { nextAttemptWaitMs } from '../lib/webhooks/retryDelay.js';
import type { WebhookDeliveryWorkflow } from './contracts/webhooks.js';

const retry = { initialInterval: '1 second', maximumInterval: '1 minute', backoffCoefficient: 2 };
// The HTTP attempt may take its full timeout, so it is a regular activity; infrastructure failures
// (database down) are retried by Temporal, HTTP failures by the schedule below.
const { attemptDelivery } = proxyActivities<Activities>({ startToCloseTimeout: '1 minute', retry });
// Bookkeeping is one quick UPDATE: local activities, no round trip through the server.
const { closeDelivery, disableEndpoint, scheduleNextAttempt } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry,
});

/** ±10 % so that retries of many deliveries do not arrive at a receiver in lockstep. */
function jittered(seconds: number): number {
  return seconds * 1000 * (0.9 + Math.random() * 0.2);
}

/** Delivers one event to one endpoint on a durable retry schedule. */
export const webhookDeliveryWorkflow: WebhookDeliveryWorkflow = async (input) => {
  const setStatus = (status: string) => upsertSearchAttributes([{ key: BusinessStatus, value: status }]);
  /** The last attempt's answer, which bounds the next wait: null before the first. */
  let failed: { retryAfterMs: number | null; failingForS: number | null } | null = null;
  for (const [index, delayS] of input.scheduleS.entries()) {
    const scheduledMs = delayS > 0 ? jittered(delayS) : 0;
    const waitMs = failed
      ? nextAttemptWaitMs({ stepS: delayS, scheduledMs, ...failed, disableAfterS: input.disableAfterS })
      : scheduledMs;
    if (waitMs > 0) {
      // The timer runs to the instant recorded, so the next_attempt_at people see is when the attempt is made.
      const at = Date.now() + waitMs;
      await scheduleNextAttempt({ deliveryId: input.deliveryId, at: new Date(at).toISOString() });
      if (at > Date.now()) await sleep(at - Date.now());
    }
    const result = await attemptDelivery({ deliveryId: input.deliveryId });
    if (result.outcome === 'delivered' || result.outcome === 'skipped') {
      setStatus(result.outcome);
      return result.outcome;
    }
    const disableReason =
      result.outcome === 'gone'
        ? 'the endpoint answered 410 Gone'
        : result.failingForS !== null && result.failingForS >= input.disableAfterS
          ? `the endpoint failed continuously for ${Math.round(result.failingForS)} s`
          : null;
    if (disableReason !== null) {
      if (result.outcome !== 'gone' || result.merchantEndpoint !== false)
        await disableEndpoint({ merchantId: input.merchantId, reason: disableReason });
      await closeDelivery({ deliveryId: input.deliveryId, status: 'failed', reason: disableReason });
      setStatus('failed');
      return 'failed';
    }
    if (result.outcome === 'retry') failed = { retryAfterMs: result.retryAfterMs, failingForS: result.failingForS };
    if (index === input.scheduleS.length - 1) break;
  }
  await closeDelivery({
    deliveryId: input.deliveryId,
    status: 'failed',
    reason: `no success after ${input.scheduleS.length} attempts (${workflowInfo().workflowId})`,
  });
  setStatus('failed');
  return 'failed';
};
