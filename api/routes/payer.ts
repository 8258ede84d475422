/** The payer's side of a payment: what the checkout page shows, reached by the payment token (`pt_…`) alone. */
import type { Knex } from 'knex';
import { z } from 'zod';
import { processPaymentIntent } from '../../clients/payments.js';
import { findMerchant } from '../../db/merchants.js';
import type { PaymentIntent } from '../../db/models/Payment.js';
import { findIntent, findIntentByToken, paymentStatuses, type PaymentStatus } from '../../db/payments.js';
import { CurrencyOut } from '../currency.js';
import type { ApiDeps } from '../deps.js';
import { ApiError, notFound } from '../errors.js';
import { answerPending, pendingResponse, temporalUnavailableResponse } from '../pending.js';
import type { Api } from '../route.js';

export const PayerView = z
  .object({
    amount: z.number().int(),
    currency: CurrencyOut,
    order_id: z.string(),
    merchant_name: z.string(),
    status: z.enum(paymentStatuses),
    cancellation_reason: z.string().nullable(),
    expires_at: z.string(),
  })
  .meta({ id: 'PayerPaymentView' });

const TokenParams = z.object({ token: z.string().regex(/^pt_[A-Za-z0-9_-]{40,64}$/, 'a payment token (pt_…)') });

const terminal = (s: PaymentStatus) => s === 'succeeded' || s === 'failed' || s === 'canceled';

/** The intent this payment token opens; 404 when none does. */
export async function intentByToken(db: Knex, token: string): Promise<PaymentIntent> {
  const intent = await findIntentByToken(db, token);
  if (!intent) throw notFound('Payment');
  return intent;
}

/** What the payer sees of an intent (`PayerView`): amount, merchant name and state; no ids. */
export async function payerView(db: Knex, intent: PaymentIntent) {
  const merchant = await findMerchant(db, intent.merchant_id);
  return {
    amount: Number(intent.amount),
    currency: intent.currency,
    order_id: intent.order_id,
    merchant_name: merchant?.name ?? '',
    status: intent.status,
    cancellation_reason: intent.cancellation_reason,
    expires_at: new Date(intent.expires_at).toISOString(),
  };
}

/**
 * The payer's POST, declared last by `paymentRoutes` (declaration order is the OpenAPI document's order). The
 * payer page's GET shares `/api/v1/payments/:ref` with merchants and is declared there.
 */
export function payerRoutes(api: Api, { config, db, temporal }: ApiDeps) {
  api.route({
    method: 'post',
    path: '/api/v1/payments/:token/process',
    summary: "The payer's outcome (simulated processor); answers with the final state, or 202 while it is recorded",
    tag: 'payments',
    access: ['public'],
    params: TokenParams,
    body: z.object({ outcome: z.enum(['succeeded', 'failed']) }),
    responses: {
      200: {
        description: 'Final state; a repeated submit returns the state without processing again',
        schema: PayerView,
      },
      202: pendingResponse(PayerView, 'poll `GET /api/v1/payments/{token}` (Location) until the status settles.'),
      404: { description: 'No such payment' },
      409: { description: 'Canceled or expired' },
      503: temporalUnavailableResponse,
    },
    handler: async (ctx, { params, body }) => {
      const intent = await intentByToken(db, params.token);
      const processed = terminal(intent.status)
        ? null
        : await processPaymentIntent(temporal.client, intent.id, body.outcome, config.temporal.workflowWaitMs);
      const current = (await findIntent(db, intent.id))!;
      if (current.status === 'canceled')
        throw new ApiError(409, 'invalid_state', 'This payment was canceled and can no longer be paid', {
          reason: current.cancellation_reason,
        });
      const view = await payerView(db, current);
      if (processed?.done === false && !terminal(current.status))
        answerPending(ctx, `/api/v1/payments/${params.token}`, view);
      else ctx.body = view;
    },
  });
}
