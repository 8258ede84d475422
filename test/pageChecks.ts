/**
 * The console checks a feature's browser tests run on their own pages (as `console.layout.browser.test.ts` does for
 * every route): screenshots at a laptop's and a phone's size, never wider than the viewport, no serious or
 * critical axe-core violation, and honest states — a slow API shows loading (never the empty text), a failing one
 * the error with its words and a Retry that recovers.
 */
import type { Browser, BrowserContext, Page, Route } from 'playwright-core';
import { expect } from 'vitest';
import { failDataCalls, pageOverflow, seriousAxeViolations, viewports } from './browser.js';

/** A context signed in through the login form, with the locale and zone given (the operator's, not the server's). */
export async function operatorContext(
  browser: Browser,
  url: string,
  user: { email: string; password: string },
  options: { viewport?: { width: number; height: number }; locale?: string; timezoneId?: string } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: viewports.desktop, bypassCSP: true, ...options });
  const page = await context.newPage();
  await page.goto(`${url}/login`);
  await page.fill('input[name=email]', user.email);
  await page.fill('input[name=password]', user.password);
  await page.click('button[type=submit]');
  await page.waitForURL(`${url}/`);
  return { context, page };
}

/**
 * axe-core's serious and critical violations in what the page renders, leaving out the shell (top bar and
 * navigation), which `console.layout.browser.test.ts` checks on every route.
 */
async function pageAxeViolations(page: Page) {
  const violations = await seriousAxeViolations(page);
  const own = [];
  for (const v of violations) {
    const nodes = [];
    for (const target of v.nodes)
      if (!(await page.evaluate((t) => Boolean(document.querySelector(t)?.closest('.topbar, .sidebar')), target)))
        nodes.push(target);
    if (nodes.length) own.push({ ...v, nodes });
  }
  return own;
}

/**
 * Opens `path` at both sizes (after `prepare`, e.g. choosing a tab), saves `test/artifacts/<name>-<width>.png` and
 * asserts the document is never wider than the viewport and axe-core finds nothing serious.
 */
export async function checkLayout(
  browser: Browser,
  url: string,
  user: { email: string; password: string },
  path: string,
  name: string,
  prepare: (page: Page) => Promise<void> = async () => {},
) {
  for (const viewport of Object.values(viewports)) {
    const { context, page } = await operatorContext(browser, url, user, { viewport, locale: 'en-GB' });
    try {
      await page.goto(`${url}${path}`);
      await page.locator('[data-state=ready], [data-state=empty]').first().waitFor({ timeout: 15_000 });
      await prepare(page);
      await page.screenshot({ path: `test/artifacts/${name}-${viewport.width}.png`, fullPage: true });
      const { scrollWidth, innerWidth } = await pageOverflow(page);
      expect(scrollWidth, `${name} at ${viewport.width} px`).toBeLessThanOrEqual(innerWidth);
      expect(await pageAxeViolations(page), `${name} at ${viewport.width} px`).toEqual([]);
    } finally {
      await context.close();
    }
  }
}

const isDataCall = (url: string) => /\/api\/v1\//.test(url) && !/\/api\/v1\/(auth|meta|events)\b/.test(url);

/**
 * With every data call held 3 s the page shows its loading state and never the empty text nor an error; with every
 * data call answered 500 it shows the error in the API's words and never the empty text; Retry then recovers.
 */
export async function checkStates(
  browser: Browser,
  url: string,
  user: { email: string; password: string },
  path: string,
) {
  const { context, page } = await operatorContext(browser, url, user);
  try {
    await context.addInitScript(() => {
      const w = window as unknown as { __states: string[]; __held: boolean };
      w.__states = [];
      w.__held = true;
      new MutationObserver(() => {
        if (!w.__held) return;
        for (const el of document.querySelectorAll('[data-state]')) {
          const s = el.getAttribute('data-state')!;
          if (!w.__states.includes(s)) w.__states.push(s);
        }
      }).observe(document, { subtree: true, childList: true, attributes: true });
    });
    const slow = async (route: Route) => {
      if (!isDataCall(route.request().url())) return route.continue();
      await new Promise((r) => setTimeout(r, 3_000));
      await page.evaluate(() => ((window as unknown as { __held: boolean }).__held = false)).catch(() => {});
      await route.continue().catch(() => {});
    };
    await page.route('**/api/v1/**', slow);
    await page.goto(`${url}${path}`);
    await page.locator('[data-state=loading]').first().waitFor({ timeout: 2_500 });
    expect(await page.locator('[data-state=loading]').first().textContent()).toContain('Loading');
    await page.locator('[data-state=ready], [data-state=empty]').first().waitFor({ timeout: 15_000 });
    const held = await page.evaluate(() => (window as unknown as { __states: string[] }).__states);
    expect(held).not.toContain('empty');
    expect(held).not.toContain('error');
    await page.unroute('**/api/v1/**', slow);

    const fail = failDataCalls(isDataCall);
    await page.route('**/api/v1/**', fail);
    await page.goto(`${url}${path}`);
    const error = page.locator('[data-state=error]').first();
    await error.waitFor({ timeout: 10_000 });
    expect(await error.textContent()).toContain('Simulated outage');
    expect(await page.locator('[data-state=empty]').count()).toBe(0);
    await page.unroute('**/api/v1/**', fail);
    await error.getByRole('button', { name: 'Retry' }).click();
    await page.locator('[data-state=ready], [data-state=empty]').first().waitFor({ timeout: 10_000 });
  } finally {
    await context.close();
  }
}
