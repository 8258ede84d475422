import { describe, expect, it } from 'vitest';
import { canonicalCurrency, currencyForSymbol, minorUnits, supportedLocale } from '../../lib/platform/currency.js';

describe('canonicalCurrency', () => {
  it('upper-cases an ISO 4217 code written in any letter case', () => {
    for (const code of ['eur', 'Eur', 'EUR', 'eUr']) expect(canonicalCurrency(code)).toBe('EUR');
    expect(canonicalCurrency('pln')).toBe('PLN');
    expect(canonicalCurrency('kwd')).toBe('KWD');
  });

  it('refuses what is not an ISO 4217 code', () => {
    for (const code of ['EURO', 'eu', 'xyz', 'ABC', '', ' eur', 'eur ', 'e1r', 12, null, undefined])
      expect(canonicalCurrency(code), String(code)).toBeNull();
  });

  it('knows every code the platform lists, and only in its one form', () => {
    for (const code of Intl.supportedValuesOf('currency')) {
      expect(canonicalCurrency(code.toLowerCase())).toBe(code);
      expect(code).toMatch(/^[A-Z]{3}$/);
    }
  });
});

describe('minorUnits', () => {
  it.each([
    ['KWD', 3],
    ['BHD', 3],
    ['JOD', 3],
    ['OMR', 3],
    ['TND', 3],
    ['EUR', 2],
    ['usd', 2],
    ['JPY', 0],
    ['KRW', 0],
  ])('%s has %i decimals', (code, digits) => expect(minorUnits(code)).toBe(digits));

  it('throws for a code that is not ISO 4217', () => {
    expect(() => minorUnits('XYZ')).toThrow(RangeError);
  });
});

describe('currencyForSymbol', () => {
  it.each<[string, string | null, string | null]>([
    ['€', null, 'EUR'],
    ['£', null, 'GBP'],
    ['$', null, 'USD'],
    ['$', 'en-CA', 'CAD'],
    ['¥', null, 'JPY'],
    ['¥', 'zh', 'CNY'],
    ['￥', 'ja', 'JPY'],
    ['zł', 'en', 'PLN'],
    ['₴', null, 'UAH'],
    ['Kč', null, 'CZK'],
    ['R$', null, 'BRL'],
    ['د.ك.', 'ar', 'KWD'],
    ['CHF', null, 'CHF'],
    ['kr', null, null],
    ['kr', 'sv', 'SEK'],
    ['R', 'en', null],
    ['usd', null, null],
    ['XYZ', null, null],
    ['', null, null],
  ])('%s on a %s page → %s', (symbol, locale, code) => expect(currencyForSymbol(symbol, locale)).toBe(code));
});

describe('supportedLocale', () => {
  it('accepts what pages write in <html lang> and refuses what ICU cannot use', () => {
    expect(supportedLocale('en_US')).toBe('en-US');
    expect(supportedLocale(' de ')).toBe('de');
    expect(supportedLocale('en-AA')).toBe('en');
    expect(supportedLocale('de-CH-u-nu-arab')).toBe('de-CH');
    expect(supportedLocale('xx')).toBeNull();
    expect(supportedLocale('!!')).toBeNull();
    expect(supportedLocale('')).toBeNull();
    expect(supportedLocale(null)).toBeNull();
  });
});
