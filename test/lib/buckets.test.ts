/**
 * Buckets (src/lib/buckets.ts): a number to one value or the few sharing it,
 * used by the attribute table (sets by hash) and the RIB's path records (by
 * attribute set). Checked against a map of arrays under any interleaving.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketAdd, bucketFind, bucketRemove, type Buckets } from '#lib/buckets';

describe('Buckets', () => {
  it('finds, adds and removes as a map of arrays does; a single value is held without an array', () => {
    const op = fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 5 }));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const b: Buckets<{ v: number }> = new Map();
        const model = new Map<number, { v: number }[]>();
        for (const [add, key, v] of ops) {
          const list = model.get(key) ?? [];
          const have = list.find((x) => x.v === v);
          if (add && have === undefined) {
            const o = { v };
            bucketAdd(b, key, o);
            model.set(key, [...list, o]);
          } else if (!add && have !== undefined) {
            bucketRemove(b, key, have);
            const rest = list.filter((x) => x !== have);
            if (rest.length === 0) model.delete(key);
            else model.set(key, rest);
          }
          for (let k = 0; k <= 3; k++) {
            const l = model.get(k);
            const held = b.get(k);
            expect(held === undefined ? [] : Array.isArray(held) ? held : [held]).toEqual(l ?? []);
            if (l?.length === 1) expect(Array.isArray(held)).toBe(false);
            for (let x = 0; x <= 5; x++) expect(bucketFind(b, k, (o) => o.v === x)).toBe(l?.find((o) => o.v === x));
          }
        }
      }),
    );
  });
});
