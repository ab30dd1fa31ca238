/**
 * The VPP FIB through the binary API (fact sheet §2.3, §4.3, §5).
 *
 * Writes: ip_route_add_del, a batch at a time through VppClient.bulk: the
 * requests are encoded straight into large socket writes from per-list path
 * bytes (vpp-writes.ts), kept in a window of outstanding requests, and their
 * replies matched by context without a promise per route. Only the multipath
 * forms are used, so only our paths change and an operator's paths for the
 * same prefix (another API client's) survive announce and withdraw: an add is
 * is_add=1, is_multipath=1 with our paths; a replace adds the new paths the
 * same way and, once VPP confirmed that add, removes (is_add=0,
 * is_multipath=1) those of the previous route that are not among them (a
 * second pass over the batch), so the prefix never has none of ours, not
 * even when the add fails; a delete removes our previous paths. A request
 * VPP refuses fails its op (its prefix is reported, the rest of the batch
 * goes on); an op whose requests were not all confirmed (the connection
 * ended, VPP went quiet) fails too and stays pending in the FibManager.
 *
 * Paths, one fib_path per next hop, the next hop in the union with the proto
 * of the NEXT HOP's family (an IPv4 route via an IPv6 next hop is proto IP6:
 * RFC 8950), weight 1, NORMAL (fibPath, vpp-writes.ts):
 * - a next hop with an address on one of our tunnels (what every learned
 *   route has) is RECURSIVE when PIC is on (vpp-pic.ts): sw_if_index ~0,
 *   flag RESOLVE_VIA_HOST, resolved in the agent's table PIC_PRIMARY
 *   (preference 0), and the route's backup next hops (FibRoute.backup) the
 *   same way in PIC_BACKUP (preference 1). Those tables hold one host route
 *   per next hop in use ("NH/32 via NH on wgN"), written before the first
 *   route that needs it (and after a failover withdrew it, by restore());
 * - any other next hop (a tunnel's own host route, the recursion guard's
 *   underlay pin, every next hop when PIC is off) is DIRECT: the interface's
 *   sw_if_index (by its tag), preference 0. A WireGuard interface is NBMA: a
 *   host route without an address gets the prefix's own address as next hop
 *   (what VPP does itself), any other route without one is refused (VPP would
 *   drop its traffic). Without PIC a route's backup is not written.
 *
 * Failover (FibBackend.failover): the host routes of the dead tunnels' next
 * hops leave both PIC tables, a constant number of writes (two per next hop:
 * one per table) however many routes recurse through them; VPP restacks them
 * on a drop at once and then moves each to its backup (vpp-pic.ts).
 * restore() (the neighbor's session is back) puts them back, the same
 * number of writes, and VPP moves the routes still through them back.
 *
 * Ownership: a path in `tableId` is OURS when it is a NORMAL path with a
 * next-hop address through a WireGuard interface this agent tagged with a
 * configured interface name (one it ensured in this run), or a recursive path
 * resolved in one of the agent's PIC tables. dump() returns, per prefix, our
 * paths only (both families, from ip_route_dump): the PIC_PRIMARY ones as its
 * next hops, the PIC_BACKUP ones as its backup; VPP's own entries
 * (connected/glean: no next hop; local: LOCAL; default/special: DROP) and
 * paths via other interfaces or other recursive ones are never returned, so
 * the FibManager never deletes them. The PIC tables' host routes are the
 * backend's own bookkeeping, adopted at every connect, never dumped. A path
 * the dump found that the route it reports would not write again (a direct
 * path of an earlier version where PIC now writes a recursive one) is
 * removed with the next write of that prefix.
 */
import type { Logger } from '#lib/log';
import { formatIp, parseIp, parsePrefix, type ParsedPrefix } from '#lib/prefix';
import { BoundedCache } from '#lib/bounded-cache';
import {
  ADDRESS_IP4,
  ADDRESS_IP6,
  fromVppAddressUnion,
  fromVppPrefix,
  VppApiError,
  vnetApiErrorName,
  type BulkResult,
  type VppClient,
  type VppRecord,
  asNumber as num,
  asRecord as rec,
} from '#vpp/index';
import { OP_ADD, OP_DELETE, OP_REPLACE, type FibBackend, type FibBatch, type FibNextHop, type FibOp, type FibRoute, type OpPrefixes } from './types.js';
import { BatchWrites, OpWrites, type FibWrites } from './writes.js';
import { longestMatch } from './pin.js';
import {
  encodeFibPath,
  FIB_PATH_SIZE,
  fibPath,
  NH_PROTO_IP4,
  NH_PROTO_IP6,
  PATH_TYPE_NORMAL,
  PathRemovals,
  readRouteDetails,
  RouteWrites,
  type DumpedRoute,
  type FibPathVia,
} from './vpp-writes.js';
import { FLAG_RESOLVE_VIA_HOST, PIC_BACKUP, PIC_PRIMARY, picTableOf, PicTables, type PicNeed, type PicTable } from './vpp-pic.js';
import { errorText } from '#lib/error-text';

const NO_INDEX = 0xffffffff;
const MAX_PATHS = 255;

/** What the FIB needs from the tunnel backend (VppWireguard). */
export interface VppInterfaceResolver {
  /** sw_if_index of the WireGuard interface tagged `name`. */
  swIfIndexOf(name: string): number | undefined;
  /** The configured name of a WireGuard interface this agent tagged and asked for in this run. */
  ownedNameOf(swIfIndex: number): string | undefined;
  /** The interface's own addresses in VPP, host bits kept ("10.255.0.0/31"). */
  interfaceAddresses(swIfIndex: number): readonly string[];
  /** Changes whenever an sw_if_index may have changed: caches keyed on it. */
  readonly generation: number;
}

/**
 * The entry VPP itself adds for the other address of an IPv4 /31 on an
 * interface (interface source, attached host: ip4_add_interface_prefix_routes).
 * With ip_route_dump (no source filter) it looks exactly like a host route of
 * ours, so it is left out of dump(): when the agent also wants that host route
 * (it does, for the peer's tunnel address), the next reconcile writes it once
 * more, an idempotent upsert that also makes sure our API source is there.
 */
function derivedPartner(addresses: readonly string[], hostAddress: string): boolean {
  for (const a of addresses) {
    const p = parsePrefix(a, true);
    if (!p || p.family !== 4 || p.len !== 31) continue;
    const other = new Uint8Array(p.bytes);
    other[3] = other[3]! ^ 1;
    if (formatIp(other) === hostAddress) return true;
  }
  return false;
}

export interface VppFibDeps {
  log: Logger;
  /** The live client once the state is loaded, else throws. */
  ready(): Promise<VppClient>;
  /** dataplane.vpp.table-id: learned and host routes go here. */
  tableId: number;
  interfaces: VppInterfaceResolver;
  /** A problem for health() (null clears it). */
  report?(key: string, problem: string | null): void;
}

/** 'VNET_API_ERROR_NO_MATCHING_INTERFACE (-54)', or the error's message. */
export function vppErrorText(err: unknown): string {
  if (err instanceof VppApiError) return `${vnetApiErrorName(err.retval)} (${err.retval})`;
  return errorText(err);
}


class RouteError extends Error {}

/**
 * An underlay path names its VPP interface by index, "#3": the recursion
 * guard's pinned endpoint route goes through an interface the agent did not
 * make and that has no Linux name.
 */
function underlayIndex(name: string): number | undefined {
  return /^#\d+$/.test(name) ? Number(name.slice(1)) : undefined;
}

const NO_PATHS = Buffer.alloc(0);

/**
 * The paths of `before` (fib_path bytes) that are not among `now`'s: the
 * same bytes are the same path to VPP (interface, next hop, proto; the rest
 * is the same in all of ours).
 */
function pathsGone(before: Buffer, now: Buffer): Buffer {
  const P = FIB_PATH_SIZE;
  const keep = (k: number): boolean => {
    for (let j = 0; j < now.length; j += P) if (before.compare(now, j, j + P, k, k + P) === 0) return true;
    return false;
  };
  let gone = 0;
  for (let k = 0; k < before.length; k += P) if (!keep(k)) gone++;
  if (gone === 0) return NO_PATHS;
  if (gone * P === before.length) return before;
  const out = Buffer.allocUnsafe(gone * P);
  let o = 0;
  for (let k = 0; k < before.length; k += P) if (!keep(k)) o += before.copy(out, o, k, k + P);
  return out;
}

/** Why request i of a bulk did not do its job, or null when it did. */
function requestError(r: BulkResult, i: number): string | null {
  if (r.answered[i] === 0) return r.error?.message ?? 'no reply';
  const retval = r.retval[i]!;
  return retval < 0 ? `${vnetApiErrorName(retval)} (${retval})` : null;
}

/** toVppPrefix without parsing the text again (the hot path of apply). */
function vppPrefixOf(p: ParsedPrefix): VppRecord {
  const bytes = Buffer.from(p.bytes.buffer, p.bytes.byteOffset, p.bytes.length);
  return { address: { af: p.family === 4 ? ADDRESS_IP4 : ADDRESS_IP6, un: p.family === 4 ? { ip4: bytes } : { ip6: bytes } }, len: p.len };
}

/**
 * A NORMAL IP path through an interface, as its sw_if_index and next hop
 * (null for a connected/glean path, which has none); null for any other path
 * (local, drop, recursive, not IP, unreadable).
 */
function decodePath(path: VppRecord): { sw: number; address: string | null } | null {
  if (num(path.type) !== PATH_TYPE_NORMAL) return null;
  const sw = num(path.sw_if_index);
  if (sw === NO_INDEX) return null;
  const proto = num(path.proto);
  if (proto !== NH_PROTO_IP4 && proto !== NH_PROTO_IP6) return null;
  let address: string;
  try {
    address = fromVppAddressUnion(rec(path.nh).address, proto === NH_PROTO_IP6 ? ADDRESS_IP6 : ADDRESS_IP4);
  } catch {
    return null;
  }
  return { sw, address: address === '0.0.0.0' || address === '::' ? null : address };
}

/** A recursive path through one of the PIC tables: its next hop and table; null for any other path. */
function decodeRecursive(path: VppRecord): { address: string; table: PicTable } | null {
  if (num(path.type) !== PATH_TYPE_NORMAL || num(path.sw_if_index) !== NO_INDEX) return null;
  const table = picTableOf(num(path.table_id));
  const proto = num(path.proto);
  if (!table || (proto !== NH_PROTO_IP4 && proto !== NH_PROTO_IP6) || zeroNextHop(path)) return null;
  try {
    return { address: fromVppAddressUnion(rec(path.nh).address, proto === NH_PROTO_IP6 ? ADDRESS_IP6 : ADDRESS_IP4), table };
  } catch {
    return null;
  }
}

/**
 * How a next-hop list is written: its paths' bytes and the PIC host routes
 * they need. Kept per list object (the FibManager hands one interned list per
 * set), and per (list, backup list) for a route with a backup.
 */
interface ListPaths {
  readonly paths: Buffer;
  readonly needs: readonly PicNeed[];
  /** PicTables.generation when every need was last found installed (-1: not yet). */
  checked: number;
  withBackup?: WeakMap<readonly FibNextHop[], ListPaths>;
}

const NO_NEEDS: readonly PicNeed[] = [];

/** dump(): the last non-host route's paths and what ours() made of them (shared by the routes with the same paths). */
interface OursMemo {
  bytes: Buffer | null;
  result: { nexthops: FibNextHop[]; backup: readonly FibNextHop[] | null; extra: Buffer | null } | null;
}

function zeroNextHop(path: VppRecord): boolean {
  const un = rec(rec(path.nh).address);
  const b = num(path.proto) === NH_PROTO_IP6 ? un.ip6 : un.ip4;
  return !(b instanceof Uint8Array) || b.every((x) => x === 0);
}

export class VppFib implements FibBackend {
  readonly name = 'vpp' as const;
  /**
   * Batches the FibManager applies at once. While a table arrives the agent
   * reads VPP's replies only between received chunks; with one batch at a
   * time VPP finished it and then waited for the agent to see the replies
   * and build the next (1 M routes: ~70 000 in VPP when the last UPDATE was
   * in). Several keep VPP's queue full meanwhile.
   */
  readonly batchesInFlight = 4;
  private tablesReady = false;
  /** The PIC indirection tables and their host routes (vpp-pic.ts). */
  private readonly pic: PicTables;
  /** Direct fib_path bytes by "sw_if_index|next hop": shared by the many routes of one neighbor. */
  private readonly pathCache = new BoundedCache<string, Buffer>(65536);
  /** Recursive fib_path bytes by "table|next hop". */
  private readonly recursiveCache = new BoundedCache<string, Buffer>(65536);
  /**
   * How a next-hop list is written (the FibManager hands one interned list
   * per set), and what of a previous route's paths can still be named. Lists
   * that depend on the prefix (a host route's interface-only hop) are not kept.
   */
  private routePathsOf = new WeakMap<readonly FibNextHop[], ListPaths>();
  private previousPathsOf = new WeakMap<readonly FibNextHop[], ListPaths>();
  private pathCacheGeneration = -1;
  /**
   * Per prefix, paths the last dump found that the route it reported would
   * not be written with (a direct path where PIC writes a recursive one, a
   * backup path without a primary): removed with the prefix's next write.
   */
  private dumpedExtra = new Map<string, Buffer>();

  constructor(private readonly deps: VppFibDeps) {
    this.pic = new PicTables({
      log: deps.log,
      tableId: deps.tableId,
      alive: (sw) => deps.interfaces.ownedNameOf(sw) !== undefined,
      ...(deps.report ? { report: deps.report } : {}),
    });
  }

  /** On every connect: the table for learned routes (table 0 always exists) and the PIC tables. */
  async load(client: VppClient): Promise<void> {
    this.tablesReady = false;
    this.clearPathCaches();
    await this.ensureTables(client);
  }

  lost(): void {
    this.tablesReady = false;
    this.pic.lost();
    this.clearPathCaches();
  }

  /** Whether routes are written through the PIC tables (false: direct paths, failover() does nothing). */
  get picEnabled(): boolean {
    return this.pic.enabled;
  }

  private clearPathCaches(): void {
    this.pathCache.clear();
    this.recursiveCache.clear();
    this.routePathsOf = new WeakMap();
    this.previousPathsOf = new WeakMap();
  }

  async dump(): Promise<FibRoute[]> {
    const client = await this.deps.ready();
    if (!this.tablesReady) await this.ensureTables(client);
    this.dumpedExtra = new Map();
    const out: FibRoute[] = [];
    // Read in place (a full table is a million entries: no decoded record, no label stacks, per route).
    const memo: OursMemo = { bytes: null, result: null };
    await this.dumpTable(client, (r) => {
      const f = this.ours(r, memo);
      if (f) out.push(f);
    });
    return out;
  }

  /** Every entry of the learned routes' table, both families, as readRouteDetails gives them. */
  private async dumpTable(client: VppClient, each: (r: DumpedRoute) => void): Promise<void> {
    const tableId = this.deps.tableId;
    await Promise.all(
      [false, true].map((isIp6) =>
        client.dumpRaw('ip_route_dump', { table: { table_id: tableId, is_ip6: isIp6, name: '' } }, (buf, start, length) => {
          const r = readRouteDetails(buf, start, length);
          if (r !== null) each(r);
        }),
      ),
    );
  }

  /**
   * Pipelined (see the file comment). Failures come back per prefix:
   * { prefix, error: 'VNET_API_ERROR_… (-54)' }.
   */
  apply(ops: FibOp[], prefixes?: OpPrefixes): Promise<{ prefix: string; error: string }[]> {
    return this.write(new OpWrites(ops, prefixes));
  }

  /** The FibManager's columns: paths from the interned lists, prefix bytes from the table, no object or text per route. */
  applyBatch(batch: FibBatch): Promise<{ prefix: string; error: string }[]> {
    return this.write(new BatchWrites(batch));
  }

  private async write(w: FibWrites): Promise<{ prefix: string; error: string }[]> {
    const n = w.length;
    if (n === 0) return [];
    const client = await this.deps.ready();
    if (!this.tablesReady) await this.ensureTables(client);
    if (this.pathCacheGeneration !== this.deps.interfaces.generation) {
      this.clearPathCaches();
      this.pathCacheGeneration = this.deps.interfaces.generation;
    }
    const failed: { prefix: string; error: string }[] = [];
    const done = new Uint8Array(n);
    const fail = (o: number, error: string): void => {
      if (done[o] === 1) return;
      done[o] = 1;
      failed.push({ prefix: w.prefix(o), error });
    };
    const writes = new RouteWrites(n, n, this.deps.tableId);
    // The prefix's bytes from the FibManager's number when it gave one, else its text parsed.
    const table = w.table;
    const setPrefix = (o: number): boolean => {
      const id = table === null ? -1 : w.prefixId(o);
      if (table === null || id < 0) return writes.setPrefix(o, w.prefix(o));
      writes.setPrefixOf(o, table, id);
      return true;
    };
    /** Per replace op: the previous paths to remove once its add is confirmed. */
    let removals: (Buffer | undefined)[] | null = null;
    /** PIC host routes to write before the routes, and the ops that wait for them. */
    const install = new Map<string, PicNeed>();
    let waiting: { o: number; lp: ListPaths }[] | null = null;
    /** Ops whose dumped extra paths go with this batch. */
    let extras: number[] | null = null;
    for (let o = 0; o < n; o++) {
      const kind = w.kind(o);
      try {
        let extra: Buffer | undefined;
        // A text per op only while a dump's extra paths wait (after a start, until written).
        if (kind !== OP_ADD && this.dumpedExtra.size > 0 && (extra = this.dumpedExtra.get(w.prefix(o))) !== undefined) (extras ??= []).push(o);
        if (kind === OP_DELETE) {
          const before = this.previousPaths(w, o, extra);
          if (before.length === 0) continue;
          if (!setPrefix(o)) throw new RouteError(`${w.prefix(o)}: not a prefix`);
          writes.push(o, false, before);
          continue;
        }
        if (w.nexthops(o)!.length === 0) throw new RouteError(`${w.prefix(o)}: no next hop`);
        if (!setPrefix(o)) throw new RouteError(`${w.prefix(o)}: not a prefix`);
        const lp = this.routePaths(w, o);
        if (lp.paths.length > MAX_PATHS * FIB_PATH_SIZE) {
          throw new RouteError(`${w.prefix(o)}: ${lp.paths.length / FIB_PATH_SIZE} paths (next hops and backup), VPP takes at most ${MAX_PATHS}`);
        }
        if (lp.needs.length > 0 && lp.checked !== this.pic.generation && !this.picReady(lp, install)) (waiting ??= []).push({ o, lp });
        writes.push(o, true, lp.paths);
        if (kind === OP_REPLACE) {
          const gone = pathsGone(this.previousPaths(w, o, extra), lp.paths);
          if (gone.length > 0) (removals ??= new Array<Buffer | undefined>(n))[o] = gone;
        }
      } catch (err) {
        fail(o, errorText(err));
      }
    }
    if (install.size > 0) {
      const errors = await this.pic.install(client, install.values());
      if (errors.size > 0) {
        for (const { o, lp } of waiting ?? []) {
          const bad = lp.needs.find((n) => errors.has(n.address));
          if (bad) fail(o, `${errors.get(bad.address)!} (the PIC host route of next hop ${bad.address})`);
        }
        writes.keepOnly((o) => done[o] === 0);
      }
    }
    const first = await client.bulk(writes);
    for (let i = 0; i < writes.count; i++) {
      const error = requestError(first, i);
      if (error !== null) fail(writes.op[i]!, error);
    }
    if (removals !== null) {
      writes.reset();
      for (let o = 0; o < n; o++) {
        const gone = removals[o];
        if (gone === undefined || done[o] === 1) continue;
        // The add was confirmed; without a connection the old paths stay, and so does the op.
        if (first.error) fail(o, first.error.message);
        else writes.push(o, false, gone);
      }
      const second = await client.bulk(writes);
      for (let i = 0; i < writes.count; i++) {
        const error = requestError(second, i);
        if (error !== null) fail(writes.op[i]!, error);
      }
    }
    // The extra paths a dump found went with these writes.
    for (const o of extras ?? []) if (done[o] === 0) this.dumpedExtra.delete(w.prefix(o));
    if (failed.length > 0) {
      const firstFailure = failed[0]!;
      this.deps.log.warn({ failed: failed.length, of: n, first: firstFailure }, 'VPP refused FIB writes');
      this.deps.report?.('fib', `FIB: ${failed.length} of ${n} route write(s) failed, e.g. ${firstFailure.prefix}: ${firstFailure.error}`);
    } else {
      this.deps.report?.('fib', null);
    }
    return failed;
  }

  /**
   * Whether every PIC host route a list needs is there, or out since a
   * failover of its tunnel (the route is written and waits, unresolved, for
   * restore()); the missing ones are added to `install`. A next hop another
   * live tunnel of ours already has throws (VPP would send the routes
   * through that one).
   */
  private picReady(lp: ListPaths, install: Map<string, PicNeed>): boolean {
    let ready = true;
    let settled = true;
    for (const need of lp.needs) {
      const state = this.pic.state(need);
      if (state === 'ok') continue;
      if (state === 'withdrawn') {
        settled = false;
        continue;
      }
      if (state === 'conflict') {
        throw new RouteError(`next hop ${need.address} is also the next hop of another tunnel of this agent (sw_if_index ${this.pic.swOf(need.address) ?? '?'})`);
      }
      ready = false;
      const other = install.get(need.address);
      if (other && other.sw !== need.sw) throw new RouteError(`next hop ${need.address} is named on two tunnels in one batch`);
      install.set(need.address, need);
    }
    if (ready && settled) lp.checked = this.pic.generation;
    return ready;
  }

  /**
   * PIC failover (see the file comment): the host routes of the next hops
   * through `interfaces` leave both PIC tables. `moved` counts those next
   * hops (each a shared object: every route through it moves to its backup,
   * or drops where it has none); `removed` is 0, VPP keeps the routes,
   * unresolved, until the RIB's withdrawals rewrite them. 0/0 when PIC is off
   * or nothing of ours goes through them. The host routes come back with
   * restore() (the neighbor's session is back), not with a write of a route
   * through those next hops meanwhile (PicTables.withdraw).
   */
  async failover(interfaces: readonly string[]): Promise<{ moved: number; removed: number }> {
    if (!this.pic.enabled || interfaces.length === 0) return { moved: 0, removed: 0 };
    const client = await this.deps.ready();
    const moved = await this.pic.withdraw(client, this.swIfIndexesOf(interfaces));
    return { moved, removed: 0 };
  }

  /**
   * The tunnels on `interfaces` carry traffic again (the neighbor's session
   * is back): the PIC host routes failover() withdrew for their next hops go
   * back, two writes per next hop, and every route still recursing through
   * them forwards again, written or not. Needed because the FibManager
   * writes nothing for a route the RIB wants as it was installed: a neighbor
   * back within milliseconds whose withdrawal and re-sent routes met in one
   * flush (bird-bfd: Established 3 ms after the failover) left them all
   * unresolved (backup or drop) for good. The alternative, marking every
   * route through the tunnel for rewrite (what LinuxFib asks for, its
   * objects were replaced), costs one route write per route: measured on
   * VPP 26.06 (test/vpp/real-vpp.test.ts, two runs), 100 000 routes
   * rewritten in 1.2–1.3 s (~12 s at 1 M), against 1.3–2.9 ms for the two
   * writes here and VPP's walk moving all 100 000 back within 56–141 ms. Returns
   * how many next hops came back; `rewrite` when VPP refused one (the routes
   * through the tunnels are then written again, and each write retries it).
   */
  async restore(interfaces: readonly string[]): Promise<{ restored: number; rewrite?: boolean }> {
    if (!this.pic.enabled || interfaces.length === 0) return { restored: 0 };
    const client = await this.deps.ready();
    const { restored, errors } = await this.pic.restore(client, this.swIfIndexesOf(interfaces));
    return errors.size > 0 ? { restored, rewrite: true } : { restored };
  }

  /** The sw_if_indexes of those of `interfaces` that are ours in VPP now. */
  private swIfIndexesOf(interfaces: readonly string[]): Set<number> {
    const sws = new Set<number>();
    for (const name of interfaces) {
      const sw = this.deps.interfaces.swIfIndexOf(name);
      if (sw !== undefined) sws.add(sw);
    }
    return sws;
  }

  /**
   * Before the tunnel backend deletes an interface: our routes through it go
   * (VPP would keep them, unresolved, on a dead sw_if_index; a recursive path
   * would resolve through whatever gets the next hop next), and so do its
   * next hops' PIC host routes; a multipath route loses just those paths
   * (is_multipath=1). Returns how many routes were touched.
   */
  async purgeInterface(client: VppClient, swIfIndex: number): Promise<number> {
    const via = new Set(this.pic.enabled ? this.pic.addressesVia(swIfIndex) : []);
    // The dump read in place, the removals pipelined in one bulk (their paths are the dumped bytes).
    const removals = new PathRemovals(this.deps.tableId);
    await this.dumpTable(client, (route) => {
      const P = FIB_PATH_SIZE;
      let through = 0;
      let mask: Uint8Array | null = null;
      route.paths.forEach((p, i) => {
        if (num(p.type) !== PATH_TYPE_NORMAL || zeroNextHop(p)) return;
        const r = num(p.sw_if_index) === swIfIndex ? null : via.size > 0 ? decodeRecursive(p) : null;
        if (num(p.sw_if_index) !== swIfIndex && (r === null || !via.has(r.address))) return;
        (mask ??= new Uint8Array(route.paths.length))[i] = 1;
        through++;
      });
      if (through === 0 || mask === null) return;
      const all = through === route.paths.length;
      let paths = route.pathBytes;
      if (!all) {
        const m: Uint8Array = mask;
        paths = Buffer.allocUnsafe(through * P);
        let o = 0;
        for (let i = 0; i < route.paths.length; i++) if (m[i] === 1) o += route.pathBytes.copy(paths, o, i * P, (i + 1) * P);
      }
      removals.push(route.prefix, paths, all);
    });
    const r = await client.bulk(removals);
    let failed = 0;
    let first: string | null = null;
    for (let i = 0; i < removals.count; i++) {
      const error = requestError(r, i);
      if (error === null) continue;
      failed++;
      first ??= error;
    }
    if (failed > 0) this.deps.log.warn({ failed, of: removals.count, err: first }, 'VPP routes via a removed interface not deleted');
    if (this.pic.enabled) {
      await this.pic.purge(client, swIfIndex).catch((err: unknown) => this.deps.log.warn({ err: vppErrorText(err) }, 'PIC host routes via a removed interface not deleted'));
    }
    return removals.count;
  }

  /**
   * The recursion guard in table 0, where the WireGuard peers look their
   * endpoints up (wireguard_peer.table_id 0): the path VPP gives the endpoint
   * (ip_route_lookup, longest match). When that path goes into one of our
   * tunnels — a learned route covers the endpoint — the longest match in a
   * dump of table 0 among routes that do not is taken instead. The pin is
   * only needed when learned routes share table 0 (table-id 0); with another
   * table-id the endpoint lookups never see them.
   */
  async underlayPath(address: string): Promise<FibNextHop[] | null> {
    if (this.deps.tableId !== 0) return null;
    const ip = parseIp(address);
    if (!ip) return null;
    const host: ParsedPrefix = { family: ip.family, bytes: ip.bytes, len: ip.family === 4 ? 32 : 128 };
    const client = await this.deps.ready();
    if (!client.has('ip_route_lookup')) return null;
    let route: VppRecord;
    try {
      const r = await client.request('ip_route_lookup', { table_id: 0, exact: 0, prefix: vppPrefixOf(host) });
      route = rec(r.route);
    } catch (err) {
      if (err instanceof VppApiError) return null;
      throw err;
    }
    // The paths of the entry that are not ours: an operator's path beside a learned one counts.
    const first = this.underlayHops(route);
    if (first.length > 0) return first;
    const dump = await client.dump('ip_route_dump', { table: { table_id: 0, is_ip6: host.family === 6, name: '' } });
    const candidates: { prefix: string; nexthops: FibNextHop[] }[] = [];
    for (const d of dump) {
      const r = rec(d.route);
      const hops = this.underlayHops(r);
      if (hops.length === 0) continue;
      try {
        candidates.push({ prefix: fromVppPrefix(r.prefix), nexthops: hops });
      } catch {
        // not a prefix we can read: not a candidate
      }
    }
    return longestMatch(candidates, address, () => false)?.nexthops ?? null;
  }

  /** A route's forwarding paths that do not go into our tunnels, as underlay next hops. */
  private underlayHops(route: VppRecord): FibNextHop[] {
    const out: FibNextHop[] = [];
    for (const v of Array.isArray(route.paths) ? route.paths : []) {
      const d = decodePath(rec(v));
      if (d === null || this.deps.interfaces.ownedNameOf(d.sw) !== undefined) continue;
      // A connected (glean) path has no next hop: the endpoint is on that link.
      out.push(d.address === null ? { interface: `#${d.sw}` } : { address: d.address, interface: `#${d.sw}` });
    }
    return out;
  }

  /**
   * The agent stops. The connection belongs to VppDataplane. The PIC tables
   * go when nothing is in them any more but VPP's own entries (PicTables.dropIfUnused):
   * after a stop without keep-on-stop (the tunnels were removed first, and
   * purgeInterface took their host routes); with keep-on-stop the host routes
   * and the routes resolving through them keep the tables.
   */
  async close(): Promise<void> {
    if (!this.pic.enabled) return;
    let client: VppClient;
    try {
      client = await this.deps.ready();
    } catch {
      return; // not connected: left for the next run (adopted, or deleted at its stop)
    }
    try {
      await this.pic.dropIfUnused(client);
    } catch (err) {
      this.deps.log.warn({ err: vppErrorText(err) }, 'PIC tables not deleted');
    }
  }

  // ─── encoding ──────────────────────────────────────────────────────────

  private async ensureTables(client: VppClient): Promise<void> {
    const tableId = this.deps.tableId;
    if (tableId !== 0) {
      await Promise.all(
        [false, true].map((isIp6) => client.request('ip_table_add_del', { is_add: true, table: { table_id: tableId, is_ip6: isIp6, name: '' } })),
      );
    }
    await this.pic.load(client);
    this.clearPathCaches();
    this.tablesReady = true;
  }

  /**
   * Whether a next hop is written recursively through the PIC tables: one
   * with an address on one of our tunnels (or, in a previous route the dump
   * gave, on a tunnel it could not name), while PIC is on.
   */
  private recursive(nh: FibNextHop): boolean {
    return this.pic.enabled && nh.address !== undefined && (nh.interface === undefined || underlayIndex(nh.interface) === undefined);
  }

  /** How a route is written: its next hops, then its backup's (PIC only), with the host routes they need. */
  private routePaths(w: FibWrites, o: number): ListPaths {
    const list = w.nexthops(o)!;
    let lp = this.routePathsOf.get(list);
    if (!lp) {
      const prefix = w.prefix(o);
      const host = this.hostAddressFor(prefix, list);
      lp = this.listPaths(prefix, list, PIC_PRIMARY, host === undefined ? null : host, 'write');
      if (host === undefined) this.routePathsOf.set(list, lp);
    }
    const backup = w.backup(o);
    if (backup === undefined || backup.length === 0 || !this.pic.enabled) return lp;
    let both = lp.withBackup?.get(backup);
    if (both) return both;
    // A backup hop that cannot be named (its tunnel is gone) is left out: the route goes in without it.
    const b = this.listPaths(w.prefix(o), backup, PIC_BACKUP, null, 'backup');
    const needs = [...lp.needs];
    for (const n of b.needs) if (!needs.some((x) => x.address === n.address && x.sw === n.sw)) needs.push(n);
    both = { paths: b.paths.length === 0 ? lp.paths : Buffer.concat([lp.paths, b.paths]), needs, checked: -1 };
    (lp.withBackup ??= new WeakMap()).set(backup, both);
    return both;
  }

  /**
   * The paths of op o's previous route that can still be named (`extra`:
   * what the dump found besides). A direct path via an interface that is gone
   * went with it (purgeInterface): nothing to remove.
   */
  private previousPaths(w: FibWrites, o: number, extra?: Buffer): Buffer {
    const list = w.previous(o)!;
    let lp = this.previousPathsOf.get(list);
    if (!lp) {
      const prefix = w.prefix(o);
      const host = this.hostAddressForPrevious(prefix, list);
      lp = this.listPaths(prefix, list, PIC_PRIMARY, host ?? null, 'previous');
      if (host === undefined) this.previousPathsOf.set(list, lp);
    }
    let paths = lp.paths;
    const backup = w.previousBackup(o);
    if (backup !== undefined && backup.length > 0 && this.pic.enabled) {
      let both = lp.withBackup?.get(backup);
      if (!both) {
        const b = this.listPaths(w.prefix(o), backup, PIC_BACKUP, null, 'previous');
        both = { paths: b.paths.length === 0 ? lp.paths : Buffer.concat([lp.paths, b.paths]), needs: NO_NEEDS, checked: -1 };
        (lp.withBackup ??= new WeakMap()).set(backup, both);
      }
      paths = both.paths;
    }
    return extra === undefined || extra.length === 0 ? paths : Buffer.concat([paths, extra]);
  }

  /**
   * The paths of a list: one per next hop (see the file comment), recursive
   * ones through `table`. 'write': a route to write (a hop that cannot be
   * named throws; the PIC host routes its hops need are listed); 'backup': a
   * backup to write (such a hop is left out); 'previous': what a route
   * written earlier holds (such a hop is left out; recursive ones need no
   * tunnel to be named).
   */
  private listPaths(prefix: string, list: readonly FibNextHop[], table: PicTable, hostAddress: string | null, mode: 'write' | 'backup' | 'previous'): ListPaths {
    const parts: Buffer[] = [];
    const needs: PicNeed[] = [];
    for (const nh of list) {
      try {
        if (!this.recursive(nh)) {
          parts.push(this.path(prefix, nh, hostAddress));
          continue;
        }
        const address = nh.address!;
        if (mode !== 'previous') {
          const sw = this.tunnelIndex(prefix, nh);
          if (!needs.some((n) => n.address === address)) needs.push({ address, sw });
        }
        parts.push(this.recursivePath(prefix, address, table));
      } catch (err) {
        if (mode === 'write') throw err;
        // not ours to name any more
      }
    }
    const paths = parts.length === 0 ? NO_PATHS : parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    return { paths, needs: needs.length === 0 ? NO_NEEDS : needs, checked: -1 };
  }

  /**
   * For a list with an interface-only hop, the prefix's own address when it
   * is a host route (null otherwise): such paths depend on the prefix.
   * Undefined when every hop has its address (the list's paths can be kept).
   */
  private hostAddressFor(prefix: string, nexthops: readonly FibNextHop[]): string | null | undefined {
    if (nexthops.every((nh) => nh.address !== undefined)) return undefined;
    const p = parsePrefix(prefix, true);
    if (!p) throw new RouteError(`${prefix}: not a prefix`);
    return p.len === (p.family === 4 ? 32 : 128) ? formatIp(p.bytes) : null;
  }

  /** hostAddressFor for a previous route: never throws (an unreadable one has nothing to remove). */
  private hostAddressForPrevious(prefix: string, nexthops: readonly FibNextHop[]): string | null | undefined {
    try {
      return this.hostAddressFor(prefix, nexthops);
    } catch {
      return null;
    }
  }

  /** The sw_if_index of a next hop's tunnel (ours, in VPP now), or a RouteError. */
  private tunnelIndex(prefix: string, nh: FibNextHop): number {
    if (nh.interface === undefined) {
      throw new RouteError(`${prefix}: next hop ${nh.address ?? '?'} names no interface (the VPP FIB takes routes via the agent's WireGuard interfaces only)`);
    }
    const sw = underlayIndex(nh.interface) ?? this.deps.interfaces.swIfIndexOf(nh.interface);
    if (sw === undefined) throw new RouteError(`${prefix}: ${nh.interface} is not a WireGuard interface of this agent in VPP`);
    return sw;
  }

  /** One direct fib_path's bytes (see the file comment). */
  private path(prefix: string, nh: FibNextHop, hostAddress: string | null): Buffer {
    const sw = this.tunnelIndex(prefix, nh);
    const address = nh.address ?? hostAddress;
    if (address === null) {
      throw new RouteError(
        `${prefix}: a route via WireGuard interface ${nh.interface ?? '?'} needs a next-hop address (VPP drops non-host routes without one: NBMA interface)`,
      );
    }
    return this.cachedPath(this.pathCache, `${sw}|${address}`, prefix, address, { sw });
  }

  /**
   * One recursive fib_path's bytes: via `address`, resolved in the PIC
   * table, resolve-via-host, the table's preference (vpp-pic.ts). The same
   * next hop and table are the same bytes, hence the same path to VPP.
   */
  private recursivePath(prefix: string, address: string, table: PicTable): Buffer {
    const via = { sw: NO_INDEX, tableId: table.id, preference: table.preference, flags: FLAG_RESOLVE_VIA_HOST };
    return this.cachedPath(this.recursiveCache, `${table.id}|${address}`, prefix, address, via);
  }

  /**
   * The bytes of the fib_path via `address` (fibPath: proto is the next
   * hop's family, not the route's, RFC 8950), from `cache` under `key`:
   * encoded on the first use (a full cache, 65 536 paths, is emptied
   * first); a RouteError when `address` is not an IP address.
   */
  private cachedPath(cache: BoundedCache<string, Buffer>, key: string, prefix: string, address: string, via: FibPathVia): Buffer {
    const path = cache.get(key);
    if (path !== undefined) return path;
    if (!parseIp(address)) throw new RouteError(`${prefix}: next hop ${address} is not an IP address`);
    return cache.set(key, encodeFibPath(fibPath(address, via)));
  }

  // ─── dump ──────────────────────────────────────────────────────────────

  /** Our paths of the route as a FibRoute (see the file comment), or null when it has none. */
  private ours(route: DumpedRoute, memo: OursMemo): FibRoute | null {
    const paths = route.paths;
    if (paths.length === 0) return null;
    let prefix: string;
    try {
      prefix = fromVppPrefix(route.prefix);
    } catch {
      return null;
    }
    const len = num(route.prefix.len);
    const full = len === (num(rec(route.prefix.address).af) === ADDRESS_IP6 ? 128 : 32);
    // Not a host route: what it reports depends on its paths' bytes alone, and a table's routes come in runs of the same paths.
    if (!full && memo.bytes !== null && memo.bytes.equals(route.pathBytes)) {
      const m = memo.result;
      if (m === null) return null;
      if (m.extra !== null) this.dumpedExtra.set(prefix, m.extra);
      return m.backup === null ? { prefix, nexthops: m.nexthops } : { prefix, nexthops: m.nexthops, backup: m.backup };
    }
    const r = this.decodeOurs(prefix, route, full);
    if (!full) {
      memo.bytes = route.pathBytes;
      memo.result = r === null ? null : { nexthops: r.nexthops, backup: r.backup ?? null, extra: this.dumpedExtra.get(prefix) ?? null };
    }
    return r;
  }

  /** ours() for a route the memo does not know. */
  private decodeOurs(prefix: string, route: DumpedRoute, full: boolean): FibRoute | null {
    const paths = route.paths;
    const hostAddress = full ? formatIp(parsePrefix(prefix)!.bytes) : null;
    const nexthops: FibNextHop[] = [];
    const backup: FibNextHop[] = [];
    /** Paths found that the reported route would not be written with. */
    const extra: Buffer[] = [];
    const push = (to: FibNextHop[], hop: FibNextHop): void => {
      if (!to.some((h) => h.address === hop.address && h.interface === hop.interface)) to.push(hop);
    };
    for (const v of paths) {
      const path = rec(v);
      const r = this.pic.enabled ? decodeRecursive(path) : null;
      if (r !== null) {
        const sw = this.pic.swOf(r.address);
        const name = sw === undefined ? undefined : this.deps.interfaces.ownedNameOf(sw);
        push(r.table === PIC_PRIMARY ? nexthops : backup, name === undefined ? { address: r.address } : { address: r.address, interface: name });
        continue;
      }
      const d = decodePath(path);
      const name = d === null ? undefined : this.deps.interfaces.ownedNameOf(d.sw);
      // Connected / glean (no next hop) is VPP's own.
      if (d === null || name === undefined || d.address === null) continue;
      const { sw, address } = d;
      if (address === hostAddress && paths.length === 1 && derivedPartner(this.deps.interfaces.interfaceAddresses(sw), address)) return null;
      // A host route's next hop equal to its own address is how apply() wrote an interface-only hop.
      const hop: FibNextHop = address === hostAddress ? { interface: name } : { address, interface: name };
      push(nexthops, hop);
      if (this.recursive(hop)) {
        try {
          extra.push(this.path(prefix, hop, hostAddress));
        } catch {
          // cannot be named: not removable by us
        }
      }
    }
    if (nexthops.length === 0 && backup.length === 0) return null;
    if (nexthops.length === 0) {
      // Backup paths without a primary (a write cut short): reported as the route, removed as what they are.
      for (const hop of backup) extra.push(this.recursivePath(prefix, hop.address!, PIC_BACKUP));
      nexthops.push(...backup);
      backup.length = 0;
    }
    if (extra.length > 0) this.dumpedExtra.set(prefix, Buffer.concat(extra));
    return backup.length === 0 ? { prefix, nexthops } : { prefix, nexthops, backup };
  }
}
