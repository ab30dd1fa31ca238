/**
 * Round-trip properties: any well-formed message encodes, decodes back to
 * itself with no RFC 7606 problem, and re-encodes to the same bytes, on 2- and
 * 4-octet AS sessions.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatIpv4, formatIpv6, formatPrefix, maskBytes } from '#lib/prefix';
import { AsPathSegmentType, MessageType, decodeMessage, encodeMessage } from '#bgp/wire/index';
import { ReceivedUpdate, toPlain } from '#bgp/wire/received';
import type {
  AsPathSegment,
  Capability,
  CodecContext,
  MpReach,
  MpUnreach,
  OpenMessage,
  PathAttributes,
  RouteRefreshMessage,
  UnknownAttribute,
  UpdateMessage,
} from '#bgp/wire/index';

function prefix(family: 4 | 6): fc.Arbitrary<string> {
  const size = family === 4 ? 4 : 16;
  return fc
    .tuple(fc.integer({ min: 0, max: size * 8 }), fc.uint8Array({ minLength: size, maxLength: size }))
    .map(([len, bytes]) => formatPrefix({ family, bytes: maskBytes(bytes, len), len }));
}

/** Unicast IPv4 addresses a NEXT_HOP may carry (RFC 4271 §6.3 rejects the rest). */
const unicast4 = fc
  .tuple(fc.integer({ min: 1, max: 223 }).filter((a) => a !== 127), fc.uint8Array({ minLength: 3, maxLength: 3 }))
  .map(([a, rest]) => formatIpv4(Uint8Array.of(a, ...rest)));
const any4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => formatIpv4(b));
const any6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatIpv6(b));

const u32 = fc.nat({ max: 0xffffffff });

/** Small and 4-octet ASNs alike (AS 0 is malformed, RFC 7607). */
const asn = fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 1, max: 0xffffffff }));

const segment = (types: AsPathSegmentType[], asns: fc.Arbitrary<number>): fc.Arbitrary<AsPathSegment> =>
  fc.record({ type: fc.constantFrom(...types), asns: fc.array(asns, { minLength: 1, maxLength: 12 }) });

/**
 * Confederation segments only lead the path, where RFC 5065 puts them, and
 * hold 2-octet member ASNs: AS4_PATH cannot carry them to an OLD speaker.
 */
const asPath: fc.Arbitrary<AsPathSegment[]> = fc
  .tuple(
    fc.array(segment([AsPathSegmentType.ConfedSequence, AsPathSegmentType.ConfedSet], fc.integer({ min: 1, max: 65535 })), { maxLength: 2 }),
    fc.array(segment([AsPathSegmentType.AsSequence, AsPathSegmentType.AsSet], asn), { maxLength: 4 }),
  )
  .map(([confed, rest]) => [...confed, ...rest]);

/** Type codes this speaker does not recognise, sent optional transitive and already Partial. */
const unknownAttrs: fc.Arbitrary<UnknownAttribute[]> = fc
  .uniqueArray(fc.constantFrom(9, 10, 20, 36, 99, 128, 200, 255), { maxLength: 3 })
  .chain((codes) =>
    fc.tuple(...codes.sort((a, b) => a - b).map((code) => fc.uint8Array({ maxLength: 300 }).map((value): UnknownAttribute => ({ flags: 0xe0, code, value })))),
  );

const attributes: fc.Arbitrary<PathAttributes> = fc.record(
  {
    origin: fc.constantFrom(0, 1, 2),
    asPath,
    nextHop: unicast4,
    med: fc.nat({ max: 0xffffffff }),
    localPref: fc.nat({ max: 0xffffffff }),
    atomicAggregate: fc.constant(true),
    aggregator: fc.record({ asn, address: any4 }),
    communities: fc.array(fc.nat({ max: 0xffffffff }), { minLength: 1, maxLength: 80 }),
    extendedCommunities: fc.array(fc.tuple(u32, u32), { minLength: 1, maxLength: 40 }),
    ipv6ExtendedCommunities: fc.integer({ min: 1, max: 14 }).chain((n) => fc.uint8Array({ minLength: n * 20, maxLength: n * 20 })),
    // RFC 8092 §3: a receiver drops duplicates, so only distinct values round-trip.
    largeCommunities: fc.uniqueArray(fc.tuple(u32, u32, u32), { minLength: 1, maxLength: 25, selector: (c) => c.join(':') }),
    otc: u32,
    unknown: unknownAttrs.filter((u) => u.length > 0),
  },
  { requiredKeys: [] },
);

const mpReach: fc.Arbitrary<MpReach> = fc.oneof(
  fc.record({ afi: fc.constant(2), safi: fc.constant(1), nextHops: fc.array(any6, { minLength: 1, maxLength: 2 }), nlri: fc.array(prefix(6), { maxLength: 20 }) }),
  // RFC 8950: IPv4 NLRI with one or two IPv6 next hops; or plain MP IPv4.
  fc.record({ afi: fc.constant(1), safi: fc.constant(1), nextHops: fc.array(any6, { minLength: 1, maxLength: 2 }), nlri: fc.array(prefix(4), { maxLength: 20 }) }),
  fc.record({ afi: fc.constant(1), safi: fc.constant(1), nextHops: fc.tuple(any4).map((h) => [...h]), nlri: fc.array(prefix(4), { maxLength: 20 }) }),
);

const mpUnreach: fc.Arbitrary<MpUnreach> = fc.oneof(
  fc.record({ afi: fc.constant(2), safi: fc.constant(1), withdrawn: fc.array(prefix(6), { maxLength: 20 }) }),
  fc.record({ afi: fc.constant(1), safi: fc.constant(1), withdrawn: fc.array(prefix(4), { maxLength: 20 }) }),
);

const updates: fc.Arbitrary<UpdateMessage> = fc
  .record(
    {
      withdrawn: fc.array(prefix(4), { maxLength: 20 }),
      attributes,
      nlri: fc.array(prefix(4), { maxLength: 20 }),
      mpReach,
      mpUnreach,
    },
    { requiredKeys: ['withdrawn', 'attributes', 'nlri'] },
  )
  .map((u) => {
    const m: UpdateMessage = { type: MessageType.Update, ...u };
    // Routes need the well-known mandatory attributes (RFC 4271 §5, RFC 7606 §3).
    if (m.nlri.length > 0 || (m.mpReach && m.mpReach.nlri.length > 0)) {
      m.attributes.origin ??= 0;
      m.attributes.asPath ??= [];
      if (m.nlri.length > 0) m.attributes.nextHop ??= '192.0.2.1';
    }
    return m;
  });

const contexts: fc.Arbitrary<CodecContext> = fc.constantFrom({ fourOctetAs: true }, { fourOctetAs: false });

const capability: fc.Arbitrary<Capability> = fc.oneof(
  fc.record({ code: fc.constant(1 as const), afi: fc.nat({ max: 0xffff }), safi: fc.nat({ max: 255 }) }),
  fc.constant({ code: 2 as const }),
  fc.record({
    code: fc.constant(5 as const),
    entries: fc.array(fc.record({ afi: fc.nat({ max: 0xffff }), safi: fc.nat({ max: 0xffff }), nextHopAfi: fc.nat({ max: 0xffff }) }), { minLength: 1, maxLength: 4 }),
  }),
  fc.record({ code: fc.constant(65 as const), asn: fc.nat({ max: 0xffffffff }) }),
  fc.record({
    code: fc.constant(64 as const),
    restartState: fc.boolean(),
    notification: fc.boolean(),
    restartTime: fc.nat({ max: 4095 }),
    families: fc.array(fc.record({ afi: fc.nat({ max: 0xffff }), safi: fc.nat({ max: 255 }), forwardingState: fc.boolean() }), { maxLength: 4 }),
  }),
  fc.constant({ code: 6 as const }),
  fc.record({ code: fc.constant(9 as const), role: fc.nat({ max: 255 }) }),
  fc.constant({ code: 70 as const }),
  fc.record({
    code: fc.constant(69 as const),
    families: fc.array(
      fc
        .record({ afi: fc.nat({ max: 0xffff }), safi: fc.nat({ max: 255 }), receive: fc.boolean(), send: fc.boolean() })
        .filter((f) => f.receive || f.send), // RFC 7911 §4: Send/Receive is 1, 2 or 3
      { minLength: 1, maxLength: 6 },
    ),
  }),
  fc.record({
    code: fc.constant(71 as const),
    families: fc.array(
      fc.record({ afi: fc.nat({ max: 0xffff }), safi: fc.nat({ max: 255 }), forwardingState: fc.boolean(), staleTime: fc.nat({ max: 0xffffff }) }),
      { maxLength: 4 },
    ),
  }),
  fc.record({ code: fc.constantFrom(73, 128), raw: fc.uint8Array({ maxLength: 20 }) }),
);

const opens: fc.Arbitrary<OpenMessage> = fc.record({
  type: fc.constant(MessageType.Open as const),
  version: fc.constant(4),
  myAs: fc.nat({ max: 0xffff }),
  holdTime: fc.oneof(fc.constant(0), fc.integer({ min: 3, max: 0xffff })),
  bgpId: any4.filter((s) => s !== '0.0.0.0'),
  capabilities: fc.array(capability, { maxLength: 60 }),
});

const routeRefreshes: fc.Arbitrary<RouteRefreshMessage> = fc.record({
  type: fc.constant(MessageType.RouteRefresh as const),
  afi: fc.nat({ max: 0xffff }),
  subtype: fc.nat({ max: 255 }),
  safi: fc.nat({ max: 255 }),
});

function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return Array.from(v);
  if (Array.isArray(v)) return v.map(plain);
  // A decoded UPDATE's prefix lists are getters (wire/received.ts): compared as the plain message.
  if (v instanceof ReceivedUpdate) return plain(toPlain(v));
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

describe('round trip properties', () => {
  it('UPDATE: decode(encode(m)) is m, with no problems, on 2- and 4-octet sessions', () => {
    fc.assert(
      fc.property(updates, contexts, (m, ctx) => {
        const bytes = encodeMessage(m, ctx);
        const d = decodeMessage(bytes, ctx);
        expect(d.problems).toEqual([]);
        expect(d.action).toBe('none');
        expect(plain(d.message)).toEqual(plain(m));
        expect(encodeMessage(d.message, ctx).equals(bytes)).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('OPEN: decode(encode(m)) is m, standard or RFC 9072 extended parameters', () => {
    fc.assert(
      fc.property(opens, (m) => {
        const bytes = encodeMessage(m, { fourOctetAs: true });
        expect(plain(decodeMessage(bytes, { fourOctetAs: true }).message)).toEqual(plain(m));
      }),
      { numRuns: 300 },
    );
  });

  it('ROUTE-REFRESH: decode(encode(m)) is m for every Message Subtype (RFC 7313 §3.2); undefined ones come with a problem', () => {
    fc.assert(
      fc.property(routeRefreshes, (m) => {
        const d = decodeMessage(encodeMessage(m, { fourOctetAs: true }), { fourOctetAs: true });
        expect(d.message).toEqual(m);
        expect(d.problems).toHaveLength(m.subtype > 2 ? 1 : 0);
      }),
      { numRuns: 300 },
    );
  });
});
