import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMerchant, issueApiKey } from '../db/merchants.js';
import { call, startApi, unique } from './helpers.js';

let api: Awaited<ReturnType<typeof startApi>>;
beforeAll(async () => {
  api = await startApi({
    RATE_LIMIT_PER_IP: '5',
    RATE_LIMIT_PER_KEY: '3',
    RATE_LIMIT_WINDOW_S: '60',
    TRUST_PROXY: '1',
  });
});
afterAll(() => api?.close());

const clientIp = () =>
  `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;

describe('rate limiting (Redis)', () => {
  it('limits each client IP and answers 429 with Retry-After', async () => {
    const ip = clientIp();
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 7; i++) {
      const res = await call(api.url, 'GET', '/api/v1/meta', { headers: { 'x-forwarded-for': ip } });
      statuses.push(res.status);
      if (res.status === 429) limited ??= res;
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited!.json.error.code).toBe('rate_limited');
    // Another client is unaffected.
    expect((await call(api.url, 'GET', '/api/v1/meta', { headers: { 'x-forwarded-for': clientIp() } })).status).toBe(
      200,
    );
  });

  it('limits each credential across IPs', async () => {
    // Set up straight in the database: this API's own budget is far too small for the setup calls.
    const { merchant } = await createMerchant({ name: unique('shop') }, api.deps.config.secretsKey);
    const { key } = await issueApiKey(merchant.id, 'limited');
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      statuses.push(
        (await call(api.url, 'GET', '/api/v1/auth/me', { token: key, headers: { 'x-forwarded-for': clientIp() } }))
          .status,
      );
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
  });
});
