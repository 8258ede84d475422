/**
 * ISO 4217 currencies as the platform's ICU data knows them (`Intl`), shared by the API (what it accepts and
 * answers) and the price extractor (how many decimals a price has, which currency a symbol names). No hand
 * lists: the codes, minor units and symbols come with Node's ICU and are updated with it.
 */

/** The codes ICU lists as current ISO 4217 currencies, upper case (`EUR`, `KWD`, `JPY`, …). */
const codes = new Set(Intl.supportedValuesOf('currency'));

/**
 * The canonical form of a currency code, upper-case ISO 4217 (`eur`, `Eur`, `EUR` → `EUR`), or null when `code`
 * is not an ISO 4217 code in any letter case (`EURO`, `XYZ`, ` eur`). This is the form the API stores and answers.
 */
export function canonicalCurrency(code: unknown): string | null {
  if (typeof code !== 'string' || !/^[A-Za-z]{3}$/.test(code)) return null;
  const upper = code.toUpperCase();
  return codes.has(upper) ? upper : null;
}

const minorUnitsCache = new Map<string, number>();

/**
 * The decimals ISO 4217 gives a currency's minor unit, from ICU's currency data: KWD, BHD, JOD, OMR, TND 3;
 * EUR, USD 2; JPY, KRW, HUF 0. `code` in any letter case; throws RangeError when it is not an ISO 4217 code.
 */
export function minorUnits(code: string): number {
  const iso = canonicalCurrency(code);
  if (!iso) throw new RangeError(`not an ISO 4217 currency code: ${code}`);
  let digits = minorUnitsCache.get(iso);
  if (digits === undefined) {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency: iso }).resolvedOptions().maximumFractionDigits!;
    minorUnitsCache.set(iso, digits);
  }
  return digits;
}

/** A symbol as a page writes it, compared without compatibility forms (`￥` = `¥`) or edge dots (`د.ك.` = `د.ك`). */
const symbolKey = (symbol: string) =>
  symbol
    .normalize('NFKC')
    .replace(/^[.\s]+|[.\s]+$/g, '')
    .toLowerCase();

const symbolCache = new Map<string, Map<string, string>>();

/** symbol → code for one locale and display; a symbol several currencies share is left out (`$`, `kr` narrow). */
function symbolsOf(locale: string, display: 'symbol' | 'narrowSymbol'): Map<string, string> {
  const key = `${locale}|${display}`;
  let map = symbolCache.get(key);
  if (map) return map;
  const seen = new Map<string, string | null>();
  for (const code of codes) {
    const part = new Intl.NumberFormat(locale, { style: 'currency', currency: code, currencyDisplay: display })
      .formatToParts(1)
      .find((p) => p.type === 'currency')?.value;
    // A bare code is found as a code; a single Latin letter (`R`, `L`, `K`) is too common in text to trust.
    if (!part || part === code || /^[A-Za-z]$/.test(part)) continue;
    const k = symbolKey(part);
    seen.set(k, seen.has(k) && seen.get(k) !== code ? null : code);
  }
  map = new Map([...seen].filter((e): e is [string, string] => e[1] !== null));
  symbolCache.set(key, map);
  return map;
}

/**
 * `locale` (a page's `<html lang>`) as the ICU locale that formats it (`en_US` → `en-US`, `en-AA` → `en`), without
 * extensions, or null for a tag ICU cannot use. ICU's own locales only, so the caches keyed by it stay bounded.
 */
export function supportedLocale(locale: string | null | undefined): string | null {
  if (!locale) return null;
  try {
    const supported = Intl.NumberFormat.supportedLocalesOf(locale.trim().replace(/_/g, '-'))[0];
    return supported ? new Intl.Locale(new Intl.NumberFormat(supported).resolvedOptions().locale).baseName : null;
  } catch {
    return null;
  }
}

/**
 * The currency a symbol names (`€` → EUR, `zł` → PLN, `CHF` → CHF, `R$` → BRL), read as the page's `locale`
 * writes symbols first (`$` is CAD on an `en-CA` page, `¥` CNY on a `zh` page), then as English does (`$` USD,
 * `¥` JPY), then by narrow symbols only one currency uses (`₴`, `Kč`, `Ft`). Codes count only in upper case
 * (`ALL`, `TOP` and `CUP` are words too). Null when none or several currencies fit (`kr` without a locale).
 */
export function currencyForSymbol(symbol: string, locale?: string | null): string | null {
  if (/^[A-Z]{3}$/.test(symbol)) return canonicalCurrency(symbol);
  const k = symbolKey(symbol);
  if (!k) return null;
  const page = supportedLocale(locale);
  const tables = [
    ...(page ? [symbolsOf(page, 'symbol')] : []),
    symbolsOf('en', 'symbol'),
    ...(page ? [symbolsOf(page, 'narrowSymbol')] : []),
    symbolsOf('en', 'narrowSymbol'),
  ];
  for (const table of tables) {
    const code = table.get(k);
    if (code) return code;
  }
  return null;
}
