import { ApplicationFailure, Context } from '@temporalio/activity';
import { findMonitor, recordPriceCheck, type CheckRecord } from '../db/monitors.js';
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
import { extractPrice } from '../lib/monitors/priceExtract.js';
import type { CheckResult } from '../workflows/contracts/monitors.js';
import type { ActivityDeps } from './index.js';

/** Realistic desktop browsers, rotated per request: some shops answer bots with a different page. */
const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
];
let nextAgent = 0;

/** Why a check did not reach its host: the host's own request to wait (lib/platform/hostThrottle). */
const waitAsked = (host: string, { until, reason }: ThrottleState) =>
  `${host} asked us to wait until ${until} (${reason})`;

export function monitorActivities({ config, db, redis, temporal }: ActivityDeps) {
  const allowList = parseAllowList(config.outboundAllowList);
  const agent = guardedAgent(allowList, { connections: 256 });
  const breaker = new CircuitBreaker(redis, config.monitors.breaker);
  const throttle = new HostThrottle(redis, config.monitors.throttle);
  const settings = config.monitors;

  return {
    /**
     * Fetches the page and reads the price. Network errors and 5xx throw (Temporal retries them with
     * backoff, and they count against the host's breaker, as 401 and 403 do); everything else is a result to
     * record. A host that asked us to wait (429, or 503 with Retry-After) is throttled for every monitor on it:
     * the answer and every check before the time it allowed are `throttled`, and no request goes to it.
     */
    async fetchPrice({ monitorId }: { monitorId: string }): Promise<CheckResult | null> {
      const attempts = Context.current().info.attempt;
      const monitor = await findMonitor(db, monitorId);
      if (!monitor) return null;
      let url: URL;
      try {
        url = assertAllowedUrl(monitor.url, allowList);
      } catch (error) {
        return { outcome: 'blocked', error: (error as Error).message, attempts };
      }
      // Before the breaker: a check that sends nothing must not take the half-open breaker's one probe.
      const waiting = await throttle.state(url.host);
      if (waiting) return { outcome: 'throttled', error: waitAsked(url.host, waiting), attempts };
      if (!(await breaker.allow(url.host))) {
        const state = await breaker.state(url.host);
        return { outcome: 'circuit_open', error: `circuit open for ${url.host} until ${state.open_until}`, attempts };
      }
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
        throw ApplicationFailure.retryable(
          timedOut ? `timed out after ${settings.fetchTimeoutMs} ms` : e.message || String(e),
          'NetworkError',
          { attempts },
        );
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
        throw ApplicationFailure.retryable(`the shop answered ${res.status}`, 'ServerError', {
          attempts,
          http_status: res.status,
        });
      }
      // Refused access (often a shop's bot wall) is a failure of this host; other 4xx are one page's fault.
      if (res.status === 401 || res.status === 403) await breaker.failure(url.host);
      else await breaker.success(url.host);
      if (res.status >= 400)
        return { outcome: 'http_error', http_status: res.status, error: `the shop answered ${res.status}`, attempts };

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
    },

    /**
     * Stores one check and what it means in one transaction (recordPriceCheck: the history row, the monitor's
     * latest state, and — when the price first reaches the target — an alert plus a webhook delivery row,
     * whose workflow starts after the commit). Keyed by the check's workflow id, so a retry changes nothing.
     */
    async recordCheck(input: CheckRecord): Promise<void> {
      const { result } = input;
      const recorded = await recordPriceCheck(db, input);
      if (!recorded) return;
      const { monitor, alert, deliveryId } = recorded;
      if (deliveryId && monitor.merchant_id)
        await startDeliveryWorkflow(temporal, config, { deliveryId, merchantId: monitor.merchant_id, eager: true });
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
    },
  };
}
