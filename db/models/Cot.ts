import { Model } from 'objection';
import type { ReportType, Subtype } from '../../lib/cot/reports.js';

export const runStatuses = ['running', 'succeeded', 'partial', 'failed'] as const;
export type RunStatus = (typeof runStatuses)[number];
/** `unchanged`: a re-check found the file as it was last read, so nothing was parsed or written. */
export const unitStatuses = ['loaded', 'unchanged', 'skipped', 'unavailable', 'failed'] as const;
export type UnitStatus = (typeof unitStatuses)[number];

/** One COT ingestion: a workflow run (its id is the Temporal run id). */
export class CotRun extends Model {
  static tableName = 'cot_runs';
  id!: string;
  workflow_id!: string;
  trigger!: 'manual' | 'schedule';
  requested_by!: string | null;
  params!: { report_types: ReportType[]; subtypes: Subtype[]; years: number[] | null; force: boolean };
  status!: RunStatus;
  units_total!: number | null;
  error!: string | null;
  started_at!: Date;
  finished_at!: Date | null;
}

export interface RejectionSummary {
  by_reason: Record<string, number>;
  first: { record: number; reason: string }[];
}

/** One file of a run: a year's zip or the current-week file of one report type and subtype. */
export class CotUnit extends Model {
  static tableName = 'cot_units';
  id!: number;
  run_id!: string;
  report_type!: ReportType;
  subtype!: Subtype;
  year!: number | null;
  url!: string;
  status!: UnitStatus;
  rows_read!: number;
  rows_inserted!: number;
  rows_updated!: number;
  rows_unchanged!: number;
  rows_rejected!: number;
  rejections!: RejectionSummary | null;
  data_from!: string | null;
  data_through!: string | null;
  error!: string | null;
  /** What CFTC served (its validators; the zip's SHA-256), for the next read's re-check. */
  etag!: string | null;
  last_modified!: string | null;
  sha256!: string | null;
  /** Read once the next year's reports were stored: the year's file is final. */
  final!: boolean;
  finished_at!: Date;
}
