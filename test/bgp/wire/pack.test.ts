/**
 * parsePrefixes packs prefix text straight into the wire form (RFC 4271 §4.3)
 * without an object per prefix (issue 10: that garbage was most of the CPU
 * of sending a full table to several peers). Checked against a packing built
 * independently from the general parser, on the fast path (canonical text)
 * and the fallback (host bits set, IPv4-embedded IPv6, upper-case hex).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePrefixes } from '#bgp/wire/nlri';
import { formatIp, parsePrefix } from '#lib/prefix';

function reference(list: readonly string[]): number[] {
  const out: number[] = [];
  for (const s of list) {
    const p = parsePrefix(s, true)!;
    const n = (p.len + 7) >> 3;
    out.push(p.len);
    for (let i = 0; i < n; i++) {
      const keep = i < n - 1 || p.len % 8 === 0 ? 0xff : (0xff << (8 - (p.len % 8))) & 0xff;
      out.push(p.bytes[i]! & keep);
    }
  }
  return out;
}

const v4 = fc.tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 32 })).map(([b, len]) => `${formatIp(b)}/${len}`);
const v6 = fc
  .tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 }), fc.constantFrom('plain', 'upper', 'v4tail'))
  .map(([b, len, form]) => {
    const text = formatIp(b);
    if (form === 'upper') return `${text.toUpperCase()}/${len}`;
    if (form === 'v4tail') return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}/${Math.max(len, 96)}`;
    return `${text}/${len}`;
  });

describe('parsePrefixes (UPDATE encoding)', () => {
  it('packs IPv4 and IPv6 prefixes as the general parser would, host bits cleared', () => {
    fc.assert(fc.property(fc.array(v4, { maxLength: 40 }), (list) => {
          expect([...parsePrefixes(list, 4, 'nlri')]).toEqual(reference(list));
        }));
    fc.assert(fc.property(fc.array(v6, { maxLength: 40 }), (list) => {
          expect([...parsePrefixes(list, 6, 'nlri')]).toEqual(reference(list));
        }));
  });

  it('examples: /0, /32, host bits, a /25 and an IPv6 /127', () => {
    expect([...parsePrefixes(['0.0.0.0/0', '10.1.2.3/32', '10.1.2.3/24', '10.1.2.255/25'], 4, 'nlri')]).toEqual([0, 32, 10, 1, 2, 3, 24, 10, 1, 2, 25, 10, 1, 2, 128]);
    expect([...parsePrefixes(['fd00:255::1/127'], 6, 'nlri')]).toEqual([127, 0xfd, 0, 2, 0x55, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('refuses another family or unreadable text', () => {
    expect(() => parsePrefixes(['2001:db8::/32'], 4, 'nlri')).toThrow(/nlri: not an IPv4 prefix/);
    expect(() => parsePrefixes(['10.0.0.0/8'], 6, 'mpReach.nlri')).toThrow(/not an IPv6 prefix/);
    expect(() => parsePrefixes(['10.0.0/8'], 4, 'nlri')).toThrow(RangeError);
    expect(() => parsePrefixes(['10.0.0.0/33'], 4, 'nlri')).toThrow(RangeError);
  });
});
