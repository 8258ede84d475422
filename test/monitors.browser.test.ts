import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserStack, consolePage, hasChromium } from './browser.js';
import { call, signIn } from './helpers.js';
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
    await expect.poll(() => page.getAttribute('[data-testid=monitor-outcome]', 'data-status')).toBe('ok');
    expect(await page.locator('[data-testid=alert-row]').count()).toBe(1);
    expect(await page.textContent('[data-testid=alert-row]')).toContain('94');
    expect(await page.getAttribute('[data-testid=breaker-state]', 'data-status')).toBe('closed');
    // The chart has a text alternative that names the target.
    expect(await page.textContent('[data-testid=chart-summary]')).toMatch(/^5 prices from .* target .*95/);
    // The chart drew on its canvas.
    const box = await page.locator('[data-testid=price-chart] canvas').boundingBox();
    expect(box!.height).toBeGreaterThan(200);

    mkdirSync('test/artifacts', { recursive: true });
    await page.screenshot({ path: 'test/artifacts/monitor-detail.png', fullPage: true });

    await page.getByRole('button', { name: 'Pause' }).click();
    await page.locator('[data-testid=monitor-paused]').waitFor();
    await page.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => page.locator('[data-testid=monitor-paused]').count()).toBe(0);
  });

  it('explains an empty chart, edits target and interval, and deletes a monitor after a confirmation', async () => {
    const url = env.stack.api.url;
    const operator = await signIn(url, 'operator');
    const sku = `browser-${Date.now().toString(36)}`;
    const made = await call(url, 'POST', '/api/v1/monitors', {
      token: operator.token,
      // A page the shop does not have: checks run, none reads a price.
      body: {
        url: shop.product(sku, 'jsonld').replace(sku, `gone-${sku}`),
        target_price: 95,
        currency: 'USD',
        interval: 3600,
      },
    });
    expect(made.status, made.text).toBe(201);
    const id = made.json.id;
    const page = await consolePage(env.browser, url, operator);
    page.setDefaultTimeout(15_000);
    await page.goto(`${url}/monitors/${id}`);
    await page.locator('[data-state=ready]').waitFor();
    // No price read yet: words, not an empty axis.
    expect(await page.textContent('[data-testid=chart-empty]')).toContain('No prices yet');
    expect(await page.locator('[data-testid=price-chart]').count()).toBe(0);
    expect(await page.textContent('[data-testid=monitor-interval]')).toBe('every 1 hr');

    // Target and interval are edited in a dialog and saved through the API.
    const main = page.locator('#main');
    await main.getByRole('button', { name: 'Edit' }).click();
    await page.fill('input[name=edit_target_price]', '88.5');
    await page.getByRole('dialog').getByRole('combobox').click();
    await page.getByRole('option', { name: 'every 1 day' }).click();
    await page.getByRole('button', { name: 'Save monitor' }).click();
    await expect.poll(() => page.textContent('[data-testid=monitor-interval]')).toBe('every 1 day');
    expect(await page.textContent('[data-testid=monitor-target]')).toContain('88.50');
    const saved = await call(url, 'GET', `/api/v1/monitors/${id}`, { token: operator.token });
    expect([saved.json.target_price, saved.json.interval]).toEqual([88.5, 86_400]);

    // Backing out keeps it; confirming deletes it and returns to the list.
    await main.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Keep' }).click();
    expect((await call(url, 'GET', `/api/v1/monitors/${id}`, { token: operator.token })).status).toBe(200);
    await main.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Delete monitor' }).click();
    await page.waitForURL(`${url}/monitors`);
    expect((await call(url, 'GET', `/api/v1/monitors/${id}`, { token: operator.token })).status).toBe(404);
  });
});
