/** What the booking pages share: the API's types, and days on a workshop's calendar (luxon, in its zone). */
import { DateTime } from 'luxon';
import type { components } from '../../../../openapi/schema';

export type Workshop = components['schemas']['Workshop'];
export type Mechanic = components['schemas']['Mechanic'];
export type Service = components['schemas']['Service'];
export type WorkingHours = components['schemas']['WorkingHours'];
export type DateOverride = components['schemas']['DateOverride'];
export type Appointment = components['schemas']['Appointment'];

/** Today's date (`YYYY-MM-DD`) on the workshop's clock. */
export const todayIn = (zone: string) => DateTime.now().setZone(zone).toISODate()!;

/** The instants a run of `days` calendar days from `isoDate` spans in `zone` (a DST day has 23 or 25 hours). */
export function daysSpan(isoDate: string, days: number, zone: string): { from: string; to: string } {
  const start = DateTime.fromISO(isoDate, { zone }).startOf('day');
  return { from: start.toISO()!, to: start.plus({ days }).toISO()! };
}

/** `isoDate` moved by whole calendar days. */
export const shiftDate = (isoDate: string, days: number) => DateTime.fromISO(isoDate).plus({ days }).toISODate()!;

/** The Monday of the week `isoDate` is in. */
export const weekStart = (isoDate: string) => DateTime.fromISO(isoDate).startOf('week').toISODate()!;

/** The calendar date (`YYYY-MM-DD`) an instant falls on in `zone`. */
export const localDate = (iso: string, zone: string) => DateTime.fromISO(iso).setZone(zone).toISODate()!;

/** A `HH:MM` range with an optional break: `08:00–18:00, break 12:00–13:00`. */
export function hoursText(h: {
  opens: string | null;
  closes: string | null;
  break_start: string | null;
  break_end: string | null;
}): string {
  const open = `${h.opens}–${h.closes}`;
  return h.break_start ? `${open}, break ${h.break_start}–${h.break_end}` : open;
}

/** A call answered 204 (a removal) as an answer with data, so `act` counts it done (openapi-fetch gives no data). */
export async function noContent(
  call: () => Promise<{ error?: unknown; response: Response }>,
): Promise<{ data?: true; error?: unknown; response: Response }> {
  const { error, response } = await call();
  return response.ok ? { data: true, response } : { error, response };
}
