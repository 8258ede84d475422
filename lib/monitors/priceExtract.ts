/**
 * Finds a product's price in a page, in order of trust: the monitor's own CSS selector or JSON path,
 * schema.org JSON-LD offers, microdata, then OpenGraph product tags. Several distinct prices where
 * one was expected is reported as ambiguous rather than guessed. Pure: the page comes in as text.
 */
import * as cheerio from 'cheerio';
import { JSONPath } from 'jsonpath-plus';

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

const SYMBOLS: Record<string, string> = {
  $: 'USD',
  '€': 'EUR',
  '£': 'GBP',
  '₴': 'UAH',
  '¥': 'JPY',
  '₹': 'INR',
  zł: 'PLN',
  '₽': 'RUB',
  kč: 'CZK',
};

/** "1 299,99 ₴", "$1,299.99", "1.299,99 €", "19.99", 19.99 → a number, or null. */
export function parsePrice(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 && value < MAX_PRICE ? value : null;
  if (typeof value !== 'string') return null;
  const match = value.replace(/\u00a0|\u202f/g, ' ').match(/\d[\d\s.,']*/);
  if (!match) return null;
  let digits = match[0].trim().replace(/[\s']/g, '');
  const lastDot = digits.lastIndexOf('.');
  const lastComma = digits.lastIndexOf(',');
  const decimalAt = Math.max(lastDot, lastComma);
  if (decimalAt >= 0) {
    const decimals = digits.length - decimalAt - 1;
    // One kind of separator followed by exactly three digits is a thousands separator ("1,299").
    const onlyOneKind = lastDot < 0 || lastComma < 0;
    const isDecimal = !(onlyOneKind && decimals === 3) && decimals > 0;
    const integer = digits.slice(0, decimalAt).replace(/[.,]/g, '');
    digits = isDecimal ? `${integer}.${digits.slice(decimalAt + 1)}` : digits.replace(/[.,]/g, '');
  }
  const n = Number(digits);
  return Number.isFinite(n) && n < MAX_PRICE ? n : null;
}

export function currencyOf(text: string | null | undefined): string | null {
  if (!text) return null;
  const code = text.match(/\b([A-Z]{3})\b/);
  if (code) return code[1];
  const lower = text.toLowerCase();
  for (const [symbol, iso] of Object.entries(SYMBOLS)) if (lower.includes(symbol)) return iso;
  return null;
}

/** Prices a NUMERIC(14,2) column can hold; anything larger is a misread (a SKU, a phone number). */
const MAX_PRICE = 1e12;
/** Only an ISO 4217-shaped code is a currency; shops also write "EURO" or "Currency: USD". */
const isoCurrency = (v: unknown) =>
  typeof v === 'string' && /^[A-Za-z]{3}$/.test(v.trim()) ? v.trim().toUpperCase() : null;

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

function jsonLdOffers($: cheerio.CheerioAPI): FoundPrice[] {
  const offers: FoundPrice[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    const types = ([] as unknown[]).concat(o['@type'] ?? []);
    if (types.includes('Offer') || types.includes('AggregateOffer')) {
      const price = parsePrice(o.price ?? o.lowPrice);
      if (price !== null)
        offers.push({ price, currency: isoCurrency(o.priceCurrency), availability: shortAvailability(o.availability) });
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

function microdataOffers($: cheerio.CheerioAPI): FoundPrice[] {
  return $('[itemprop="price"]')
    .toArray()
    .flatMap((el) => {
      const node = $(el);
      const price = parsePrice(node.attr('content') ?? node.text());
      if (price === null) return [];
      const scope = node.closest('[itemscope]');
      const currencyNode = scope.find('[itemprop="priceCurrency"]').first();
      const availabilityNode = scope.find('[itemprop="availability"]').first();
      return [
        {
          price,
          currency: isoCurrency(currencyNode.attr('content') ?? currencyNode.text()) ?? currencyOf(node.text()),
          availability: shortAvailability(
            availabilityNode.attr('href') ?? availabilityNode.attr('content') ?? availabilityNode.text().trim(),
          ),
        },
      ];
    });
}

function openGraphOffer($: cheerio.CheerioAPI): FoundPrice[] {
  const meta = (p: string) => $(`meta[property="${p}"]`).attr('content') ?? null;
  const price = parsePrice(meta('product:price:amount') ?? meta('og:price:amount'));
  if (price === null) return [];
  return [
    {
      price,
      currency: isoCurrency(meta('product:price:currency') ?? meta('og:price:currency')),
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

export function extractPrice(
  body: string,
  opts: { selector?: string | null; jsonPath?: string | null } = {},
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
    const found = values
      .map(parsePrice)
      .filter((p): p is number => p !== null)
      .map((price) => ({ price, currency: null, availability: null }));
    return decide('json_path', found) ?? { outcome: 'not_found', reason: `nothing at ${opts.jsonPath}` };
  }
  const $ = cheerio.load(body);
  if (opts.selector) {
    const found = $(opts.selector)
      .toArray()
      .flatMap((el) => {
        const text = $(el).attr('content') ?? $(el).text();
        const price = parsePrice(text);
        return price === null ? [] : [{ price, currency: currencyOf(text), availability: null }];
      });
    return decide('selector', found) ?? { outcome: 'not_found', reason: `no price in ${opts.selector}` };
  }
  return (
    decide('json-ld', jsonLdOffers($)) ??
    decide('microdata', microdataOffers($)) ??
    decide('opengraph', openGraphOffer($)) ?? {
      outcome: 'not_found',
      reason: 'no JSON-LD offer, microdata price or OpenGraph price on the page',
    }
  );
}
