import {
  allHandlersFinished,
  condition,
  defineQuery,
  defineUpdate,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { PaymentStatus } from '../db/models/Payment.js';
import { BusinessStatus } from '../lib/searchAttributes.js';
import { startDelivery, type WebhookDeliveryInput } from './webhooks.js';

// A transition is one short, idempotent database transaction: run as a local activity, it costs no
// round trip through the Temporal server (a marker in history instead of a scheduled task).
const { transitionPayment } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '30 seconds' },
});

export type Outcome = 'succeeded' | 'failed';
export const processPayment = defineUpdate<PaymentStatus, [{ outcome: Outcome }]>('processPayment');
export const cancelPayment = defineUpdate<PaymentStatus, [{ reason: string }]>('cancelPayment');
export const paymentStatus = defineQuery<PaymentStatus>('paymentStatus');

export interface PaymentIntentInput {
  intentId: string;
  merchantId: string;
  expiresInMs: number;
  /** The delivery of `payment_intent.created`, written with the intent by the API. */
  createdDeliveryId: string | null;
  webhooks: Pick<WebhookDeliveryInput, 'scheduleS' | 'disableAfterS'>;
}

const settled = (s: PaymentStatus) => s === 'succeeded' || s === 'failed' || s === 'canceled';

export const paymentWorkflowId = (intentId: string) => `payment-${intentId}`;

/**
 * One payment intent, from creation until it succeeds, fails, is canceled or expires.
 * The payer's outcome arrives as an Update, so the payer page gets the final state in its response.
 */
export async function paymentIntentWorkflow(input: PaymentIntentInput): Promise<PaymentStatus> {
  let status: PaymentStatus = 'requires_payment_method';
  // Deliveries start in the background: the payer's Update need not wait for each child to start.
  const deliveries = new Map<string, Promise<unknown>>();
  const deliver = (deliveryId: string | null) => {
    if (deliveryId && !deliveries.has(deliveryId)) deliveries.set(deliveryId, startDelivery(deliveryId, input.merchantId, input.webhooks));
  };

  const moveTo = async (from: PaymentStatus[], to: PaymentStatus, data: Record<string, unknown> = {}) => {
    const result = await transitionPayment({ intentId: input.intentId, merchantId: input.merchantId, from, to, data, workflowId: workflowInfo().workflowId });
    status = result.status;
    upsertSearchAttributes([{ key: BusinessStatus, value: status }]);
    // Changed now or by an earlier execution of this step whose workflow task was lost (a local
    // activity's effects can outlive its marker): either way the event's delivery must be started.
    deliver(result.logged?.deliveryId ?? null);
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
        if (status !== 'requires_payment_method' && status !== 'canceled') throw new Error(`A payment that is ${status} cannot be canceled`);
      },
    },
  );

  deliver(input.createdDeliveryId);
  const decided = await condition(() => status !== 'requires_payment_method', input.expiresInMs);
  if (!decided) await moveTo(['requires_payment_method'], 'canceled', { reason: 'expired' });
  await condition(() => settled(status) && allHandlersFinished());
  await Promise.all(deliveries.values());
  return status;
}
