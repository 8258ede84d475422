import { continueAsNew, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { CompanyWatchSweepWorkflow } from './contracts/companies.js';

// Claims and bookkeeping are short transactions.
const { claimDueCompanyWatches } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute' },
});

/** A claim keeps watches from other sweeps for this long; a sweep that dies leaves them due again after it. */
const CLAIM_LEASE_S = 3600;
/** Continue as new before the history grows long (each NIP's check is a handful of events). */
const MAX_HISTORY_EVENTS = 10_000;

/** Runs `task` for each item with at most `limit` at a time. */
async function inBatches<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: Math.min(limit, queue.length) }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await task(item);
    }),
  );
}

/**
 * What the `company-watches-daily` Schedule starts: claims due watches in batches (each NIP once, whoever watches
 * it), checks them and records what changed, until none is due. A registry outage does not fail a check: the
 * check's activity is retried with backoff, without an attempt limit, until the registry answers (the sweep waits;
 * overlapping Schedule runs are skipped meanwhile). Continues as new when its history grows long.
 */
export const companyWatchSweepWorkflow: CompanyWatchSweepWorkflow = async (
  input,
  carried = { nips: 0, changes: 0 },
) => {
  const { checkWatchedCompany } = proxyActivities<Activities>({
    startToCloseTimeout: '2 minutes',
    retry: {
      initialInterval: input.retry.initialMs,
      backoffCoefficient: 2,
      maximumInterval: input.retry.maxMs,
      // No maximumAttempts: unlimited, the wait lasts as long as the outage.
    },
  });
  const totals = { ...carried };
  // Only what was due when this run began: a watch checked now and due again soon waits for the next run.
  const dueBy = new Date().toISOString();
  for (let batch = 0; ; batch++) {
    const claimed = await claimDueCompanyWatches({ limit: input.batchSize, leaseS: CLAIM_LEASE_S, dueBy });
    if (!claimed.length) return totals;
    const { runId } = workflowInfo();
    await inBatches(claimed, input.concurrency, async (group) => {
      const found = await checkWatchedCompany({ ...group, checkKey: `${runId}:${batch}`, intervalS: input.intervalS });
      totals.nips++;
      totals.changes += found.changes;
    });
    if (workflowInfo().historyLength > MAX_HISTORY_EVENTS)
      return continueAsNew<CompanyWatchSweepWorkflow>(input, totals);
  }
};
