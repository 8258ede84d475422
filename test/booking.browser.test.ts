/**
 * Booking in the browser, end to end against the real API: a customer books; the operator finds the appointment
 * in the week view and the upcoming list with names, on the workshop's clock whatever the browser's zone, works
 * it, and manages workshops, mechanics, services, hours and overrides; every booking page at both sizes, with
 * honest states. Also: anonymous pages never ask for a session refresh (no 401 in the console).
 */
import { mkdirSync } from 'node:fs';
import { DateTime } from 'luxon';
import { beforeAll, describe, expect, it } from 'vitest';
import { browserStack, hasChromium, viewports } from './browser.js';
import { call, createWorkshop, signIn, unique } from './helpers.js';
import { checkLayout, checkStates, operatorContext } from './pageChecks.js';

const env = browserStack({ BOOKING_MIN_NOTICE_MIN: '0', RATE_LIMIT_PER_IP: '100000', RATE_LIMIT_PER_KEY: '100000' });
const KYIV = 'Europe/Kyiv';
// The browser runs in another zone than the workshop's: every booking time must still be Kyiv's.
const BROWSER_ZONE = 'America/New_York';

beforeAll(() => mkdirSync('test/artifacts', { recursive: true }));

describe.skipIf(!hasChromium)('booking in the browser', () => {
  it('a customer books and confirms; the operator sees it in the week and the upcoming list, with names, on the workshop clock, and cancels it', async () => {
    const url = env.stack.api.url;
    const operator = await signIn(url, 'operator');
    const shop = await createWorkshop(url, operator.token, {
      mechanics: 2,
      hours: { opens: '08:00', closes: '18:00' },
    });
    const tomorrow = DateTime.now().setZone(KYIV).plus({ days: 1 }).toISODate()!;
    // Another customer holds 08:00 with the first mechanic: the calendar shows both states.
    const other = await call(url, 'POST', '/api/v1/appointments', {
      body: {
        workshop_id: shop.id,
        service_id: shop.serviceId,
        mechanic_id: shop.mechanics[0],
        start: DateTime.fromISO(`${tomorrow}T08:00`, { zone: KYIV }).toISO(),
        customer: { name: 'Walk-in', email: 'walkin@example.com' },
        vehicle: { make: 'VW', model: 'Golf' },
      },
    });
    expect(other.status).toBe(201);
    // The API names what an appointment refers to.
    expect([other.json.workshop_name, other.json.mechanic_name, other.json.service_name, other.json.time_zone]).toEqual(
      [expect.stringMatching(/^Garage-/), 'Mechanic 0', 'Inspection', KYIV],
    );

    const customerContext = await env.browser.newContext({ viewport: viewports.phone, timezoneId: BROWSER_ZONE });
    const customer = await customerContext.newPage();
    await customer.goto(`${url}/book/${shop.id}`);
    await customer.fill('input[name=date]', tomorrow);
    await expect.poll(() => customer.locator('[data-testid=slot]').count()).toBe(10);
    expect(await customer.textContent('main')).toContain('Kyiv time');
    await customer.click('[data-testid=slot]:has-text("10:00")');
    await customer.fill('input[name=name]', 'Oksana Petrenko');
    await customer.fill('input[name=email]', 'oksana@example.com');
    await customer.fill('input[name=make]', 'Toyota');
    await customer.fill('input[name=model]', 'Corolla');
    await customer.click('button[type=submit]');
    await expect.poll(() => customer.textContent('[data-testid=booking-result]')).toContain('held');
    await customer.click('text=Confirm booking');
    await expect.poll(() => customer.textContent('[data-testid=booking-result]')).toContain('confirmed');
    await customer.screenshot({ path: 'test/artifacts/booking-customer.png', fullPage: true });

    const { context, page } = await operatorContext(env.browser, url, operator, {
      locale: 'en-GB',
      timezoneId: BROWSER_ZONE,
    });
    try {
      await page.goto(`${url}/booking?workshop=${shop.id}`);
      await page.fill('input[name=date]', tomorrow);
      const cards = page.locator('[data-testid=calendar-appointment]');
      await expect.poll(() => cards.count()).toBe(2);
      // Week view: the day's column holds both, with the service, customer and mechanic names at Kyiv's 10:00.
      const oksana = cards.filter({ hasText: 'Oksana Petrenko' });
      const text = await oksana.textContent();
      expect(text).toContain('10:00–11:00');
      expect(text).toContain('Inspection');
      expect(text).toMatch(/Mechanic [01]/);
      expect(text).toContain('Confirmed');
      expect(await cards.filter({ hasText: 'Walk-in' }).textContent()).toContain('Held');
      expect(await page.textContent('[data-testid=calendar-zone]')).toMatch(/^Kyiv time \(/);
      await page.screenshot({ path: 'test/artifacts/booking-week-1440.png', fullPage: true });
      // Day view: a column per mechanic.
      await page.getByRole('button', { name: 'Day', exact: true }).click();
      await expect.poll(() => page.locator('[data-testid=calendar-column]').count()).toBe(2);
      await expect.poll(() => cards.count()).toBe(2);
      expect(await page.locator('[data-testid=calendar-column]', { hasText: 'Mechanic 0' }).textContent()).toContain(
        'Walk-in',
      );

      // The upcoming list, earliest first, with names.
      await page.getByRole('tab', { name: 'Upcoming' }).click();
      const rows = page.locator('[data-testid=upcoming-row]');
      await expect.poll(() => rows.count()).toBe(2);
      expect(await rows.first().textContent()).toContain('Walk-in');
      expect(await rows.nth(1).textContent()).toMatch(/10:00.*Inspection.*Mechanic [01].*Oksana Petrenko/);

      await rows.nth(1).getByRole('link').click();
      await expect.poll(() => page.getAttribute('[data-testid=appointment-status]', 'data-status')).toBe('confirmed');
      expect(await page.textContent('[data-testid=appointment-when]')).toMatch(/10:00–11:00.*Kyiv time/);
      const timeline = page.locator('[data-testid=timeline-row]');
      expect(await timeline.count()).toBe(2);
      // Names, never the raw mechanic id.
      expect(await timeline.first().textContent()).toMatch(/Held with Mechanic [01]/);
      expect((await timeline.allTextContents()).join(' ')).not.toMatch(/mechanic_id|[0-9a-f]{8}-[0-9a-f]{4}-/);

      // Cancel asks first (Keep changes nothing), then takes the reason.
      const main = page.locator('#main');
      await main.getByRole('button', { name: 'Cancel appointment' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Keep appointment' }).click();
      expect(await page.getAttribute('[data-testid=appointment-status]', 'data-status')).toBe('confirmed');
      await main.getByRole('button', { name: 'Cancel appointment' }).click();
      await page.fill('input[name=reason]', 'customer called');
      await page.click('[data-testid=confirm-cancel]');
      await expect.poll(() => page.getAttribute('[data-testid=appointment-status]', 'data-status')).toBe('canceled');
      expect(await page.textContent('main')).toContain('customer called');
      await page.screenshot({ path: 'test/artifacts/booking-appointment.png', fullPage: true });
    } finally {
      await context.close();
    }

    // The slot is free again for the next customer.
    await customer.goto(`${url}/book/${shop.id}`);
    await customer.fill('input[name=date]', tomorrow);
    await expect.poll(() => customer.locator('[data-testid=slot]:has-text("10:00")').count()).toBe(1);
    await customerContext.close();
  }, 120_000);

  it('the operator creates a workshop, a mechanic and a service, edits hours, adds an override, and removes after a confirmation', async () => {
    const url = env.stack.api.url;
    const operator = await signIn(url, 'operator');
    const { context, page } = await operatorContext(env.browser, url, operator, { locale: 'en-GB' });
    const name = unique('Console garage');
    try {
      await page.goto(`${url}/booking`);
      await page.locator('[data-state=ready], [data-state=empty]').first().waitFor();
      await page.locator('#main').getByRole('button', { name: 'New workshop' }).click();
      await page.fill('input[name=workshop_name]', name);
      await page.fill('input[name=address]', '5 Khreshchatyk, Kyiv');
      await page.locator('#workshop-zone').click();
      // Chromium's ICU may still call the zone by its old name (Europe/Kiev); the API takes either.
      await page.locator('.p-select-overlay input').fill('Europe/Ki');
      await page.getByRole('option', { name: /^Europe\/Ki(y|e)v$/ }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Save workshop' }).click();
      // The new workshop is stored, and chosen (named in the URL).
      let workshopId = '';
      const named = (w: { name: string }) => w.name === name;
      await expect
        .poll(async () => (workshopId = (await call(url, 'GET', '/api/v1/workshops')).json.data.find(named)?.id ?? ''))
        .not.toBe('');
      await page.waitForURL(new RegExp(`workshop=${workshopId}`));
      const stored = await call(url, 'GET', `/api/v1/workshops/${workshopId}`);
      expect([stored.json.name, stored.json.time_zone]).toEqual([name, expect.stringMatching(/^Europe\/Ki(y|e)v$/)]);

      await page.getByRole('tab', { name: 'Setup' }).click();
      const main = page.locator('#main');
      const dialog = page.getByRole('dialog');
      // A mechanic.
      await main.getByRole('button', { name: 'Add mechanic' }).click();
      await page.fill('input[name=mechanic_name]', 'Taras');
      await dialog.getByRole('button', { name: 'Save mechanic' }).click();
      await expect.poll(() => page.locator('[data-testid=mechanic-row]').count()).toBe(1);
      // A service: a bad currency is refused by the API, in its words, in the dialog.
      await main.getByRole('button', { name: 'Add service' }).click();
      await page.fill('input[name=service_name]', 'Brake check');
      await page.locator('#service-duration').fill('45');
      await page.locator('#service-price-min').fill('800');
      await page.locator('#service-price-max').fill('1500');
      await page.fill('input[name=currency]', 'XYZ');
      await dialog.getByRole('button', { name: 'Save service' }).click();
      await expect.poll(() => page.textContent('[data-testid=row-error]')).toContain('currency');
      await page.fill('input[name=currency]', 'UAH');
      await dialog.getByRole('button', { name: 'Save service' }).click();
      await expect.poll(() => page.locator('[data-testid=service-row]').count()).toBe(1);
      expect(await page.textContent('[data-testid=service-row]')).toMatch(/Brake check.*45 min.*800.*1,500/);
      // Weekly hours: closing before opening is refused; then Monday 09:00–17:00, edited to 08:00–16:00.
      await main.getByRole('button', { name: 'Add hours' }).click();
      await page.fill('input[name=opens]', '18:00');
      await page.fill('input[name=closes]', '09:00');
      await dialog.getByRole('button', { name: 'Save working hours' }).click();
      await expect.poll(() => page.textContent('[data-testid=row-error]')).toContain('opens < closes');
      await page.fill('input[name=opens]', '09:00');
      await page.fill('input[name=closes]', '17:00');
      await dialog.getByRole('button', { name: 'Save working hours' }).click();
      await expect.poll(() => page.textContent('[data-testid=hours-row]')).toContain('Monday');
      await main.getByRole('button', { name: 'Edit hours Monday Whole workshop' }).click();
      await page.fill('input[name=opens]', '08:00');
      await page.fill('input[name=closes]', '16:00');
      await dialog.getByRole('button', { name: 'Save working hours' }).click();
      await expect.poll(() => page.textContent('[data-testid=hours-row]')).toContain('08:00–16:00');
      const hours = (await call(url, 'GET', `/api/v1/workshops/${workshopId}/hours`)).json.data;
      expect(hours).toEqual([
        expect.objectContaining({ weekday: 1, opens: '08:00', closes: '16:00', mechanic_id: null }),
      ]);
      // An override: next Monday closed for Taras.
      const nextMonday = DateTime.now().setZone(KYIV).plus({ weeks: 1 }).startOf('week').toISODate()!;
      await main.getByRole('button', { name: 'Add override' }).click();
      await page.fill('input[name=override_date]', nextMonday);
      await page.locator('#override-who').click();
      await page.getByRole('option', { name: 'Taras' }).click();
      await dialog.getByRole('button', { name: 'Save date override' }).click();
      await expect.poll(() => page.textContent('[data-testid=override-row]')).toContain('Closed');
      expect(await page.textContent('[data-testid=override-row]')).toContain('Taras');
      const overrides = (await call(url, 'GET', `/api/v1/workshops/${workshopId}/overrides`)).json.data;
      expect(overrides).toEqual([expect.objectContaining({ date: nextMonday, closed: true })]);
      const service = (await call(url, 'GET', `/api/v1/workshops/${workshopId}/services`)).json.data[0];
      const free = await call(
        url,
        'GET',
        `/api/v1/workshops/${workshopId}/availability?service=${service.id}&date_from=${nextMonday}&date_to=${nextMonday}`,
      );
      expect(free.json.data).toEqual([]);
      await page.screenshot({ path: 'test/artifacts/booking-setup-1440.png', fullPage: true });

      // Removing asks first; a workshop with appointments is refused by the API, in words.
      await main.getByRole('button', { name: 'Remove override' }).click();
      await page.getByRole('alertdialog').getByRole('button', { name: 'Keep' }).click();
      expect(await page.locator('[data-testid=override-row]').count()).toBe(1);
      await main.getByRole('button', { name: 'Remove override' }).click();
      await page.getByRole('alertdialog').getByRole('button', { name: 'Remove date override' }).click();
      await expect.poll(() => page.locator('[data-testid=override-row]').count()).toBe(0);
      const monday = DateTime.fromISO(nextMonday, { zone: KYIV });
      const booked = await call(url, 'POST', '/api/v1/appointments', {
        body: {
          workshop_id: workshopId,
          service_id: service.id,
          start: monday.set({ hour: 8 }).toISO(),
          customer: { name: 'Ivan', email: 'ivan@example.com' },
          vehicle: { make: 'Lada', model: 'Niva' },
        },
      });
      expect(booked.status, booked.text).toBe(201);
      await main.getByRole('button', { name: 'Delete workshop' }).click();
      await page.getByRole('alertdialog').getByRole('button', { name: 'Delete workshop' }).click();
      await expect.poll(() => page.locator('.p-toast').textContent()).toContain('Delete workshop failed');
      expect((await call(url, 'GET', `/api/v1/workshops/${workshopId}`)).status).toBe(200);
    } finally {
      await context.close();
    }
  }, 120_000);

  it('booking pages at 1440 and 390 px: no sideways scrolling, no serious axe violation; slow → loading, failing → error', async () => {
    const url = env.stack.api.url;
    const operator = await signIn(url, 'operator');
    const shop = await createWorkshop(url, operator.token, {
      mechanics: 2,
      hours: { opens: '08:00', closes: '18:00' },
    });
    const tomorrow = DateTime.now().setZone(KYIV).plus({ days: 1 });
    const booked = await call(url, 'POST', '/api/v1/appointments', {
      body: {
        workshop_id: shop.id,
        service_id: shop.serviceId,
        start: tomorrow.set({ hour: 9, minute: 0, second: 0, millisecond: 0 }).toISO(),
        customer: { name: 'Olena Kovalenko', email: 'olena@example.com' },
        vehicle: { make: 'Skoda', model: 'Octavia', year: 2019 },
      },
    });
    expect(booked.status, booked.text).toBe(201);
    const week = `/booking?workshop=${shop.id}`;
    await checkLayout(env.browser, url, operator, week, 'booking-week', async (page) => {
      await page.fill('input[name=date]', tomorrow.toISODate()!);
      await page.locator('[data-testid=calendar-appointment]').first().waitFor();
    });
    await checkLayout(env.browser, url, operator, `${week}&tab=upcoming`, 'booking-upcoming', async (page) => {
      await page.locator('[data-testid=upcoming-row]').first().waitFor();
    });
    await checkLayout(env.browser, url, operator, `${week}&tab=setup`, 'booking-setup', async (page) => {
      await page.locator('[data-testid=hours-row]').first().waitFor();
    });
    await checkLayout(env.browser, url, operator, `/booking/appointments/${booked.json.id}`, 'booking-appointment');
    for (const path of [week, `${week}&tab=upcoming`, `/booking/appointments/${booked.json.id}`])
      await checkStates(env.browser, url, operator, path);
  }, 240_000);

  it('anonymous pages never ask for a session refresh (no 401); a signed-in reload still refreshes', async () => {
    const url = env.stack.api.url;
    const operator = await signIn(url, 'operator');
    const shop = await createWorkshop(url, operator.token);
    const context = await env.browser.newContext();
    const page = await context.newPage();
    const problems: string[] = [];
    const refreshes: number[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
    page.on('response', (r) => {
      if (r.url().includes('/api/v1/auth/refresh')) refreshes.push(r.status());
      if (r.status() === 401) problems.push(`${r.status()} ${r.url()}`);
    });
    try {
      for (const path of ['/login', `/book/${shop.id}`, '/diagnose']) {
        await page.goto(`${url}${path}`);
        await page.locator('h1').first().waitFor();
        await page.waitForLoadState('networkidle');
      }
      expect(problems).toEqual([]);
      expect(refreshes).toEqual([]);
      // Signed in, a reload keeps the session through one refresh; signed out, the login page asks for none.
      await page.goto(`${url}/login`);
      await page.fill('input[name=email]', operator.email);
      await page.fill('input[name=password]', operator.password);
      await page.click('button[type=submit]');
      await page.waitForURL(`${url}/`);
      await page.goto(`${url}/booking`);
      await expect.poll(() => refreshes).toEqual([200]);
      await page.locator('[data-state]').first().waitFor();
      expect(new URL(page.url()).pathname).toBe('/booking');
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL(/\/login/);
      await page.reload();
      await page.locator('h1').first().waitFor();
      await page.waitForLoadState('networkidle');
      expect(refreshes).toEqual([200]);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);
});
