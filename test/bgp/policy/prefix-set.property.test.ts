/**
 * The hashed prefix list (prefix-set.ts) answers as the plain reading of a
 * prefix list does: some entry contains the prefix and its length is within
 * ge..le (the linear check the OSPF export uses, config/fields.ts); asked
 * with the words of a prefix number (what the RIB does for received
 * prefixes, issue 10) it answers as for the text.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PrefixSet, PrefixWords } from '#bgp/policy/prefix-set';
import { PrefixTable } from '#lib/prefix-table';
import { prefixListMatches } from '#config/fields';
import type { PrefixListEntry } from '#config/types';
import { formatPrefix, maskBytes } from '#lib/prefix';

/** Addresses from a small space so entries and prefixes overlap often. */
function prefixArb(family: 4 | 6) {
  const width = family === 4 ? 32 : 128;
  return fc
    .tuple(fc.uint8Array({ minLength: family === 4 ? 4 : 16, maxLength: family === 4 ? 4 : 16 }), fc.integer({ min: 0, max: width }), fc.constantFrom(0, 1, 2, 3))
    .map(([bytes, len, bias]) => {
      // Most addresses share a first octet so that lists and prefixes meet.
      const b = Uint8Array.from(bytes);
      if (bias > 0) b[0] = family === 4 ? 10 : 0x20;
      if (bias > 1) b[1] = family === 4 ? bias : 0x01;
      return { family, bytes: maskBytes(b, len), len };
    });
}

const entryArb = fc.oneof(prefixArb(4), prefixArb(6)).chain((p) => {
  const width = p.family === 4 ? 32 : 128;
  return fc.tuple(fc.integer({ min: p.len, max: width }), fc.integer({ min: p.len, max: width })).map(([a, b]): PrefixListEntry => ({
    prefix: formatPrefix(p),
    ge: Math.min(a, b),
    le: Math.max(a, b),
  }));
});

describe('PrefixSet', () => {
  it('agrees with the linear reading of the list for any list and prefix', () => {
    fc.assert(
      fc.property(fc.array(entryArb, { maxLength: 30 }), fc.array(fc.oneof(prefixArb(4), prefixArb(6)), { minLength: 1, maxLength: 30 }), (entries, prefixes) => {
        const set = new PrefixSet(entries);
        const table = new PrefixTable();
        const key = new PrefixWords();
        for (const p of prefixes) {
          const text = formatPrefix(p);
          const expected = prefixListMatches(entries, text);
          expect(set.has(text)).toBe(expected);
          // The words as the RIB fills them from the prefix number (signed 32-bit words in the table).
          const id = table.intern(text);
          key.v6 = table.isV6(id);
          key.len = table.lengthOf(id);
          for (let i = 0; i < 4; i++) key.w[i] = table.wordOf(id, i);
          expect(set.hasWords(key)).toBe(expected);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('the default route and host routes at the edges of the lengths', () => {
    const set = new PrefixSet([
      { prefix: '0.0.0.0/0', ge: 0, le: 0 },
      { prefix: '192.0.2.0/24', ge: 32, le: 32 },
      { prefix: '::/0', ge: 128, le: 128 },
    ]);
    expect(set.has('0.0.0.0/0')).toBe(true);
    expect(set.has('10.0.0.0/8')).toBe(false);
    expect(set.has('192.0.2.7/32')).toBe(true);
    expect(set.has('192.0.2.0/24')).toBe(false);
    expect(set.has('2001:db8::1/128')).toBe(true);
    expect(set.has('::/0')).toBe(false);
    expect(set.hasAddress('192.0.2.9')).toBe(true);
  });
});
