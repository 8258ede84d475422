/** What the COT route files share: path parameters, paging, the indicators view and the cached answer. */
import { z } from 'zod';
import type { CotIndicatorRow } from '../../db/cot.js';
import { cachedCot } from '../../lib/cot/cache.js';
import { reportTypes, subtypes } from '../../lib/cot/reports.js';
import type { Redis } from '../../lib/platform/redis.js';
import type { AppContext } from '../context.js';

export const TypeParams = z.object({ type: z.enum(reportTypes) });
export const PairParams = TypeParams.extend({ subtype: z.enum(subtypes) });
export const Offset = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).max(100_000).default(0),
});

export const IndicatorsOut = z.object({
  group: z.string(),
  net: z.number(),
  net_change: z.number().nullable(),
  pct_oi: z.number().nullable(),
  index_13: z.number().nullable(),
  index_52: z.number().nullable(),
  index_156: z.number().nullable(),
  wci_26: z.number().nullable().describe('the COT Index of % net of open interest over 26 reports'),
  signal: z.enum(['BUY', 'SELL']).nullable().describe('crowded signal from the 52-report index'),
});

/** A stored number that may be NULL, as a number or null. */
export const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

/** A group's indicators on one report as the API shows them (`IndicatorsOut`). */
export const indicatorsView = (i: CotIndicatorRow): z.infer<typeof IndicatorsOut> => ({
  group: i.grp,
  net: Number(i.net),
  net_change: num(i.net_change),
  pct_oi: i.pct_oi,
  index_13: i.index_13,
  index_52: i.index_52,
  index_156: i.index_156,
  wci_26: i.wci_26,
  signal: i.signal,
});

/** The cached answer under `key`, else `compute()` cached for `ttlS` seconds; sets `X-Cache` to HIT or MISS. */
export async function cachedView<T>(
  ctx: AppContext,
  redis: Redis,
  key: string,
  ttlS: number,
  compute: () => Promise<T>,
): Promise<T> {
  const { value, hit } = await cachedCot(redis, key, ttlS, compute);
  ctx.set('X-Cache', hit ? 'HIT' : 'MISS');
  return value;
}
