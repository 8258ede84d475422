import { z } from 'zod';
import { WebhookAttempt, WebhookDelivery } from '../../db/models/Webhook.js';
import { startDeliveryWorkflow } from '../../clients/webhooks.js';
import { deliveryWorkflowId } from '../../workflows/contracts/webhooks.js';
import type { AppContext } from '../context.js';
import type { ApiDeps } from '../deps.js';
import { ApiError, notFound } from '../errors.js';
import { pageOf, PageQuery } from '../pagination.js';
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

type DeliveryRow = WebhookDelivery & { event_type: string; intent_id: string | null };
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

export function webhookRoutes(api: Api, { config, temporal }: ApiDeps) {
  /** Deliveries joined with their event; merchants are confined to their own. */
  function deliveries(ctx: AppContext) {
    const p = ctx.state.principal!;
    const q = WebhookDelivery.query()
      .select('webhook_deliveries.*', 'events.type as event_type', 'events.intent_id')
      .join('events', 'events.id', 'webhook_deliveries.event_id');
    if (p.kind === 'merchant') q.where('webhook_deliveries.merchant_id', p.merchantId);
    return q;
  }

  async function visibleDelivery(ctx: AppContext, id: string): Promise<DeliveryRow> {
    const d = (await deliveries(ctx).findById(id)) as DeliveryRow | undefined;
    if (!d) throw notFound('Webhook delivery');
    return d;
  }

  /** Puts a closed delivery back to pending and runs the whole schedule again. */
  async function redeliver(delivery: WebhookDelivery): Promise<void> {
    if (delivery.status === 'pending')
      throw new ApiError(409, 'delivery_in_progress', 'This delivery is still being attempted');
    await WebhookDelivery.query()
      .patch({ status: 'pending', last_error: null, updated_at: new Date() })
      .findById(delivery.id);
    const started = await startDeliveryWorkflow(temporal.client, config, {
      deliveryId: delivery.id,
      merchantId: delivery.merchant_id,
      again: true,
    });
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
      const q = deliveries(ctx);
      if (query.status) q.where('webhook_deliveries.status', query.status);
      if (query.event_type) q.where('events.type', query.event_type);
      if (query.intent_id) q.where('events.intent_id', query.intent_id);
      if (query.merchant_id && ctx.state.principal!.kind === 'user')
        q.where('webhook_deliveries.merchant_id', query.merchant_id);
      const page = await pageOf(q.castTo<WebhookDelivery>() as never, query);
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
      const attempts = await WebhookAttempt.query().where({ delivery_id: d.id }).orderBy('id');
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
    responses: { 202: { description: 'Redeliveries started', schema: z.object({ redelivered: z.number().int() }) } },
    handler: async (ctx, { body }) => {
      const p = ctx.state.principal!;
      const merchantId = p.kind === 'merchant' ? p.merchantId : body.merchant_id;
      if (!merchantId)
        throw new ApiError(400, 'validation_error', 'merchant_id is required for operators', [
          { path: 'merchant_id', message: 'Required' },
        ]);
      const failed = await WebhookDelivery.query()
        .where({ merchant_id: merchantId, status: 'failed' })
        .where('created_at', '>=', new Date(body.since))
        .limit(1000);
      for (const delivery of failed) await redeliver(delivery);
      ctx.status = 202;
      ctx.body = { redelivered: failed.length };
    },
  });
}
