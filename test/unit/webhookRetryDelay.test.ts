import { describe, expect, it } from 'vitest';
import { retryAfterMs } from '../../lib/platform/retryAfter.js';
import { nextAttemptWaitMs, RETRY_AFTER_GRACE_S, type NextWaitInput } from '../../lib/webhooks/retryDelay.js';

const H = 3600_000;
const grace = RETRY_AFTER_GRACE_S * 1000;
const DAYS_5 = 5 * 24 * 3600;

describe('next webhook attempt', () => {
  const base: NextWaitInput = {
    stepS: 300,
    scheduledMs: 310_000,
    retryAfterMs: null,
    failingForS: 10,
    disableAfterS: DAYS_5,
  };
  it.each<[string, Partial<NextWaitInput>, number]>([
    ['no Retry-After: the jittered step', {}, 310_000],
    ['a shorter Retry-After: the schedule wins', { retryAfterMs: 5_000 }, 310_000],
    ['a longer Retry-After is honoured', { retryAfterMs: H }, H],
    ['Retry-After at the cap exactly', { retryAfterMs: 300_000 + grace }, 300_000 + grace],
    ['thirty days: capped at the step + grace', { retryAfterMs: 2_592_000_000 }, 300_000 + grace],
    ['the cap follows the step', { stepS: 36_000, scheduledMs: 35_000_000, retryAfterMs: 1e12 }, 36_000_000 + grace],
    ['a zero step still allows the grace', { stepS: 0, scheduledMs: 0, retryAfterMs: 1e12 }, grace],
    ['Retry-After: 0 keeps the schedule', { retryAfterMs: 0 }, 310_000],
    ['never past the disable window (Retry-After)', { retryAfterMs: 2 * H, failingForS: DAYS_5 - 1800 }, 1800_000],
    ['never past the disable window (the step itself)', { failingForS: DAYS_5 - 60 }, 60_000],
    ['at the window: at once (the attempt that disables)', { retryAfterMs: H, failingForS: DAYS_5 + 5 }, 0],
    ['a URL of its own is never disabled: no window', { retryAfterMs: 2 * H, failingForS: null }, 2 * H],
  ])('%s', (_name, change, expected) => {
    expect(nextAttemptWaitMs({ ...base, ...change })).toBe(expected);
  });
});

describe('Retry-After header', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it.each<[string, string | string[] | undefined, number | null]>([
    ['delta-seconds', '120', 120_000],
    ['delta-seconds with spaces', ' 7 ', 7_000],
    ['a fraction (some APIs send one)', '1.5', 1_500],
    ['thirty days', '2592000', 2_592_000_000],
    ['IMF-fixdate', 'Thu, 01 Jan 2026 00:00:30 GMT', 30_000],
    ['RFC 850 date', 'Thursday, 01-Jan-26 00:01:00 GMT', 60_000],
    ['asctime date', 'Thu Jan  1 00:02:00 2026', 120_000],
    ['a date already past', 'Wed, 31 Dec 2025 23:59:00 GMT', 0],
    ['the first of repeated headers', ['3', '9'], 3_000],
    ['a negative number', '-5', null],
    ['neither form', 'soon', null],
    ['an ISO date is not an HTTP-date', '2026-01-01T00:00:30Z', null],
    ['empty', '', null],
    ['absent', undefined, null],
  ])('%s', (_name, header, expected) => {
    expect(retryAfterMs(header, now)).toBe(expected);
  });
});
