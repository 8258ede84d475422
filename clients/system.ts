/** Temporal server health, for the API's readiness check. */
import type { Connection } from '@temporalio/client';

/**
 * Resolves with the Temporal server's health answer; rejects when none comes within `timeoutMs` (ms).
 * Until then the connection retries on timers of its own, so whoever closes it must first await pings in flight.
 */
export function checkTemporalHealth(connection: Connection, timeoutMs: number): Promise<unknown> {
  return connection.withDeadline(Date.now() + timeoutMs, () => connection.healthService.check({}));
}
