import { describe, expect, it } from 'vitest';
import { currencyOf, extractPrice, parsePrice } from '../../lib/monitors/priceExtract.js';
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
