/** Encoder specifics the round trip cannot see: order, flags, splitting, refusals. */
import { describe, expect, it } from 'vitest';
import { AsPathSegmentType, MessageType, decodeMessage, encodeMessage } from '#bgp/wire/index';
import type { CodecContext, UpdateMessage } from '#bgp/wire/index';

const FOUR: CodecContext = { fourOctetAs: true };
const TWO: CodecContext = { fourOctetAs: false };

/** [flags, code, length] of each path attribute, read straight off the wire. */
function attributeHeaders(b: Buffer): [number, number, number][] {
  const withdrawn = b.readUInt16BE(19);
  let o = 21 + withdrawn;
  const end = o + 2 + b.readUInt16BE(o);
  o += 2;
  const out: [number, number, number][] = [];
  while (o < end) {
    const ext = (b[o]! & 0x10) !== 0;
    const len = ext ? b.readUInt16BE(o + 2) : b[o + 2]!;
    out.push([b[o]!, b[o + 1]!, len]);
    o += (ext ? 4 : 3) + len;
  }
  return out;
}

function update(u: Partial<UpdateMessage>): UpdateMessage {
  return { type: MessageType.Update, withdrawn: [], attributes: {}, nlri: [], ...u };
}

describe('UPDATE encoding', () => {
  it('RFC 7606 §5.1: MP_REACH_NLRI and MP_UNREACH_NLRI come first, the rest ascending with unknown types in place', () => {
    const m = update({
      attributes: {
        origin: 0,
        asPath: [{ type: AsPathSegmentType.AsSequence, asns: [65001] }],
        communities: [1],
        largeCommunities: [[1, 2, 3]],
        med: 1,
        extendedCommunities: [[1, 2]],
        unknown: [
          { flags: 0xe0, code: 99, value: new Uint8Array(12) },
          { flags: 0xe0, code: 20, value: new Uint8Array(8) },
        ],
      },
      mpReach: { afi: 2, safi: 1, nextHops: ['2001:db8::1'], nlri: ['2001:db8::/32'] },
      mpUnreach: { afi: 2, safi: 1, withdrawn: ['2001:db8:1::/48'] },
    });
    expect(attributeHeaders(encodeMessage(m, FOUR)).map(([, code]) => code)).toEqual([14, 15, 1, 2, 4, 8, 16, 20, 32, 99]);
  });

  it('RFC 4271 §4.3: the Extended Length bit is set exactly when a value exceeds 255 octets', () => {
    const short = encodeMessage(update({ attributes: { communities: new Array<number>(63).fill(7) } }), FOUR);
    const long = encodeMessage(update({ attributes: { communities: new Array<number>(64).fill(7) } }), FOUR);
    expect(attributeHeaders(short)).toEqual([[0xc0, 8, 252]]);
    expect(attributeHeaders(long)).toEqual([[0xd0, 8, 256]]);
  });

  it('RFC 4271 §4.3: AS_SEQUENCE segments longer than 255 ASNs are split', () => {
    const asns = Array.from({ length: 300 }, (_, i) => 64512 + i);
    const m = update({ attributes: { asPath: [{ type: AsPathSegmentType.AsSequence, asns }] } });
    const d = decodeMessage(encodeMessage(m, FOUR), FOUR).message as UpdateMessage;
    expect(d.attributes.asPath).toEqual([
      { type: AsPathSegmentType.AsSequence, asns: asns.slice(0, 255) },
      { type: AsPathSegmentType.AsSequence, asns: asns.slice(255) },
    ]);
  });

  it('RFC 6793 §4.2.2: only 2-octet sessions with a wide ASN get AS4_PATH; confederation segments stay out of it', () => {
    const path = [
      { type: AsPathSegmentType.ConfedSequence, asns: [65100] },
      { type: AsPathSegmentType.AsSequence, asns: [65001, 4200000001] },
    ];
    const two = encodeMessage(update({ attributes: { asPath: path } }), TWO);
    expect(attributeHeaders(two)).toEqual([
      [0x40, 2, 2 + 2 + 2 + 4],
      [0xc0, 17, 2 + 8],
    ]);
    expect(two.subarray(-10).toString('hex')).toBe('02020000fde9fa56ea01');
    expect(attributeHeaders(encodeMessage(update({ attributes: { asPath: [path[1]!] } }), FOUR))).toEqual([[0x40, 2, 10]]);
    expect(attributeHeaders(encodeMessage(update({ attributes: { asPath: [{ type: 2, asns: [65001] }] } }), TWO))).toEqual([[0x40, 2, 4]]);
  });

  it('an empty COMMUNITIES list and a false ATOMIC_AGGREGATE are not sent', () => {
    expect(attributeHeaders(encodeMessage(update({ attributes: { communities: [], atomicAggregate: false } }), FOUR))).toEqual([]);
  });

  it('host bits in a prefix string are cleared on the wire', () => {
    const b = encodeMessage(update({ withdrawn: ['10.1.2.3/23'] }), FOUR);
    expect(b.subarray(21, 25).toString('hex')).toBe('170a0102');
  });

  it('refuses what cannot be sent: wrong families, unreadable text, more than 4096 octets', () => {
    expect(() => encodeMessage(update({ nlri: ['2001:db8::/32'] }), FOUR)).toThrow(RangeError);
    expect(() => encodeMessage(update({ attributes: { nextHop: '2001:db8::1' } }), FOUR)).toThrow(RangeError);
    expect(() => encodeMessage(update({ mpReach: { afi: 2, safi: 1, nextHops: ['10.0.0.1'], nlri: [] } }), FOUR)).toThrow(RangeError);
    expect(() => encodeMessage(update({ withdrawn: ['not a prefix'] }), FOUR)).toThrow(RangeError);
    const many = Array.from({ length: 1100 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
    expect(() => encodeMessage(update({ withdrawn: many }), FOUR)).toThrow(/exceeds 4096/);
  });

  it('RFC 4271 §5.1.3, RFC 4760 §3: each UPDATE carries its own next hop, past the memo of parsed addresses', () => {
    const v4 = (i: number): string => `10.${(i >> 8) & 255}.${i & 255}.1`;
    const v6 = (i: number): string => `2001:db8:1:${(i + 1).toString(16)}::1`;
    const hops = (i: number): { v4: string | undefined; v6: string[] | undefined } => {
      const u = update({
        attributes: { origin: 0, asPath: [], nextHop: v4(i) },
        nlri: ['10.2.0.0/24'],
        mpReach: { afi: 2, safi: 1, nextHops: [v6(i)], nlri: ['2001:db8:ff::/48'] },
      });
      const back = decodeMessage(encodeMessage(u, FOUR), FOUR).message as UpdateMessage;
      return { v4: back.attributes.nextHop, v6: back.mpReach?.nextHops };
    };
    // More distinct addresses than the memo keeps (it is emptied), then the first ones again.
    for (const i of [...Array.from({ length: 1500 }, (_, k) => k), 0, 1, 1499]) expect(hops(i)).toEqual({ v4: v4(i), v6: [v6(i)] });
  });
});

describe('each UPDATE encoded on its own (issue 10: one table of attribute lengths for every message)', () => {
  it('a message with few attributes after one with many, and the first again, encode as each alone', () => {
    const rich: UpdateMessage = {
      type: MessageType.Update,
      withdrawn: ['10.9.0.0/16'],
      attributes: {
        origin: 0,
        asPath: [{ type: AsPathSegmentType.AsSequence, asns: [65002, 65003] }],
        nextHop: '10.255.0.1',
        med: 7,
        localPref: 200,
        communities: [0xfdea0001],
        largeCommunities: [[65002, 1, 2]],
      },
      nlri: ['10.1.0.0/24'],
      mpReach: { afi: 2, safi: 1, nextHops: ['2001:db8::1'], nlri: ['2001:db8:1::/48'] },
    };
    const poor: UpdateMessage = { type: MessageType.Update, withdrawn: ['10.2.0.0/16'], attributes: {}, nlri: [] };
    const first = encodeMessage(rich, FOUR);
    const second = encodeMessage(poor, FOUR);
    // RFC 4271 §4.3: 19 header, 2 + 3 withdrawn, 0 attributes, no NLRI.
    expect(second.toString('hex')).toBe('ff'.repeat(16) + '001a' + '02' + '0003' + '100a02' + '0000');
    expect(encodeMessage(rich, FOUR)).toEqual(first);
    const back = decodeMessage(first, FOUR).message as UpdateMessage;
    expect(back.attributes.med).toBe(7);
    expect(back.mpReach?.nlri).toEqual(['2001:db8:1::/48']);
  });
});
