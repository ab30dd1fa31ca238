/**
 * The VPP FIB through the binary API (fact sheet §2.3, §4.3, §5).
 *
 * Writes: one ip_route_add_del per op, all of a batch sent without waiting
 * (the client pipelines them in one socket write per tick, VPP answers in
 * order), then every reply awaited. A replace is is_add=1, is_multipath=0:
 * the route's whole API path set is replaced, an idempotent upsert. One
 * fib_path per next hop: the tunnel's sw_if_index (by its tag), the next hop
 * in the union with the proto of the NEXT HOP's family (an IPv4 route via an
 * IPv6 next hop is proto IP6: RFC 8950), weight 1, preference 0, NORMAL. A
 * WireGuard interface is NBMA: a host route without an address gets the
 * prefix's own address as next hop (what VPP does itself), any other route
 * without one is refused (VPP would drop its traffic).
 *
 * Ownership: a route in `tableId` is OURS when it has paths and every path is
 * a NORMAL path with a next-hop address through a WireGuard interface this
 * agent tagged with a configured interface name (one it ensured in this run).
 * dump() returns only those (both families, from ip_route_dump); VPP's own
 * entries (connected/glean: no next hop; local: LOCAL; default/special:
 * DROP; anything via other interfaces or recursive) are never returned, so
 * the FibManager never deletes them. A delete (is_add=0) removes only the API
 * source of a prefix: interface-sourced entries stay.
 */
import type { Logger } from '#lib/log';
import { formatIp, parseIp, parsePrefix, type ParsedPrefix } from '#lib/prefix';
import {
  ADDRESS_IP4,
  ADDRESS_IP6,
  fromVppAddressUnion,
  fromVppPrefix,
  toVppAddressUnion,
  VppApiError,
  vnetApiErrorName,
  type VppClient,
  type VppRecord,
  type VppValue,
} from '#vpp/index';
import type { FibBackend, FibNextHop, FibOp, FibRoute } from './types.js';

const NO_INDEX = 0xffffffff;
const PATH_TYPE_NORMAL = 0;
const NH_PROTO_IP4 = 0;
const NH_PROTO_IP6 = 1;
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
  return err instanceof Error ? err.message : String(err);
}

function rec(v: VppValue | undefined): VppRecord {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) ? v : {};
}
const num = (v: VppValue | undefined): number => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : 0);

class RouteError extends Error {}

/** toVppPrefix without parsing the text again (the hot path of apply). */
function vppPrefixOf(p: ParsedPrefix): VppRecord {
  const bytes = Buffer.from(p.bytes.buffer, p.bytes.byteOffset, p.bytes.length);
  return { address: { af: p.family === 4 ? ADDRESS_IP4 : ADDRESS_IP6, un: p.family === 4 ? { ip4: bytes } : { ip6: bytes } }, len: p.len };
}

function zeroNextHop(path: VppRecord): boolean {
  const un = rec(rec(path.nh).address);
  const b = num(path.proto) === NH_PROTO_IP6 ? un.ip6 : un.ip4;
  return !(b instanceof Uint8Array) || b.every((x) => x === 0);
}

export class VppFib implements FibBackend {
  readonly name = 'vpp' as const;
  private tablesReady = false;
  /** fib_path records by "sw_if_index|next hop": shared by the many routes of one neighbor. */
  private pathCache = new Map<string, VppRecord>();
  private pathCacheGeneration = -1;

  constructor(private readonly deps: VppFibDeps) {}

  /** On every connect: the table for learned routes (table 0 always exists). */
  async load(client: VppClient): Promise<void> {
    this.tablesReady = false;
    this.pathCache.clear();
    await this.ensureTables(client);
  }

  lost(): void {
    this.tablesReady = false;
    this.pathCache.clear();
  }

  async dump(): Promise<FibRoute[]> {
    const client = await this.deps.ready();
    const tableId = this.deps.tableId;
    const [v4, v6] = await Promise.all([
      client.dump('ip_route_dump', { table: { table_id: tableId, is_ip6: false, name: '' } }),
      client.dump('ip_route_dump', { table: { table_id: tableId, is_ip6: true, name: '' } }),
    ]);
    const out: FibRoute[] = [];
    for (const d of [...v4, ...v6]) {
      const r = this.ours(rec(d.route));
      if (r) out.push(r);
    }
    return out;
  }

  /**
   * Pipelined: every request is sent before the first reply is awaited.
   * Failures come back per prefix: { prefix, error: 'VNET_API_ERROR_… (-54)' }.
   */
  async apply(ops: FibOp[]): Promise<{ prefix: string; error: string }[]> {
    if (ops.length === 0) return [];
    const client = await this.deps.ready();
    if (!this.tablesReady) await this.ensureTables(client);
    const failed: { prefix: string; error: string }[] = [];
    const pending: Promise<void>[] = [];
    for (const op of ops) {
      const prefix = op.op === 'replace' ? op.route.prefix : op.prefix;
      let values: VppRecord;
      try {
        values = op.op === 'replace' ? this.encodeReplace(op.route) : this.encodeDelete(op.prefix);
      } catch (err) {
        failed.push({ prefix, error: err instanceof Error ? err.message : String(err) });
        continue;
      }
      pending.push(
        client.request('ip_route_add_del', values).then(
          () => undefined,
          (err: unknown) => void failed.push({ prefix, error: vppErrorText(err) }),
        ),
      );
    }
    await Promise.all(pending);
    if (failed.length > 0) {
      const first = failed[0]!;
      this.deps.log.warn({ failed: failed.length, of: ops.length, first }, 'VPP refused FIB writes');
      this.deps.report?.('fib', `FIB: ${failed.length} of ${ops.length} route write(s) failed, e.g. ${first.prefix}: ${first.error}`);
    } else {
      this.deps.report?.('fib', null);
    }
    return failed;
  }

  /**
   * Before the tunnel backend deletes an interface: our routes through it go
   * (VPP would keep them, unresolved, on a dead sw_if_index); a multipath
   * route loses just that path (is_multipath=1). Returns how many were touched.
   */
  async purgeInterface(client: VppClient, swIfIndex: number): Promise<number> {
    const tableId = this.deps.tableId;
    const dumps = await Promise.all(
      [false, true].map((isIp6) => client.dump('ip_route_dump', { table: { table_id: tableId, is_ip6: isIp6, name: '' } })),
    );
    const writes: Promise<unknown>[] = [];
    for (const d of dumps.flat()) {
      const route = rec(d.route);
      const paths = (Array.isArray(route.paths) ? route.paths : []).map(rec);
      const via = paths.filter((p) => num(p.sw_if_index) === swIfIndex && num(p.type) === PATH_TYPE_NORMAL && !zeroNextHop(p));
      if (via.length === 0) continue;
      const all = via.length === paths.length;
      writes.push(
        client
          .request('ip_route_add_del', { is_add: false, is_multipath: !all, route: { table_id: tableId, prefix: route.prefix ?? {}, paths: all ? [] : via } })
          .catch((err: unknown) => this.deps.log.warn({ err: vppErrorText(err) }, 'VPP route via a removed interface not deleted')),
      );
    }
    await Promise.all(writes);
    return writes.length;
  }

  /** The connection belongs to VppDataplane. */
  async close(): Promise<void> {}

  // ─── encoding ──────────────────────────────────────────────────────────

  private async ensureTables(client: VppClient): Promise<void> {
    const tableId = this.deps.tableId;
    if (tableId !== 0) {
      await Promise.all(
        [false, true].map((isIp6) => client.request('ip_table_add_del', { is_add: true, table: { table_id: tableId, is_ip6: isIp6, name: '' } })),
      );
    }
    this.tablesReady = true;
  }

  private encodeDelete(prefix: string): VppRecord {
    return { is_add: false, is_multipath: false, route: { table_id: this.deps.tableId, prefix: this.prefix(prefix), paths: [] } };
  }

  private encodeReplace(route: FibRoute): VppRecord {
    if (route.nexthops.length === 0) throw new RouteError(`${route.prefix}: no next hop`);
    if (route.nexthops.length > MAX_PATHS) throw new RouteError(`${route.prefix}: ${route.nexthops.length} next hops, VPP takes at most ${MAX_PATHS}`);
    const p = parsePrefix(route.prefix, true);
    if (!p) throw new RouteError(`${route.prefix}: not a prefix`);
    const host = p.len === (p.family === 4 ? 32 : 128);
    const paths: VppRecord[] = [];
    for (const nh of route.nexthops) paths.push(this.path(route.prefix, nh, host ? formatIp(p.bytes) : null));
    return { is_add: true, is_multipath: false, route: { table_id: this.deps.tableId, prefix: vppPrefixOf(p), paths } };
  }

  private prefix(prefix: string): VppRecord {
    const p = parsePrefix(prefix, true);
    if (!p) throw new RouteError(`${prefix}: not a prefix`);
    return vppPrefixOf(p);
  }

  private path(prefix: string, nh: FibNextHop, hostAddress: string | null): VppRecord {
    if (nh.interface === undefined) {
      throw new RouteError(`${prefix}: next hop ${nh.address ?? '?'} names no interface (the VPP FIB takes routes via the agent's WireGuard interfaces only)`);
    }
    const sw = this.deps.interfaces.swIfIndexOf(nh.interface);
    if (sw === undefined) throw new RouteError(`${prefix}: ${nh.interface} is not a WireGuard interface of this agent in VPP`);
    const address = nh.address ?? hostAddress;
    if (address === null) {
      throw new RouteError(
        `${prefix}: a route via WireGuard interface ${nh.interface} needs a next-hop address (VPP drops non-host routes without one: NBMA interface)`,
      );
    }
    if (this.pathCacheGeneration !== this.deps.interfaces.generation) {
      this.pathCache.clear();
      this.pathCacheGeneration = this.deps.interfaces.generation;
    }
    const key = `${sw}|${address}`;
    let path = this.pathCache.get(key);
    if (!path) {
      const ip = parseIp(address);
      if (!ip) throw new RouteError(`${prefix}: next hop ${address} is not an IP address`);
      path = {
        sw_if_index: sw,
        table_id: 0,
        rpf_id: 0,
        weight: 1,
        preference: 0,
        type: PATH_TYPE_NORMAL,
        flags: 0,
        // The next hop's family, not the route's (RFC 8950: IPv4 via IPv6).
        proto: ip.family === 4 ? NH_PROTO_IP4 : NH_PROTO_IP6,
        nh: { address: toVppAddressUnion(address), via_label: 0, obj_id: 0, classify_table_index: 0 },
        n_labels: 0,
      };
      if (this.pathCache.size >= 65536) this.pathCache.clear();
      this.pathCache.set(key, path);
    }
    return path;
  }

  // ─── dump ──────────────────────────────────────────────────────────────

  /** The route as a FibRoute when it is ours (see the file comment), else null. */
  private ours(route: VppRecord): FibRoute | null {
    const paths = Array.isArray(route.paths) ? route.paths : [];
    if (paths.length === 0) return null;
    let prefix: string;
    try {
      prefix = fromVppPrefix(route.prefix);
    } catch {
      return null;
    }
    const p = parsePrefix(prefix)!;
    const hostAddress = p.len === (p.family === 4 ? 32 : 128) ? formatIp(p.bytes) : null;
    const nexthops: FibNextHop[] = [];
    for (const v of paths) {
      const path = rec(v);
      if (num(path.type) !== PATH_TYPE_NORMAL) return null;
      const sw = num(path.sw_if_index);
      if (sw === NO_INDEX) return null;
      const name = this.deps.interfaces.ownedNameOf(sw);
      if (name === undefined) return null;
      const proto = num(path.proto);
      if (proto !== NH_PROTO_IP4 && proto !== NH_PROTO_IP6) return null;
      let address: string;
      try {
        address = fromVppAddressUnion(rec(path.nh).address, proto === NH_PROTO_IP6 ? ADDRESS_IP6 : ADDRESS_IP4);
      } catch {
        return null;
      }
      if (address === '0.0.0.0' || address === '::') return null; // connected / glean: VPP's own
      if (address === hostAddress && paths.length === 1 && derivedPartner(this.deps.interfaces.interfaceAddresses(sw), address)) return null;
      // A host route's next hop equal to its own address is how apply() wrote an interface-only hop.
      nexthops.push(address === hostAddress ? { interface: name } : { address, interface: name });
    }
    return { prefix, nexthops };
  }
}
