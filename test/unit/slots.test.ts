import fc from 'fast-check';
import { IANAZone } from 'luxon';
import { describe, expect, it } from 'vitest';
import { addDays, daysBetween, freeSlots, type SlotQuery } from '../../lib/booking/slots.js';

const weekdays = [1, 2, 3, 4, 5].map((weekday) => ({ weekday, opens: '09:00', closes: '12:00' }));
const base: SlotQuery = {
  timeZone: 'Europe/Kyiv',
  dateFrom: '2026-11-23', // a Monday
  dateTo: '2026-11-23',
  weekly: weekdays,
  overrides: [],
  busy: [],
  service: { durationMin: 60, bufferBeforeMin: 0, bufferAfterMin: 0 },
  notBefore: new Date('2026-01-01T00:00:00Z'),
};
const starts = (q: Partial<SlotQuery>) => freeSlots({ ...base, ...q }).map((s) => s.start.toISOString());

describe('free slots', () => {
  it('fills working hours in the workshop time zone, stepping by the service duration', () => {
    // Kyiv is UTC+2 in November.
    expect(starts({})).toEqual(['2026-11-23T07:00:00.000Z', '2026-11-23T08:00:00.000Z', '2026-11-23T09:00:00.000Z']);
    const slot = freeSlots(base)[0];
    expect(slot.end.getTime() - slot.start.getTime()).toBe(3_600_000);
  });

  it('takes several rows for one weekday as a split shift', () => {
    const split = [
      { weekday: 1, opens: '09:00', closes: '10:00' },
      { weekday: 1, opens: '15:00', closes: '16:00' },
    ];
    expect(starts({ weekly: split })).toEqual(['2026-11-23T07:00:00.000Z', '2026-11-23T13:00:00.000Z']);
  });

  it('uses a configured step', () => {
    expect(starts({ stepMin: 30 })).toHaveLength(5);
  });

  it('leaves out breaks', () => {
    const weekly = [{ weekday: 1, opens: '09:00', closes: '14:00', breakStart: '11:00', breakEnd: '12:00' }];
    expect(starts({ weekly })).toEqual([
      '2026-11-23T07:00:00.000Z',
      '2026-11-23T08:00:00.000Z',
      '2026-11-23T10:00:00.000Z',
      '2026-11-23T11:00:00.000Z',
    ]);
  });

  it('has nothing on days without hours (weekend)', () => {
    expect(starts({ dateFrom: '2026-11-28', dateTo: '2026-11-29' })).toEqual([]);
  });

  it('honours overrides: closed days and special hours', () => {
    expect(starts({ overrides: [{ date: '2026-11-23', closed: true }] })).toEqual([]);
    expect(starts({ overrides: [{ date: '2026-11-23', closed: false, opens: '15:00', closes: '17:00' }] })).toEqual([
      '2026-11-23T13:00:00.000Z',
      '2026-11-23T14:00:00.000Z',
    ]);
  });

  it('keeps clear of busy intervals, widened by the new booking’s buffers', () => {
    const busy = [{ start: new Date('2026-11-23T08:00:00Z'), end: new Date('2026-11-23T09:00:00Z') }];
    expect(starts({ busy })).toEqual(['2026-11-23T07:00:00.000Z', '2026-11-23T09:00:00.000Z']);
    // With a 15-minute buffer after, 09:00 local would run into the busy hour.
    expect(starts({ busy, service: { durationMin: 60, bufferBeforeMin: 15, bufferAfterMin: 15 } })).toEqual([]);
    expect(starts({ busy, stepMin: 15, service: { durationMin: 45, bufferBeforeMin: 0, bufferAfterMin: 15 } })).toEqual(
      ['2026-11-23T07:00:00.000Z', '2026-11-23T09:00:00.000Z', '2026-11-23T09:15:00.000Z'],
    );
  });

  it('respects the minimum notice', () => {
    expect(starts({ notBefore: new Date('2026-11-23T07:30:00Z') })).toEqual([
      '2026-11-23T08:00:00.000Z',
      '2026-11-23T09:00:00.000Z',
    ]);
  });

  it('is correct across daylight-saving changes', () => {
    // Kyiv leaves summer time on Sunday 2026-10-25 (03:00 → 02:00); opening hours stay local.
    const sunday = [{ weekday: 7, opens: '01:00', closes: '05:00' }];
    const q = { weekly: sunday, dateFrom: '2026-10-25', dateTo: '2026-10-25' };
    // 01:00 local is still UTC+3, 03:00 and later are UTC+2; the repeated hour gives one more slot.
    expect(starts(q)).toEqual([
      '2026-10-24T22:00:00.000Z',
      '2026-10-24T23:00:00.000Z',
      '2026-10-25T00:00:00.000Z',
      '2026-10-25T01:00:00.000Z',
      '2026-10-25T02:00:00.000Z',
    ]);
    // Spring forward (2026-03-29 03:00 → 04:00): 01:00–05:00 local is three real hours — 01:00, 02:00, 04:00.
    const spring = starts({ weekly: sunday, dateFrom: '2026-03-29', dateTo: '2026-03-29' });
    expect(spring).toEqual(['2026-03-28T23:00:00.000Z', '2026-03-29T00:00:00.000Z', '2026-03-29T01:00:00.000Z']);
    // Weekday hours on the Monday after the change are UTC+2 again.
    expect(starts({ dateFrom: '2026-10-26', dateTo: '2026-10-26' })[0]).toBe('2026-10-26T07:00:00.000Z');
  });
});

const everyDay = (opens: string, closes: string) =>
  [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, opens, closes }));

describe('days whose midnight the clock skips or repeats', () => {
  it('keeps every day of the range (Santiago skips 2027-09-05 00:00–01:00)', () => {
    const q = { timeZone: 'America/Santiago', weekly: everyDay('09:00', '18:00'), dateFrom: '2027-09-04' };
    const slots = freeSlots({ ...base, ...q, dateTo: '2027-09-07' });
    const perDay = new Map<string, number>();
    for (const s of slots) {
      const date = localDate('America/Santiago', s.start.getTime());
      perDay.set(date, (perDay.get(date) ?? 0) + 1);
    }
    expect([...perDay]).toEqual([
      ['2027-09-04', 9],
      ['2027-09-05', 9],
      ['2027-09-06', 9],
      ['2027-09-07', 9],
    ]);
    // 09:00 is UTC-4 before the change and UTC-3 after it.
    expect(slots[0].start.toISOString()).toBe('2027-09-04T13:00:00.000Z');
    expect(slots.at(-1)!.start.toISOString()).toBe('2027-09-07T20:00:00.000Z');
  });

  it('opens at the jump when the opening time is skipped; a repeated closing time is its first occurrence', () => {
    // Santiago: the clock skips 00:00–01:00 on 2027-09-05; opening at 00:30 means opening when the clock jumps.
    const skipped = freeSlots({
      ...base,
      timeZone: 'America/Santiago',
      weekly: everyDay('00:30', '03:00'),
      dateFrom: '2027-09-05',
      dateTo: '2027-09-05',
    });
    expect(skipped.map((s) => s.start.toISOString())).toEqual(['2027-09-05T04:00:00.000Z', '2027-09-05T05:00:00.000Z']);
    // Santiago repeats 23:00–24:00 on 2027-04-03 (00:00 UTC-3 becomes 23:00 UTC-4): closing at 23:30 is the first
    // 23:30, so the repeated half hour gives no second 22:30 or 23:00 slot.
    const repeated = freeSlots({
      ...base,
      timeZone: 'America/Santiago',
      weekly: everyDay('21:00', '23:30'),
      dateFrom: '2027-04-03',
      dateTo: '2027-04-03',
      stepMin: 30,
    });
    expect(repeated.map((s) => s.start.toISOString())).toEqual([
      '2027-04-04T00:00:00.000Z',
      '2027-04-04T00:30:00.000Z',
      '2027-04-04T01:00:00.000Z',
      '2027-04-04T01:30:00.000Z',
    ]);
  });

  it('counts calendar days whatever the offsets do', () => {
    expect(addDays('2027-09-04', 3)).toBe('2027-09-07');
    expect(addDays('2027-03-01', -1)).toBe('2027-02-28');
    expect(daysBetween('2027-09-04', '2027-11-05')).toBe(62);
    expect(daysBetween('2027-09-07', '2027-09-04')).toBe(-3);
  });

  // Every offset change of 2027 in every zone this runtime knows, found with luxon's zone data.
  const transitions = Intl.supportedValuesOf('timeZone').flatMap(transitionsIn2027);

  it('finds the 2027 transitions of the world', () => {
    // Sanity of the table the property runs over: DST in both hemispheres, 30-minute and 2-hour changes.
    expect(transitions.length).toBeGreaterThan(200);
    const names = new Set(transitions.map((t) => t.zone));
    for (const zone of [
      'America/Santiago',
      'America/Havana',
      'Europe/Berlin',
      'Australia/Lord_Howe',
      'Antarctica/Troll',
    ])
      expect(names).toContain(zone);
  });

  it('gives every local day around every transition the slots its hours allow (09:00–18:00 and 00:00–23:59)', () => {
    for (const t of transitions)
      for (const [opens, closes] of [
        [540, 1080],
        [0, 1439],
      ])
        expect(slotsAround(t, opens, closes, 60, 60), t.zone).toEqual(expectedAround(t, opens, closes, 60, 60));
  });

  it('holds for any hours, duration and step (property)', () => {
    const minuteOfDay = fc.integer({ min: 0, max: 1439 });
    const cases = fc.constantFrom(...transitions).chain((t) =>
      fc.record({
        t: fc.constant(t),
        // Half the cases open close to the jump, where the clock skips or repeats.
        opens: fc.oneof(
          minuteOfDay,
          fc.integer({ min: -150, max: 90 }).map((d) => clamp(t.localMinute + d)),
        ),
        length: fc.integer({ min: 1, max: 600 }),
        duration: fc.integer({ min: 5, max: 240 }),
        step: fc.integer({ min: 5, max: 240 }),
      }),
    );
    fc.assert(
      fc.property(cases, ({ t, opens, length, duration, step }) => {
        const closes = Math.min(1439, opens + length);
        fc.pre(opens < closes);
        expect(slotsAround(t, opens, closes, duration, step)).toEqual(expectedAround(t, opens, closes, duration, step));
      }),
      { numRuns: 500 },
    );
  });
});

const MINUTE = 60_000;
const DAY = 86_400_000;
const clamp = (m: number) => Math.max(0, Math.min(1439, m));
const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
const localDate = (zone: string, at: number) => new Intl.DateTimeFormat('en-CA', { timeZone: zone }).format(at);

interface Transition {
  zone: string;
  /** The first instant (epoch ms) of the new offset. */
  at: number;
  /** Offsets before and after, in ms. */
  before: number;
  after: number;
  /** The local date the new offset starts on, and the clock's minute of day then. */
  date: string;
  localMinute: number;
}

function transitionsIn2027(zone: string): Transition[] {
  const tz = IANAZone.create(zone);
  const found: Transition[] = [];
  // Weekly samples: 2027's changes are weeks apart in every zone (the table test checks some are found).
  for (let t = Date.UTC(2027, 0, 1); t < Date.UTC(2028, 0, 1); t += 7 * DAY) {
    if (tz.offset(t) === tz.offset(t + 7 * DAY)) continue;
    let [lo, hi] = [t, t + 7 * DAY];
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (tz.offset(mid) === tz.offset(t)) lo = mid;
      else hi = mid;
    }
    const after = tz.offset(hi) * MINUTE;
    const wall = hi + after;
    found.push({
      zone,
      at: hi,
      before: tz.offset(lo) * MINUTE,
      after,
      date: new Date(wall).toISOString().slice(0, 10),
      localMinute: Math.floor((wall % DAY) / MINUTE),
    });
  }
  return found;
}

/**
 * The model the slots must match, written from the transition alone: the clock reads `t + before` until the jump
 * and `t + after` from it. A local time is the first instant the clock shows it or later: of two instants showing
 * it the earlier; if none (skipped) the jump itself.
 */
function expectedInstant(t: Transition, date: string, minute: number): number {
  const wall = Date.parse(date) + minute * MINUTE;
  const showing = [wall - t.before].filter((i) => i < t.at).concat([wall - t.after].filter((i) => i >= t.at));
  return showing.length ? Math.min(...showing) : t.at;
}

/** Two days either side of the transition's date, each day open `opens`–`closes` (minutes of the day). */
function expectedAround(t: Transition, opens: number, closes: number, duration: number, step: number): string[] {
  const out: string[] = [];
  for (let d = -2; d <= 2; d++) {
    const date = addDays(t.date, d);
    const [from, to] = [expectedInstant(t, date, opens), expectedInstant(t, date, closes)];
    for (let s = from; s + duration * MINUTE <= to; s += step * MINUTE) out.push(new Date(s).toISOString());
  }
  return out;
}

function slotsAround(t: Transition, opens: number, closes: number, durationMin: number, stepMin: number): string[] {
  return freeSlots({
    ...base,
    timeZone: t.zone,
    dateFrom: addDays(t.date, -2),
    dateTo: addDays(t.date, 2),
    weekly: everyDay(hhmm(opens), hhmm(closes)),
    service: { durationMin, bufferBeforeMin: 0, bufferAfterMin: 0 },
    stepMin,
  }).map((s) => s.start.toISOString());
}
