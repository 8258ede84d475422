/** When a failed webhook delivery is attempted next: the retry schedule, the receiver's wish, and two bounds. */

/**
 * How much longer than the schedule's own next step a receiver's `Retry-After` may hold a delivery back:
 * a receiver may slow us down, but not park an event for days (`Retry-After: 2592000`).
 */
export const RETRY_AFTER_GRACE_S = 2 * 3600;

export interface NextWaitInput {
  /** The schedule's next step, in seconds, as configured (before jitter). */
  stepS: number;
  /** That step with jitter applied, in ms: the wait when nothing else applies. */
  scheduledMs: number;
  /** What the receiver asked for with `Retry-After` on its 429/503, in ms; null when it asked nothing. */
  retryAfterMs: number | null;
  /** How long the endpoint has been failing, in seconds; null for a URL that is never disabled. */
  failingForS: number | null;
  /** The endpoint is disabled once it has been failing this long, in seconds (`WEBHOOK_DISABLE_AFTER_S`). */
  disableAfterS: number;
}

/**
 * The wait in ms before the next attempt: the scheduled wait, or the receiver's `Retry-After` when longer,
 * that capped at the step plus `RETRY_AFTER_GRACE_S`; and never past the moment the endpoint would be
 * disabled (that attempt is its last chance), so nothing waits on an endpoint that will be off by then.
 */
export function nextAttemptWaitMs(input: NextWaitInput): number {
  const capMs = (input.stepS + RETRY_AFTER_GRACE_S) * 1000;
  const wantedMs = Math.max(input.scheduledMs, Math.min(input.retryAfterMs ?? 0, capMs));
  if (input.failingForS === null) return wantedMs;
  return Math.min(wantedMs, Math.max(0, (input.disableAfterS - input.failingForS) * 1000));
}
