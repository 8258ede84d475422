/** Merchants (their webhook endpoint and signing secrets) and their API keys. */
import type { Knex } from 'knex';
import { randomBytes } from 'node:crypto';
import { ApiKey } from './models/ApiKey.js';
import { Merchant } from './models/Merchant.js';
import { encryptSecret, newWebhookSecret, sha256 } from '../lib/platform/crypto.js';

const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A new API key: `mk_live_` and 32 random alphanumeric characters. */
export function generateApiKey(): string {
  const bytes = randomBytes(32);
  return `mk_live_${Array.from(bytes, (b) => KEY_ALPHABET[b % KEY_ALPHABET.length]).join('')}`;
}

/**
 * Creates a merchant with a fresh webhook signing secret; the plaintext secret is returned once.
 * `db`: the Knex or transaction to write with (default: the one the models are bound to).
 */
export async function createMerchant(
  input: { name: string; webhook_url?: string | null; webhook_events?: string[] },
  secretsKey: Buffer,
  db?: Knex,
): Promise<{ merchant: Merchant; webhookSecret: string }> {
  const webhookSecret = newWebhookSecret();
  const merchant = await Merchant.query(db).insertAndFetch({
    name: input.name,
    webhook_url: input.webhook_url ?? null,
    ...(input.webhook_events ? { webhook_events: input.webhook_events } : {}),
    webhook_secret_enc: encryptSecret(webhookSecret, secretsKey),
  });
  return { merchant, webhookSecret };
}

/**
 * Stores only the key's hash and a recognisable prefix; the caller shows the key once.
 * `db`: the Knex or transaction to write with (default: the one the models are bound to).
 */
export async function issueApiKey(
  merchantId: string,
  name: string,
  key = generateApiKey(),
  db?: Knex,
): Promise<{ apiKey: ApiKey; key: string }> {
  const apiKey = await ApiKey.query(db).insertAndFetch({
    merchant_id: merchantId,
    name,
    prefix: key.slice(0, 12),
    key_hash: sha256(key),
  });
  return { apiKey, key };
}

/** A merchant and its first API key (`default`), in one transaction; both plaintext secrets are returned once. */
export async function createMerchantWithKey(
  db: Knex,
  input: Parameters<typeof createMerchant>[0],
  secretsKey: Buffer,
): Promise<{ merchant: Merchant; webhookSecret: string; apiKey: ApiKey; key: string }> {
  return db.transaction(async (trx) => {
    const { merchant, webhookSecret } = await createMerchant(input, secretsKey, trx);
    const { apiKey, key } = await issueApiKey(merchant.id, 'default', undefined, trx);
    return { merchant, webhookSecret, apiKey, key };
  });
}

/** The merchant, or undefined when there is none with this id. */
export async function findMerchant(db: Knex, id: string): Promise<Merchant | undefined> {
  return Merchant.query(db).findById(id);
}

/** The 500 newest merchants, newest first. */
export async function listMerchants(db: Knex): Promise<Merchant[]> {
  return Merchant.query(db).orderBy('created_at', 'desc').limit(500);
}

/** The merchant's API keys, revoked ones included, newest first. */
export async function merchantApiKeys(db: Knex, merchantId: string): Promise<ApiKey[]> {
  return ApiKey.query(db).where({ merchant_id: merchantId }).orderBy('created_at', 'desc');
}

/** Revokes the merchant's key now; undefined when it has no such key or the key is already revoked. */
export async function revokeApiKey(db: Knex, merchantId: string, keyId: string): Promise<ApiKey | undefined> {
  return ApiKey.query(db)
    .patchAndFetchById(keyId, { revoked_at: new Date() })
    .where({ merchant_id: merchantId })
    .whereNull('revoked_at');
}

/**
 * Sets the merchant's webhook endpoint and/or the event types it receives (an omitted field is left as it is);
 * setting the endpoint, even to null, clears its disabled and failing state. Returns the updated merchant.
 */
export async function updateWebhookEndpoint(
  db: Knex,
  merchantId: string,
  change: { webhook_url?: string | null; webhook_events?: string[] },
): Promise<Merchant> {
  return Merchant.query(db).patchAndFetchById(merchantId, {
    ...(change.webhook_url !== undefined && {
      webhook_url: change.webhook_url,
      webhook_disabled_at: null,
      webhook_disabled_reason: null,
      webhook_failing_since: null,
    }),
    ...(change.webhook_events && { webhook_events: change.webhook_events }),
  });
}

/**
 * Makes `secretEnc` (sealed) the merchant's signing secret; its current one keeps signing until `previousExpiresAt`.
 * True when rotated. With an `idempotencyKeyId` (api/idempotency.ts), once per key: false, and nothing changed,
 * when an earlier attempt of the request already rotated (the secret it set is the merchant's current one) —
 * rotating again would retire the secret the merchant still verifies with.
 */
export async function rotateWebhookSecret(
  db: Knex,
  merchant: Merchant,
  secretEnc: string,
  previousExpiresAt: Date,
  idempotencyKeyId?: string | null,
): Promise<boolean> {
  const rotate = Merchant.query(db)
    .patch({
      webhook_secret_enc: secretEnc,
      webhook_secret_prev_enc: merchant.webhook_secret_enc,
      webhook_secret_prev_expires_at: previousExpiresAt,
      webhook_secret_rotation_key_id: idempotencyKeyId ?? null,
    })
    .findById(merchant.id);
  if (idempotencyKeyId) rotate.whereRaw('webhook_secret_rotation_key_id IS DISTINCT FROM ?', [idempotencyKeyId]);
  // Resolves to the number of rows patched (Objection types it as the model after findById).
  return !!(await rotate);
}

/** Disables the merchant's webhook endpoint for `reason`; false when it was disabled already (or no such merchant). */
export async function disableWebhookEndpoint(db: Knex, merchantId: string, reason: string): Promise<boolean> {
  // Resolves to the number of rows patched (Objection types it as the model after findById).
  const patched = await Merchant.query(db)
    .patch({ webhook_disabled_at: new Date(), webhook_disabled_reason: reason })
    .findById(merchantId)
    .whereNull('webhook_disabled_at');
  return !!patched;
}
