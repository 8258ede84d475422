/** Price monitors' SQL: the monitors, their check history and their alerts. */
import type { Knex } from 'knex';
import type { AnyQueryBuilder, QueryBuilder } from 'objection';
import { newId } from '../lib/platform/ids.js';
import type { CheckResult } from '../workflows/contracts/monitors.js';
import { createOncePerKey } from './idempotency.js';
import { Monitor, MonitorAlert, PriceCheck, type CheckOutcome } from './models/Monitor.js';

export { checkOutcomes, type CheckOutcome } from './models/Monitor.js';

/** Who may see a monitor (`merchantId`: only that merchant's), and whether deleted ones count. */
export interface MonitorScope {
  merchantId?: string;
  includeDeleted?: boolean;
}

/** The monitor, or undefined when there is none in the scope (by default: any owner, not deleted). */
export async function findMonitor(
  db: Knex,
  id: string,
  { merchantId, includeDeleted = false }: MonitorScope = {},
): Promise<Monitor | undefined> {
  const q = Monitor.query(db).findById(id);
  if (merchantId) q.where({ merchant_id: merchantId });
  if (!includeDeleted) q.whereNull('deleted_at');
  return q;
}

/** A monitor's fields as its creator gives them; the rest (id, state, timestamps) are the table's defaults. */
export type NewMonitor = Pick<
  Monitor,
  | 'merchant_id'
  | 'user_id'
  | 'url'
  | 'target_price'
  | 'currency'
  | 'interval_s'
  | 'selector'
  | 'json_path'
  | 'notify_webhook'
> &
  /** The creating request's Idempotency-Key id (api/idempotency.ts), if it had one. */
  Partial<Pick<Monitor, 'idempotency_key_id'>>;

/**
 * Stores a monitor and returns its row (defaults filled in) with `created: true`. `beforeCommit` runs inside the
 * transaction: when it throws, nothing is stored and its error propagates. With an `idempotency_key_id` that a
 * monitor already carries (an earlier attempt of the same request stored it), that monitor comes back with
 * `created: false`, and nothing is written.
 */
export async function createMonitor(
  db: Knex,
  monitor: NewMonitor,
  beforeCommit: (created: Monitor) => Promise<void>,
): Promise<{ monitor: Monitor; created: boolean }> {
  const { row, created } = await createOncePerKey(
    monitor.idempotency_key_id,
    async (keyId) => Monitor.query(db).findOne({ idempotency_key_id: keyId }),
    () =>
      db.transaction(async (trx) => {
        const stored = await Monitor.query(trx).insertAndFetch(monitor);
        await beforeCommit(stored);
        return stored;
      }),
  );
  return { monitor: row, created };
}

/** Filters of the monitor list; all optional. */
export interface MonitorFilter {
  merchantId?: string;
  outcome?: CheckOutcome;
  paused?: boolean;
}

/** The query (not yet run) for the live monitors matching `filter`, for the caller to page through. */
export function monitorListQuery(db: Knex, { merchantId, outcome, paused }: MonitorFilter): QueryBuilder<Monitor> {
  const q = Monitor.query(db).whereNull('deleted_at');
  if (merchantId) q.where({ merchant_id: merchantId });
  if (outcome) q.where({ last_outcome: outcome });
  if (paused !== undefined) q.where({ paused });
  return q;
}

/** What a monitor's owner may change; an absent (undefined) field stays as it is. */
export type MonitorChanges = Partial<
  Pick<Monitor, 'target_price' | 'interval_s' | 'selector' | 'json_path' | 'notify_webhook' | 'paused'>
>;

/**
 * Applies `changes` and returns the changed row; a new target price clears `below_target`, so the next
 * crossing alerts again. `beforeCommit` runs with the row locked, inside the transaction: when it throws,
 * nothing changes and its error propagates.
 */
export function updateMonitor(
  db: Knex,
  id: string,
  changes: MonitorChanges,
  beforeCommit: () => Promise<void>,
): Promise<Monitor> {
  return db.transaction(async (trx) => {
    // Locked, so concurrent changes apply to the row and the schedule in the same order.
    await Monitor.query(trx).findById(id).forUpdate();
    const changed = await Monitor.query(trx).patchAndFetchById(id, {
      ...(changes.target_price !== undefined ? { target_price: changes.target_price, below_target: false } : {}),
      ...(changes.interval_s !== undefined ? { interval_s: changes.interval_s } : {}),
      ...(changes.selector !== undefined ? { selector: changes.selector } : {}),
      ...(changes.json_path !== undefined ? { json_path: changes.json_path } : {}),
      ...(changes.notify_webhook !== undefined ? { notify_webhook: changes.notify_webhook } : {}),
      ...(changes.paused !== undefined ? { paused: changes.paused } : {}),
      updated_at: new Date(),
    });
    await beforeCommit();
    return changed;
  });
}

/**
 * Marks the monitor deleted (and paused); its checks and alerts stay. `beforeCommit` runs inside the
 * transaction: when it throws, nothing changes and its error propagates.
 */
export async function deleteMonitor(db: Knex, id: string, beforeCommit: () => Promise<void>): Promise<void> {
  await db.transaction(async (trx) => {
    await Monitor.query(trx).patch({ deleted_at: new Date(), paused: true }).findById(id);
    await beforeCommit();
  });
}

/** The monitor's latest `limit` alerts, newest first. */
export async function recentAlerts(db: Knex, monitorId: string, limit: number): Promise<MonitorAlert[]> {
  return MonitorAlert.query(db).where({ monitor_id: monitorId }).orderBy('id', 'desc').limit(limit);
}

/** The check stored by the workflow with this id, or undefined when it stored none. */
export async function findCheck(db: Knex, checkId: string): Promise<PriceCheck | undefined> {
  return PriceCheck.query(db).findOne({ check_id: checkId });
}

/** A half-open time range; either end may be open. */
export interface TimeRange {
  from?: Date;
  to?: Date;
}

/**
 * The monitor's checks (failures too; at most `maxChecks`, the latest ones, `truncated` when there were
 * more) and alerts in `range`, each oldest first.
 */
export async function monitorHistory(
  db: Knex,
  monitorId: string,
  range: TimeRange,
  maxChecks: number,
): Promise<{ checks: PriceCheck[]; alerts: MonitorAlert[]; truncated: boolean }> {
  const inRange = (column: string) => (b: AnyQueryBuilder) => {
    if (range.from) b.where(column, '>=', range.from);
    if (range.to) b.where(column, '<', range.to);
  };
  const [checks, alerts] = await Promise.all([
    PriceCheck.query(db)
      .where({ monitor_id: monitorId })
      .modify(inRange('checked_at'))
      .orderBy('checked_at', 'desc')
      .limit(maxChecks + 1),
    MonitorAlert.query(db).where({ monitor_id: monitorId }).modify(inRange('created_at')).orderBy('created_at'),
  ]);
  return { checks: checks.slice(0, maxChecks).reverse(), alerts, truncated: checks.length > maxChecks };
}

/** One finished check of a monitor, keyed by its workflow id. */
export interface CheckRecord {
  monitorId: string;
  checkId: string;
  scheduledAt: string | null;
  result: CheckResult;
}

/** The alert a check raised: the price that reached the monitor's target. */
export interface PriceAlert {
  monitor_id: string;
  /** The price_checks row's id. */
  check_id: number;
  price: number;
  target_price: number;
  currency: string;
}

/**
 * Stores one check and what it means, in one transaction: the history row, the monitor's latest
 * state, and — when the price first reaches the target — an alert (plus, for a merchant monitor with a
 * webhook, an event and a pending webhook delivery row). Keyed by the check's workflow id, so a retry
 * changes nothing: it answers with the delivery the first try created. Null when the monitor is gone.
 */
export function recordPriceCheck(
  db: Knex,
  input: CheckRecord,
): Promise<{ monitor: Monitor; alert: PriceAlert | null; deliveryId: string | null } | null> {
  const { result } = input;
  return db.transaction(async (trx) => {
    const monitor = await Monitor.query(trx).findById(input.monitorId).forUpdate();
    // Deleted while this check ran: nothing more to record or alert.
    if (!monitor || monitor.deleted_at) return null;
    const [check] = await trx('price_checks')
      .insert({
        monitor_id: monitor.id,
        check_id: input.checkId,
        outcome: result.outcome,
        price: result.price ?? null,
        currency: result.currency ?? null,
        availability: result.availability ?? null,
        source: result.source ?? null,
        http_status: result.http_status ?? null,
        error: result.error ?? null,
        attempts: result.attempts,
        scheduled_at: input.scheduledAt,
      })
      .onConflict('check_id')
      .ignore()
      .returning('id');
    if (!check) {
      const existing = await trx('monitor_alerts')
        .join('price_checks', 'price_checks.id', 'monitor_alerts.check_id')
        .where('price_checks.check_id', input.checkId)
        .first('monitor_alerts.delivery_id');
      return { monitor, alert: null, deliveryId: (existing?.delivery_id as string | undefined) ?? null };
    }
    const ok = result.outcome === 'ok';
    const below = ok ? result.price! <= monitor.target_price : monitor.below_target;
    await Monitor.query(trx)
      .patch({
        last_outcome: result.outcome,
        last_error: result.error ?? null,
        last_checked_at: new Date(),
        ...(ok
          ? {
              last_price: result.price!,
              last_currency: result.currency ?? null,
              last_availability: result.availability ?? null,
            }
          : {}),
        below_target: below,
      })
      .findById(monitor.id);
    // Only the crossing alerts: at or below target now, above (or never seen) before.
    if (!ok || !below || monitor.below_target) return { monitor, alert: null, deliveryId: null };
    const alert: PriceAlert = {
      monitor_id: monitor.id,
      check_id: Number(check.id),
      price: result.price!,
      target_price: monitor.target_price,
      currency: result.currency ?? monitor.currency,
    };
    let deliveryId: string | null = null;
    if (monitor.notify_webhook && monitor.merchant_id) {
      const eventId = newId('evt');
      await trx('events').insert({
        id: eventId,
        merchant_id: monitor.merchant_id,
        type: 'monitor.price_alert',
        monitor_id: monitor.id,
        payload: { ...alert, url: monitor.url },
      });
      [{ id: deliveryId }] = await trx('webhook_deliveries')
        .insert({
          event_id: eventId,
          merchant_id: monitor.merchant_id,
          url: monitor.notify_webhook,
          status: 'pending',
        })
        .returning('id');
    }
    await trx('monitor_alerts').insert({ ...alert, delivery_id: deliveryId });
    return { monitor, alert, deliveryId };
  });
}
