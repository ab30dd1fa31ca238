/**
 * `wgbgp routes`: the route that forwards each prefix, as the operator sees it
 * — the Loc-RIB's best, or OSPF's where it wins — with its FIB state. Pure
 * over what the agent hands in (RouteViewContext).
 */
import { asPathLength } from '#bgp/rib/index';
import type { IneligibleReason, PeerInfo, Rib, Route } from '#bgp/rib/index';
import type { ExtendedCommunity } from '#bgp/wire/types';
import type { FibManager } from '#fib/index';
import type { FibNextHop, FibRoute } from '#fib/types';
import type { NeighborConfig } from '#config/types';
import type { TunnelSpec } from '#wg/types';
import type { DecisionJson, PathJson, RouteJson, StaleState } from '#api/types';
import { hostRoutes } from '#wg/spec';
import { canonicalPrefix, parseIp, parsePrefix, prefixContains } from '#lib/prefix';
import type { AgentOspf } from './agent.js';

const TUNNEL_WINS = 'a tunnel host route holds this prefix; it wins over learned routes';
const NO_ELIGIBLE_PATH = 'received, but no path is eligible (see paths: ineligibleReason)';

export interface RouteViewContext {
  rib: Rib;
  fibm: FibManager;
  neighbors: ReadonlyMap<string, { cfg: NeighborConfig; spec: TunnelSpec }>;
  ospf: AgentOspf | undefined;
  /** The agent programs OSPF routes itself (VPP); on Linux zebra does. */
  installsOspf: boolean;
  ospfDistance: number | null;
  /** Tunnel peer addresses reached over the tunnel subnet, which no learned route may take. */
  reservedHosts: ReadonlySet<string>;
  fibRouteFor(r: Route): FibRoute | null;
  bgpDistance(r: Route): number;
}

/** All routes, one exact prefix, or the longest match for an address (over the Loc-RIB and OSPF's routes). */
export function routesJson(ctx: RouteViewContext, query?: string): RouteJson[] {
  const { rib, ospf } = ctx;
  if (query === undefined) {
    const out = [...rib.entries()].map((r) => entryJson(ctx, r.prefix, r));
    if (ospf) for (const [prefix] of ospf.routes()) if (rib.best(prefix) === undefined) out.push(entryJson(ctx, prefix, undefined));
    return out;
  }
  let prefix: string | null;
  if (query.includes('/')) prefix = canonicalPrefix(query);
  else {
    const ip = parseIp(query);
    if (!ip) throw new Error(`not a prefix or address: ${query}`);
    prefix = rib.lookup(query)?.prefix ?? null;
    if (ospf) {
      let len = prefix === null ? -1 : (parsePrefix(prefix, false)?.len ?? -1);
      for (const [p] of ospf.routes()) {
        const pp = parsePrefix(p, false);
        if (pp && pp.family === ip.family && pp.len > len && prefixContains(pp, ip.bytes)) {
          prefix = p;
          len = pp.len;
        }
      }
    }
  }
  if (prefix === null) return [];
  const best = rib.best(prefix);
  if (best === undefined && ospf?.route(prefix) === undefined) {
    // Received but no path eligible (import policy, a loop, ...): shown with every path and why, as BIRD's `show route filtered`.
    if (!query.includes('/') || rib.receivedPaths(prefix).length === 0) return [];
    return [{ prefix, source: 'bgp', neighbor: null, asPath: [], nexthops: [], fib: false, fibDetail: NO_ELIGIBLE_PATH, ...pathsJson(rib, prefix) }];
  }
  return [{ ...entryJson(ctx, prefix, best), ...pathsJson(rib, prefix) }];
}

/**
 * One prefix asked for: every path (the candidates best first, then the
 * received ones that are not candidates, with the reason) and the step of
 * RFC 4271 §9.1.2.2 that chose the best over the runner-up, like GoBGP's
 * best path reason. Per prefix asked for only: never for the whole table.
 */
export function pathsJson(rib: Rib, prefix: string): { paths: PathJson[]; decision: DecisionJson | null } {
  const ranked = rib.paths(prefix);
  const received = rib.receivedPaths(prefix);
  const peers = new Map(received.map((p) => [p.peer.id, p.peer]));
  const d = rib.decision(prefix);
  const isBest = (r: Route): boolean => d !== undefined && r.peer === d.best.peer && r.source === d.best.source && r.pathId === d.best.pathId;
  // Multipath: the paths that forward with the best (two or more), marked on each.
  const forwarding = rib.multipathOptions === null ? [] : rib.multipath(prefix);
  const used = (r: Route): boolean => forwarding.length > 1 && forwarding.some((u) => u.peer === r.peer && u.source === r.source && u.pathId === r.pathId);
  const paths = ranked.map((r) => ({ ...pathJson(rib, r, r.peer === null ? null : (peers.get(r.peer) ?? null), isBest(r), null), multipath: used(r) }));
  for (const p of received) if (p.ineligible !== null) paths.push({ ...pathJson(rib, p.route, p.peer, false, p.ineligible, p.policy), multipath: false });
  if (d === undefined) return { paths, decision: null };
  const runnerUp = ranked.find((r) => !isBest(r));
  return {
    paths,
    decision: { step: d.step, against: d.step === 'only-path' || runnerUp === undefined ? null : { neighbor: runnerUp.peer, source: runnerUp.source } },
  };
}

const ORIGINS: readonly PathJson['origin'][] = ['igp', 'egp', 'incomplete'];

/** RFC 9494 §4.1: the LLGR_STALE community. */
const LLGR_STALE = 0xffff0006;

/** Long-lived stale when the path carries LLGR_STALE (ours or the neighbor's), else stale while its neighbor restarts. */
export function staleState(rib: Rib, r: Route): StaleState | null {
  if (r.peer === null) return null;
  if (r.attrs.communities?.includes(LLGR_STALE) === true) return 'long-lived';
  return rib.isStale(r.peer, r.prefix) ? 'graceful-restart' : null;
}

function pathJson(rib: Rib, r: Route, peer: PeerInfo | null, best: boolean, ineligible: IneligibleReason | null, rejectedBy?: string): PathJson {
  const a = r.attrs;
  return {
    neighbor: peer === null ? null : { name: peer.id, address: peer.address, asn: peer.asn, routerId: peer.routerId },
    source: r.source,
    origin: a.origin === undefined ? null : (ORIGINS[a.origin] ?? null),
    asPath: (a.asPath ?? []).flatMap((s) => s.asns),
    asPathLength: asPathLength(a),
    nexthops: [r.nextHop, r.nextHopLinkLocal].filter((h): h is string => h !== null),
    localPref: a.localPref ?? null,
    med: a.med ?? null,
    communities: (a.communities ?? []).map((c) => `${c >>> 16}:${c & 0xffff}`),
    extendedCommunities: (a.extendedCommunities ?? []).map(extendedCommunityText),
    largeCommunities: (a.largeCommunities ?? []).map((c) => c.join(':')),
    otc: a.otc ?? null,
    stale: staleState(rib, r),
    best,
    eligible: ineligible === null,
    ineligibleReason: ineligible,
    ...(rejectedBy !== undefined ? { rejectedBy } : {}),
    ...(r.pathId !== undefined ? { pathId: r.pathId } : {}),
  };
}

/** RFC 4360 §5 sub-types 0x02, 0x03 of the AS and IPv4 address specific types (RFC 5668 for 4-octet AS); others as hex. */
const EXTENDED_SUBTYPES: Readonly<Record<number, string>> = { 2: 'rt', 3: 'soo' };

export function extendedCommunityText([high, low]: ExtendedCommunity): string {
  const type = (high >>> 24) & 0xbf; // the non-transitive bit (0x40) does not change the meaning
  const name = EXTENDED_SUBTYPES[(high >>> 16) & 0xff];
  if (name !== undefined) {
    if (type === 0x00) return `${name}:${high & 0xffff}:${low >>> 0}`;
    const global = (((high & 0xffff) << 16) >>> 0) + (low >>> 16);
    if (type === 0x01) return `${name}:${global >>> 24}.${(global >>> 16) & 0xff}.${(global >>> 8) & 0xff}.${global & 0xff}:${low & 0xffff}`;
    if (type === 0x02) return `${name}:${global}:${low & 0xffff}`;
  }
  return `0x${(high >>> 0).toString(16).padStart(8, '0')}${(low >>> 0).toString(16).padStart(8, '0')}`;
}

/** The route that forwards `prefix`: OSPF's when it wins (see ospfWins), else the Loc-RIB's best. */
function entryJson(ctx: RouteViewContext, prefix: string, best: Route | undefined): RouteJson {
  const ospf = ctx.ospf?.route(prefix);
  if (ospf !== undefined && (best === undefined || ospfWins(ctx, best))) return ospfJson(ctx, prefix, ospf);
  return routeJson(ctx, best!);
}

/**
 * OSPF over a BGP path for the same prefix: on VPP by distance (ospf.distance
 * against eBGP 20 / iBGP 200). On Linux zebra decides, and it takes the
 * agent's BGP route (a kernel route, distance 0 to zebra) over OSPF's: OSPF's
 * stays out of the kernel, and out of FPM, until BGP's goes (measured, FRR 8.4).
 */
export function ospfWins(ctx: RouteViewContext, best: Route): boolean {
  if (best.source !== 'bgp') return false;
  return ctx.installsOspf && (ctx.ospfDistance ?? Infinity) < ctx.bgpDistance(best);
}

function ospfJson(ctx: RouteViewContext, prefix: string, nexthops: FibNextHop[]): RouteJson {
  const { fibm } = ctx;
  const via = nexthops.map((h) => h.interface).find((i) => i !== undefined);
  const neighbor = via === undefined ? null : ([...ctx.neighbors.values()].find((n) => n.cfg.interface === via)?.cfg.name ?? null);
  const installed = ctx.installsOspf ? fibm.installed(prefix) && fibm.owner(prefix) === 'learned' : true;
  return {
    prefix,
    source: 'ospf',
    neighbor,
    asPath: [],
    nexthops: nexthops.map((h) => ({ ...h })),
    fib: installed,
    fibDetail: installed ? null : fibm.owner(prefix) === 'tunnel' ? TUNNEL_WINS : fibm.error(prefix),
  };
}

function routeJson(ctx: RouteViewContext, r: Route): RouteJson {
  const { fibm } = ctx;
  const asPath = (r.attrs.asPath ?? []).flatMap((s) => s.asns);
  if (r.source === 'bgp') {
    const fr = ctx.fibRouteFor(r);
    const tunnelWins = fibm.owner(r.prefix) === 'tunnel';
    return {
      prefix: r.prefix,
      source: 'bgp',
      neighbor: r.peer,
      stale: staleState(ctx.rib, r),
      asPath,
      nexthops: fr?.nexthops ?? [],
      fib: !tunnelWins && fibm.installed(r.prefix),
      fibDetail: tunnelWins
        ? TUNNEL_WINS
        : ctx.ospf?.isConnected(r.prefix)
          ? 'a prefix connected on this router: never taken from a learned route'
          : ctx.reservedHosts.has(r.prefix)
          ? "a tunnel's own peer address: reached over the tunnel's subnet, never through a learned route"
          : fr === null
            ? 'no usable next hop on the tunnel for this family'
            : fibm.error(r.prefix),
    };
  }
  if (r.source === 'connected') {
    const n = [...ctx.neighbors.values()].find((x) => (x.cfg.tunnel?.local ?? []).some((c) => canonicalPrefix(c) === r.prefix));
    // A reserved host (an OSPF tunnel's peer on Linux) has no route of ours: the kernel's connected route serves.
    const host = n ? hostRoutes(n.spec).filter((h) => h.includes(':') === r.prefix.includes(':') && !ctx.reservedHosts.has(h)) : [];
    return {
      prefix: r.prefix,
      source: 'connected',
      neighbor: null,
      asPath,
      nexthops: n ? [{ interface: n.cfg.interface }] : [],
      fib: n !== undefined && host.every((h) => fibm.installed(h)),
      fibDetail: host.map((h) => fibm.error(h)).find((e) => e !== null) ?? null,
    };
  }
  return { prefix: r.prefix, source: 'static', neighbor: null, asPath, nexthops: [], fib: false, fibDetail: null };
}
