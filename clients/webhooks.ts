/** Starting a webhook delivery's workflow: from activities (a new event) and the API (a manual redelivery). */
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import type { Config } from '../lib/platform/config.js';
import { BusinessStatus, MerchantId } from '../lib/platform/searchAttributes.js';
import { deliveryWorkflowId, type WebhookDeliveryWorkflow } from '../workflows/contracts/webhooks.js';

export interface DeliveryStart {
  deliveryId: string;
  merchantId: string;
  /** Run the schedule again for a delivery whose workflow has closed (a manual redelivery). */
  again?: boolean;
  /**
   * Hand the first workflow task straight to this process's worker (eager start): no trip through the
   * server's task queue. Needs the client to share the worker's NativeConnection.
   */
  eager?: boolean;
}

/**
 * Starts the delivery's workflow; false when one is already running or, for a first start, has ever run
 * (a retried step that started it before, or a manual redelivery): either way it is started.
 */
export async function startDeliveryWorkflow(
  client: Client,
  config: Config,
  { deliveryId, merchantId, again = false, eager = false }: DeliveryStart,
): Promise<boolean> {
  try {
    await client.workflow.start<WebhookDeliveryWorkflow>('webhookDeliveryWorkflow', {
      taskQueue: config.temporal.taskQueue,
      workflowId: deliveryWorkflowId(deliveryId),
      workflowIdReusePolicy: again ? WorkflowIdReusePolicy.ALLOW_DUPLICATE : WorkflowIdReusePolicy.REJECT_DUPLICATE,
      args: [{ deliveryId, merchantId, ...config.webhooks.delivery }],
      typedSearchAttributes: [
        { key: MerchantId, value: merchantId },
        { key: BusinessStatus, value: 'delivering' },
      ],
      requestEagerStart: eager,
    });
    return true;
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return false;
    throw error;
  }
}
