/** Merchant events and their webhook deliveries and attempts. */
import type { Knex } from 'knex';
import type { QueryBuilder } from 'objection';
import { MerchantEvent } from './models/Payment.js';
import { WebhookAttempt, WebhookDelivery, type DeliveryStatus } from './models/Webhook.js';

/** A delivery with its event's type and payment intent (null for events of no intent). */
export type DeliveryRow = WebhookDelivery & { event_type: string; intent_id: string | null };

export interface DeliveryFilters {
  /** Only this merchant's deliveries. */
  merchantId?: string;
  status?: DeliveryStatus;
  eventType?: string;
  intentId?: string;
}

/**
 * Deliveries joined with their event (rows are `DeliveryRow`s), filtered; not yet run, so the caller can page
 * it (its columns are qualified: `webhook_deliveries.*`).
 */
export function deliveriesQuery(db: Knex, filters: DeliveryFilters): QueryBuilder<WebhookDelivery, WebhookDelivery[]> {
  const q = WebhookDelivery.query(db)
    .select('webhook_deliveries.*', 'events.type as event_type', 'events.intent_id')
    .join('events', 'events.id', 'webhook_deliveries.event_id');
  if (filters.merchantId) q.where('webhook_deliveries.merchant_id', filters.merchantId);
  if (filters.status) q.where('webhook_deliveries.status', filters.status);
  if (filters.eventType) q.where('events.type', filters.eventType);
  if (filters.intentId) q.where('events.intent_id', filters.intentId);
  return q;
}

/** One delivery with its event's type and intent, confined to `merchantId` when given; undefined: none visible. */
export async function findDeliveryRow(db: Knex, id: string, merchantId?: string): Promise<DeliveryRow | undefined> {
  return (await deliveriesQuery(db, { merchantId }).findById(id)) as DeliveryRow | undefined;
}

/** The delivery, or undefined when there is none with this id. */
export async function findDelivery(db: Knex, id: string): Promise<WebhookDelivery | undefined> {
  return WebhookDelivery.query(db).findById(id);
}

/** Whether the delivery's row is visible (committed) to this connection. */
export async function deliveryExists(db: Knex, id: string): Promise<boolean> {
  return !!(await WebhookDelivery.query(db).findById(id).select('id'));
}

/** The delivery's attempts, oldest first. */
export async function deliveryAttempts(db: Knex, deliveryId: string): Promise<WebhookAttempt[]> {
  return WebhookAttempt.query(db).where({ delivery_id: deliveryId }).orderBy('id');
}

/** The merchant's failed deliveries created at or after `since`: at most 1000, in no particular order. */
export async function failedDeliveriesSince(db: Knex, merchantId: string, since: Date): Promise<WebhookDelivery[]> {
  return WebhookDelivery.query(db)
    .where({ merchant_id: merchantId, status: 'failed' })
    .where('created_at', '>=', since)
    .limit(1000);
}

/** Puts a closed delivery back to `pending` with its last error cleared, for its schedule to run again. */
export async function reopenDelivery(db: Knex, id: string): Promise<void> {
  await WebhookDelivery.query(db).patch({ status: 'pending', last_error: null, updated_at: new Date() }).findById(id);
}

/** Cancels the delivery for `reason` (its endpoint is gone); returns it as updated. */
export async function cancelDelivery(db: Knex, id: string, reason: string): Promise<WebhookDelivery> {
  return WebhookDelivery.query(db).patchAndFetchById(id, {
    status: 'canceled',
    last_error: reason,
    updated_at: new Date(),
  });
}

/** Closes the delivery as `status` for `reason` if it is still pending (else leaves it as it is). */
export async function closePendingDelivery(
  db: Knex,
  id: string,
  status: 'failed' | 'canceled',
  reason: string,
): Promise<void> {
  await WebhookDelivery.query(db)
    .patch({ status, last_error: reason, next_attempt_at: null, updated_at: new Date() })
    .findById(id)
    .where({ status: 'pending' });
}

/** Records when the delivery's next attempt is due (for people; the workflow's timer is what waits). */
export async function setNextAttemptAt(db: Knex, id: string, at: Date): Promise<void> {
  await WebhookDelivery.query(db).patch({ next_attempt_at: at }).findById(id);
}

export interface AttemptRecord {
  delivery: WebhookDelivery;
  url: string;
  /** The HTTP status answered; null when there was no answer. */
  statusCode: number | null;
  durationMs: number;
  responseSnippet: string | null;
  error: string | null;
  /** A 2xx answer: the delivery succeeded. */
  delivered: boolean;
  at: Date;
  /** The merchant whose endpoint was called; null for a delivery to a URL of its own. */
  endpointMerchantId: string | null;
}

/**
 * In one transaction: logs the attempt, counts it on its delivery (succeeded on a 2xx, else still pending; no
 * next attempt scheduled yet) and, for a merchant's endpoint, clears or keeps when it started failing. Returns
 * that time (null: not failing, or not the merchant's endpoint).
 */
export async function recordAttempt(db: Knex, a: AttemptRecord): Promise<Date | null> {
  return db.transaction(async (trx) => {
    await WebhookAttempt.query(trx).insert({
      delivery_id: a.delivery.id,
      url: a.url,
      status_code: a.statusCode,
      duration_ms: a.durationMs,
      response_snippet: a.responseSnippet,
      error: a.error,
    });
    await WebhookDelivery.query(trx)
      .patch({
        attempts: a.delivery.attempts + 1,
        last_status_code: a.statusCode,
        last_error: a.error,
        status: a.delivered ? 'succeeded' : 'pending',
        delivered_at: a.delivered ? a.at : null,
        // The attempt that was due has been made; the workflow records the next one when it schedules it.
        next_attempt_at: null,
        updated_at: a.at,
      })
      .findById(a.delivery.id);
    if (!a.endpointMerchantId) return null;
    const [row] = await trx('merchants')
      .where({ id: a.endpointMerchantId })
      .update({ webhook_failing_since: a.delivered ? null : trx.raw('coalesce(webhook_failing_since, ?)', [a.at]) })
      .returning('webhook_failing_since');
    return row.webhook_failing_since as Date | null;
  });
}

/** The event, or undefined when there is none with this id. */
export async function findEvent(db: Knex, id: string): Promise<MerchantEvent | undefined> {
  return MerchantEvent.query(db).findById(id);
}

/** The intent's events, oldest first. */
export async function intentEvents(db: Knex, intentId: string): Promise<MerchantEvent[]> {
  return MerchantEvent.query(db).where({ intent_id: intentId }).orderBy('created_at');
}

/** The deliveries of these events (at most one each), in no particular order. */
export async function eventDeliveries(db: Knex, eventIds: string[]): Promise<WebhookDelivery[]> {
  return WebhookDelivery.query(db).whereIn('event_id', eventIds);
}
