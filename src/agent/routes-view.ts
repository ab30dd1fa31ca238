/**
 * `wgbgp routes`: the route that forwards each prefix, as the operator sees it
 * — the Loc-RIB's best, or OSPF's where it wins — with its FIB state. Pure
 * over what the agent hands in (RouteViewContext).
 */
import type { Rib, Route } from '#bgp/rib/index';
import type { FibManager } from '#fib/index';
import type { FibNextHop, FibRoute } from '#fib/types';
import type { NeighborConfig } from '#config/types';
import type { TunnelSpec } from '#wg/types';
import type { RouteJson } from '#api/types';
import { hostRoutes } from '#wg/index';
import { canonicalPrefix, parseIp, parsePrefix, prefixContains } from '#lib/prefix';
import type { AgentOspf } from './agent.js';

const TUNNEL_WINS = 'a tunnel host route holds this prefix; it wins over learned routes';

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
  return best === undefined && ospf?.route(prefix) === undefined ? [] : [entryJson(ctx, prefix, best)];
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
