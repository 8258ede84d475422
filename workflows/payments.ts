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
  paymentStatus,
  processPayment,
  type Outcome,
  type PaymentIntentWorkflow,
} from './contracts/payments.js';

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
 * The payer's outcome arrives as an Update, so the payer page gets the final state in its response.
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

  setHandler(
    processPayment,
    async ({ outcome }) => {
      // Handlers interleave only at awaits, so exactly one caller gets past this check.
      if (status === 'requires_payment_method') {
        await moveTo(['requires_payment_method'], 'processing', { outcome });
        await moveTo(['processing'], outcome, { outcome });
      }
      await condition(() => status !== 'processing');
      return status;
    },
    {
      validator: (_request: { outcome: Outcome }) => {
        if (status === 'canceled') throw new Error('This payment was canceled and can no longer be processed');
      },
    },
  );

  setHandler(
    cancelPayment,
    async ({ reason }) => {
      if (status === 'requires_payment_method') await moveTo(['requires_payment_method'], 'canceled', { reason });
      return status;
    },
    {
      validator: (_request: { reason: string }) => {
        if (status !== 'requires_payment_method' && status !== 'canceled')
          throw new Error(`A payment that is ${status} cannot be canceled`);
      },
    },
  );

  // In the background: the API started this workflow just before committing the intent.
  const createdDelivered = input.createdDeliveryId
    ? startDelivery({ deliveryId: input.createdDeliveryId, merchantId: input.merchantId })
    : undefined;
  const decided = await condition(() => status !== 'requires_payment_method', input.expiresInMs);
  if (!decided) await moveTo(['requires_payment_method'], 'canceled', { reason: 'expired' });
  await condition(() => settled(status) && allHandlersFinished());
  await createdDelivered;
  return status;
};
