import { describe, expect, it } from 'vitest';
import { freeSlots, type SlotQuery } from '../../lib/booking/slots.js';

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
