import { describe, expect, it } from 'vitest';
import {
  calendarDate,
  date,
  dateTime,
  duration,
  every,
  kilometres,
  minorDigits,
  money,
  moneyAmount,
  number,
  placeDateTime,
  relative,
  time,
  zoneLabel,
  zoneName,
} from '../../ui/src/format.js';

// Expected strings are built with Intl here too only where ICU versions differ in spacing (narrow no-break spaces);
// the rest are what the console must show.
const gb = { locale: 'en-GB', timeZone: 'Europe/Kyiv' };
const nbsp = (s: string) => s.replace(/[\u202f\u00a0]/g, ' ');

describe('console formatting (ui/src/format.ts)', () => {
  it("shows instants in the operator's locale and zone, with the zone named where asked", () => {
    const at = '2026-11-30T12:05:00Z';
    expect(dateTime(at, gb)).toBe('30 Nov 2026, 14:05');
    expect(dateTime(at, { ...gb, zone: true })).toBe('30 Nov 2026, 14:05 EET');
    expect(nbsp(dateTime(at, { locale: 'en-US', timeZone: 'America/New_York', zone: true }))).toBe(
      'Nov 30, 2026, 7:05 AM EST',
    );
    expect(dateTime(at, { locale: 'de-DE', timeZone: 'Asia/Tokyo' })).toBe('30. Nov. 2026, 21:05');
    expect(time(at, gb)).toBe('14:05');
    expect(time('2026-11-30T12:05:07Z', { ...gb, seconds: true })).toBe('14:05:07');
    // Late evening in UTC is already the next day in Kyiv.
    expect(date('2026-11-30T23:05:00Z', gb)).toBe('1 Dec 2026');
    // Daylight saving: the same zone has another short name in summer.
    expect(zoneName('Europe/Kyiv', '2026-07-01T12:00:00Z', { locale: 'en-GB' })).toBe('EEST');
    expect(zoneLabel('America/Argentina/Buenos_Aires', '2026-07-01T12:00:00Z', { locale: 'en' })).toBe(
      'Buenos Aires (GMT-3)',
    );
  });

  it('shows a calendar date as that day in every zone, and a place’s time on its own clock, labelled', () => {
    expect(calendarDate('2026-08-04', { locale: 'en-US' })).toBe('Aug 4, 2026');
    expect(calendarDate('2026-08-04', { locale: 'en-GB' })).toBe('4 Aug 2026');
    expect(calendarDate('not a date')).toBe('—');
    // A workshop in Kyiv, whatever zone the operator is in.
    expect(placeDateTime('2026-12-01T08:00:00Z', 'Europe/Kyiv', { locale: 'en-GB' })).toBe(
      '1 Dec 2026, 10:00 Kyiv time (EET)',
    );
    expect(nbsp(placeDateTime('2026-12-01T08:00:00Z', 'America/New_York', { locale: 'en-US' }))).toBe(
      'Dec 1, 2026, 3:00 AM New York time (EST)',
    );
  });

  it('says how long ago or ahead, in the largest whole unit', () => {
    const now = Date.parse('2026-11-30T12:00:00Z');
    expect(relative('2026-11-30T11:57:00Z', now, { locale: 'en' })).toBe('3 minutes ago');
    expect(relative('2026-11-30T14:00:00Z', now, { locale: 'en' })).toBe('in 2 hours');
    expect(relative('2026-11-29T12:00:00Z', now, { locale: 'en' })).toBe('yesterday');
    expect(relative('2026-11-30T12:00:20Z', now, { locale: 'en' })).toBe('in 20 seconds');
    expect(relative('2026-09-30T12:00:00Z', now, { locale: 'en' })).toBe('2 months ago');
    expect(relative('2026-11-30T11:57:00Z', now, { locale: 'de' })).toBe('vor 3 Minuten');
  });

  it('writes money with the currency’s minor units (ISO 4217) in the locale’s form', () => {
    expect(minorDigits('EUR')).toBe(2);
    expect(minorDigits('jpy')).toBe(0);
    expect(minorDigits('KWD')).toBe(3);
    expect(money(4250, 'EUR', { locale: 'en' })).toBe('€42.50');
    expect(nbsp(money(4250, 'eur', { locale: 'de-DE' }))).toBe('42,50 €');
    expect(nbsp(money(12500, 'KWD', { locale: 'en' }))).toBe('KWD 12.500');
    expect(money(500, 'JPY', { locale: 'en' })).toBe('¥500');
    // A price read from a shop is in major units: 12.5 KWD keeps its three decimals, 1299 PLN its two.
    expect(nbsp(moneyAmount('12.5', 'KWD', { locale: 'en' }))).toBe('KWD 12.500');
    expect(nbsp(moneyAmount(1299, 'PLN', { locale: 'pl-PL' }))).toBe('1299,00 zł');
    expect(nbsp(moneyAmount(12999, 'PLN', { locale: 'pl-PL' }))).toBe('12 999,00 zł');
    expect(money(null, 'EUR')).toBe('—');
  });

  it('writes numbers, distances and durations with the locale’s grouping and unit names', () => {
    expect(number(180000, undefined, { locale: 'en' })).toBe('180,000');
    expect(number(1234567.891, 2, { locale: 'en-IN' })).toBe('12,34,567.89');
    expect(number('12.5', 1, { locale: 'de' })).toBe('12,5');
    expect(kilometres(180000, { locale: 'en' })).toBe('180,000 km');
    expect(kilometres(180000, { locale: 'de' })).toBe('180.000 km');
    expect(duration(3600, { locale: 'en' })).toBe('1 hr');
    expect(duration(5400, { locale: 'en' })).toBe('1 hr 30 min');
    expect(duration(86400, { locale: 'en' })).toBe('1 day');
    expect(duration(45, { locale: 'en' })).toBe('45 sec');
    expect(duration(0, { locale: 'en' })).toBe('0 sec');
    expect(every(3600, { locale: 'en' })).toBe('every 1 hr');
    expect(every(300, { locale: 'en' })).toBe('every 5 min');
    expect(duration(-1)).toBe('—');
  });
});
