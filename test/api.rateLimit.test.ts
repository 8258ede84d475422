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

  // A proxy appends the address it was reached from; what stands left of it is whatever the client wrote.
  const viaProxy = (written: string, client: string) => ({ headers: { 'x-forwarded-for': `${written}, ${client}` } });

  it('a forged, rotating X-Forwarded-For neither bypasses the per-IP limit nor blames someone else', async () => {
    const attacker = clientIp();
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++)
      statuses.push((await call(api.url, 'GET', '/api/v1/meta', viaProxy(clientIp(), attacker))).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);

    // Writing a victim's address spends the writer's own budget, not the victim's.
    const victim = clientIp();
    const framer = clientIp();
    for (let i = 0; i < 6; i++) await call(api.url, 'GET', '/api/v1/meta', viaProxy(victim, framer));
    expect((await call(api.url, 'GET', '/api/v1/meta', viaProxy(clientIp(), victim))).status).toBe(200);
    expect((await call(api.url, 'GET', '/api/v1/meta', viaProxy(victim, framer))).status).toBe(429);
  });

  it('with TRUSTED_PROXIES, crosses only listed proxies and ignores the header from anyone else', async () => {
    // The test's loopback socket is the outer proxy, 10.255.0.0/16 the inner ones.
    const listed = await startApi({
      RATE_LIMIT_PER_IP: '5',
      RATE_LIMIT_WINDOW_S: '60',
      TRUSTED_PROXIES: '127.0.0.1/32, 10.255.0.0/16',
    });
    try {
      const client = clientIp();
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) {
        // Forged entries, one of them inside the proxies' range, left of what the proxies wrote.
        const header = `${clientIp()}, 10.255.9.9, ${clientIp()}, ${client}, 10.255.0.7`;
        statuses.push(
          (await call(listed.url, 'GET', '/api/v1/meta', { headers: { 'x-forwarded-for': header } })).status,
        );
      }
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
      expect((await call(listed.url, 'GET', '/api/v1/meta', viaProxy(client, clientIp()))).status).toBe(200);
    } finally {
      await listed.close();
    }
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
