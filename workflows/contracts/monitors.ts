/** The price monitors' workflow contracts: ids, inputs and what a check found. Imports no implementation. */
import type { CheckOutcome } from '../../db/models/Monitor.js';

export interface PriceCheckInput {
  monitorId: string;
  /** The longest one check may take, in ms: every attempt's deadline and the back-off between them. */
  budgetMs?: number;
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

/** A per-monitor Schedule of the days before dispatchers: workers remove any left (clients/monitors). */
export const monitorScheduleId = (monitorId: string) => `monitor-${monitorId}`;
export const priceCheckWorkflowId = (monitorId: string) => `price-check-${monitorId}`;
/** A check asked for through the API, started at `atMs` (epoch milliseconds): apart from the scheduled ones. */
export const checkNowWorkflowId = (monitorId: string, atMs: number) => `${priceCheckWorkflowId(monitorId)}-now-${atMs}`;
/** A dispatcher's check of the monitor's slot due at `due`: one per slot, whoever checks it and however often. */
export const slotCheckId = (monitorId: string, due: Date) => `${monitorId}@${due.toISOString()}`;

/** `priceCheckWorkflow`: one check of one monitor; returns the check's outcome (or `deleted`). */
export type PriceCheckWorkflow = (input: PriceCheckInput) => Promise<string>;

/** The Schedule whose runs check the monitors of a task queue (the workflow ids of its runs start the same). */
export const monitorDispatchScheduleId = (taskQueue: string) => `monitor-dispatch-${taskQueue}`;

export interface MonitorDispatchInput {
  /** The run's window, in ms from its scheduled time: it claims and checks what falls due before the window ends. */
  windowMs: number;
  /** Dispatcher activities the run starts at once: they share the due monitors (several workers, one each). */
  lanes: number;
  /** The longest one check may take, in ms (PriceCheckInput.budgetMs). */
  budgetMs: number;
}

/** What a dispatcher activity did in its window. */
export interface DispatchSummary {
  /** Monitors it claimed (taken back from an earlier attempt included). */
  claimed: number;
  /** Checks it recorded, by outcome. */
  checked: Partial<Record<CheckOutcome, number>>;
  /** Claims it gave back unchecked when its window closed (held at a host's gate): the next run takes them. */
  released: number;
}

/** `monitorDispatchWorkflow`: one window of a task queue's dispatcher; returns its lanes' summaries. */
export type MonitorDispatchWorkflow = (input: MonitorDispatchInput) => Promise<DispatchSummary[]>;
