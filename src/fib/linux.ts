/**
 * The Linux FIB through rtnetlink. Every route this backend writes carries the
 * agent's tag: its protocol number and its own metric in the configured table
 * (BIRD's kernel protocol does the same). The tag is how it finds its own
 * routes again after a restart, and the kernel's key: a route of the same
 * prefix with another metric is another route, so the operator's stays beside
 * ours. A new route goes in with NLM_F_EXCL, so an operator's route with our
 * very metric is never overwritten; replace and delete name our metric and
 * protocol, so they match nothing but ours.
 */
import type { KernelRoute, RouteOp, RouteOps, RouteTag } from '#netlink/types';
import { errnoText } from '#netlink/errors';
import { opPrefix, type FibBackend, type FibNextHop, type FibOp, type FibRoute, type LinuxRouteTag } from './types.js';
import { hostPrefix, longestMatch } from './pin.js';

const ESRCH = 3;
const MAIN_TABLE = 254;
const EEXIST = 17;

/** table: kernel table id (254 = main, ids above 255 are fine); protocol: rtm_protocol; metric: RTA_PRIORITY. */
export type LinuxFibOptions = LinuxRouteTag;

export class LinuxFib implements FibBackend {
  readonly name = 'linux' as const;
  private tag: RouteTag;

  /** `netlink` stays the caller's: close() leaves it open (the tunnel backend shares it). */
  constructor(
    private readonly netlink: RouteOps,
    opts: LinuxFibOptions,
  ) {
    this.tag = { table: opts.table, protocol: opts.protocol, metric: opts.metric };
  }

  /** The kernel's routes with our tag as decoded (a KernelRoute is a FibRoute): no copy of 100 000 objects. */
  async dump(): Promise<FibRoute[]> {
    return this.netlink.routes(this.tag.table, this.tag.protocol, this.tag.metric);
  }

  async apply(ops: FibOp[]): Promise<{ prefix: string; error: string }[]> {
    if (ops.length === 0) return [];
    // FibOps go as they are: no request object per route.
    const failures = await this.netlink.routeWrite(this.tag, ops);
    const failed: { prefix: string; error: string }[] = [];
    for (const r of failures) {
      const op = ops[r.index]!;
      // Deleting what is already gone (its interface went first) reached the goal.
      if (op.op === 'delete' && r.errno === -ESRCH) continue;
      const error =
        op.op === 'add' && r.errno === -EEXIST
          ? `another route in table ${this.tag.table} has metric ${this.tag.metric} for this prefix; not overwritten (choose another dataplane.linux.metric)`
          : errnoText(r.errno);
      failed.push({ prefix: opPrefix(op), error });
    }
    return failed;
  }

  retag(to: LinuxRouteTag): void {
    this.tag = { table: to.table, protocol: to.protocol, metric: to.metric };
  }

  /**
   * Moves our routes from `from` to the current tag: the new ones are written
   * first, then the old ones deleted, so traffic never finds neither. Where
   * only the protocol differs the kernel's key is the same, and one replace
   * per route moves it in place.
   */
  async migrate(from: { table: number; protocol: number; metric: number | null }): Promise<{ moved: number; failed: { prefix: string; error: string }[] }> {
    const tag = this.tag;
    if (from.table === tag.table && from.protocol === tag.protocol && from.metric === tag.metric) return { moved: 0, failed: [] };
    let ours = await this.netlink.routes(from.table, from.protocol, from.metric ?? undefined);
    if (from.metric === null && from.table === tag.table && from.protocol === tag.protocol) ours = ours.filter((r) => r.metric !== tag.metric);
    if (ours.length === 0) return { moved: 0, failed: [] };
    const inPlace = from.table === tag.table && from.metric === tag.metric;
    const writes = ours.map((r) => ({ op: inPlace ? ('replace' as const) : ('add' as const), route: r }));
    const failed: { prefix: string; error: string }[] = [];
    for (const f of await this.netlink.routeWrite(tag, writes)) {
      failed.push({ prefix: writes[f.index]!.route.prefix, error: errnoText(f.errno) });
    }
    if (!inPlace) {
      const deletes: RouteOp[] = ours.map((r) => ({ op: 'delete', route: { prefix: r.prefix, table: from.table, protocol: from.protocol, metric: r.metric } }));
      for (const f of await this.netlink.routeBatch(deletes)) {
        if (f.errno !== 0 && f.errno !== -ESRCH) failed.push({ prefix: deletes[f.index]!.route.prefix, error: errnoText(f.errno) });
      }
    }
    return { moved: ours.length, failed };
  }

  /**
   * The kernel's own lookup first (policy rules included). It is the answer
   * unless it is our own pin for the address (kept as it is) or it leads into
   * one of our tunnels — a learned route covers the endpoint — and then the
   * longest match in the main table among routes that are not ours and do not
   * lead into a tunnel is.
   */
  async underlayPath(address: string, tunnels: ReadonlySet<string>, fresh = false): Promise<FibNextHop[] | null> {
    const host = hostPrefix(address);
    if (host === null) return null;
    const r = await this.netlink.routeLookup(address);
    if (r === null) return null;
    const ours = r.protocol === this.tag.protocol && r.metric === this.tag.metric;
    // Our own pin answers for itself unless the underlay may have moved under it (fresh).
    if (ours && r.prefix === host && !fresh) return r.nexthops;
    const intoTunnel = r.nexthops.some((nh) => nh.interface !== undefined && tunnels.has(nh.interface));
    if (!ours && !intoTunnel) return r.nexthops;
    const all = await this.netlink.routes(MAIN_TABLE, 0);
    const best = longestMatch(all, address, (c) =>
      (c.protocol === this.tag.protocol && c.metric === this.tag.metric) || c.nexthops.some((nh) => nh.interface !== undefined && tunnels.has(nh.interface)),
    );
    return best?.nexthops ?? null;
  }

  watchUnderlay(changed: () => void): () => void {
    const watch = this.netlink.watchRoutes;
    if (watch === undefined) return () => {};
    return watch.call(this.netlink, (r) => {
      if (r === null || r.protocol !== this.tag.protocol) changed();
    });
  }

  /** The kernel forwards with the route of the lowest metric among those of the prefix in the table. */
  async forwarding(prefix: string): Promise<{ ours: boolean; protocol: number; metric: number } | null> {
    let best: KernelRoute | null = null;
    for (const r of await this.netlink.routesOf(prefix, this.tag.table)) {
      if (best === null || (r.metric ?? 0) < (best.metric ?? 0)) best = r;
    }
    if (best === null) return null;
    const metric = best.metric ?? 0;
    return { ours: best.protocol === this.tag.protocol && metric === this.tag.metric, protocol: best.protocol, metric };
  }

  async close(): Promise<void> {
    // Nothing of its own to release.
  }
}
