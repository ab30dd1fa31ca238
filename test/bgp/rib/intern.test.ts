/**
 * Attribute interning keys every attribute: two sets that differ only in one
 * community list must stay two sets, or a route would be sent with another
 * route's communities.
 */
import { describe, expect, test } from 'vitest';
import { AttributeTable, attributeKey } from '#bgp/rib/intern';
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
      expect(attributeKey(x)).not.toBe(attributeKey(y));
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
