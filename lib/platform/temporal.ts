import { InterceptingCall, ListenerBuilder, type Interceptor } from '@grpc/grpc-js';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import type { Config } from './config.js';

/**
 * Counts each call from its start to its final status, retries included. The client retries an unanswered
 * call on timers of its own, which outlive the request that made it (and cancelling the request does not
 * stop a retry already waiting): one that fires after the channel closed throws where no caller can catch it.
 */
function trackCalls(inFlight: Set<Promise<void>>): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        let settle!: () => void;
        const settled = new Promise<void>((resolve) => (settle = resolve));
        inFlight.add(settled);
        void settled.then(() => inFlight.delete(settled));
        next(
          metadata,
          new ListenerBuilder()
            .withOnReceiveStatus((status, forward) => {
              settle();
              forward(status);
            })
            .build(),
        );
      },
    });
}

/** The SDK's longest wait between two retries of a call (5 s, plus 20 % jitter). */
const LONGEST_RETRY_WAIT_MS = 6_000;

/**
 * A client connection whose `drain()` stops retries and waits until every call made through it has ended, or
 * until any retry already waiting has fired (`LONGEST_RETRY_WAIT_MS`): close the connection only after it.
 */
export async function connectTemporal(
  config: Config,
): Promise<{ connection: Connection; client: Client; drain(): Promise<void> }> {
  const inFlight = new Set<Promise<void>>();
  const retry = defaultGrpcRetryOptions();
  let draining = false;
  const connection = await Connection.connect({
    address: config.temporal.address,
    // The SDK's own retries, stopped once draining; the outermost interceptor sees a call end after them.
    interceptors: [
      trackCalls(inFlight),
      makeGrpcRetryInterceptor({
        ...retry,
        retryableDecider: (attempt, status) => !draining && retry.retryableDecider(attempt, status),
      }),
    ],
  });
  return {
    connection,
    client: new Client({ connection, namespace: config.temporal.namespace }),
    async drain() {
      draining = true;
      const ended = (async () => {
        while (inFlight.size) await Promise.allSettled([...inFlight]);
      })();
      await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, LONGEST_RETRY_WAIT_MS).unref())]);
    },
  };
}

/** Deep link into the Temporal Web UI for one workflow. */
export function workflowUrl(config: Config, workflowId: string): string {
  return `${config.temporal.uiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/** Deep link into the Temporal Web UI for one schedule. */
export function scheduleUrl(config: Config, scheduleId: string): string {
  return `${config.temporal.uiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}/schedules/${encodeURIComponent(scheduleId)}`;
}
