/**
 * The account pages in the browser against the real API, worker and a real SMTP server on loopback: sign-up from
 * the login page, the emailed code, the profile and sessions reached from the shell, a password reset by the emailed
 * link, and the development mailbox for admins — at phone width, with no sideways scrolling and no serious axe-core
 * violation on any of them.
 */
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import {
  browserStack,
  consolePage,
  hasChromium,
  pageOverflow,
  seriousAxeViolations,
  signedInContext,
  viewports,
} from './browser.js';
import { signIn, unique } from './helpers.js';
import { codeOf, resetTokenOf, startInbox } from './inbox.js';

let inbox: Awaited<ReturnType<typeof startInbox>>;
// Filled in once the SMTP server listens; browserStack's own beforeAll (registered after this one) reads it.
const settings: Record<string, string> = { ACCOUNT_LIMIT_PER_IP: '100000', RATE_LIMIT_PER_IP: '100000' };
beforeAll(async () => {
  inbox = await startInbox();
  settings.SMTP_URL = inbox.url;
  settings.MAILBOX_DIR = inbox.dir;
});
afterAll(async () => {
  await inbox?.stop();
});
const env = browserStack(settings);

/** The page fits a phone and axe-core finds nothing serious; a screenshot for people. */
async function checkPage(page: Page, name: string) {
  const { scrollWidth, innerWidth } = await pageOverflow(page);
  expect(scrollWidth, `${name} scrolls sideways`).toBeLessThanOrEqual(innerWidth);
  expect(await seriousAxeViolations(page), name).toEqual([]);
  await page.screenshot({ path: `test/artifacts/accounts-${name}.png`, fullPage: true });
}

describe.skipIf(!hasChromium)('accounts in the browser', () => {
  it('signs up with the emailed code, edits the profile and sees its session', async () => {
    mkdirSync('test/artifacts', { recursive: true });
    const url = env.stack.api.url;
    const email = `${unique('signup')}@test.local`;
    const context = await env.browser.newContext({ viewport: viewports.phone, bypassCSP: true });
    const page = await context.newPage();

    await page.goto(`${url}/login`);
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.waitForURL(`${url}/signup`);
    await checkPage(page, 'signup');
    await page.getByLabel('Email', { exact: true }).fill(email);
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByLabel('Display name (optional)').fill('Ada');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.waitForURL(/\/verify-email\?email=/);
    expect(await page.getByLabel('Email', { exact: true }).inputValue()).toBe(email);
    await checkPage(page, 'verify');

    await page.getByLabel('Code', { exact: true }).fill(codeOf(await inbox.next(email)));
    await page.getByRole('button', { name: 'Confirm and sign in' }).click();
    await page.waitForURL(`${url}/`);

    await page.goto(`${url}/profile`);
    await expect.poll(() => page.getByLabel('Display name (optional)').inputValue()).toBe('Ada');
    await checkPage(page, 'profile');
    await page.getByLabel('Display name (optional)').fill('Ada L.');
    await page.getByRole('button', { name: 'Save profile' }).click();
    await expect.poll(() => page.getByText('Profile saved').count()).toBeGreaterThan(0);

    await page.getByRole('link', { name: 'Sessions' }).click();
    await page.waitForURL(`${url}/profile/sessions`);
    const sessions = page.locator('[data-session]');
    await expect.poll(() => sessions.count()).toBe(1);
    expect(await sessions.first().textContent()).toContain('This session');
    await checkPage(page, 'sessions');
    await context.close();
  });

  it('resets a forgotten password through the emailed link', async () => {
    const url = env.stack.api.url;
    const user = await signIn(url, 'operator');
    const context = await env.browser.newContext({ viewport: viewports.phone, bypassCSP: true });
    const page = await context.newPage();
    await page.goto(`${url}/login`);
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.waitForURL(`${url}/forgot-password`);
    await page.getByLabel('Email', { exact: true }).fill(user.email);
    await page.getByRole('button', { name: 'Email me a link' }).click();
    await expect.poll(() => page.locator('[data-testid=form-notice]').count()).toBe(1);
    await checkPage(page, 'forgot');

    await page.goto(`${url}/reset-password#token=${resetTokenOf(await inbox.next(user.email))}`);
    await page.getByLabel('New password', { exact: true }).fill('my new long password');
    await page.getByLabel('New password again').fill('my new long password');
    await page.getByRole('button', { name: 'Set password' }).click();
    await expect.poll(() => page.locator('[data-testid=form-notice]').count()).toBe(1);
    await checkPage(page, 'reset');
    await context.close();

    const signedIn = await consolePage(env.browser, url, { email: user.email, password: 'my new long password' });
    await signedIn.close();
  });

  it('shows the development mailbox to admins', async () => {
    const url = env.stack.api.url;
    const admin = await signIn(url, 'admin');
    await fetch(`${url}/api/v1/auth/password-reset`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: admin.email }),
    });
    await inbox.next(admin.email);
    const { context, page } = await signedInContext(env.browser, url, admin, viewports.phone);
    await page.goto(`${url}/dev/mailbox`);
    await expect
      .poll(() => page.locator('[data-mail]').first().textContent())
      .toContain('Reset your Meridian password');
    await checkPage(page, 'mailbox');
    await context.close();
  });
});
