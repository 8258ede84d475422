import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventActivities } from '../activities/events.js';
import { domainEvent, type DomainEvent } from '../lib/platform/events.js';
import { createMerchant, openStream, signIn, startApi } from './helpers.js';

let api: Awaited<ReturnType<typeof startApi>>;
beforeAll(async () => {
  api = await startApi();
});
afterAll(() => api?.close());

describe('live events over SSE', () => {
  it('delivers published events, each caller seeing only what it may', async () => {
    const admin = await signIn(api.url, 'admin');
    const a = await createMerchant(api.url, admin.token);
    const b = await createMerchant(api.url, admin.token);
    const publisher = eventActivities(api.deps.redis);

    const operatorStream = await openStream(api.url, admin.token);
    const merchantStream = await openStream(api.url, a.key);
    const filtered = await openStream(api.url, admin.token, '/api/v1/events?types=test.only');

    await publisher.publishEvent(domainEvent('test.for_a', a.id, { n: 1 }));
    await publisher.publishEvent(domainEvent('test.for_b', b.id, { n: 2 }));
    await publisher.publishEvent(domainEvent('test.only.operators', null, { n: 3 }));
    await publisher.publishEvent(domainEvent('test.done', a.id, {}));

    const types = (stream: { events: DomainEvent[] }) => stream.events.map((e) => e.type);
    await expect
      .poll(() => types(operatorStream))
      .toEqual(['test.for_a', 'test.for_b', 'test.only.operators', 'test.done']);
    await expect.poll(() => types(merchantStream)).toEqual(['test.for_a', 'test.done']);
    await expect.poll(() => types(filtered)).toEqual(['test.only.operators']);
    for (const stream of [operatorStream, merchantStream, filtered]) stream.close();
  });

  it('requires credentials', async () => {
    expect((await fetch(`${api.url}/api/v1/events`)).status).toBe(401);
  });
});
