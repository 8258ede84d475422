import {
  allHandlersFinished,
  condition,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { PaymentStatus } from '../db/models/Payment.js';
import { BusinessStatus } from '../lib/platform/searchAttributes.js';
import {
  cancelPayment,
  cancelPaymentRequested,
  paymentStatus,
  processPayment,
  processPaymentRequested,
  type PaymentIntentWorkflow,
} from './contracts/payments.js';
import { handleRequest } from './requests.js';

// A transition is one short, idempotent database transaction that then starts its event's delivery
// workflow: run as a local activity, it costs no round trip through the Temporal server (a marker in
// history instead of a scheduled task).
const { transitionPayment } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '30 seconds' },
});
// The created event's delivery waits for the API's commit: visible within milliseconds, or never if that
// commit failed. Then expiry ends the workflow; until it does, retries wait on timers, not on workflow
// task heartbeats, so a day of them stays a few hundred history events.
const { startDelivery } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '5 minutes' },
  localRetryThreshold: '10 seconds',
});

const settled = (s: PaymentStatus) => s === 'succeeded' || s === 'failed' || s === 'canceled';

/**
 * One payment intent, from creation until it succeeds, fails, is canceled or expires.
 * The payer's outcome arrives as an Update, so the payer page gets the final state in its response — or, when no
 * worker took the Update in time, as its Signal twin, carried out all the same once a worker runs this.
 */
export const paymentIntentWorkflow: PaymentIntentWorkflow = async (input) => {
  let status: PaymentStatus = 'requires_payment_method';

  const moveTo = async (from: PaymentStatus[], to: PaymentStatus, data: Record<string, unknown> = {}) => {
    const result = await transitionPayment({
      intentId: input.intentId,
      merchantId: input.merchantId,
      from,
      to,
      data,
      workflowId: workflowInfo().workflowId,
    });
    status = result.status;
    upsertSearchAttributes([{ key: BusinessStatus, value: status }]);
  };

  setHandler(paymentStatus, () => status);

  // The payer has asked for an outcome: expiry no longer applies, even when the request and the expiry timer are
  // handled in the same workflow task (a worker back after an outage).
  let asked = false;

  handleRequest(
    processPayment,
    processPaymentRequested,
    async ({ outcome }) => {
      asked = true;
      // Both of two concurrent submits may pass this check; the transition's unique keys make the second a no-op.
      if (status === 'requires_payment_method') {
        await moveTo(['requires_payment_method'], 'processing', { outcome });
        await moveTo(['processing'], outcome, { outcome });
      }
      await condition(() => status !== 'processing');
      return status;
    },
    () => {
      if (status === 'canceled') throw new Error('This payment was canceled and can no longer be processed');
    },
  );

  handleRequest(
    cancelPayment,
    cancelPaymentRequested,
    async ({ reason }) => {
      if (status === 'requires_payment_method') await moveTo(['requires_payment_method'], 'canceled', { reason });
      return status;
    },
    () => {
      if (status !== 'requires_payment_method' && status !== 'canceled')
        throw new Error(`A payment that is ${status} cannot be canceled`);
    },
  );

  // In the background: the API started this workflow just before committing the intent.
  const createdDelivered = input.createdDeliveryId
    ? startDelivery({ deliveryId: input.createdDeliveryId, merchantId: input.merchantId })
    : undefined;
  const decided = await condition(() => status !== 'requires_payment_method', input.expiresInMs);
  if (!decided && !asked) await moveTo(['requires_payment_method'], 'canceled', { reason: 'expired' });
  await condition(() => settled(status) && allHandlersFinished());
  await createdDelivered;
  return status;
};
