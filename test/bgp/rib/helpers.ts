/** Builders shared by the RIB and policy tests. */
import fc from 'fast-check';
import { AFI_IPV4, AFI_IPV6, AsPathSegmentType, MessageType, Origin, SAFI_UNICAST } from '#bgp/wire/types';
import type { AsPathSegment, PathAttributes, UpdateMessage } from '#bgp/wire/types';
import type { PeerInfo } from '#bgp/rib/index';

export const LOCAL_ASN = 65001;
export const LOCAL_ROUTER_ID = '192.0.2.1';
export const BOTH = [
  { afi: AFI_IPV4, safi: SAFI_UNICAST },
  { afi: AFI_IPV6, safi: SAFI_UNICAST },
];

/**
 * Peer number n: router id 10.0.0.n, session on 10.255.n.1, our side of the
 * tunnel 10.255.n.0 / fd00:255:n:: / fe80::a:n (the peer's link-local would be fe80::n).
 */
export function peer(id: string, asn: number, n: number, over: Partial<PeerInfo> = {}): PeerInfo {
  return {
    id,
    asn,
    routerId: `10.0.0.${n}`,
    address: `10.255.${n}.1`,
    localAddressV4: `10.255.${n}.0`,
    localAddressV6: `fd00:255:${n}::`,
    localLinkLocal: `fe80::a:${n}`,
    families: BOTH,
    extendedNextHop: false,
    ...over,
  };
}

export function seq(...asns: number[]): AsPathSegment {
  return { type: AsPathSegmentType.AsSequence, asns };
}

export function set(...asns: number[]): AsPathSegment {
  return { type: AsPathSegmentType.AsSet, asns };
}

export function attrs(over: Partial<PathAttributes> = {}): PathAttributes {
  return { origin: Origin.Igp, asPath: [], ...over };
}

/** IPv4 announcement in the classic fields. */
export function announce(nlri: string[], a: PathAttributes, nextHop: string): UpdateMessage {
  return { type: MessageType.Update, withdrawn: [], attributes: { ...a, nextHop }, nlri };
}

export function withdraw(prefixes: string[]): UpdateMessage {
  return { type: MessageType.Update, withdrawn: prefixes, attributes: {}, nlri: [] };
}

/** MP_REACH_NLRI announcement (RFC 4760 §3). */
export function announceMp(nlri: string[], a: PathAttributes, nextHops: string[], afi = AFI_IPV6): UpdateMessage {
  return {
    type: MessageType.Update,
    withdrawn: [],
    attributes: a,
    nlri: [],
    mpReach: { afi, safi: SAFI_UNICAST, nextHops, nlri },
  };
}

export function withdrawMp(prefixes: string[], afi = AFI_IPV6): UpdateMessage {
  return {
    type: MessageType.Update,
    withdrawn: [],
    attributes: {},
    nlri: [],
    mpUnreach: { afi, safi: SAFI_UNICAST, withdrawn: prefixes },
  };
}

/** All NLRI announced by a list of UPDATEs, classic and MP. */
export function announced(us: readonly UpdateMessage[]): string[] {
  return us.flatMap((u) => [...u.nlri, ...(u.mpReach?.nlri ?? [])]);
}

export function withdrawnOf(us: readonly UpdateMessage[]): string[] {
  return us.flatMap((u) => [...u.withdrawn, ...(u.mpUnreach?.withdrawn ?? [])]);
}

/**
 * One UPDATE of a random sequence from peer p2 or p3 (as `peer()` numbers
 * them): IPv4 prefixes withdrawn and announced in the classic fields, IPv6
 * ones in MP_UNREACH / MP_REACH (RFC 4760), AS_PATH 650nn then `asn`;
 * `ids` are the Path Identifiers handed out in order when ADD-PATH applies.
 */
export interface UpdateStep {
  peer: number;
  withdrawn: string[];
  nlri: string[];
  reach: string[];
  unreach: string[];
  ids: number[];
  asn: number;
}

/** Steps drawing their prefixes from `v4` and `v6`. */
export function updateStep(v4: string[], v6: string[]): fc.Arbitrary<UpdateStep> {
  return fc.record({
    peer: fc.integer({ min: 0, max: 1 }),
    withdrawn: fc.subarray(v4),
    nlri: fc.subarray(v4),
    reach: fc.subarray(v6),
    unreach: fc.subarray(v6),
    ids: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 20, maxLength: 20 }),
    asn: fc.integer({ min: 64600, max: 64602 }),
  });
}

/** The step as an UPDATE given as text; with ADD-PATH (RFC 7911 §3) each prefix gets a Path Identifier from `ids`. */
export function stepMessage(s: UpdateStep, addPath: boolean): UpdateMessage {
  let k = 0;
  const ids = (list: string[]): number[] => list.map(() => s.ids[k++ % s.ids.length]!);
  const n = s.peer + 2;
  const announces = s.nlri.length > 0 || s.reach.length > 0;
  const m: UpdateMessage = {
    type: MessageType.Update,
    withdrawn: s.withdrawn,
    attributes: announces ? { ...attrs({ asPath: [seq(65000 + n, s.asn)] }), ...(s.nlri.length > 0 ? { nextHop: `10.255.${n}.1` } : {}) } : {},
    nlri: s.nlri,
  };
  if (addPath) {
    m.withdrawnPathIds = ids(s.withdrawn);
    m.nlriPathIds = ids(s.nlri);
  }
  if (s.reach.length > 0) m.mpReach = { afi: AFI_IPV6, safi: SAFI_UNICAST, nextHops: [`fd00:255:${n}::1`], nlri: s.reach, ...(addPath ? { pathIds: ids(s.reach) } : {}) };
  if (s.unreach.length > 0) m.mpUnreach = { afi: AFI_IPV6, safi: SAFI_UNICAST, withdrawn: s.unreach, ...(addPath ? { pathIds: ids(s.unreach) } : {}) };
  return m;
}
