/**
 * The OSPF bridge (design.md: ospf-bridge/): FRR's ospfd/ospf6d run OSPF on
 * the agent's tunnels; the agent renders their configuration, applies it to
 * the running FRR (frr-driver), and takes their routes in over FPM
 * (fpm, fpm-table) to hand them to its FIB.
 *
 * The agent owns FRR's OSPF configuration where the bridge is on: the OSPF
 * lines of its tunnel interfaces, the `router ospf` / `router ospf6`
 * stanzas, WGBGP- route-maps and zebra's fpm lines (docs/ospf.md).
 *
 * FRR may be absent, stopped or restarted: the bridge says so in its status,
 * tries again every RETRY_MS, and re-applies when FRR comes back (zebra's
 * reconnect over FPM is the sign), so an FRR restart is healed even when the
 * persisted configuration was lost.
 */
import type { Clock, TimerHandle } from '#lib/clock';
import type { Logger } from '#lib/log';
import type { NeighborConfig, OspfConfig } from '#config/types';
import type { FibNextHop } from '#fib/types';
import { parseEndpoint } from '#config/fields';
import { parseIp } from '#lib/prefix';
import { FpmListener } from './fpm.js';
import { FpmTable, type FpmRouteChange } from './fpm-table.js';
import { RTPROT_KERNEL, RTPROT_OSPF, type FpmRoute } from './fpm-codec.js';
import type { OspfDesired, OspfInterface } from './frr-model.js';
import type { OspfNeighbor, OspfRoute } from './frr-show.js';
import type { ApplyResult, FrrAvailability } from './frr-driver.js';

/** How often a failed apply (FRR not running, a refused command) is tried again. */
export const RETRY_MS = 10_000;
/** After FPM changes settle, OSPF's own table is read for the route types (FPM does not carry them). */
export const TYPES_DEBOUNCE_MS = 500;
/** And again this often, for a type that changes without a FIB change. */
export const TYPES_REFRESH_MS = 30_000;

/** What the bridge needs of FRR (FrrDriver; scripted in tests). */
export interface FrrControl {
  available(need?: { v4: boolean; v6: boolean }): Promise<FrrAvailability>;
  apply(desired: OspfDesired, previouslyManaged: readonly string[]): Promise<ApplyResult>;
  ospfNeighbors(): Promise<OspfNeighbor[]>;
  ospfRoutes(): Promise<OspfRoute[]>;
}

/** A route OSPF has for a prefix (next hops with interface names), or null when it has none any more. */
export interface OspfRouteUpdate {
  prefix: string;
  nexthops: FibNextHop[] | null;
}

export interface OspfBridgeStatus {
  state: 'ok' | 'degraded' | 'down';
  /** Why not ok, in words. */
  detail: string | null;
  frrVersion: string | null;
  /** zebra's FPM connection: connected, and the OSPF routes it holds. */
  fpm: { listening: string | null; connected: boolean; phase: string; routes: number };
  /** The interfaces whose OSPF configuration is applied. */
  interfaces: string[];
  lastApply: string | null;
}

export interface OspfBridgeDeps {
  clock: Clock;
  log: Logger;
  frr: FrrControl;
  /** ifindex → interface name in the namespace zebra runs in (the agent's). */
  links: () => Promise<{ index: number; name: string }[]>;
  /** Every tunnel interface the agent has managed (their OSPF lines go when no longer wanted). */
  managed: () => Promise<string[]>;
  /** The agent's BGP routes are kernel routes here (fib: linux): BGP → OSPF redistributes them. */
  kernelRoutes?: boolean;
  /** Test hook: the FPM port (0 picks a free one). */
  fpmPort?: number;
}

/** BGP → OSPF: the route-maps and prefix-lists the agent owns for it. */
export const BGP_TO_OSPF = 'WGBGP-BGP-TO-OSPF';
export const BGP_TO_OSPF6 = 'WGBGP-BGP-TO-OSPF6';
export const BGP_NEXTHOPS = 'WGBGP-BGP-NEXTHOPS';
export const TUNNEL_HOSTS6 = 'WGBGP-TUNNEL-HOSTS6';

/**
 * BGP → OSPF on Linux: zebra sees the agent's kernel routes (protocol 201)
 * and redistributes the ones that are BGP routes. Those have a gateway that
 * is a BGP neighbor's tunnel address (ospfd: `match ip next-hop
 * prefix-list`); ospf6d has no next-hop match, so it takes routes out of a
 * BGP neighbor's tunnel (`match interface`) except the tunnel's own host
 * routes (a deny entry first). The tunnel host routes and the pinned
 * endpoint routes are never handed to OSPF. Externals carry the tag, type 2.
 */
function bgpToOspf(cfg: OspfConfig, neighbors: readonly NeighborConfig[]): Pick<OspfDesired, 'redistribute' | 'prefixLists'> {
  const bgp = neighbors.filter((n) => n.bgp !== null);
  const v4: string[] = [];
  const hosts6: string[] = [];
  for (const n of bgp) {
    for (const a of n.tunnel?.remote ?? []) {
      const ip = parseIp(a);
      if (ip?.family === 4) v4.push(`${a}/32`);
      else if (ip?.family === 6) hosts6.push(`${a}/128`);
    }
  }
  const set = { tag: cfg.externalTag, metricType: 2 as const, metric: null };
  const permitIf = bgp.map((n, i) => ({ seq: 10 * (i + 1), action: 'permit' as const, match: [{ kind: 'interface' as const, name: n.interface }], set: true }));
  return {
    prefixLists: [
      ...(v4.length > 0 ? [{ name: BGP_NEXTHOPS, family: 'ipv4' as const, entries: v4.map((prefix, i) => ({ seq: 5 * (i + 1), action: 'permit' as const, prefix })) }] : []),
      ...(hosts6.length > 0 ? [{ name: TUNNEL_HOSTS6, family: 'ipv6' as const, entries: hosts6.map((prefix, i) => ({ seq: 5 * (i + 1), action: 'permit' as const, prefix })) }] : []),
    ],
    redistribute: {
      kernel: v4.length > 0 ? { routeMap: BGP_TO_OSPF, ...set, entries: [{ seq: 10, action: 'permit', match: [{ kind: 'ip-next-hop-prefix-list', list: BGP_NEXTHOPS }], set: true }] } : null,
      static: null,
      ospf6: {
        kernel:
          permitIf.length > 0
            ? {
                routeMap: BGP_TO_OSPF6,
                ...set,
                entries: [...(hosts6.length > 0 ? [{ seq: 5, action: 'deny' as const, match: [{ kind: 'ipv6-address-prefix-list' as const, list: TUNNEL_HOSTS6 }], set: false }] : []), ...permitIf],
              }
            : null,
        static: null,
      },
    },
  };
}

/** The FRR configuration the agent wants for `neighbors` (pure; tests check it directly). */
export function ospfDesired(cfg: OspfConfig, neighbors: readonly NeighborConfig[], redistributeKernel = false): OspfDesired {
  const interfaces: OspfInterface[] = [];
  for (const n of neighbors) {
    if (n.ospf === null) continue;
    const v4 = (n.tunnel?.local ?? []).some((a) => parseIp(a.split('/')[0] ?? '')?.family === 4);
    const auth = n.ospf.authentication;
    interfaces.push({
      name: n.interface,
      area: n.ospf.area,
      cost: n.ospf.cost,
      helloInterval: n.ospf.helloInterval,
      deadInterval: n.ospf.deadInterval,
      passive: n.ospf.passive,
      network: 'point-to-point',
      v4,
      // Every tunnel carries the derived link-local, which OSPFv3 runs on.
      v6: true,
      auth:
        auth === null
          ? null
          : {
              v2: v4 ? { type: 'md5', keyId: auth.keyId, key: auth.key } : null,
              v3: { keyId: auth.keyId, key: auth.key, algorithm: 'hmac-sha-256' },
            },
    });
  }
  const fpm = parseEndpoint(cfg.frr.fpmListen);
  const redistribution = cfg.redistributeBgp && redistributeKernel ? bgpToOspf(cfg, neighbors) : { redistribute: { kernel: null, static: null }, prefixLists: [] };
  return {
    routerId: cfg.routerId,
    referenceBandwidth: cfg.referenceBandwidth,
    v4: interfaces.some((i) => i.v4),
    v6: interfaces.some((i) => i.v6),
    ...redistribution,
    fpm: typeof fpm === 'string' ? null : { address: fpm.host, port: fpm.port },
    interfaces,
  };
}

export class OspfBridge {
  private readonly table: FpmTable;
  private readonly listener: FpmListener;
  private readonly subscribers = new Set<(u: OspfRouteUpdate[]) => void>();
  /** Prefix → next hops, as last handed to subscribers. */
  private readonly current = new Map<string, FibNextHop[]>();
  /** zebra's connected prefixes (the LANs and tunnel subnets of this router). */
  private readonly connected = new Set<string>();
  private ifnames = new Map<number, string>();
  private desired: OspfDesired;
  private applied: string[] = [];
  private lastApply: Date | null = null;
  private problem: string | null = 'not applied yet';
  private frrVersion: string | null = null;
  private retry: TimerHandle | null = null;
  private applying: Promise<void> = Promise.resolve();
  private unsubscribeTable: (() => void) | null = null;
  private routing: Promise<void> = Promise.resolve();
  /** Prefix → OSPF route type, from FRR's own table (intra/inter-area vs external). */
  private types = new Map<string, OspfRoute['type']>();
  private typesTimer: TimerHandle | null = null;
  private closed = false;

  constructor(
    config: OspfConfig,
    neighbors: readonly NeighborConfig[],
    private readonly deps: OspfBridgeDeps,
  ) {
    this.desired = ospfDesired(config, neighbors, deps.kernelRoutes ?? false);
    // OSPF's routes, and zebra's connected routes: a prefix of this router is never taken from BGP.
    this.table = new FpmTable({ clock: deps.clock, protocols: new Set([RTPROT_OSPF, RTPROT_KERNEL]) });
    const ep = parseEndpoint(config.frr.fpmListen);
    this.listener = new FpmListener({
      table: this.table,
      log: deps.log,
      ...(typeof ep === 'string' ? {} : { host: ep.host, port: deps.fpmPort ?? ep.port }),
    });
  }

  /** Listens for zebra (a taken port stops the start), then applies FRR's configuration (retried while FRR is not there). */
  async start(): Promise<void> {
    // In order: resolving an interface name may wait for the kernel, and a later batch must not overtake.
    this.unsubscribeTable = this.table.subscribe((changes) => {
      this.routing = this.routing.then(() => this.onChanges(changes)).catch((err: unknown) => this.deps.log.error({ err: String(err) }, 'OSPF routes not taken'));
    });
    await this.listener.start();
    await this.apply('start');
    this.scheduleTypes(TYPES_REFRESH_MS);
  }

  /** A reload: the new OSPF settings go to FRR live; tunnels and sessions are not touched. */
  async reconfigure(config: OspfConfig, neighbors: readonly NeighborConfig[]): Promise<void> {
    this.desired = ospfDesired(config, neighbors, this.deps.kernelRoutes ?? false);
    await this.apply('reload');
  }

  onRoutes(cb: (updates: OspfRouteUpdate[]) => void): () => void {
    this.subscribers.add(cb);
    return () => this.subscribers.delete(cb);
  }

  /**
   * Whether OSPF's route for `prefix` is internal (intra- or inter-area): only
   * those may go to BGP. An external may be one of our own BGP routes handed
   * to OSPF by a router of the area (loop prevention); unknown counts as external.
   */
  internal(prefix: string): boolean {
    const t = this.types.get(prefix);
    return t === 'intra' || t === 'inter';
  }

  /**
   * Whether OSPF's own table has `prefix` (as last read), whether or not zebra
   * sends it over FPM: zebra keeps a kernel route of the agent's (distance 0)
   * over OSPF's, so FPM alone cannot tell that OSPF has the prefix too.
   */
  knows(prefix: string): boolean {
    return this.types.has(prefix);
  }

  /**
   * A prefix connected on this router (zebra's connected routes). A learned
   * route for it must never be installed: OSPF → BGP on a neighbor can send a
   * router its own LAN back, and on IPv6 our metric 32 beats the connected
   * route's 256 (a forwarding loop, found in the ospf-triangle lab).
   */
  isConnected(prefix: string): boolean {
    return this.connected.has(prefix);
  }

  /** OSPF's route for `prefix` as last received, or undefined. */
  route(prefix: string): FibNextHop[] | undefined {
    return this.current.get(prefix);
  }

  *routes(): IterableIterator<[string, FibNextHop[]]> {
    yield* this.current.entries();
  }

  get routeCount(): number {
    return this.current.size;
  }

  status(): OspfBridgeStatus {
    const t = this.table.state();
    const l = this.listener.status();
    let state: OspfBridgeStatus['state'] = 'ok';
    let detail = this.problem;
    if (detail === null && !t.connected) detail = t.phase === 'holding' ? 'zebra disconnected from FPM; keeping its routes for now' : 'zebra has not connected over FPM yet';
    if (detail !== null) state = this.frrVersion === null ? 'down' : 'degraded';
    return {
      state,
      detail,
      frrVersion: this.frrVersion,
      fpm: { listening: l.listening, connected: t.connected, phase: t.phase, routes: t.announced },
      interfaces: this.desired.interfaces.map((i) => i.name),
      lastApply: this.lastApply?.toISOString() ?? null,
    };
  }

  ospfNeighbors(): Promise<OspfNeighbor[]> {
    return this.deps.frr.ospfNeighbors();
  }

  ospfRoutes(): Promise<OspfRoute[]> {
    return this.deps.frr.ospfRoutes();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.retry?.cancel();
    this.retry = null;
    this.typesTimer?.cancel();
    this.typesTimer = null;
    this.unsubscribeTable?.();
    await this.applying.catch(() => undefined);
    await this.listener.close();
    this.table.close?.();
  }

  /** One apply at a time; a failure is kept for status and tried again. */
  private apply(why: string): Promise<void> {
    const run = this.applying.then(async () => {
      if (this.closed) return;
      this.retry?.cancel();
      this.retry = null;
      const need = { v4: this.desired.v4, v6: this.desired.v6 };
      const avail = await this.deps.frr.available(need);
      if (!avail.ok) {
        this.frrVersion = null;
        this.fail(`FRR: ${avail.reason}`, why);
        return;
      }
      this.frrVersion = avail.version;
      try {
        const managed = [...new Set([...(await this.deps.managed()), ...this.applied])];
        const r = await this.deps.frr.apply(this.desired, managed);
        this.applied = this.desired.interfaces.map((i) => i.name);
        this.lastApply = this.deps.clock.wallNow();
        this.problem = null;
        if (r.commands.length > 0 || r.exec.length > 0) this.deps.log.info({ why, commands: r.commands.length, exec: r.exec }, 'OSPF configuration applied to FRR');
      } catch (err) {
        this.fail(`FRR: ${err instanceof Error ? err.message : String(err)}`, why);
      }
    });
    this.applying = run.catch(() => undefined);
    return run;
  }

  private fail(problem: string, why: string): void {
    if (problem !== this.problem) this.deps.log.warn({ why, problem, retryMs: RETRY_MS }, 'OSPF configuration not applied; trying again');
    this.problem = problem;
    if (this.closed || this.retry !== null) return;
    this.retry = this.deps.clock.setTimeout(() => {
      this.retry = null;
      void this.apply('retry');
    }, RETRY_MS);
  }

  private async onChanges(changes: readonly FpmRouteChange[]): Promise<void> {
    // zebra (re)connected and sent its first routes: FRR may have restarted without our configuration.
    if (this.problem !== null && !this.closed) void this.apply('zebra connected');
    const out: OspfRouteUpdate[] = [];
    for (const c of changes) {
      const prefix = c.route.prefix;
      if (c.route.protocol === RTPROT_KERNEL) {
        // zebra sends its connected routes as protocol 2, and also the kernel routes it learned
        // (the agent's own BGP routes among them): a connected route has no gateway.
        if (c.route.nexthops.some((h) => h.address !== undefined)) {
          if (this.connected.delete(prefix)) out.push({ prefix, nexthops: this.current.get(prefix) ?? null });
          continue;
        }
        // A connected route: noted, handed on as a change so the agent looks at the prefix again.
        // zebra holds one route per prefix: a connected one replaces OSPF's, and the reverse.
        if (c.op === 'delete') this.connected.delete(prefix);
        else {
          this.connected.add(prefix);
          this.current.delete(prefix);
        }
        out.push({ prefix, nexthops: this.current.get(prefix) ?? null });
        continue;
      }
      this.connected.delete(prefix);
      if (c.op === 'delete') {
        if (this.current.delete(prefix)) out.push({ prefix, nexthops: null });
        continue;
      }
      const nexthops = await this.nexthops(c.route);
      if (nexthops.length === 0) {
        if (this.current.delete(prefix)) out.push({ prefix, nexthops: null });
        continue;
      }
      this.current.set(prefix, nexthops);
      out.push({ prefix, nexthops });
    }
    if (out.length === 0) return;
    this.scheduleTypes(TYPES_DEBOUNCE_MS);
    for (const s of this.subscribers) s(out);
  }

  /** Reads the route types after `ms` (a pending earlier read is moved, so a burst is read once). */
  private scheduleTypes(ms: number): void {
    if (this.closed) return;
    this.typesTimer?.cancel();
    this.typesTimer = this.deps.clock.setTimeout(() => {
      this.typesTimer = null;
      this.routing = this.routing.then(() => this.refreshTypes()).catch(() => undefined);
    }, ms);
  }

  /** The routes whose internal/external verdict changed go to subscribers again (their next hops unchanged). */
  private async refreshTypes(): Promise<void> {
    let routes: OspfRoute[];
    try {
      routes = await this.deps.frr.ospfRoutes();
    } catch (err) {
      this.deps.log.debug({ err: err instanceof Error ? err.message : String(err) }, 'OSPF route types unavailable');
      this.scheduleTypes(RETRY_MS);
      return;
    }
    const before = this.types;
    this.types = new Map(routes.map((r) => [r.prefix, r.type]));
    const out: OspfRouteUpdate[] = [];
    for (const [prefix, nexthops] of this.current) {
      const was = before.get(prefix);
      const now = this.types.get(prefix);
      if ((was === 'intra' || was === 'inter') !== (now === 'intra' || now === 'inter')) out.push({ prefix, nexthops });
    }
    // Prefixes OSPF has (or lost) that zebra does not send: the agent looks at them again (knows()).
    for (const prefix of this.types.keys()) if (!before.has(prefix) && !this.current.has(prefix)) out.push({ prefix, nexthops: null });
    for (const prefix of before.keys()) if (!this.types.has(prefix) && !this.current.has(prefix)) out.push({ prefix, nexthops: null });
    this.scheduleTypes(TYPES_REFRESH_MS);
    if (out.length > 0) for (const s of this.subscribers) s(out);
  }

  /** zebra names interfaces by index; the FIB wants names. An unknown index refreshes the map once. */
  private async nexthops(route: FpmRoute): Promise<FibNextHop[]> {
    const out: FibNextHop[] = [];
    for (const nh of route.nexthops) {
      let name: string | undefined;
      if (nh.ifindex !== undefined) {
        name = this.ifnames.get(nh.ifindex);
        if (name === undefined) {
          this.ifnames = new Map((await this.deps.links()).map((l) => [l.index, l.name]));
          name = this.ifnames.get(nh.ifindex);
        }
      }
      if (nh.address === undefined && name === undefined) continue;
      out.push({ ...(nh.address !== undefined ? { address: nh.address } : {}), ...(name !== undefined ? { interface: name } : {}) });
    }
    return out;
  }
}
