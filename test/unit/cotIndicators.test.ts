import { describe, expect, it } from 'vitest';
import { cotIndex, crowdedSignal, groupIndicators } from '../../lib/cot/indicators.js';

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
