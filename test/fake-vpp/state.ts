/**
 * The fake VPP's state and semantics, free of wire formats: plain data tests
 * can assert on, and the operations the API handlers map onto. Every mutating
 * operation returns a VPP retval (0 or a negative VNET_API_ERROR_*) and leaves
 * the state untouched when it fails.
 *
 * The behaviour follows /work/shared/reference/vpp-binary-api.md and the VPP
 * sources it cites (v25.10): wireguard_if.c / wireguard_peer.c / wireguard_api.c,
 * ip4_forward.c / ip6_forward.c (interface addresses), fib_api.c (routes),
 * interface_api.c, lcp_api.c / lcp_interface.c.
 */
import { randomBytes } from 'node:crypto';
import {
  equalBytes,
  formatIp,
  formatPrefix,
  isLinkLocalV6,
  maskBytes,
  parseIp,
  parsePrefix,
  type Family,
} from '#lib/prefix';
import { publicKeyOf } from '#wg/keys';

/** ~0 on the wire: "none", "all", "auto". */
export const NO_INDEX = 0xffffffff;

/** The VNET_API_ERROR_* values the fake returns (src/vnet/error.h). */
export const RV = {
  OK: 0,
  UNSPECIFIED: -1,
  INVALID_SW_IF_INDEX: -2,
  NO_SUCH_FIB: -3,
  NO_SUCH_ENTRY: -6,
  INVALID_VALUE: -7,
  INVALID_VALUE_2: -8,
  INVALID_SW_IF_INDEX_2: -10,
  INVALID_REGISTRATION: -31,
  NO_PATHS_IN_ROUTE: -52,
  NO_MATCHING_INTERFACE: -54,
  ADDRESS_LENGTH_MISMATCH: -59,
  ADDRESS_NOT_FOUND_FOR_INTERFACE: -60,
  ADDRESS_NOT_DELETABLE: -61,
  INVALID_ARGUMENT: -73,
  VALUE_EXIST: -81,
  ADDRESS_IN_USE: -105,
  ENTRY_ALREADY_EXISTS: -116,
  DUPLICATE_IF_ADDRESS: -127,
  INVALID_PREFIX_LENGTH: -171,
} as const;

/** if_status_flags. */
export const IF_ADMIN_UP = 1;
export const IF_LINK_UP = 2;
/** wireguard_peer_flags (bits). */
export const PEER_DEAD = 1;
export const PEER_ESTABLISHED = 2;
/** fib_path_type. */
export const PATH_NORMAL = 0;
export const PATH_LOCAL = 1;
export const PATH_DROP = 2;
/** fib_path_nh_proto. */
export const NH_IP4 = 0;
export const NH_IP6 = 1;
/** lcp_itf_host_type. */
export const HOST_TAP = 0;
export const HOST_TUN = 1;

/** The instance limit of wg interfaces (WG_ITF_MAX_INSTANCE). */
const WG_MAX_INSTANCE = 16384;

export type InterfaceKind = 'local' | 'loopback' | 'ethernet' | 'wireguard' | 'tun' | 'tap';

export interface FakeWireguard {
  instance: number;
  privateKey: Buffer;
  publicKey: Buffer;
  port: number;
  /** Outer source address, or null when the request's was all zero. */
  srcIp: string | null;
}

export interface FakeInterface {
  swIfIndex: number;
  /** Never reused (sw_if_index is): tells a recreated interface from the old one. */
  serial: number;
  /** VPP's name: 'local0', 'loop0', 'wg3', 'tun0'. */
  name: string;
  devType: string;
  kind: InterfaceKind;
  tag: string;
  adminUp: boolean;
  linkUp: boolean;
  mac: Buffer;
  /** The hardware MTU (link_mtu). */
  linkMtu: number;
  /** Per protocol (L3, IP4, IP6, MPLS), 0 = unset: a new wg interface has none (seen on VPP 26.06: 0/0/0/0). */
  mtu: number[];
  /** Interface addresses as given ("10.255.0.0/31", "fd00::1/127"), host bits kept, in add order. */
  addresses: string[];
  /** The IPv6 link-local set with add_del_address (it must be a /128 there), e.g. "fe80::1". */
  linkLocal: string | null;
  /** sw_if_index whose addresses this interface borrows (sw_interface_set_unnumbered), or null. */
  unnumberedTo: number | null;
  /** ip6 enabled with sw_interface_ip6_enable_disable (an IPv6 address or unnumbered enables it as well). */
  ip6Enabled: boolean;
  /** FIB table per family (always 0: the fake has no sw_interface_set_table). */
  tableId: Record<Family, number>;
  wireguard: FakeWireguard | null;
}

export interface FakePeer {
  peerIndex: number;
  /** Never reused (peer_index is): tells a re-added peer from the removed one. */
  serial: number;
  swIfIndex: number;
  publicKey: Buffer;
  /** Current endpoint (learned ones included), or null while unknown (0.0.0.0 / ::). */
  endpoint: string | null;
  port: number;
  persistentKeepalive: number;
  tableId: number;
  /** Canonical prefixes ("0.0.0.0/0", "::/0"). */
  allowedIps: string[];
  /** PEER_* bits. */
  flags: number;
  /** Clients registered for this peer's events (want_wireguard_peer_events): client index → pid. Survives disconnects, as in VPP. */
  subscribers: Map<number, number>;
}

export interface FakeLcpPair {
  /** Index in linux-cp's pair pool: the lcp_itf_pair_get cursor. */
  index: number;
  phySwIfIndex: number;
  /** The VPP tun/tap interface linux-cp created for the host side. */
  hostSwIfIndex: number;
  hostIfName: string;
  /** HOST_TAP or HOST_TUN. */
  hostIfType: number;
  /** '' = linux-cp's default namespace. */
  netns: string;
  /** Linux ifindex of the host interface (a made-up number unless realized). */
  vifIndex: number;
}

export interface FibPath {
  /** NO_INDEX for recursive / deag / drop. */
  swIfIndex: number;
  tableId: number;
  /** Next hop, or null when zero (attached / host route). */
  nh: string | null;
  /** NH_IP4 / NH_IP6 (fib_path_nh_proto). */
  proto: number;
  weight: number;
  preference: number;
  /** PATH_* (fib_path_type). */
  type: number;
  flags: number;
}

/**
 * Sources in VPP's priority order (best first, src/vnet/fib/fib_source.h):
 * a dump shows the paths of an entry's best source.
 */
export const FIB_SOURCES = ['special', 'interface', 'api', 'default-route', 'recursive-resolution'] as const;
export type FibSource = (typeof FIB_SOURCES)[number];

/** fib_path_flags (bits). */
export const PATH_FLAG_RESOLVE_VIA_ATTACHED = 1;
export const PATH_FLAG_RESOLVE_VIA_HOST = 2;

/** One adjacency a prefix's traffic leaves by: an interface and a next hop (null: attached). */
export interface FibLeaf {
  swIfIndex: number;
  nh: string | null;
  weight: number;
}

/**
 * What VPP forwards with (fib_entry_src.c, fib_path.c): 'forward' over
 * `via`, or 'drop' (no entry, no resolved path, a drop path), or 'local'.
 */
export type FibForwarding = { kind: 'forward'; via: FibLeaf[] } | { kind: 'drop' } | { kind: 'local' };

/** Recursion deeper than this is a loop (VPP detects loops; the fake just stops). */
const MAX_RECURSION = 8;

export interface FibEntry {
  /** Canonical prefix, host bits zero. */
  prefix: string;
  sources: Partial<Record<FibSource, FibPath[]>>;
  statsIndex: number;
}

export interface FibTable {
  tableId: number;
  family: Family;
  name: string;
  entries: Map<string, FibEntry>;
}

/** A route as ip_route_dump shows it. */
export interface FibRouteView {
  prefix: string;
  source: FibSource;
  paths: FibPath[];
}

/** Callbacks of the state: the server turns them into events, the realizer into Linux changes. */
export interface StateHooks {
  /** One interface event (VPP batches them per interface; `bits` says what happened). */
  interfaceEvent(swIfIndex: number, bits: { adminUp?: boolean; linkUp?: boolean; deleted?: boolean }): void;
  /** A peer's flags changed: send wireguard_peer_event to its subscribers. */
  peerFlags(peer: FakePeer): void;
  /** Anything changed that Linux realization may mirror. */
  changed(): void;
}

const NOOP_HOOKS: StateHooks = { interfaceEvent: () => {}, peerFlags: () => {}, changed: () => {} };

/** VPP's pools reuse the most recently freed index first (vppinfra pool_get). */
class IndexPool {
  private next: number;
  private readonly free: number[] = [];
  constructor(first = 0) {
    this.next = first;
  }
  alloc(): number {
    return this.free.pop() ?? this.next++;
  }
  release(i: number): void {
    this.free.push(i);
  }
}

function fibKey(family: Family, tableId: number): string {
  return `${family}:${tableId}`;
}

/** "a.b.c.d/len" of an address with its host bits cleared. */
function networkOf(addr: Uint8Array, len: number): string {
  return formatPrefix({ family: addr.length === 4 ? 4 : 6, bytes: maskBytes(addr, len), len });
}

/**
 * VPP's path identity (fib_path.c, fib_path_cmp_i): type, next-hop proto,
 * next hop, interface, and for a recursive path the table. Weight and
 * preference (and flags) are not part of it: "different weights and/or
 * preference only are the same path".
 */
function samePath(a: FibPath, b: FibPath): boolean {
  return a.type === b.type && a.swIfIndex === b.swIfIndex && a.nh === b.nh && a.proto === b.proto &&
    (a.swIfIndex !== NO_INDEX || a.tableId === b.tableId);
}

/** A path list as VPP keeps it: sorted by preference first (fib_path_cmp_for_sort; stable otherwise here). */
function byPreference(paths: FibPath[]): FibPath[] {
  return paths.map((p, i) => [p, i] as const).sort((x, y) => x[0].preference - y[0].preference || x[1] - y[1]).map(([p]) => p);
}

function hostLen(family: Family): number {
  return family === 4 ? 32 : 128;
}

export interface RouteRequest {
  isAdd: boolean;
  isMultipath: boolean;
  tableId: number;
  /** Prefix as sent, possibly with host bits or a bad length: "10.0.0.1/24", "1.2.3.4/40". */
  family: Family;
  address: Uint8Array;
  len: number;
  paths: FibPath[];
}

export interface PeerRequest {
  swIfIndex: number;
  publicKey: Buffer;
  endpoint: string | null;
  port: number;
  persistentKeepalive: number;
  tableId: number;
  allowedIps: string[];
}

export class FakeState {
  /** By sw_if_index. */
  readonly interfaces = new Map<number, FakeInterface>();
  /** By peer_index. */
  readonly peers = new Map<number, FakePeer>();
  /** By phy sw_if_index. */
  readonly lcpPairs = new Map<number, FakeLcpPair>();
  /** By `${family}:${tableId}`; use table(). */
  readonly fib = new Map<string, FibTable>();

  hooks: StateHooks = NOOP_HOOKS;

  private readonly swIfIndexPool = new IndexPool(0);
  private readonly peerPool = new IndexPool(0);
  private readonly pairPool = new IndexPool(0);
  private readonly wgInstances = new Set<number>();
  private readonly tunInstances = new Set<number>();
  private readonly loopInstances = new Set<number>();
  private nextStatsIndex = 1;
  private nextSerial = 1;
  private nextVifIndex = 1000;

  constructor() {
    this.addInterface({ kind: 'local', name: 'local0', devType: 'local' });
    this.createTable(4, 0, 'ipv4-VRF:0');
    this.createTable(6, 0, 'ipv6-VRF:0');
  }

  // ─── queries ────────────────────────────────────────────────────────────

  table(family: Family, tableId: number): FibTable | undefined {
    return this.fib.get(fibKey(family, tableId));
  }

  /**
   * Every entry of a table as ip_route_dump returns it (best source's paths),
   * sorted by prefix text. That includes the entries VPP adds for the next
   * hops recursive paths resolve through (fib_path.c: a host entry of the
   * recursive-resolution source in the next hop's table), where no other
   * source holds one: they show their cover's paths (fib_entry_encode walks
   * the entry's parent path list, the cover's), the default route's drop in a
   * table of host routes.
   */
  routes(family: Family, tableId = 0): FibRouteView[] {
    const t = this.table(family, tableId);
    if (!t) return [];
    const out: FibRouteView[] = [];
    for (const e of t.entries.values()) {
      const best = this.bestSource(e);
      if (best) out.push({ prefix: e.prefix, source: best, paths: e.sources[best]! });
    }
    for (const prefix of this.resolvedThrough(family, tableId)) {
      if (t.entries.has(prefix)) continue;
      const p = parsePrefix(prefix)!;
      const cover = this.lookup(family, tableId, p.bytes, p.len - 1, false);
      out.push({ prefix, source: 'recursive-resolution', paths: cover?.paths ?? [] });
    }
    return out.sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
  }

  /** Host prefixes of `tableId` that recursive paths (of any table's entries) resolve through. */
  private resolvedThrough(family: Family, tableId: number): Set<string> {
    const out = new Set<string>();
    for (const t of this.fib.values()) {
      for (const e of t.entries.values()) {
        for (const paths of Object.values(e.sources)) {
          for (const p of paths) {
            if (p.type !== PATH_NORMAL || p.swIfIndex !== NO_INDEX || p.nh === null || p.tableId !== tableId) continue;
            if ((p.proto === NH_IP6 ? 6 : 4) === family) out.add(`${p.nh}/${hostLen(family)}`);
          }
        }
      }
    }
    return out;
  }

  /**
   * What VPP forwards `prefix`'s traffic with now, in `tableId`: the entry
   * for exactly that prefix, else the longest match of its address. The best
   * source's paths in preference order; a path that is not resolved is
   * skipped, the first resolved one sets the preference, and the walk stops at
   * a resolved path of another (fib_entry_src.c,
   * fib_entry_src_collect_forwarding). Resolved (fib_path.c): a path through
   * an interface that exists and is up (admin and link); a recursive path
   * when the entry it resolves through (the next hop's host entry with
   * RESOLVE_VIA_HOST, else the longest match in its table) forwards other than
   * by dropping; a drop path contributes a drop. No resolved path: drop.
   */
  forwarding(prefix: string, tableId = 0): FibForwarding {
    const p = parsePrefix(prefix, true);
    if (!p) return { kind: 'drop' };
    const hit = this.lookup(p.family, tableId, p.bytes, p.len, false);
    if (!hit) return { kind: 'drop' };
    return this.resolvePaths(p.family, hit.paths, 0);
  }

  /** What a set of paths of a `family` entry forwards with (see forwarding()). */
  forwardingOfPaths(family: Family, paths: readonly FibPath[]): FibForwarding {
    return this.resolvePaths(family, paths, 0);
  }

  /** The interfaces (sw_if_index, sorted) `prefix`'s traffic leaves by now; [] when it is dropped or local. */
  forwardingInterfaces(prefix: string, tableId = 0): number[] {
    const f = this.forwarding(prefix, tableId);
    return f.kind === 'forward' ? [...new Set(f.via.map((l) => l.swIfIndex))].sort((a, b) => a - b) : [];
  }

  private resolvePaths(family: Family, paths: readonly FibPath[], depth: number): FibForwarding {
    let preference: number | null = null;
    const via: FibLeaf[] = [];
    let local = false;
    for (const path of byPreference([...paths])) {
      const r = this.resolvePath(family, path, depth);
      if (r === null) continue;
      if (preference === null) preference = path.preference;
      else if (path.preference !== preference) break;
      if (r.kind === 'forward') via.push(...r.via);
      else if (r.kind === 'local') local = true;
    }
    if (via.length > 0) return { kind: 'forward', via };
    if (local) return { kind: 'local' };
    return { kind: 'drop' };
  }

  /** One path's contribution, or null when it is not resolved. */
  private resolvePath(family: Family, p: FibPath, depth: number): FibForwarding | null {
    if (p.type === PATH_DROP) return { kind: 'drop' };
    if (p.type === PATH_LOCAL) return { kind: 'local' };
    if (p.type !== PATH_NORMAL) return null;
    if (p.swIfIndex !== NO_INDEX) {
      const itf = this.interfaces.get(p.swIfIndex);
      if (!itf || !itf.adminUp || !itf.linkUp) return null;
      return { kind: 'forward', via: [{ swIfIndex: p.swIfIndex, nh: p.nh, weight: p.weight }] };
    }
    // Recursive (a deag, no next hop, is not modelled).
    if (p.nh === null || depth >= MAX_RECURSION) return null;
    const viaFamily: Family = p.proto === NH_IP6 ? 6 : 4;
    const nh = parseIp(p.nh);
    if (!nh) return null;
    let paths: readonly FibPath[] | null;
    if ((p.flags & PATH_FLAG_RESOLVE_VIA_HOST) !== 0) {
      // Only a host entry some source other than recursive resolution holds.
      paths = this.lookup(viaFamily, p.tableId, nh.bytes, hostLen(viaFamily), true)?.paths ?? null;
    } else {
      paths = this.lookup(viaFamily, p.tableId, nh.bytes, hostLen(viaFamily), false)?.paths ?? null;
    }
    if (paths === null) return null;
    const r = this.resolvePaths(viaFamily, paths, depth + 1);
    // "If this path is contributing a drop, then it's not resolved" (fib_path_recursive_adj_update).
    return r.kind === 'drop' ? null : r;
  }

  /**
   * ip_route_lookup (fib_api.c): the entry an address or prefix resolves to in
   * a table, by longest match, or the exact entry; null when there is none.
   */
  lookup(family: Family, tableId: number, address: Uint8Array, len: number, exact: boolean): FibRouteView | null {
    const t = this.table(family, tableId);
    if (!t) return null;
    const bits = family === 4 ? 32 : 128;
    for (let l = exact ? len : Math.min(len, bits); l >= (exact ? len : 0); l--) {
      const e = t.entries.get(networkOf(address, l));
      const best = e ? this.bestSource(e) : null;
      if (e && best) return { prefix: e.prefix, source: best, paths: e.sources[best]! };
    }
    return null;
  }

  /** The API-sourced routes only (what the agent installed), prefix → paths. */
  apiRoutes(family: Family, tableId = 0): Map<string, FibPath[]> {
    const out = new Map<string, FibPath[]>();
    for (const e of this.table(family, tableId)?.entries.values() ?? []) {
      if (e.sources.api) out.set(e.prefix, e.sources.api);
    }
    return out;
  }

  bestSource(e: FibEntry): FibSource | null {
    for (const s of FIB_SOURCES) if (e.sources[s]) return s;
    return null;
  }

  interfaceByName(name: string): FakeInterface | undefined {
    for (const i of this.interfaces.values()) if (i.name === name) return i;
    return undefined;
  }

  /** Addresses ip_address_dump reports for an interface (an unnumbered one shows its donor's). */
  dumpAddresses(swIfIndex: number, family: Family): string[] {
    const itf = this.interfaces.get(swIfIndex);
    if (!itf) return [];
    const src = itf.unnumberedTo !== null ? this.interfaces.get(itf.unnumberedTo) ?? itf : itf;
    return src.addresses.filter((a) => parseIp(a.slice(0, a.indexOf('/')))?.family === family);
  }

  // ─── interfaces ─────────────────────────────────────────────────────────

  /**
   * Adds an interface directly (what startup.conf or a CLI would do): loopbacks
   * and ethernets for tests; wireguard and tun interfaces come from the API.
   */
  addInterface(opts: { kind: InterfaceKind; name?: string; devType?: string; adminUp?: boolean; mac?: Buffer }): FakeInterface {
    const swIfIndex = this.swIfIndexPool.alloc();
    let name = opts.name;
    if (name === undefined) {
      const pool = opts.kind === 'loopback' ? this.loopInstances : this.tunInstances;
      let n = 0;
      while (pool.has(n)) n++;
      pool.add(n);
      name = opts.kind === 'loopback' ? `loop${n}` : opts.kind === 'ethernet' ? `eth${swIfIndex}` : `${opts.kind}${n}`;
    }
    const devType = opts.devType ?? ({
      local: 'local',
      loopback: 'Loopback',
      ethernet: 'ethernet',
      wireguard: 'Wireguard Tunnel',
      tun: 'virtio',
      tap: 'virtio',
    } as const)[opts.kind];
    const adminUp = opts.adminUp ?? false;
    const itf: FakeInterface = {
      swIfIndex,
      serial: this.nextSerial++,
      name,
      devType,
      kind: opts.kind,
      tag: '',
      adminUp,
      linkUp: adminUp && opts.kind !== 'local',
      mac: opts.mac ?? (opts.kind === 'local' || opts.kind === 'wireguard' || opts.kind === 'tun'
        ? Buffer.alloc(6)
        : Buffer.from([0x02, 0xfe, ...randomBytes(4)])),
      linkMtu: opts.kind === 'wireguard' ? 0 : 9000,
      mtu: opts.kind === 'wireguard' ? [0, 0, 0, 0] : [9000, 0, 0, 0],
      addresses: [],
      linkLocal: null,
      unnumberedTo: null,
      ip6Enabled: false,
      tableId: { 4: 0, 6: 0 },
      wireguard: null,
    };
    this.interfaces.set(swIfIndex, itf);
    this.hooks.interfaceEvent(swIfIndex, {});
    this.hooks.changed();
    return itf;
  }

  setFlags(swIfIndex: number, flags: number): number {
    const itf = this.interfaces.get(swIfIndex);
    if (!itf) return RV.INVALID_SW_IF_INDEX;
    const up = (flags & IF_ADMIN_UP) !== 0;
    if (itf.adminUp === up) return RV.OK;
    itf.adminUp = up;
    // wg (wg_if_admin_up_down), loopbacks and the host taps: link follows admin.
    if (itf.kind !== 'local') itf.linkUp = up;
    this.hooks.interfaceEvent(swIfIndex, { adminUp: up, linkUp: itf.linkUp });
    if (!up && itf.kind === 'wireguard') {
      // wg_peer_if_admin_state_change → wg_peer_disable: ESTABLISHED cleared.
      for (const p of this.peers.values()) if (p.swIfIndex === swIfIndex) this.setPeerFlag(p, PEER_ESTABLISHED, false);
    }
    this.hooks.changed();
    return RV.OK;
  }

  setTag(swIfIndex: number, isAdd: boolean, tag: string): number {
    const itf = this.interfaces.get(swIfIndex);
    if (!itf) return RV.INVALID_SW_IF_INDEX;
    if (isAdd && tag === '') return RV.INVALID_VALUE;
    itf.tag = isAdd ? tag.slice(0, 63) : '';
    this.hooks.changed();
    return RV.OK;
  }

  ip6EnableDisable(swIfIndex: number, enable: boolean): number {
    const itf = this.interfaces.get(swIfIndex);
    if (!itf) return RV.INVALID_SW_IF_INDEX;
    // VPP 26.06 (ip6_link_enable): enabling what is enabled already is VALUE_EXIST, as seen on a real VPP.
    if (enable && itf.ip6Enabled) return RV.VALUE_EXIST;
    itf.ip6Enabled = enable;
    this.hooks.changed();
    return RV.OK;
  }

  /** sw_interface_set_mtu: all four values as given (VPP 26.06 sets each, 0 included). */
  setMtu(swIfIndex: number, mtu: number[]): number {
    const itf = this.interfaces.get(swIfIndex);
    if (!itf) return RV.INVALID_SW_IF_INDEX;
    if (mtu.length !== 4) return RV.INVALID_VALUE;
    itf.mtu = mtu;
    this.hooks.changed();
    return RV.OK;
  }

  /** sw_interface_set_unnumbered: `donor` = the message's sw_if_index, `target` = unnumbered_sw_if_index. */
  setUnnumbered(donor: number, target: number, isAdd: boolean): number {
    const t = this.interfaces.get(target);
    if (!t) return RV.INVALID_SW_IF_INDEX;
    if (isAdd && !this.interfaces.has(donor)) return RV.INVALID_SW_IF_INDEX_2;
    t.unnumberedTo = isAdd ? donor : null;
    if (isAdd) t.ip6Enabled = true;
    this.hooks.changed();
    return RV.OK;
  }

  /**
   * sw_interface_add_del_address. IPv4: an overlap with another interface's
   * (or another length's) address in the same table, and the same address
   * again, → -105 ADDRESS_IN_USE (seen on a real VPP 26.06). IPv6: both → -127
   * DUPLICATE_IF_ADDRESS. An IPv6
   * link-local must be a /128 (-59) and sets the interface's link-local; it
   * cannot be deleted (-61). Delete of a missing address → -60.
   */
  addDelAddress(swIfIndex: number, isAdd: boolean, delAll: boolean, family: Family, address: Uint8Array, len: number): number {
    const itf = this.interfaces.get(swIfIndex);
    if (!itf) return RV.INVALID_SW_IF_INDEX;
    if (delAll) {
      itf.addresses = [];
      this.rebuildInterfaceRoutes();
      this.hooks.changed();
      return RV.OK;
    }
    const max = family === 4 ? 32 : 128;
    if (len > max) return RV.INVALID_VALUE;
    const text = `${formatIp(address)}/${len}`;
    if (family === 6 && isLinkLocalV6(address)) {
      if (len !== 128) return RV.ADDRESS_LENGTH_MISMATCH;
      if (!isAdd) return itf.linkLocal === formatIp(address) ? RV.ADDRESS_NOT_DELETABLE : RV.ADDRESS_NOT_FOUND_FOR_INTERFACE;
      itf.linkLocal = formatIp(address);
      itf.ip6Enabled = true;
      this.hooks.changed();
      return RV.OK;
    }
    const idx = itf.addresses.findIndex((a) => sameAddress(a, address, len));
    if (!isAdd) {
      if (idx < 0) return RV.ADDRESS_NOT_FOUND_FOR_INTERFACE;
      itf.addresses.splice(idx, 1);
      this.rebuildInterfaceRoutes();
      this.hooks.changed();
      return RV.OK;
    }
    for (const other of this.interfaces.values()) {
      if (other.tableId[family] !== itf.tableId[family]) continue;
      for (const a of other.addresses) {
        const p = parsePrefix(a, true);
        if (!p || p.family !== family) continue;
        const overlap = equalBytes(maskBytes(address, p.len), maskBytes(p.bytes, p.len)) ||
          equalBytes(maskBytes(p.bytes, len), maskBytes(address, len));
        if (!overlap) continue;
        // An interface may have several addresses of one subnet.
        if (other === itf && p.len === len && !equalBytes(p.bytes, address)) continue;
        return family === 4 ? RV.ADDRESS_IN_USE : RV.DUPLICATE_IF_ADDRESS;
      }
    }
    itf.addresses.push(text);
    if (family === 6) itf.ip6Enabled = true;
    this.rebuildInterfaceRoutes();
    this.hooks.changed();
    return RV.OK;
  }

  // ─── wireguard ──────────────────────────────────────────────────────────

  /** wireguard_interface_create. Returns [retval, sw_if_index]. */
  wgCreate(userInstance: number, privateKey: Buffer | null, port: number, srcIp: string | null): [number, number] {
    let instance: number;
    if (userInstance === NO_INDEX) {
      instance = 0;
      while (this.wgInstances.has(instance)) instance++;
    } else {
      if (userInstance >= WG_MAX_INSTANCE || this.wgInstances.has(userInstance)) return [RV.INVALID_REGISTRATION, NO_INDEX];
      instance = userInstance;
    }
    const priv = privateKey ?? generateKey();
    if (priv.every((b) => b === 0)) return [RV.INVALID_REGISTRATION, NO_INDEX];
    const pub = Buffer.from(publicKeyOf(new Uint8Array(priv)), 'base64');
    this.wgInstances.add(instance);
    const itf = this.addInterface({ kind: 'wireguard', name: `wg${instance}` });
    itf.wireguard = { instance, privateKey: Buffer.from(priv), publicKey: pub, port, srcIp };
    this.hooks.changed();
    return [RV.OK, itf.swIfIndex];
  }

  /** wireguard_interface_delete: removes its peers, its linux-cp pair, its addresses. */
  wgDelete(swIfIndex: number): number {
    const itf = this.interfaces.get(swIfIndex);
    if (!itf) return RV.INVALID_SW_IF_INDEX;
    if (!itf.wireguard) return RV.INVALID_VALUE;
    for (const p of [...this.peers.values()]) if (p.swIfIndex === swIfIndex) this.peerRemove(p.peerIndex);
    this.wgInstances.delete(itf.wireguard.instance);
    this.deleteInterface(itf);
    return RV.OK;
  }

  /** wireguard_peer_add. Returns [retval, peer_index]. */
  peerAdd(req: PeerRequest): [number, number] {
    // wireguard_api.c: VALIDATE_SW_IF_INDEX, n_allowed_ips, then wg_peer_add.
    const itf = req.swIfIndex === NO_INDEX ? undefined : this.interfaces.get(req.swIfIndex);
    if (!itf) return [RV.INVALID_SW_IF_INDEX, NO_INDEX];
    if (req.allowedIps.length === 0) return [RV.INVALID_VALUE, NO_INDEX];
    if (!itf.wireguard) return [RV.INVALID_SW_IF_INDEX, NO_INDEX];
    for (const p of this.peers.values()) {
      if (p.publicKey.equals(req.publicKey)) return [RV.ENTRY_ALREADY_EXISTS, NO_INDEX];
    }
    const peerIndex = this.peerPool.alloc();
    const peer: FakePeer = {
      peerIndex,
      serial: this.nextSerial++,
      swIfIndex: req.swIfIndex,
      publicKey: Buffer.from(req.publicKey),
      endpoint: req.endpoint,
      port: req.port,
      persistentKeepalive: req.persistentKeepalive,
      tableId: req.tableId,
      allowedIps: [...req.allowedIps],
      flags: 0,
      subscribers: new Map(),
    };
    this.peers.set(peerIndex, peer);
    this.hooks.changed();
    return [RV.OK, peerIndex];
  }

  peerRemove(peerIndex: number): number {
    const peer = this.peers.get(peerIndex);
    if (!peer) return RV.NO_SUCH_ENTRY;
    // wg_peer_clear flips ESTABLISHED (and DEAD) while the peer is being freed;
    // the fact sheet says not to rely on those events, so the fake sends none.
    this.peers.delete(peerIndex);
    this.peerPool.release(peerIndex);
    this.hooks.changed();
    return RV.OK;
  }

  /** want_wireguard_peer_events: registers (or unregisters) on the peers that exist now. */
  peerEventsRegister(clientIndex: number, swIfIndex: number, peerIndex: number, enable: boolean, pid: number): number {
    const targets = peerIndex === NO_INDEX ? [...this.peers.values()] : [this.peers.get(peerIndex)].filter((p) => p !== undefined);
    for (const p of targets) {
      if (swIfIndex !== NO_INDEX && p.swIfIndex !== swIfIndex) continue;
      if (enable) {
        if (!p.subscribers.has(clientIndex)) p.subscribers.set(clientIndex, pid);
      } else {
        p.subscribers.delete(clientIndex);
      }
    }
    return RV.OK;
  }

  /** Sets or clears one flag bit, emitting a peer event when it flips (wg_peer_update_flags). */
  setPeerFlag(peer: FakePeer, flag: number, on: boolean): void {
    if (((peer.flags & flag) !== 0) === on) return;
    peer.flags ^= flag;
    this.hooks.peerFlags(peer);
  }

  /** What the dataplane learned: the endpoint a peer roamed to (no event, as in VPP). */
  setPeerEndpoint(peer: FakePeer, endpoint: string | null, port: number): void {
    peer.endpoint = endpoint;
    peer.port = port;
  }

  // ─── linux-cp ───────────────────────────────────────────────────────────

  /** lcp_itf_pair_add_del. */
  lcpAddDel(isAdd: boolean, phySwIfIndex: number, hostIfName: string, hostIfType: number, netns: string): number {
    const phy = this.interfaces.get(phySwIfIndex);
    if (!phy) return RV.INVALID_SW_IF_INDEX;
    if (!isAdd) {
      const pair = this.lcpPairs.get(phySwIfIndex);
      if (!pair) return RV.INVALID_SW_IF_INDEX;
      this.removePair(pair);
      this.hooks.changed();
      return RV.OK;
    }
    if (this.lcpPairs.has(phySwIfIndex)) return RV.VALUE_EXIST;
    if (!/^[A-Za-z0-9_.:-][A-Za-z0-9_.:@-]{0,14}$/.test(hostIfName) || hostIfName === '.' || hostIfName === '..') {
      return RV.INVALID_ARGUMENT;
    }
    // A TAP needs an ethernet phy; wg/ipip/gre need TUN.
    if (hostIfType === HOST_TAP && phy.kind !== 'ethernet') return RV.INVALID_ARGUMENT;
    const host = this.addInterface({ kind: hostIfType === HOST_TUN ? 'tun' : 'tap' });
    this.setFlags(host.swIfIndex, IF_ADMIN_UP);
    const pair: FakeLcpPair = {
      index: this.pairPool.alloc(),
      phySwIfIndex,
      hostSwIfIndex: host.swIfIndex,
      hostIfName,
      hostIfType,
      netns,
      vifIndex: this.nextVifIndex++,
    };
    this.lcpPairs.set(phySwIfIndex, pair);
    this.hooks.changed();
    return RV.OK;
  }

  /** Pairs in pool (cursor) order, for lcp_itf_pair_get. */
  pairsInOrder(): FakeLcpPair[] {
    return [...this.lcpPairs.values()].sort((a, b) => a.index - b.index);
  }

  // ─── FIB ────────────────────────────────────────────────────────────────

  /** ip_table_add_del. Table 0 is always there and cannot be added or deleted. */
  tableAddDel(isAdd: boolean, family: Family, tableId: number, name: string): number {
    if (tableId === 0) return RV.OK;
    if (isAdd) {
      if (!this.table(family, tableId)) this.createTable(family, tableId, name || `${family === 4 ? 'ipv4' : 'ipv6'}-VRF:${tableId}`);
    } else {
      this.fib.delete(fibKey(family, tableId));
    }
    this.hooks.changed();
    return RV.OK;
  }

  /** ip_route_add_del (fib_api.c: table, paths, prefix length, then the operation). Returns [retval, stats_index]. */
  routeAddDel(req: RouteRequest): [number, number] {
    const t = this.table(req.family, req.tableId);
    if (!t) return [RV.NO_SUCH_FIB, NO_INDEX];
    for (const p of req.paths) {
      if (p.type !== PATH_NORMAL && p.type !== 7 /* SOURCE_LOOKUP */) continue;
      if (p.swIfIndex === NO_INDEX) {
        if (!this.table(p.proto === NH_IP6 ? 6 : 4, p.tableId)) return [RV.NO_SUCH_FIB, NO_INDEX];
      } else if (!this.interfaces.has(p.swIfIndex)) {
        return [RV.NO_MATCHING_INTERFACE, NO_INDEX];
      }
    }
    if (req.len > (req.family === 4 ? 32 : 128)) return [RV.INVALID_PREFIX_LENGTH, NO_INDEX];
    const prefix = networkOf(req.address, req.len);
    const paths = req.paths.map((p) => ({ ...p, weight: p.weight === 0 ? 1 : p.weight }));
    let entry = t.entries.get(prefix);
    if (req.isMultipath) {
      if (paths.length === 0) return [RV.NO_PATHS_IN_ROUTE, NO_INDEX];
      if (req.isAdd) {
        entry ??= this.newEntry(t, prefix);
        const set = [...(entry.sources.api ?? [])];
        // fib_path_list_copy_and_path_add: a path equal to one there (preference and weight
        // aside) is a duplicate and dropped; the one there stays as it is.
        for (const p of paths) if (!set.some((q) => samePath(p, q))) set.push(p);
        entry.sources.api = byPreference(set);
      } else if (entry?.sources.api) {
        const set = entry.sources.api.filter((q) => !paths.some((p) => samePath(p, q)));
        if (set.length > 0) entry.sources.api = set;
        else this.dropSource(t, entry, 'api');
      }
    } else if (req.isAdd) {
      if (paths.length === 0) return [RV.NO_PATHS_IN_ROUTE, NO_INDEX];
      entry ??= this.newEntry(t, prefix);
      const set: FibPath[] = [];
      for (const p of paths) if (!set.some((q) => samePath(p, q))) set.push(p);
      entry.sources.api = byPreference(set);
    } else if (entry?.sources.api) {
      this.dropSource(t, entry, 'api');
    }
    this.hooks.changed();
    return [RV.OK, req.isAdd ? (t.entries.get(prefix)?.statsIndex ?? NO_INDEX) : NO_INDEX];
  }

  // ─── internals ──────────────────────────────────────────────────────────

  private deleteInterface(itf: FakeInterface): void {
    const pair = this.lcpPairs.get(itf.swIfIndex);
    if (pair) this.removePair(pair);
    for (const other of this.interfaces.values()) if (other.unnumberedTo === itf.swIfIndex) other.unnumberedTo = null;
    this.interfaces.delete(itf.swIfIndex);
    this.swIfIndexPool.release(itf.swIfIndex);
    if (itf.kind === 'loopback') this.loopInstances.delete(Number(itf.name.slice(4)));
    if (itf.kind === 'tun' || itf.kind === 'tap') this.tunInstances.delete(Number(itf.name.slice(3)));
    // API routes through the interface stay (VPP keeps them, unresolved).
    this.rebuildInterfaceRoutes();
    this.hooks.interfaceEvent(itf.swIfIndex, { deleted: true });
    this.hooks.changed();
  }

  private removePair(pair: FakeLcpPair): void {
    this.lcpPairs.delete(pair.phySwIfIndex);
    this.pairPool.release(pair.index);
    const host = this.interfaces.get(pair.hostSwIfIndex);
    if (host) this.deleteInterface(host);
  }

  private createTable(family: Family, tableId: number, name: string): void {
    const t: FibTable = { tableId, family, name, entries: new Map() };
    this.fib.set(fibKey(family, tableId), t);
    const drop = (): FibPath[] => [{
      swIfIndex: NO_INDEX, tableId: 0, nh: null, proto: family === 4 ? NH_IP4 : NH_IP6,
      weight: 1, preference: 0, type: PATH_DROP, flags: 0,
    }];
    // ip4/ip6_create_fib_with_table_id: the default route (drop) and the specials.
    this.newEntry(t, family === 4 ? '0.0.0.0/0' : '::/0').sources['default-route'] = drop();
    const specials = family === 4
      ? ['0.0.0.0/32', '224.0.0.0/4', '240.0.0.0/4', '255.255.255.255/32']
      : ['fe80::/10'];
    for (const p of specials) this.newEntry(t, p).sources.special = drop();
  }

  private newEntry(t: FibTable, prefix: string): FibEntry {
    const e: FibEntry = { prefix, sources: {}, statsIndex: this.nextStatsIndex++ };
    t.entries.set(prefix, e);
    return e;
  }

  private dropSource(t: FibTable, e: FibEntry, s: FibSource): void {
    delete e.sources[s];
    if (this.bestSource(e) === null) t.entries.delete(e.prefix);
  }

  /**
   * Recomputes the 'interface' source of every table from the interface
   * addresses (ip4_add_interface_prefix_routes & co): the connected subnet,
   * the local /32 (/128), for a /31 the other address, for ≤ /30 the network
   * and broadcast addresses as drops.
   */
  private rebuildInterfaceRoutes(): void {
    for (const t of this.fib.values()) {
      for (const e of [...t.entries.values()]) if (e.sources.interface) this.dropSource(t, e, 'interface');
    }
    for (const itf of this.interfaces.values()) {
      for (const a of itf.addresses) {
        const p = parsePrefix(a, true);
        if (!p) continue;
        const t = this.table(p.family, itf.tableId[p.family]);
        if (!t) continue;
        const proto = p.family === 4 ? NH_IP4 : NH_IP6;
        const max = p.family === 4 ? 32 : 128;
        const add = (prefix: string, path: Partial<FibPath>): void => {
          const e = t.entries.get(prefix) ?? this.newEntry(t, prefix);
          (e.sources.interface ??= []).push({
            swIfIndex: itf.swIfIndex, tableId: t.tableId, nh: null, proto,
            weight: 1, preference: 0, type: PATH_NORMAL, flags: 0, ...path,
          });
        };
        if (p.len < max) add(networkOf(p.bytes, p.len), {});
        if (p.family === 4 && p.len <= 30) {
          const net = maskBytes(p.bytes, p.len);
          const bcast = new Uint8Array(net);
          for (let bit = p.len; bit < 32; bit++) bcast[bit >> 3]! |= 0x80 >> (bit & 7);
          if (!equalBytes(net, p.bytes)) add(`${formatIp(net)}/32`, { type: PATH_DROP, swIfIndex: NO_INDEX });
          if (!equalBytes(bcast, p.bytes)) add(`${formatIp(bcast)}/32`, { type: PATH_DROP, swIfIndex: NO_INDEX });
        } else if (p.family === 4 && p.len === 31) {
          const other = new Uint8Array(p.bytes);
          other[3] = other[3]! ^ 1;
          add(`${formatIp(other)}/32`, { nh: formatIp(other) });
        }
        add(`${formatIp(p.bytes)}/${max}`, { type: PATH_LOCAL });
      }
    }
  }
}

function sameAddress(text: string, address: Uint8Array, len: number): boolean {
  const p = parsePrefix(text, true);
  return p !== null && p.len === len && equalBytes(p.bytes, address);
}

/** A clamped X25519 private key (curve25519_gen_secret). */
export function generateKey(): Buffer {
  const k = randomBytes(32);
  k[0] = k[0]! & 248;
  k[31] = (k[31]! & 127) | 64;
  return k;
}
