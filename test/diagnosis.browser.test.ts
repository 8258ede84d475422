/**
 * Diagnosis in the browser, end to end against the real API: an owner chats to a diagnosis and books from it (the
 * workshops offered as separate links); the operator finds the chat, reads the transcript, the diagnosis card and
 * the mileage in the locale's digits, and closes the chat after a confirmation. Both pages at both sizes, with
 * honest states.
 */
import { mkdirSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Appointment } from '../db/models/Appointment.js';
import { browserStack, hasChromium } from './browser.js';
import { call, createWorkshop, signIn } from './helpers.js';
import { checkLayout, checkStates, operatorContext } from './pageChecks.js';

const env = browserStack({ BOOKING_MIN_NOTICE_MIN: '0', RATE_LIMIT_PER_IP: '100000', RATE_LIMIT_PER_KEY: '100000' });

beforeAll(() => mkdirSync('test/artifacts', { recursive: true }));

describe.skipIf(!hasChromium)('diagnosis in the browser', () => {
  it('an owner chats to a diagnosis and books from it; the operator sees the transcript and the card, and closes the chat', async () => {
    const url = env.stack.api.url;
    const operator = await signIn(url, 'operator');
    const shop = await createWorkshop(url, operator.token, { hours: { opens: '08:00', closes: '18:00' } });

    const owner = await env.browser.newPage({ viewport: { width: 900, height: 1000 } });
    await owner.goto(`${url}/diagnose?workshop=${shop.id}`);
    await owner.fill('input[name=make]', 'Skoda');
    await owner.fill('input[name=model]', 'Fabia');
    await owner.fill('input[name=year]', '2015');
    await owner.fill('input[name=mileage]', '160000');
    await owner.click('text=Start');
    await owner.fill('input[name=message]', 'There is a grinding noise');
    await owner.click('button:has-text("Send")');
    await expect.poll(() => owner.locator('[data-testid=chat-message]').count()).toBe(2);
    await owner.fill('input[name=message]', 'Only when I brake');
    await owner.click('button:has-text("Send")');
    await expect.poll(() => owner.locator('[data-testid=diagnosis-card]').count()).toBe(1);
    expect(await owner.textContent('[data-testid=diagnosis-card]')).toMatch(/high.*brake pads/is);
    await owner.click('button.secondary:has-text("5")');
    await expect.poll(() => owner.textContent('main')).toContain('Thank you');
    // The workshops offered are separate links, one list item each.
    const links = owner.locator('[data-testid=book-links] li > a');
    expect(await links.count()).toBe(1);
    await owner.screenshot({ path: 'test/artifacts/diagnosis-owner.png', fullPage: true });

    // From the diagnosis to a booking that carries it.
    const sessionId = new URL(`${url}${await links.first().getAttribute('href')}`).searchParams.get('diagnosis')!;
    await links.first().click();
    await owner.locator('[data-testid=slot]').first().click();
    await owner.fill('input[name=name]', 'Petro');
    await owner.fill('input[name=email]', 'petro@example.com');
    await owner.fill('input[name=make]', 'Skoda');
    await owner.fill('input[name=model]', 'Fabia');
    await owner.click('button[type=submit]');
    await expect.poll(() => owner.textContent('[data-testid=booking-result]')).toContain('held');
    expect((await Appointment.query().where({ diagnosis_session_id: sessionId, workshop_id: shop.id })).length).toBe(1);
    await owner.close();

    const { context, page } = await operatorContext(env.browser, url, operator, { locale: 'en-GB' });
    try {
      await page.click('nav >> text=Diagnosis');
      await page.locator(`[data-testid=session-row] a[href="/diagnosis/${sessionId}"]`).click();
      await expect.poll(() => page.locator('[data-testid=chat-message]').count()).toBe(4);
      expect(await page.textContent('[data-testid=diagnosis-card]')).toContain('Worn brake pads');
      expect(await page.textContent('main')).toContain('rated 5/5');
      // Mileage in the locale's digits, the workshop by name.
      expect(await page.textContent('[data-testid=session-mileage]')).toBe('160,000 km');
      expect(await page.textContent('main')).not.toContain('160000');
      await expect
        .poll(() => page.locator(`#main a[href="/booking?workshop=${shop.id}"]`).textContent())
        .toMatch(/^Garage-/);
      await page.screenshot({ path: 'test/artifacts/diagnosis-session.png', fullPage: true });

      // Closing asks first; Keep changes nothing.
      const main = page.locator('#main');
      const status = () => page.getAttribute('[data-testid=session-status]', 'data-status');
      await main.getByRole('button', { name: 'Close chat' }).click();
      await page.getByRole('alertdialog').getByRole('button', { name: 'Keep' }).click();
      expect(await status()).toBe('open');
      await main.getByRole('button', { name: 'Close chat' }).click();
      await page.getByRole('alertdialog').getByRole('button', { name: 'Close chat' }).click();
      await expect.poll(status).toBe('closed');
      const stored = await call(url, 'GET', `/api/v1/diagnosis/sessions/${sessionId}`, { token: operator.token });
      expect(stored.json.status).toBe('closed');
    } finally {
      await context.close();
    }
  }, 120_000);

  it('diagnosis pages at 1440 and 390 px: no sideways scrolling, no serious axe violation; slow → loading, failing → error', async () => {
    const url = env.stack.api.url;
    const operator = await signIn(url, 'operator');
    const chat = await call(url, 'POST', '/api/v1/diagnosis/sessions', {
      body: { vehicle: { make: 'Toyota', model: 'Corolla', year: 2014, mileage: 180_000, obd_codes: ['P0300'] } },
    });
    expect(chat.status, chat.text).toBe(201);
    const message = await call(url, 'POST', `/api/v1/diagnosis/sessions/${chat.json.id}/messages`, {
      headers: { 'x-session-token': chat.json.access_token },
      body: { text: 'The engine idles roughly and the check engine light flashes' },
    });
    expect(message.status, message.text).toBeLessThan(300);
    await checkLayout(env.browser, url, operator, '/diagnosis', 'diagnosis-list', async (page) => {
      await page.locator('[data-testid=session-row]').first().waitFor();
    });
    await checkLayout(env.browser, url, operator, `/diagnosis/${chat.json.id}`, 'diagnosis-session', async (page) => {
      await page.locator('[data-testid=chat-message]').first().waitFor();
      expect(await page.textContent('[data-testid=session-mileage]')).toBe('180,000 km');
    });
    for (const path of ['/diagnosis', `/diagnosis/${chat.json.id}`])
      await checkStates(env.browser, url, operator, path);
  }, 240_000);
});
