/** Temporal server health and worker presence, for the API's readiness check. */
import type { Connection } from '@temporalio/client';
import { optionalTsToMs } from '@temporalio/common/lib/time.js';

/**
 * Resolves with the Temporal server's health answer; rejects when none comes within `timeoutMs` (ms).
 * Until then the connection retries on timers of its own, so whoever closes it must first await pings in flight.
 */
export function checkTemporalHealth(connection: Connection, timeoutMs: number): Promise<unknown> {
  return connection.withDeadline(Date.now() + timeoutMs, () => connection.healthService.check({}));
}

/**
 * How recently a worker must have polled to count as present (ms). The server stamps a poller when each long
 * poll starts and when it ends, and an idle poll lasts up to a minute, so a live idle worker is seen at least
 * once a minute (measured: ≤ 60 s against the dev server); 10 s more absorbs pauses. A worker killed
 * without warning is stamped when its connection drops, so it counts as gone this long afterwards.
 */
export const WORKER_SEEN_WITHIN_MS = 70_000;

type TaskQueueType = NonNullable<Parameters<Connection['workflowService']['describeTaskQueue']>[0]['taskQueueType']>;
/** temporal.api.enums.v1.TaskQueueType: a Meridian worker polls both kinds, and either missing stalls work. */
const taskQueueTypes = [
  ['workflow', 1 as TaskQueueType],
  ['activity', 2 as TaskQueueType],
] as const;

/**
 * Resolves when some worker polled `taskQueue` for workflow tasks and for activity tasks within
 * WORKER_SEEN_WITHIN_MS (the server's `DescribeTaskQueue` pollers and their `lastAccessTime`); rejects naming
 * the kind nobody polls, or when the server does not answer within `timeoutMs` (ms). Like
 * checkTemporalHealth, whoever closes the connection must first await checks in flight.
 */
export function checkWorkersPolling(
  connection: Connection,
  namespace: string,
  taskQueue: string,
  timeoutMs: number,
): Promise<void> {
  return connection.withDeadline(Date.now() + timeoutMs, async () => {
    const described = await Promise.all(
      taskQueueTypes.map(async ([kind, taskQueueType]) => {
        const { pollers } = await connection.workflowService.describeTaskQueue({
          namespace,
          taskQueue: { name: taskQueue },
          taskQueueType,
        });
        const latest = Math.max(0, ...(pollers ?? []).map((p) => optionalTsToMs(p.lastAccessTime) ?? 0));
        return { kind, seen: Date.now() - latest <= WORKER_SEEN_WITHIN_MS };
      }),
    );
    const missing = described.filter((d) => !d.seen).map((d) => d.kind);
    if (missing.length)
      throw new Error(
        `no worker polled task queue '${taskQueue}' for ${missing.join(' or ')} tasks in the last ${WORKER_SEEN_WITHIN_MS / 1000} s`,
      );
  });
}
