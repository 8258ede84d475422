import { ApplicationFailure } from '@temporalio/activity';
import { decryptSecret } from '../lib/platform/crypto.js';
import { startDeliveryWorkflow } from '../clients/webhooks.js';
import { domainEvent, publish } from '../lib/platform/events.js';
import { assertAllowedUrl, guardedAgent, outboundRequest, parseAllowList } from '../lib/platform/outbound.js';
import { retryAfterMs } from '../lib/platform/retryAfter.js';
import { webhookHeaders } from '../lib/webhooks/signature.js';
import { disableWebhookEndpoint, findMerchant } from '../db/merchants.js';
import type { Merchant } from '../db/models/Merchant.js';
import {
  cancelDelivery,
  closePendingDelivery,
  deliveryExists,
  findDelivery,
  findEvent,
  recordAttempt,
  setNextAttemptAt,
} from '../db/webhooks.js';
import type { ActivityDeps } from './index.js';

const SNIPPET_BYTES = 1024;

export type AttemptOutcome =
  /** 2xx: done. */
  | { outcome: 'delivered' }
  /** Nothing to send to (no endpoint, endpoint disabled, delivery already closed). */
  | { outcome: 'skipped' }
  /** 410: the receiver asks us to stop for good (the merchant's endpoint, or only this delivery's own URL). */
  | { outcome: 'gone'; merchantEndpoint: boolean }
  /**
   * Anything else. `retryAfterMs`: the receiver's `Retry-After` on a 429 or 503, in ms from its answer (uncapped:
   * the workflow bounds it). `failingForS`: how long the merchant's endpoint has been failing, in seconds; null
   * for a delivery to a URL of its own, which is never disabled.
   */
  | { outcome: 'retry'; retryAfterMs: number | null; failingForS: number | null };

export function webhookActivities({ config, db, redis, temporal }: ActivityDeps) {
  const allowList = parseAllowList(config.outboundAllowList);
  const agent = guardedAgent(allowList, { connections: 64 });

  async function signingSecrets(merchant: Merchant): Promise<string[]> {
    const secrets = [decryptSecret(merchant.webhook_secret_enc, config.secretsKey)];
    if (
      merchant.webhook_secret_prev_enc &&
      merchant.webhook_secret_prev_expires_at &&
      new Date(merchant.webhook_secret_prev_expires_at) > new Date()
    ) {
      secrets.push(decryptSecret(merchant.webhook_secret_prev_enc, config.secretsKey));
    }
    return secrets;
  }

  return {
    /**
     * Starts a delivery written by someone else's transaction (the API's, for `payment_intent.created`),
     * which may not be committed yet when this runs: until its row is visible, the start is retried.
     */
    async startDelivery({ deliveryId, merchantId }: { deliveryId: string; merchantId: string }): Promise<void> {
      if (!(await deliveryExists(db, deliveryId))) {
        throw ApplicationFailure.retryable(
          `webhook delivery ${deliveryId} is not committed yet`,
          'DeliveryNotCommitted',
        );
      }
      await startDeliveryWorkflow(temporal, config, { deliveryId, merchantId, eager: true });
    },

    /** One signed POST of one event, logged as an attempt; the workflow owns the retry schedule. */
    async attemptDelivery({ deliveryId }: { deliveryId: string }): Promise<AttemptOutcome> {
      const delivery = await findDelivery(db, deliveryId);
      if (!delivery || delivery.status !== 'pending')
        return delivery?.status === 'succeeded' ? { outcome: 'delivered' } : { outcome: 'skipped' };
      const [merchant, event] = await Promise.all([
        findMerchant(db, delivery.merchant_id),
        findEvent(db, delivery.event_id),
      ]);
      // A delivery with its own URL (a monitor's notify_webhook) does not depend on the merchant's endpoint.
      const target = delivery.url ?? merchant?.webhook_url;
      const merchantEndpoint = !delivery.url;
      if (!merchant || !target || (merchantEndpoint && merchant.webhook_disabled_at) || !event) {
        await cancelDelivery(db, deliveryId, 'endpoint missing or disabled');
        return { outcome: 'skipped' };
      }

      // The body is rebuilt from the stored event, so every attempt sends the same bytes.
      const body = JSON.stringify({
        id: event.id,
        type: event.type,
        created_at: new Date(event.created_at).toISOString(),
        data: event.payload,
      });
      const headers = {
        'content-type': 'application/json',
        'user-agent': 'Meridian-Webhooks/1.0',
        ...webhookHeaders(await signingSecrets(merchant), event.id, Math.floor(Date.now() / 1000), body),
      };
      const started = performance.now();
      let status: number | null = null;
      let snippet: string | null = null;
      let error: string | null = null;
      let retryAfter: number | null = null;
      try {
        const url = assertAllowedUrl(target, allowList);
        const res = await outboundRequest(agent, url, {
          method: 'POST',
          headers,
          body,
          timeoutMs: config.webhooks.timeoutMs,
          maxBytes: SNIPPET_BYTES,
        });
        status = res.status;
        snippet = res.body;
        // Both mean "come back later" (RFC 6585 §4, RFC 9110 §15.6.4); other statuses keep the schedule.
        if (status === 429 || status === 503) retryAfter = retryAfterMs(res.headers['retry-after']);
      } catch (e) {
        const err = e as Error & { code?: string };
        error =
          err.name === 'TimeoutError' || err.code === 'UND_ERR_HEADERS_TIMEOUT' || err.code === 'UND_ERR_BODY_TIMEOUT'
            ? `timed out after ${config.webhooks.timeoutMs} ms`
            : err.message || String(err);
      }
      const ok = status !== null && status >= 200 && status < 300;
      const now = new Date();

      const failingSince = await recordAttempt(db, {
        delivery,
        url: target,
        statusCode: status,
        durationMs: Math.round(performance.now() - started),
        responseSnippet: snippet,
        error,
        delivered: ok,
        at: now,
        endpointMerchantId: merchantEndpoint ? merchant.id : null,
      });

      await publish(
        redis,
        domainEvent('webhook.attempted', merchant.id, {
          delivery_id: deliveryId,
          event_id: event.id,
          status_code: status,
          error,
          delivered: ok,
        }),
      ).catch(() => {});
      if (ok) return { outcome: 'delivered' };
      if (status === 410) return { outcome: 'gone', merchantEndpoint };
      return {
        outcome: 'retry',
        retryAfterMs: retryAfter,
        // A failed attempt on the merchant's endpoint always has a start of failing; other URLs have none.
        failingForS: failingSince ? (now.getTime() - new Date(failingSince).getTime()) / 1000 : null,
      };
    },

    async closeDelivery({
      deliveryId,
      status,
      reason,
    }: {
      deliveryId: string;
      status: 'failed' | 'canceled';
      reason: string;
    }): Promise<void> {
      await closePendingDelivery(db, deliveryId, status, reason);
    },

    async scheduleNextAttempt({ deliveryId, at }: { deliveryId: string; at: string }): Promise<void> {
      await setNextAttemptAt(db, deliveryId, new Date(at));
    },

    /** Stops all deliveries to an endpoint until the merchant sets it again; operators are told. */
    async disableEndpoint({ merchantId, reason }: { merchantId: string; reason: string }): Promise<void> {
      if (await disableWebhookEndpoint(db, merchantId, reason))
        await publish(redis, domainEvent('webhook_endpoint.disabled', null, { merchant_id: merchantId, reason })).catch(
          () => {},
        );
    },
  };
}
