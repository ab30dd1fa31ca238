/**
 * What the FIB (and the kernel mirror) gets for each prefix the Loc-RIB
 * changed: the best path's next hops over its neighbor's tunnel, with
 * multipath one next hop per tunnel, with PIC the backup's; or OSPF's route
 * where this agent installs OSPF routes (VPP) and OSPF's distance is lower.
 * The agent hands in what it reads (FibSelectionContext); the writes go to
 * FibManager and KernelMirror, which batch them until the next flush.
 */
import type { Config, NeighborConfig } from '#config/types';
import type { FibNextHop, FibRoute } from '#fib/types';
import type { FibManager } from '#fib/index';
import type { Rib, Route } from '#bgp/rib/index';
import { DEFAULT_EBGP_DISTANCE, DEFAULT_IBGP_DISTANCE } from '#config/defaults';
import { BoundedCache } from '#lib/bounded-cache';
import { canonicalPrefix, formatIp, parseIp, parsePrefix, prefixContains } from '#lib/prefix';
import { fibNextHopAddress, type AgentState, type Neighbor, type NeighborAddressing } from './neighbor.js';
import type { KernelMirror } from './kernel-mirror.js';
import type { AgentOspf } from './agent.js';

export interface FibSelectionContext extends Pick<AgentState, 'neighbor' | 'config'> {
  rib: Pick<Rib, 'backup' | 'multipath' | 'multipathOptions'>;
  fibm: Pick<FibManager, 'setHops' | 'delete'>;
  /** VPP with OSPF: BGP's routes in the namespace's kernel for ospfd (null: none). */
  mirror: Pick<KernelMirror, 'setHops'> | null;
  ospf: Pick<AgentOspf, 'isConnected' | 'knows' | 'route'> | undefined;
  /** Routes carry their backup's next hops (FibBackend.failover). */
  pic: boolean;
  /** Tunnel host prefixes no learned route may take (coveredHost). */
  reservedHosts: ReadonlySet<string>;
}

export class FibSelection {
  /** Multipath next-hop lists by their hops (forwardingHops). */
  private readonly multipathLists = new BoundedCache<string, FibNextHop[]>(4096);
  /** Where the last fibHops() answer came from. */
  private fibSource: 'bgp' | 'ospf' = 'bgp';

  constructor(private readonly ctx: FibSelectionContext) {}

  /**
   * What the FIB gets for `prefix`: the BGP best path, or OSPF's route when
   * this agent installs OSPF routes (VPP; on Linux zebra does) and its
   * distance is lower (OSPF 110 by default; eBGP 20, iBGP 200).
   */
  setLearned(prefix: string, best: Route | null, backup?: Route | null, hint?: number, multipath?: readonly Route[] | null): void {
    const { ctx } = this;
    // A tunnel's own address is reached over the tunnel, and a prefix connected here
    // is reached here, whoever announces them.
    const used = multipath === undefined ? this.multipathOf(prefix) : multipath;
    // Next-hop lists only (shared per neighbor): no route object per change on this path.
    const hops = ctx.reservedHosts.has(prefix) || ctx.ospf?.isConnected(prefix) ? null : this.fibHops(prefix, best, used);
    const bgp = hops !== null && this.fibSource === 'bgp';
    let backupHops: FibNextHop[] | null = null;
    if (ctx.pic && bgp && best !== null) {
      const b = backup === undefined ? ctx.rib.backup(prefix) : backup;
      backupHops = b === null ? null : this.backupHops(hops, b);
    }
    // The prefix's number from the RIB (shared table) spares the FIB its lookup by text.
    if (hops !== null) ctx.fibm.setHops(prefix, hops, backupHops, 'learned', hint);
    else ctx.fibm.delete(prefix, 'learned', hint);
    // BGP → OSPF on VPP: what BGP forwards (not OSPF's own routes) goes to the kernel for ospfd.
    ctx.mirror?.setHops(prefix, bgp && !this.ospfWouldWin(prefix, best) ? hops : null, backupHops);
  }

  /**
   * The FIB route of a best path, with multipath one route with a next hop
   * per neighbor's tunnel that forwards. With PIC the backup is then the
   * other next hops: the FIB drops a dead tunnel's hop from the route's group
   * (NexthopTable.failover) at once.
   */
  forwardingRoute(best: Route): FibRoute | null {
    const nexthops = this.forwardingHops(best, this.multipathOf(best.prefix));
    return nexthops === null ? null : { prefix: best.prefix, nexthops };
  }

  /** The agent programs OSPF routes only into the VPP FIB: on Linux, zebra installs them itself (docs/ospf.md). */
  get installsOspf(): boolean {
    return this.ctx.config().dataplane.fib === 'vpp';
  }

  bgpDistance(r: Route): number {
    const asn = r.peer !== null ? this.ctx.neighbor(r.peer)?.cfg.bgp?.asn : undefined;
    return asn !== undefined && asn !== this.ctx.config().router.asn ? DEFAULT_EBGP_DISTANCE : DEFAULT_IBGP_DISTANCE;
  }

  /**
   * OSPF's table has `prefix` at a lower distance than BGP's path, though zebra
   * has not sent it (it keeps our mirrored kernel route, distance 0, over
   * OSPF's): the mirror lets the prefix go, zebra then selects OSPF's route
   * and sends it over FPM, and the VPP FIB moves to it.
   */
  private ospfWouldWin(prefix: string, best: Route | null): boolean {
    return best !== null && this.ctx.ospf?.knows(prefix) === true && (this.ctx.config().ospf?.distance ?? Infinity) < this.bgpDistance(best);
  }

  /** The FIB next hops of a BGP path: its neighbor's shared list for the family, or null. */
  private neighborHops(route: Route): FibNextHop[] | null {
    if (route.source !== 'bgp' || route.peer === null) return null;
    const n = this.ctx.neighbor(route.peer);
    if (!n) return null;
    return route.prefix.includes(':') ? n.fibNextHops.v6 : n.fibNextHops.v4;
  }

  /**
   * The backup's next hops for a route over `primary`: a BGP path of another
   * neighbor, one next hop (the kernel moves a single next-hop object in
   * place), on another tunnel. Null: no backup the FIB can fall back to.
   */
  private backupHops(primary: readonly FibNextHop[], backup: Route): FibNextHop[] | null {
    const hops = this.neighborHops(backup);
    if (hops === null || hops.length !== 1 || primary.length !== 1) return null;
    return hops[0]!.interface !== primary[0]!.interface ? hops : null;
  }

  /** The paths that forward for `prefix` with multipath (two or more), else null. */
  private multipathOf(prefix: string): Route[] | null {
    if (this.ctx.rib.multipathOptions === null) return null;
    const used = this.ctx.rib.multipath(prefix);
    return used.length > 1 ? used : null;
  }

  /** forwardingRoute's next hops: a shared list (per neighbor, or per multipath set), no object per call. */
  private forwardingHops(best: Route, used: readonly Route[] | null): FibNextHop[] | null {
    const first = this.neighborHops(best);
    if (first === null || used === null || used.length < 2) return first;
    const nexthops = [...first];
    for (const r of used) {
      if (r.peer === best.peer) continue;
      for (const nh of this.neighborHops(r) ?? []) {
        if (!nexthops.some((h) => h.interface === nh.interface && h.address === nh.address)) nexthops.push(nh);
      }
    }
    if (nexthops.length === first.length) return first;
    // One frozen list per set of next hops, as for a single neighbor (the FIB keeps lists as given and finds them by identity).
    const key = nexthops.map((h) => `${h.address ?? ''}%${h.interface ?? ''}`).join(' ');
    return this.multipathLists.get(key) ?? this.multipathLists.set(key, Object.freeze(nexthops) as FibNextHop[]);
  }

  /**
   * The next hops the FIB gets for `prefix` (null: none), and in fibSource
   * whose they are: BGP's, or OSPF's when this agent installs OSPF routes
   * (VPP) and OSPF's distance is lower.
   */
  private fibHops(prefix: string, best: Route | null, used: readonly Route[] | null): FibNextHop[] | null {
    const bgp = best ? this.forwardingHops(best, used) : null;
    const ospf = this.installsOspf ? this.ctx.ospf?.route(prefix) : undefined;
    if (ospf !== undefined && (bgp === null || best === null || (this.ctx.config().ospf?.distance ?? Infinity) < this.bgpDistance(best))) {
      this.fibSource = 'ospf';
      return ospf;
    }
    this.fibSource = 'bgp';
    return bgp;
  }
}

/**
 * The FIB next hops of a neighbor's routes, per family: canonical and frozen,
 * since FibManager keeps such routes as given (one list for all of them).
 */
export function learnedNextHopsOf(addr: NeighborAddressing, iface: string): Neighbor['fibNextHops'] {
  const list = (anyPrefix: string): FibNextHop[] | null => {
    const text = fibNextHopAddress(addr, anyPrefix);
    if (!text) return null;
    const ip = parseIp(text);
    const address = ip ? formatIp(ip.bytes) : text;
    return Object.freeze([Object.freeze({ address, interface: iface })]) as FibNextHop[];
  };
  return { v4: list('0.0.0.0/0'), v6: list('::/0') };
}

/**
 * On Linux, an IPv4 tunnel peer inside our tunnel subnet is reached by the
 * connected route; when OSPF runs on the tunnel the agent adds no /32 for it:
 * FRR's zebra resolves an OSPFv2 next hop only over a connected route, and
 * our /32 (the longest match) left every OSPFv2 route inactive (found in the
 * ospf-triangle lab). The prefix stays reserved: no learned route takes it.
 */
export function coveredHost(config: Config, cfg: NeighborConfig, prefix: string): boolean {
  if (config.dataplane.fib !== 'linux' || cfg.ospf === null || prefix.includes(':')) return false;
  const host = parsePrefix(prefix, false);
  if (!host) return false;
  return (cfg.tunnel?.local ?? []).some((c) => {
    const subnet = parsePrefix(canonicalPrefix(c) ?? '', false);
    return subnet !== null && subnet.family === 4 && subnet.len < 32 && prefixContains(subnet, host.bytes);
  });
}
