/**
 * The Companies console pages against the real API and the stand-in VAT white list: a NIP typed as people write it
 * is looked up and shown with where the answer came from, an account is checked with the registry's proof, invalid
 * and unknown NIPs are told in words, and a watch is added, opened and stopped after a confirmation.
 */
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserStack, consolePage, hasChromium, pageOverflow, viewports } from './browser.js';
import { call, signIn } from './helpers.js';
import { companyLike, randomNip, startWhiteList } from './whitelist.js';

let registry: Awaited<ReturnType<typeof startWhiteList>>;
// Filled in once the stand-in listens; browserStack reads it when its own beforeAll starts the stack (after this).
const settings: Record<string, string> = { OUTBOUND_ALLOWLIST: '127.0.0.1/32' };
beforeAll(async () => {
  registry = await startWhiteList();
  settings.WHITELIST_BASE_URL = registry.url;
});
afterAll(async () => {
  await registry?.close();
});
const env = browserStack(settings);

describe.skipIf(!hasChromium)('companies in the browser', () => {
  it('looks a NIP up, checks an account with its proof, and watches the company', async () => {
    const url = env.stack.api.url;
    const admin = await signIn(url, 'admin');
    const nip = randomNip();
    const subject = companyLike(nip);
    registry.setSubject(nip, subject);
    const account = subject.accountNumbers![0];
    const page = await consolePage(env.browser, url, admin);
    mkdirSync('test/artifacts', { recursive: true });

    // Typed with a PL prefix, spaces and dashes: the card shows the company, live from the registry.
    await page.goto(`${url}/companies`);
    await page
      .getByLabel('NIP', { exact: true })
      .fill(`PL ${nip.slice(0, 3)}-${nip.slice(3, 6)}-${nip.slice(6, 8)}-${nip.slice(8)}`);
    await page.getByRole('button', { name: 'Look up' }).click();
    const card = page.locator('[data-testid=company-card]');
    await expect.poll(() => card.textContent(), { timeout: 15_000 }).toContain(subject.name);
    expect(await card.locator('[data-vat-status]').getAttribute('data-vat-status')).toBe('active');
    expect(await page.getAttribute('[data-testid=company-source]', 'data-source')).toBe('live');
    expect(await page.textContent('[data-testid=company-source]')).toMatch(/fetched .*(now|second)/);
    expect(await card.textContent()).toContain(account);
    // The most searched NIPs, as the API counts them, by name and linked to their search.
    const top = async () =>
      (await call(url, 'GET', '/api/v1/analytics/popular?limit=10', { token: admin.token })).json.data[0];
    const first = page.locator('[data-testid=popular-row]').first();
    await expect
      .poll(
        async () => {
          const t = await top();
          const text = await first.textContent();
          return text?.includes(t.name ?? `NIP ${t.nip}`) && text.includes(t.nip);
        },
        { timeout: 10_000 },
      )
      .toBe(true);
    const leader = await top();
    await first.getByRole('link').click();
    await expect.poll(() => new URL(page.url()).searchParams.get('nip')).toBe(leader.nip);
    expect(await page.getByLabel('NIP', { exact: true }).inputValue()).toBe(leader.nip);
    await page.goto(`${url}/companies?nip=${nip}`);

    // Looked up again: from the cache.
    await page.reload();
    await expect
      .poll(() => page.getAttribute('[data-testid=company-source]', 'data-source'), { timeout: 15_000 })
      .toBe('cache');

    // The account check: on the list, with the registry's request id as proof.
    await page.getByLabel('Account (NRB or PL IBAN)').fill(`PL${account}`);
    await page.getByRole('button', { name: 'Check account' }).click();
    const result = page.locator('[data-testid=check-result]');
    await expect.poll(() => result.getAttribute('data-assigned'), { timeout: 15_000 }).toBe('true');
    const { json: checks } = await call(url, 'POST', `/api/v1/companies/${nip}/accounts/check`, {
      token: admin.token,
      body: { account },
    });
    expect(checks.request_id).toBeTruthy();
    expect(await result.textContent()).toMatch(/Registry request id/);
    // The card and the proof fit a phone: nothing wider than its screen.
    await page.setViewportSize(viewports.phone);
    const { scrollWidth, innerWidth } = await pageOverflow(page);
    expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
    await page.screenshot({ path: 'test/artifacts/companies-check-390.png', fullPage: true });
    await page.setViewportSize(viewports.desktop);
    expect(await result.locator('code').nth(1).textContent()).toMatch(/\S{5,}/);
    // A mistyped account is refused in the API's words.
    const typo = `${account.slice(0, 25)}${(Number(account[25]) + 1) % 10}`;
    await page.getByLabel('Account (NRB or PL IBAN)').fill(typo);
    await page.getByRole('button', { name: 'Check account' }).click();
    const { json: refused } = await call(url, 'POST', `/api/v1/companies/${nip}/accounts/check`, {
      token: admin.token,
      body: { account: typo },
    });
    await expect
      .poll(() => page.textContent('[data-testid=check-error]'), { timeout: 10_000 })
      .toContain(refused.error.message);

    // An invalid NIP: the API's reason, no card.
    const bad = `${nip.slice(0, 9)}${(Number(nip[9]) + 1) % 10}`;
    const { json: invalid } = await call(url, 'GET', `/api/v1/companies/${bad}`, { token: admin.token });
    await page.goto(`${url}/companies?nip=${bad}`);
    const error = page.locator('[data-state=error]');
    await expect.poll(() => error.textContent(), { timeout: 10_000 }).toContain(invalid.error.message);
    expect(await card.count()).toBe(0);
    // A valid NIP the registry does not know: said in words.
    const unknown = randomNip();
    await page.goto(`${url}/companies?nip=${unknown}`);
    await expect
      .poll(() => page.locator('[data-testid=not-registered]').textContent(), { timeout: 10_000 })
      .toContain('not on the VAT white list');

    // Watch the company, open the watch, stop watching after confirming.
    await page.goto(`${url}/companies`);
    await page.getByLabel('NIP to watch').fill(nip);
    await page.getByRole('button', { name: 'Watch', exact: true }).click();
    const row = page.locator('[data-testid=watch-row]', { hasText: nip });
    await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(1);
    await row.getByRole('link').click();
    await expect.poll(() => page.textContent('h1'), { timeout: 10_000 }).toContain(subject.name);
    expect(await page.textContent('main')).toContain('No changes detected yet');
    await page.getByRole('link', { name: '← Companies' }).click();
    await row.getByRole('button', { name: /Stop watching/ }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Stop watching' }).click();
    await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(0);
    const { json: watches } = await call(url, 'GET', `/api/v1/companies/watches?nip=${nip}`, { token: admin.token });
    expect(watches.data).toEqual([]);

    await page.goto(`${url}/companies?nip=${nip}`);
    await card.waitFor();
    await page.screenshot({ path: 'test/artifacts/companies.png', fullPage: true });
    await page.close();
  }, 120_000);
});
