import { mkdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Appointment } from '../db/models/Appointment.js';
import { browserStack, consolePage, hasChromium } from './browser.js';
import { createWorkshop, signIn } from './helpers.js';

const env = browserStack({ BOOKING_MIN_NOTICE_MIN: '0' });

describe.skipIf(!hasChromium)('diagnosis in the browser', () => {
  it('an owner chats to a diagnosis and books from it; the operator sees the transcript and the card', async () => {
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
    mkdirSync('test/artifacts', { recursive: true });
    await owner.screenshot({ path: 'test/artifacts/diagnosis-owner.png', fullPage: true });

    // From the diagnosis to a booking that carries it.
    const sessionId = new URL(
      await owner
        .locator('[data-testid=book-links] a')
        .first()
        .getAttribute('href')
        .then((h) => `${url}${h}`),
    ).searchParams.get('diagnosis')!;
    await owner.locator('[data-testid=book-links] a').first().click();
    await owner.locator('[data-testid=slot]').first().click();
    await owner.fill('input[name=name]', 'Petro');
    await owner.fill('input[name=email]', 'petro@example.com');
    await owner.fill('input[name=make]', 'Skoda');
    await owner.fill('input[name=model]', 'Fabia');
    await owner.click('button[type=submit]');
    await expect.poll(() => owner.textContent('[data-testid=booking-result]')).toContain('held');
    expect((await Appointment.query().where({ diagnosis_session_id: sessionId, workshop_id: shop.id })).length).toBe(1);

    const page = await consolePage(env.browser, url, operator);
    await page.click('nav >> text=Diagnosis');
    await page.locator(`[data-testid=session-row] a[href="/diagnosis/${sessionId}"]`).click();
    await expect.poll(() => page.locator('[data-testid=chat-message]').count()).toBe(4);
    expect(await page.textContent('[data-testid=diagnosis-card]')).toContain('Worn brake pads');
    expect(await page.textContent('main')).toContain('rated 5/5');
    await page.screenshot({ path: 'test/artifacts/diagnosis-session.png', fullPage: true });
  });
});
