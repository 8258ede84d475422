/**
 * Free appointment slots: working hours in the workshop's time zone (so daylight-saving days have
 * 23 or 25 hours), minus breaks, date overrides, busy intervals (held/confirmed appointments widened
 * by their buffers) and the minimum notice. Pure: everything it needs comes in as arguments.
 */
import { DateTime, Interval } from 'luxon';

export interface DayHours {
  /** `HH:MM` local times. */
  opens: string;
  closes: string;
  breakStart?: string | null;
  breakEnd?: string | null;
}
export interface WeeklyHours extends DayHours {
  /** ISO weekday: 1 = Monday … 7 = Sunday. */
  weekday: number;
}
export interface DateOverride extends Partial<DayHours> {
  /** `YYYY-MM-DD` in the workshop's zone. */
  date: string;
  closed: boolean;
}
export interface Busy {
  start: Date;
  end: Date;
}
export interface ServiceTiming {
  durationMin: number;
  bufferBeforeMin: number;
  bufferAfterMin: number;
}
export interface SlotQuery {
  timeZone: string;
  /** Inclusive local dates `YYYY-MM-DD`. */
  dateFrom: string;
  dateTo: string;
  weekly: WeeklyHours[];
  overrides: DateOverride[];
  busy: Busy[];
  service: ServiceTiming;
  /** Minutes between candidate starts; defaults to the service duration. */
  stepMin?: number;
  /** No slot may start before this instant (now + minimum notice). */
  notBefore: Date;
}
export interface Slot {
  start: Date;
  end: Date;
}

const at = (day: DateTime, hhmm: string) => {
  const [hour, minute] = hhmm.split(':').map(Number);
  return day.set({ hour, minute, second: 0, millisecond: 0 });
};

/** The open intervals of one local day (several rows for a weekday are a split shift), or none when closed. */
export function openIntervals(day: DateTime, weekly: WeeklyHours[], overrides: DateOverride[]): Interval[] {
  const override = overrides.find((o) => o.date === day.toISODate());
  if (override?.closed) return [];
  const rows: DayHours[] =
    override?.opens && override.closes ? [override as DayHours] : weekly.filter((h) => h.weekday === day.weekday);
  return rows.flatMap((hours) => {
    const open = Interval.fromDateTimes(at(day, hours.opens), at(day, hours.closes));
    if (!hours.breakStart || !hours.breakEnd) return open.isValid ? [open] : [];
    return open
      .difference(Interval.fromDateTimes(at(day, hours.breakStart), at(day, hours.breakEnd)))
      .filter((i) => i.isValid && !i.isEmpty());
  });
}

export function freeSlots(q: SlotQuery): Slot[] {
  const minute = 60_000;
  const step = (q.stepMin ?? q.service.durationMin) * minute;
  const duration = q.service.durationMin * minute;
  // Plain milliseconds inside the loop: this runs for every candidate of every day and mechanic.
  const busy = q.busy.map((b) => [b.start.getTime(), b.end.getTime()] as const);
  const notBefore = q.notBefore.getTime();
  const slots: Slot[] = [];
  const last = DateTime.fromISO(q.dateTo, { zone: q.timeZone });
  for (let day = DateTime.fromISO(q.dateFrom, { zone: q.timeZone }); day <= last; day = day.plus({ days: 1 })) {
    for (const open of openIntervals(day, q.weekly, q.overrides)) {
      // Each day's grid starts at its local opening time, so a daylight-saving change does not shift it.
      const closes = open.end!.toMillis();
      for (let start = open.start!.toMillis(); start + duration <= closes; start += step) {
        if (start < notBefore) continue;
        const blockStart = start - q.service.bufferBeforeMin * minute;
        const blockEnd = start + duration + q.service.bufferAfterMin * minute;
        if (busy.some(([from, to]) => from < blockEnd && blockStart < to)) continue;
        slots.push({ start: new Date(start), end: new Date(start + duration) });
      }
    }
  }
  return slots;
}
