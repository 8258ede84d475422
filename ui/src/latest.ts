/**
 * Selections change faster than answers arrive: `begin()` at each request returns a check that is
 * true only while no newer request has begun, so a late, stale answer is dropped.
 */
export function latestOnly() {
  let newest = 0;
  return function begin() {
    const mine = ++newest;
    return () => mine === newest;
  };
}
