/** Prefix lists as FRR reads them (`PREFIX [ge N] [le N]`), used by bgp.advertise-ospf. */
import { describe, expect, it } from 'vitest';
import { parsePrefixListEntry, prefixListMatches } from '#config/fields';

describe('prefix-list entries', () => {
  it('without ge/le only the prefix itself; le alone from the prefix length; ge alone up to the width', () => {
    expect(parsePrefixListEntry('10.0.0.0/8')).toEqual({ prefix: '10.0.0.0/8', ge: 8, le: 8 });
    expect(parsePrefixListEntry('10.0.0.0/8 le 24')).toEqual({ prefix: '10.0.0.0/8', ge: 8, le: 24 });
    expect(parsePrefixListEntry('10.0.0.0/8 ge 16')).toEqual({ prefix: '10.0.0.0/8', ge: 16, le: 32 });
    expect(parsePrefixListEntry('fd00::/8 ge 48 le 64')).toEqual({ prefix: 'fd00::/8', ge: 48, le: 64 });
  });
  it('refuses host bits, lengths out of order, garbage', () => {
    expect(parsePrefixListEntry('10.0.0.1/8')).toMatch(/host bits/);
    expect(parsePrefixListEntry('10.0.0.0/8 ge 24 le 16')).toMatch(/8 <= ge <= le <= 32/);
    expect(parsePrefixListEntry('10.0.0.0/8 le 33')).toMatch(/8 <= ge <= le <= 32/);
    expect(parsePrefixListEntry('10.0.0.0/8 permit')).toMatch(/expected "PREFIX/);
  });
  it('matches inside the prefix within the length range, per family', () => {
    const list = [parsePrefixListEntry('10.0.0.0/8 le 24'), parsePrefixListEntry('fd00::/8 ge 48 le 64')].filter((e) => typeof e !== 'string');
    expect(prefixListMatches(list, '10.9.0.0/24')).toBe(true);
    expect(prefixListMatches(list, '10.9.0.0/25')).toBe(false);
    expect(prefixListMatches(list, '11.0.0.0/24')).toBe(false);
    expect(prefixListMatches(list, 'fd00:1::/48')).toBe(true);
    expect(prefixListMatches(list, 'fd00::/16')).toBe(false);
    expect(prefixListMatches(list, '2001:db8::/48')).toBe(false);
  });
});
