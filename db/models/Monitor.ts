import { Model } from 'objection';

export const checkOutcomes = [
  'ok',
  'ambiguous',
  'not_found',
  'currency_mismatch',
  'http_error',
  'network_error',
  'blocked',
  'circuit_open',
  /** The host asked us to wait (429, 503 with Retry-After): the answer that asked, and checks skipped meanwhile. */
  'throttled',
] as const;
export type CheckOutcome = (typeof checkOutcomes)[number];

/** numeric columns arrive from pg as strings; the API speaks numbers. */
const decimal = (v: unknown) => (v === null || v === undefined ? null : Number(v));

export class Monitor extends Model {
  static tableName = 'monitors';
  id!: string;
  merchant_id!: string | null;
  user_id!: string | null;
  url!: string;
  target_price!: number;
  currency!: string;
  interval_s!: number;
  selector!: string | null;
  json_path!: string | null;
  notify_webhook!: string | null;
  paused!: boolean;
  below_target!: boolean;
  last_outcome!: CheckOutcome | null;
  last_price!: number | null;
  last_currency!: string | null;
  last_availability!: string | null;
  last_error!: string | null;
  last_checked_at!: Date | null;
  /** The next slot of the monitor's grid (lib/monitors/due); a paused or deleted monitor is not checked at it. */
  next_check_at!: Date;
  /** The task queue whose dispatcher checks it (the API's); null: from before dispatchers, not yet taken over. */
  task_queue!: string | null;
  /** The dispatcher activity checking it (its claim), and until when the claim holds if that activity goes silent. */
  claimed_by!: string | null;
  claimed_until!: Date | null;
  deleted_at!: Date | null;
  /** The Idempotency-Key (its row's id) of the request that created it, if it had one: one monitor per key. */
  idempotency_key_id!: string | null;
  created_at!: Date;
  updated_at!: Date;

  $parseDatabaseJson(json: Record<string, unknown>) {
    const row = super.$parseDatabaseJson(json);
    return { ...row, target_price: decimal(row.target_price), last_price: decimal(row.last_price) };
  }
}

export class PriceCheck extends Model {
  static tableName = 'price_checks';
  id!: number;
  monitor_id!: string;
  check_id!: string;
  outcome!: CheckOutcome;
  price!: number | null;
  currency!: string | null;
  availability!: string | null;
  source!: string | null;
  http_status!: number | null;
  error!: string | null;
  attempts!: number;
  scheduled_at!: Date | null;
  /** The workflow run that made the check (a dispatcher's, or a check now): for links into the Temporal Web UI. */
  workflow_id!: string | null;
  run_id!: string | null;
  checked_at!: Date;

  $parseDatabaseJson(json: Record<string, unknown>) {
    const row = super.$parseDatabaseJson(json);
    return { ...row, id: Number(row.id), price: decimal(row.price) };
  }
}

export class MonitorAlert extends Model {
  static tableName = 'monitor_alerts';
  id!: number;
  monitor_id!: string;
  check_id!: number;
  price!: number;
  target_price!: number;
  currency!: string | null;
  delivery_id!: string | null;
  created_at!: Date;

  $parseDatabaseJson(json: Record<string, unknown>) {
    const row = super.$parseDatabaseJson(json);
    return {
      ...row,
      id: Number(row.id),
      check_id: Number(row.check_id),
      price: decimal(row.price),
      target_price: decimal(row.target_price),
    };
  }
}
