import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seed } from '../db/seed.js';
import { call, startApi } from './helpers.js';

let api: Awaited<ReturnType<typeof startApi>>;
beforeAll(async () => {
  api = await startApi();
});
afterAll(() => api?.close());

describe('demo seed', () => {
  it('is idempotent and yields working credentials', async () => {
    const first = await seed(api.deps.db, api.deps.config);
    const counts = async () =>
      Object.fromEntries(
        await Promise.all(
          ['users', 'merchants', 'api_keys', 'workshops', 'mechanics', 'working_hours'].map(async (t) => [
            t,
            Number((await api.deps.db(t).count({ n: '*' }))[0].n),
          ]),
        ),
      );
    const before = await counts();
    const second = await seed(api.deps.db, api.deps.config);
    expect(await counts()).toEqual(before);
    expect(second).toEqual(first);

    expect(first.workshop.mechanics).toHaveLength(2);
    const me = await call(api.url, 'GET', '/api/v1/auth/me', { token: first.merchant.apiKey });
    expect(me.json).toMatchObject({ kind: 'merchant', merchant_id: first.merchant.id });
    const admin = first.logins.find((l) => l.role === 'admin')!;
    expect(
      (await call(api.url, 'POST', '/api/v1/auth/login', { body: { email: admin.email, password: admin.password } }))
        .status,
    ).toBe(200);
    expect(first.merchant.webhookSecret).toMatch(/^whsec_/);
  });
});
