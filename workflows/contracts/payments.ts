/** The payment intent workflow's contract: its id, Updates, Query and input. Imports no implementation. */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { PaymentStatus } from '../../db/models/Payment.js';

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
}

export const paymentWorkflowId = (intentId: string) => `payment-${intentId}`;

/** `paymentIntentWorkflow`: one intent from creation until it settles; returns its final status. */
export type PaymentIntentWorkflow = (input: PaymentIntentInput) => Promise<PaymentStatus>;
