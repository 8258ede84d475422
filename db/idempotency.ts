/**
 * Idempotency keys of merchant POSTs (`idempotency_keys`): one row per merchant and key, with its saved response.
 * A running request holds its key on a lease (`locked_until`, PostgreSQL's clock) that it renews while it runs, so
 * a request whose process died frees its key within one lease instead of at the row's expiry.
 */
import type { Knex } from 'knex';
import { pgErrorCode } from './errors.js';

/**
 * A stored key: `running` while an attempt holds it, `done` with the response to replay, `failed` when the last
 * attempt ended in an error (free for the next request).
 */
export type IdempotencyKeyRow = {
  /** Stays the same over every attempt of the same request; the request's work records it (`createOncePerKey`). */
  id: string;
  merchant_id: string;
  key: string;
  /** SHA-256 of the request (operation, canonical input): a reused key must come with the same request. */
  fingerprint: string;
  /** Claims taken so far by attempts of this request. */
  attempt: number;
  expires_at: Date;
} & (
  | {
      state: 'running';
      /** When the lease lapses; null for a claim taken before leases existed, held until the key expires. */
      locked_until: Date | null;
    }
  | { state: 'failed' }
  /** `response_body_enc`: the response body's JSON, sealed with the secrets key. */
  | { state: 'done'; response_status: number; response_body_enc: string }
);

/** An attempt's hold on a key: the key's id (the same for every attempt of the request) and this attempt's number. */
export interface IdempotencyClaim {
  id: string;
  attempt: number;
}

const leaseEnd = (db: Knex, leaseS: number) => db.raw('now() + make_interval(secs => ?)', [leaseS]);

/**
 * Claims the merchant's key for a request with this fingerprint, for `leaseS` seconds: a new key (an expired one is
 * dropped first), the same request's key whose last attempt failed or whose lease lapsed (its process died; the
 * claim keeps the key's id, so the new attempt finds what the dead one committed), or a failed key taken by another
 * request (a new id). Otherwise `held`: the key as stored (undefined when it vanished meanwhile), for the caller to
 * replay, refuse (another request) or report in progress. Atomic: of concurrent claims one wins.
 */
export async function claimIdempotencyKey(
  db: Knex,
  merchantId: string,
  key: string,
  fingerprint: string,
  { leaseS, expiresAt }: { leaseS: number; expiresAt: Date },
): Promise<{ claim: IdempotencyClaim } | { held: IdempotencyKeyRow | undefined }> {
  const row = { merchant_id: merchantId, key };
  await db('idempotency_keys').where(row).where('expires_at', '<', new Date()).delete();
  const [inserted] = await db('idempotency_keys')
    .insert({ ...row, fingerprint, state: 'running', expires_at: expiresAt, locked_until: leaseEnd(db, leaseS) })
    .onConflict(['merchant_id', 'key'])
    .ignore()
    .returning(['id', 'attempt']);
  if (inserted) return { claim: inserted };
  // In SET, `fingerprint` is the stored one: the same request keeps its id and counts on; another starts afresh.
  const { rows } = await db.raw(
    `UPDATE idempotency_keys SET
       id = CASE WHEN fingerprint = :fingerprint THEN id ELSE gen_random_uuid() END,
       attempt = CASE WHEN fingerprint = :fingerprint THEN attempt + 1 ELSE 1 END,
       expires_at = CASE WHEN fingerprint = :fingerprint THEN expires_at ELSE :expiresAt END,
       fingerprint = :fingerprint, state = 'running', locked_until = now() + make_interval(secs => :leaseS),
       response_status = NULL, response_body_enc = NULL
     WHERE merchant_id = :merchantId AND key = :key
       AND (state = 'failed' OR (state = 'running' AND fingerprint = :fingerprint AND locked_until < now()))
     RETURNING id, attempt`,
    { fingerprint, expiresAt, leaseS, merchantId, key },
  );
  if (rows[0]) return { claim: rows[0] as IdempotencyClaim };
  return { held: await db<IdempotencyKeyRow>('idempotency_keys').where(row).first() };
}

/** Extends the attempt's lease to `leaseS` seconds from now; false when the attempt no longer holds the key. */
export async function renewIdempotencyClaim(
  db: Knex,
  merchantId: string,
  key: string,
  attempt: number,
  leaseS: number,
): Promise<boolean> {
  const renewed = await db('idempotency_keys')
    .where({ merchant_id: merchantId, key, attempt, state: 'running' })
    .update({ locked_until: leaseEnd(db, leaseS) });
  return renewed > 0;
}

/** The attempt ended in an error and saved nothing: the key is free for the next request at once. */
export async function failIdempotencyClaim(db: Knex, merchantId: string, key: string, attempt: number): Promise<void> {
  await db('idempotency_keys')
    .where({ merchant_id: merchantId, key, attempt, state: 'running' })
    .update({ state: 'failed', locked_until: null });
}

/**
 * Marks the merchant's key done with the attempt's response to replay: its HTTP status and the sealed JSON body.
 * No-op when a later attempt took the key over (its response will be saved instead).
 */
export async function saveIdempotentResponse(
  db: Knex,
  merchantId: string,
  key: string,
  attempt: number,
  responseStatus: number,
  responseBodyEnc: string,
): Promise<void> {
  await db('idempotency_keys')
    .where({ merchant_id: merchantId, key, attempt, state: 'running' })
    .update({ state: 'done', locked_until: null, response_status: responseStatus, response_body_enc: responseBodyEnc });
}

/**
 * Creates a row at most once per Idempotency-Key. `find` looks up the row carrying `keyId` (in a unique column);
 * `create` stores it, in a transaction that records `keyId` with it. When an earlier attempt of the request stored it,
 * that row comes back with `created: false` — also when a concurrent attempt commits it first (its insert holds ours
 * until then, and ours fails as a unique violation). Without a `keyId`, simply `create`.
 */
export async function createOncePerKey<T>(
  keyId: string | null | undefined,
  find: (keyId: string) => Promise<T | undefined>,
  create: () => Promise<T>,
): Promise<{ row: T; created: boolean }> {
  const earlier = async () => (keyId ? find(keyId) : undefined);
  const found = await earlier();
  if (found) return { row: found, created: false };
  try {
    return { row: await create(), created: true };
  } catch (error) {
    const raced = pgErrorCode(error) === '23505' ? await earlier() : undefined;
    if (raced) return { row: raced, created: false };
    throw error;
  }
}
