/** Reading a peer's `Retry-After` header (RFC 9110 §10.2.3), shared by every outbound path that honours it. */
import { DateTime } from 'luxon';

/**
 * How long a peer asks us to wait, in ms from `now` (epoch ms): delta-seconds (`120`; a fraction is accepted,
 * as some APIs send one) or an HTTP-date in any of RFC 9110's three forms (`Sun, 06 Nov 1994 08:49:37 GMT`,
 * RFC 850, asctime), a date already past being 0. Null when the header is absent or neither form; the first
 * value counts when it is repeated. The result is unbounded: callers cap it.
 */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | null {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return null;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const at = DateTime.fromHTTP(value, { zone: 'utc' });
  return at.isValid ? Math.max(0, at.toMillis() - now) : null;
}
