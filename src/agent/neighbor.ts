import type { Config, NeighborConfig } from '#config/types';
import type { TunnelSpec, TunnelStatus } from '#wg/types';
import type { TimerHandle } from '#lib/clock';
import type { FibNextHop } from '#fib/types';
import type { Negotiated } from '#bgp/session/index';
import type { TunnelJson } from '#api/types';
import type { AgentSession } from './bgp.js';
import { parseIp, isLinkLocalV6 } from '#lib/prefix';

/**
 * The addresses a neighbor's session and routes use, derived once from its
 * tunnel spec. design.md: one session per neighbor on the first tunnel.remote
 * address (IPv4 when present); unnumbered tunnels use the link-locals.
 */
export interface NeighborAddressing {
  /** Where the BGP session goes ("fe80::…" for unnumbered; the interface gives the scope). */
  sessionPeer: string;
  /** Our address on the session's side, used as the bind address. */
  sessionLocal: string | null;
  localV4: string | null;
  localV6: string | null;
  localLinkLocal: string | null;
  remoteV4: string | null;
  remoteV6: string | null;
  remoteLinkLocal: string | null;
}

export function neighborAddressing(cfg: NeighborConfig, spec: TunnelSpec): NeighborAddressing {
  const out: NeighborAddressing = {
    sessionPeer: '',
    sessionLocal: null,
    localV4: null,
    localV6: null,
    localLinkLocal: null,
    remoteV4: null,
    remoteV6: null,
    remoteLinkLocal: null,
  };
  for (const cidr of spec.addresses) {
    const addr = cidr.split('/')[0] ?? '';
    const ip = parseIp(addr);
    if (!ip) continue;
    if (ip.family === 4) out.localV4 ??= addr;
    else if (isLinkLocalV6(ip.bytes)) out.localLinkLocal ??= addr;
    else out.localV6 ??= addr;
  }
  for (const addr of spec.peerAddresses) {
    const ip = parseIp(addr);
    if (!ip) continue;
    if (ip.family === 4) out.remoteV4 ??= addr;
    else if (isLinkLocalV6(ip.bytes)) out.remoteLinkLocal ??= addr;
    else out.remoteV6 ??= addr;
  }
  const remotes = cfg.tunnel?.remote ?? [];
  const v4 = remotes.find((a) => parseIp(a)?.family === 4);
  if (v4) {
    out.sessionPeer = v4;
    out.sessionLocal = out.localV4;
  } else if (remotes[0]) {
    out.sessionPeer = remotes[0];
    out.sessionLocal = out.localV6;
  } else {
    out.sessionPeer = out.remoteLinkLocal ?? '';
    out.sessionLocal = out.localLinkLocal;
  }
  return out;
}

/** The next hop a learned route uses in the FIB: the peer's tunnel address of the route's family. */
export function fibNextHopAddress(a: NeighborAddressing, prefix: string): string | null {
  if (prefix.includes(':')) return a.remoteV6 ?? a.remoteLinkLocal;
  // RFC 8950: an IPv4 route over a tunnel without IPv4 goes via the IPv6 next hop.
  return a.remoteV4 ?? a.remoteV6 ?? a.remoteLinkLocal;
}

export interface TunnelObservation {
  status: TunnelStatus | null;
  /** When the agent first saw a handshake (or the dataplane's own time). */
  firstHandshake: Date | null;
}

/** A configured neighbor as the agent runs it: its tunnel, its session and what they have negotiated and seen. */
export interface Neighbor {
  cfg: NeighborConfig;
  spec: TunnelSpec;
  addr: NeighborAddressing;
  /** Its BGP session; null for a neighbor that runs OSPF only. */
  session: AgentSession | null;
  /** Wall-clock time of the session's last state change, taken when it happened (stable across queries). */
  stateSinceWall: Date | null;
  /** Passive because the neighbor has no endpoint and no handshake happened yet. */
  awaitingHandshake: boolean;
  negotiated: Negotiated | null;
  /** Families for which End-of-RIB arrived since the session came up. */
  eor: Set<string>;
  tunnel: TunnelJson | null;
  firstHandshakeSeen: Date | null;
  /** The FIB next hops of its routes per family, one frozen list shared by all of them (null: none usable). */
  fibNextHops: { v4: FibNextHop[] | null; v6: FibNextHop[] | null };
  /** RFC 4724 §4.2: the peer's restart time runs while its routes are kept stale and it is away. */
  restartTimer: TimerHandle | null;
  /** RFC 4724 §4.2: stale routes left after it came back go when this runs out (no End-of-RIB). */
  staleTimer: TimerHandle | null;
  /** Our table waits for the end of our own restart (RFC 4724 §4.1 deferral). */
  exportDeferred: boolean;
  /** Its routes' withdrawal, waiting for the FIB failover to finish (PIC); run at once if the session comes back first. */
  pendingRemoval?: (() => void) | null;
  /** withdrawAfterFailover's promise while its failover runs: a second call (the neighbor removed meanwhile) waits for the same withdrawal. */
  withdrawal?: Promise<void> | null;
}

/** What the agent's parts read of its state (each through its own context). */
export interface AgentState {
  /** The neighbor of that name, while it is configured. */
  neighbor(name: string): Neighbor | undefined;
  neighbors(): Iterable<Neighbor>;
  /** The configuration now loaded (a reload replaces it). */
  config(): Config;
  /** The agent is stopping: nothing more is started, flushed or sent. */
  stopping(): boolean;
}
