/**
 * The console's one formatting module: dates, times, numbers, money and durations in the operator's locale
 * (`navigator.language`) and time zone, all through `Intl` (no hand-written tables). Every function takes an optional
 * `{ locale, timeZone }` so tests, and times that belong to a place (a workshop's bookings), can say whose they are.
 * Missing values (null, undefined, an unreadable date) come out as an em dash.
 */

export interface FormatOptions {
  /** BCP 47 locale; the operator's by default. */
  locale?: string;
  /** IANA time zone; the operator's by default. */
  timeZone?: string;
}

const DASH = '—';

/** The operator's locale: the browser's preferred language (the runtime's default outside a browser). */
export function operatorLocale(): string {
  return (typeof navigator !== 'undefined' && navigator.language) || Intl.DateTimeFormat().resolvedOptions().locale;
}

/** The operator's IANA time zone, as the browser reports it. */
export function operatorTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

const localeOf = (o?: FormatOptions) => o?.locale ?? operatorLocale();
const zoneOf = (o?: FormatOptions) => o?.timeZone ?? operatorTimeZone();

function toDate(value: string | number | Date | null | undefined): Date | null {
  if (value === null || value === undefined || value === '') return null;
  const d = value instanceof Date ? value : new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/**
 * The zone's short name at that moment as the locale writes it (`GMT+2`, `EST`, `CET`): an offset changes with
 * daylight saving, so it is taken at the instant shown.
 */
export function zoneName(timeZone: string, at: string | number | Date = Date.now(), o?: FormatOptions): string {
  const parts = new Intl.DateTimeFormat(localeOf(o), { timeZone, timeZoneName: 'short' }).formatToParts(
    toDate(at) ?? new Date(),
  );
  return parts.find((p) => p.type === 'timeZoneName')?.value ?? timeZone;
}

/** The place an IANA zone is named after, for labels: `Europe/Kyiv` → `Kyiv`, `America/Argentina/Salta` → `Salta`. */
export const zoneCity = (timeZone: string) => timeZone.split('/').pop()!.replace(/_/g, ' ');

/** `Europe/Kyiv (GMT+2)`: a zone as the shell and the booking pages name it. */
export const zoneLabel = (timeZone: string, at?: string | number | Date, o?: FormatOptions) =>
  `${zoneCity(timeZone)} (${zoneName(timeZone, at, o)})`;

export interface DateTimeOptions extends FormatOptions {
  /** Append the zone's short name (`GMT+2`): for times that are not plainly the operator's own. */
  zone?: boolean;
  /** Include seconds (logs, attempts a second apart). */
  seconds?: boolean;
}

/** Date and time of an instant: `30 Nov 2026, 14:05` (en-GB), `Nov 30, 2026, 2:05 PM` (en-US). */
export function dateTime(value: string | number | Date | null | undefined, o?: DateTimeOptions): string {
  const d = toDate(value);
  if (!d) return DASH;
  return new Intl.DateTimeFormat(localeOf(o), {
    timeZone: zoneOf(o),
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: 'numeric',
    minute: '2-digit',
    second: o?.seconds ? '2-digit' : undefined,
    timeZoneName: o?.zone ? 'short' : undefined,
  }).format(d);
}

/** The calendar date of an instant in the zone: `30 Nov 2026`. */
export function date(value: string | number | Date | null | undefined, o?: FormatOptions): string {
  const d = toDate(value);
  if (!d) return DASH;
  return new Intl.DateTimeFormat(localeOf(o), { timeZone: zoneOf(o), dateStyle: 'medium' }).format(d);
}

/**
 * A calendar date that belongs to no zone (`2026-08-04`: a report's date, a booking day): shown as that very day
 * wherever the operator is, never shifted by an offset.
 */
export function calendarDate(isoDate: string | null | undefined, o?: Pick<FormatOptions, 'locale'>): string {
  if (!isoDate || !/^\d{4}-\d{2}-\d{2}/.test(isoDate)) return DASH;
  return new Intl.DateTimeFormat(localeOf(o), { timeZone: 'UTC', dateStyle: 'medium' }).format(
    new Date(`${isoDate.slice(0, 10)}T12:00:00Z`),
  );
}

/** The time of day of an instant in the zone: `14:05`, with the zone's short name when asked. */
export function time(value: string | number | Date | null | undefined, o?: DateTimeOptions): string {
  const d = toDate(value);
  if (!d) return DASH;
  return new Intl.DateTimeFormat(localeOf(o), {
    timeZone: zoneOf(o),
    hour: 'numeric',
    minute: '2-digit',
    second: o?.seconds ? '2-digit' : undefined,
    timeZoneName: o?.zone ? 'short' : undefined,
  }).format(d);
}

/**
 * A time that belongs to a place (a workshop's booking): date and time on that place's clock, labelled with it —
 * `1 Dec 2026, 10:00 Kyiv time (EET)` — whatever zone the operator is in.
 */
export function placeDateTime(
  value: string | number | Date | null | undefined,
  placeZone: string,
  o?: Pick<FormatOptions, 'locale'>,
): string {
  const d = toDate(value);
  if (!d) return DASH;
  return `${dateTime(d, { ...o, timeZone: placeZone })} ${zoneCity(placeZone)} time (${zoneName(placeZone, d, o)})`;
}

const RELATIVE_STEPS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 7],
  ['week', 4.35],
  ['month', 12],
  ['year', Infinity],
];

/** How long ago or from now: `3 minutes ago`, `in 2 hours`, `yesterday` (the largest whole unit). */
export function relative(
  value: string | number | Date | null | undefined,
  now: number | Date = Date.now(),
  o?: Pick<FormatOptions, 'locale'>,
): string {
  const d = toDate(value);
  if (!d) return DASH;
  let amount = (d.getTime() - (now instanceof Date ? now.getTime() : now)) / 1000;
  const format = new Intl.RelativeTimeFormat(localeOf(o), { numeric: 'auto' });
  for (const [unit, size] of RELATIVE_STEPS) {
    if (Math.abs(amount) < size) return format.format(Math.round(amount), unit);
    amount /= size;
  }
  return DASH;
}

/** A number with the locale's grouping: `180,000`, `180 000`; `digits` fixes the decimals. */
export function number(value: number | string | null | undefined, digits?: number, o?: FormatOptions): string {
  const n = typeof value === 'string' ? Number(value) : value;
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  return new Intl.NumberFormat(localeOf(o), { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(n);
}

/** A number with `digits` decimals, or a dash where there is none (an index without enough history). */
export const fixed = (value: number | null | undefined, digits: number) =>
  value === null || value === undefined ? DASH : value.toFixed(digits);

/** The currency's minor units per ISO 4217, as the runtime's ICU data has them (EUR 2, JPY 0, KWD 3). */
export function minorDigits(currency: string): number {
  return (
    new Intl.NumberFormat('en', { style: 'currency', currency: currency.toUpperCase() }).resolvedOptions()
      .maximumFractionDigits ?? 2
  );
}

/** An amount in the currency's minor units (`4250` EUR → `€42.50`; `12500` KWD → `KWD 12.500`). */
export function money(minor: number | null | undefined, currency: string, o?: FormatOptions): string {
  if (minor === null || minor === undefined || !Number.isFinite(minor)) return DASH;
  return moneyAmount(minor / 10 ** minorDigits(currency), currency, o);
}

/**
 * An amount in major units (a price read from a shop: `12.5` KWD → `KWD 12.500`, `1299` PLN → `1 299,00 zł` in pl),
 * always with the currency's own number of decimals.
 */
export function moneyAmount(value: number | string | null | undefined, currency: string, o?: FormatOptions): string {
  const n = typeof value === 'string' ? Number(value) : value;
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  return new Intl.NumberFormat(localeOf(o), { style: 'currency', currency: currency.toUpperCase() }).format(n);
}

const DURATION_UNITS: [Intl.NumberFormatOptions['unit'] & string, number][] = [
  ['day', 86_400],
  ['hour', 3_600],
  ['minute', 60],
  ['second', 1],
];

/**
 * A span of seconds in its largest units, at most two of them: `3600` → `1 hr`, `5400` → `1 hr, 30 min`,
 * `86400` → `1 day`, `45` → `45 sec` (the locale's unit names).
 */
export function duration(seconds: number | null | undefined, o?: Pick<FormatOptions, 'locale'>): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return DASH;
  const locale = localeOf(o);
  const parts: string[] = [];
  let rest = Math.round(seconds);
  for (const [unit, size] of DURATION_UNITS) {
    if (parts.length === 2) break;
    const count = Math.floor(rest / size);
    if (count === 0 && !(unit === 'second' && parts.length === 0)) continue;
    parts.push(new Intl.NumberFormat(locale, { style: 'unit', unit, unitDisplay: 'short' }).format(count));
    rest -= count * size;
    // Two units at most: the smaller one only when the larger one is not exact.
    if (rest === 0) break;
  }
  return new Intl.ListFormat(locale, { style: 'narrow', type: 'unit' }).format(parts);
}

/** How often something runs: `every 1 hr`, `every 5 min`. */
export const every = (seconds: number | null | undefined, o?: Pick<FormatOptions, 'locale'>) =>
  seconds === null || seconds === undefined ? DASH : `every ${duration(seconds, o)}`;

/** A distance in kilometres with the locale's grouping: `180,000 km`. */
export function kilometres(km: number | string | null | undefined, o?: Pick<FormatOptions, 'locale'>): string {
  const n = typeof km === 'string' ? Number(km) : km;
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  return new Intl.NumberFormat(localeOf(o), { style: 'unit', unit: 'kilometer', unitDisplay: 'short' }).format(n);
}

/** Date and time in the operator's zone (the name older views use). */
export const when = (iso: string | null | undefined) => dateTime(iso);

/**
 * A count with its noun: `1 report`, `2 reports`, `1,204 markets` — the number in the operator's locale, the noun
 * (English, as the console's words are) chosen by English plural rules.
 */
export function countOf(count: number, one: string, other: string, o?: Pick<FormatOptions, 'locale'>): string {
  return `${number(count, undefined, o)} ${new Intl.PluralRules('en').select(count) === 'one' ? one : other}`;
}

/** A place's clock, as booking pages label their times: `Kyiv time (EET)` (the zone's name at `at`). */
export const placeClock = (placeZone: string, at?: string | number | Date, o?: Pick<FormatOptions, 'locale'>) =>
  `${zoneCity(placeZone)} time (${zoneName(placeZone, at, o)})`;

/** A calendar day with its weekday, for a week's columns: `Mon, 1 Dec` (en-GB); never shifted by an offset. */
export function calendarDay(isoDate: string | null | undefined, o?: Pick<FormatOptions, 'locale'>): string {
  if (!isoDate || !/^\d{4}-\d{2}-\d{2}/.test(isoDate)) return DASH;
  return new Intl.DateTimeFormat(localeOf(o), {
    timeZone: 'UTC',
    weekday: 'short',
    day: 'numeric',
    month: 'short',
  }).format(new Date(`${isoDate.slice(0, 10)}T12:00:00Z`));
}

/** An ISO weekday (1 Monday … 7 Sunday) in the locale's words: `Monday`. */
export function weekdayName(isoWeekday: number, o?: Pick<FormatOptions, 'locale'>): string {
  // 2024-01-01 was a Monday.
  return new Intl.DateTimeFormat(localeOf(o), { timeZone: 'UTC', weekday: 'long' }).format(
    new Date(Date.UTC(2024, 0, isoWeekday)),
  );
}

/** A fraction as a percentage in the locale's way: `0.85` → `85%` (en), `85 %` (de); whole percents. */
export function percent(fraction: number | null | undefined, o?: Pick<FormatOptions, 'locale'>): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return DASH;
  return new Intl.NumberFormat(localeOf(o), { style: 'percent', maximumFractionDigits: 0 }).format(fraction);
}
