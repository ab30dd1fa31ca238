/**
 * The BGP sessions and listener as the agent uses them, and the factory that
 * makes them: the real ones (BgpSession, BgpListener) in the daemon, scripted
 * ones in test/agent/agent.test.ts.
 */
import type { Clock } from '#lib/clock';
import type { Logger } from '#lib/log';
import type { FsmState } from '#bgp/fsm/index';
import type { RouteRefreshSubtype, UpdateMessage } from '#bgp/wire/types';
import { BgpListener, BgpSession, roleFromName } from '#bgp/session/index';
import type { RolePeerInfo } from '#bgp/policy/index';
import type { Config, NeighborBgpConfig, NeighborConfig } from '#config/types';
import type { NeighborAddressing } from './neighbor.js';
import type { ListenBinding, ListenerOptions, Negotiated, NotificationRecord, RefusalCounters, SessionConfig, SessionCounters, SessionDeps, SessionHandler } from '#bgp/session/index';

/** What the agent uses of a BGP session (BgpSession). */
export interface AgentSession {
  readonly state: FsmState;
  /** clock.now() of the last state change. */
  readonly stateSince: number;
  readonly lastError: string | null;
  /** What was agreed in the OPEN exchange while Established, else null. */
  readonly negotiated: Negotiated | null;
  readonly counters: SessionCounters;
  /** The last NOTIFICATION sent or received (RFC 9003 communications in it), or null. */
  readonly lastNotification: NotificationRecord | null;
  start(): void;
  /** Cease/Administrative Shutdown with the reason as its communication; down until start(). */
  stop(reason?: string): Promise<void>;
  /** Cease/Administrative Reset with the reason as its communication; the session comes back by itself. */
  reset(reason?: string): Promise<void>;
  /** Cease with this subcode and data (RFC 4486); down until start(). */
  cease(subcode: number, data: Uint8Array): Promise<void>;
  stopSilently(): Promise<void>;
  setPassive(passive: boolean): void;
  sendMany(updates: UpdateMessage[]): void;
  /** Octets sent and not yet taken by the kernel; a session without a buffer to watch leaves it out. */
  readonly sendBacklog?: number;
  /** Calls `fn` once the send buffer has drained (see sendBacklog). */
  whenDrained?(fn: () => void): void;
  /** One ROUTE-REFRESH (request, BoRR or EoRR); false when it may not be sent (see BgpSession.sendRouteRefresh). */
  sendRouteRefresh(afi: number, safi: number, subtype: RouteRefreshSubtype): boolean;
}

/** What the agent uses of the BGP listener (BgpListener). */
export interface AgentListener {
  readonly port: number;
  readonly refused: RefusalCounters;
  listen(): Promise<void>;
  register(session: AgentSession, peerAddress: string, binding: ListenBinding): Promise<void>;
  unregister(peerAddress: string): Promise<void>;
  refresh(): Promise<void>;
  /** No new connection from now on; handshakes already answered still complete (the first step of close). */
  stopAccepting(): void;
  close(): Promise<void>;
  bindingError(peerAddress: string): string | null;
}

export interface BgpFactory {
  listener(deps: { log: Logger; clock: Clock }, opts: ListenerOptions): AgentListener;
  session(cfg: SessionConfig, handler: SessionHandler, deps: SessionDeps): AgentSession;
}

/** The real sessions and listener. */
export const realBgp: BgpFactory = {
  listener: (deps, opts) => {
    const l = new BgpListener(deps, opts);
    return {
      get port() {
        return l.port;
      },
      get refused() {
        return l.refused;
      },
      listen: () => l.listen(),
      // The listener hands connections to the sessions this factory made.
      register: (s, peer, binding) => l.register(s as BgpSession, peer, binding),
      unregister: (peer) => l.unregister(peer),
      refresh: () => l.refresh(),
      stopAccepting: () => l.stopAccepting(),
      close: () => l.close(),
      bindingError: (peer) => l.bindingError(peer),
    };
  },
  session: (cfg, handler, deps) => new BgpSession(cfg, handler, deps),
};


/** RFC 9234: the role a neighbor's session sends and checks (`bgp.role`, `bgp.role-strict`). */
export function sessionRole(bgp: NeighborBgpConfig): Pick<SessionConfig, 'role' | 'roleStrict'> {
  return bgp.role === undefined ? {} : { role: roleFromName(bgp.role), roleStrict: bgp.roleStrict === true };
}

/** RFC 9234 §5: the role the RIB's policy applies to an established session's routes. */
export function peerRole(neg: Negotiated): Pick<RolePeerInfo, 'localRole'> {
  return neg.roles === undefined ? {} : { localRole: neg.roles.local };
}

/** RFC 7911: `bgp.add-path.send` paths per prefix for each family where sending them was negotiated (§5). */
export function addPathSendOf(neg: Negotiated, send: number): { addPathSend?: { ipv4: number; ipv6: number } } {
  const d = neg.addPath?.send;
  if (d === undefined || send <= 0 || !(d.ipv4 || d.ipv6)) return {};
  return { addPathSend: { ipv4: d.ipv4 ? send : 0, ipv6: d.ipv6 ? send : 0 } };
}

/**
 * GTSM (RFC 5082): the TTL a neighbor's segments arrive with, 255 on every
 * path: straight off the tunnel interface (wireguard-go, kernel, VPP's
 * linux-cp tap), and with linux-cp off too — VPP's punt redirect hands them
 * on without a decrement (measured on VPP 26.06: 255 on the agent's veth).
 * Ours towards the peer do cross VPP's forwarding there and arrive with 254:
 * that peer accepts one hop (docs/configuration.md).
 */
const GTSM_MIN_TTL = 255;
/** What secures a neighbor's session (GTSM, TCP-MD5), the same for our connects and the listener. */
export function sessionSecurity(bgp: NeighborBgpConfig): { minTtl?: number; md5Key?: string } {
  return {
    ...(bgp.ttlSecurity ? { minTtl: GTSM_MIN_TTL } : {}),
    ...(bgp.password !== null ? { md5Key: bgp.password } : {}),
  };
}

/** What a neighbor's session is made from, besides its configuration. */
export interface SessionSetup {
  config: Config;
  cfg: NeighborConfig;
  bgp: NeighborBgpConfig;
  addr: NeighborAddressing;
  /** The Linux interface the session is bound to. */
  device: string;
  /** The BGP port when not 179 (tests). */
  port: number | undefined;
  passive: boolean;
  /**
   * RFC 4724 §3: our R bit (this run is the restarting speaker, §4.1) and F
   * bit, read at each OPEN: with keep-on-stop our routes stay in the FIB
   * whenever the agent stops or dies.
   */
  restartState(): { restarting: boolean; forwardingState: boolean };
}

/** The session of a neighbor, bound to its tunnel (design.md "Identity"). */
export function sessionConfig(s: SessionSetup): SessionConfig {
  const { config, cfg, bgp, addr } = s;
  return {
    name: cfg.name,
    localAsn: config.router.asn,
    routerId: config.router.routerId,
    peerAsn: bgp.asn,
    peerAddress: addr.sessionPeer,
    interface: s.device,
    ...(addr.sessionLocal ? { localAddress: addr.sessionLocal } : {}),
    ...(s.port ? { port: s.port } : {}),
    holdTime: bgp.holdTime,
    passive: s.passive,
    bindToInterface: true,
    ...sessionSecurity(bgp),
    ...(bgp.gracefulRestart
      ? {
          gracefulRestart: {
            restartTime: bgp.gracefulRestartTime,
            state: () => s.restartState(),
          },
        }
      : {}),
    // RFC 9494: the neighbor keeps our routes long-lived stale after our restart time (F as above).
    ...(bgp.gracefulRestart && (bgp.longLivedStaleTime ?? 0) > 0 ? { longLived: { staleTime: bgp.longLivedStaleTime! } } : {}),
    families: [
      { afi: 1, safi: 1 },
      { afi: 2, safi: 1 },
    ],
    extendedNextHop: addr.remoteV4 === null,
    ...sessionRole(bgp),
    ...(bgp.addPath !== undefined && (bgp.addPath.receive || bgp.addPath.send > 0)
      ? { addPath: { receive: bgp.addPath.receive, send: bgp.addPath.send > 0 } }
      : {}),
  };
}
