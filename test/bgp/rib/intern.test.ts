/**
 * Attribute interning compares every attribute: two sets that differ only in one
 * community list must stay two sets, or a route would be sent with another
 * route's communities.
 */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { AttributeTable, attributeHash, attributesEqual } from '#bgp/rib/intern';
import type { PathAttributes } from '#bgp/wire/types';
import { attrs, seq } from './helpers.js';

const base = (): PathAttributes => attrs({ asPath: [seq(65002)], nextHop: '10.255.2.1' });

/** Pairs of sets equal but for one community attribute. */
const VARIANTS: Record<string, [PathAttributes, PathAttributes]> = {
  'RFC 4360 extended communities': [
    { ...base(), extendedCommunities: [[0x0002fdea, 100]] },
    { ...base(), extendedCommunities: [[0x0002fdea, 200]] },
  ],
  'RFC 4360 extended communities, present or not': [{ ...base(), extendedCommunities: [[0x0002fdea, 100]] }, base()],
  'RFC 5701 IPv6 address specific extended communities': [
    { ...base(), ipv6ExtendedCommunities: new Uint8Array(20).fill(1) },
    { ...base(), ipv6ExtendedCommunities: new Uint8Array(20).fill(2) },
  ],
  'RFC 8092 large communities': [
    { ...base(), largeCommunities: [[65002, 1, 2]] },
    { ...base(), largeCommunities: [[65002, 1, 3]] },
  ],
  'RFC 8092 large communities, present or not': [{ ...base(), largeCommunities: [[65002, 1, 2]] }, base()],
  'the same numbers as large or as extended communities': [
    { ...base(), largeCommunities: [[1, 2, 3]] },
    { ...base(), extendedCommunities: [[1, 2]], communities: [3] },
  ],
};

describe('attribute interning of the community attributes', () => {
  for (const [name, [x, y]] of Object.entries(VARIANTS)) {
    test(`sets differing only in ${name} are interned apart`, () => {
      const t = new AttributeTable();
      expect(attributesEqual(x, y)).toBe(false);
      const ix = t.intern(x);
      const iy = t.intern(y);
      expect(ix).not.toBe(iy);
      expect(t.size).toBe(2);
      expect(ix).toEqual(x);
      expect(iy).toEqual(y);
    });
  }

  test('equal sets built apart share one frozen copy that owns its community lists', () => {
    const make = (): PathAttributes => ({
      ...base(),
      extendedCommunities: [[0x0002fdea, 100]],
      ipv6ExtendedCommunities: new Uint8Array(20).fill(7),
      largeCommunities: [[4200000001, 1, 2]],
    });
    const t = new AttributeTable();
    const original = make();
    const shared = t.intern(original);
    expect(t.intern(make())).toBe(shared);
    expect(t.size).toBe(1);
    expect(Object.isFrozen(shared.extendedCommunities)).toBe(true);
    expect(Object.isFrozen(shared.extendedCommunities![0])).toBe(true);
    expect(Object.isFrozen(shared.largeCommunities)).toBe(true);
    expect(Object.isFrozen(shared.largeCommunities![0])).toBe(true);
    // The caller's buffer is not the table's.
    original.ipv6ExtendedCommunities!.fill(0);
    expect(shared.ipv6ExtendedCommunities![0]).toBe(7);
  });
});

/** Any set the codec can produce, with small value ranges so that equal fields are common. */
const setArb: fc.Arbitrary<PathAttributes> = fc.record(
  {
    origin: fc.constantFrom(0, 1, 2),
    asPath: fc.array(fc.record({ type: fc.constantFrom(1, 2, 3, 4), asns: fc.array(fc.constantFrom(1, 2, 65002, 4200000001), { maxLength: 3 }) }), { maxLength: 2 }),
    nextHop: fc.constantFrom('10.255.0.1', '10.255.0.2'),
    med: fc.constantFrom(0, 10),
    localPref: fc.constantFrom(100, 200),
    atomicAggregate: fc.boolean(),
    aggregator: fc.record({ asn: fc.constantFrom(1, 2), address: fc.constantFrom('192.0.2.1', '192.0.2.2') }),
    communities: fc.array(fc.constantFrom(1, 2, 0xffff0001), { maxLength: 2 }),
    extendedCommunities: fc.array(fc.tuple(fc.constantFrom(0x0002fdea, 1), fc.constantFrom(1, 2)), { maxLength: 2 }),
    ipv6ExtendedCommunities: fc.constantFrom(1, 2).map((v) => new Uint8Array(20).fill(v)),
    largeCommunities: fc.array(fc.tuple(fc.constantFrom(1, 2), fc.constantFrom(1, 2), fc.constantFrom(1, 2)), { maxLength: 2 }),
    otc: fc.constantFrom(65002, 65003),
    unknown: fc.array(fc.record({ flags: fc.constant(0xc0), code: fc.constantFrom(99, 100), value: fc.constantFrom(1, 2).map((v) => new Uint8Array(2).fill(v)) }), { maxLength: 1 }),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<PathAttributes>;

/** A deep copy made without the table, so equality cannot be identity. */
function copy(a: PathAttributes): PathAttributes {
  return structuredClone(a);
}

describe('attribute equality and hash', () => {
  test('a set equals its copy and hashes like it; the table gives one entry for both', () => {
    fc.assert(
      fc.property(setArb, (a) => {
        const b = copy(a);
        expect(attributesEqual(a, b)).toBe(true);
        expect(attributeHash(a)).toBe(attributeHash(b));
        const t = new AttributeTable();
        expect(t.intern(a)).toBe(t.intern(b));
        expect(t.size).toBe(1);
      }),
    );
  });

  test('two sets are one entry exactly when every field is equal (the JSON of their fields, as the model)', () => {
    const model = (a: PathAttributes): string =>
      JSON.stringify(a, (_k, v: unknown) => (v instanceof Uint8Array ? Array.from(v) : v), undefined);
    const canonical = (a: PathAttributes): string => model(Object.fromEntries(Object.entries(a).sort(([x], [y]) => (x < y ? -1 : 1))) as PathAttributes);
    fc.assert(
      fc.property(setArb, setArb, (a, b) => {
        const same = canonical(a) === canonical(b);
        expect(attributesEqual(a, b)).toBe(same);
        if (same) expect(attributeHash(a)).toBe(attributeHash(b));
        const t = new AttributeTable();
        expect(t.intern(a) === t.intern(b)).toBe(same);
        expect(t.size).toBe(same ? 1 : 2);
      }),
      { numRuns: 2000 },
    );
  });

  test('sets whose hashes collide stay two entries, and each is released on its own', () => {
    // A 32-bit hash: a collision among ~100 k sets is likely (birthday bound); find one.
    const make = (i: number): PathAttributes => ({ origin: 0, asPath: [seq(65002, i)], med: i >>> 8 });
    const seen = new Map<number, number>();
    let pair: [number, number] | null = null;
    for (let i = 0; i < 1_000_000 && pair === null; i++) {
      const h = attributeHash(make(i));
      const j = seen.get(h);
      if (j !== undefined) pair = [j, i];
      else seen.set(h, i);
    }
    expect(pair).not.toBeNull();
    const [i, j] = pair!;
    expect(attributeHash(make(i))).toBe(attributeHash(make(j)));
    const t = new AttributeTable();
    const x = t.intern(make(i));
    const y = t.intern(make(j));
    expect(x).not.toBe(y);
    expect(t.size).toBe(2);
    expect(t.intern(make(j))).toBe(y);
    expect(t.intern(make(i))).toBe(x);
    t.release(x);
    t.release(x);
    expect(t.refCount(x)).toBe(0);
    expect(t.intern(make(j))).toBe(y);
    t.release(y);
    t.release(y);
    t.release(y);
    expect(t.size).toBe(0);
    // Both come back as new entries.
    expect(t.intern(make(i))).toEqual(make(i));
    expect(t.intern(make(j))).toEqual(make(j));
    expect(t.size).toBe(2);
  });
});

describe('internBuilt: a set made for the call is kept as it is, frozen (issue 10)', () => {
  const built = (): PathAttributes => ({
    ...base(),
    asPath: [seq(65001, 65002), { type: 1, asns: [7, 8] }],
    aggregator: { asn: 65002, address: '10.0.0.2' },
    communities: [1, 2],
    extendedCommunities: [[0x0002fdea, 100]],
    largeCommunities: [[65002, 1, 2]],
    ipv6ExtendedCommunities: new Uint8Array(20).fill(3),
    unknown: [{ flags: 0xc0, code: 99, value: Buffer.from([1, 2]) }],
  });

  test('a new set is the object given, frozen with every part frozenCopy freezes; equal to a copy interned', () => {
    const t = new AttributeTable();
    const a = built();
    const kept = t.internBuilt(a);
    expect(kept).toBe(a);
    expect(Object.isFrozen(kept)).toBe(true);
    for (const part of [kept.asPath, kept.asPath![0], kept.asPath![0]!.asns, kept.asPath![1]!.asns, kept.aggregator, kept.communities, kept.extendedCommunities, kept.extendedCommunities![0], kept.largeCommunities, kept.largeCommunities![0], kept.unknown, kept.unknown![0]]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
    // The same set interned from a copy, or built again, is this one.
    expect(t.intern(built())).toBe(kept);
    expect(t.internBuilt(built())).toBe(kept);
    expect(t.refCount(kept)).toBe(3);
    expect(t.size).toBe(1);
  });

  test('a set already interned is returned, the one given is not kept', () => {
    const t = new AttributeTable();
    const first = t.intern(built());
    const again = built();
    expect(t.internBuilt(again)).toBe(first);
    expect(Object.isFrozen(again)).toBe(false);
    t.release(first);
    t.release(first);
    expect(t.size).toBe(0);
    // Freed: the next one built is kept anew.
    const next = built();
    expect(t.internBuilt(next)).toBe(next);
  });
});
