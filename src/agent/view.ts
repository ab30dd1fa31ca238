/**
 * The operator's view of a neighbor (`wgbgp neighbors [NAME] --json`, the
 * metrics): pure functions of the session, its counters and the RIB's counts.
 */
import type { Clock } from '#lib/clock';
import type { NeighborBgpConfig, NeighborConfig } from '#config/types';
import type { NegotiatedJson, NeighborJson, StatusJson } from '#api/types';
import { roleName } from '#bgp/session/index';
import type { Negotiated } from '#bgp/session/index';
import type { AgentSession } from './bgp.js';
import type { NeighborAddressing } from './neighbor.js';
import type { DataplaneHealth } from './agent.js';

/** RFC 4760 family names as BIRD and GoBGP print them. */
export function familyName(afi: number, safi: number): string {
  const a = afi === 1 ? 'ipv4' : afi === 2 ? 'ipv6' : `afi${afi}`;
  const s = safi === 1 ? 'unicast' : `safi${safi}`;
  return `${a}-${s}`;
}

export function negotiatedJson(n: Negotiated): NegotiatedJson {
  return {
    peerRouterId: n.peerRouterId,
    localAddress: n.localAddress,
    remoteAddress: n.remoteAddress,
    families: n.families.map((f) => familyName(f.afi, f.safi)),
    fourOctetAs: n.fourOctetAs,
    routeRefresh: n.routeRefresh,
    enhancedRouteRefresh: n.enhancedRouteRefresh === true,
    extendedNextHop: n.extendedNextHop,
    gracefulRestart:
      n.gracefulRestart === null
        ? null
        : {
            restartTime: n.gracefulRestart.restartTime,
            restarting: n.gracefulRestart.restartState,
            families: n.gracefulRestart.families.map((f) => ({ family: familyName(f.afi, f.safi), forwardingState: f.forwardingState })),
          },
    longLivedGracefulRestart:
      n.longLived === undefined
        ? null
        : { families: n.longLived.map((f) => ({ family: familyName(f.afi, f.safi), staleTime: f.staleTime, forwardingState: f.forwardingState })) },
    ...(n.roles ? { roles: { local: roleName(n.roles.local), peer: n.roles.peer === null ? null : roleName(n.roles.peer) } } : {}),
    ...(n.addPath ? { addPath: { receive: addPathFamilies(n.addPath.receive), send: addPathFamilies(n.addPath.send) } } : {}),
  };
}

function addPathFamilies(d: { ipv4: boolean; ipv6: boolean }): string[] {
  return [d.ipv4 ? familyName(1, 1) : null, d.ipv6 ? familyName(2, 1) : null].filter((f): f is string => f !== null);
}

/** clock.now() of the past as wall-clock ISO 8601. */
export function wallTime(clock: Clock, at: number): string {
  return new Date(clock.wallNow().getTime() - (clock.now() - at)).toISOString();
}

export interface NeighborCounts {
  received: number;
  accepted: number;
  advertised: number;
}

export function neighborJson(
  cfg: NeighborConfig,
  bgp: NeighborBgpConfig,
  addr: NeighborAddressing,
  session: AgentSession,
  counts: NeighborCounts,
  clock: Clock,
  bindingError: string | null,
  /** When the state last changed, as recorded then; null: derived from the session's monotonic time. */
  stateSinceWall: Date | null = null,
): NeighborJson {
  const c = session.counters;
  const neg = session.negotiated;
  const established = session.state === 'Established';
  const lastError = session.lastError ?? bindingError;
  return {
    name: cfg.name,
    interface: cfg.interface,
    peerAddress: addr.sessionPeer || null,
    asn: bgp.asn,
    state: session.state,
    stateSince: stateSinceWall?.toISOString() ?? wallTime(clock, session.stateSince),
    prefixesReceived: counts.received,
    prefixesAccepted: counts.accepted,
    prefixesAdvertised: counts.advertised,
    lastError,
    lastErrorAt: session.lastError !== null && c.lastErrorAt !== null ? wallTime(clock, c.lastErrorAt) : null,
    uptimeSeconds: established ? Math.max(0, Math.floor((clock.now() - session.stateSince) / 1000)) : null,
    established: c.establishedTransitions,
    flaps: c.flaps,
    updatesReceived: c.updatesIn,
    updatesSent: c.updatesOut,
    messagesReceived: c.messagesIn,
    messagesSent: c.messagesOut,
    timers: {
      holdTime: bgp.holdTime,
      keepalive: Math.floor(bgp.holdTime / 3),
      negotiatedHoldTime: neg?.holdTime ?? null,
      negotiatedKeepalive: neg?.keepaliveTime ?? null,
    },
    session: neg === null ? null : negotiatedJson(neg),
  };
}

/**
 * `status`'s dataplane: down when the dataplane says so (the VPP API gone),
 * degraded by its own word, a tunnel that could not be set up (`detail`) or
 * a FIB write error; the first reason found is the detail.
 */
export function dataplaneJson(
  wireguard: string,
  fib: string,
  health: DataplaneHealth | undefined,
  detail: string | null,
  fibErrors: readonly string[],
): StatusJson['dataplane'] {
  const degraded = detail !== null || fibErrors.length > 0 || health?.state === 'degraded';
  const fibError = fibErrors[0] ? `FIB: ${fibErrors[0]}` : null;
  return {
    wireguard,
    fib,
    state: health?.state === 'down' ? 'down' : degraded ? 'degraded' : 'ok',
    detail: health?.detail ?? detail ?? fibError,
    ...(health ? { vppVersion: health.vppVersion } : {}),
  };
}
