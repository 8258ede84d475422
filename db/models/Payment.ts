import { Model } from 'objection';

export const paymentStatuses = ['requires_payment_method', 'processing', 'succeeded', 'failed', 'canceled'] as const;
export type PaymentStatus = (typeof paymentStatuses)[number];

export class PaymentIntent extends Model {
  static tableName = 'payment_intents';
  id!: string;
  merchant_id!: string;
  amount!: string | number;
  currency!: string;
  order_id!: string;
  metadata!: Record<string, unknown>;
  status!: PaymentStatus;
  cancellation_reason!: string | null;
  payment_token_hash!: string;
  /** Sealed; the token is what the payer page is reached with. */
  payment_token_enc!: string;
  /** The Idempotency-Key (its row's id) of the request that created it, if it had one: one intent per key. */
  idempotency_key_id!: string | null;
  expires_at!: Date;
  created_at!: Date;
  updated_at!: Date;
}

export class PaymentTransaction extends Model {
  static tableName = 'payment_transactions';
  id!: number;
  intent_id!: string;
  type!: string;
  from_status!: PaymentStatus | null;
  to_status!: PaymentStatus;
  data!: Record<string, unknown>;
  created_at!: Date;
}

/** A merchant-facing event (`payment_intent.succeeded`, …); each is delivered as one webhook. */
export class MerchantEvent extends Model {
  static tableName = 'events';
  id!: string;
  merchant_id!: string;
  type!: string;
  intent_id!: string | null;
  monitor_id!: string | null;
  payload!: Record<string, unknown>;
  created_at!: Date;
}
