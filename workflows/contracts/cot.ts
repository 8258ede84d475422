/** The COT ingestion workflows' contract: ids, Query, inputs and results. Imports no implementation. */
import { defineQuery } from '@temporalio/workflow';
import type { ReportType, Subtype } from '../../lib/cot/reports.js';
import type { CotValidators } from '../../lib/cot/source.js';
import type { CotRunRecord } from '../../db/cot.js';
import type { UnitStatus } from '../../db/models/Cot.js';

/** One id for every ingestion: while one runs, starting another finds it instead (Temporal's id uniqueness). */
export const COT_WORKFLOW_ID = 'cot-ingestion';
export const COT_SCHEDULE_ID = 'cot-weekly';

/** The run as the workflow knows it: its row's fields, keyed by the workflow's run id. */
export type CotRunInput = Omit<CotRunRecord, 'id'> & { runId: string };

/** One file to load: a year's zip, or (year null) the current-week file. */
export interface CotUnitPlan {
  reportType: ReportType;
  subtype: Subtype;
  year: number | null;
  /** The last committed read of this yearly file: it is asked for again only if changed. Null (forced, never read, the current-week file): read it whole. */
  lastRead: { validators: CotValidators; dataFrom: string | null; dataThrough: string | null } | null;
  /** The next year's reports were stored when the run was planned, so what this read finds is the year's final file. */
  final: boolean;
}

export interface CotUnitResult {
  /** `unchanged`: the file is the one last read; nothing was parsed or written. */
  status: UnitStatus;
  rowsRead: number;
  inserted: number;
  updated: number;
  rejected: number;
}

export type CotIngestionInput = Omit<CotRunInput, 'runId' | 'workflowId'> & {
  /** Files loaded at once. */
  concurrency: number;
  /** Backoff for each file: first wait, tripled per attempt, this many attempts in all. */
  retry: { initialMs: number; attempts: number };
};

export interface CotProgress {
  unitsTotal: number;
  unitsDone: number;
  rows: { read: number; inserted: number; updated: number; rejected: number };
  /** Units being downloaded or loaded now, as `type/subtype/year|week`. */
  inFlight: string[];
}
export const cotProgressQuery = defineQuery<CotProgress>('progress');

/** `cotIngestionWorkflow`: plans, loads and settles one run; returns the run's final status. */
export type CotIngestionWorkflow = (input: CotIngestionInput) => Promise<string>;
/** `cotScheduledIngestionWorkflow`: what the weekly Schedule starts (the ingestion under its fixed id). */
export type CotScheduledIngestionWorkflow = (input: CotIngestionInput) => Promise<string>;
