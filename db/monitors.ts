/** Price monitors' SQL: the monitors, their check history and their alerts. */
import type { Knex } from 'knex';
import type { AnyQueryBuilder, QueryBuilder } from 'objection';
import { firstDue, nextDue } from '../lib/monitors/due.js';
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
  | 'task_queue'
> &
  /** The creating request's Idempotency-Key id (api/idempotency.ts), if it had one. */
  Partial<Pick<Monitor, 'idempotency_key_id'>>;

/**
 * Stores a monitor, due first in the second half of its first interval (lib/monitors/due), and returns its row
 * (defaults filled in) with `created: true`. With an `idempotency_key_id` that a monitor already carries (an earlier
 * attempt of the same request stored it), that monitor comes back with `created: false`, and nothing is written.
 */
export async function createMonitor(db: Knex, monitor: NewMonitor): Promise<{ monitor: Monitor; created: boolean }> {
  const { row, created } = await createOncePerKey(
    monitor.idempotency_key_id,
    async (keyId) => Monitor.query(db).findOne({ idempotency_key_id: keyId }),
    async () =>
      Monitor.query(db)
        .insert({ ...monitor, next_check_at: firstDue(new Date(), monitor.interval_s) })
        .returning('*'),
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
 * crossing alerts again. A new interval, or resuming a paused monitor, starts its grid again from now
 * (lib/monitors/due: the next check within the interval); pausing keeps the grid, and no dispatcher claims it.
 * Undefined when there is no such monitor (or it is deleted).
 */
export function updateMonitor(db: Knex, id: string, changes: MonitorChanges): Promise<Monitor | undefined> {
  return db.transaction(async (trx) => {
    // Locked, so that concurrent changes (and a dispatcher recording a check) apply in one order.
    const monitor = await Monitor.query(trx).findById(id).whereNull('deleted_at').forUpdate();
    if (!monitor) return undefined;
    const interval = changes.interval_s ?? monitor.interval_s;
    const restart = interval !== monitor.interval_s || (monitor.paused && changes.paused === false);
    return Monitor.query(trx).patchAndFetchById(id, {
      ...(changes.target_price !== undefined ? { target_price: changes.target_price, below_target: false } : {}),
      ...(changes.interval_s !== undefined ? { interval_s: changes.interval_s } : {}),
      ...(changes.selector !== undefined ? { selector: changes.selector } : {}),
      ...(changes.json_path !== undefined ? { json_path: changes.json_path } : {}),
      ...(changes.notify_webhook !== undefined ? { notify_webhook: changes.notify_webhook } : {}),
      ...(changes.paused !== undefined ? { paused: changes.paused } : {}),
      // A claim on the old grid (a check under way, or a dead dispatcher's) must not hold the new one back.
      ...(restart ? { next_check_at: firstDue(new Date(), interval), claimed_by: null, claimed_until: null } : {}),
      updated_at: new Date(),
    });
  });
}

/** Marks the monitor deleted (and paused): no dispatcher claims it again, and its checks and alerts stay. */
export async function deleteMonitor(db: Knex, id: string): Promise<void> {
  await Monitor.query(db).patch({ deleted_at: new Date(), paused: true }).findById(id);
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

/** One finished check of a monitor, keyed by `checkId`. */
export interface CheckRecord {
  monitorId: string;
  /** Unique per check: a check-now workflow's id, or the monitor's slot (contracts/monitors `slotCheckId`). */
  checkId: string;
  /** The slot the check was due at (ISO 8601); a check-now's start. */
  scheduledAt: string | null;
  /** The workflow run that made the check. */
  workflowId: string;
  runId: string;
  /**
   * A dispatcher's check of the slot `scheduledAt`, by this claimant: recording it moves the monitor's grid past the
   * slot (unless the monitor was re-timed or resumed meanwhile) and gives the claim back.
   */
  claimant?: string;
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

/** What recording one check did: the monitor (as it was locked), the alert it raised, the webhook delivery to start. */
export interface RecordedCheck {
  monitor: Monitor;
  alert: PriceAlert | null;
  deliveryId: string | null;
}

/** A monitor's state as a batch of checks leaves it (the last check's outcome; the last good price). */
interface MonitorAfter {
  last_outcome: CheckOutcome;
  last_error: string | null;
  priced: boolean;
  last_price: number | null;
  last_currency: string | null;
  last_availability: string | null;
  below_target: boolean;
  next_check_at: Date;
  release: boolean;
}

/**
 * Stores checks and what they mean, in one transaction: each a history row; each monitor's latest state (and, for a
 * dispatcher's check, its next slot and its claim given back); and for a price that first reaches the target, an
 * alert (plus, for a merchant monitor with a webhook, an event and a pending webhook delivery row). Keyed by
 * `checkId`, so a retry changes nothing and answers with the delivery the first try created. Checks of one monitor
 * apply in the order given. The answer has one entry per input, null where the monitor is gone (deleted).
 */
export function recordPriceChecks(db: Knex, inputs: CheckRecord[]): Promise<(RecordedCheck | null)[]> {
  if (!inputs.length) return Promise.resolve([]);
  return db.transaction(async (trx) => {
    // Locked in id order, so that concurrent batches never wait on each other in a cycle.
    const ids = [...new Set(inputs.map((i) => i.monitorId))].sort();
    const monitors = new Map(
      (await Monitor.query(trx).whereIn('id', ids).orderBy('id').forUpdate()).map((m) => [m.id, m]),
    );
    const live = (i: CheckRecord) => {
      const m = monitors.get(i.monitorId);
      return m && !m.deleted_at ? m : undefined;
    };
    const rows = [...new Map(inputs.filter(live).map((i) => [i.checkId, i])).values()].map((i) => ({
      monitor_id: i.monitorId,
      check_id: i.checkId,
      outcome: i.result.outcome,
      price: i.result.price ?? null,
      currency: i.result.currency ?? null,
      availability: i.result.availability ?? null,
      source: i.result.source ?? null,
      http_status: i.result.http_status ?? null,
      error: i.result.error ?? null,
      attempts: i.result.attempts,
      scheduled_at: i.scheduledAt,
      workflow_id: i.workflowId,
      run_id: i.runId,
    }));
    const inserted: { id: string; check_id: string }[] = rows.length
      ? await trx('price_checks').insert(rows).onConflict('check_id').ignore().returning(['id', 'check_id'])
      : [];
    const fresh = new Map(inserted.map((r) => [r.check_id, Number(r.id)]));
    const repeated = rows.map((r) => r.check_id).filter((id) => !fresh.has(id));
    const earlierDeliveries = new Map<string, string | null>(
      repeated.length
        ? (
            await trx('monitor_alerts')
              .join('price_checks', 'price_checks.id', 'monitor_alerts.check_id')
              .whereIn('price_checks.check_id', repeated)
              .select('price_checks.check_id', 'monitor_alerts.delivery_id')
          ).map((r) => [r.check_id as string, r.delivery_id as string | null])
        : [],
    );

    const now = new Date();
    const after = new Map<string, MonitorAfter>();
    const answers: (RecordedCheck | null)[] = [];
    for (const input of inputs) {
      const monitor = live(input);
      if (!monitor) {
        answers.push(null);
        continue;
      }
      const checkRowId = fresh.get(input.checkId);
      // A retried recording, or the same check twice in this batch: what the first one did stands.
      if (checkRowId === undefined) {
        answers.push({ monitor, alert: null, deliveryId: earlierDeliveries.get(input.checkId) ?? null });
        continue;
      }
      fresh.delete(input.checkId);
      const { result } = input;
      const state = after.get(monitor.id) ?? {
        last_outcome: result.outcome,
        last_error: null,
        priced: false,
        last_price: null,
        last_currency: null,
        last_availability: null,
        below_target: monitor.below_target,
        next_check_at: monitor.next_check_at,
        release: false,
      };
      after.set(monitor.id, state);
      const ok = result.outcome === 'ok';
      const wasBelow = state.below_target;
      Object.assign(state, {
        last_outcome: result.outcome,
        last_error: result.error ?? null,
        ...(ok
          ? {
              priced: true,
              last_price: result.price!,
              last_currency: result.currency ?? null,
              last_availability: result.availability ?? null,
              below_target: result.price! <= monitor.target_price,
            }
          : {}),
      });
      if (input.claimant) {
        // Re-timed or resumed while this check ran: the grid the owner asked for stands.
        if (state.next_check_at.getTime() === Date.parse(input.scheduledAt!))
          state.next_check_at = nextDue(state.next_check_at, monitor.interval_s, now);
        if (monitor.claimed_by === input.claimant) state.release = true;
      }
      // Only the crossing alerts: at or below target now, above (or never seen) before.
      if (!ok || !state.below_target || wasBelow) {
        answers.push({ monitor, alert: null, deliveryId: null });
        continue;
      }
      const alert: PriceAlert = {
        monitor_id: monitor.id,
        check_id: checkRowId,
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
      answers.push({ monitor, alert, deliveryId });
    }
    if (after.size)
      await trx.raw(
        `UPDATE monitors m SET
           last_outcome = v.last_outcome, last_error = v.last_error, last_checked_at = now(),
           last_price = CASE WHEN v.priced THEN v.last_price ELSE m.last_price END,
           last_currency = CASE WHEN v.priced THEN v.last_currency ELSE m.last_currency END,
           last_availability = CASE WHEN v.priced THEN v.last_availability ELSE m.last_availability END,
           below_target = v.below_target, next_check_at = v.next_check_at,
           claimed_by = CASE WHEN v.release THEN NULL ELSE m.claimed_by END,
           claimed_until = CASE WHEN v.release THEN NULL ELSE m.claimed_until END
         FROM jsonb_to_recordset(?::jsonb) AS v(id uuid, last_outcome text, last_error text, priced boolean,
           last_price numeric, last_currency text, last_availability text, below_target boolean,
           next_check_at timestamptz, release boolean)
         WHERE m.id = v.id`,
        [JSON.stringify([...after].map(([id, state]) => ({ id, ...state })))],
      );
    return answers;
  });
}

/** A monitor a dispatcher holds: what checking it needs, and the slot it is due at. */
export type DueMonitor = Pick<
  Monitor,
  'id' | 'url' | 'selector' | 'json_path' | 'currency' | 'interval_s' | 'next_check_at'
>;

const DUE_COLUMNS = 'm.id, m.url, m.selector, m.json_path, m.currency, m.interval_s, m.next_check_at';

/** A claim's end, `holdMs` from the database's now. */
const holdEnd = (holdMs: number) => `now() + make_interval(secs => ${Number(holdMs) / 1000})`;

/**
 * Claims up to `limit` monitors of `taskQueue` that are due within `aheadMs` (live, not paused, no claim holding
 * them), soonest first, for `claimant`, for `holdMs`: until it records their checks (which gives the claim back) or
 * releases them, no other dispatcher takes them. Rows another transaction has locked are skipped, not waited for,
 * so dispatchers running at once share the due monitors.
 */
export async function claimDueMonitors(
  db: Knex,
  opts: { taskQueue: string; claimant: string; aheadMs: number; holdMs: number; limit: number },
): Promise<DueMonitor[]> {
  const { rows } = await db.raw(
    `UPDATE monitors m SET claimed_by = :claimant, claimed_until = ${holdEnd(opts.holdMs)}
     FROM (SELECT id FROM monitors
           WHERE task_queue = :taskQueue AND NOT paused AND deleted_at IS NULL
             AND next_check_at <= now() + make_interval(secs => :aheadS)
             AND (claimed_until IS NULL OR claimed_until < now())
           ORDER BY next_check_at LIMIT :limit
           FOR UPDATE SKIP LOCKED) due
     WHERE m.id = due.id
     RETURNING ${DUE_COLUMNS}`,
    { claimant: opts.claimant, taskQueue: opts.taskQueue, aheadS: opts.aheadMs / 1000, limit: opts.limit },
  );
  return rows as DueMonitor[];
}

/**
 * The monitors `claimant` still holds (live, not paused), their claims renewed for `holdMs`: what an earlier attempt
 * of the same dispatcher activity claimed and did not record before its worker went away.
 */
export async function reclaimMonitors(db: Knex, claimant: string, holdMs: number): Promise<DueMonitor[]> {
  const { rows } = await db.raw(
    `UPDATE monitors m SET claimed_until = ${holdEnd(holdMs)}
     WHERE claimed_by = :claimant AND NOT paused AND deleted_at IS NULL
     RETURNING ${DUE_COLUMNS}`,
    { claimant },
  );
  return rows as DueMonitor[];
}

/** Gives back `claimant`'s claims on `ids` without a check: due still, the next dispatcher takes them. */
export async function releaseMonitors(db: Knex, claimant: string, ids: string[]): Promise<void> {
  await Monitor.query(db)
    .patch({ claimed_by: null, claimed_until: null })
    .where({ claimed_by: claimant })
    .whereIn('id', ids);
}

/** Up to `limit` ids of monitors created before dispatchers, which no task queue checks yet. */
export async function monitorsWithoutQueue(db: Knex, limit: number): Promise<string[]> {
  const rows = await Monitor.query(db).whereNull('task_queue').limit(limit).select('id');
  return rows.map((r) => r.id);
}

/** Hands monitors created before dispatchers to `taskQueue`'s dispatcher (those no queue checks yet). */
export async function adoptMonitors(db: Knex, ids: string[], taskQueue: string): Promise<void> {
  await Monitor.query(db).patch({ task_queue: taskQueue }).whereIn('id', ids).whereNull('task_queue');
}
