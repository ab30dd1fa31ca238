import type { Socket, TcpNetConnectOpts } from 'node:net';
import type { Clock } from '#lib/clock';
import type { Logger } from '#lib/log';
import type { FsmState } from '#bgp/fsm/index';
import type { AddPathDirections, BgpRole, LongLivedFamily, RouteRefreshSubtype, UpdateMessage } from '#bgp/wire/types';

export interface AfiSafi {
  afi: number;
  safi: number;
}

export interface SessionConfig {
  /** Neighbor name (logs, status). */
  name: string;
  localAsn: number;
  /** Our BGP Identifier, dotted quad. */
  routerId: string;
  peerAsn: number;
  /** IPv4 or IPv6; a link-local address is scoped by `interface` (fe80::1%ifname). */
  peerAddress: string;
  interface?: string;
  /** Source address of the connections we initiate. */
  localAddress?: string;
  /**
   * Connections we initiate are bound to `interface` (SO_BINDTODEVICE) and
   * leave only through it: the session runs through the neighbor's tunnel.
   */
  bindToInterface?: boolean;
  /** GTSM (RFC 5082): send with TTL 255 and accept only segments with at least this TTL. */
  minTtl?: number;
  /** TCP MD5 (RFC 2385) key shared with the peer. */
  md5Key?: string;
  /**
   * RFC 4724 graceful restart capability in our OPEN: the restart time we ask
   * the peer to keep our routes for, and, asked for each OPEN, whether we are
   * restarting (R bit) and kept our forwarding state (F bit per family).
   */
  gracefulRestart?: { restartTime: number; state: () => { restarting: boolean; forwardingState: boolean } };
  /**
   * RFC 9494 long-lived graceful restart capability in our OPEN (only with
   * gracefulRestart, §4.1): the long-lived stale time (seconds, 24 bits) we
   * ask for every family we speak, F as gracefulRestart's state says.
   */
  longLived?: { staleTime: number };
  /** Remote TCP port, default 179. */
  port?: number;
  /** Seconds, offered in OPEN: 0 or >= 3 (RFC 4271 §4.2). */
  holdTime: number;
  /** Never initiate; accept only. */
  passive: boolean;
  /** Seconds, default 5 (RFC 4271's 120 is far too slow for a tunnel that just came up). */
  connectRetryTime?: number;
  /** Advertised with capability 1 (RFC 4760); route refresh (2) and 4-octet AS (65) are always sent. */
  families: AfiSafi[];
  /** Advertise RFC 8950 extended next hop (capability 5) for IPv4 unicast over IPv6 next hops. */
  extendedNextHop?: boolean;
  /** RFC 9234 BGP Role we send (capability 9) and check the peer's against; absent: none. */
  role?: BgpRole;
  /** RFC 9234 §4.2 strict mode: a peer without the BGP Role capability is refused with Role Mismatch. */
  roleStrict?: boolean;
  /** RFC 7911 ADD-PATH we advertise for every family in `families`: receive several paths, send several; absent: none. */
  addPath?: { receive: boolean; send: boolean };
}

/** What the OPEN exchange settled (RFC 4271 §4.2, RFC 5492). */
export interface Negotiated {
  /** The peer's real ASN (from capability 65 when it sent one). */
  peerAsn: number;
  peerRouterId: string;
  /** min(ours, theirs); 0: no keepalives, no hold timer. */
  holdTime: number;
  keepaliveTime: number;
  fourOctetAs: boolean;
  /** Families both sides advertised. */
  families: AfiSafi[];
  routeRefresh: boolean;
  extendedNextHop: boolean;
  /**
   * RFC 8654: both sides advertised extended messages (we always do), so
   * messages but OPEN and KEEPALIVE may be up to 65535 octets. Absent: no.
   */
  extendedMessages?: boolean;
  /** RFC 7313: both sides advertised enhanced route refresh (we always do). Absent: no. */
  enhancedRouteRefresh?: boolean;
  localAddress: string;
  remoteAddress: string;
  /**
   * The peer's RFC 4724 graceful restart capability, when we sent ours too:
   * its restart time, whether it is restarting (R), and the families whose
   * forwarding state it kept (F). Null: no graceful restart with this peer.
   */
  gracefulRestart: { restartTime: number; restartState: boolean; families: { afi: number; safi: number; forwardingState: boolean }[] } | null;
  /**
   * RFC 9494 long-lived graceful restart, when both sides sent it with the
   * graceful restart capability: the peer's families (negotiated ones only)
   * with their long-lived stale time and F. Absent: none with this peer.
   */
  longLived?: LongLivedFamily[];
  /**
   * RFC 9234 roles when we have one on this session: ours, and the peer's
   * (null: it sent none, accepted outside strict mode). Absent: no role configured.
   */
  roles?: { local: BgpRole; peer: BgpRole | null };
  /** RFC 7911 §5: per family and direction, whether NLRI carry Path Identifiers. Absent: none at all. */
  addPath?: AddPathDirections;
}

/** How an Established period ended. */
export interface SessionDown {
  /**
   * A NOTIFICATION was sent or received: the peer meant it (RFC 4724 §4.2:
   * graceful restart applies only when the TCP session simply ended).
   */
  notification: boolean;
  /**
   * That NOTIFICATION was ours, Hold Timer Expired: the peer stopped talking
   * (a dead tunnel), which long-lived graceful restart keeps routes through
   * (RFC 9494 §4.2, as RFC 8538 §4 treats it as a graceful case). Absent: no.
   */
  holdTimerExpired?: boolean;
}

/** The session's plugin interface to the application (after jwhited/corebgp). */
export interface SessionHandler {
  onStateChange?(from: FsmState, to: FsmState): void;
  onEstablished(n: Negotiated): void;
  /** Already RFC 7606-processed: treat-as-withdraw arrives as withdrawals. */
  onUpdate(update: UpdateMessage): void;
  /**
   * A ROUTE-REFRESH for a negotiated family (RFC 2918 §4: others are ignored
   * by the session): subtype 0 asks for the family again; 1 (BoRR) and 2
   * (EoRR) frame the peer's re-advertisement (RFC 7313 §4) and arrive only
   * when enhanced route refresh was negotiated.
   */
  onRouteRefresh?(afi: number, safi: number, subtype: RouteRefreshSubtype): void;
  /** Left Established (once per Established period): withdraw the peer's routes, or keep them stale (RFC 4724). */
  onDown(reason: string, how: SessionDown): void;
}

export type ConnectFn = (opts: TcpNetConnectOpts) => Socket;

export interface SessionDeps {
  clock: Clock;
  log: Logger;
  /** Opens the active connection; net.connect unless a test injects another. */
  connect?: ConnectFn;
}

/**
 * The last NOTIFICATION the session sent or received (RFC 4271 §4.5), kept for
 * status: a peer's shutdown communication (RFC 9003) stays visible after the
 * TCP errors of its retries have replaced lastError. Collision resolution
 * Ceases (RFC 4271 §6.8) are routine and not kept.
 */
export interface NotificationRecord {
  direction: 'sent' | 'received';
  code: number;
  subcode: number;
  data: Uint8Array;
  /** clock.now() when it was sent or received. */
  at: number;
}

export interface SessionCounters {
  updatesIn: number;
  updatesOut: number;
  messagesIn: number;
  messagesOut: number;
  /** Times the session came up (entered Established). */
  establishedTransitions: number;
  /** Times an Established session went down. */
  flaps: number;
  /** clock.now() when lastError was set, or null. */
  lastErrorAt: number | null;
}
