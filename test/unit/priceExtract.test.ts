import { describe, expect, it } from 'vitest';
import { currencyOf, extractPrice, parseMachinePrice, parsePrice } from '../../lib/monitors/priceExtract.js';
import { pages, type Product } from '../shop.js';

const product: Product = { price: 1299.5, currency: 'USD', inStock: true };

describe('parsePrice', () => {
  it.each([
    ['19.99', 19.99],
    ['$1,299.99', 1299.99],
    ['1.299,99 €', 1299.99],
    ['1 299,99 ₴', 1299.99],
    ['1\u00a0299,99 ₴', 1299.99],
    ['1,299', 1299],
    ['EUR 5', 5],
    ['4,99 €', 4.99],
    [42, 42],
  ])('%s → %s', (text, value) => expect(parsePrice(text)).toBe(value));

  it('refuses what is not a price', () => {
    expect(parsePrice('call us')).toBeNull();
    expect(parsePrice(-3)).toBeNull();
    expect(parsePrice(null)).toBeNull();
  });

  it('reads currencies from codes and symbols', () => {
    expect(currencyOf('1.299,99 €')).toBe('EUR');
    expect(currencyOf('USD 12')).toBe('USD');
    expect(currencyOf('₴ 20')).toBe('UAH');
    expect(currencyOf('12')).toBeNull();
  });
});

describe('extractPrice', () => {
  it('prefers JSON-LD offers, with currency and availability', () => {
    expect(extractPrice(pages.jsonld('Headphones', { ...product, inStock: false }))).toEqual({
      outcome: 'ok',
      source: 'json-ld',
      price: 1299.5,
      currency: 'USD',
      availability: 'OutOfStock',
    });
  });

  it('reads microdata', () => {
    expect(extractPrice(pages.microdata('Headphones', { ...product, currency: 'EUR' }))).toEqual({
      outcome: 'ok',
      source: 'microdata',
      price: 1299.5,
      currency: 'EUR',
      availability: 'InStock',
    });
  });

  it('falls back to OpenGraph product tags', () => {
    expect(extractPrice(pages.opengraph('Headphones', product))).toMatchObject({
      outcome: 'ok',
      source: 'opengraph',
      price: 1299.5,
      currency: 'USD',
      availability: 'instock',
    });
  });

  it('uses the selector when given, and calls several prices ambiguous', () => {
    const page = pages.selector('Headphones', { ...product, currency: 'EUR' });
    expect(extractPrice(page, { selector: '.pricing .now' })).toMatchObject({
      outcome: 'ok',
      source: 'selector',
      price: 1299.5,
      currency: 'EUR',
    });
    expect(extractPrice(page, { selector: '.now' })).toEqual({
      outcome: 'ambiguous',
      source: 'selector',
      prices: [4.99, 1299.5],
    });
    expect(extractPrice(page)).toMatchObject({ outcome: 'not_found' });
  });

  it('reports two distinct offers as ambiguous instead of guessing', () => {
    expect(extractPrice(pages.ambiguous('Phone', product))).toEqual({
      outcome: 'ambiguous',
      source: 'json-ld',
      prices: [1299.5, 1399.5],
    });
  });

  it('follows a JSON path in an API answer', () => {
    expect(extractPrice(pages.api('x', product), { jsonPath: '$.data.product.price.amount' })).toMatchObject({
      outcome: 'ok',
      source: 'json_path',
      price: 1299.5,
    });
    expect(extractPrice(pages.api('x', product), { jsonPath: '$.data.nothing' })).toMatchObject({
      outcome: 'not_found',
    });
    expect(extractPrice('<html>', { jsonPath: '$.price' })).toMatchObject({ outcome: 'not_found' });
  });

  it('never returns what a database column cannot hold: odd currencies, absurd numbers, broken locators', () => {
    const ld = (offer: Record<string, unknown>) =>
      `<script type="application/ld+json">${JSON.stringify({ '@type': 'Offer', ...offer })}</script>`;
    expect(extractPrice(ld({ price: '12.00', priceCurrency: 'EURO' }))).toMatchObject({
      outcome: 'ok',
      currency: null,
    });
    expect(extractPrice(ld({ price: '380501234567890', priceCurrency: 'USD' }))).toMatchObject({
      outcome: 'not_found',
    });
    expect(extractPrice('<p class="x">5</p>', { selector: 'div[[[' })).toMatchObject({
      outcome: 'not_found',
      reason: expect.stringMatching(/selector cannot be used/),
    });
    expect(extractPrice('{}', { jsonPath: '$..[?(@.x' })).toMatchObject({ outcome: 'not_found' });
  });

  it('survives a broken JSON-LD block and finds the price elsewhere', () => {
    const page = `<html><head><script type="application/ld+json">{ not json</script><meta property="product:price:amount" content="12.50"></head></html>`;
    expect(extractPrice(page)).toMatchObject({ outcome: 'ok', source: 'opengraph', price: 12.5 });
  });
});

describe('real-world price text, read as the shop meant it', () => {
  // text, the page's language and the monitor's currency (when the case needs them) → price and currency named.
  it.each<[string, { lang?: string; currency?: string }, number | null, string | null]>([
    ['1.299,00 €', {}, 1299, 'EUR'],
    ['1 299,00 zł', {}, 1299, 'PLN'],
    ["CHF 1'299.00", {}, 1299, 'CHF'],
    ['CHF 1’299.–', {}, 1299, 'CHF'],
    ['₹1,29,999', {}, 129999, 'INR'],
    ['₹ 1,29,999.50', {}, 129999.5, 'INR'],
    ['¥1,299', {}, 1299, 'JPY'],
    ['JPY 1.299', {}, 1299, 'JPY'],
    ['¥1,299', { lang: 'zh' }, 1299, 'CNY'],
    ['￥1,299', { lang: 'ja' }, 1299, 'JPY'],
    ['₩1,299,000', {}, 1299000, 'KRW'],
    ['12.500 KWD', {}, 12.5, 'KWD'],
    ['12.500 KWD', { lang: 'en' }, 12.5, 'KWD'],
    ['12.500 KWD', { lang: 'de' }, 12500, 'KWD'],
    ['KWD 1,250.750', {}, 1250.75, 'KWD'],
    ['BHD 12.345', {}, 12.345, 'BHD'],
    ['0.500 OMR', {}, 0.5, 'OMR'],
    ['JOD 7.250', {}, 7.25, 'JOD'],
    ['12.500', { currency: 'KWD' }, 12.5, null],
    ['1,299', { lang: 'de', currency: 'KWD' }, 1.299, null],
    ['١٢٫٥٠٠ د.ك.', { lang: 'ar' }, 12.5, 'KWD'],
    ['١٬٢٩٩ د.ك.', { lang: 'ar' }, 1299, 'KWD'],
    ['$1,299.99', {}, 1299.99, 'USD'],
    ['$12.99', { lang: 'en-CA' }, 12.99, 'CAD'],
    ['12.99 CAD', {}, 12.99, 'CAD'],
    ['Only 12.99 USD.', {}, 12.99, 'USD'],
    ['From $9.99/mo', {}, 9.99, 'USD'],
    ['£1,049.00', {}, 1049, 'GBP'],
    ['€12.99', {}, 12.99, 'EUR'],
    ['1.299 €', { lang: 'en' }, 1299, 'EUR'],
    ['1,299 €', { lang: 'de' }, 1299, 'EUR'],
    ['1\u202f299,00\u00a0€', { lang: 'fr' }, 1299, 'EUR'],
    ['1.299,- €', {}, 1299, 'EUR'],
    ['TOP DEAL 12,99 €', {}, 12.99, 'EUR'],
    ['R$ 1.299,90', { lang: 'pt-BR' }, 1299.9, 'BRL'],
    ['12 990 Ft', {}, 12990, 'HUF'],
    ['12.990 Ft', { lang: 'hu' }, 12990, 'HUF'],
    ['Rp 1.299.000', {}, 1299000, 'IDR'],
    ['₴1 299', {}, 1299, 'UAH'],
    ['1 299 Kč', { lang: 'cs' }, 1299, 'CZK'],
    ['kr 1.299,-', { lang: 'sv' }, 1299, 'SEK'],
    ['kr 1.299,-', {}, 1299, null],
    ['１２,９９ €', {}, 12.99, 'EUR'],
    ['12.03.2024', {}, null, null],
    ['call us', {}, null, null],
  ])('%s %j → %s %s', (text, context, price, currency) => {
    expect(parsePrice(text, context)).toBe(price);
    expect(currencyOf(text, context.lang)).toBe(currency);
  });

  it('reads machine-readable values as schema.org defines them: "." is the decimal point, nothing guessed', () => {
    for (const [value, price] of [
      ['12.500', 12.5],
      ['1.299', 1.299],
      [12.5, 12.5],
      ['89.90', 89.9],
      ['1,299.00', 1299],
      ['12,99', 12.99],
      ['€ 12.50', 12.5],
      ['1,299', null],
      ['1.299,00', null],
      ['-5', null],
      ['', null],
    ] as const)
      expect(parseMachinePrice(value), String(value)).toBe(price);
  });
});

describe('real-world structured data', () => {
  const page = (head: string, body = '', lang = 'en') =>
    `<!doctype html><html lang="${lang}"><head>${head}</head><body>${body}</body></html>`;
  const ld = (data: unknown, lang?: string) =>
    page(`<script type="application/ld+json">${JSON.stringify(data)}</script>`, '', lang);
  const product = (offers: unknown) => ({ '@context': 'https://schema.org', '@type': 'Product', name: 'X', offers });
  const spec = (price: number, priceType?: string) => ({
    '@type': 'UnitPriceSpecification',
    price,
    priceCurrency: 'EUR',
    ...(priceType ? { priceType } : {}),
  });
  const ok = (source: string, price: number, currency: string | null) =>
    expect.objectContaining({ outcome: 'ok', source, price, currency });

  it.each<[string, string, Parameters<typeof extractPrice>[1], unknown]>([
    [
      'a 3-decimal currency in JSON-LD',
      ld({ '@type': 'Offer', price: '12.500', priceCurrency: 'KWD' }),
      {},
      ok('json-ld', 12.5, 'KWD'),
    ],
    [
      'JSON-LD "." is decimal even in EUR',
      ld(product({ '@type': 'Offer', price: '1.299', priceCurrency: 'EUR' })),
      {},
      ok('json-ld', 1.299, 'EUR'),
    ],
    [
      'a JSON number',
      ld(product({ '@type': 'Offer', price: 89.9, priceCurrency: 'EUR' })),
      {},
      ok('json-ld', 89.9, 'EUR'),
    ],
    [
      'a lower-case priceCurrency',
      ld(product({ '@type': 'Offer', price: '5', priceCurrency: 'kwd' })),
      {},
      ok('json-ld', 5, 'KWD'),
    ],
    [
      'the price only in priceSpecification, beside a strike-through price',
      ld(
        product({
          '@type': 'Offer',
          priceSpecification: [spec(89.9), spec(119.9, 'https://schema.org/StrikethroughPrice')],
        }),
      ),
      {},
      ok('json-ld', 89.9, 'EUR'),
    ],
    [
      'a sale price beside a list price, short priceType names',
      ld(product({ '@type': 'Offer', priceSpecification: [spec(119.9, 'ListPrice'), spec(99, 'SalePrice')] })),
      {},
      ok('json-ld', 99, 'EUR'),
    ],
    [
      'one priceSpecification object, currency on the offer',
      ld(
        product({
          '@type': 'Offer',
          priceCurrency: 'PLN',
          priceSpecification: { '@type': 'PriceSpecification', price: '1299.00' },
        }),
      ),
      {},
      ok('json-ld', 1299, 'PLN'),
    ],
    [
      'only a strike-through price is no price',
      ld(product({ '@type': 'Offer', priceSpecification: [spec(119.9, 'https://schema.org/StrikethroughPrice')] })),
      {},
      expect.objectContaining({ outcome: 'not_found' }),
    ],
    [
      'two current prices in priceSpecification are ambiguous',
      ld(product({ '@type': 'Offer', priceSpecification: [spec(89.9), spec(79.9)] })),
      {},
      { outcome: 'ambiguous', source: 'json-ld', prices: [79.9, 89.9] },
    ],
    [
      'an @graph with the offer referenced by @id',
      ld({
        '@context': 'https://schema.org',
        '@graph': [
          { '@type': 'WebPage', '@id': '#page', name: 'X' },
          { '@type': 'Product', '@id': '#product', offers: { '@id': '#offer' } },
          {
            '@type': 'Offer',
            '@id': '#offer',
            price: '249.00',
            priceCurrency: 'CHF',
            availability: 'https://schema.org/InStock',
          },
        ],
      }),
      {},
      expect.objectContaining({ outcome: 'ok', price: 249, currency: 'CHF', availability: 'InStock' }),
    ],
    [
      'offers as a list from two sellers at one price',
      ld(
        product([
          { '@type': 'Offer', price: '19.99', priceCurrency: 'USD' },
          { '@type': 'Offer', price: 19.99, priceCurrency: 'USD' },
        ]),
      ),
      {},
      ok('json-ld', 19.99, 'USD'),
    ],
    [
      'an AggregateOffer: its low price',
      ld(
        product({
          '@type': 'AggregateOffer',
          lowPrice: '9.99',
          highPrice: '19.99',
          offerCount: 4,
          priceCurrency: 'GBP',
        }),
      ),
      {},
      ok('json-ld', 9.99, 'GBP'),
    ],
    [
      'an AggregateOffer with no low price: the offers it lists',
      ld(
        product({
          '@type': 'AggregateOffer',
          offerCount: 1,
          offers: [{ '@type': 'Offer', price: '7.50', priceCurrency: 'GBP' }],
        }),
      ),
      {},
      ok('json-ld', 7.5, 'GBP'),
    ],
    [
      'an Offer whose itemOffered is the product (with its own offers of accessories)',
      ld({
        '@type': 'Offer',
        price: '1299.00',
        priceCurrency: 'EUR',
        itemOffered: {
          '@type': 'Product',
          name: 'X',
          isRelatedTo: { '@type': 'Product', offers: { '@type': 'Offer', price: 19 } },
        },
      }),
      {},
      ok('json-ld', 1299, 'EUR'),
    ],
    [
      'schema.org types written as URLs or lists',
      ld(product({ '@type': ['http://schema.org/Offer'], price: '3.50', priceCurrency: 'USD' })),
      {},
      ok('json-ld', 3.5, 'USD'),
    ],
    [
      'microdata content with a 3-decimal currency',
      page(
        '',
        '<div itemscope itemtype="https://schema.org/Offer"><meta itemprop="priceCurrency" content="BHD"><span itemprop="price" content="12.345">12.345 BD</span></div>',
      ),
      {},
      ok('microdata', 12.345, 'BHD'),
    ],
    [
      'microdata text only, on a German page',
      page(
        '',
        '<div itemscope itemtype="https://schema.org/Offer"><span itemprop="price">1.299,00 €</span></div>',
        'de',
      ),
      {},
      ok('microdata', 1299, 'EUR'),
    ],
    [
      'microdata text only, naming KWD',
      page('', '<div itemscope itemtype="https://schema.org/Offer"><span itemprop="price">12.500 KWD</span></div>'),
      {},
      ok('microdata', 12.5, 'KWD'),
    ],
    [
      'OpenGraph with a 3-decimal currency',
      page(
        '<meta property="product:price:amount" content="12.500"><meta property="product:price:currency" content="KWD">',
      ),
      {},
      ok('opengraph', 12.5, 'KWD'),
    ],
    [
      'a selector on text without a currency: the monitor says KWD',
      page('', '<span class="p">12.500</span>'),
      { selector: '.p', currency: 'KWD' },
      ok('selector', 12.5, null),
    ],
    [
      'a selector on a German page: the monitor says EUR',
      page('', '<span class="p">12.500</span>', 'de'),
      { selector: '.p', currency: 'EUR' },
      ok('selector', 12500, null),
    ],
    [
      'a JSON path to a display string',
      JSON.stringify({ product: { formatted: '1.299,50 €' } }),
      { jsonPath: '$.product.formatted', currency: 'EUR' },
      expect.objectContaining({ outcome: 'ok', source: 'json_path', price: 1299.5 }),
    ],
  ])('%s', (_label, body, opts, expected) => expect(extractPrice(body, opts)).toEqual(expected));
});
