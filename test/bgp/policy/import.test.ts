import { describe, expect, test } from 'vitest';
import { canonicalAddress, importRoute, isMartian, isMartianWords } from '#bgp/policy/index';
import { PrefixTable } from '#lib/prefix-table';
import type { ImportContext } from '#bgp/policy/index';
import { LOCAL_ASN, attrs, peer, seq, set } from '../rib/helpers.js';

const ctx: ImportContext = {
  localAsn: LOCAL_ASN,
  peer: peer('a', 65002, 2),
  ownAddresses: new Set(['10.255.2.0', 'fd00:255:2::']),
};

describe('import policy', () => {
  test('RFC 4271 §9.1.2: our own ASN anywhere in the AS_PATH (sequence or set) is a loop', () => {
    expect(importRoute(ctx, { prefix: '10.2.0.0/24', attrs: attrs({ asPath: [seq(65002, LOCAL_ASN)] }), nextHop: '10.255.2.1' }))
      .toEqual({ accept: false, reason: 'as-path-loop' });
    expect(importRoute(ctx, { prefix: '10.2.0.0/24', attrs: attrs({ asPath: [seq(65002), set(LOCAL_ASN)] }), nextHop: '10.255.2.1' }))
      .toEqual({ accept: false, reason: 'as-path-loop' });
    const ok = attrs({ asPath: [seq(65002)] });
    expect(importRoute(ctx, { prefix: '10.2.0.0/24', attrs: ok, nextHop: '10.255.2.1' })).toEqual({ accept: true, attrs: ok });
  });

  test('a next hop that is our own address is rejected, in any spelling', () => {
    const a = attrs({ asPath: [seq(65002)] });
    expect(importRoute(ctx, { prefix: '10.2.0.0/24', attrs: a, nextHop: '10.255.2.0' })).toMatchObject({ reason: 'next-hop-self' });
    expect(importRoute(ctx, { prefix: '2001:db8::/32', attrs: a, nextHop: 'FD00:255:2:0::0' })).toMatchObject({ reason: 'next-hop-self' });
    expect(importRoute(ctx, { prefix: '2001:db8::/32', attrs: a, nextHop: 'fe80::a:2' })).toMatchObject({ reason: 'next-hop-self' });
    expect(importRoute(ctx, { prefix: '2001:db8::/32', attrs: a, nextHop: 'fe80::a:3' })).toMatchObject({ accept: true });
  });

  test('next hops read once are still judged against our addresses as they are now, past the memo of read next hops', () => {
    const own = new Set<string>();
    const live: ImportContext = { localAsn: LOCAL_ASN, peer: peer('a', 65002, 2), ownAddresses: own };
    const a = attrs({ asPath: [seq(65002)] });
    const judge = (nextHop: string): string | undefined => {
      const v = importRoute(live, { prefix: '2001:db8::/32', attrs: a, nextHop });
      return v.accept ? undefined : v.reason;
    };
    expect(judge('FD00:255:9::0')).toBeUndefined();
    own.add('fd00:255:9::');
    expect(judge('FD00:255:9::0')).toBe('next-hop-self');
    // More distinct next hops than the memo keeps (it is emptied): the same verdicts.
    for (let i = 0; i < 1500; i++) expect(judge(`fd00:1:${i.toString(16)}::1`)).toBeUndefined();
    expect(judge('FD00:255:9::0')).toBe('next-hop-self');
    own.delete('fd00:255:9::');
    expect(judge('fd00:255:9::')).toBeUndefined();
  });

  test.each([
    ['127.0.0.0/8', true],
    ['127.1.0.0/16', true],
    ['224.0.0.0/4', true],
    ['239.255.0.0/16', true],
    ['::1/128', true],
    ['fe80::/10', true],
    ['fe80::/64', true],
    ['febf:1::/32', true],
    ['ff02::/16', true],
    ['ff00::/8', true],
    ['0.0.0.0/0', false],
    ['::/0', false],
    ['0.0.0.0/1', false],
    ['126.0.0.0/8', false],
    ['128.0.0.0/8', false],
    ['223.255.255.0/24', false],
    ['240.0.0.0/4', false],
    ['fec0::/10', false],
    ['fe00::/8', false],
    ['f000::/4', false],
    ['2001:db8::/32', false],
    ['::ffff:0:0/96', false],
  ])('martian %s -> %s', (prefix, martian) => {
    expect(isMartian(prefix)).toBe(martian);
    // The same check on the words of a prefix number (the RIB's received prefixes, no text).
    const t = new PrefixTable();
    const id = t.intern(prefix);
    expect(isMartianWords(t.isV6(id), t.lengthOf(id), t.wordOf(id, 0), t.wordOf(id, 1), t.wordOf(id, 2), t.wordOf(id, 3))).toBe(martian);
  });

  test('canonicalAddress', () => {
    expect(canonicalAddress('2001:DB8:0:0::1')).toBe('2001:db8::1');
    expect(canonicalAddress('10.0.0.1')).toBe('10.0.0.1');
    expect(canonicalAddress('x')).toBeNull();
  });
});
