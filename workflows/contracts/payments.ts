/** The payment intent workflow's contract: its id, Updates with their Signal twins, Query and input. No implementation. */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { PaymentStatus } from '../../db/models/Payment.js';
import type { WorkflowRequest } from './requests.js';

export type Outcome = 'succeeded' | 'failed';
export type ProcessRequest = WorkflowRequest & { outcome: Outcome };
export type CancelRequest = WorkflowRequest & { reason: string };
/** The payer's outcome; answers with the status after it. */
export const processPayment = defineUpdate<PaymentStatus, [ProcessRequest]>('processPayment');
/** The same request, recorded while no worker accepted the Update in time (see clients/requests.ts). */
export const processPaymentRequested = defineSignal<[ProcessRequest]>('processPaymentRequested');
/** The merchant's cancellation; answers with the status after it. */
export const cancelPayment = defineUpdate<PaymentStatus, [CancelRequest]>('cancelPayment');
export const cancelPaymentRequested = defineSignal<[CancelRequest]>('cancelPaymentRequested');
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
