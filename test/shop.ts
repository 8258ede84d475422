/**
 * A local shop on loopback that serves product pages the way real shops mark prices up: schema.org
 * JSON-LD, microdata, OpenGraph product tags, a price only a selector finds, two prices at once,
 * a JSON API — plus failures (500s, 403s, slow answers, 404s, redirects, rate limiting with 429/503 and
 * Retry-After). Prices change while it runs.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Product {
  price: number;
  currency: string;
  inStock: boolean;
  /** The price as the page's machine-readable fields write it; two decimals unless set ("12.500" for KWD). */
  priceText?: string;
}

const head = (
  title: string,
  extra = '',
) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">${extra}</head>`;
const chrome = (body: string) => `<body><header><nav><a href="/">Home</a> › <a href="/c/audio">Audio</a></nav>
<div class="cart">Cart: <span class="cart-total">$0.00</span></div></header><main>${body}</main>
<footer>Free shipping over $50 · © Example Shop</footer></body></html>`;
const machinePrice = (p: Product) => p.priceText ?? p.price.toFixed(2);
const availability = (p: Product) => (p.inStock ? 'https://schema.org/InStock' : 'https://schema.org/OutOfStock');

/** The page formats, by name; each takes the product's current state. */
export const pages: Record<string, (name: string, p: Product) => string> = {
  jsonld: (name, p) =>
    head(
      name,
      `<script type="application/ld+json">${JSON.stringify({
        '@context': 'https://schema.org/',
        '@type': 'Product',
        name,
        sku: 'WH-1000',
        brand: { '@type': 'Brand', name: 'Acme' },
        aggregateRating: { '@type': 'AggregateRating', ratingValue: '4.6', reviewCount: '212' },
        offers: {
          '@type': 'Offer',
          url: 'https://shop.example/p/wh-1000',
          priceCurrency: p.currency,
          price: machinePrice(p),
          availability: availability(p),
        },
      })}</script>`,
    ) +
    chrome(
      `<h1>${name}</h1><p class="price">${p.price.toFixed(2)} ${p.currency}</p><p>Related: <span class="price">19.99</span></p>`,
    ),
  microdata: (name, p) =>
    head(name) +
    chrome(`<div itemscope itemtype="https://schema.org/Product"><h1 itemprop="name">${name}</h1>
<div itemprop="offers" itemscope itemtype="https://schema.org/Offer">
<span itemprop="priceCurrency" content="${p.currency}">${p.currency === 'EUR' ? '€' : '$'}</span><span itemprop="price" content="${machinePrice(p)}">${p.price.toLocaleString('en-US', { minimumFractionDigits: 2 })}</span>
<link itemprop="availability" href="${availability(p)}">${p.inStock ? 'In stock' : 'Sold out'}</div></div>`),
  opengraph: (name, p) =>
    head(
      name,
      `<meta property="og:type" content="product"><meta property="og:title" content="${name}">
<meta property="product:price:amount" content="${machinePrice(p)}"><meta property="product:price:currency" content="${p.currency}">
<meta property="product:availability" content="${p.inStock ? 'instock' : 'oos'}">`,
    ) + chrome(`<h1>${name}</h1>`),
  selector: (name, p) =>
    head(name) +
    chrome(`<h1>${name}</h1><div class="pricing"><s class="was">${(p.price * 1.25).toFixed(2).replace('.', ',')} €</s>
<span class="now">${p.price.toLocaleString('de-DE', { minimumFractionDigits: 2 })} €</span></div><div class="upsell"><span class="now">4,99 €</span> cable</div>`),
  ambiguous: (name, p) =>
    head(
      name,
      `<script type="application/ld+json">${JSON.stringify([
        {
          '@context': 'https://schema.org',
          '@type': 'Product',
          name: `${name} 128 GB`,
          offers: { '@type': 'Offer', price: p.price, priceCurrency: p.currency },
        },
        {
          '@context': 'https://schema.org',
          '@type': 'Product',
          name: `${name} 256 GB`,
          offers: { '@type': 'Offer', price: p.price + 100, priceCurrency: p.currency },
        },
      ])}</script>`,
    ) + chrome(`<h1>${name}</h1>`),
  api: (_name, p) => JSON.stringify({ data: { product: { price: { amount: p.price, currency: p.currency } } } }),
};

/** A failure the shop answers with instead of the page. */
interface Refusal {
  status: number;
  headers: Record<string, string>;
}

export async function startShop() {
  const products = new Map<string, Product>();
  const hits = new Map<string, number>();
  /** Per path: answer `status` (500 unless set) this many more times; `Infinity` for always. */
  const failures = new Map<string, Refusal & { times: number }>();
  const delays = new Map<string, number>();
  /** Every path answered this way while set: a shop rate-limiting its whole host. */
  let everyPath: Refusal | null = null;

  const server = createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const delay = delays.get(path);
    if (delay) await new Promise((r) => setTimeout(r, delay));
    const failing = failures.get(path);
    let refusal = everyPath;
    if (!refusal && failing && failing.times > 0) {
      failing.times--;
      refusal = failing;
    }
    if (refusal) {
      res
        .writeHead(refusal.status, { 'content-type': 'text/html', ...refusal.headers })
        .end(`<h1>${refusal.status}</h1>`);
      return;
    }
    // /moved/<rest> redirects to /<rest>, as shops do after a URL change.
    if (path.startsWith('/moved/')) return void res.writeHead(301, { location: path.slice('/moved'.length) }).end();
    const [, format, sku] = path.split('/');
    const product = products.get(sku);
    if (!product || !pages[format])
      return void res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not found</h1>');
    res.writeHead(200, { 'content-type': format === 'api' ? 'application/json' : 'text/html; charset=utf-8' });
    res.end(pages[format](`Acme Headphones ${sku}`, product));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    /** A product and its page URL in one format. */
    product(sku: string, format: keyof typeof pages, state: Partial<Product> = {}) {
      products.set(sku, { price: 100, currency: 'USD', inStock: true, ...state });
      return `${base}/${format}/${sku}`;
    },
    setPrice: (sku: string, price: number) => void (products.get(sku)!.price = price),
    /** Answers `status` (with `headers`) instead of the page at `path`, `times` more times. */
    failNext: (path: string, times = Infinity, status = 500, headers: Record<string, string> = {}) =>
      void failures.set(path, { times, status, headers }),
    heal: (path: string) => void failures.delete(path),
    /** Answers every path with `status` and `headers` (e.g. 429 and Retry-After) until `unlimit`. */
    limitAll: (status: number, headers: Record<string, string> = {}) => void (everyPath = { status, headers }),
    unlimit: () => void (everyPath = null),
    slow: (path: string, ms: number) => void delays.set(path, ms),
    hits: (path: string) => hits.get(path) ?? 0,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}
