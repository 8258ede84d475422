import { ApplicationFailure } from '@temporalio/activity';
import { startDeliveryWorkflow } from '../clients/webhooks.js';
import {
  claimDueWatches,
  noteWatchError,
  recordWatchCheck,
  storeCompanyAnswer,
  type ClaimedNip,
} from '../db/companies.js';
import { CompanyCache, type CachedAnswer } from '../lib/companies/cache.js';
import { createWhiteListRegistry, RegistryError } from '../lib/companies/registry.js';
import { domainEvent, publish } from '../lib/platform/events.js';
import type { WatchedNipCheck } from '../workflows/contracts/companies.js';
import type { ActivityDeps } from './index.js';

/** The company-watch sweep's activities, with this worker's registry client (breaker, throttle) and cache. */
export function companyActivities({ config, db, redis, temporal }: ActivityDeps) {
  const registry = createWhiteListRegistry(config, redis);
  const cache = new CompanyCache(redis, config.companies.cacheTtlS);

  return {
    /** Claims up to `limit` watches due at `dueBy` for `leaseS` seconds (claimDueWatches), grouped by NIP. */
    async claimDueCompanyWatches(input: { limit: number; leaseS: number; dueBy: string }): Promise<ClaimedNip[]> {
      return claimDueWatches(db, input);
    },

    /**
     * Asks the registry about one NIP for all its claimed watches and records each watch's check (recordWatchCheck:
     * the change, the `company.changed` event and delivery, the new snapshot), then starts the deliveries and
     * publishes a live event per change. The answer also refreshes the cache and the stored copy.
     * While the registry is unavailable or its query limit is spent, this throws a retryable failure — after the
     * registry's own wait (breaker probe time, end of the limit) when it gives one — and notes the wait on the
     * watches: the check waits, it does not fail. A refusal or an answer of unexpected shape is recorded on the
     * watches as their check's error, and they are due again after the interval.
     */
    async checkWatchedCompany(check: WatchedNipCheck): Promise<{ changes: number }> {
      let answer: CachedAnswer;
      try {
        const found = await registry.searchNip(check.nip);
        answer = {
          nip: check.nip,
          company: found.company,
          request_id: found.requestId,
          fetched_at: new Date().toISOString(),
        };
      } catch (error) {
        if (!(error instanceof RegistryError)) throw error;
        const waiting = error.kind === 'unavailable' || error.kind === 'limited';
        await noteWatchError(
          db,
          check.watchIds,
          waiting ? `${error.message}; the check waits and retries` : error.message,
          {
            retrying: waiting,
            intervalS: check.intervalS,
          },
        );
        if (!waiting) return { changes: 0 };
        const waitMs = error.retryAt ? Date.parse(error.retryAt) - Date.now() : 0;
        throw ApplicationFailure.create({
          message: error.message,
          type: error.kind === 'limited' ? 'RegistryLimitReached' : 'RegistryUnavailable',
          nextRetryDelay: waitMs > 0 ? waitMs : undefined,
        });
      }
      await storeCompanyAnswer(db, answer);
      // The cache is an optimisation: a Redis hiccup must not fail a check that got its answer.
      await cache.set(answer).catch(() => {});
      let changes = 0;
      for (const watchId of check.watchIds) {
        const recorded = await recordWatchCheck(db, {
          watchId,
          checkKey: check.checkKey,
          answer,
          intervalS: check.intervalS,
        });
        if (!recorded?.change) continue;
        changes++;
        const { watch, change, deliveryId } = recorded;
        if (deliveryId && watch.merchant_id)
          await startDeliveryWorkflow(temporal, config, { deliveryId, merchantId: watch.merchant_id, eager: true });
        if (recorded.recorded)
          await publish(
            redis,
            domainEvent('company.changed', watch.merchant_id, {
              watch_id: watch.id,
              nip: watch.nip,
              name: answer.company?.name ?? null,
              fields: change.changes.map((c) => c.field),
            }),
          ).catch(() => {});
      }
      return { changes };
    },
  };
}
