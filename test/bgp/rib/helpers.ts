/** Builders shared by the RIB and policy tests. */
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
