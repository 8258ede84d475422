/**
 * Stripe-style idempotency for merchant POSTs, stored in PostgreSQL for 24 h per merchant:
 * same key + same request → the saved response again (`Idempotent-Replayed: true`); same key +
 * different request → 422; same key while the first is still running → 409.
 */
import type { Knex } from 'knex';
import { stringify } from 'safe-stable-stringify';
import {
  claimIdempotencyKey,
  findIdempotencyKey,
  releaseIdempotencyKey,
  saveIdempotentResponse,
} from '../db/idempotency.js';
import { decryptSecret, encryptSecret, sha256 } from '../lib/platform/crypto.js';
import type { AppContext } from './context.js';
import { ApiError } from './errors.js';

const TTL_MS = 24 * 3600 * 1000;
export const IDEMPOTENCY_HEADER = 'idempotency-key';

export type IdempotencyGuard = (
  ctx: AppContext,
  merchantId: string,
  body: unknown,
  run: () => Promise<void>,
) => Promise<void>;

export function idempotencyGuard(db: Knex, secretsKey: Buffer): IdempotencyGuard {
  return async (ctx, merchantId, body, run) => {
    const key = ctx.get(IDEMPOTENCY_HEADER);
    if (!key) return run();
    if (key.length > 255)
      throw new ApiError(400, 'validation_error', 'Idempotency-Key is at most 255 characters', [
        { path: 'Idempotency-Key', message: 'too long' },
      ]);
    const fingerprint = sha256(`${ctx.method} ${ctx.path}\n${stringify(body ?? null)}`);
    const now = new Date();

    const claimed = await claimIdempotencyKey(db, merchantId, key, fingerprint, now, new Date(now.getTime() + TTL_MS));
    if (!claimed) {
      const saved = await findIdempotencyKey(db, merchantId, key);
      if (saved && saved.fingerprint !== fingerprint) {
        throw new ApiError(422, 'idempotency_error', 'This Idempotency-Key was already used with a different request');
      }
      if (!saved || saved.state === 'running') {
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
      ctx.set('Idempotent-Replayed', 'true');
      return;
    }

    try {
      await run();
    } catch (error) {
      // Nothing was saved: the key is free for a retry of the same request.
      await releaseIdempotencyKey(db, merchantId, key);
      throw error;
    }
    await saveIdempotentResponse(
      db,
      merchantId,
      key,
      ctx.status,
      encryptSecret(JSON.stringify(ctx.body ?? null), secretsKey),
    );
  };
}
