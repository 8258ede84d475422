import type { Next } from 'koa';
import { ZodError } from 'zod';
import { pgErrorCode, pgErrorDetail } from '../../db/errors.js';
import { ApiError } from '../errors.js';
import type { AppContext } from '../context.js';

/** Errors that mean a backing service is unreachable rather than that our code is wrong. */
function isDependencyDown(error: unknown): boolean {
  const e = error as { code?: string; message?: string; name?: string; cause?: { code?: number } };
  // gRPC UNAVAILABLE / DEADLINE_EXCEEDED from the Temporal client.
  if (e.name === 'ServiceError' && (e.cause?.code === 14 || e.cause?.code === 4)) return true;
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTCONN', '57P01', '57P03'].includes(e.code ?? '') ||
    e.name === 'KnexTimeoutError' ||
    e.name === 'MaxRetriesPerRequestError' ||
    /Connection is closed|Command timed out|Stream isn't writeable|connection terminated/i.test(e.message ?? '')
  );
}

/** zlib's errors for a body whose Content-Encoding (gzip, deflate, br) does not match its bytes; they carry no status. */
function isDecompressionError(error: unknown): boolean {
  const e = error as { code?: unknown; errno?: unknown };
  return typeof e.errno === 'number' && typeof e.code === 'string' && /^(Z_|ERR_BROTLI|ERR__ERROR)/.test(e.code);
}

/** Body-parser errors carry an http status (400 malformed JSON, 413 too large, 415 wrong type). */
function httpError(error: unknown): ApiError | undefined {
  const e = error as { status?: number; expose?: boolean; name?: string; message?: string };
  if (isDecompressionError(error))
    return new ApiError(400, 'bad_request', 'The body could not be decoded with its Content-Encoding');
  if (!e.status || e.status < 400 || e.status >= 500) return undefined;
  if (e.name === 'SyntaxError') return new ApiError(400, 'malformed_json', `The body is not valid JSON: ${e.message}`);
  const code = e.status === 413 ? 'payload_too_large' : e.status === 415 ? 'unsupported_media_type' : 'bad_request';
  return new ApiError(e.status, code, e.expose && e.message ? e.message : 'Bad request');
}

function toApiError(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if (error instanceof ZodError) {
    const details = error.issues.map((i) => ({ path: i.path.join('.'), message: i.message, code: i.code }));
    return new ApiError(400, 'validation_error', 'The request is invalid', details);
  }
  // PostgreSQL foreign_key_violation: a reference to a missing row, or removing a row still referred to.
  if (pgErrorCode(error) === '23503') {
    return /still referenced/.test(pgErrorDetail(error))
      ? new ApiError(409, 'still_referenced', 'Other records still refer to this one')
      : new ApiError(400, 'invalid_reference', 'The request refers to a record that does not exist');
  }
  // check_violation: the values together break a rule of the table (e.g. a break outside opening hours).
  if (pgErrorCode(error) === '23514')
    return new ApiError(400, 'validation_error', 'The values are inconsistent with each other', [
      {
        path: '',
        message: `breaks ${(error as { constraint?: string; nativeError?: { constraint?: string } }).nativeError?.constraint ?? 'a table rule'}`,
      },
    ]);
  // data_exception (class 22): a value PostgreSQL cannot store or compare, e.g. a NUL character or an out-of-range number.
  if (pgErrorCode(error)?.startsWith('22'))
    return new ApiError(400, 'validation_error', 'A value cannot be stored', [
      { path: '', message: 'out of range, or holds characters that cannot be stored (such as \\u0000)' },
    ]);
  if (isDependencyDown(error))
    return new ApiError(503, 'dependency_unavailable', 'A backing service is unavailable; retry later');
  return httpError(error);
}

export async function errors(ctx: AppContext, next: Next) {
  try {
    await next();
    if (ctx.status === 404 && ctx.body === undefined)
      throw new ApiError(404, 'route_not_found', `No route for ${ctx.method} ${ctx.path}`);
    // The router answers a known path with an unsupported method by status alone (405, or 501 for a method it does not know).
    if ((ctx.status === 405 || ctx.status === 501) && ctx.body == null)
      throw new ApiError(405, 'method_not_allowed', `${ctx.method} is not allowed on ${ctx.path}`, {
        allow: ctx.response.get('Allow'),
      });
  } catch (error) {
    const known = toApiError(error);
    if (!known) ctx.state.log.error({ err: error }, 'unhandled error');
    else if (known.status >= 500) ctx.state.log.warn({ err: error }, known.message);
    const e = known ?? new ApiError(500, 'internal_error', 'Something went wrong on our side');
    ctx.status = e.status;
    ctx.set(e.headers);
    // A body read part-way (over the limit, not decodable) is never read further: its connection would wait
    // for the rest and take the client's next request as body bytes.
    if (!ctx.req.complete) ctx.set('Connection', 'close');
    ctx.body = { error: { code: e.code, message: e.message, details: e.details ?? null } };
  }
}
