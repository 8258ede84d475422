import { describe, expect, it } from 'vitest';
import { AccessCache } from '../../lib/accounts/accessCache.js';

/** A loader counting its reads, answering `value` (or waiting for `release` when `hold` is set). */
function loader() {
  const state = { reads: 0, value: 'v1', hold: null as Promise<void> | null };
  const load = async (id: string) => {
    state.reads++;
    const value = `${id}:${state.value}`;
    if (state.hold) await state.hold;
    return value;
  };
  return { state, load };
}

describe('the access cache', () => {
  it('answers from the cache while younger than maxAgeMs, then reads again', async () => {
    let now = 1000;
    const { state, load } = loader();
    const cache = new AccessCache(load, { maxAgeMs: 500, now: () => now });
    expect(await cache.get('u')).toBe('u:v1');
    state.value = 'v2';
    now += 499;
    expect(await cache.get('u')).toBe('u:v1');
    expect(state.reads).toBe(1);
    now += 1;
    expect(await cache.get('u')).toBe('u:v2');
    expect(state.reads).toBe(2);
  });

  it('a forgotten user is read again at once', async () => {
    const { state, load } = loader();
    const cache = new AccessCache(load, { maxAgeMs: 60_000 });
    await cache.get('u');
    await cache.get('other');
    state.value = 'v2';
    cache.forget('u');
    expect(await cache.get('u')).toBe('u:v2');
    expect(await cache.get('other')).toBe('other:v1');
  });

  it('forgetWhere drops the entries whose value matches, and only those', async () => {
    const { state, load } = loader();
    const cache = new AccessCache(load, { maxAgeMs: 60_000 });
    for (const key of ['a', 'b', 'c']) await cache.get(key);
    state.value = 'v2';
    cache.forgetWhere((value) => value === 'b:v1' || value === 'c:v1');
    expect(await cache.get('a')).toBe('a:v1');
    expect(await cache.get('b')).toBe('b:v2');
    expect(await cache.get('c')).toBe('c:v2');
    expect(state.reads).toBe(5);
  });

  it('a read in flight when the user is forgotten answers its caller but is not kept', async () => {
    const { state, load } = loader();
    const cache = new AccessCache(load, { maxAgeMs: 60_000 });
    let release!: () => void;
    state.hold = new Promise((r) => (release = r));
    const inFlight = cache.get('u');
    // The change commits and is announced while the old value is on its way.
    state.value = 'v2';
    cache.forget('u');
    release();
    expect(await inFlight).toBe('u:v1');
    state.hold = null;
    expect(await cache.get('u')).toBe('u:v2');
  });

  it('holds at most maxEntries users, dropping the oldest', async () => {
    const { state, load } = loader();
    const cache = new AccessCache(load, { maxAgeMs: 60_000, maxEntries: 2 });
    for (const id of ['a', 'b', 'c']) await cache.get(id);
    expect(state.reads).toBe(3);
    await cache.get('c');
    await cache.get('b');
    expect(state.reads).toBe(3);
    await cache.get('a');
    expect(state.reads).toBe(4);
  });

  it('maxAgeMs 0 reads on every request', async () => {
    const { state, load } = loader();
    const cache = new AccessCache(load, { maxAgeMs: 0 });
    await cache.get('u');
    await cache.get('u');
    expect(state.reads).toBe(2);
  });
});
