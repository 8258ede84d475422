/**
 * Free appointment slots: working hours in the workshop's time zone (so daylight-saving days have
 * 23 or 25 hours), minus breaks, date overrides, busy intervals (held/confirmed appointments widened
 * by their buffers) and the minimum notice. Pure: everything it needs comes in as arguments.
 *
 * Days are calendar dates, never "midnight plus 24 hours": a day whose midnight the clock skips (Santiago,
 * Havana, Beirut, Cairo move their clocks at 00:00) is still a day with its hours. A local time stands for the
 * first moment the workshop's clock shows it or later: a time shown twice (clocks set back) is its first
 * occurrence, so the open stretch includes the repeated hour once, in real time; a time the clock skips (set
 * forward) is the moment of the jump, so hours inside the skipped stretch are simply missing.
 */
import { DateTime, IANAZone, type Zone } from 'luxon';

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

const MINUTE = 60_000;
const DAY = 86_400_000;

/** `date` (`YYYY-MM-DD`) plus `days` calendar days, as `YYYY-MM-DD`: no time zone, so every day counts once. */
export function addDays(date: string, days: number): string {
  return DateTime.fromISO(date, { zone: 'utc' }).plus({ days }).toISODate()!;
}

/** Calendar days from `from` to `to` (both `YYYY-MM-DD`; negative when `to` is earlier). */
export function daysBetween(from: string, to: string): number {
  // A date-only ISO string parses as UTC midnight, so the difference is whole days.
  return Math.round((Date.parse(to) - Date.parse(from)) / DAY);
}

/**
 * The instant (epoch milliseconds) of local `date` + `hhmm` in `zone`: the first moment the clock shows that
 * reading or a later one (see the module comment for repeated and skipped times).
 */
function localInstant(zone: Zone, date: string, hhmm: string): number {
  const [year, month, day] = date.split('-').map(Number);
  const [hour, minute] = hhmm.split(':').map(Number);
  const wall = Date.UTC(year, month - 1, day, hour, minute); // the clock reading, written as if it were UTC
  // The reading's instant is within 14 h of `wall`; the offsets a day either side are the two it can have
  // (no zone changes its offset twice within two days).
  const before = zone.offset(wall - DAY) * MINUTE;
  const after = zone.offset(wall + DAY) * MINUTE;
  if (before === after) return wall - before; // no change near: the usual day
  const shown = [wall - before, wall - after].filter((t) => zone.offset(t) * MINUTE === wall - t);
  if (shown.length) return Math.min(...shown);
  // Skipped: the jump lies between the reading taken with the new offset (still old time) and with the old one.
  let [oldTime, newTime] = [wall - after, wall - before];
  while (newTime - oldTime > 1) {
    const mid = Math.floor((oldTime + newTime) / 2);
    if (zone.offset(mid) * MINUTE === before) oldTime = mid;
    else newTime = mid;
  }
  return newTime;
}

/**
 * The open stretches `[from, to)` (epoch milliseconds) of one local `date` (several rows for a weekday are a
 * split shift, a break splits a row), or none when closed.
 */
function openIntervals(
  zone: Zone,
  date: string,
  weekday: number,
  weekly: WeeklyHours[],
  overrides: DateOverride[],
): Array<[number, number]> {
  const override = overrides.find((o) => o.date === date);
  if (override?.closed) return [];
  const rows: DayHours[] =
    override?.opens && override.closes ? [override as DayHours] : weekly.filter((h) => h.weekday === weekday);
  return rows.flatMap((hours) => {
    const at = (hhmm: string) => localInstant(zone, date, hhmm);
    const [opens, closes] = [at(hours.opens), at(hours.closes)];
    const pieces: Array<[number, number]> =
      hours.breakStart && hours.breakEnd
        ? [
            [opens, Math.min(closes, at(hours.breakStart))],
            [Math.max(opens, at(hours.breakEnd)), closes],
          ]
        : [[opens, closes]];
    return pieces.filter(([from, to]) => from < to);
  });
}

/**
 * Every free slot whose local day lies in `q.dateFrom`…`q.dateTo`, day by day. Each open stretch has its own
 * grid: candidates start at its opening and every `stepMin` minutes of real time after it, and fit whole before it
 * closes. Throws a RangeError for a time zone the runtime does not know.
 */
export function freeSlots(q: SlotQuery): Slot[] {
  const zone = IANAZone.create(q.timeZone);
  if (!zone.isValid) throw new RangeError(`unknown time zone ${q.timeZone}`);
  const step = (q.stepMin ?? q.service.durationMin) * MINUTE;
  const duration = q.service.durationMin * MINUTE;
  // Plain milliseconds inside the loop: this runs for every candidate of every day and mechanic.
  const busy = q.busy.map((b) => [b.start.getTime(), b.end.getTime()] as const);
  const notBefore = q.notBefore.getTime();
  const slots: Slot[] = [];
  const last = DateTime.fromISO(q.dateTo, { zone: 'utc' });
  for (let day = DateTime.fromISO(q.dateFrom, { zone: 'utc' }); day <= last; day = day.plus({ days: 1 })) {
    for (const [opens, closes] of openIntervals(zone, day.toISODate()!, day.weekday, q.weekly, q.overrides)) {
      // Each stretch's grid starts at its own opening, so a daylight-saving change does not shift it.
      for (let start = opens; start + duration <= closes; start += step) {
        if (start < notBefore) continue;
        const blockStart = start - q.service.bufferBeforeMin * MINUTE;
        const blockEnd = start + duration + q.service.bufferAfterMin * MINUTE;
        if (busy.some(([from, to]) => from < blockEnd && blockStart < to)) continue;
        slots.push({ start: new Date(start), end: new Date(start + duration) });
      }
    }
  }
  return slots;
}
