import { describe, expect, it } from 'vitest';
import { cotIndex, crowdedSignal, groupIndicators, marketIndicators } from '../../lib/cot/indicators.js';

/** The definition, window by window, to check the sliding version against. */
const naive = (values: number[], window: number) =>
  values.map((v, i) => {
    if (i + 1 < window) return null;
    const w = values.slice(i + 1 - window, i + 1);
    const [min, max] = [Math.min(...w), Math.max(...w)];
    return max === min ? 50 : (100 * (v - min)) / (max - min);
  });

describe('COT Index', () => {
  it('equals the definition on a long random walk for every window', () => {
    let x = 0;
    const series = Array.from(
      { length: 600 },
      (_, i) => (x += Math.round(Math.sin(i * 7.3) * 5000 + ((i * 7919) % 13) - 6)),
    );
    for (const window of [1, 2, 13, 26, 52, 156]) expect(cotIndex(series, window)).toEqual(naive(series, window));
  });

  it('is null until the window is full, 50 when the window is flat, 0 and 100 at the extremes', () => {
    expect(cotIndex([5, 5, 5, 5], 3)).toEqual([null, null, 50, 50]);
    expect(cotIndex([1, 2, 3, 2, 1], 3)).toEqual([null, null, 100, 0, 0]);
    expect(cotIndex([3, 1, 2], 3)).toEqual([null, null, 50]);
  });
});

describe('crowded signals', () => {
  it('follows commercials and fades speculators and small traders, at 80 and 20 inclusive', () => {
    expect([crowdedSignal('commercial', 80), crowdedSignal('commercial', 20), crowdedSignal('commercial', 50)]).toEqual(
      ['BUY', 'SELL', null],
    );
    expect([crowdedSignal('speculative', 100), crowdedSignal('speculative', 0)]).toEqual(['SELL', 'BUY']);
    expect([crowdedSignal('small', 80.0001), crowdedSignal('small', 19.9)]).toEqual(['SELL', 'BUY']);
    expect([crowdedSignal('small', 79.99), crowdedSignal('commercial', null)]).toEqual([null, null]);
  });
});

describe('group indicators', () => {
  it('derives net, net change, % of open interest and WCI from one group’s reports', () => {
    const reports = Array.from({ length: 30 }, (_, i) => ({
      reportDate: `2020-01-${String(i + 1).padStart(2, '0')}`,
      openInterest: i === 3 ? 0 : 1000,
      long: 100 + i * 10,
      short: 50,
      longChange: i === 0 ? null : 10,
      shortChange: 0,
    }));
    const out = groupIndicators(reports, 'commercial');
    expect(out[0]).toMatchObject({ net: 50, netChange: null, pctOi: 5, index13: null, signal: null });
    expect(out[3].pctOi).toBeNull();
    expect(out[29]).toMatchObject({ net: 340, netChange: 10, pctOi: 34, index13: 100, index52: null, wci26: 100 });
  });
});

describe('market indicators', () => {
  it('are each group’s indicators over its own reports: a week without a position is none of its windows', () => {
    const weeks = 60;
    const oi = Array.from({ length: weeks }, (_, i) => 5000 + 37 * i);
    const long = Array.from({ length: weeks }, (_, i) => 1000 + ((i * 7919) % 613));
    const short = Array.from({ length: weeks }, (_, i) => 800 + ((i * 104729) % 421));
    // The second group has no short position in week 20 (CFTC printed none).
    const gap = 20;
    const market = {
      openInterest: oi,
      groups: [
        { long, short, longChange: long.map(() => 3), shortChange: short.map((_, i) => (i ? 1 : null)) },
        {
          long: short,
          short: long.map((v, i) => (i === gap ? null : v)),
          longChange: long.map(() => null),
          shortChange: long.map(() => 2),
        },
      ],
    };
    const [commercial, small] = marketIndicators(market, ['commercial', 'small']);
    const reportsOf = (k: number) =>
      oi.flatMap((openInterest, i) => {
        const g = market.groups[k];
        if (g.long[i] === null || g.short[i] === null) return [];
        const report = {
          openInterest,
          long: g.long[i]!,
          short: g.short[i]!,
          longChange: g.longChange[i],
          shortChange: g.shortChange[i],
        };
        return [{ reportDate: `w${i}`, ...report }];
      });
    const columns = (list: ReturnType<typeof groupIndicators>) => ({
      net: list.map((i) => i.net),
      netChange: list.map((i) => i.netChange),
      pctOi: list.map((i) => i.pctOi),
      index13: list.map((i) => i.index13),
      index52: list.map((i) => i.index52),
      index156: list.map((i) => i.index156),
      wci26: list.map((i) => i.wci26),
      signal: list.map((i) => i.signal),
    });
    expect(commercial).toEqual(columns(groupIndicators(reportsOf(0), 'commercial')));
    const own = columns(groupIndicators(reportsOf(1), 'small'));
    const withGap = Object.fromEntries(
      Object.entries(own).map(([name, values]) => [name, [...values.slice(0, gap), null, ...values.slice(gap)]]),
    );
    expect(small).toEqual(withGap);
    // 52 weeks make a first 52-report index, unless one of them was not the group's.
    expect([commercial.index52[50], commercial.index52[51]]).toEqual([null, expect.any(Number)]);
    expect([small.index52[51], small.index52[52]]).toEqual([null, expect.any(Number)]);
  });
});
