import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventActivities } from '../activities/events.js';
import { domainEvent, type DomainEvent } from '../lib/platform/events.js';
import { createMerchant, signIn, startApi } from './helpers.js';

let api: Awaited<ReturnType<typeof startApi>>;
beforeAll(async () => {
  api = await startApi();
});
afterAll(() => api?.close());

/** Reads a live SSE stream until `count` events arrived or the time is up. */
async function collect(url: string, token: string, until: (events: DomainEvent[]) => boolean, timeoutMs = 5_000) {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  const events: DomainEvent[] = [];
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  return {
    ready: (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          const frames = buffer.split('\n\n');
          buffer = frames.pop()!;
          for (const frame of frames) {
            const data = frame.split('\n').find((l) => l.startsWith('data: '));
            if (data) events.push(JSON.parse(data.slice(6)));
          }
          if (until(events)) break;
        }
      } catch {
        /* aborted at the deadline */
      } finally {
        clearTimeout(timer);
        controller.abort();
      }
      return events;
    })(),
  };
}

describe('live events over SSE', () => {
  it('delivers published events, each caller seeing only what it may', async () => {
    const admin = await signIn(api.url, 'admin');
    const a = await createMerchant(api.url, admin.token);
    const b = await createMerchant(api.url, admin.token);
    const publisher = eventActivities(api.deps.redis);

    const operatorStream = await collect(`${api.url}/api/v1/events`, admin.token, (e) =>
      e.some((x) => x.type === 'test.done'),
    );
    const merchantStream = await collect(`${api.url}/api/v1/events`, a.key, (e) =>
      e.some((x) => x.type === 'test.done'),
    );
    const filtered = await collect(`${api.url}/api/v1/events?types=test.only`, admin.token, (e) => e.length >= 1);

    await new Promise((r) => setTimeout(r, 200));
    await publisher.publishEvent(domainEvent('test.for_a', a.id, { n: 1 }));
    await publisher.publishEvent(domainEvent('test.for_b', b.id, { n: 2 }));
    await publisher.publishEvent(domainEvent('test.only.operators', null, { n: 3 }));
    await publisher.publishEvent(domainEvent('test.done', a.id, {}));

    const seenByOperator = (await operatorStream.ready).map((e) => e.type);
    const seenByA = (await merchantStream.ready).map((e) => e.type);
    expect(seenByOperator).toEqual(['test.for_a', 'test.for_b', 'test.only.operators', 'test.done']);
    expect(seenByA).toEqual(['test.for_a', 'test.done']);
    expect((await filtered.ready).map((e) => e.type)).toEqual(['test.only.operators']);
  });

  it('requires credentials', async () => {
    expect((await fetch(`${api.url}/api/v1/events`)).status).toBe(401);
  });
});
