import { mkdirSync } from 'node:fs';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { browserStack, consolePage, hasChromium } from './browser.js';
import { call, createWorkshop, signIn } from './helpers.js';

const env = browserStack({ BOOKING_MIN_NOTICE_MIN: '0' });

describe.skipIf(!hasChromium)('booking in the browser', () => {
  it('a customer books and confirms a slot; the operator sees it on the calendar and cancels it', async () => {
    const url = env.stack.api.url;
    const operator = await signIn(url, 'operator');
    const shop = await createWorkshop(url, operator.token, {
      mechanics: 2,
      hours: { opens: '08:00', closes: '18:00' },
    });
    const tomorrow = DateTime.now().setZone('Europe/Kyiv').plus({ days: 1 }).toISODate()!;
    // Another customer holds 08:00 with the first mechanic: the calendar shows both states.
    const other = await call(url, 'POST', '/api/v1/appointments', {
      body: {
        workshop_id: shop.id,
        service_id: shop.serviceId,
        mechanic_id: shop.mechanics[0],
        start: DateTime.fromISO(`${tomorrow}T08:00`, { zone: 'Europe/Kyiv' }).toISO(),
        customer: { name: 'Walk-in', email: 'walkin@example.com' },
        vehicle: { make: 'VW', model: 'Golf' },
      },
    });
    expect(other.status).toBe(201);

    const customer = await env.browser.newPage();
    await customer.goto(`${url}/book/${shop.id}`);
    await customer.fill('input[name=date]', tomorrow);
    await expect.poll(() => customer.locator('[data-testid=slot]').count()).toBe(10);
    await customer.click('[data-testid=slot]:has-text("10:00")');
    await customer.fill('input[name=name]', 'Oksana Petrenko');
    await customer.fill('input[name=email]', 'oksana@example.com');
    await customer.fill('input[name=make]', 'Toyota');
    await customer.fill('input[name=model]', 'Corolla');
    await customer.click('button[type=submit]');
    await expect.poll(() => customer.textContent('[data-testid=booking-result]')).toContain('held');
    await customer.click('text=Confirm booking');
    await expect.poll(() => customer.textContent('[data-testid=booking-result]')).toContain('confirmed');
    mkdirSync('test/artifacts', { recursive: true });
    await customer.screenshot({ path: 'test/artifacts/booking-customer.png', fullPage: true });

    const page = await consolePage(env.browser, url, operator);
    await page.goto(`${url}/booking`);
    await page.selectOption('select[name=workshop]', shop.id);
    await page.fill('input[name=date]', tomorrow);
    const cards = page.locator('[data-testid=calendar-appointment]');
    await expect.poll(() => cards.count()).toBe(2);
    expect(await cards.filter({ hasText: 'Oksana Petrenko' }).textContent()).toContain('confirmed');
    expect(await cards.filter({ hasText: 'Walk-in' }).textContent()).toContain('held');
    await page.screenshot({ path: 'test/artifacts/booking-calendar.png', fullPage: true });

    await cards.filter({ hasText: 'Oksana Petrenko' }).click();
    await expect.poll(() => page.textContent('[data-testid=appointment-status]')).toBe('confirmed');
    expect(await page.locator('[data-testid=timeline-row]').count()).toBe(2);
    await page.fill('input[name=reason]', 'customer called');
    await page.click('text=Cancel appointment');
    await expect.poll(() => page.textContent('[data-testid=appointment-status]')).toBe('canceled');
    expect(await page.textContent('main')).toContain('customer called');
    await page.screenshot({ path: 'test/artifacts/booking-appointment.png', fullPage: true });

    // The slot is free again for the next customer.
    await customer.goto(`${url}/book/${shop.id}`);
    await customer.fill('input[name=date]', tomorrow);
    await expect.poll(() => customer.locator('[data-testid=slot]:has-text("10:00")').count()).toBe(1);
  });
});
