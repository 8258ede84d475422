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

/** Every indicator for one market's group, report by report (oldest first, as given). */
export function groupIndicators(reports: GroupReport[], role: GroupRole): GroupIndicators[] {
  const nets = reports.map((r) => r.long - r.short);
  const pctOi = reports.map((r, i) => (r.openInterest > 0 ? (100 * nets[i]) / r.openInterest : null));
  const [index13, index52, index156] = INDEX_WINDOWS.map((w) => cotIndex(nets, w));
  const wci = cotIndex(pctOi, WCI_WINDOW);
  return reports.map((r, i) => ({
    reportDate: r.reportDate,
    net: nets[i],
    netChange: r.longChange === null || r.shortChange === null ? null : r.longChange - r.shortChange,
    pctOi: pctOi[i],
    index13: index13[i],
    index52: index52[i],
    index156: index156[i],
    wci26: wci[i],
    signal: crowdedSignal(role, index52[i]),
  }));
}
