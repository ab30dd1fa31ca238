/**
 * Extended (RFC 4360), IPv6 address specific extended (RFC 5701) and large
 * (RFC 8092) communities: their RFC 7606 error handling, the duplicate rule of
 * large communities, and the transitivity rule the export path applies.
 */
import { describe, expect, it } from 'vitest';
import { MessageType, decodeMessage, encodeMessage } from '#bgp/wire/index';
import type { CodecContext, DecodedMessage, UpdateMessage } from '#bgp/wire/index';
import { isTransitiveExtendedCommunity, transitiveIpv6ExtendedCommunities, uniqueLargeCommunities } from '#bgp/wire/communities';
import { MANDATORY, NLRI_10_1, updateFrame } from './frames.js';

const FOUR: CodecContext = { fourOctetAs: true };

function decode(attrs: string): DecodedMessage {
  return decodeMessage(updateFrame('', `${MANDATORY} ${attrs}`, NLRI_10_1), FOUR);
}

function update(d: DecodedMessage): UpdateMessage {
  return d.message as UpdateMessage;
}

function expectWithdrawn(d: DecodedMessage): void {
  expect(d.action).toBe('treat-as-withdraw');
  expect(update(d).withdrawn).toEqual(['10.1.0.0/24']);
  expect(update(d).nlri).toEqual([]);
  expect(update(d).attributes).toEqual({});
}

/** 20 octets of an RFC 5701 community: type high octet, sub-type 0x02, 2001:db8::<n>, local 100. */
function ipv6Community(typeHigh: number, n: number): string {
  return `${typeHigh.toString(16).padStart(2, '0')} 02 20010db80000000000000000000000${n.toString(16).padStart(2, '0')} 0064`;
}

describe('RFC 4360 extended communities (type 16)', () => {
  it('RFC 4360 §2: each 8 octets is one community, kept in received order', () => {
    const d = decode('c0 10 10 0002fdea00000064 0002fdea00000001');
    expect(d.action).toBe('none');
    expect(update(d).attributes.extendedCommunities).toEqual([
      [0x0002fdea, 100],
      [0x0002fdea, 1],
    ]);
  });

  it('RFC 7606 §7.14: a length that is not a multiple of 8 is treat-as-withdraw', () => {
    expectWithdrawn(decode('c0 10 0c 0002fdea00000064 00000000'));
  });

  it('RFC 7606 §7.14: an empty EXTENDED_COMMUNITIES is treat-as-withdraw', () => {
    expectWithdrawn(decode('c0 10 00'));
  });

  it('RFC 7606 §3: sent as optional non-transitive, its flags conflict with the type: treat-as-withdraw', () => {
    expectWithdrawn(decode('80 10 08 0002fdea00000064'));
  });

  it('an empty list is not sent (it would be malformed)', () => {
    const m: UpdateMessage = { type: MessageType.Update, withdrawn: [], attributes: { extendedCommunities: [] }, nlri: [] };
    expect(encodeMessage(m, FOUR).length).toBe(23);
  });

  it('RFC 4360 §2: the T bit (0x40 in the Type octet) marks a community that stays in the AS', () => {
    expect(isTransitiveExtendedCommunity([0x0002fdea, 100])).toBe(true);
    expect(isTransitiveExtendedCommunity([0x4004fdea, 0x4cee6b28])).toBe(false);
    // The I bit (0x80, RFC 4360 §2) says nothing about transitivity.
    expect(isTransitiveExtendedCommunity([0x8000_0000, 0])).toBe(true);
  });
});

describe('RFC 5701 IPv6 address specific extended communities (type 25)', () => {
  it('RFC 5701 §2: the value is carried as received, 20 octets per community', () => {
    const d = decode(`c0 19 28 ${ipv6Community(0, 1)} ${ipv6Community(0x40, 2)}`);
    expect(d.action).toBe('none');
    const v = update(d).attributes.ipv6ExtendedCommunities;
    expect(Buffer.from(v!).toString('hex')).toBe(`0002${'20010db8' + '0'.repeat(22)}010064` + `4002${'20010db8' + '0'.repeat(22)}020064`);
  });

  it('RFC 7606 §7.15: a length that is not a multiple of 20 is treat-as-withdraw', () => {
    expectWithdrawn(decode(`c0 19 15 ${ipv6Community(0, 1)} 00`));
  });

  it('RFC 7606 §7.15: an empty attribute is treat-as-withdraw', () => {
    expectWithdrawn(decode('c0 19 00'));
  });

  it('the value does not share the receive buffer', () => {
    const frame = updateFrame('', `${MANDATORY} c0 19 14 ${ipv6Community(0, 1)}`, NLRI_10_1);
    const v = update(decodeMessage(frame, FOUR)).attributes.ipv6ExtendedCommunities!;
    frame.fill(0);
    expect(v[0]).toBe(0);
    expect(v[1]).toBe(2);
  });

  it('RFC 5701 §2 (T bit as in RFC 4360): only the transitive communities may leave the AS', () => {
    const both = Buffer.from(`${ipv6Community(0, 1)}${ipv6Community(0x40, 2)}`.replace(/ /g, ''), 'hex');
    const kept = transitiveIpv6ExtendedCommunities(both);
    expect(Buffer.from(kept).toString('hex')).toBe(ipv6Community(0, 1).replace(/ /g, ''));
    const all = both.subarray(0, 20);
    expect(transitiveIpv6ExtendedCommunities(all)).toBe(all);
    expect(transitiveIpv6ExtendedCommunities(both.subarray(20)).length).toBe(0);
  });

  it('a value that is not whole communities cannot be sent', () => {
    const m: UpdateMessage = { type: MessageType.Update, withdrawn: [], attributes: { ipv6ExtendedCommunities: new Uint8Array(19) }, nlri: [] };
    expect(() => encodeMessage(m, FOUR)).toThrow(RangeError);
  });
});

describe('RFC 8092 large communities (type 32)', () => {
  it('RFC 8092 §3: each 12 octets is Global Administrator, Local Data Part 1, Local Data Part 2', () => {
    const d = decode('c0 20 0c fa56ea01 00000001 00000002');
    expect(d.action).toBe('none');
    expect(update(d).attributes.largeCommunities).toEqual([[4200000001, 1, 2]]);
  });

  it('RFC 8092 §3: repeated values are removed silently on receipt, the first occurrence kept in place', () => {
    const a = '0000fdea 00000064 000000c8';
    const b = 'fa56ea01 00000001 00000002';
    const d = decode(`c0 20 3c ${a} ${b} ${a} ${b} ${a}`);
    expect(d.action).toBe('none');
    expect(d.problems).toEqual([]);
    expect(update(d).attributes.largeCommunities).toEqual([
      [65002, 100, 200],
      [4200000001, 1, 2],
    ]);
  });

  it('RFC 8092 §3: duplicate values are never sent', () => {
    const m: UpdateMessage = {
      type: MessageType.Update,
      withdrawn: [],
      attributes: { largeCommunities: [[1, 2, 3], [4, 5, 6], [1, 2, 3]] },
      nlri: [],
    };
    // Header 19 + lengths 4 + attribute header 3 + two communities of 12.
    const bytes = encodeMessage(m, FOUR);
    expect(bytes.subarray(23).toString('hex')).toBe('c02018' + '000000010000000200000003' + '000000040000000500000006');
  });

  it('uniqueLargeCommunities returns the list itself when it has no duplicates', () => {
    const list = [[1, 2, 3] as const, [1, 2, 4] as const];
    expect(uniqueLargeCommunities(list)).toBe(list);
  });

  it('RFC 8092 §3: repeats are dropped, the first keeping its place, in short lists (compared pairwise) and long ones (a Set)', () => {
    for (const n of [2, 3, 15, 16, 17, 40]) {
      // n distinct values, each then repeated once more in reverse order, and one repeated at once.
      const distinct = Array.from({ length: n }, (_, i) => [65002, i, i % 3] as const);
      const list = [...distinct, distinct[0]!, ...distinct.slice().reverse()];
      const unique = uniqueLargeCommunities(list);
      expect(unique, `${n}`).toEqual(distinct);
      const hex = list.map((c) => c.map((x) => x.toString(16).padStart(8, '0')).join('')).join('');
      const len = list.length * 12;
      const attr = len > 255 ? `d0 20 ${len.toString(16).padStart(4, '0')}` : `c0 20 ${len.toString(16).padStart(2, '0')}`;
      expect(update(decode(`${attr} ${hex}`)).attributes.largeCommunities, `${n}`).toEqual(distinct);
      // Only the third number differs: not a repeat.
      const near = [[1, 2, 3] as const, [1, 2, 4] as const, [1, 3, 3] as const, [2, 2, 3] as const];
      expect(uniqueLargeCommunities(near)).toBe(near);
    }
  });

  it('RFC 8092 §6: a length that is not a multiple of 12 is treat-as-withdraw', () => {
    expectWithdrawn(decode('c0 20 10 fa56ea01 00000001 00000002 00000003'));
  });

  it('RFC 8092 §6: an empty LARGE_COMMUNITY is treat-as-withdraw', () => {
    expectWithdrawn(decode('c0 20 00'));
  });

  it('RFC 7606 §3: sent as well-known, its flags conflict with the type: treat-as-withdraw', () => {
    expectWithdrawn(decode('40 20 0c fa56ea01 00000001 00000002'));
  });

  it('RFC 7606 §5.2: malformed in an UPDATE with no NLRI to withdraw, it resets the session', () => {
    expect(() => decodeMessage(updateFrame('', 'c0 20 01 00', ''), FOUR)).toThrow(/RFC 7606 §5.2/);
  });
});
