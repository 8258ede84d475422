import type { Knex } from 'knex';
import { z } from 'zod';
import type { ApiKey } from '../../db/models/ApiKey.js';
import type { Merchant } from '../../db/models/Merchant.js';
import {
  createMerchantWithKey,
  findMerchant,
  issueApiKey,
  listMerchants,
  merchantApiKeys,
  revokeApiKey,
  rotateWebhookSecret,
  updateWebhookEndpoint,
} from '../../db/merchants.js';
import { companyEventTypes } from '../../db/companies.js';
import { paymentEventTypes } from '../../db/payments.js';
import { API_KEY_REVOKED } from '../../lib/accounts/accessCache.js';
import { decryptSecret, encryptSecret, newWebhookSecret } from '../../lib/platform/crypto.js';
import { domainEvent, publish } from '../../lib/platform/events.js';
import type { AppContext } from '../context.js';
import type { ApiDeps } from '../deps.js';
import { notFound } from '../errors.js';
import { markReplayed } from '../idempotency.js';
import { HttpUrl, publicUrl } from '../outboundUrl.js';
import type { Api } from '../route.js';
import { isoOrNull } from '../dates.js';

const MerchantOut = z
  .object({
    id: z.uuid(),
    name: z.string(),
    webhook_url: z.string().nullable(),
    webhook_events: z.array(z.string()),
    webhook_disabled_at: z.string().nullable(),
    webhook_disabled_reason: z.string().nullable(),
    created_at: z.string(),
  })
  .meta({ id: 'Merchant' });
const WebhookUrl = HttpUrl;
const webhookEventTypes = [...paymentEventTypes, ...companyEventTypes];
const WebhookEvents = z
  .array(z.enum(['*', ...webhookEventTypes]))
  .min(1)
  .max(webhookEventTypes.length + 1)
  .transform((types) => [...new Set(types)])
  .meta({ description: 'Event types the endpoint receives; `*` (the default) is every type' });
const ROTATION_OVERLAP_MS = 24 * 3600 * 1000;
const ApiKeyOut = z
  .object({
    id: z.uuid(),
    name: z.string(),
    prefix: z.string(),
    created_at: z.string(),
    revoked_at: z.string().nullable(),
    last_used_at: z
      .string()
      .nullable()
      .describe('when the key was last used, to the minute (each API process writes it at most once a minute)'),
  })
  .meta({ id: 'ApiKey' });
const MerchantParams = z.object({ id: z.uuid() });

const merchantOut = (m: Merchant) => ({
  id: m.id,
  name: m.name,
  webhook_url: m.webhook_url,
  webhook_events: m.webhook_events,
  webhook_disabled_at: isoOrNull(m.webhook_disabled_at),
  webhook_disabled_reason: m.webhook_disabled_reason,
  created_at: isoOrNull(m.created_at)!,
});
const apiKeyOut = (k: ApiKey) => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  created_at: isoOrNull(k.created_at)!,
  revoked_at: isoOrNull(k.revoked_at),
  last_used_at: isoOrNull(k.last_used_at),
});

/** A merchant may only look at itself; to it, every other merchant does not exist. */
async function visibleMerchant(db: Knex, ctx: AppContext, id: string): Promise<Merchant> {
  const p = ctx.state.principal!;
  const merchant = p.kind === 'merchant' && p.merchantId !== id ? undefined : await findMerchant(db, id);
  if (!merchant) throw notFound('Merchant');
  return merchant;
}

export function merchantRoutes(api: Api, { config, db, redis, apiKeys }: ApiDeps) {
  const checkedEndpoint = (url: string) => publicUrl(url, 'webhook_url', config.outboundAllowList);

  api.route({
    method: 'post',
    path: '/api/v1/merchants',
    summary: 'Create a merchant and its first API key (both secrets are shown only in this response)',
    tag: 'merchants',
    access: ['admin'],
    body: z.object({
      name: z.string().trim().min(1).max(200),
      webhook_url: WebhookUrl.nullish(),
      webhook_events: WebhookEvents.optional(),
    }),
    responses: {
      201: {
        description: 'Created',
        schema: z.object({ merchant: MerchantOut, api_key: ApiKeyOut, key: z.string(), webhook_secret: z.string() }),
      },
    },
    handler: async (ctx, { body }) => {
      if (body.webhook_url) checkedEndpoint(body.webhook_url);
      const created = await createMerchantWithKey(db, body, config.secretsKey);
      ctx.status = 201;
      ctx.body = {
        merchant: merchantOut(created.merchant),
        api_key: apiKeyOut(created.apiKey),
        key: created.key,
        webhook_secret: created.webhookSecret,
      };
    },
  });

  api.route({
    method: 'get',
    path: '/api/v1/merchants',
    summary: 'List merchants',
    tag: 'merchants',
    access: ['operator'],
    responses: { 200: { description: 'Merchants, newest first', schema: z.object({ data: z.array(MerchantOut) }) } },
    handler: async (ctx) => {
      ctx.body = { data: (await listMerchants(db)).map(merchantOut) };
    },
  });

  api.route({
    method: 'get',
    path: '/api/v1/merchants/:id',
    summary: 'One merchant (a merchant key sees only its own)',
    tag: 'merchants',
    access: ['operator', 'merchant'],
    params: MerchantParams,
    responses: { 200: { description: 'The merchant', schema: MerchantOut }, 404: { description: 'No such merchant' } },
    handler: async (ctx, { params }) => {
      ctx.body = merchantOut(await visibleMerchant(db, ctx, params.id));
    },
  });

  api.route({
    method: 'get',
    path: '/api/v1/merchants/:id/api-keys',
    summary: "A merchant's API keys (prefixes only)",
    tag: 'merchants',
    access: ['operator', 'merchant'],
    params: MerchantParams,
    responses: {
      200: { description: 'Keys', schema: z.object({ data: z.array(ApiKeyOut) }) },
      404: { description: 'No such merchant' },
    },
    handler: async (ctx, { params }) => {
      const merchant = await visibleMerchant(db, ctx, params.id);
      ctx.body = { data: (await merchantApiKeys(db, merchant.id)).map(apiKeyOut) };
    },
  });

  api.route({
    method: 'post',
    path: '/api/v1/merchants/:id/api-keys',
    summary: 'Issue another API key (shown only in this response)',
    tag: 'merchants',
    access: ['admin'],
    params: MerchantParams,
    body: z.object({ name: z.string().trim().min(1).max(100) }),
    responses: {
      201: { description: 'Issued', schema: z.object({ api_key: ApiKeyOut, key: z.string() }) },
      404: { description: 'No such merchant' },
    },
    handler: async (ctx, { params, body }) => {
      const merchant = await visibleMerchant(db, ctx, params.id);
      const { apiKey, key } = await issueApiKey(merchant.id, body.name, undefined, db);
      ctx.status = 201;
      ctx.body = { api_key: apiKeyOut(apiKey), key };
    },
  });

  api.route({
    method: 'delete',
    path: '/api/v1/merchants/:id/api-keys/:keyId',
    summary: 'Revoke an API key',
    tag: 'merchants',
    access: ['admin'],
    params: z.object({ id: z.uuid(), keyId: z.uuid() }),
    responses: { 200: { description: 'Revoked', schema: ApiKeyOut }, 404: { description: 'No such key' } },
    handler: async (ctx, { params }) => {
      const revoked = await revokeApiKey(db, params.id, params.keyId);
      if (!revoked) throw notFound('Active API key');
      // Refused by this process from the next request on; the event makes every other API process forget the key
      // and ends the event streams opened with it (a lost one costs at most API_KEY_CACHE_MS). Best effort.
      apiKeys.forgetWhere((key) => key?.id === revoked.id);
      await publish(redis, domainEvent(API_KEY_REVOKED, revoked.merchant_id, { api_key_id: revoked.id })).catch(
        () => {},
      );
      ctx.body = apiKeyOut(revoked);
    },
  });

  api.route({
    method: 'patch',
    path: '/api/v1/merchants/:id',
    summary: 'Set the webhook endpoint (re-enables a disabled one) and the event types it receives',
    tag: 'merchants',
    access: ['admin', 'merchant'],
    params: MerchantParams,
    body: z
      .object({ webhook_url: WebhookUrl.nullable().optional(), webhook_events: WebhookEvents.optional() })
      .refine((b) => b.webhook_url !== undefined || b.webhook_events !== undefined, {
        message: 'Give webhook_url, webhook_events or both',
      }),
    responses: { 200: { description: 'Updated', schema: MerchantOut }, 404: { description: 'No such merchant' } },
    handler: async (ctx, { params, body }) => {
      const merchant = await visibleMerchant(db, ctx, params.id);
      const updated = await updateWebhookEndpoint(db, merchant.id, {
        // Undefined (leave it) and null (remove it) pass through; an address is checked first.
        webhook_url: body.webhook_url && checkedEndpoint(body.webhook_url),
        webhook_events: body.webhook_events,
      });
      ctx.body = merchantOut(updated);
    },
  });

  api.route({
    method: 'post',
    path: '/api/v1/merchants/:id/webhook-secret/rotate',
    summary: 'New webhook signing secret (shown once); the old one keeps signing for 24 h',
    tag: 'merchants',
    access: ['admin', 'merchant'],
    idempotent: true,
    params: MerchantParams,
    responses: {
      200: {
        description: 'Rotated',
        schema: z.object({ webhook_secret: z.string(), previous_secret_expires_at: z.string() }),
      },
      404: { description: 'No such merchant' },
    },
    handler: async (ctx, { params, idempotencyKeyId }) => {
      const merchant = await visibleMerchant(db, ctx, params.id);
      const secret = newWebhookSecret();
      const expires = new Date(Date.now() + ROTATION_OVERLAP_MS);
      if (
        await rotateWebhookSecret(db, merchant, encryptSecret(secret, config.secretsKey), expires, idempotencyKeyId)
      ) {
        ctx.body = { webhook_secret: secret, previous_secret_expires_at: expires.toISOString() };
        return;
      }
      // An earlier attempt of this request rotated (its process killed, say): what it set is what it answered.
      const rotated = await visibleMerchant(db, ctx, params.id);
      markReplayed(ctx);
      ctx.body = {
        webhook_secret: decryptSecret(rotated.webhook_secret_enc, config.secretsKey),
        previous_secret_expires_at: rotated.webhook_secret_prev_expires_at!.toISOString(),
      };
    },
  });
}
