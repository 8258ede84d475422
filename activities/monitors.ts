import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import {
  claimDueMonitors,
  findMonitor,
  reclaimMonitors,
  recordPriceChecks,
  releaseMonitors,
  type CheckRecord,
  type DueMonitor,
  type RecordedCheck,
} from '../db/monitors.js';
import type { Monitor } from '../db/models/Monitor.js';
import { CircuitBreaker } from '../lib/platform/circuitBreaker.js';
import { HostThrottle, type ThrottleState } from '../lib/platform/hostThrottle.js';
import { retryAfterMs } from '../lib/platform/retryAfter.js';
import { startDeliveryWorkflow } from '../clients/webhooks.js';
import { domainEvent, publish } from '../lib/platform/events.js';
import {
  assertAllowedUrl,
  BlockedAddressError,
  guardedAgent,
  outboundRequest,
  parseAllowList,
} from '../lib/platform/outbound.js';
import { HostGate } from '../lib/monitors/hostGate.js';
import { extractPrice } from '../lib/monitors/priceExtract.js';
import { checkBudgetMs, retryDelayMs } from '../lib/monitors/retry.js';
import { slotCheckId, type CheckResult, type DispatchSummary } from '../workflows/contracts/monitors.js';
import type { ActivityDeps } from './index.js';

/** Realistic desktop browsers, rotated per request: some shops answer bots with a different page. */
const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
];
let nextAgent = 0;

/** A dispatcher claims a batch at most this large at a time (more come at once when it was full). */
const CLAIM_LIMIT = 500;
/**
 * A lane holds at most this many claimed monitors not yet recorded. A worker that cannot keep up leaves the rest due
 * in PostgreSQL (late, for whichever lane or worker frees up first) instead of piling them up in its memory.
 */
const HELD_LIMIT = 1000;
/** Monitors are claimed this long before they fall due, so that their checks start on time. */
const CLAIM_AHEAD_MS = 1000;
/** How often a dispatcher looks for monitors newly due (created, resumed, re-timed, or given back). */
const POLL_MS = 500;
/** Heartbeats carry the summary so far; the heartbeat timeout (20 s, workflows/monitors.ts) notices a dead worker. */
const HEARTBEAT_MS = 2000;
/** Checks recorded per transaction at most, and the longest one waits for its batch. */
const RECORD_BATCH = 200;
const RECORD_WAIT_MS = 200;
/** A claim outlasts its window and its checks by this much before another dispatcher may take it. */
const HOLD_MARGIN_MS = 60_000;

/** An attempt that failed in a way worth retrying (a network error, a 5xx); its outcome once the attempts run out. */
class RetryableCheck extends Error {
  constructor(
    message: string,
    readonly outcome: 'network_error' | 'http_error',
    readonly httpStatus?: number,
  ) {
    super(message);
  }
}

/** What checking a page needs of its monitor. */
type PageToCheck = Pick<Monitor, 'url' | 'selector' | 'json_path' | 'currency'>;

/** Why a check did not reach its host: the host's own request to wait (lib/platform/hostThrottle). */
const waitAsked = (host: string, { until, reason }: ThrottleState) =>
  `${host} asked us to wait until ${until} (${reason})`;

export function monitorActivities({ config, db, redis, temporal }: ActivityDeps) {
  const allowList = parseAllowList(config.outboundAllowList);
  const agent = guardedAgent(allowList, { connections: 256 });
  const breaker = new CircuitBreaker(redis, config.monitors.breaker);
  const throttle = new HostThrottle(redis, config.monitors.throttle);
  const settings = config.monitors;
  // One per worker process: the dispatcher's checks and the checks asked for now queue at the same gate.
  const gate = new HostGate(settings.gate);
  const budgetMs = checkBudgetMs(settings);

  /**
   * One attempt: nothing is sent to a host that asked us to wait (throttled) or whose breaker is open; otherwise
   * the request waits for a place at the host's gate (`signal` may end that wait), then the answer is read.
   * Network errors and 5xx throw RetryableCheck (and count against the host's breaker, as 401 and 403 do);
   * everything else is the result. A host that answers 429, or 503 with Retry-After, is throttled for every monitor
   * on it: that answer and every check before the time it allowed are `throttled`.
   */
  async function attemptCheck(
    monitor: PageToCheck,
    url: URL,
    attempts: number,
    signal?: AbortSignal,
  ): Promise<CheckResult> {
    // Before the breaker: a check that sends nothing must not take the half-open breaker's one probe.
    const waiting = await throttle.state(url.host);
    if (waiting) return { outcome: 'throttled', error: waitAsked(url.host, waiting), attempts };
    if (!(await breaker.allow(url.host))) {
      const state = await breaker.state(url.host);
      return {
        outcome: 'circuit_open',
        error: `circuit open for ${url.host} until ${state.open_until}`,
        attempts,
      };
    }
    const release = await gate.acquire(url.host, signal);
    let res;
    try {
      res = await outboundRequest(agent, url, {
        method: 'GET',
        headers: {
          'user-agent': USER_AGENTS[nextAgent++ % USER_AGENTS.length],
          accept: 'text/html,application/xhtml+xml,application/json;q=0.9,*/*;q=0.8',
          'accept-language': 'en-US,en;q=0.9',
        },
        timeoutMs: settings.fetchTimeoutMs,
        maxBytes: settings.maxBytes,
        // A cut page could still hold a price that is not the product's: a page past the cap is no answer.
        overflow: 'fail',
        redirects: { max: settings.maxRedirects, allowList },
      });
    } catch (error) {
      const e = error as Error & { code?: string };
      if (e instanceof BlockedAddressError) return { outcome: 'blocked', error: e.message, attempts };
      // The page's own fault, the same at every retry, and no sign the host is unwell.
      if (['ETOOMANYREDIRECTS', 'EBADREDIRECT', 'ETOOLARGE', 'EUNSUPPORTEDENCODING'].includes(e.code ?? ''))
        return { outcome: 'http_error', error: e.message, attempts };
      await breaker.failure(url.host);
      const timedOut =
        e.name === 'TimeoutError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT';
      throw new RetryableCheck(
        timedOut ? `timed out after ${settings.fetchTimeoutMs} ms` : e.message || String(e),
        'network_error',
      );
    } finally {
      release();
    }
    const retryAfter = retryAfterMs(res.headers['retry-after']);
    // A 503 without Retry-After is an unwell server like any 5xx: retried, and counted by the breaker.
    if (res.status === 429 || (res.status === 503 && retryAfter !== null)) {
      const held = await throttle.throttle(url.host, { status: res.status, retryAfterMs: retryAfter });
      const error = held
        ? waitAsked(url.host, held)
        : `the shop answered ${res.status}, its Retry-After asking for no wait`;
      return { outcome: 'throttled', http_status: res.status, error, attempts };
    }
    await throttle.answered(url.host);
    if (res.status >= 500) {
      await breaker.failure(url.host);
      throw new RetryableCheck(`the shop answered ${res.status}`, 'http_error', res.status);
    }
    // Refused access (often a shop's bot wall) is a failure of this host; other 4xx are one page's fault.
    if (res.status === 401 || res.status === 403) await breaker.failure(url.host);
    else await breaker.success(url.host);
    if (res.status >= 400)
      return {
        outcome: 'http_error',
        http_status: res.status,
        error: `the shop answered ${res.status}`,
        attempts,
      };

    const found = extractPrice(res.body, {
      selector: monitor.selector,
      jsonPath: monitor.json_path,
      currency: monitor.currency,
    });
    const base = { http_status: res.status, attempts };
    if (found.outcome === 'not_found') return { ...base, outcome: 'not_found', error: found.reason };
    if (found.outcome === 'ambiguous')
      return {
        ...base,
        outcome: 'ambiguous',
        source: found.source,
        error: `several prices (${found.prices.join(', ')}); set a selector`,
      };
    const result = {
      ...base,
      price: found.price,
      currency: found.currency ?? monitor.currency,
      availability: found.availability,
      source: found.source,
    };
    if (result.currency !== monitor.currency)
      return {
        ...result,
        outcome: 'currency_mismatch',
        error: `the page is priced in ${result.currency}, the monitor in ${monitor.currency}`,
      };
    return { ...result, outcome: 'ok' };
  }

  /**
   * A whole check of the page: network errors and 5xx are tried again after MONITOR_RETRY_INITIAL_MS, doubled each
   * time, MONITOR_RETRY_ATTEMPTS attempts in all; the last one's failure is the result. `signal` may end the first
   * attempt's wait at the host's gate (then it rejects with the signal's reason: nothing was sent).
   */
  async function checkPage(monitor: PageToCheck, signal?: AbortSignal): Promise<CheckResult> {
    let url: URL;
    try {
      url = assertAllowedUrl(monitor.url, allowList);
    } catch (error) {
      return { outcome: 'blocked', error: (error as Error).message, attempts: 1 };
    }
    for (let attempt = 1; ; attempt++) {
      try {
        return await attemptCheck(monitor, url, attempt, attempt === 1 ? signal : undefined);
      } catch (error) {
        if (!(error instanceof RetryableCheck)) throw error;
        if (attempt >= settings.retry.attempts)
          return { outcome: error.outcome, http_status: error.httpStatus, error: error.message, attempts: attempt };
        await sleep(retryDelayMs(settings, attempt));
      }
    }
  }

  /** After the commit: the alert's webhook delivery started (tried again for a while), live events published. */
  async function announce({ monitor, alert, deliveryId }: RecordedCheck, result: CheckResult): Promise<void> {
    if (deliveryId && monitor.merchant_id)
      for (let attempt = 1; ; attempt++) {
        try {
          await startDeliveryWorkflow(temporal, config, { deliveryId, merchantId: monitor.merchant_id, eager: true });
          break;
        } catch (error) {
          if (attempt >= 5) throw error;
          await sleep(500 * 2 ** attempt);
        }
      }
    await publish(
      redis,
      domainEvent('monitor.checked', monitor.merchant_id, {
        monitor_id: monitor.id,
        outcome: result.outcome,
        price: result.price ?? null,
      }),
    ).catch(() => {});
    if (alert)
      await publish(
        redis,
        domainEvent('monitor.alert', monitor.merchant_id, {
          monitor_id: monitor.id,
          price: alert.price,
          target_price: alert.target_price,
        }),
      ).catch(() => {});
  }

  return {
    /** Checks the monitor's page now (check now); null when the monitor is gone. */
    async fetchPrice({ monitorId }: { monitorId: string }): Promise<CheckResult | null> {
      const monitor = await findMonitor(db, monitorId);
      return monitor ? checkPage(monitor) : null;
    },

    /**
     * Stores one check and what it means in one transaction (recordPriceChecks: the history row, the monitor's
     * latest state, and — when the price first reaches the target — an alert plus a webhook delivery row,
     * whose workflow starts after the commit). Keyed by the check's id, so a retry changes nothing.
     */
    async recordCheck(input: CheckRecord): Promise<void> {
      const [recorded] = await recordPriceChecks(db, [input]);
      if (recorded) await announce(recorded, input.result);
    },

    /**
     * One dispatcher lane for the window ending at `until` (ISO 8601): every POLL_MS it claims the monitors of this
     * worker's task queue falling due within CLAIM_AHEAD_MS (db/monitors claimDueMonitors: FOR UPDATE SKIP LOCKED,
     * so lanes and workers share them), checks each at its due time through the host gate, and records the checks
     * in batches, each under the slot's id (once per slot, whoever checks it). When the window closes it claims no
     * more, gives back the monitors still waiting for their host's gate, and finishes the checks under way.
     * A later attempt of the same activity (its worker died) first takes back what the earlier one held.
     */
    async checkDueMonitors({ until }: { until: string }): Promise<DispatchSummary> {
      const ctx = Context.current();
      const { activityId, attempt } = ctx.info;
      // A dispatcher activity always runs for its window's workflow (workflows/monitors.ts).
      const workflowExecution = ctx.info.workflowExecution!;
      const claimant = `${workflowExecution.workflowId}/${workflowExecution.runId}/${activityId}`;
      const end = Date.parse(until);
      const holdMs = () => Math.max(0, end - Date.now()) + budgetMs + HOLD_MARGIN_MS;
      const summary: DispatchSummary = { claimed: 0, checked: {}, released: 0 };
      const closing = new AbortController();
      // Every check waiting at a host's gate listens for the window's end.
      setMaxListeners(0, closing.signal);
      const closeTimer = setTimeout(() => closing.abort(new Error('the window closed')), Math.max(0, end - Date.now()));
      const heartbeat = setInterval(() => ctx.heartbeat(summary), HEARTBEAT_MS);
      const recorder = batchRecorder(async (batch) => {
        const recorded = await recordPriceChecks(db, batch);
        await Promise.all(
          recorded.map(async (r, i) => {
            if (!r) return;
            const { outcome } = batch[i].result;
            summary.checked[outcome] = (summary.checked[outcome] ?? 0) + 1;
            await announce(r, batch[i].result);
          }),
        );
      });
      const held = new Set<string>();
      const given: string[] = [];
      const running = new Set<Promise<void>>();

      const check = async (m: DueMonitor, urgent: boolean) => {
        const due = m.next_check_at;
        // At most CLAIM_AHEAD_MS.
        await sleep(Math.max(0, due.getTime() - Date.now()));
        if (ctx.cancellationSignal.aborted) return;
        try {
          const result = await checkPage(m, urgent ? undefined : closing.signal);
          recorder.add({
            monitorId: m.id,
            checkId: slotCheckId(m.id, due),
            scheduledAt: due.toISOString(),
            workflowId: workflowExecution.workflowId,
            runId: workflowExecution.runId,
            claimant,
            result,
          });
        } catch (error) {
          // Still at its host's gate when the window closed: nothing was sent, the next window takes it.
          if (error !== closing.signal.reason) throw error;
          given.push(m.id);
        }
      };
      /** Checks each monitor at its due time; `urgent` ones (an earlier attempt’s, late) even after the window. */
      const take = (monitors: DueMonitor[], urgent = false) => {
        for (const m of monitors) {
          if (held.has(m.id)) continue;
          held.add(m.id);
          summary.claimed++;
          const p = check(m, urgent)
            .catch((error) => {
              if (!ctx.cancellationSignal.aborted) recorder.fail(error);
            })
            .finally(() => {
              held.delete(m.id);
              running.delete(p);
            });
          running.add(p);
        }
      };

      try {
        if (attempt > 1) take(await reclaimMonitors(db, claimant, holdMs()), true);
        while (Date.now() < end && !ctx.cancellationSignal.aborted) {
          recorder.throwIfFailed();
          const room = Math.min(CLAIM_LIMIT, HELD_LIMIT - held.size);
          const due =
            room > 0
              ? await claimDueMonitors(db, {
                  taskQueue: config.temporal.taskQueue,
                  claimant,
                  aheadMs: CLAIM_AHEAD_MS,
                  holdMs: holdMs(),
                  limit: room,
                })
              : [];
          take(due);
          if (due.length < room || room <= 0) await pause(Math.min(POLL_MS, end - Date.now()), ctx.cancellationSignal);
        }
        // Cancelled (the worker shuts down): what is not recorded stays claimed, for the next attempt to take back.
        if (!ctx.cancellationSignal.aborted) await Promise.all(running);
        await recorder.flush();
        if (given.length) await releaseMonitors(db, claimant, given);
        summary.released = given.length;
        if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
        return summary;
      } finally {
        clearTimeout(closeTimer);
        clearInterval(heartbeat);
      }
    },
  };
}

/** Waits `ms` (nothing when not positive), or less when `signal` aborts meanwhile; never rejects. */
const pause = (ms: number, signal: AbortSignal) =>
  ms > 0 ? sleep(ms, undefined, { signal }).catch(() => undefined) : Promise.resolve();

/**
 * Collects checks and records them in batches (`record`: up to RECORD_BATCH in one transaction, each waiting at most
 * RECORD_WAIT_MS): at hundreds of checks a second, a transaction each would spend most of the time committing.
 * The first failure (of recording, or of a check) is kept for the dispatcher to end its attempt with.
 */
function batchRecorder(record: (batch: CheckRecord[]) => Promise<void>) {
  let pending: CheckRecord[] = [];
  let timer: NodeJS.Timeout | undefined;
  let written = Promise.resolve();
  let failure: { error: unknown } | undefined;
  const fail = (error: unknown) => void (failure ??= { error });
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    const batch = pending;
    pending = [];
    if (batch.length) written = written.then(() => record(batch)).catch(fail);
    return written;
  };
  const throwIfFailed = () => {
    if (failure) throw failure.error;
  };
  return {
    add(check: CheckRecord) {
      pending.push(check);
      if (pending.length >= RECORD_BATCH) void flush();
      else timer ??= setTimeout(flush, RECORD_WAIT_MS);
    },
    fail,
    throwIfFailed,
    /** Records what is pending; throws the first failure, if any. */
    async flush() {
      await flush();
      throwIfFailed();
    },
  };
}
