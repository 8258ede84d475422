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

  it('requests finding the access token expired share one refresh, and tabs take turns', async () => {
    // Access tokens of 3 s, so the test can wait one out.
    const short = await startApi({ ACCESS_TOKEN_TTL_S: '3' });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const user = await signIn(short.url, 'operator');
      const page = await context.newPage();
      await page.goto(`${short.url}/login`);
      await page.fill('input[name=email]', user.email);
      await page.fill('input[name=password]', user.password);
      await page.click('button[type=submit]');
      await page.waitForURL(`${short.url}/`);
      await new Promise((r) => setTimeout(r, 4_000));

      // The COT page loads three resources at once (its runs wait on their tab); each first meets the expired token.
      const refreshes: Array<{ status: number; cookie: Promise<string | null> }> = [];
      const loaded = new Set<string>();
      context.on('response', (res) => {
        const path = new URL(res.url()).pathname;
        if (path === '/api/v1/auth/refresh')
          refreshes.push({ status: res.status(), cookie: res.request().headerValue('cookie') });
        else if (path.startsWith('/api/v1/cot/') && res.status() === 200) loaded.add(path.split('/')[4]);
      });
      await page.click('nav >> text=COT data');
      await expect.poll(() => [...loaded].sort()).toEqual(['groups', 'screener', 'status']);
      expect(refreshes.map((r) => r.status)).toEqual([200]);

      // Two tabs opening at once each refresh on start, one after the other: each presents the cookie the one
      // before received, never the same one twice. A slow network (each refresh held 1 s) makes them overlap.
      refreshes.length = 0;
      await context.route('**/api/v1/auth/refresh', async (route) => {
        await new Promise((r) => setTimeout(r, 1_000));
        await route.continue();
      });
      const tabs = await Promise.all([context.newPage(), context.newPage()]);
      await Promise.all(tabs.map((tab) => tab.goto(`${short.url}/cot`)));
      for (const tab of tabs) await expect.poll(() => tab.textContent('main h1')).toBe('COT data');
      expect(refreshes.length).toBeGreaterThanOrEqual(2);
      expect(refreshes.every((r) => r.status === 200)).toBe(true);
      const cookies = await Promise.all(refreshes.map((r) => r.cookie));
      expect(new Set(cookies).size).toBe(cookies.length);
      // And the session is intact: a reload still signs in.
      await page.reload();
      await expect.poll(() => page.textContent('main h1')).toBe('COT data');
    } finally {
      await context.close();
      await short.close();
    }
  });
});
