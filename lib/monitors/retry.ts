/** How a price check retries a network error or a 5xx (MONITOR_RETRY_INITIAL_MS, MONITOR_RETRY_ATTEMPTS). */

export interface CheckRetrySettings {
  /** One attempt's deadline, redirects included (MONITOR_FETCH_TIMEOUT_MS). */
  fetchTimeoutMs: number;
  retry: { initialMs: number; attempts: number };
}

/** The wait after failed attempt number `attempt` (1-based): the first wait, doubled for each attempt before. */
export const retryDelayMs = ({ retry }: CheckRetrySettings, attempt: number): number =>
  retry.initialMs * 2 ** (attempt - 1);

/**
 * The longest one check may take, in ms: every attempt to its deadline, the waits between them, and 30 s for the
 * rest (the shared host state in Redis, reading the page). A check's workflow or claim must outlast it.
 */
export function checkBudgetMs(settings: CheckRetrySettings): number {
  let waits = 0;
  for (let attempt = 1; attempt < settings.retry.attempts; attempt++) waits += retryDelayMs(settings, attempt);
  return settings.retry.attempts * settings.fetchTimeoutMs + waits + 30_000;
}
