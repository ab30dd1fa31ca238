/**
 * RFC 7911 ADD-PATH on the wire: the 4-octet Path Identifier before each
 * prefix of Withdrawn Routes, NLRI, MP_REACH_NLRI and MP_UNREACH_NLRI, when
 * negotiated for the family in that direction (CodecContext.addPath).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatIpv4, formatIpv6, formatPrefix, maskBytes } from '#lib/prefix';
import { AsPathSegmentType, BgpWireError, MessageType, Origin, UpdateSubcode, decodeMessage, encodeMessage, treatAsWithdraw } from '#bgp/wire/index';
import type { CodecContext, MpReach, MpUnreach, UpdateMessage } from '#bgp/wire/index';
import { updateSize } from '#bgp/rib/update-size';
import { loadVector } from './vectors.js';
import { ReceivedUpdate, toPlain } from '#bgp/wire/received';

const BOTH = { ipv4: true, ipv6: true };
const NONE = { ipv4: false, ipv6: false };
/** The receiver of the vectors: it asked to receive, the sender to send. */
const RX: CodecContext = { fourOctetAs: true, addPath: { receive: BOTH, send: NONE } };
/** The sender of the vectors. */
const TX: CodecContext = { fourOctetAs: true, addPath: { receive: NONE, send: BOTH } };
const PLAIN: CodecContext = { fourOctetAs: true };
const AS_PATH = [{ type: AsPathSegmentType.AsSequence, asns: [65002] }];

const CASES: Record<string, UpdateMessage> = {
  'add-path/update-ipv4.hex': {
    type: MessageType.Update,
    withdrawn: ['10.3.0.0/16'],
    withdrawnPathIds: [2],
    attributes: { origin: Origin.Igp, asPath: AS_PATH, nextHop: '10.255.0.1' },
    nlri: ['10.1.0.0/24', '10.1.0.0/24'],
    nlriPathIds: [1, 2],
  },
  'add-path/update-mp-reach-ipv6.hex': {
    type: MessageType.Update,
    withdrawn: [],
    withdrawnPathIds: [],
    attributes: { origin: Origin.Igp, asPath: AS_PATH },
    nlri: [],
    nlriPathIds: [],
    mpReach: { afi: 2, safi: 1, nextHops: ['2001:db8::1'], nlri: ['2001:db8:1::/48', '2001:db8:1::/48'], pathIds: [1, 7] },
  },
  'add-path/update-mp-unreach-ipv6.hex': {
    type: MessageType.Update,
    withdrawn: [],
    withdrawnPathIds: [],
    attributes: {},
    nlri: [],
    nlriPathIds: [],
    mpUnreach: { afi: 2, safi: 1, withdrawn: ['2001:db8:1::/48'], pathIds: [7] },
  },
};

function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return Array.from(v);
  if (Array.isArray(v)) return v.map(plain);
  // A decoded UPDATE's prefix lists are getters (wire/received.ts): compared as the plain message.
  if (v instanceof ReceivedUpdate) return plain(toPlain(v));
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

function wireError(f: () => unknown): BgpWireError {
  try {
    f();
  } catch (e) {
    if (e instanceof BgpWireError) return e;
    throw e;
  }
  throw new Error('no error');
}

describe('RFC 7911 §3 golden vectors (test/vectors/bgp/add-path)', () => {
  for (const [name, message] of Object.entries(CASES)) {
    it(`${name}: decodes with the Path Identifiers when receive was negotiated`, () => {
      const d = decodeMessage(loadVector(name), RX);
      expect(d.action).toBe('none');
      expect(plain(d.message)).toEqual(plain(message));
    });
    it(`${name}: encodes to the same bytes when send was negotiated`, () => {
      expect(encodeMessage(message, TX).toString('hex')).toBe(loadVector(name).toString('hex'));
    });
    it(`${name}: the size estimate counts the 4 octets of each Path Identifier`, () => {
      expect(updateSize(message)).toBeGreaterThanOrEqual(loadVector(name).length);
    });
  }

  it('the size estimate grows by 4 octets per Path Identifier', () => {
    const m = CASES['add-path/update-ipv4.hex']!;
    const { withdrawnPathIds: _w, nlriPathIds: _n, ...without } = m;
    expect(updateSize(m) - updateSize(without)).toBe(12);
    expect(updateSize(m) - loadVector('add-path/update-ipv4.hex').length).toBe(updateSize(without) - encodeMessage(without, PLAIN).length);
  });

  it('RFC 7911 §5: only the negotiated direction carries them: read without, the same bytes are not the same prefixes', () => {
    // 00000007 30 ... read as prefixes: /0, /0, /0, then /7 eating the 0x30 octet, then /32 overrunning.
    expect(() => decodeMessage(loadVector('add-path/update-mp-unreach-ipv6.hex'), PLAIN)).toThrow(/overruns/);
    expect(() => decodeMessage(loadVector('add-path/update-ipv4.hex'), TX)).toThrow(BgpWireError);
  });

  it('the encoder refuses Path Identifiers the session did not negotiate, and their absence where it did', () => {
    const m = CASES['add-path/update-ipv4.hex']!;
    expect(() => encodeMessage(m, PLAIN)).toThrow(RangeError);
    expect(() => encodeMessage({ ...m, nlriPathIds: undefined }, TX)).toThrow(/Path Identifiers needed/);
    expect(() => encodeMessage({ ...m, nlriPathIds: [1] }, TX)).toThrow(/1 Path Identifiers for 2 prefixes/);
    // Only IPv4 negotiated: the IPv6 MP_REACH goes without.
    const only4: CodecContext = { fourOctetAs: true, addPath: { receive: NONE, send: { ipv4: true, ipv6: false } } };
    const v6 = CASES['add-path/update-mp-reach-ipv6.hex']!;
    expect(() => encodeMessage(v6, only4)).toThrow(/not negotiated for AFI 2/);
  });
});

describe('RFC 7606 with ADD-PATH', () => {
  it('§5.3: an NLRI field ending inside a path is a session reset with Invalid Network Field', () => {
    const e = wireError(() => decodeMessage(loadVector('add-path/update-ipv4-truncated-path-id.hex'), RX));
    expect(e.code).toBe(3);
    expect(e.subcode).toBe(UpdateSubcode.InvalidNetworkField);
    expect(e.message).toMatch(/Path Identifier/);
  });

  it('§7.11: MP_REACH_NLRI whose NLRI ends inside a Path Identifier is a session reset (Optional Attribute Error)', () => {
    const e = wireError(() => decodeMessage(loadVector('add-path/update-mp-reach-ipv6-truncated-path-id.hex'), RX));
    expect(e.code).toBe(3);
    expect(e.subcode).toBe(UpdateSubcode.OptionalAttributeError);
  });

  it('§2 treat-as-withdraw keeps each withdrawn path with its Path Identifier', () => {
    const w = treatAsWithdraw(CASES['add-path/update-ipv4.hex']!);
    expect(w.withdrawn).toEqual(['10.3.0.0/16', '10.1.0.0/24', '10.1.0.0/24']);
    expect(w.withdrawnPathIds).toEqual([2, 1, 2]);
    const m6 = treatAsWithdraw(CASES['add-path/update-mp-reach-ipv6.hex']!);
    expect(m6.mpUnreach).toEqual({ afi: 2, safi: 1, withdrawn: ['2001:db8:1::/48', '2001:db8:1::/48'], pathIds: [1, 7] });
    // It encodes on the session that carries them.
    expect(() => encodeMessage(w, TX)).not.toThrow();
  });

  it('a missing well-known attribute with ADD-PATH NLRI is treat-as-withdraw per path (RFC 7606 §3(d))', () => {
    const bytes = encodeMessage({ ...CASES['add-path/update-ipv4.hex']!, attributes: { origin: Origin.Igp, nextHop: '10.255.0.1' } }, TX);
    const d = decodeMessage(bytes, RX);
    expect(d.action).toBe('treat-as-withdraw');
    const m = d.message as UpdateMessage;
    expect(m.withdrawnPathIds).toEqual([2, 1, 2]);
  });
});

function prefix(family: 4 | 6): fc.Arbitrary<string> {
  const size = family === 4 ? 4 : 16;
  return fc
    .tuple(fc.integer({ min: 0, max: size * 8 }), fc.uint8Array({ minLength: size, maxLength: size }))
    .map(([len, bytes]) => formatPrefix({ family, bytes: maskBytes(bytes, len), len }));
}

const pathId = fc.nat({ max: 0xffffffff });
const paths = (family: 4 | 6) => fc.array(fc.tuple(prefix(family), pathId), { maxLength: 20 });
const nextHop4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => formatIpv4(Uint8Array.of(10, b[1]!, b[2]!, b[3]!)));
const nextHop6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatIpv6(b));

/** Messages as a session with ADD-PATH for the families in `on` decodes them: Path Identifiers in every field of those families. */
function updates(on: { ipv4: boolean; ipv6: boolean }): fc.Arbitrary<UpdateMessage> {
  return fc
    .record({
      withdrawn: paths(4),
      nlri: paths(4),
      nh4: nextHop4,
      reach: fc.option(fc.record({ family: fc.constantFrom(4 as const, 6 as const), nh: nextHop6, list: paths(6), list4: paths(4) }), { nil: undefined }),
      unreach: fc.option(paths(6), { nil: undefined }),
    })
    .map(({ withdrawn, nlri, nh4, reach, unreach }) => {
      const m: UpdateMessage = { type: MessageType.Update, withdrawn: withdrawn.map((p) => p[0]), attributes: {}, nlri: nlri.map((p) => p[0]) };
      if (on.ipv4) {
        m.withdrawnPathIds = withdrawn.map((p) => p[1]);
        m.nlriPathIds = nlri.map((p) => p[1]);
      }
      const reachable = nlri.length > 0 || (reach !== undefined && (reach.family === 6 ? reach.list : reach.list4).length > 0);
      if (reachable) m.attributes = { origin: Origin.Igp, asPath: AS_PATH, ...(nlri.length > 0 ? { nextHop: nh4 } : {}) };
      if (reach !== undefined) {
        const list = reach.family === 6 ? reach.list : reach.list4;
        const r: MpReach = { afi: reach.family === 6 ? 2 : 1, safi: 1, nextHops: [reach.nh], nlri: list.map((p) => p[0]) };
        if (reach.family === 6 ? on.ipv6 : on.ipv4) r.pathIds = list.map((p) => p[1]);
        m.mpReach = r;
      }
      if (unreach !== undefined) {
        const u: MpUnreach = { afi: 2, safi: 1, withdrawn: unreach.map((p) => p[0]) };
        if (on.ipv6) u.pathIds = unreach.map((p) => p[1]);
        m.mpUnreach = u;
      }
      return m;
    });
}

describe('RFC 7911 round trip property', () => {
  for (const on of [BOTH, { ipv4: true, ipv6: false }, { ipv4: false, ipv6: true }]) {
    it(`decode(encode(m)) is m with Path Identifiers for IPv4 ${on.ipv4} / IPv6 ${on.ipv6}, and the size estimate holds`, () => {
      const tx: CodecContext = { fourOctetAs: true, extendedMessages: true, addPath: { receive: NONE, send: on } };
      const rx: CodecContext = { fourOctetAs: true, extendedMessages: true, addPath: { receive: on, send: NONE } };
      fc.assert(
        fc.property(updates(on), (m) => {
          const bytes = encodeMessage(m, tx);
          expect(updateSize(m)).toBeGreaterThanOrEqual(bytes.length);
          const d = decodeMessage(bytes, rx);
          expect(d.problems).toEqual([]);
          expect(plain(d.message)).toEqual(plain(m));
          expect(encodeMessage(d.message, tx).equals(bytes)).toBe(true);
        }),
        { numRuns: 300 },
      );
    });
  }
});
