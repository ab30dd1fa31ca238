/**
 * RFC 9234 §5 route leak prevention with the ONLY_TO_CUSTOMER attribute, on
 * eBGP sessions where we have a BGP Role. Our role decides; the neighbor's is
 * its counterpart (RFC 9234 §4.2 Table 2), which the OPEN check has enforced
 * whenever the neighbor sent one.
 */
import { BgpRole } from '#bgp/wire/types';
import type { PathAttributes } from '#bgp/wire/types';
import type { PeerInfo } from '#bgp/rib/types';

/** A peer as the RIB sees it, with the role we took on its session (absent: none). */
export interface RolePeerInfo extends PeerInfo {
  readonly localRole?: BgpRole;
}

/** Our role towards `peer` when the §5 procedures apply: a role is configured and the session is eBGP. */
export function localRoleOf(peer: PeerInfo, localAsn: number): BgpRole | undefined {
  const role = (peer as RolePeerInfo).localRole;
  return role !== undefined && peer.asn !== localAsn ? role : undefined;
}

/**
 * RFC 9234 §5 ingress procedure: null when the route is a leak (ineligible),
 * else the attributes to keep (with OTC added where the procedure says so).
 */
export function otcIngress(role: BgpRole, attrs: PathAttributes, peerAsn: number): PathAttributes | null {
  if (attrs.otc !== undefined) {
    // §5 1.: OTC on a route from a Customer or an RS-Client: a leak.
    if (role === BgpRole.Provider || role === BgpRole.RouteServer) return null;
    // §5 2.: from a Peer, OTC must name that peer.
    if (role === BgpRole.Peer && attrs.otc !== peerAsn) return null;
    return attrs;
  }
  // §5 3.: from a Provider, a Peer or an RS, the route may go to customers only from here on.
  if (role === BgpRole.Customer || role === BgpRole.Peer || role === BgpRole.RouteServerClient) return { ...attrs, otc: peerAsn };
  return attrs;
}

/** RFC 9234 §5 egress procedure, first part: a route with OTC does not go to a Provider, a Peer or an RS. */
export function otcEgressBlocked(role: BgpRole, attrs: PathAttributes): boolean {
  return attrs.otc !== undefined && (role === BgpRole.Customer || role === BgpRole.Peer || role === BgpRole.RouteServerClient);
}

/** RFC 9234 §5 egress procedure, second part: the OTC value to send a Customer, a Peer or an RS-Client (ours when the route has none). */
export function otcEgress(role: BgpRole, attrs: PathAttributes, localAsn: number): number | undefined {
  if (attrs.otc !== undefined) return attrs.otc;
  return role === BgpRole.Provider || role === BgpRole.Peer || role === BgpRole.RouteServer ? localAsn : undefined;
}
