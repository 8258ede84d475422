/** The one place a payment intent changes state: status, its log row, its event and delivery, together. */
import type { Knex } from 'knex';
import type { QueryBuilder } from 'objection';
import { Merchant } from './models/Merchant.js';
import { MerchantEvent, PaymentIntent, PaymentTransaction, type PaymentStatus } from './models/Payment.js';
import { WebhookDelivery } from './models/Webhook.js';
import { newId } from '../lib/platform/ids.js';
import { sha256 } from '../lib/platform/crypto.js';
import { createOncePerKey } from './idempotency.js';

export { paymentStatuses, type PaymentStatus } from './models/Payment.js';

const eventTypeFor = {
  requires_payment_method: 'payment_intent.created',
  processing: 'payment_intent.processing',
  succeeded: 'payment_intent.succeeded',
  failed: 'payment_intent.payment_failed',
  canceled: 'payment_intent.canceled',
} as const satisfies Record<PaymentStatus, string>;

/** What a merchant's endpoint can subscribe to (`*`: everything, now and later). */
export const paymentEventTypes = Object.values(eventTypeFor);

/** Whether an endpoint subscribed to `subscribed` receives events of this type. */
export const subscribes = (subscribed: readonly string[], type: string) =>
  subscribed.includes('*') || subscribed.includes(type);

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
  /** Set when the merchant has an enabled endpoint subscribed to the event's type. */
  deliveryId: string | null;
}

/** Inside the caller's transaction: the log row, the event and (when an endpoint takes its type) its delivery. */
export async function logTransition(
  trx: Knex.Transaction,
  intent: PaymentIntent,
  from: PaymentStatus | null,
  data: Record<string, unknown>,
): Promise<LoggedTransition> {
  await PaymentTransaction.query(trx).insert({
    intent_id: intent.id,
    type: eventTypeFor[intent.status].split('.')[1],
    from_status: from,
    to_status: intent.status,
    data,
  });
  // Plain inserts (no fetch after): each query here sits inside a payment's critical path.
  const event = await MerchantEvent.query(trx).insert({
    id: newId('evt'),
    merchant_id: intent.merchant_id,
    type: eventTypeFor[intent.status],
    intent_id: intent.id,
    payload: intentView(intent),
  });
  const merchant = await Merchant.query(trx).findById(intent.merchant_id);
  // Every event is stored (the API lists them all); only subscribed types get a delivery workflow.
  if (!merchant?.webhook_url || merchant.webhook_disabled_at || !subscribes(merchant.webhook_events, event.type))
    return { eventId: event.id, deliveryId: null };
  const delivery = await WebhookDelivery.query(trx).insert({
    event_id: event.id,
    merchant_id: intent.merchant_id,
    status: 'pending',
  });
  return { eventId: event.id, deliveryId: delivery.id };
}

export interface TransitionResult {
  status: PaymentStatus;
  changed: boolean;
  logged: LoggedTransition | null;
}

/**
 * Moves an intent from one of `from` to `to` in one transaction. Safe to retry: when the intent is
 * already in `to` (or past it) that earlier event is returned and nothing is written twice. Null: no such intent.
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
    if (current.status === to || !from.includes(current.status)) {
      // A repeat (a retried activity, or a workflow task lost after this committed): the intent may be in
      // `to` or already past it; its event and delivery, if it got there, are returned for the caller to finish.
      const event = await MerchantEvent.query(trx).findOne({ intent_id: intentId, type: eventTypeFor[to] });
      const delivery = event && (await WebhookDelivery.query(trx).findOne({ event_id: event.id }));
      return {
        status: current.status,
        changed: false,
        logged: event ? { eventId: event.id, deliveryId: delivery?.id ?? null } : null,
      };
    }
    const reason = typeof data.reason === 'string' ? data.reason : null;
    const [updated] = await PaymentIntent.query(trx)
      .patch({ status: to, cancellation_reason: to === 'canceled' ? reason : null, updated_at: new Date() })
      .where({ id: intentId })
      .returning('*');
    return { status: to, changed: true, logged: await logTransition(trx, updated, current.status, data) };
  });
}

/** What the API stores of a new intent; it starts in `requires_payment_method`. */
export interface NewIntent {
  id: string;
  merchant_id: string;
  /** In the currency's minor unit. */
  amount: number;
  currency: string;
  order_id: string;
  metadata: Record<string, unknown>;
  payment_token_hash: string;
  payment_token_enc: string;
  expires_at: Date;
  /** The creating request's Idempotency-Key id (api/idempotency.ts), if it had one. */
  idempotency_key_id?: string | null;
}

/**
 * Stores a new intent with its log row, `payment_intent.created` event and (when an endpoint takes it) delivery,
 * in one transaction; `beforeCommit` runs inside it, and a throw there stores nothing. Returns the stored intent and
 * `created: true`. With an `idempotency_key_id` that an intent already carries (an earlier attempt of the same
 * request committed it, the attempt itself perhaps killed since), that intent comes back with `created: false`,
 * nothing is written and `beforeCommit` does not run: one intent per key, concurrent attempts included.
 */
export async function createIntent(
  db: Knex,
  intent: NewIntent,
  beforeCommit: (logged: LoggedTransition) => Promise<void>,
): Promise<{ intent: PaymentIntent; created: boolean }> {
  const { row, created } = await createOncePerKey(
    intent.idempotency_key_id,
    async (keyId) => PaymentIntent.query(db).findOne({ idempotency_key_id: keyId }),
    () =>
      db.transaction(async (trx) => {
        const stored = await PaymentIntent.query(trx)
          .insert({ ...intent, status: 'requires_payment_method' })
          .returning('*');
        await beforeCommit(
          await logTransition(trx, stored, null, { amount: intent.amount, currency: intent.currency }),
        );
        return stored;
      }),
  );
  return { intent: row, created };
}

/** The intent, confined to `merchantId` when given; undefined when there is none (or not that merchant's). */
export async function findIntent(db: Knex, id: string, merchantId?: string): Promise<PaymentIntent | undefined> {
  const query = PaymentIntent.query(db).findById(id);
  if (merchantId) query.where({ merchant_id: merchantId });
  return query;
}

/** The intent a payer token opens (found by the token's SHA-256); undefined when none does. */
export async function findIntentByToken(db: Knex, token: string): Promise<PaymentIntent | undefined> {
  return PaymentIntent.query(db).findOne({ payment_token_hash: sha256(token) });
}

export interface IntentFilters {
  merchantId?: string;
  status?: PaymentStatus;
  orderId?: string;
}

/** Intents matching every filter given; not yet run, so the caller can page it. */
export function intentsQuery(db: Knex, filters: IntentFilters): QueryBuilder<PaymentIntent, PaymentIntent[]> {
  const q = PaymentIntent.query(db);
  if (filters.merchantId) q.where({ merchant_id: filters.merchantId });
  if (filters.status) q.where({ status: filters.status });
  if (filters.orderId) q.where({ order_id: filters.orderId });
  return q;
}

/** The names of the given merchants, by id (for showing an intent's merchant as a person knows it). */
export async function merchantNames(db: Knex, merchantIds: string[]): Promise<Map<string, string>> {
  const ids = [...new Set(merchantIds)];
  const rows = ids.length ? await Merchant.query(db).findByIds(ids).select('id', 'name') : [];
  return new Map(rows.map((m) => [m.id, m.name]));
}

/** The intent's log of state changes, oldest first. */
export async function intentTransactions(db: Knex, intentId: string): Promise<PaymentTransaction[]> {
  return PaymentTransaction.query(db).where({ intent_id: intentId }).orderBy('id');
}
