import type { Knex } from 'knex';
import { randomBytes } from 'node:crypto';
import { ApiKey } from './models/ApiKey.js';
import { Merchant } from './models/Merchant.js';
import { encryptSecret, newWebhookSecret, sha256 } from '../lib/platform/crypto.js';

const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function generateApiKey(): string {
  const bytes = randomBytes(32);
  return `mk_live_${Array.from(bytes, (b) => KEY_ALPHABET[b % KEY_ALPHABET.length]).join('')}`;
}

/** Creates a merchant with a fresh webhook signing secret; the plaintext secret is returned once. */
export async function createMerchant(
  input: { name: string; webhook_url?: string | null; webhook_events?: string[] },
  secretsKey: Buffer,
  trx?: Knex.Transaction,
): Promise<{ merchant: Merchant; webhookSecret: string }> {
  const webhookSecret = newWebhookSecret();
  const merchant = await Merchant.query(trx).insertAndFetch({
    name: input.name,
    webhook_url: input.webhook_url ?? null,
    ...(input.webhook_events ? { webhook_events: input.webhook_events } : {}),
    webhook_secret_enc: encryptSecret(webhookSecret, secretsKey),
  });
  return { merchant, webhookSecret };
}

/** Stores only the key's hash and a recognisable prefix; the caller shows the key once. */
export async function issueApiKey(
  merchantId: string,
  name: string,
  key = generateApiKey(),
  trx?: Knex.Transaction,
): Promise<{ apiKey: ApiKey; key: string }> {
  const apiKey = await ApiKey.query(trx).insertAndFetch({
    merchant_id: merchantId,
    name,
    prefix: key.slice(0, 12),
    key_hash: sha256(key),
  });
  return { apiKey, key };
}
