/** What the console's overview counts across the features, and the recent history they already keep. */
import type { Knex } from 'knex';

/** A half-open span of time `[from, to)`: an operator's calendar day. */
export interface Span {
  from: Date;
  to: Date;
}

const countsBy = (rows: { key: string; n: string | number }[]) =>
  Object.fromEntries(rows.map((r) => [r.key, Number(r.n)])) as Record<string, number>;

/** Payment intents created within `span`, per status (statuses with none are absent). */
export async function paymentCountsIn(db: Knex, span: Span): Promise<Record<string, number>> {
  const { rows } = await db.raw(
    `SELECT status AS key, count(*) AS n FROM payment_intents WHERE created_at >= ? AND created_at < ? GROUP BY status`,
    [span.from, span.to],
  );
  return countsBy(rows);
}

/** Deliveries given up on (`failed`), those still retrying after a failed attempt, and disabled endpoints. */
export async function webhookTrouble(
  db: Knex,
): Promise<{ failed: number; retrying: number; disabled_endpoints: number }> {
  const { rows } = await db.raw(
    `SELECT count(*) FILTER (WHERE status = 'failed') AS failed,
            count(*) FILTER (WHERE status = 'pending' AND attempts > 0) AS retrying,
            (SELECT count(*) FROM merchants WHERE webhook_disabled_at IS NOT NULL) AS disabled_endpoints
     FROM webhook_deliveries WHERE status IN ('failed', 'pending')`,
  );
  const [r] = rows;
  return { failed: Number(r.failed), retrying: Number(r.retrying), disabled_endpoints: Number(r.disabled_endpoints) };
}

/**
 * Monitors not deleted: running and paused ones, the running ones whose price is at or below target (alerting),
 * those whose last check failed, and how many run per page URL (the caller asks each host's breaker).
 */
export async function monitorCounts(db: Knex): Promise<{
  active: number;
  paused: number;
  alerting: number;
  failing: number;
  urls: { url: string; monitors: number }[];
}> {
  const [{ rows: counts }, { rows: urls }] = await Promise.all([
    db.raw(
      `SELECT count(*) FILTER (WHERE NOT paused) AS active, count(*) FILTER (WHERE paused) AS paused,
              count(*) FILTER (WHERE NOT paused AND below_target) AS alerting,
              count(*) FILTER (WHERE NOT paused AND last_outcome IS NOT NULL AND last_outcome <> 'ok') AS failing
       FROM monitors WHERE deleted_at IS NULL`,
    ),
    db.raw(
      `SELECT url, count(*) AS monitors FROM monitors WHERE deleted_at IS NULL AND NOT paused GROUP BY url ORDER BY url`,
    ),
  ]);
  const [c] = counts;
  return {
    active: Number(c.active),
    paused: Number(c.paused),
    alerting: Number(c.alerting),
    failing: Number(c.failing),
    urls: urls.map((u: { url: string; monitors: string }) => ({ url: u.url, monitors: Number(u.monitors) })),
  };
}

/** Appointments starting within `span`, per status (statuses with none are absent). */
export async function appointmentCountsIn(db: Knex, span: Span): Promise<Record<string, number>> {
  const { rows } = await db.raw(
    `SELECT status AS key, count(*) AS n FROM appointments WHERE starts_at >= ? AND starts_at < ? GROUP BY status`,
    [span.from, span.to],
  );
  return countsBy(rows);
}

/** Diagnosis chats still open. */
export async function openChatCount(db: Knex): Promise<number> {
  const { rows } = await db.raw(`SELECT count(*) AS n FROM diagnosis_sessions WHERE status = 'open'`);
  return Number(rows[0].n);
}

/** What a recent event is about, for a link to its page. */
export type TargetKind = 'payment' | 'monitor' | 'appointment' | 'diagnosis' | 'cot_run';

export interface RecentEvent {
  /** Unique across the sources: `<source>:<row id>`. */
  id: string;
  /** `payment_intent.succeeded`, `appointment.confirmed`, `monitor.price_alert`, `diagnosis.started`, … */
  type: string;
  occurred_at: Date;
  /** The thing's name as a person knows it (merchant and order, customer and workshop, page, vehicle). */
  label: string;
  target_kind: TargetKind;
  target_id: string;
}

/**
 * The newest `limit` entries of the histories the features keep, newest first: merchant events (payments), each
 * appointment's timeline, price alerts, diagnosis chats started, diagnosed and closed, and COT runs started and
 * finished — of the target kinds in `kinds` only. Each source is cut to `limit` before the merge, so every part reads
 * only its newest rows.
 */
export async function recentEvents(db: Knex, limit: number, kinds: readonly TargetKind[]): Promise<RecentEvent[]> {
  const vehicle = `coalesce(nullif(trim(concat_ws(' ', s.vehicle->>'make', s.vehicle->>'model', s.vehicle->>'year')), ''), 'A vehicle')`;
  const { rows } = await db.raw(
    `SELECT * FROM (
      (SELECT 'event:' || e.id AS id, e.type, e.created_at AS occurred_at,
              m.name || coalesce(' · order ' || pi.order_id, '') AS label, 'payment' AS target_kind, e.intent_id AS target_id
       FROM events e JOIN merchants m ON m.id = e.merchant_id LEFT JOIN payment_intents pi ON pi.id = e.intent_id
       -- Price alerts are listed from monitor_alerts, whether or not they were also sent as webhooks.
       WHERE e.intent_id IS NOT NULL
       ORDER BY e.created_at DESC LIMIT :limit)
      UNION ALL
      (SELECT 'appointment:' || ae.id, 'appointment.' || ae.type, ae.created_at,
              a.customer_name || ' · ' || w.name, 'appointment', a.id::text
       FROM appointment_events ae JOIN appointments a ON a.id = ae.appointment_id JOIN workshops w ON w.id = a.workshop_id
       ORDER BY ae.created_at DESC LIMIT :limit)
      UNION ALL
      (SELECT 'alert:' || ma.id, 'monitor.price_alert', ma.created_at, mo.url, 'monitor', mo.id::text
       FROM monitor_alerts ma JOIN monitors mo ON mo.id = ma.monitor_id
       ORDER BY ma.created_at DESC LIMIT :limit)
      UNION ALL
      (SELECT 'diagnosis:' || s.id, 'diagnosis.started', s.created_at, ${vehicle}, 'diagnosis', s.id::text
       FROM diagnosis_sessions s ORDER BY s.created_at DESC LIMIT :limit)
      UNION ALL
      (SELECT 'diagnosis-message:' || dm.id, 'diagnosis.diagnosed', dm.created_at, ${vehicle}, 'diagnosis', s.id::text
       FROM diagnosis_messages dm JOIN diagnosis_sessions s ON s.id = dm.session_id
       WHERE dm.kind = 'diagnosis' ORDER BY dm.created_at DESC LIMIT :limit)
      UNION ALL
      (SELECT 'diagnosis-closed:' || s.id, 'diagnosis.closed', s.closed_at, ${vehicle}, 'diagnosis', s.id::text
       FROM diagnosis_sessions s WHERE s.closed_at IS NOT NULL ORDER BY s.closed_at DESC LIMIT :limit)
      UNION ALL
      (SELECT 'cot-run:' || r.id, 'cot.ingestion_started', r.started_at, 'COT ingestion (' || r.trigger || ')', 'cot_run', r.id::text
       FROM cot_runs r ORDER BY r.started_at DESC LIMIT :limit)
      UNION ALL
      (SELECT 'cot-run-end:' || r.id, 'cot.ingestion_' || r.status, r.finished_at, 'COT ingestion (' || r.trigger || ')',
              'cot_run', r.id::text
       FROM cot_runs r WHERE r.finished_at IS NOT NULL ORDER BY r.finished_at DESC LIMIT :limit)
    ) recent WHERE target_kind = ANY(:kinds) ORDER BY occurred_at DESC, id DESC LIMIT :limit`,
    { limit, kinds: [...kinds] },
  );
  return rows;
}
