/** Idempotency keys of merchant POSTs (`idempotency_keys`): one row per merchant and key, with its saved response. */
import type { Knex } from 'knex';

/** A stored key: `running` while its first request runs, then `done` with the response to replay. */
export type IdempotencyKeyRow = {
  merchant_id: string;
  key: string;
  /** SHA-256 of the request (method, path, canonical body): a reused key must come with the same request. */
  fingerprint: string;
  expires_at: Date;
} & (
  | { state: 'running' }
  /** `response_body_enc`: the response body's JSON, sealed with the secrets key. */
  | { state: 'done'; response_status: number; response_body_enc: string }
);

/**
 * Claims the merchant's key for a request with this fingerprint (an expired claim is dropped first).
 * True: claimed, the request runs; false: the key is held by an earlier request (see `findIdempotencyKey`).
 */
export async function claimIdempotencyKey(
  db: Knex,
  merchantId: string,
  key: string,
  fingerprint: string,
  now: Date,
  expiresAt: Date,
): Promise<boolean> {
  const row = { merchant_id: merchantId, key };
  await db('idempotency_keys').where(row).where('expires_at', '<', now).delete();
  const claimed = await db('idempotency_keys')
    .insert({ ...row, fingerprint, state: 'running', expires_at: expiresAt })
    .onConflict(['merchant_id', 'key'])
    .ignore()
    .returning('key');
  return claimed.length > 0;
}

/** The merchant's key as stored; undefined when it is gone (released or expired and dropped meanwhile). */
export async function findIdempotencyKey(
  db: Knex,
  merchantId: string,
  key: string,
): Promise<IdempotencyKeyRow | undefined> {
  return db<IdempotencyKeyRow>('idempotency_keys').where({ merchant_id: merchantId, key }).first();
}

/** Frees the merchant's key (its request failed, nothing was saved) for a retry of the same request. */
export async function releaseIdempotencyKey(db: Knex, merchantId: string, key: string): Promise<void> {
  await db('idempotency_keys').where({ merchant_id: merchantId, key }).delete();
}

/** Marks the merchant's key done with the response to replay: its HTTP status and the sealed JSON body. */
export async function saveIdempotentResponse(
  db: Knex,
  merchantId: string,
  key: string,
  responseStatus: number,
  responseBodyEnc: string,
): Promise<void> {
  await db('idempotency_keys')
    .where({ merchant_id: merchantId, key })
    .update({ state: 'done', response_status: responseStatus, response_body_enc: responseBodyEnc });
}
