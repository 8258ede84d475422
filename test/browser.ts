/** Debian's Chromium driven by playwright-core, as the browser tests use it. */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium, type Browser, type BrowserContext, type Page, type Route } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { startStack } from './helpers.js';

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const hasChromium = existsSync(chromiumPath);

export function launchChromium() {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** A console page signed in through the login form. */
export async function consolePage(
  browser: Browser,
  url: string,
  user: { email: string; password: string },
): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${url}/login`);
  await page.fill('input[name=email]', user.email);
  await page.fill('input[name=password]', user.password);
  await page.click('button[type=submit]');
  await page.waitForURL(`${url}/`);
  return page;
}

/** The two sizes every console page is checked at: a laptop and a phone (iPhone 14/15). */
export const viewports = {
  desktop: { width: 1440, height: 900 },
  phone: { width: 390, height: 844 },
} as const;

/**
 * A browser context signed in through the login form, at `viewport`. CSP is bypassed only so the tests can inject
 * axe-core's source (an inline script the console's CSP rightly refuses).
 */
export async function signedInContext(
  browser: Browser,
  url: string,
  user: { email: string; password: string },
  viewport: { width: number; height: number },
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport, bypassCSP: true });
  const page = await context.newPage();
  await page.goto(`${url}/login`);
  await page.fill('input[name=email]', user.email);
  await page.fill('input[name=password]', user.password);
  await page.click('button[type=submit]');
  await page.waitForURL(`${url}/`);
  return { context, page };
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/**
 * axe-core's serious and critical violations on the page once its transitions ended (WCAG 2.x A/AA and best
 * practices): a message still fading in has the contrast of its half-way colours.
 */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: axeSource });
  return page.evaluate(async () => {
    // Finite ones only: a spinner turns for ever.
    const ending = document.getAnimations().filter((a) => a.effect?.getComputedTiming().endTime !== Infinity);
    await Promise.all(ending.map((a) => a.finished.catch(() => undefined)));
    const axe = (window as unknown as { axe: { run: (c: Document, o: object) => Promise<any> } }).axe;
    const { violations } = await axe.run(document, { resultTypes: ['violations'] });
    return violations
      .filter((v: { impact: string }) => v.impact === 'serious' || v.impact === 'critical')
      .map((v: { id: string; impact: string; help: string; nodes: { target: string[] }[] }) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')),
      }));
  });
}

/** What a simulated outage answers with (the API's error shape), for a page to show in words. */
export const SIMULATED_OUTAGE = 'Simulated outage';

/** A route handler answering every data call (`isData(url)`) with a 500 in the API's error shape; others go on. */
export const failDataCalls = (isData: (url: string) => boolean) => (route: Route) =>
  isData(route.request().url())
    ? route.fulfill({
        status: 500,
        contentType: 'application/json',
        body: JSON.stringify({ error: { code: 'internal_error', message: SIMULATED_OUTAGE, details: null } }),
      })
    : route.continue();

/** Whether the page is wider than the viewport (sideways scrolling of the whole page). */
export const pageOverflow = (page: Page) =>
  page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }));

/** A stack (API + worker) and Chromium for one browser test file, started before and stopped after it. */
export function browserStack(settings: Record<string, string> = {}) {
  const env = {} as { stack: Awaited<ReturnType<typeof startStack>>; browser: Browser };
  beforeAll(async () => {
    env.stack = await startStack(settings);
    if (hasChromium) env.browser = await launchChromium();
  });
  afterAll(async () => {
    await env.browser?.close();
    await env.stack?.close();
  });
  return env;
}
