/**
 * A Map that empties itself when full: for values worked out from a text
 * (a next-hop address, a set of next hops) that the hot paths ask for again
 * and again. In normal operation the keys are a handful (one next hop per
 * neighbor) and the limit is never reached; it is there because the texts
 * come from peers, and a peer sending ever new ones must not grow the map
 * without end.
 *
 * Not an LRU, on purpose: a hit costs one Map lookup and no bookkeeping, and
 * a full cache is emptied whole, after which the keys still in use come back
 * on their next miss. No closure is asked for (a `getOr(key, make)` would cost
 * one per call where `make` needs more than the key): callers get, and on a
 * miss work the value out and set it.
 *
 *   let v = cache.get(key);
 *   if (v === undefined) v = cache.set(key, workOut(key));
 *
 * `undefined` means "not cached", so it cannot be a value (the type says so);
 * `null` can.
 */
export class BoundedCache<K, V extends NonNullable<unknown> | null> {
  private readonly map = new Map<K, V>();

  /** `limit`: the most entries kept; the set of one more new key empties the cache first. */
  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`cache limit must be a whole number from 1: ${limit}`);
  }

  /** The value set for `key`, or undefined when there is none (never set, or emptied since). */
  get(key: K): V | undefined {
    return this.map.get(key);
  }

  /**
   * Keeps `value` for `key` and returns it. A new key in a full cache empties
   * it first; a key already there is replaced in place, nothing emptied.
   */
  set(key: K, value: V): V {
    const map = this.map;
    if (map.size >= this.limit && !map.has(key)) map.clear();
    map.set(key, value);
    return value;
  }

  /** Forgets every entry (what the values were worked out from has changed). */
  clear(): void {
    this.map.clear();
  }

  get size(): number {
    return this.map.size;
  }
}
