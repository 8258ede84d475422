/**
 * COT indicators for one market and trader group, from its reports oldest first (one value per
 * report, so holiday weeks and gaps count as one report each):
 *
 * - net = long − short; net change = Δlong − Δshort from CFTC's change columns (null where CFTC had none);
 * - % net of OI = 100 × net / open interest;
 * - COT Index over N reports = 100 × (net − min) / (max − min) of the last N nets, 50 when max = min,
 *   null until the market has N reports;
 * - WCI = the same index over 26 reports of % net of OI (Williams' commercial index);
 * - crowded signal from the 52-report index and the group's role.
 */
import type { GroupRole } from './reports.js';

export const INDEX_WINDOWS = [13, 52, 156] as const;
export const WCI_WINDOW = 26;
/** An index at or above `high` (or at or below `low`) marks a crowded position. */
export const CROWDED = { high: 80, low: 20 } as const;
export type Signal = 'BUY' | 'SELL';

export interface GroupReport {
  reportDate: string;
  openInterest: number;
  long: number;
  short: number;
  longChange: number | null;
  shortChange: number | null;
}

export interface GroupIndicators {
  reportDate: string;
  net: number;
  netChange: number | null;
  pctOi: number | null;
  index13: number | null;
  index52: number | null;
  index156: number | null;
  wci26: number | null;
  signal: Signal | null;
}

/**
 * The COT Index of each value over the `window` values ending at it. Sliding minimum and maximum
 * with monotonic queues: linear in the series, whatever the window.
 */
export function cotIndex(values: (number | null)[], window: number): (number | null)[] {
  const mins: number[] = [];
  const maxs: number[] = [];
  return values.map((value, i) => {
    if (value === null) return null;
    while (mins.length && values[mins[mins.length - 1]]! >= value) mins.pop();
    while (maxs.length && values[maxs[maxs.length - 1]]! <= value) maxs.pop();
    mins.push(i);
    maxs.push(i);
    if (mins[0] <= i - window) mins.shift();
    if (maxs[0] <= i - window) maxs.shift();
    if (i + 1 < window) return null;
    const [min, max] = [values[mins[0]]!, values[maxs[0]]!];
    return max === min ? 50 : (100 * (value - min)) / (max - min);
  });
}

/** Commercials are followed (buy when they are most long); speculators and small traders are faded. */
export function crowdedSignal(role: GroupRole, index52: number | null): Signal | null {
  if (index52 === null) return null;
  const extreme = index52 >= CROWDED.high ? 'high' : index52 <= CROWDED.low ? 'low' : null;
  if (!extreme) return null;
  return (extreme === 'high') === (role === 'commercial') ? 'BUY' : 'SELL';
}

/** One group's indicators on each report of a series, by column: null where a report has none. */
export interface GroupIndicatorColumns {
  net: (number | null)[];
  netChange: (number | null)[];
  pctOi: (number | null)[];
  index13: (number | null)[];
  index52: (number | null)[];
  index156: (number | null)[];
  wci26: (number | null)[];
  signal: (Signal | null)[];
}

/** The indicators of one group's series, oldest first, every report with a long and a short. */
function seriesIndicators(
  openInterest: number[],
  long: number[],
  short: number[],
  longChange: (number | null)[],
  shortChange: (number | null)[],
  role: GroupRole,
): GroupIndicatorColumns {
  const net = long.map((l, i) => l - short[i]);
  const pctOi = net.map((n, i) => (openInterest[i] > 0 ? (100 * n) / openInterest[i] : null));
  const [index13, index52, index156] = INDEX_WINDOWS.map((w) => cotIndex(net, w));
  return {
    net,
    netChange: longChange.map((l, i) => (l === null || shortChange[i] === null ? null : l - shortChange[i]!)),
    pctOi,
    index13,
    index52,
    index156,
    wci26: cotIndex(pctOi, WCI_WINDOW),
    signal: index52.map((i) => crowdedSignal(role, i)),
  };
}

/** Every indicator for one market's group, report by report (oldest first, as given). */
export function groupIndicators(reports: GroupReport[], role: GroupRole): GroupIndicators[] {
  const c = seriesIndicators(
    reports.map((r) => r.openInterest),
    reports.map((r) => r.long),
    reports.map((r) => r.short),
    reports.map((r) => r.longChange),
    reports.map((r) => r.shortChange),
    role,
  );
  return reports.map((r, i) => ({
    reportDate: r.reportDate,
    net: c.net[i]!,
    netChange: c.netChange[i],
    pctOi: c.pctOi[i],
    index13: c.index13[i],
    index52: c.index52[i],
    index156: c.index156[i],
    wci26: c.wci26[i],
    signal: c.signal[i],
  }));
}

/**
 * One market's reports oldest first, by column: open interest and, per group of its report type (in order),
 * positions and changes, null where CFTC had no value.
 */
export interface MarketSeries {
  openInterest: number[];
  groups: {
    long: (number | null)[];
    short: (number | null)[];
    longChange: (number | null)[];
    shortChange: (number | null)[];
  }[];
}

/**
 * Every group's indicators on every report of one market, a set of columns per group in the order of `roles`.
 * A week in which a group has no long or short is no report of that group's series (its windows count only the
 * weeks it has) and has no indicators. Columns, not an object per report: a full load computes millions.
 */
export function marketIndicators(market: MarketSeries, roles: GroupRole[]): GroupIndicatorColumns[] {
  const reports = market.openInterest.length;
  return roles.map((role, k) => {
    const { long, short, longChange, shortChange } = market.groups[k];
    const at: number[] = [];
    for (let i = 0; i < reports; i++) if (long[i] !== null && short[i] !== null) at.push(i);
    const pick = <T>(column: T[]) => (at.length === reports ? column : at.map((i) => column[i]));
    const series = seriesIndicators(
      pick(market.openInterest),
      pick(long) as number[],
      pick(short) as number[],
      pick(longChange),
      pick(shortChange),
      role,
    );
    if (at.length === reports) return series;
    // Back onto the market's reports: nothing where the group had no position.
    const spread = <T>(column: (T | null)[]) => {
      const out = Array<T | null>(reports).fill(null);
      at.forEach((i, j) => (out[i] = column[j]));
      return out;
    };
    return {
      net: spread(series.net),
      netChange: spread(series.netChange),
      pctOi: spread(series.pctOi),
      index13: spread(series.index13),
      index52: spread(series.index52),
      index156: spread(series.index156),
      wci26: spread(series.wci26),
      signal: spread(series.signal),
    };
  });
}
