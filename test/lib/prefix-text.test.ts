/**
 * formatPrefixText: the prefix text the NLRI decoder keeps, built as bytes
 * into one flat string, must equal formatIp + "/len" (RFC 5952 §4 for IPv6:
 * lower case, no leading zeros, the longest run of two or more zero groups
 * compressed, the first of equal runs).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIp, formatPrefixText, parseIp } from '#lib/prefix';

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

  it('equals formatIp + "/len" for any address (both families)', () => {
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
        expect(formatPrefixText(v4 ? 4 : 6, bytes, l)).toBe(`${formatIp(bytes)}/${l}`);
      }),
      { numRuns: 3000 },
    );
  });
});
