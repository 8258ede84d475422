import { z } from 'zod';
import type { WebhookDelivery } from '../../db/models/Webhook.js';
import {
  deliveriesQuery,
  deliveryAttempts,
  failedDeliveriesSince,
  findDeliveryRow,
  reopenDelivery,
  type DeliveryRow,
} from '../../db/webhooks.js';
import { startDeliveryWorkflow } from '../../clients/webhooks.js';
import { deliveryWorkflowId } from '../../workflows/contracts/webhooks.js';
import type { AppContext } from '../context.js';
import type { ApiDeps } from '../deps.js';
import { ApiError, notFound } from '../errors.js';
import { pageOf, PageQuery } from '../pagination.js';
import { temporalUnavailableResponse } from '../pending.js';
import type { Api } from '../route.js';
import { isoOrNull } from '../dates.js';

const deliveryStatuses = ['pending', 'succeeded', 'failed', 'canceled'] as const;
const DeliveryOut = z
  .object({
    id: z.uuid(),
    merchant_id: z.uuid(),
    event_id: z.string(),
    event_type: z.string(),
    intent_id: z.string().nullable(),
    status: z.enum(deliveryStatuses),
    attempts: z.number().int(),
    last_status_code: z.number().int().nullable(),
    last_error: z.string().nullable(),
    next_attempt_at: z.string().nullable(),
    delivered_at: z.string().nullable(),
    created_at: z.string(),
    workflow_id: z.string(),
  })
  .meta({ id: 'WebhookDelivery' });
const AttemptOut = z
  .object({
    id: z.number().int(),
    url: z.string(),
    status_code: z.number().int().nullable(),
    duration_ms: z.number().int(),
    response_snippet: z.string().nullable(),
    error: z.string().nullable(),
    created_at: z.string(),
  })
  .meta({ id: 'WebhookAttempt' });

const deliveryOut = (d: DeliveryRow) => ({
  id: d.id,
  merchant_id: d.merchant_id,
  event_id: d.event_id,
  event_type: d.event_type,
  intent_id: d.intent_id,
  status: d.status,
  attempts: d.attempts,
  last_status_code: d.last_status_code,
  last_error: d.last_error,
  next_attempt_at: isoOrNull(d.next_attempt_at),
  delivered_at: isoOrNull(d.delivered_at),
  created_at: isoOrNull(d.created_at)!,
  workflow_id: deliveryWorkflowId(d.id),
});

/** The merchant whose deliveries the caller is confined to: its own for an API key; none for operators. */
const ownMerchant = (ctx: AppContext) => {
  const p = ctx.state.principal!;
  return p.kind === 'merchant' ? p.merchantId : undefined;
};

export function webhookRoutes(api: Api, { config, db, temporal }: ApiDeps) {
  async function visibleDelivery(ctx: AppContext, id: string): Promise<DeliveryRow> {
    const d = await findDeliveryRow(db, id, ownMerchant(ctx));
    if (!d) throw notFound('Webhook delivery');
    return d;
  }

  /** Puts a closed delivery back to pending and runs the whole schedule again. */
  async function redeliver(delivery: WebhookDelivery): Promise<void> {
    if (delivery.status === 'pending')
      throw new ApiError(409, 'delivery_in_progress', 'This delivery is still being attempted');
    await reopenDelivery(db, delivery.id);
    // Only the start is awaited (the server answers it, worker or not); a server that does not within
    // WORKFLOW_WAIT_MS is a 503.
    const started = await temporal.connection.withDeadline(Date.now() + config.temporal.workflowWaitMs, () =>
      startDeliveryWorkflow(temporal.client, config, {
        deliveryId: delivery.id,
        merchantId: delivery.merchant_id,
        again: true,
      }),
    );
    if (!started) throw new ApiError(409, 'delivery_in_progress', 'This delivery is still being attempted');
  }

  api.route({
    method: 'get',
    path: '/api/v1/webhooks/history',
    summary: 'Webhook deliveries, newest first',
    tag: 'webhooks',
    access: ['merchant', 'operator'],
    query: PageQuery.extend({
      status: z.enum(deliveryStatuses).optional(),
      event_type: z.string().max(100).optional(),
      intent_id: z.string().max(100).optional(),
      merchant_id: z.uuid().optional(),
    }),
    responses: {
      200: {
        description: 'A page',
        schema: z.object({ data: z.array(DeliveryOut), next_cursor: z.string().nullable() }),
      },
    },
    handler: async (ctx, { query }) => {
      const q = deliveriesQuery(db, {
        merchantId: ownMerchant(ctx) ?? query.merchant_id,
        status: query.status,
        eventType: query.event_type,
        intentId: query.intent_id,
      });
      const page = await pageOf(q, query);
      ctx.body = { data: (page.rows as DeliveryRow[]).map(deliveryOut), next_cursor: page.nextCursor };
    },
  });

  api.route({
    method: 'get',
    path: '/api/v1/webhooks/:id',
    summary: 'One delivery with every attempt',
    tag: 'webhooks',
    access: ['merchant', 'operator'],
    params: z.object({ id: z.uuid() }),
    responses: {
      200: { description: 'The delivery', schema: DeliveryOut.extend({ attempts_log: z.array(AttemptOut) }) },
      404: { description: 'No such delivery' },
    },
    handler: async (ctx, { params }) => {
      const d = await visibleDelivery(ctx, params.id);
      const attempts = await deliveryAttempts(db, d.id);
      ctx.body = {
        ...deliveryOut(d),
        attempts_log: attempts.map((a) => ({ ...a, id: Number(a.id), created_at: isoOrNull(a.created_at)! })),
      };
    },
  });

  api.route({
    method: 'post',
    path: '/api/v1/webhooks/:id/retry',
    summary: 'Deliver again (the whole retry schedule)',
    tag: 'webhooks',
    access: ['merchant', 'operator'],
    idempotent: true,
    params: z.object({ id: z.uuid() }),
    responses: {
      202: { description: 'Redelivery started', schema: DeliveryOut },
      404: { description: 'No such delivery' },
      409: { description: 'Still being attempted' },
      503: temporalUnavailableResponse,
    },
    handler: async (ctx, { params }) => {
      await redeliver(await visibleDelivery(ctx, params.id));
      ctx.status = 202;
      ctx.body = deliveryOut(await visibleDelivery(ctx, params.id));
    },
  });

  api.route({
    method: 'post',
    path: '/api/v1/webhooks/redeliver',
    summary: "Redeliver every failed delivery of a merchant's endpoint since a time",
    tag: 'webhooks',
    access: ['merchant', 'operator'],
    idempotent: true,
    body: z.object({ since: z.iso.datetime({ offset: true }), merchant_id: z.uuid().optional() }),
    responses: {
      202: { description: 'Redeliveries started', schema: z.object({ redelivered: z.number().int() }) },
      503: temporalUnavailableResponse,
    },
    handler: async (ctx, { body }) => {
      const p = ctx.state.principal!;
      const merchantId = p.kind === 'merchant' ? p.merchantId : body.merchant_id;
      if (!merchantId)
        throw new ApiError(400, 'validation_error', 'merchant_id is required for operators', [
          { path: 'merchant_id', message: 'Required' },
        ]);
      const failed = await failedDeliveriesSince(db, merchantId, new Date(body.since));
      for (const delivery of failed) await redeliver(delivery);
      ctx.status = 202;
      ctx.body = { redelivered: failed.length };
    },
  });
}
