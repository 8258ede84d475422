import { ApplicationFailure } from '@temporalio/common';
import type { PaymentStatus } from '../db/models/Payment.js';
import { transitionIntent, type TransitionResult } from '../db/payments.js';
import { startDeliveryWorkflow } from '../clients/webhooks.js';
import { domainEvent, publish } from '../lib/platform/events.js';
import type { ActivityDeps } from './index.js';

export interface TransitionInput {
  intentId: string;
  merchantId: string;
  from: PaymentStatus[];
  to: PaymentStatus;
  data?: Record<string, unknown>;
  workflowId: string;
}

export function paymentActivities({ config, db, redis, temporal }: ActivityDeps) {
  return {
    /**
     * One atomic state change (status + log row + event + delivery), then its delivery's workflow and a
     * live event for consoles. A repeat (retried, or its workflow task was lost after the commit) changes
     * nothing but still starts the delivery of the event it logged the first time.
     */
    async transitionPayment(input: TransitionInput): Promise<TransitionResult> {
      const result = await transitionIntent(db, input.intentId, input.from, input.to, input.data);
      // The API's transaction rolled back after starting the workflow: there is nothing to move.
      if (!result)
        throw ApplicationFailure.nonRetryable(`payment intent ${input.intentId} does not exist`, 'IntentMissing');
      const deliveryId = result.logged?.deliveryId;
      if (deliveryId)
        await startDeliveryWorkflow(temporal, config, { deliveryId, merchantId: input.merchantId, eager: true });
      if (result.changed) {
        await publish(
          redis,
          domainEvent(`payment_intent.${input.to}`, input.merchantId, {
            intent_id: input.intentId,
            status: input.to,
            workflow_id: input.workflowId,
          }),
        ).catch(() => {});
      }
      return result;
    },
  };
}
