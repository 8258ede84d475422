import { describe, expect, it } from 'vitest';
import { setNewest } from '../../lib/platform/boundedMap.js';

describe('setNewest', () => {
  it('holds at most max entries, dropping the oldest', () => {
    const map = new Map<string, number>();
    for (const [i, key] of ['a', 'b', 'c'].entries()) setNewest(map, key, i, 2);
    expect([...map]).toEqual([
      ['b', 1],
      ['c', 2],
    ]);
  });

  it('setting a key again makes it the newest, without dropping another', () => {
    const map = new Map<string, number>();
    setNewest(map, 'a', 1, 2);
    setNewest(map, 'b', 2, 2);
    setNewest(map, 'a', 3, 2);
    expect([...map]).toEqual([
      ['b', 2],
      ['a', 3],
    ]);
    setNewest(map, 'c', 4, 2);
    expect([...map.keys()]).toEqual(['a', 'c']);
  });
});
