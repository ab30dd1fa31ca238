/**
 * The RIB's vocabulary (RFC 4271 §3.2): peers as the RIB sees them, paths and
 * Loc-RIB changes. Kept apart from the Rib class so policy can name them
 * without a runtime import cycle.
 */
import type { PathAttributes } from '#bgp/wire/types';

export interface PeerInfo {
  /** Neighbor name. */
  readonly id: string;
  /** Peer ASN; equal to ours means iBGP. */
  readonly asn: number;
  /** Peer BGP identifier, dotted quad (known once Established). */
  readonly routerId: string;
  /** Session remote address. */
  readonly address: string;
  /** Our address on this tunnel: NEXT_HOP for IPv4 (next-hop-self: tunnels are point to point). */
  readonly localAddressV4: string | null;
  /** Our global IPv6 tunnel address: next hop for IPv6, and for IPv4 per RFC 8950 when localAddressV4 is null. */
  readonly localAddressV6: string | null;
  /** Our fe80:: on the tunnel, sent as the second IPv6 next hop (RFC 2545 §3). */
  readonly localLinkLocal: string | null;
  /** Negotiated AFI/SAFI pairs (RFC 4760 §8). */
  readonly families: readonly { readonly afi: number; readonly safi: number }[];
  /** RFC 8950 extended next hop negotiated for IPv4 unicast: IPv4 routes may carry an IPv6 next hop. */
  readonly extendedNextHop: boolean;
  /**
   * RFC 7911 send, as negotiated: up to this many paths per prefix of the
   * family, each with a Path Identifier (0 or absent: the best only, without).
   */
  readonly addPathSend?: { readonly ipv4: number; readonly ipv6: number };
  /** RFC 9494 long-lived graceful restart negotiated: long-lived stale paths may be sent to it. Absent: no. */
  readonly longLived?: boolean;
  /** Which redistributed OSPF routes this peer is sent (absent or null: none). */
  readonly advertiseOspf?: ((prefix: string) => boolean) | null;
}

/** `ospf`: a route of FRR's OSPF offered to BGP (redistributed), never a Loc-RIB candidate. */
export type RouteSource = 'bgp' | 'static' | 'connected' | 'ospf';

/** One path to a prefix. Never mutated once stored: a change is a new Route. */
export interface Route {
  readonly prefix: string;
  /** PeerInfo.id, or null for local origin. */
  readonly peer: string | null;
  readonly source: RouteSource;
  /**
   * INTERNED: identical attribute sets share one frozen object. The next hop is
   * not part of it (it lives in `nextHop`), so paths from different peers with
   * the same attributes share too.
   */
  readonly attrs: PathAttributes;
  /** The BGP next hop from the update (NEXT_HOP, or the MP_REACH global address); null for local origin. */
  readonly nextHop: string | null;
  /** The MP_REACH link-local next hop when two were sent (RFC 2545 §3). */
  readonly nextHopLinkLocal: string | null;
  /** RFC 7911 §3: the Path Identifier the peer sent it with, when it sends them for the family. */
  readonly pathId?: number;
}

export interface LocRibChange {
  readonly prefix: string;
  readonly best: Route | null;
  readonly previous: Route | null;
  /** The second-best path now (a Rib made with `backups`; absent otherwise). */
  readonly backup?: Route | null;
  /**
   * Multipath: the paths that forward now, the best first (two or more);
   * null when the best forwards alone. Absent from a Rib without multipath.
   */
  readonly multipath?: readonly Route[] | null;
  /**
   * The prefix's number in the RIB's prefix table when the change was made:
   * a hint that spares a lookup by text (PrefixTable.findHinted), not a
   * reference (the number may be another prefix's by the time it is read).
   */
  readonly id?: number;
}
