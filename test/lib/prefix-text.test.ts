/**
 * formatPrefixText and formatIp: the texts the NLRI decoder and the rest keep,
 * built as bytes into one flat string, must equal what an independent,
 * plainly written formatter says (RFC 5952 §4 for IPv6: lower case, no
 * leading zeros, the longest run of two or more zero groups compressed, the
 * first of equal runs).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIp, formatPrefixText, parseIp, prefixLengthOf } from '#lib/prefix';

/** The reference: RFC 5952 §4 written the obvious way (groups as numbers, joined), not sharing the code under test. */
function reference(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[i * 2]! << 8) | b[i * 2 + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]): string => a.map((x) => x.toString(16)).join(':');
  return bestStart < 0 ? hex(g) : `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

const text = (addr: string, len: number): string => {
  const ip = parseIp(addr)!;
  return formatPrefixText(ip.family, ip.bytes, len);
};

describe('formatPrefixText', () => {
  it('RFC 5952 §4.2: zero runs, the longest (the first of equal ones) compressed, a single zero group not', () => {
    expect(text('0.0.0.0', 0)).toBe('0.0.0.0/0');
    expect(text('255.255.255.255', 32)).toBe('255.255.255.255/32');
    expect(text('10.100.9.0', 24)).toBe('10.100.9.0/24');
    expect(text('::', 0)).toBe('::/0');
    expect(text('::1', 128)).toBe('::1/128');
    expect(text('1::', 16)).toBe('1::/16');
    expect(text('2001:db8:0:1:0:0:0:0', 64)).toBe('2001:db8:0:1::/64');
    expect(text('2001:db8::1:0:0:1', 128)).toBe('2001:db8::1:0:0:1/128');
    expect(text('2001:0:1:2:3:4:5:6', 128)).toBe('2001:0:1:2:3:4:5:6/128');
    expect(text('fe80::abcd:ef01', 64)).toBe('fe80::abcd:ef01/64');
    expect(text('2001:db8:ffff:1000::', 52)).toBe('2001:db8:ffff:1000::/52');
  });

  it('equals the reference for any address and length (both families), and formatIp equals it without the length', () => {
    // Zero groups are frequent, so runs of every length and position occur.
    const group = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
    fc.assert(
      fc.property(fc.boolean(), fc.array(group, { minLength: 8, maxLength: 8 }), fc.integer({ min: 0, max: 128 }), (v4, groups, len) => {
        const bytes = new Uint8Array(v4 ? 4 : 16);
        for (let i = 0; i < bytes.length; i += 2) {
          bytes[i] = groups[i >> 1]! >> 8;
          bytes[i + 1] = groups[i >> 1]! & 255;
        }
        const l = v4 ? len % 33 : len;
        expect(formatPrefixText(v4 ? 4 : 6, bytes, l)).toBe(`${reference(bytes)}/${l}`);
        expect(formatIp(bytes)).toBe(reference(bytes));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('prefixLengthOf', () => {
  it('reads the length after the slash, one to three digits, both families', () => {
    expect(prefixLengthOf('0.0.0.0/0')).toBe(0);
    expect(prefixLengthOf('10.1.2.0/24')).toBe(24);
    expect(prefixLengthOf('10.1.2.3/32')).toBe(32);
    expect(prefixLengthOf('2001:db8::/32')).toBe(32);
    expect(prefixLengthOf('2001:db8::1/128')).toBe(128);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 }), (b, len) => {
        expect(prefixLengthOf(formatPrefixText(6, b, len))).toBe(len);
      }),
    );
  });
});
