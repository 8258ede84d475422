import { describe, expect, it } from 'vitest';
import { firstDue, nextDue } from '../../lib/monitors/due.js';
import { HostGate, type Release } from '../../lib/monitors/hostGate.js';
import { checkBudgetMs, retryDelayMs } from '../../lib/monitors/retry.js';

const at = (iso: string) => new Date(iso);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a monitor’s due times', () => {
  it('starts its grid in the second half of the first interval', () => {
    const now = at('2026-11-30T12:00:00Z');
    expect(firstDue(now, 60, 0)).toEqual(at('2026-11-30T12:01:00Z'));
    expect(firstDue(now, 60, 0.5)).toEqual(at('2026-11-30T12:00:45Z'));
    expect(firstDue(now, 3600, 0.999_999).getTime()).toBeGreaterThan(at('2026-11-30T12:30:00Z').getTime());
    for (let i = 0; i < 1000; i++) {
      const due = firstDue(now, 60).getTime() - now.getTime();
      expect(due).toBeGreaterThan(30_000);
      expect(due).toBeLessThanOrEqual(60_000);
    }
  });

  it.each([
    ['on time: one interval after the slot', '12:00:00.000', '12:00:00.400', '12:01:00.000'],
    ['late, within the interval: the grid stays', '12:00:00.000', '12:00:59.999', '12:01:00.000'],
    ['late by exactly an interval: the next slot still to come', '12:00:00.000', '12:01:00.000', '12:02:00.000'],
    [
      'workers were down for ten minutes: the slots it overran are skipped',
      '12:00:00.000',
      '12:10:30.000',
      '12:11:00.000',
    ],
    ['early (claimed ahead of its slot)', '12:00:00.000', '11:59:59.500', '12:01:00.000'],
  ])('%s', (_name, due, now, next) => {
    const day = (t: string) => at(`2026-11-30T${t}Z`);
    expect(nextDue(day(due), 60, day(now))).toEqual(day(next));
  });
});

describe('the retry budget of a check', () => {
  it('doubles the wait per attempt and bounds the whole check', () => {
    const settings = { fetchTimeoutMs: 10_000, retry: { initialMs: 2000, attempts: 4 } };
    expect([1, 2, 3].map((a) => retryDelayMs(settings, a))).toEqual([2000, 4000, 8000]);
    // Four deadlines, three waits, and the rest.
    expect(checkBudgetMs(settings)).toBe(40_000 + 14_000 + 30_000);
  });
});

describe('the host gate', () => {
  it('lets at most perHost requests to one host run at once, others hosts beside them, first come first served', async () => {
    const gate = new HostGate({ perHost: 2, delayMs: 0, total: 100 });
    const order: string[] = [];
    const take = (host: string, name: string) => gate.acquire(host).then((release) => (order.push(name), release));
    const a1 = await take('shop.test', 'a1');
    const a2 = await take('SHOP.test', 'a2');
    const a3 = take('shop.test', 'a3');
    const a4 = take('shop.test', 'a4');
    const b1 = await take('other.test', 'b1');
    await pause(10);
    expect(order).toEqual(['a1', 'a2', 'b1']);
    expect(gate.inFlight('shop.test')).toBe(2);
    a2();
    a2(); // a second release gives nothing more back
    await a3;
    await pause(10);
    expect(order).toEqual(['a1', 'a2', 'b1', 'a3']);
    a1();
    (await a4)();
    expect(order).toEqual(['a1', 'a2', 'b1', 'a3', 'a4']);
    (await a3)();
    b1();
    expect(gate.inFlight()).toBe(0);
  });

  it('spaces the starts of requests to one host by delayMs', async () => {
    const gate = new HostGate({ perHost: 10, delayMs: 150, total: 100 });
    const starts: number[] = [];
    await Promise.all(
      [0, 1, 2, 3].map(() =>
        gate.acquire('shop.test').then((release) => {
          starts.push(Date.now());
          release();
        }),
      ),
    );
    const gaps = starts.slice(1).map((t, i) => t - starts[i]);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(145);
    // Another host does not wait for this one's delay.
    const before = Date.now();
    (await gate.acquire('other.test'))();
    expect(Date.now() - before).toBeLessThan(50);
  });

  it('caps requests in flight altogether, serving held-back hosts in turn', async () => {
    const gate = new HostGate({ perHost: 5, delayMs: 0, total: 2 });
    const held: Release[] = [await gate.acquire('a.test'), await gate.acquire('b.test')];
    const order: string[] = [];
    const c = gate.acquire('c.test').then((r) => (order.push('c'), r));
    const d = gate.acquire('d.test').then((r) => (order.push('d'), r));
    await pause(10);
    expect(order).toEqual([]);
    held[0]();
    await c;
    expect(order).toEqual(['c']);
    held[1]();
    await d;
    expect(order).toEqual(['c', 'd']);
    expect(gate.inFlight()).toBe(2);
  });

  it('ends a wait when its signal aborts, taking no place', async () => {
    const gate = new HostGate({ perHost: 1, delayMs: 0, total: 10 });
    const first = await gate.acquire('shop.test');
    const closing = new AbortController();
    const waiting = gate.acquire('shop.test', closing.signal);
    const next = gate.acquire('shop.test');
    closing.abort(new Error('the window closed'));
    await expect(waiting).rejects.toThrow('the window closed');
    first();
    (await next)();
    expect(gate.inFlight()).toBe(0);
    await expect(gate.acquire('shop.test', closing.signal)).rejects.toThrow('the window closed');
  });
});
