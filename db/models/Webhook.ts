import { Model } from 'objection';

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed' | 'canceled';

export class WebhookDelivery extends Model {
  static tableName = 'webhook_deliveries';
  id!: string;
  event_id!: string;
  merchant_id!: string;
  /** Set for deliveries to a URL of their own (a monitor's notify_webhook); else the merchant's endpoint. */
  url!: string | null;
  status!: DeliveryStatus;
  attempts!: number;
  last_status_code!: number | null;
  last_error!: string | null;
  next_attempt_at!: Date | null;
  delivered_at!: Date | null;
  created_at!: Date;
  updated_at!: Date;
}

export class WebhookAttempt extends Model {
  static tableName = 'webhook_attempts';
  id!: number;
  delivery_id!: string;
  url!: string;
  status_code!: number | null;
  duration_ms!: number;
  response_snippet!: string | null;
  error!: string | null;
  created_at!: Date;
}
