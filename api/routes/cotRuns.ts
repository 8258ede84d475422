/** COT ingestion runs (a Temporal workflow): the runs with their units, and starting one. */
import { z } from 'zod';
import {
  cotRunTotals,
  findCotRun,
  listCotRuns,
  listCotUnits,
  recordCotRun,
  runStatuses,
  unitStatuses,
} from '../../db/cot.js';
import type { CotRun } from '../../db/models/Cot.js';
import { cotIngestionProgress, defaultIngestion, startCotIngestion } from '../../clients/cot.js';
import { reportTypes, subtypes } from '../../lib/cot/reports.js';
import { workflowUrl } from '../../lib/platform/temporal.js';
import { COT_WORKFLOW_ID, type CotIngestionInput } from '../../workflows/contracts/cot.js';
import { isoOrNull } from '../dates.js';
import type { ApiDeps } from '../deps.js';
import { ApiError, notFound } from '../errors.js';
import { temporalUnavailableResponse } from '../pending.js';
import type { Api } from '../route.js';
import { Offset } from './cotShared.js';

const QUERY_TIMEOUT_MS = 2000;

const UnitOut = z
  .object({
    report_type: z.enum(reportTypes),
    subtype: z.enum(subtypes),
    year: z.number().nullable().describe('null: the current-week file'),
    url: z.string(),
    status: z.enum(unitStatuses),
    rows_read: z.number(),
    rows_inserted: z.number(),
    rows_updated: z.number(),
    rows_unchanged: z.number(),
    rows_rejected: z.number(),
    rejections: z
      .object({
        by_reason: z.record(z.string(), z.number()),
        first: z.array(z.object({ record: z.number(), reason: z.string() })),
      })
      .nullable(),
    data_from: z.string().nullable(),
    data_through: z.string().nullable(),
    error: z.string().nullable(),
    finished_at: z.string(),
  })
  .meta({ id: 'CotUnit' });
export const RunOut = z
  .object({
    id: z.string(),
    workflow_id: z.string(),
    temporal_url: z.string(),
    trigger: z.enum(['manual', 'schedule']),
    params: z.object({
      report_types: z.array(z.enum(reportTypes)),
      subtypes: z.array(z.enum(subtypes)),
      years: z.array(z.number()).nullable(),
      force: z.boolean(),
    }),
    status: z.enum(runStatuses),
    units_total: z.number().nullable(),
    units_done: z.number(),
    rows: z.object({
      read: z.number(),
      inserted: z.number(),
      updated: z.number(),
      unchanged: z.number(),
      rejected: z.number(),
    }),
    error: z.string().nullable(),
    started_at: z.string(),
    finished_at: z.string().nullable(),
  })
  .meta({ id: 'CotIngestion' });
const RunDetailOut = RunOut.extend({
  units: z.array(UnitOut),
  in_flight: z.array(z.string()).describe('units being loaded now (running ingestions)'),
}).meta({ id: 'CotIngestionDetail' });
const StartIngestion = z
  .object({
    report_types: z
      .array(z.enum(reportTypes))
      .min(1)
      .max(3)
      .default([...reportTypes]),
    subtypes: z
      .array(z.enum(subtypes))
      .min(1)
      .max(2)
      .default([...subtypes]),
    years: z
      .array(z.number().int().min(1986).max(2100))
      .min(1)
      .max(40)
      .optional()
      .describe('default: the last COT_YEARS years'),
    force: z.boolean().default(false).describe('reload years that are already complete'),
  })
  .strict();

const unique = <T>(values: T[]) => [...new Set(values)];

/** Runs as `RunOut`, with units done and row counts summed over their units. */
export async function runViews(
  { config, db }: Pick<ApiDeps, 'config' | 'db'>,
  runs: CotRun[],
): Promise<z.infer<typeof RunOut>[]> {
  const totals = await cotRunTotals(
    db,
    runs.map((r) => r.id),
  );
  return runs.map((run) => {
    const t = totals.find((x) => x.run_id === run.id);
    return {
      id: run.id,
      workflow_id: run.workflow_id,
      temporal_url: workflowUrl(config, run.workflow_id),
      trigger: run.trigger,
      params: run.params,
      status: run.status,
      units_total: run.units_total,
      units_done: t?.units_done ?? 0,
      rows: {
        read: t?.read ?? 0,
        inserted: t?.inserted ?? 0,
        updated: t?.updated ?? 0,
        unchanged: t?.unchanged ?? 0,
        rejected: t?.rejected ?? 0,
      },
      error: run.error,
      started_at: isoOrNull(run.started_at)!,
      finished_at: isoOrNull(run.finished_at),
    };
  });
}

/** `GET`/`POST /api/v1/cot/ingestions` and `GET /api/v1/cot/ingestions/:id`. */
export function cotRunRoutes(api: Api, deps: ApiDeps) {
  const { config, db, temporal } = deps;

  /** The run as `RunDetailOut`: its units, and the units in flight asked of the workflow while it runs. */
  async function runDetail(run: CotRun): Promise<z.infer<typeof RunDetailOut>> {
    const [[view], units] = await Promise.all([runViews(deps, [run]), listCotUnits(db, run.id)]);
    // Live from the workflow; a run whose worker is away still answers from the database.
    const progress =
      run.status === 'running'
        ? await cotIngestionProgress(temporal.client, run.workflow_id, run.id, QUERY_TIMEOUT_MS)
        : null;
    return {
      ...view,
      in_flight: progress?.inFlight ?? [],
      units: units.map((u) => ({
        report_type: u.report_type,
        subtype: u.subtype,
        year: u.year,
        url: u.url,
        status: u.status,
        rows_read: u.rows_read,
        rows_inserted: u.rows_inserted,
        rows_updated: u.rows_updated,
        rows_unchanged: u.rows_unchanged,
        rows_rejected: u.rows_rejected,
        rejections: u.rejections,
        data_from: u.data_from,
        data_through: u.data_through,
        error: u.error,
        finished_at: isoOrNull(u.finished_at)!,
      })),
    };
  }

  api.route({
    method: 'get',
    path: '/api/v1/cot/ingestions',
    summary: 'Ingestion runs, newest first',
    tag: 'cot',
    access: ['operator'],
    query: Offset.extend({ status: z.enum(runStatuses).optional() }),
    responses: {
      200: { description: 'A page of runs', schema: z.object({ total: z.number(), data: z.array(RunOut) }) },
    },
    handler: async (ctx, { query }) => {
      const { runs, total } = await listCotRuns(db, query);
      ctx.body = { total, data: await runViews(deps, runs) };
    },
  });

  api.route({
    method: 'get',
    path: '/api/v1/cot/ingestions/:id',
    summary: 'One run with every unit (file) it loaded, skipped or failed, and live progress while it runs',
    tag: 'cot',
    access: ['operator'],
    params: z.object({ id: z.uuid() }),
    responses: { 200: { description: 'The run', schema: RunDetailOut }, 404: { description: 'No such run' } },
    handler: async (ctx, { params }) => {
      const run = await findCotRun(db, params.id);
      if (!run) throw notFound('Ingestion');
      ctx.body = await runDetail(run);
    },
  });

  api.route({
    method: 'post',
    path: '/api/v1/cot/ingestions',
    summary: 'Start an ingestion now; while one runs, answers with that one instead',
    tag: 'cot',
    access: ['admin'],
    body: StartIngestion,
    responses: {
      202: { description: 'Started', schema: z.object({ started: z.literal(true), ingestion: RunDetailOut }) },
      200: {
        description: 'One was already running: that one',
        schema: z.object({ started: z.literal(false), ingestion: RunDetailOut }),
      },
      503: temporalUnavailableResponse,
    },
    handler: async (ctx, { body }) => {
      const p = ctx.state.principal!;
      const input: CotIngestionInput = {
        ...defaultIngestion(config),
        trigger: 'manual',
        requestedBy: p.kind === 'user' ? p.userId : null,
        reportTypes: unique(body.report_types),
        subtypes: unique(body.subtypes),
        years: body.years ? unique(body.years).sort() : undefined,
        force: body.force,
      };
      const { started, runId } = await startCotIngestion(temporal.client, config, input);
      // Recorded here too (the workflow's first activity does the same), so the run is readable at once.
      if (started) await recordCotRun(db, { ...input, id: runId, workflowId: COT_WORKFLOW_ID });
      const run = await findCotRun(db, runId);
      if (!run) throw new ApiError(409, 'ingestion_starting', 'An ingestion is starting; try again in a moment');
      ctx.status = started ? 202 : 200;
      ctx.body = { started, ingestion: await runDetail(run) };
    },
  });
}
