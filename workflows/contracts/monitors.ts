/** The price check workflow's contract: ids, input and what a check found. Imports no implementation. */
import type { CheckOutcome } from '../../db/models/Monitor.js';

export interface PriceCheckInput {
  monitorId: string;
  /** Backoff for network errors and 5xx: first wait, doubled per attempt, this many attempts in all. */
  retry: { initialMs: number; attempts: number };
}

/** What one check found, successful or not; the workflow records it. */
export interface CheckResult {
  outcome: CheckOutcome;
  price?: number;
  currency?: string | null;
  availability?: string | null;
  source?: string;
  http_status?: number;
  error?: string;
  attempts: number;
}

export const monitorScheduleId = (monitorId: string) => `monitor-${monitorId}`;
export const priceCheckWorkflowId = (monitorId: string) => `price-check-${monitorId}`;
/** A check asked for through the API, started at `atMs` (epoch milliseconds): apart from the scheduled ones. */
export const checkNowWorkflowId = (monitorId: string, atMs: number) => `${priceCheckWorkflowId(monitorId)}-now-${atMs}`;

/** `priceCheckWorkflow`: one check of one monitor; returns the check's outcome (or `deleted`). */
export type PriceCheckWorkflow = (input: PriceCheckInput) => Promise<string>;
