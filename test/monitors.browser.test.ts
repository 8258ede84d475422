import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserStack, consolePage, hasChromium } from './browser.js';
import { signIn } from './helpers.js';
import { startShop } from './shop.js';

const env = browserStack({ OUTBOUND_ALLOWLIST: '127.0.0.1/32' });
let shop: Awaited<ReturnType<typeof startShop>>;

beforeAll(async () => {
  shop = await startShop();
});
afterAll(async () => {
  await shop?.close();
});

describe.skipIf(!hasChromium)('price monitors in the browser', () => {
  it('an operator adds a monitor, checks it as the price falls, sees the chart and the alert, pauses it', async () => {
    const url = env.stack.api.url;
    const operator = await signIn(url, 'operator');
    const sku = `browser-${Date.now().toString(36)}`;
    const page = await consolePage(env.browser, url, operator);
    await page.click('nav >> text=Price monitors');
    await page.fill('input[name=url]', shop.product(sku, 'jsonld', { price: 120 }));
    await page.fill('input[name=target_price]', '95');
    await page.click('text=Add monitor');
    const row = page.locator(`[data-testid=monitor-row]:has-text("${sku}")`);
    await expect.poll(() => row.count()).toBe(1);
    await row.locator('a').click();

    for (const price of [120, 110, 99, 94, 97]) {
      shop.setPrice(sku, price);
      const checks = await page.locator('[data-testid=check-row]').count();
      await page.click('text=Check now');
      await expect.poll(() => page.locator('[data-testid=check-row]').count()).toBe(checks + 1);
    }
    await expect.poll(() => page.textContent('[data-testid=monitor-outcome]')).toBe('ok');
    expect(await page.locator('[data-testid=alert-row]').count()).toBe(1);
    expect(await page.textContent('[data-testid=alert-row]')).toContain('94');
    expect(await page.textContent('[data-testid=breaker-state]')).toBe('closed');
    // The chart drew on its canvas.
    const box = await page.locator('[data-testid=price-chart] canvas').boundingBox();
    expect(box!.height).toBeGreaterThan(200);

    mkdirSync('test/artifacts', { recursive: true });
    await page.screenshot({ path: 'test/artifacts/monitor-detail.png', fullPage: true });

    await page.click('text=Pause');
    await expect.poll(() => page.textContent('main')).toContain('paused');
    await page.click('text=Resume');
    await expect.poll(() => page.locator('text=Pause').count()).toBe(1);
  });
});
