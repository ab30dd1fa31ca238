/**
 * A map from a number to one value, or to the few that share the number (a
 * hash's collisions, the records of one attribute set): no array is made
 * while a number has a single value, which is nearly always.
 */
export type Buckets<T> = Map<number, T | T[]>;

/** The first value under `key` that `match` accepts. */
export function bucketFind<T>(m: Buckets<T>, key: number, match: (v: T) => boolean): T | undefined {
  const b = m.get(key);
  if (b === undefined) return undefined;
  if (!Array.isArray(b)) return match(b) ? b : undefined;
  for (let i = 0; i < b.length; i++) if (match(b[i]!)) return b[i];
  return undefined;
}

export function bucketAdd<T>(m: Buckets<T>, key: number, v: T): void {
  const b = m.get(key);
  if (b === undefined) m.set(key, v);
  else if (Array.isArray(b)) b.push(v);
  else m.set(key, [b, v]);
}

/** Removes `v` (present under `key`); a bucket left with one value holds it alone again. */
export function bucketRemove<T>(m: Buckets<T>, key: number, v: T): void {
  const b = m.get(key);
  if (!Array.isArray(b)) {
    m.delete(key);
    return;
  }
  b.splice(b.indexOf(v), 1);
  if (b.length === 1) m.set(key, b[0]!);
}
