import { ApplicationFailure } from '@temporalio/common';
import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import type { PaymentStatus } from '../db/models/Payment.js';
import { transitionIntent, type TransitionResult } from '../db/payments.js';
import { domainEvent, publish } from '../lib/events.js';

export interface TransitionInput {
  intentId: string;
  merchantId: string;
  from: PaymentStatus[];
  to: PaymentStatus;
  data?: Record<string, unknown>;
  workflowId: string;
}

export function paymentActivities(db: Knex, redis: Redis) {
  return {
    /** One atomic state change (status + log row + event + delivery), then a live event for consoles. */
    async transitionPayment(input: TransitionInput): Promise<TransitionResult> {
      const result = await transitionIntent(db, input.intentId, input.from, input.to, input.data);
      // The API's transaction rolled back after starting the workflow: there is nothing to move.
      if (!result) throw ApplicationFailure.nonRetryable(`payment intent ${input.intentId} does not exist`, 'IntentMissing');
      if (result.changed) {
        await publish(
          redis,
          domainEvent(`payment_intent.${input.to}`, input.merchantId, { intent_id: input.intentId, status: input.to, workflow_id: input.workflowId }),
        ).catch(() => {});
      }
      return result;
    },
  };
}
