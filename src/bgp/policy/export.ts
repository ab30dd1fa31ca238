/**
 * Export policy (RFC 4271 §9.1.3, §9.2): which Loc-RIB routes go to a peer,
 * and with which attributes. Three pure pieces the Rib uses separately (the
 * attribute rewrite depends only on the attribute set and the peer, so the
 * Rib caches it per interned set), and exportRoute composing them.
 */
import { AFI_IPV4, AFI_IPV6, AsPathSegmentType, Origin, SAFI_UNICAST } from '#bgp/wire/types';
import type { AsPathSegment, PathAttributes, UnknownAttribute } from '#bgp/wire/types';
import { isTransitiveExtendedCommunity, transitiveIpv6ExtendedCommunities } from '#bgp/wire/communities';
import type { PeerInfo, Route } from '#bgp/rib/types';
import { localRoleOf, otcEgress, otcEgressBlocked } from './roles.js';
import { applyActions } from './actions.js';
import type { PolicyOutcome } from './engine.js';

export type ExportRejectReason =
  | 'learned-from-peer'
  | 'peer-as-in-path'
  | 'ibgp-to-ibgp'
  | 'no-advertise'
  | 'no-export'
  | 'connected'
  | 'ospf-not-advertised'
  | 'only-to-customer'
  | 'llgr-stale';

export interface ExportContext {
  readonly localAsn: number;
  /** Peers by id, to tell where a route was learned. */
  readonly peers: ReadonlyMap<string, PeerInfo>;
}

/** How a route's NLRI travel to this peer. */
export interface ExportEncoding {
  readonly afi: number;
  /** IPv4 unicast in the RFC 4271 NLRI/NEXT_HOP fields; otherwise MP_REACH_NLRI (RFC 4760). */
  readonly classic: boolean;
  /** Classic: one IPv4 address. MP: global, then link-local when we have one (RFC 2545 §3). */
  readonly nextHops: readonly string[];
}

export interface ExportedRoute {
  readonly attrs: PathAttributes;
  readonly encoding: ExportEncoding;
}

/** RFC 1997 well-known communities. */
export const NO_EXPORT = 0xffffff01;
export const NO_ADVERTISE = 0xffffff02;
export const NO_EXPORT_SUBCONFED = 0xffffff03;
/** RFC 9494: a long-lived stale path. */
const LLGR_STALE = 0xffff0006;

/** RFC 4271 §5 attribute flags. */
const FLAG_OPTIONAL = 0x80;
const FLAG_TRANSITIVE = 0x40;
const FLAG_PARTIAL = 0x20;

/** RFC 4271 §4.3: at most 255 ASNs per segment. */
const MAX_SEGMENT_ASNS = 255;

export function afiOf(prefix: string): number {
  return prefix.includes(':') ? AFI_IPV6 : AFI_IPV4;
}

export function negotiated(peer: PeerInfo, afi: number, safi = SAFI_UNICAST): boolean {
  return peer.families.some((f) => f.afi === afi && f.safi === safi);
}

/**
 * Next-hop-self on every session: the far end reaches us only through this
 * tunnel, so our tunnel address is the one next hop that works (RFC 4271
 * §5.1.3 allows it towards internal peers when so configured). IPv4 goes in
 * the classic fields with our IPv4 tunnel address; without one, as RFC 8950
 * MP_REACH with our IPv6 next hop(s) if the peer negotiated it.
 */
export function exportEncoding(peer: PeerInfo, afi: number): ExportEncoding | null {
  if (!negotiated(peer, afi)) return null;
  const v6: string[] = [];
  if (peer.localAddressV6 !== null) v6.push(peer.localAddressV6);
  if (peer.localLinkLocal !== null) v6.push(peer.localLinkLocal);
  if (afi === AFI_IPV4) {
    if (peer.localAddressV4 !== null) return { afi, classic: true, nextHops: [peer.localAddressV4] };
    if (peer.extendedNextHop && v6.length > 0) return { afi, classic: false, nextHops: v6 };
    return null;
  }
  if (afi === AFI_IPV6 && v6.length > 0) return { afi, classic: false, nextHops: v6 };
  return null;
}

/**
 * Whether `route` may be sent to `peer`; null when it may. Whether the peer can
 * take the route's family at all is exportEncoding's question (the Rib asks it
 * once per session, not once per route).
 */
export function exportFilter(ctx: ExportContext, route: Route, peer: PeerInfo): ExportRejectReason | null {
  // Split horizon: the peer has this path already, it told us.
  if (route.peer === peer.id) return 'learned-from-peer';
  // Tunnel subnets are the dataplane's own plumbing, known to both ends already;
  // redistributing connected routes is an explicit operator choice, not a default.
  if (route.source === 'connected') return 'connected';
  // Redistribution into BGP is per neighbor (bgp.advertise-ospf).
  if (route.source === 'ospf' && !(peer.advertiseOspf?.(route.prefix) ?? false)) return 'ospf-not-advertised';
  const ebgp = peer.asn !== ctx.localAsn;
  const communities = route.attrs.communities;
  if (communities !== undefined) {
    if (communities.includes(NO_ADVERTISE)) return 'no-advertise';
    if (ebgp && (communities.includes(NO_EXPORT) || communities.includes(NO_EXPORT_SUBCONFED))) return 'no-export';
    // RFC 9494 §4.3: a long-lived stale path goes only to peers that negotiated long-lived
    // graceful restart (with LLGR_STALE on it); to the others it is withdrawn.
    if (peer.longLived !== true && communities.includes(LLGR_STALE)) return 'llgr-stale';
  }
  const role = localRoleOf(peer, ctx.localAsn);
  if (role !== undefined && otcEgressBlocked(role, route.attrs)) return 'only-to-customer';
  if (ebgp) {
    // RFC 4271 §9.1.2: the peer would discard it as a loop, so do not send it.
    // Indexed loops on the per-route paths: an array iterator is an allocation V8 does not always elide.
    const path = route.attrs.asPath;
    if (path !== undefined) for (let i = 0; i < path.length; i++) if (path[i]!.asns.includes(peer.asn)) return 'peer-as-in-path';
  } else if (route.peer !== null) {
    // RFC 4271 §9.2: no internal-to-internal redistribution (no route reflection).
    const from = ctx.peers.get(route.peer);
    if (from !== undefined && from.asn === ctx.localAsn) return 'ibgp-to-ibgp';
  }
  return null;
}

/**
 * The attributes sent to `peer` for a path with `attrs` (RFC 4271 §5.1, §9.2).
 * `ipv4NextHop` goes into NEXT_HOP for the classic IPv4 encoding; MP next hops
 * travel in MP_REACH_NLRI, outside the attribute set.
 *
 * To an external peer: our AS prepended (§5.1.2), no LOCAL_PREF (§5.1.5), no
 * MED (§5.1.4: a MED received from a neighboring AS is not propagated to
 * other ASes, and ours carry none). To an internal peer: AS_PATH as is,
 * LOCAL_PREF always present (§5.1.5), MED kept. Both: COMMUNITIES, large
 * communities (RFC 8092), extended communities (RFC 4360, RFC 5701),
 * ATOMIC_AGGREGATE, AGGREGATOR and unknown optional transitive attributes pass
 * on unchanged, the latter with the Partial bit set; unknown non-transitive
 * ones are dropped (§5). The one exception: extended communities marked
 * non-transitive stay in the AS (RFC 4360 §6), so an external peer gets the others.
 * A locally originated path (ORIGIN IGP, empty AS_PATH) thus becomes
 * AS_PATH [ourAsn] to eBGP and an empty AS_PATH with LOCAL_PREF 100 to iBGP.
 */
export function exportAttributes(
  ctx: ExportContext,
  attrs: PathAttributes,
  peer: PeerInfo,
  ipv4NextHop: string | null,
): PathAttributes {
  const ebgp = peer.asn !== ctx.localAsn;
  const out: PathAttributes = { origin: attrs.origin ?? Origin.Incomplete };
  out.asPath = ebgp ? prependAsn(attrs.asPath ?? [], ctx.localAsn) : (attrs.asPath ?? []).slice();
  if (ipv4NextHop !== null) out.nextHop = ipv4NextHop;
  if (!ebgp) {
    if (attrs.med !== undefined) out.med = attrs.med;
    out.localPref = attrs.localPref ?? 100;
  }
  if (attrs.atomicAggregate !== undefined) out.atomicAggregate = attrs.atomicAggregate;
  if (attrs.aggregator !== undefined) out.aggregator = attrs.aggregator;
  if (attrs.communities !== undefined) out.communities = attrs.communities;
  const ext = attrs.extendedCommunities;
  if (ext !== undefined) {
    const sent = !ebgp || ext.every(isTransitiveExtendedCommunity) ? ext : ext.filter(isTransitiveExtendedCommunity);
    if (sent.length > 0) out.extendedCommunities = sent;
  }
  const ext6 = attrs.ipv6ExtendedCommunities;
  if (ext6 !== undefined) {
    const sent = ebgp ? transitiveIpv6ExtendedCommunities(ext6) : ext6;
    if (sent.length > 0) out.ipv6ExtendedCommunities = sent;
  }
  if (attrs.largeCommunities !== undefined) out.largeCommunities = attrs.largeCommunities;
  // RFC 9234 §5: OTC travels on; towards a Customer, Peer or RS-Client a route without one gets ours.
  const role = localRoleOf(peer, ctx.localAsn);
  const otc = role === undefined ? attrs.otc : otcEgress(role, attrs, ctx.localAsn);
  if (otc !== undefined) out.otc = otc;
  if (attrs.unknown !== undefined) {
    const kept: UnknownAttribute[] = [];
    for (const u of attrs.unknown) {
      if ((u.flags & (FLAG_OPTIONAL | FLAG_TRANSITIVE)) !== (FLAG_OPTIONAL | FLAG_TRANSITIVE)) continue;
      kept.push({ flags: u.flags | FLAG_PARTIAL, code: u.code, value: u.value });
    }
    if (kept.length > 0) out.unknown = kept;
  }
  return out;
}

/**
 * RFC 4271 §5.1.2 b: prepend to a leading AS_SEQUENCE, or start a new one when
 * the path is empty, begins with an AS_SET, or the sequence is full (255).
 * Confederation segments never leave the confederation (RFC 5065 §5.3); we are
 * in none, so any that arrived are dropped.
 */
export function prependAsn(path: readonly AsPathSegment[], asn: number): AsPathSegment[] {
  // Index loops and arrays of their final length: filter and spreads made an iterator and a copy per call (issue 10).
  let kept = 0;
  for (let i = 0; i < path.length; i++) if (isSequenceOrSet(path[i]!)) kept++;
  const segs = kept === path.length ? path : path.filter(isSequenceOrSet);
  const first = segs[0];
  if (first && first.type === AsPathSegmentType.AsSequence && first.asns.length < MAX_SEGMENT_ASNS) {
    const n = first.asns.length;
    const asns = new Array<number>(n + 1);
    asns[0] = asn;
    for (let i = 0; i < n; i++) asns[i + 1] = first.asns[i]!;
    const out = new Array<AsPathSegment>(segs.length);
    out[0] = { type: AsPathSegmentType.AsSequence, asns };
    for (let i = 1; i < segs.length; i++) out[i] = segs[i]!;
    return out;
  }
  const out = new Array<AsPathSegment>(segs.length + 1);
  out[0] = { type: AsPathSegmentType.AsSequence, asns: [asn] };
  for (let i = 0; i < segs.length; i++) out[i + 1] = segs[i]!;
  return out;
}

function isSequenceOrSet(s: AsPathSegment): boolean {
  return s.type === AsPathSegmentType.AsSequence || s.type === AsPathSegmentType.AsSet;
}

/** The whole export decision for one route: what to send `peer`, or null for nothing. */
export function exportRoute(ctx: ExportContext, route: Route, peer: PeerInfo): ExportedRoute | null {
  const encoding = exportEncoding(peer, afiOf(route.prefix));
  if (encoding === null || exportFilter(ctx, route, peer) !== null) return null;
  const attrs = exportAttributes(ctx, route.attrs, peer, encoding.classic ? encoding.nextHops[0]! : null);
  return { attrs, encoding };
}

/**
 * exportAttributes after an accepting export policy outcome: the policy's
 * changes are made to the Loc-RIB attributes first, so a prepend comes
 * before our own AS is added for an external peer (as FRR and BIRD do), and
 * a LOCAL_PREF set reaches internal peers only (RFC 4271 §5.1.5). A MED the
 * policy set is sent to external peers too: §5.1.4 forbids passing on a MED
 * received from another AS, not setting our own.
 */
export function exportAttributesWithPolicy(
  ctx: ExportContext,
  attrs: PathAttributes,
  peer: PeerInfo,
  ipv4NextHop: string | null,
  outcome: PolicyOutcome,
): PathAttributes {
  const changed = applyActions(attrs, outcome.actions, { localAsn: ctx.localAsn });
  const out = exportAttributes(ctx, changed, peer, ipv4NextHop);
  if (outcome.setsMed && changed.med !== undefined) out.med = changed.med;
  return out;
}
