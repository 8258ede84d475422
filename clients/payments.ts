/** The payment intent workflow from the API: starting it with a new intent, and the payer's and merchant's requests. */
import {
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  type Client,
  type SignalDefinition,
  type UpdateDefinition,
} from '@temporalio/client';
import type { PaymentStatus } from '../db/models/Payment.js';
import type { Config } from '../lib/platform/config.js';
import { BusinessStatus, MerchantId } from '../lib/platform/searchAttributes.js';
import type { WorkflowRequest } from '../workflows/contracts/requests.js';
import { newRequest, updateWithin, type Waited } from './requests.js';
import {
  cancelPayment,
  cancelPaymentRequested,
  paymentWorkflowId,
  processPayment,
  processPaymentRequested,
  type Outcome,
  type PaymentIntentInput,
  type PaymentIntentWorkflow,
} from '../workflows/contracts/payments.js';

/** Starts the new intent's workflow; throws when Temporal refuses (one for this intent already exists, …). */
export async function startPaymentWorkflow(client: Client, config: Config, input: PaymentIntentInput): Promise<void> {
  await client.workflow.start<PaymentIntentWorkflow>('paymentIntentWorkflow', {
    taskQueue: config.temporal.taskQueue,
    workflowId: paymentWorkflowId(input.intentId),
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    args: [input],
    typedSearchAttributes: [
      { key: MerchantId, value: input.merchantId },
      { key: BusinessStatus, value: 'requires_payment_method' },
    ],
  });
}

/**
 * Sends a request to the intent's workflow within `waitMs` (see `updateWithin`): its status after, `done: false`
 * while it is recorded but not yet carried out, or null when the workflow refused it or has closed (the stored
 * state answers).
 */
async function requestIntent<Req extends WorkflowRequest>(
  client: Client,
  intentId: string,
  update: UpdateDefinition<PaymentStatus, [Req]>,
  signal: SignalDefinition<[Req]>,
  request: Req & Required<WorkflowRequest>,
  waitMs: number,
): Promise<Waited<PaymentStatus> | null> {
  try {
    return await updateWithin(client.workflow.getHandle(paymentWorkflowId(intentId)), update, signal, request, waitMs);
  } catch (error) {
    const name = (error as Error).name;
    if (
      error instanceof WorkflowNotFoundError ||
      name === 'WorkflowUpdateFailedError' ||
      name === 'WorkflowNotFoundError'
    )
      return null;
    throw error;
  }
}

/** The payer's outcome, processed by the intent's workflow within `waitMs` (ms); see `requestIntent`. */
export function processPaymentIntent(
  client: Client,
  intentId: string,
  outcome: Outcome,
  waitMs: number,
): Promise<Waited<PaymentStatus> | null> {
  return requestIntent(client, intentId, processPayment, processPaymentRequested, { ...newRequest(), outcome }, waitMs);
}

/** Cancels the intent through its workflow within `waitMs` (ms); see `requestIntent`. */
export function cancelPaymentIntent(
  client: Client,
  intentId: string,
  reason: string,
  waitMs: number,
): Promise<Waited<PaymentStatus> | null> {
  return requestIntent(client, intentId, cancelPayment, cancelPaymentRequested, { ...newRequest(), reason }, waitMs);
}
