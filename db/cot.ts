import type { Knex } from 'knex';
import type { ReportType, Subtype } from '../lib/cot/reports.js';

export interface CotRunRecord {
  id: string;
  workflowId: string;
  trigger: 'manual' | 'schedule';
  requestedBy: string | null;
  reportTypes: ReportType[];
  subtypes: Subtype[];
  /** Default: the last COT_YEARS years up to the current one. */
  years?: number[];
  /** Reload years that are already complete. */
  force: boolean;
}

/**
 * The run's row, written by whoever gets there first — the API starting it (so it is readable at once)
 * or the workflow's first activity (scheduled runs) — and completed with `unitsTotal` once planned.
 */
export async function recordCotRun(db: Knex, run: CotRunRecord, unitsTotal: number | null = null): Promise<void> {
  const params = { report_types: run.reportTypes, subtypes: run.subtypes, years: run.years ?? null, force: run.force };
  await db.raw(
    `INSERT INTO cot_runs (id, workflow_id, trigger, requested_by, params, units_total) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET units_total = coalesce(EXCLUDED.units_total, cot_runs.units_total)`,
    [run.id, run.workflowId, run.trigger, run.requestedBy, JSON.stringify(params), unitsTotal],
  );
}
