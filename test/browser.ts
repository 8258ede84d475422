/** Debian's Chromium driven by playwright-core, as the browser tests use it. */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
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
