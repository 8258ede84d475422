/** The one place a payment intent changes state: status, its log row, its event and delivery, together. */
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { Merchant } from './models/Merchant.js';
import { MerchantEvent, PaymentIntent, PaymentTransaction, type PaymentStatus } from './models/Payment.js';
import { WebhookDelivery } from './models/Webhook.js';

export const newId = (prefix: string, bytes = 16) => `${prefix}_${randomBytes(bytes).toString('base64url')}`;

const eventTypeFor: Record<PaymentStatus, string> = {
  requires_payment_method: 'payment_intent.created',
  processing: 'payment_intent.processing',
  succeeded: 'payment_intent.succeeded',
  failed: 'payment_intent.payment_failed',
  canceled: 'payment_intent.canceled',
};

/** What merchants (API and webhooks) see of an intent; never the token. */
export function intentView(intent: PaymentIntent) {
  return {
    id: intent.id,
    object: 'payment_intent' as const,
    amount: Number(intent.amount),
    currency: intent.currency,
    order_id: intent.order_id,
    metadata: intent.metadata,
    status: intent.status,
    cancellation_reason: intent.cancellation_reason,
    expires_at: new Date(intent.expires_at).toISOString(),
    created_at: new Date(intent.created_at).toISOString(),
    updated_at: new Date(intent.updated_at).toISOString(),
  };
}

export interface LoggedTransition {
  eventId: string;
  /** Set when the merchant has an enabled endpoint to deliver the event to. */
  deliveryId: string | null;
}

/** Inside the caller's transaction: the log row, the event and (when there is an endpoint) its delivery. */
export async function logTransition(
  trx: Knex.Transaction,
  intent: PaymentIntent,
  from: PaymentStatus | null,
  data: Record<string, unknown>,
): Promise<LoggedTransition> {
  await PaymentTransaction.query(trx).insert({ intent_id: intent.id, type: eventTypeFor[intent.status].split('.')[1], from_status: from, to_status: intent.status, data });
  const event = await MerchantEvent.query(trx).insertAndFetch({
    id: newId('evt'),
    merchant_id: intent.merchant_id,
    type: eventTypeFor[intent.status],
    intent_id: intent.id,
    payload: intentView(intent),
  });
  const merchant = await Merchant.query(trx).findById(intent.merchant_id);
  if (!merchant?.webhook_url || merchant.webhook_disabled_at) return { eventId: event.id, deliveryId: null };
  const delivery = await WebhookDelivery.query(trx).insertAndFetch({ event_id: event.id, merchant_id: intent.merchant_id, status: 'pending' });
  return { eventId: event.id, deliveryId: delivery.id };
}

export interface TransitionResult {
  status: PaymentStatus;
  changed: boolean;
  logged: LoggedTransition | null;
}

/**
 * Moves an intent from one of `from` to `to` in one transaction. Safe to retry: when the intent is
 * already in `to` the earlier event is returned and nothing is written twice. Null: no such intent.
 */
export async function transitionIntent(
  db: Knex,
  intentId: string,
  from: PaymentStatus[],
  to: PaymentStatus,
  data: Record<string, unknown> = {},
): Promise<TransitionResult | null> {
  return db.transaction(async (trx) => {
    const current = await PaymentIntent.query(trx).findById(intentId).forUpdate();
    if (!current) return null;
    if (current.status === to) {
      const event = await MerchantEvent.query(trx).findOne({ intent_id: intentId, type: eventTypeFor[to] });
      const delivery = event && (await WebhookDelivery.query(trx).findOne({ event_id: event.id }));
      return { status: to, changed: false, logged: event ? { eventId: event.id, deliveryId: delivery?.id ?? null } : null };
    }
    if (!from.includes(current.status)) return { status: current.status, changed: false, logged: null };
    const reason = typeof data.reason === 'string' ? data.reason : null;
    const updated = await PaymentIntent.query(trx).patchAndFetchById(intentId, {
      status: to,
      cancellation_reason: to === 'canceled' ? reason : null,
      updated_at: new Date(),
    });
    return { status: to, changed: true, logged: await logTransition(trx, updated, current.status, data) };
  });
}
