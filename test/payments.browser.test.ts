import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserStack, consolePage, hasChromium } from './browser.js';
import { call, createMerchant, signIn, unique } from './helpers.js';
import { startReceiver } from './receiver.js';

const env = browserStack({ OUTBOUND_ALLOWLIST: '127.0.0.1/32', WEBHOOK_RETRY_SCHEDULE_S: '0,1,1' });
let receiver: Awaited<ReturnType<typeof startReceiver>>;

beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver?.close();
});

describe.skipIf(!hasChromium)('payments in the browser', () => {
  it('a payer pays on the payer page; the operator sees the timeline and webhook attempts live', async () => {
    const url = env.stack.api.url;
    const admin = await signIn(url, 'admin');
    const name = unique('Browser shop');
    const m = { name, ...(await createMerchant(url, admin.token, name)) };
    await call(url, 'PATCH', `/api/v1/merchants/${m.id}`, { token: m.key, body: { webhook_url: receiver.url } });
    receiver.script.push(500);
    const intent = (
      await call(url, 'POST', '/api/v1/payments', {
        token: m.key,
        body: { amount: 4250, currency: 'eur', order_id: unique('order') },
      })
    ).json;

    // The operator watches the payment's page while the payer pays.
    const operator = await consolePage(env.browser, url, admin);
    await operator.goto(`${url}/payments/${intent.id}`);
    const status = () => operator.getAttribute('[data-testid=intent-status]', 'data-status');
    await expect.poll(status).toBe('requires_payment_method');
    // The merchant by name, not by its id.
    expect(await operator.textContent('main')).toContain(m.name);

    const payer = await env.browser.newPage();
    await payer.goto(intent.checkout_url);
    await expect.poll(() => payer.textContent('[data-testid=payer-amount]')).toContain('42.50');
    await payer.click('text=Pay');
    await expect.poll(() => payer.textContent('[data-testid=payer-result]')).toContain('Payment succeeded');

    await expect.poll(status, { timeout: 15_000 }).toBe('succeeded');
    await expect.poll(() => operator.locator('[data-testid=transition-row]').count(), { timeout: 15_000 }).toBe(3);
    // The created event failed once (500), then went through: both attempts are listed.
    await expect
      .poll(() => operator.locator('[data-testid=attempt-row]').count(), { timeout: 20_000 })
      .toBeGreaterThanOrEqual(4);
    expect(await operator.textContent('main')).toContain('answered 500');

    mkdirSync('test/artifacts', { recursive: true });
    await operator.screenshot({ path: 'test/artifacts/payment-detail.png', fullPage: true });
    await payer.screenshot({ path: 'test/artifacts/payer-page.png' });

    await operator.goto(`${url}/payments`);
    await expect
      .poll(() => operator.locator(`[data-testid=payment-row]:has-text("${intent.order_id}")`).count())
      .toBe(1);
  });
});
