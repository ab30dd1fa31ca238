import { describe, expect, test } from 'vitest';
import { AFI_IPV4, AFI_IPV6, AsPathSegmentType, Origin, SAFI_UNICAST } from '#bgp/wire/types';
import { exportEncoding, exportRoute, prependAsn } from '#bgp/policy/index';
import type { ExportContext } from '#bgp/policy/index';
import type { PeerInfo, Route } from '#bgp/rib/index';
import { LOCAL_ASN, attrs, peer, seq, set } from '../rib/helpers.js';

const a = peer('a', 65002, 2);
const b = peer('b', 65003, 3);
const i1 = peer('i1', LOCAL_ASN, 4);
const i2 = peer('i2', LOCAL_ASN, 5);
const ctx: ExportContext = { localAsn: LOCAL_ASN, peers: new Map<string, PeerInfo>([a, b, i1, i2].map((p) => [p.id, p])) };

function learned(from: string, over: Partial<Route> = {}): Route {
  return {
    prefix: '10.2.0.0/24',
    peer: from,
    source: 'bgp',
    attrs: attrs({ asPath: [seq(65002)] }),
    nextHop: '10.255.2.1',
    nextHopLinkLocal: null,
    ...over,
  };
}

describe('RFC 4271 §5.1.2 AS_PATH prepending', () => {
  test('to a leading AS_SEQUENCE', () => {
    expect(prependAsn([seq(2, 3)], 1)).toEqual([seq(1, 2, 3)]);
  });
  test('an empty path becomes a one-AS sequence', () => {
    expect(prependAsn([], 1)).toEqual([seq(1)]);
  });
  test('a leading AS_SET gets a new sequence in front', () => {
    expect(prependAsn([set(2, 3)], 1)).toEqual([seq(1), set(2, 3)]);
  });
  test('a full (255) sequence gets a new sequence in front', () => {
    const full = seq(...Array.from({ length: 255 }, (_, k) => 1000 + k));
    expect(prependAsn([full], 1)).toEqual([seq(1), full]);
  });
  test('RFC 5065: confederation segments do not leave the confederation', () => {
    const confed = { type: AsPathSegmentType.ConfedSequence, asns: [64600] };
    expect(prependAsn([confed, seq(2)], 1)).toEqual([seq(1, 2)]);
  });
  test('later segments follow unchanged, the path given is left as it was', () => {
    const path = Object.freeze([Object.freeze(seq(2, 3)), Object.freeze(set(4, 5)), Object.freeze(seq(6))]);
    const out = prependAsn(path, 1);
    expect(out).toEqual([seq(1, 2, 3), set(4, 5), seq(6)]);
    expect(out[1]).toBe(path[1]);
    expect(path[0]).toEqual(seq(2, 3));
    const confed = { type: AsPathSegmentType.ConfedSet, asns: [64600] };
    expect(prependAsn([set(2), confed, seq(3)], 1)).toEqual([seq(1), set(2), seq(3)]);
  });
});

describe('exportRoute', () => {
  test('to eBGP: prepend, next hop self, LOCAL_PREF and MED dropped, the rest kept', () => {
    const r = learned('a', { attrs: attrs({ asPath: [seq(65002)], med: 3, localPref: 300, atomicAggregate: true, aggregator: { asn: 65002, address: '10.0.0.2' } }) });
    expect(exportRoute(ctx, r, b)).toEqual({
      attrs: {
        origin: Origin.Igp,
        asPath: [seq(LOCAL_ASN, 65002)],
        nextHop: '10.255.3.0',
        atomicAggregate: true,
        aggregator: { asn: 65002, address: '10.0.0.2' },
      },
      encoding: { afi: AFI_IPV4, classic: true, nextHops: ['10.255.3.0'] },
    });
  });

  test('never back to the peer it came from; not to a peer whose AS is in the path', () => {
    expect(exportRoute(ctx, learned('a'), a)).toBeNull();
    expect(exportRoute(ctx, learned('i1', { attrs: attrs({ asPath: [seq(65009, 65003)] }) }), b)).toBeNull();
  });

  test('RFC 4271 §9.2: iBGP-learned is not sent to iBGP; eBGP-learned and local are', () => {
    expect(exportRoute(ctx, learned('i1'), i2)).toBeNull();
    expect(exportRoute(ctx, learned('a'), i2)?.attrs).toMatchObject({ asPath: [seq(65002)], localPref: 100 });
    const local: Route = { ...learned('a'), peer: null, source: 'static', attrs: attrs(), nextHop: null };
    expect(exportRoute(ctx, local, i2)?.attrs).toEqual({ origin: Origin.Igp, asPath: [], nextHop: '10.255.5.0', localPref: 100 });
    expect(exportRoute(ctx, local, b)?.attrs).toEqual({ origin: Origin.Igp, asPath: [seq(LOCAL_ASN)], nextHop: '10.255.3.0' });
  });
});

describe('RFC 4360, RFC 5701, RFC 8092: community attributes on export', () => {
  const ext = [
    [0x0002fdea, 100],
    [0x4004fdea, 0x4cee6b28],
  ] as const;
  /** Two RFC 5701 communities: one transitive (type high 0x00), one not (0x40). */
  const ext6 = Uint8Array.from([0x00, 2, ...new Array<number>(18).fill(1), 0x40, 2, ...new Array<number>(18).fill(2)]);
  const large = [[4200000001, 1, 2] as const];
  const r = (): Route => learned('a', { attrs: attrs({ asPath: [seq(65002)], extendedCommunities: [...ext], ipv6ExtendedCommunities: ext6, largeCommunities: large }) });

  test('to iBGP every one passes unchanged', () => {
    expect(exportRoute(ctx, r(), i1)?.attrs).toMatchObject({ extendedCommunities: ext, ipv6ExtendedCommunities: ext6, largeCommunities: large });
  });

  test('RFC 4360 §6: to eBGP the non-transitive extended communities are removed, large communities pass unchanged', () => {
    const sent = exportRoute(ctx, r(), b)!.attrs;
    expect(sent.extendedCommunities).toEqual([ext[0]]);
    expect(Array.from(sent.ipv6ExtendedCommunities!)).toEqual(Array.from(ext6.subarray(0, 20)));
    expect(sent.largeCommunities).toBe(r().attrs.largeCommunities);
  });
});

describe('exportEncoding: which fields and next hops a peer gets', () => {
  test('IPv4 classic with an IPv4 tunnel address; IPv6 in MP_REACH with global + link-local', () => {
    expect(exportEncoding(b, AFI_IPV4)).toEqual({ afi: AFI_IPV4, classic: true, nextHops: ['10.255.3.0'] });
    expect(exportEncoding(b, AFI_IPV6)).toEqual({ afi: AFI_IPV6, classic: false, nextHops: ['fd00:255:3::', 'fe80::a:3'] });
  });
  test('unnumbered: link-local only; IPv4 only with RFC 8950 extended next hop', () => {
    const un = peer('u', 65003, 3, { localAddressV4: null, localAddressV6: null });
    expect(exportEncoding(un, AFI_IPV6)).toEqual({ afi: AFI_IPV6, classic: false, nextHops: ['fe80::a:3'] });
    expect(exportEncoding(un, AFI_IPV4)).toBeNull();
    expect(exportEncoding({ ...un, extendedNextHop: true }, AFI_IPV4)).toEqual({ afi: AFI_IPV4, classic: false, nextHops: ['fe80::a:3'] });
  });
  test('a family not negotiated gets nothing', () => {
    const v4 = peer('v4', 65003, 3, { families: [{ afi: AFI_IPV4, safi: SAFI_UNICAST }] });
    expect(exportEncoding(v4, AFI_IPV6)).toBeNull();
  });
});

describe('connected routes', () => {
  test('a tunnel subnet (source connected) is not redistributed; an announced prefix (static) is', () => {
    const local = (source: 'connected' | 'static'): Route => ({
      prefix: '10.255.0.0/31',
      peer: null,
      source,
      attrs: attrs({}),
      nextHop: null,
      nextHopLinkLocal: null,
    });
    expect(exportRoute(ctx, local('connected'), a)).toBeNull();
    expect(exportRoute(ctx, local('static'), a)).not.toBeNull();
  });
});
