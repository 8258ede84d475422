/** COT data freshness, the last ingestion and the next scheduled one. */
import { z } from 'zod';
import { cotFreshness, latestCotRun } from '../../db/cot.js';
import { describeCotSchedule } from '../../clients/cot.js';
import { reportTypes, subtypes } from '../../lib/cot/reports.js';
import { scheduleUrl } from '../../lib/platform/temporal.js';
import { COT_SCHEDULE_ID } from '../../workflows/contracts/cot.js';
import type { ApiDeps } from '../deps.js';
import type { Api } from '../route.js';
import { RunOut, runViews } from './cotRuns.js';

/** `GET /api/v1/cot/status`. */
export function cotStatusRoutes(api: Api, deps: ApiDeps) {
  const { config, db, temporal } = deps;

  api.route({
    method: 'get',
    path: '/api/v1/cot/status',
    summary: 'Freshness of each report, the last ingestion and the next scheduled one',
    tag: 'cot',
    access: ['operator', 'merchant'],
    responses: {
      200: {
        description: 'Status',
        schema: z.object({
          stale: z.boolean().describe(`true when no report is newer than DATA_STALE_DAYS`),
          stale_after_days: z.number(),
          reports: z.array(
            z.object({
              report_type: z.enum(reportTypes),
              subtype: z.enum(subtypes),
              latest_report: z.string(),
              age_days: z.number(),
              stale: z.boolean(),
            }),
          ),
          last_run: z.union([RunOut, z.null()]),
          next_run_at: z.string().nullable(),
          schedule_url: z.string().nullable(),
        }),
      },
    },
    handler: async (ctx) => {
      const [rows, lastRun, schedule] = await Promise.all([
        cotFreshness(db),
        latestCotRun(db),
        describeCotSchedule(temporal.client),
      ]);
      const staleDays = config.cot.staleDays;
      const freshness = rows.map((r) => ({ ...r, stale: r.age_days > staleDays }));
      ctx.body = {
        stale: freshness.every((r) => r.stale),
        stale_after_days: staleDays,
        reports: freshness,
        last_run: lastRun ? (await runViews(deps, [lastRun]))[0] : null,
        next_run_at: schedule?.info.nextActionTimes[0]?.toISOString() ?? null,
        schedule_url: schedule ? scheduleUrl(config, COT_SCHEDULE_ID) : null,
      };
    },
  });
}
