import { z } from 'zod';
import { cancelPaymentIntent, startPaymentWorkflow } from '../../clients/payments.js';
import type { PaymentIntent } from '../../db/models/Payment.js';
import {
  createIntent,
  findIntent,
  intentsQuery,
  intentTransactions,
  intentView,
  merchantNames,
  paymentStatuses,
} from '../../db/payments.js';
import { eventDeliveries, intentEvents } from '../../db/webhooks.js';
import { newId } from '../../lib/platform/ids.js';
import { decryptSecret, encryptSecret, sha256 } from '../../lib/platform/crypto.js';
import { domainEvent, publish } from '../../lib/platform/events.js';
import { workflowUrl } from '../../lib/platform/temporal.js';
import { paymentWorkflowId } from '../../workflows/contracts/payments.js';
import type { AppContext } from '../context.js';
import { CurrencyIn, CurrencyOut } from '../currency.js';
import type { ApiDeps } from '../deps.js';
import { ApiError, notFound, unauthorized } from '../errors.js';
import { markReplayed } from '../idempotency.js';
import { answerPending, pendingResponse, temporalUnavailableResponse } from '../pending.js';
import { pageOf, PageQuery } from '../pagination.js';
import type { Api } from '../route.js';
import { intentByToken, payerRoutes, payerView, PayerView } from './payer.js';

const MAX_METADATA_KEYS = 20;

const PaymentIntentOut = z
  .object({
    id: z.string(),
    object: z.literal('payment_intent'),
    amount: z.number().int(),
    currency: CurrencyOut,
    order_id: z.string(),
    metadata: z.record(z.string(), z.unknown()),
    status: z.enum(paymentStatuses),
    cancellation_reason: z.string().nullable(),
    expires_at: z.string(),
    created_at: z.string(),
    updated_at: z.string(),
    merchant_id: z.string(),
    payment_token: z.string(),
    checkout_url: z.string(),
    workflow_id: z.string(),
    temporal_url: z.string(),
  })
  .meta({ id: 'PaymentIntent' });
/** As listed and shown to operators: with the merchant's name beside its id. */
const PaymentIntentNamed = PaymentIntentOut.extend({ merchant_name: z.string() }).meta({
  id: 'PaymentIntentWithMerchant',
});
const PaymentDetail = PaymentIntentNamed.extend({
  transactions: z.array(
    z.object({
      id: z.number(),
      type: z.string(),
      from_status: z.string().nullable(),
      to_status: z.string(),
      data: z.record(z.string(), z.unknown()),
      created_at: z.string(),
    }),
  ),
  events: z.array(
    z.object({
      id: z.string(),
      type: z.string(),
      created_at: z.string(),
      delivery: z.object({ id: z.string(), status: z.string(), attempts: z.number() }).nullable(),
    }),
  ),
}).meta({ id: 'PaymentIntentDetail' });
const CreatePayment = z.object({
  amount: z.number().int().positive().max(99_999_999),
  currency: CurrencyIn,
  order_id: z.string().trim().min(1).max(200),
  metadata: z
    .record(z.string().min(1).max(40), z.union([z.string().max(500), z.number(), z.boolean(), z.null()]))
    .refine((m) => Object.keys(m).length <= MAX_METADATA_KEYS, `at most ${MAX_METADATA_KEYS} keys`)
    .optional(),
});
const IntentRef = z.object({
  ref: z.string().regex(/^p[it]_[A-Za-z0-9_-]{16,64}$/, 'a payment id (pi_…) or payment token (pt_…)'),
});
const IdParams = z.object({ id: z.string().regex(/^pi_[A-Za-z0-9_-]{16,64}$/, 'a payment id (pi_…)') });

export function paymentRoutes(api: Api, deps: ApiDeps) {
  const { config, db, temporal, redis } = deps;

  function merchantView(intent: PaymentIntent) {
    const token = decryptSecret(intent.payment_token_enc, config.secretsKey);
    const workflowId = paymentWorkflowId(intent.id);
    return {
      ...intentView(intent),
      merchant_id: intent.merchant_id,
      payment_token: token,
      checkout_url: `${config.publicUrl}/pay/${token}`,
      workflow_id: workflowId,
      temporal_url: workflowUrl(config, workflowId),
    };
  }

  /** Merchants reach their own intents; operators all; anybody else learns nothing. */
  async function visibleIntent(ctx: AppContext, id: string): Promise<PaymentIntent> {
    const p = ctx.state.principal;
    if (!p) throw unauthorized();
    const intent = await findIntent(db, id, p.kind === 'merchant' ? p.merchantId : undefined);
    if (!intent) throw notFound('Payment intent');
    return intent;
  }

  api.route({
    method: 'post',
    path: '/api/v1/payments',
    // The seed contract's path. Refs are `pi_…`/`pt_…`, so `create` never reaches `/api/v1/payments/:ref` as one.
    aliases: ['/api/v1/payments/create'],
    summary: 'Create a payment intent',
    tag: 'payments',
    access: ['merchant'],
    idempotent: true,
    body: CreatePayment,
    responses: { 201: { description: 'Created; send the payer to checkout_url', schema: PaymentIntentOut } },
    handler: async (ctx, { body, idempotencyKeyId }) => {
      const merchantId = (ctx.state.principal as { merchantId: string }).merchantId;
      const token = newId('pt', 32);
      const id = newId('pi');
      const { intent, created } = await createIntent(
        db,
        {
          id,
          merchant_id: merchantId,
          amount: body.amount,
          currency: body.currency,
          order_id: body.order_id,
          metadata: body.metadata ?? {},
          payment_token_hash: sha256(token),
          payment_token_enc: encryptSecret(token, config.secretsKey),
          expires_at: new Date(Date.now() + config.payments.expiryS * 1000),
          idempotency_key_id: idempotencyKeyId ?? null,
        },
        // Started inside the transaction: if Temporal refuses, nothing is stored; if the commit fails,
        // the workflow's first write finds no intent and fails visibly instead of inventing one.
        (logged) =>
          startPaymentWorkflow(temporal.client, config, {
            intentId: id,
            merchantId,
            expiresInMs: config.payments.expiryS * 1000,
            createdDeliveryId: logged.deliveryId,
          }),
      );
      // Not created: an earlier attempt of this request (its process killed, say) committed it and told everyone.
      if (!created) markReplayed(ctx);
      else
        await publish(
          redis,
          domainEvent('payment_intent.created', merchantId, {
            intent_id: id,
            status: intent.status,
            workflow_id: paymentWorkflowId(id),
          }),
        ).catch(() => {});
      ctx.status = 201;
      ctx.body = merchantView(intent);
    },
  });

  api.route({
    method: 'get',
    path: '/api/v1/payments',
    summary: 'List payment intents, newest first',
    tag: 'payments',
    access: ['merchant', 'operator'],
    query: PageQuery.extend({
      status: z.enum(paymentStatuses).optional(),
      order_id: z.string().max(200).optional(),
      merchant_id: z.uuid().optional(),
    }),
    responses: {
      200: {
        description: 'A page',
        schema: z.object({ data: z.array(PaymentIntentNamed), next_cursor: z.string().nullable() }),
      },
    },
    handler: async (ctx, { query }) => {
      const p = ctx.state.principal!;
      const q = intentsQuery(db, {
        merchantId: p.kind === 'merchant' ? p.merchantId : query.merchant_id,
        status: query.status,
        orderId: query.order_id,
      });
      const page = await pageOf(q, query);
      const names = await merchantNames(
        db,
        page.rows.map((r) => r.merchant_id),
      );
      ctx.body = {
        data: page.rows.map((r) => ({ ...merchantView(r), merchant_name: names.get(r.merchant_id)! })),
        next_cursor: page.nextCursor,
      };
    },
  });

  api.route({
    method: 'get',
    path: '/api/v1/payments/:ref',
    summary:
      'One payment: by id (pi_…) for its merchant and operators, with its log; by token (pt_…) for the payer page',
    tag: 'payments',
    access: ['public', 'merchant', 'operator'],
    params: IntentRef,
    responses: {
      200: {
        description: 'The intent (detail for merchants and operators, payer view for a token)',
        schema: z.union([PaymentDetail, PayerView]),
      },
      404: { description: 'No such payment' },
    },
    handler: async (ctx, { params }) => {
      if (params.ref.startsWith('pt_')) {
        ctx.body = await payerView(db, await intentByToken(db, params.ref));
        return;
      }
      const intent = await visibleIntent(ctx, params.ref);
      const [transactions, events, names] = await Promise.all([
        intentTransactions(db, intent.id),
        intentEvents(db, intent.id),
        merchantNames(db, [intent.merchant_id]),
      ]);
      const deliveries = await eventDeliveries(
        db,
        events.map((e) => e.id),
      );
      ctx.body = {
        ...merchantView(intent),
        merchant_name: names.get(intent.merchant_id)!,
        transactions: transactions.map((t) => ({
          ...t,
          id: Number(t.id),
          created_at: new Date(t.created_at).toISOString(),
        })),
        events: events.map((e) => {
          const d = deliveries.find((x) => x.event_id === e.id);
          return {
            id: e.id,
            type: e.type,
            created_at: new Date(e.created_at).toISOString(),
            delivery: d ? { id: d.id, status: d.status, attempts: d.attempts } : null,
          };
        }),
      };
    },
  });

  api.route({
    method: 'post',
    path: '/api/v1/payments/:id/cancel',
    summary: 'Cancel an intent that has not been paid',
    tag: 'payments',
    access: ['merchant', 'operator'],
    idempotent: true,
    params: IdParams,
    body: z.object({
      reason: z
        .enum(['requested_by_customer', 'duplicate', 'fraudulent', 'abandoned'])
        .default('requested_by_customer'),
    }),
    responses: {
      200: { description: 'Canceled', schema: PaymentIntentOut },
      202: pendingResponse(PaymentIntentOut, 'poll `GET /api/v1/payments/{id}` (Location) for `canceled`.'),
      404: { description: 'No such payment' },
      409: { description: 'Already processed' },
      503: temporalUnavailableResponse,
    },
    handler: async (ctx, { params, body }) => {
      const intent = await visibleIntent(ctx, params.id);
      const canceled = await cancelPaymentIntent(
        temporal.client,
        intent.id,
        body.reason,
        config.temporal.workflowWaitMs,
      );
      const current = await findIntent(db, intent.id);
      if (canceled?.done === false && current!.status === 'requires_payment_method')
        return answerPending(ctx, `/api/v1/payments/${intent.id}`, merchantView(current!));
      if (current!.status !== 'canceled')
        throw new ApiError(409, 'invalid_state', `A payment that is ${current!.status} cannot be canceled`);
      ctx.body = merchantView(current!);
    },
  });

  payerRoutes(api, deps);
}
