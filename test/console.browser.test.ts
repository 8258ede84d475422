import { existsSync, mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventActivities } from '../activities/events.js';
import { domainEvent } from '../lib/platform/events.js';
import { hasChromium, launchChromium } from './browser.js';
import { signIn, startApi, unique } from './helpers.js';

let api: Awaited<ReturnType<typeof startApi>>;
let browser: Browser;

beforeAll(async () => {
  api = await startApi();
  if (hasChromium) browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await api?.close();
});

describe.skipIf(!hasChromium)('operator console (Chromium)', () => {
  it('signs in, shows live events with Temporal links, navigates the areas and creates a merchant', async () => {
    expect(existsSync('ui/dist/index.html'), 'run `npm run build:ui` first').toBe(true);
    const admin = await signIn(api.url, 'admin');
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });

    await page.goto(`${api.url}/payments`);
    await page.waitForURL(/\/login\?next=/);
    await page.fill('input[name=email]', admin.email);
    await page.fill('input[name=password]', 'wrong password');
    await page.click('button[type=submit]');
    await expect.poll(() => page.textContent('[role=alert]')).toContain('Wrong email or password');

    await page.fill('input[name=password]', admin.password);
    await page.click('button[type=submit]');
    await page.waitForURL(`${api.url}/payments`);

    await page.click('nav >> text=Overview');
    await expect.poll(() => page.textContent('[data-testid=stream-state]')).toBe('connected');
    const workflowId = unique('wf');
    await eventActivities(api.deps.redis).publishEvent(domainEvent('console.test', null, { workflow_id: workflowId }));
    const link = page.locator(`a:has-text("${workflowId}")`);
    await link.waitFor();
    expect(await link.getAttribute('href')).toBe(
      `${api.deps.config.temporal.uiUrl}/namespaces/default/workflows/${workflowId}`,
    );

    // A reload keeps the session through the refresh cookie.
    await page.reload();
    await expect.poll(() => page.textContent('main')).toContain('postgres: ok');

    for (const area of ['Payments', 'Price monitors', 'COT data', 'Diagnosis', 'Booking']) {
      await page.click(`nav >> text=${area}`);
      await expect.poll(() => page.textContent('main h1')).toBe(area);
    }

    await page.click('nav >> text=Merchants');
    const name = unique('Console shop');
    await page.fill('input[placeholder="New merchant name"]', name);
    await page.click('text=Create merchant');
    await expect.poll(() => page.textContent('[data-testid=new-credentials]')).toMatch(/mk_live_.*whsec_/s);
    await expect.poll(() => page.locator(`[data-testid=merchant-row]:has-text("${name}")`).count()).toBe(1);

    mkdirSync('test/artifacts', { recursive: true });
    await page.screenshot({ path: 'test/artifacts/console.png', fullPage: true });

    await page.click('text=Sign out');
    await page.waitForURL(/\/login/);
  });
});
