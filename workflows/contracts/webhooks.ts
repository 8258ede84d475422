/** The webhook delivery workflow's contract: its id and input. Imports no implementation. */

export interface WebhookDeliveryInput {
  deliveryId: string;
  merchantId: string;
  /** Wait before each attempt, in seconds: the first is usually 0 (immediately). */
  scheduleS: number[];
  /** An endpoint failing continuously for this long is disabled. */
  disableAfterS: number;
}

export type DeliveryOutcome = 'delivered' | 'skipped' | 'failed';

export const deliveryWorkflowId = (deliveryId: string) => `webhook-delivery-${deliveryId}`;

/** `webhookDeliveryWorkflow`: delivers one event to one endpoint on a durable retry schedule. */
export type WebhookDeliveryWorkflow = (input: WebhookDeliveryInput) => Promise<DeliveryOutcome>;
