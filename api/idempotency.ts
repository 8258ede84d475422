/**
 * Stripe-style idempotency for merchant POSTs, stored in PostgreSQL for 24 h per merchant:
 * same key + same request → the saved response again (`Idempotent-Replayed: true`); same key +
 * different request → 422; same key while the first is still running → 409.
 *
 * A running request holds its key on a short lease (`IDEMPOTENCY_LEASE_S`), renewed while it runs. When its process
 * dies (or the final bookkeeping write fails) the lease lapses and a retry of the same request runs the handler
 * again with the same `idempotencyKeyId`: a handler whose work must happen once records that id with its work and,
 * finding it already there, answers with what was committed instead of doing it twice (see `markReplayed`).
 */
import type { Knex } from 'knex';
import { stringify } from 'safe-stable-stringify';
import {
  claimIdempotencyKey,
  failIdempotencyClaim,
  renewIdempotencyClaim,
  saveIdempotentResponse,
} from '../db/idempotency.js';
import { decryptSecret, encryptSecret, sha256 } from '../lib/platform/crypto.js';
import type { AppContext } from './context.js';
import { ApiError } from './errors.js';

const TTL_MS = 24 * 3600 * 1000;
export const IDEMPOTENCY_HEADER = 'idempotency-key';

/**
 * Runs `run` at most once per merchant, key and request. `request.operation` is the method and the route's path
 * (`POST /api/v1/payments/pi_…/cancel`, whichever alias reached it) and `request.input` its validated params, query
 * and body: together, what a reused key must match. `run` gets the key's id (undefined without an Idempotency-Key).
 */
export type IdempotencyGuard = (
  ctx: AppContext,
  merchantId: string,
  request: { operation: string; input: unknown },
  run: (idempotencyKeyId?: string) => Promise<void>,
) => Promise<void>;

/** Tells the client that this response is what an earlier attempt of its request did, not new work. */
export function markReplayed(ctx: AppContext): void {
  ctx.set('Idempotent-Replayed', 'true');
}

/**
 * The guard of routes declared `idempotent`: responses saved sealed with `secretsKey`, running requests holding their
 * key on a lease of `leaseS` seconds (config `IDEMPOTENCY_LEASE_S`), renewed every third of it.
 */
export function idempotencyGuard(db: Knex, { secretsKey, leaseS }: { secretsKey: Buffer; leaseS: number }) {
  const guard: IdempotencyGuard = async (ctx, merchantId, { operation, input }, run) => {
    const key = ctx.get(IDEMPOTENCY_HEADER);
    if (!key) return run();
    if (key.length > 255)
      throw new ApiError(400, 'validation_error', 'Idempotency-Key is at most 255 characters', [
        { path: 'Idempotency-Key', message: 'too long' },
      ]);
    const fingerprint = sha256(`${operation}\n${stringify(input ?? null)}`);

    const claimed = await claimIdempotencyKey(db, merchantId, key, fingerprint, {
      leaseS,
      expiresAt: new Date(Date.now() + TTL_MS),
    });
    if ('held' in claimed) {
      const saved = claimed.held;
      if (saved && saved.fingerprint !== fingerprint) {
        throw new ApiError(422, 'idempotency_error', 'This Idempotency-Key was already used with a different request');
      }
      if (saved?.state !== 'done') {
        throw new ApiError(
          409,
          'idempotency_in_progress',
          'A request with this Idempotency-Key is still being processed; retry shortly',
          null,
          { 'Retry-After': '1' },
        );
      }
      ctx.status = saved.response_status;
      ctx.body = JSON.parse(decryptSecret(saved.response_body_enc, secretsKey));
      markReplayed(ctx);
      return;
    }

    const { id, attempt } = claimed.claim;
    const log = ctx.state.log;
    const renewal = setInterval(
      () =>
        void renewIdempotencyClaim(db, merchantId, key, attempt, leaseS).catch((err) =>
          log.warn({ err }, 'could not renew an Idempotency-Key lease'),
        ),
      (leaseS * 1000) / 3,
    );
    try {
      await run(id);
    } catch (error) {
      // Nothing was saved: the key is free for the next request. Should this write fail too, the lease lapses.
      await failIdempotencyClaim(db, merchantId, key, attempt).catch((err) =>
        log.warn({ err }, 'could not release an Idempotency-Key'),
      );
      throw error;
    } finally {
      clearInterval(renewal);
    }
    // The work is done and its answer stands. Unsaved, the lease lapses and a retry reruns the handler, which
    // finds the work by the key's id.
    await saveIdempotentResponse(
      db,
      merchantId,
      key,
      attempt,
      ctx.status,
      encryptSecret(JSON.stringify(ctx.body ?? null), secretsKey),
    ).catch((err) => log.warn({ err }, 'could not save an idempotent response; a retry will rerun the request'));
  };
  return guard;
}
