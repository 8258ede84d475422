/** The payment intent workflow from the API: starting it with a new intent, and the payer's and merchant's Updates. */
import { WorkflowIdReusePolicy, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { PaymentStatus } from '../db/models/Payment.js';
import type { Config } from '../lib/platform/config.js';
import { BusinessStatus, MerchantId } from '../lib/platform/searchAttributes.js';
import {
  cancelPayment,
  paymentWorkflowId,
  processPayment,
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

/** Runs an Update on the intent's workflow; null when it rejected the Update or has closed (the stored state answers). */
async function updateIntent<T>(
  client: Client,
  intentId: string,
  run: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<T>,
): Promise<T | null> {
  try {
    return await run(client.workflow.getHandle(paymentWorkflowId(intentId)));
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

/** The payer's outcome, processed by the intent's workflow: its status after, or null (see `updateIntent`). */
export function processPaymentIntent(
  client: Client,
  intentId: string,
  outcome: Outcome,
): Promise<PaymentStatus | null> {
  return updateIntent(client, intentId, (h) => h.executeUpdate(processPayment, { args: [{ outcome }] }));
}

/** Cancels the intent through its workflow: its status after, or null (see `updateIntent`). */
export function cancelPaymentIntent(client: Client, intentId: string, reason: string): Promise<PaymentStatus | null> {
  return updateIntent(client, intentId, (h) => h.executeUpdate(cancelPayment, { args: [{ reason }] }));
}
