/**
 * Finds a product's price in a page, in order of trust: the monitor's own CSS selector or JSON path,
 * schema.org JSON-LD offers, microdata, then OpenGraph product tags. Several distinct prices where
 * one was expected is reported as ambiguous rather than guessed. Machine-readable fields are read as
 * schema.org defines them; text as the shop's language and the currency's minor units say (12.500 KWD is
 * twelve and a half). Pure: the page comes in as text.
 */
import * as cheerio from 'cheerio';
import { JSONPath } from 'jsonpath-plus';
import { canonicalCurrency, currencyForSymbol, minorUnits, supportedLocale } from '../platform/currency.js';

export type PriceSource = 'selector' | 'json_path' | 'json-ld' | 'microdata' | 'opengraph';

export interface FoundPrice {
  price: number;
  currency: string | null;
  /** schema.org availability, short form: `InStock`, `OutOfStock`, … */
  availability: string | null;
}

export type Extraction =
  | ({ outcome: 'ok'; source: PriceSource } & FoundPrice)
  | { outcome: 'ambiguous'; source: PriceSource; prices: number[] }
  | { outcome: 'not_found'; reason: string };

/** Prices a NUMERIC(15,3) column can hold; anything larger is a misread (a SKU, a phone number). */
const MAX_PRICE = 1e12;
const inRange = (n: number) => (Number.isFinite(n) && n >= 0 && n < MAX_PRICE ? n : null);

/** What a human-readable price is read with: the currency it is expected in and the page's language. */
export interface PriceContext {
  /** ISO 4217 code (any case) whose minor units decide "12.500": the monitor's, when the text names none. */
  currency?: string | null;
  /** BCP 47 tag, e.g. `<html lang>`: whether "1,299" is one thousand or one point something there. */
  lang?: string | null;
}

/**
 * A machine-readable price (JSON-LD `price`, microdata `content`, OpenGraph `product:price:amount`): schema.org
 * defines `.` as the decimal point and no grouping, so "12.500" is 12.5 whatever the currency. Tolerated because
 * they cannot be misread: a currency mark around the number, commas grouping before a decimal point
 * ("1,299.00"), a decimal comma not followed by exactly three digits ("12,99"). Anything else — "1,299",
 * "1.299,00" — would need a guess, so null, as for negatives and numbers past MAX_PRICE.
 */
export function parseMachinePrice(value: unknown): number | null {
  if (typeof value === 'number') return inRange(value);
  if (typeof value !== 'string') return null;
  const body = value.normalize('NFKC').match(/^[^\d.,-]*?([\d.,]+)[^\d.,-]*$/)?.[1];
  if (!body) return null;
  if (/^\d+(\.\d+)?$/.test(body)) return inRange(Number(body));
  if (/^\d{1,3}(,\d{3})+\.\d+$/.test(body)) return inRange(Number(body.replace(/,/g, '')));
  if (/^\d+,(\d{1,2}|\d{4,})$/.test(body)) return inRange(Number(body.replace(',', '.')));
  return null;
}

/**
 * A number as people write prices: grouping by spaces, apostrophes, `.` or `,` — in threes, or India's
 * 1,29,999 — and a decimal mark. Apostrophes and spaces group only before three digits ("2 x 12,99" is 2).
 */
const NUMBER = /\d(?:[\d.,\u066b]|[ '\u2019\u066c](?=\d{3}(?!\d)))*/;
const toAsciiDigits = (text: string) =>
  text
    .normalize('NFKC') // full-width digits, no-break and thin spaces
    .replace(/[\u0660-\u0669]/g, (d) => String(d.charCodeAt(0) - 0x660))
    .replace(/[\u06f0-\u06f9]/g, (d) => String(d.charCodeAt(0) - 0x6f0));

const decimalMarks = new Map<string, '.' | ',' | null>();
/** Which of `.` and `,` the page's language writes as its decimal point (Latin digits), or null when unknown. */
function pageDecimalMark(lang: string | null | undefined): '.' | ',' | null {
  const locale = supportedLocale(lang);
  if (!locale) return null;
  if (!decimalMarks.has(locale)) {
    const mark = new Intl.NumberFormat(locale, { numberingSystem: 'latn' })
      .formatToParts(1.5)
      .find((p) => p.type === 'decimal')?.value;
    decimalMarks.set(locale, mark === '.' || mark === ',' ? mark : null);
  }
  return decimalMarks.get(locale)!;
}

/**
 * Which mark in `digits` (digits, `.` and `,`) is the decimal point, or null when all of them group. Both marks:
 * the last. One mark several times: grouping. Once, not before exactly three digits: the decimal point (grouping is
 * by three). Once before three digits ("1,299", "12.500"): grouping when the currency has fewer minor units (EUR,
 * JPY); otherwise the page language's decimal point decides; with no language, a 3-decimal currency (KWD) reads
 * it as decimals and an unknown one as grouping.
 */
function decimalMarkOf(digits: string, minor: number | null, pageMark: '.' | ',' | null): '.' | ',' | null {
  const marks = digits.match(/[.,]/g) ?? [];
  const last = marks.at(-1) as '.' | ',' | undefined;
  if (!last) return null;
  if (marks.some((m) => m !== last)) return last;
  if (marks.length > 1) return null;
  if (digits.length - digits.indexOf(last) - 1 !== 3) return last;
  if (minor !== null && minor < 3) return null;
  if (pageMark) return last === pageMark ? last : null;
  return minor === 3 ? last : null;
}

/** `digits` with `decimal` as its decimal point: the number, or null when its grouping is malformed (a date). */
function toNumber(digits: string, decimal: '.' | ',' | null): number | null {
  const at = decimal ? digits.lastIndexOf(decimal) : -1;
  const integer = at >= 0 ? digits.slice(0, at) : digits;
  const fraction = at >= 0 ? digits.slice(at + 1) : '0';
  const groups = integer.split(/[.,]/);
  const groupMarks = new Set(integer.match(/[.,]/g));
  const wellGrouped =
    groups.length === 1 ||
    (groupMarks.size === 1 &&
      !groupMarks.has(decimal!) &&
      /^\d{1,3}$/.test(groups[0]) &&
      groups.at(-1)!.length === 3 &&
      groups.slice(1, -1).every((g) => g.length === 2 || g.length === 3));
  if (!wellGrouped || !/^\d+$/.test(fraction)) return null;
  return inRange(Number(`${groups.join('')}.${fraction}`));
}

/**
 * A human-readable price: "1.299,00 €", "1 299,00 zł", "CHF 1'299.00", "₹1,29,999", "¥1,299", "12.500 KWD",
 * "١٢٫٥٠٠ د.ك.", 19.99 → a number, or null. The first number in the text counts; its decimal point follows the
 * currency's ISO 4217 minor units (the one the text names, else `context.currency`) and the page's language —
 * see decimalMarkOf. Numbers are taken as they are (non-negative, below MAX_PRICE).
 */
export function parsePrice(value: unknown, context: PriceContext = {}): number | null {
  if (typeof value === 'number') return inRange(value);
  if (typeof value !== 'string') return null;
  const text = toAsciiDigits(value);
  const match = text.match(NUMBER);
  if (!match) return null;
  // A trailing mark ends a sentence or a Swiss/German "1.299,-" rather than starting decimals.
  const token = match[0].replace(/[.,]+$/, '').replace(/[ '\u2019\u066c]/g, '');
  // The Arabic decimal separator is unambiguous: the other marks group.
  if (token.includes('\u066b')) return toNumber(token.replace(/[.,]/g, '').replace('\u066b', '.'), '.');
  const currency = currencyOf(text, context.lang) ?? canonicalCurrency(context.currency);
  const minor = currency ? minorUnits(currency) : null;
  return toNumber(token, decimalMarkOf(token, minor, pageDecimalMark(context.lang)));
}

/** A token's letters and symbols without the punctuation around them ("(USD)", "€*", "price:", "USD."). */
const bare = (token: string | undefined) =>
  (token ?? '').replace(/^[\s.,:;!?()[\]'"*/|+\u2013\u2014-]+|[\s.,:;!?()[\]'"*/|+\u2013\u2014-]+$/g, '');

/**
 * The currency a price text names, next to its number ("12.500 KWD", "$1,299", "1 299 zł", "R$ 1.299,90"), or
 * anywhere in a text with no number ("€"): an upper-case ISO 4217 code first, then a symbol read as the page's
 * language `lang` writes it (currencyForSymbol). Null when it names none or an ambiguous one ("kr").
 */
export function currencyOf(text: string | null | undefined, lang?: string | null): string | null {
  if (!text) return null;
  const normalized = toAsciiDigits(text);
  const match = normalized.match(NUMBER);
  const candidates = match
    ? [
        normalized.slice(0, match.index).split(/\s+/).map(bare).filter(Boolean).at(-1),
        normalized
          .slice(match.index! + match[0].length)
          .split(/\s+/)
          .map(bare)
          .find(Boolean),
      ]
    : normalized.split(/\s+/).map(bare);
  const tokens = candidates.filter((t): t is string => !!t);
  const code = tokens.find((t) => /^[A-Z]{3}$/.test(t) && canonicalCurrency(t));
  if (code) return code;
  for (const t of tokens) {
    const symbol = currencyForSymbol(t, lang);
    if (symbol) return symbol;
  }
  return null;
}

const shortAvailability = (v: unknown) =>
  typeof v === 'string' && v ? v.replace(/^https?:\/\/schema\.org\//i, '') : null;

/** One answer from a list of candidates: none, one distinct price, or ambiguous. */
function decide(source: PriceSource, found: FoundPrice[]): Extraction | null {
  if (!found.length) return null;
  const distinct = [...new Set(found.map((f) => f.price))];
  if (distinct.length > 1) return { outcome: 'ambiguous', source, prices: distinct.sort((a, b) => a - b) };
  return {
    outcome: 'ok',
    source,
    ...found[0],
    currency: found.find((f) => f.currency)?.currency ?? null,
    availability: found.find((f) => f.availability)?.availability ?? null,
  };
}

/** A schema.org type or enumeration value, short form: `https://schema.org/Offer`, `schema:Offer` → `Offer`. */
const shortName = (v: unknown) => (typeof v === 'string' ? v.replace(/^.*[/:#]/, '') : '');
const typesOf = (o: Record<string, unknown>) => ([] as unknown[]).concat(o['@type'] ?? []).map(shortName);
/** schema.org price types that name a reference price (what it was, what the maker suggests), not the price. */
const REFERENCE_PRICES = new Set(['StrikethroughPrice', 'ListPrice', 'MSRP', 'SRP', 'MinimumAdvertisedPrice']);

/**
 * An offer's prices: `price` (or an AggregateOffer's `lowPrice`), else each `priceSpecification` that is not a
 * reference price (a strike-through "was" price is neither the price nor a second one).
 */
function offerPrices(o: Record<string, unknown>): FoundPrice[] {
  const currency = canonicalCurrency(o.priceCurrency);
  const availability = shortAvailability(o.availability);
  const direct = parseMachinePrice(o.price ?? o.lowPrice);
  if (direct !== null) return [{ price: direct, currency, availability }];
  return ([] as unknown[])
    .concat(o.priceSpecification ?? [])
    .filter((s): s is Record<string, unknown> => !!s && typeof s === 'object')
    .filter((s) => !REFERENCE_PRICES.has(shortName(s.priceType)))
    .flatMap((s) => {
      const price = parseMachinePrice(s.price);
      return price === null ? [] : [{ price, currency: canonicalCurrency(s.priceCurrency) ?? currency, availability }];
    });
}

/** Every offer in the page's JSON-LD blocks: top level, in `@graph`, under a Product's `offers` (one or a list). */
function jsonLdOffers($: cheerio.CheerioAPI): FoundPrice[] {
  const offers: FoundPrice[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    const types = typesOf(o);
    if (types.includes('Offer') || types.includes('AggregateOffer')) {
      const found = offerPrices(o);
      offers.push(...found);
      // An AggregateOffer without a low price still lists its offers; an Offer's `itemOffered` is the product.
      if (!found.length && types.includes('AggregateOffer')) visit(o.offers);
      return;
    }
    Object.values(o).forEach(visit);
  };
  $('script[type="application/ld+json"]').each((_, el) => {
    try {
      visit(JSON.parse($(el).text()));
    } catch {
      // A broken block on a shop page is common; the other sources may still answer.
    }
  });
  return offers;
}

/**
 * An element's price: its machine-readable value (`content`, or `value` on `<data>`), else its text as people read
 * it. A `content` that needs a guess ("1,299") is not guessed at; the text beside it may still say.
 */
function elementPrice(node: ReturnType<cheerio.CheerioAPI>, context: PriceContext): number | null {
  const machine = node.attr('content') ?? node.attr('value');
  return (machine === undefined ? null : parseMachinePrice(machine)) ?? parsePrice(node.text(), context);
}

function microdataOffers($: cheerio.CheerioAPI, context: PriceContext): FoundPrice[] {
  return $('[itemprop~="price"]')
    .toArray()
    .flatMap((el) => {
      const node = $(el);
      const scope = node.closest('[itemscope]');
      const currencyNode = scope.find('[itemprop~="priceCurrency"]').first();
      const currency =
        canonicalCurrency(currencyNode.attr('content') ?? currencyNode.text().trim()) ??
        currencyOf(node.text(), context.lang);
      const price = elementPrice(node, { ...context, currency: currency ?? context.currency });
      if (price === null) return [];
      const availabilityNode = scope.find('[itemprop~="availability"]').first();
      return [
        {
          price,
          currency,
          availability: shortAvailability(
            availabilityNode.attr('href') ?? availabilityNode.attr('content') ?? availabilityNode.text().trim(),
          ),
        },
      ];
    });
}

function openGraphOffer($: cheerio.CheerioAPI): FoundPrice[] {
  const meta = (p: string) => $(`meta[property="${p}"]`).attr('content') ?? null;
  const price = parseMachinePrice(meta('product:price:amount') ?? meta('og:price:amount'));
  if (price === null) return [];
  return [
    {
      price,
      currency: canonicalCurrency(meta('product:price:currency') ?? meta('og:price:currency')),
      availability: shortAvailability(meta('product:availability') ?? meta('og:availability')),
    },
  ];
}

/** Why a CSS selector or JSON path cannot be used, or null when it can. */
export function invalidLocator(kind: 'selector' | 'json_path', value: string): string | null {
  try {
    if (kind === 'selector') cheerio.load('')(value);
    else JSONPath({ path: value, json: {}, eval: false });
    return null;
  } catch (error) {
    return (error as Error).message || 'invalid';
  }
}

/**
 * The product's price in `body` (an HTML page, or JSON for `jsonPath`). `currency` is the one the monitor expects:
 * it sets the minor units of a human-readable price whose text names no currency; the page's `<html lang>` sets
 * its decimal point. Machine-readable fields are read as schema.org defines them (parseMachinePrice).
 */
export function extractPrice(
  body: string,
  opts: { selector?: string | null; jsonPath?: string | null; currency?: string | null } = {},
): Extraction {
  for (const [kind, value] of [
    ['selector', opts.selector],
    ['json_path', opts.jsonPath],
  ] as const) {
    const problem = value ? invalidLocator(kind, value) : null;
    if (problem) return { outcome: 'not_found', reason: `the ${kind} cannot be used: ${problem}` };
  }
  if (opts.jsonPath) {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return { outcome: 'not_found', reason: 'the response is not JSON, so the JSON path cannot apply' };
    }
    const values = JSONPath({ path: opts.jsonPath, json: json as object, wrap: true, eval: false }) as unknown[];
    // JSON numbers and "1299.50" are machine-readable; a display string ("1.299,50 €") is read as text.
    const found = values
      .map((v) => parseMachinePrice(v) ?? parsePrice(v, { currency: opts.currency }))
      .filter((p): p is number => p !== null)
      .map((price) => ({ price, currency: null, availability: null }));
    return decide('json_path', found) ?? { outcome: 'not_found', reason: `nothing at ${opts.jsonPath}` };
  }
  const $ = cheerio.load(body);
  const context: PriceContext = { currency: opts.currency, lang: $('html').attr('lang') };
  if (opts.selector) {
    const found = $(opts.selector)
      .toArray()
      .flatMap((el) => {
        const node = $(el);
        const price = elementPrice(node, context);
        const currency = currencyOf(node.attr('content') ?? node.text(), context.lang);
        return price === null ? [] : [{ price, currency, availability: null }];
      });
    return decide('selector', found) ?? { outcome: 'not_found', reason: `no price in ${opts.selector}` };
  }
  return (
    decide('json-ld', jsonLdOffers($)) ??
    decide('microdata', microdataOffers($, context)) ??
    decide('opengraph', openGraphOffer($)) ?? {
      outcome: 'not_found',
      reason: 'no JSON-LD offer, microdata price or OpenGraph price on the page',
    }
  );
}
