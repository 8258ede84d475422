/**
 * Users and permissions in the console: the navigation lists only the modules the operator may use, a page of a
 * module they lack says so at its own URL, and an admin grants a module and deactivates a user from the Users pages
 * (after a confirmation), but cannot deactivate themselves.
 */
import { mkdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  browserStack,
  consolePage,
  hasChromium,
  pageOverflow,
  seriousAxeViolations,
  signedInContext,
  viewports,
} from './browser.js';
import { call, signIn } from './helpers.js';

const env = browserStack();

describe.skipIf(!hasChromium)('users and permissions in the console', () => {
  it('shows an operator only their modules, and an admin grants and deactivates', async () => {
    const url = env.stack.api.url;
    const browser = env.browser;
    mkdirSync('test/artifacts', { recursive: true });
    const operator = await signIn(url, 'operator', ['cot']);
    const admin = await signIn(url, 'admin');

    const op = await consolePage(browser, url, operator);
    const nav = () => op.locator('nav.app-nav a').allTextContents();
    await expect.poll(nav).toContain('COT data');
    expect(await nav()).not.toContain('Payments');
    expect(await nav()).not.toContain('Merchants');
    expect(await nav()).not.toContain('Users');
    // A page of a module the operator lacks: its URL, and why it is not shown.
    await op.goto(`${url}/payments`);
    await expect.poll(() => op.textContent('main h1')).toBe('No access');
    expect(new URL(op.url()).pathname).toBe('/payments');
    expect(await op.textContent('[data-state=no-access]')).toContain('Payments permission');
    await op.goto(`${url}/users`);
    await expect.poll(() => op.textContent('[data-state=no-access]')).toContain('admins only');
    await op.screenshot({ path: 'test/artifacts/users-no-access.png' });

    const page = await consolePage(browser, url, admin);
    await page.click('nav >> text=Users');
    const row = page.locator(`[data-testid=user-row]:has-text("${operator.email}")`);
    await row.waitFor();
    expect(await row.textContent()).toContain('COT data');
    await row.getByRole('link', { name: operator.email }).click();
    await expect.poll(() => page.textContent('main h1')).toBe(operator.email);

    await page.getByLabel('Payments', { exact: true }).check();
    await expect
      .poll(async () => (await call(url, 'GET', `/api/v1/users/${operator.id}`, { token: admin.token })).json.granted)
      .toEqual(['payments', 'cot']);
    // The operator's console knows from its next page load.
    await op.goto(`${url}/payments`);
    await expect.poll(() => op.textContent('main h1')).toBe('Payments');
    await expect.poll(nav).toContain('Payments');

    await page.getByRole('button', { name: 'Deactivate' }).click();
    await page.locator('.confirm-dialog').getByRole('button', { name: 'Deactivate' }).click();
    await expect.poll(() => page.textContent('[data-testid=user-state]')).toBe('Deactivated');
    expect((await call(url, 'GET', '/api/v1/payments', { token: operator.token })).status).toBe(401);
    await page.screenshot({ path: 'test/artifacts/user-detail.png', fullPage: true });

    // Their own page: the buttons that would lock them out are disabled.
    await page.goto(`${url}/users/${admin.id}`);
    await expect.poll(() => page.textContent('main h1')).toBe(admin.email);
    expect(await page.getByRole('button', { name: 'Deactivate' }).isDisabled()).toBe(true);
    await op.close();
    await page.close();

    // On a phone: no sideways scrolling, nothing axe-core calls serious (the list as cards).
    const phone = await signedInContext(browser, url, admin, viewports.phone);
    try {
      // Other test files deactivate users of their own in this database: the list is narrowed to this one.
      const inactive = `/users?state=inactive&search=${encodeURIComponent(operator.email)}`;
      for (const path of ['/users', `/users/${operator.id}`, inactive]) {
        await phone.page.goto(`${url}${path}`);
        await phone.page.locator('[data-state=ready]').first().waitFor();
        const { scrollWidth, innerWidth } = await pageOverflow(phone.page);
        expect(scrollWidth, path).toBeLessThanOrEqual(innerWidth);
        expect(await seriousAxeViolations(phone.page), path).toEqual([]);
      }
      expect(await phone.page.locator('[data-testid=user-row]').allTextContents()).toEqual([
        expect.stringContaining(operator.email),
      ]);
      await phone.page.screenshot({ path: 'test/artifacts/users-390.png', fullPage: true });
    } finally {
      await phone.context.close();
    }
  }, 240_000);

  it('pages through a long list with "Load more" until the last user', async () => {
    const url = env.stack.api.url;
    const admin = await signIn(url, 'admin');
    const stem = `paged-${Date.now().toString(36)}`;
    // One page is 25; 30 users of a stem no other test uses.
    await env.stack.api.deps.db('users').insert(
      Array.from({ length: 30 }, (_, i) => ({
        email: `${stem}-${String(i).padStart(2, '0')}@paging.test`,
        password_hash: 'x',
        role: 'operator',
      })),
    );
    const page = await consolePage(env.browser, url, admin);
    await page.goto(`${url}/users?search=${stem}`);
    const rows = page.locator('[data-testid=user-row]');
    await expect.poll(() => rows.count()).toBe(25);
    await page.getByRole('button', { name: 'Load more' }).click();
    await expect.poll(() => rows.count()).toBe(30);
    expect(await page.getByRole('button', { name: 'Load more' }).count()).toBe(0);
    expect(new Set(await rows.allTextContents()).size).toBe(30);
    await page.close();
  }, 120_000);
});
