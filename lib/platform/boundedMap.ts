/**
 * Sets `key` in `map` as its newest entry, first dropping the oldest when the map already holds `max` entries: a
 * Map's insertion order is its age order, so a bounded per-process cache needs nothing else (what it holds is
 * recomputed on a miss, so dropping the oldest costs a read, never a wrong answer).
 */
export function setNewest<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  if (map.size >= max) map.delete(map.keys().next().value!);
  map.set(key, value);
}
