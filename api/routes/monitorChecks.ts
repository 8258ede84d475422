/** A monitor's checks: check now, and the history of checks and alerts behind the chart. */
import { z } from 'zod';
import { checkMonitorNow } from '../../clients/monitors.js';
import { findCheck, monitorHistory } from '../../db/monitors.js';
import { workflowUrl } from '../../lib/platform/temporal.js';
import type { ApiDeps } from '../deps.js';
import { answerPending, temporalUnavailableResponse } from '../pending.js';
import type { Api } from '../route.js';
import { AlertOut, alertView, CheckOut, checkView, IdParams, visibleMonitor } from './monitorShared.js';

const MAX_HISTORY_POINTS = 5000;

/** `/api/v1/monitors/:id/check` and `/api/v1/monitors/:id/history`. */
export function monitorCheckRoutes(api: Api, { config, db, temporal }: ApiDeps) {
  api.route({
    method: 'post',
    path: '/api/v1/monitors/:id/check',
    summary: 'Check now; answers with the check when it finishes within WORKFLOW_WAIT_MS (10 s), else 202',
    tag: 'monitors',
    access: ['merchant', 'operator'],
    params: IdParams,
    responses: {
      200: { description: 'The check', schema: CheckOut },
      202: {
        description:
          'Still running (retrying a failing shop, or waiting for a worker); the check will be in the history',
        schema: z.object({ workflow_id: z.string(), temporal_url: z.string() }),
        headers: { Location: "The monitor's history, where the check will show" },
      },
      404: { description: 'No such monitor' },
      503: temporalUnavailableResponse,
    },
    handler: async (ctx, { params }) => {
      const monitor = await visibleMonitor(db, ctx, params.id);
      const { workflowId, finished } = await checkMonitorNow(
        temporal.client,
        config,
        monitor.id,
        config.temporal.workflowWaitMs,
      );
      // A failed run also has nothing to show beyond its workflow; either way the stored check answers.
      const check = finished ? await findCheck(db, workflowId) : undefined;
      if (!check) {
        answerPending(ctx, `/api/v1/monitors/${monitor.id}/history`, {
          workflow_id: workflowId,
          temporal_url: workflowUrl(config, workflowId),
        });
        return;
      }
      ctx.body = checkView(config)(check);
    },
  });

  api.route({
    method: 'get',
    path: '/api/v1/monitors/:id/history',
    summary: 'Every check (failures too) and alert in a time range, oldest first: chart data',
    tag: 'monitors',
    access: ['merchant', 'operator'],
    params: IdParams,
    query: z.object({
      from: z.iso.datetime({ offset: true }).optional(),
      to: z.iso.datetime({ offset: true }).optional(),
    }),
    responses: {
      200: {
        description: `At most ${MAX_HISTORY_POINTS} checks`,
        schema: z.object({ checks: z.array(CheckOut), alerts: z.array(AlertOut), truncated: z.boolean() }),
      },
      404: { description: 'No such monitor' },
    },
    handler: async (ctx, { params, query }) => {
      const monitor = await visibleMonitor(db, ctx, params.id, true);
      const range = {
        from: query.from ? new Date(query.from) : undefined,
        to: query.to ? new Date(query.to) : undefined,
      };
      const history = await monitorHistory(db, monitor.id, range, MAX_HISTORY_POINTS);
      ctx.body = {
        checks: history.checks.map(checkView(config)),
        alerts: history.alerts.map(alertView),
        truncated: history.truncated,
      };
    },
  });
}
