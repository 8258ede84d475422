/** The company-watch sweep's contract: the Schedule's id, the sweep's input and result. Imports no implementation. */
import type { ClaimedNip } from '../../db/companies.js';

/** One Schedule for every watch: each run claims the watches that are due and checks them. */
export const COMPANY_WATCH_SCHEDULE_ID = 'company-watches-daily';
/** What the Schedule's runs are called (Temporal appends the run's time). */
export const COMPANY_WATCH_SWEEP_ID = 'company-watch-sweep';

export interface CompanyWatchSweepInput {
  /** Watches claimed per batch. */
  batchSize: number;
  /** NIPs checked at once. */
  concurrency: number;
  /** How long after its last check a watch is due again (seconds). */
  intervalS: number;
  /** Backoff while the registry is unavailable: first wait, doubled per attempt up to `maxMs`; no attempt limit. */
  retry: { initialMs: number; maxMs: number };
}

/** One NIP's check in a sweep: its watches, and the key that makes a retried recording a no-op. */
export interface WatchedNipCheck extends ClaimedNip {
  checkKey: string;
  intervalS: number;
}

export interface CompanyWatchSweepResult {
  /** NIPs checked (with an answer or a recorded error) by this run and the runs it continued as. */
  nips: number;
  /** Changes found. */
  changes: number;
}

/** `companyWatchSweepWorkflow`: claims due watches in batches until none is due, checking each NIP once. */
export type CompanyWatchSweepWorkflow = (
  input: CompanyWatchSweepInput,
  carried?: CompanyWatchSweepResult,
) => Promise<CompanyWatchSweepResult>;
