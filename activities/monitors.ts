import { ApplicationFailure, Context } from '@temporalio/activity';
import { findMonitor, recordPriceCheck, type CheckRecord } from '../db/monitors.js';
import { CircuitBreaker } from '../lib/platform/circuitBreaker.js';
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

export function monitorActivities({ config, db, redis, temporal }: ActivityDeps) {
  const allowList = parseAllowList(config.outboundAllowList);
  const agent = guardedAgent(allowList, { connections: 256 });
  const breaker = new CircuitBreaker(redis, config.monitors.breaker);
  const settings = config.monitors;

  return {
    /**
     * Fetches the page and reads the price. Network errors and 5xx throw (Temporal retries them with
     * backoff, and they count against the host's breaker); everything else is a result to record.
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
          redirects: { max: settings.maxRedirects, allowList },
        });
      } catch (error) {
        const e = error as Error & { code?: string };
        if (e instanceof BlockedAddressError) return { outcome: 'blocked', error: e.message, attempts };
        if (e.code === 'ETOOMANYREDIRECTS' || e.code === 'EBADREDIRECT')
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
      if (res.status >= 500) {
        await breaker.failure(url.host);
        throw ApplicationFailure.retryable(`the shop answered ${res.status}`, 'ServerError', {
          attempts,
          http_status: res.status,
        });
      }
      await breaker.success(url.host);
      if (res.status >= 400)
        return { outcome: 'http_error', http_status: res.status, error: `the shop answered ${res.status}`, attempts };

      const found = extractPrice(res.body, { selector: monitor.selector, jsonPath: monitor.json_path });
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
