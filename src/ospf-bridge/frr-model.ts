/**
 * What the agent wants FRR's OSPF to be: the input of the FRR driver
 * (frr-render → frr-config → frr-driver). The agent does not speak OSPF itself;
 * on a router where the bridge is enabled it owns FRR's OSPF configuration:
 *
 * - the OSPF lines (`ip ospf …`, `ipv6 ospf6 …`) of the interfaces it lists
 *   here, and of the ones it listed before (so a removed neighbor's lines go);
 * - the `router ospf` and `router ospf6` stanzas (default VRF, no instance id);
 * - route-maps whose names start with MANAGED_ROUTE_MAP_PREFIX, entry by entry;
 * - `ip prefix-list` / `ipv6 prefix-list` whose names start with
 *   MANAGED_PREFIX_LIST_PREFIX, entry by entry;
 * - zebra's `fpm address` / `fpm use-next-hop-groups` lines.
 *
 * Everything else in FRR (other interface lines such as `description`, other
 * daemons, other route-maps and prefix-lists) is never touched. An operator
 * who runs their own OSPF in FRR does not enable the bridge.
 *
 * BGP → OSPF (redistribute, prefixLists): the agent installs its BGP routes in
 * the kernel (protocol 201) with the neighbor's tunnel address as gateway, but
 * also tunnel host routes (no gateway) and pinned endpoint routes (via the
 * underlay gateway) with the same protocol; zebra sees them all as kernel
 * routes and FRR 8.4 has no `match` on the kernel protocol. The route-maps
 * tell them apart, differently per daemon (checked on 8.4.4 in namespaces):
 *
 * - ospfd: `match ip next-hop prefix-list P` where P permits the neighbors'
 *   tunnel addresses as /32s: a route without gateway (next hop 0.0.0.0) or
 *   via the underlay does not match.
 * - ospf6d has no next-hop match (`match ipv6 next-hop …` is bgpd's only):
 *   `match interface wg-x`, one permit entry per tunnel, and before them a
 *   deny entry `match ipv6 address prefix-list H` with the tunnel host /128s.
 * - A daemon stores a match line it does not implement (vtysh sends the
 *   command to every daemon with route-maps) and then ignores it: the entry
 *   matches EVERY route. So a route-map ospfd and ospf6d share may only use
 *   `match interface`, and validation refuses any other mix
 *   (OSPF_ROUTE_MAP_MATCHES). That is why ospf6d can have its own
 *   redistributions (redistribute.ospf6).
 * - A prefix-list FRR does not have (the desired one has no entries) matches
 *   nothing; a `redistribute … route-map M` whose M does not exist
 *   redistributes nothing.
 * - ospfd advertises a BGP route whose gateway lies in the subnet of an
 *   OSPF interface (a neighbor running BGP and OSPF over one tunnel) with that
 *   gateway as forwarding address (RFC 2328 §12.4.4), also on point-to-point
 *   links: that neighbor itself then ignores the external (it is its own
 *   address), every other router routes it through the tunnel. Only when the
 *   interface ran OSPF as the LSA was originated: a route redistributed
 *   before (same vtysh call) has none until the LSA is refreshed. ospf6d sets
 *   no forwarding address.
 *
 * Pure: types, constants and validation only.
 */
import { formatPrefix, parseIp, parseIpv4, parsePrefix } from '#lib/prefix';

/** Route-maps the driver owns (renders, changes, removes) start with this. */
export const MANAGED_ROUTE_MAP_PREFIX = 'WGBGP-';

/** Prefix-lists the driver owns start with this (both families). */
export const MANAGED_PREFIX_LIST_PREFIX = 'WGBGP-';

/** dplane_fpm_nl's default port: FRR leaves it out of `fpm address` when it is this. */
export const FPM_DEFAULT_PORT = 2620;

/**
 * FRR 8.4's interface timer defaults (RFC 2328 C.3). The renderer leaves a
 * timer out when it has its default value, because ospf6d (both timers) and
 * ospfd (hello) do not show a default in `show running-config`: leaving it
 * out keeps a re-read identical to what was rendered.
 */
export const FRR_DEFAULT_HELLO = 10;
export const FRR_DEFAULT_DEAD = 40;

export interface OspfDesired {
  /** Dotted quad, for both ospfd and ospf6d (OSPFv3 router IDs are 32-bit too). */
  routerId: string;
  /** Mbit/s: FRR `auto-cost reference-bandwidth` (1..4294967); null: FRR's default (100), line absent. */
  referenceBandwidth: number | null;
  /** Run OSPFv2 (ospfd) at all: `router ospf` is present, or removed when false. */
  v4: boolean;
  /** Run OSPFv3 (ospf6d) at all: `router ospf6` is present, or removed when false. */
  v6: boolean;
  /**
   * BGP → OSPF: the agent's BGP routes as OSPF externals. `kernel`: routes in
   * the Linux FIB that zebra did not install itself (the agent's protocol-201
   * routes, but also any other non-FRR kernel route in the namespace: FRR 8.4's
   * ospfd has no `match` on the kernel protocol or metric; the route-map's
   * entries select). `static`: staticd's routes. Each is
   * `redistribute KIND route-map NAME` in `router ospf` (v4) and
   * `router ospf6` (v6), and the route-map is rendered too.
   *
   * `ospf6`, when present, is what `router ospf6` redistributes instead, and
   * `kernel`/`static` are then `router ospf`'s only: ospfd and ospf6d need
   * different matches (see the header). Absent: both daemons redistribute
   * `kernel`/`static` (with route-maps that only `match interface`).
   */
  redistribute: {
    kernel: OspfRedistribution | null;
    static: OspfRedistribution | null;
    ospf6?: { kernel: OspfRedistribution | null; static: OspfRedistribution | null };
  };
  /**
   * The prefix-lists the route-maps match (each must be listed here). Names
   * start with MANAGED_PREFIX_LIST_PREFIX; the same name may exist once per
   * family (FRR keeps `ip` and `ipv6` prefix-lists apart). Absent or []: none
   * (managed ones FRR still has are removed).
   */
  prefixLists?: OspfPrefixList[];
  /**
   * zebra's FPM connection to the agent: `fpm address A [port P]` and
   * `no fpm use-next-hop-groups` (routes with inline gateway/ifindex). These
   * commands exist only when zebra runs with `-M dplane_fpm_nl`; the driver
   * checks and refuses with FrrFpmModuleError otherwise. null: no fpm lines
   * (removed if present).
   */
  fpm: { address: string; port: number } | null;
  interfaces: OspfInterface[];
}

/**
 * One route-map applied to a redistribution. Without `entries`, one entry
 * `permit 10` that takes every route and sets:
 *
 *   route-map NAME permit 10
 *    set metric M            (when metric is not null)
 *    set metric-type type-N
 *    set tag T               (when tag is not null)
 *
 * With `entries`, those entries in seq order, first match wins, and a route no
 * entry matches is not redistributed (FRR's implicit deny):
 *
 *   route-map WGBGP-TO-OSPF6 deny 5
 *    match ipv6 address prefix-list WGBGP-TUNNEL-HOSTS6
 *   route-map WGBGP-TO-OSPF6 permit 10
 *    match interface wg-b
 *    set metric-type type-2
 *    set tag 201
 *
 * The tag marks the agent's routes in OSPF so they are never taken back into BGP.
 */
export interface OspfRedistribution {
  /** Must start with MANAGED_ROUTE_MAP_PREFIX ("WGBGP-TO-OSPF"). */
  routeMap: string;
  /** 1..4294967295, or null: no tag. */
  tag: number | null;
  /** External metric type (RFC 2328 §16.4): 2 is FRR's default for redistribution. */
  metricType: 1 | 2;
  /** 0..16777214, or null: FRR's default external metric (20). */
  metric: number | null;
  /** At least one when present; absent: DEFAULT_ROUTE_MAP_ENTRIES. */
  entries?: OspfRouteMapEntry[];
}

export interface OspfRouteMapEntry {
  /** 1..65535, unique in the route-map. */
  seq: number;
  action: 'permit' | 'deny';
  /** All must match (FRR ANDs them); at most one per kind (FRR keeps one per condition). [] matches every route. */
  match: OspfRouteMapMatch[];
  /** The redistribution's metric/metric-type/tag lines apply here (permit entries only). */
  set: boolean;
}

/**
 * A route-map `match` line:
 * - `ip-next-hop-prefix-list`: `match ip next-hop prefix-list L` (the route's IPv4 gateway; 0.0.0.0 when it has none);
 * - `ip-address-prefix-list` / `ipv6-address-prefix-list`: `match ip(v6) address prefix-list L` (the route's prefix);
 * - `interface`: `match interface NAME` (the route's outgoing interface).
 */
export type OspfRouteMapMatch =
  | { kind: 'ip-next-hop-prefix-list'; list: string }
  | { kind: 'ip-address-prefix-list'; list: string }
  | { kind: 'ipv6-address-prefix-list'; list: string }
  | { kind: 'interface'; name: string };

export type OspfRouteMapMatchKind = OspfRouteMapMatch['kind'];

export type OspfDaemon = 'ospfd' | 'ospf6d';

const OSPF_MATCH_KINDS: readonly OspfRouteMapMatchKind[] = ['interface', 'ip-address-prefix-list', 'ip-next-hop-prefix-list', 'ipv6-address-prefix-list'];

/** What a redistribution without `entries` renders: the route-map takes every route. */
export const DEFAULT_ROUTE_MAP_ENTRIES: readonly OspfRouteMapEntry[] = [{ seq: 10, action: 'permit', match: [], set: true }];

export function routeMapEntries(r: OspfRedistribution): readonly OspfRouteMapEntry[] {
  return r.entries ?? DEFAULT_ROUTE_MAP_ENTRIES;
}

/**
 * The matches each daemon implements in FRR 8.4 (checked on 8.4.4): any other
 * match line is accepted, stored and ignored, so the entry would match every
 * route. ospf6d's `match ipv6 next-hop` does not exist (bgpd's only).
 */
export const OSPF_ROUTE_MAP_MATCHES: Readonly<Record<OspfDaemon, readonly OspfRouteMapMatchKind[]>> = {
  ospfd: ['interface', 'ip-address-prefix-list', 'ip-next-hop-prefix-list'],
  ospf6d: ['interface', 'ipv6-address-prefix-list'],
};

export type OspfRedistributeKind = 'kernel' | 'static';

/**
 * What `router ospf` (ospfd) or `router ospf6` (ospf6d) redistributes, kernel
 * before static; regardless of whether that daemon runs (d.v4 / d.v6).
 */
export function redistributionsFor(d: OspfDesired, daemon: OspfDaemon): [kind: OspfRedistributeKind, r: OspfRedistribution][] {
  const source = daemon === 'ospf6d' && d.redistribute.ospf6 !== undefined ? d.redistribute.ospf6 : d.redistribute;
  const out: [kind: OspfRedistributeKind, r: OspfRedistribution][] = [];
  if (source.kernel !== null) out.push(['kernel', source.kernel]);
  if (source.static !== null) out.push(['static', source.static]);
  return out;
}

/** The prefix-list family a match names; null for `match interface`. */
export function matchListFamily(m: OspfRouteMapMatch): OspfPrefixList['family'] | null {
  return m.kind === 'interface' ? null : m.kind === 'ipv6-address-prefix-list' ? 'ipv6' : 'ipv4';
}

export interface OspfPrefixList {
  /** Must start with MANAGED_PREFIX_LIST_PREFIX. */
  name: string;
  family: 'ipv4' | 'ipv6';
  /**
   * Evaluated in seq order, first match wins, no match is deny. []: FRR has no
   * such list, and a route-map match on it matches nothing.
   */
  entries: OspfPrefixListEntry[];
}

/** `ip prefix-list NAME seq SEQ ACTION PREFIX [ge G] [le L]`. */
export interface OspfPrefixListEntry {
  /** 1..4294967295, unique in the list. */
  seq: number;
  action: 'permit' | 'deny';
  /** "10.255.0.1/32", "fd00:255::1/128": host bits zero, the list's family. */
  prefix: string;
  /** Also longer prefixes: length of the prefix ≤ ge ≤ le ≤ 32 / 128 (FRR's rule). */
  ge?: number;
  le?: number;
}

export interface OspfInterface {
  /** Linux name of the tunnel (or of a stub LAN interface), as zebra sees it. */
  name: string;
  /** Dotted quad ("0.0.0.0" is the backbone), the interface form `ip ospf area`. */
  area: string;
  /** 1..65535, or null: FRR derives it from the reference bandwidth. */
  cost: number | null;
  /** Seconds, 1..65535. */
  helloInterval: number;
  /** Seconds, 1..65535 (RFC 2328: usually 4 × hello). */
  deadInterval: number;
  /** Advertise the interface's prefixes without forming adjacencies on it. */
  passive: boolean;
  /**
   * Every tunnel has exactly one peer. On a POINTOPOINT link (wireguard-go,
   * kernel WireGuard) ospfd takes that type by itself and does not show the
   * line; on a linux-cp tap (VPP) the line matters.
   */
  network: 'point-to-point';
  /** Which families run on this interface (each needs the top-level flag too). */
  v4: boolean;
  v6: boolean;
  auth: OspfAuth | null;
}

export interface OspfAuth {
  /** OSPFv2 cryptographic authentication (RFC 2328 D.3): `ip ospf authentication message-digest` + the key. */
  v2: { type: 'md5'; keyId: number; key: string } | null;
  /**
   * OSPFv3 authentication trailer (RFC 7166), which FRR 8.4's ospf6d supports:
   * `ipv6 ospf6 authentication key-id K hash-algo A key S`.
   */
  v3: { keyId: number; key: string; algorithm: OspfV3HashAlgorithm } | null;
}

/** The hash algorithms FRR 8.4's ospf6d offers for the authentication trailer. */
export const OSPF_V3_HASH_ALGORITHMS = ['md5', 'hmac-sha-1', 'hmac-sha-256', 'hmac-sha-384', 'hmac-sha-512'] as const;
export type OspfV3HashAlgorithm = (typeof OSPF_V3_HASH_ALGORITHMS)[number];

/** Every key in `desired`: what the driver redacts from any text it logs or throws. */
export function secretsOf(desired: OspfDesired): string[] {
  const out: string[] = [];
  for (const i of desired.interfaces) {
    if (i.auth?.v2) out.push(i.auth.v2.key);
    if (i.auth?.v3) out.push(i.auth.v3.key);
  }
  return out;
}

const IFNAME = /^[A-Za-z0-9_.@+-]{1,15}$/;
/** A route-map or prefix-list name. */
const CONFIG_NAME = /^[A-Za-z0-9_.-]{1,63}$/;
/** A CLI token FRR takes as a key: printable ASCII, no blank (vtysh splits words on blanks). */
const KEY_TOKEN = /^[\x21-\x7e]+$/;

function intIn(v: number, lo: number, hi: number): boolean {
  return Number.isInteger(v) && v >= lo && v <= hi;
}

/**
 * Everything wrong with `d`, one "key path: reason" per problem; [] when it can
 * be rendered. Values end up on a vtysh command line, so anything that could
 * split or extend a command (blanks, newlines) is refused here.
 */
export function validateOspfDesired(d: OspfDesired): string[] {
  const issues: string[] = [];
  const bad = (path: string, why: string): void => {
    issues.push(`${path}: ${why}`);
  };
  if (parseIpv4(d.routerId) === null) bad('routerId', `must be a dotted quad, got ${JSON.stringify(d.routerId)}`);
  if (d.referenceBandwidth !== null && !intIn(d.referenceBandwidth, 1, 4294967)) {
    bad('referenceBandwidth', 'must be 1..4294967 (Mbit/s) or null');
  }
  const lists = validatePrefixLists(d.prefixLists ?? [], bad);
  const maps = new Map<string, string>();
  const uses: [path: string, r: OspfRedistribution, daemons: OspfDaemon[]][] = [];
  for (const kind of ['kernel', 'static'] as const) {
    const r = d.redistribute[kind];
    if (r !== null) uses.push([`redistribute.${kind}`, r, d.redistribute.ospf6 === undefined ? ['ospfd', 'ospf6d'] : ['ospfd']]);
    const r6 = d.redistribute.ospf6?.[kind] ?? null;
    if (r6 !== null) uses.push([`redistribute.ospf6.${kind}`, r6, ['ospf6d']]);
  }
  for (const [path, r, daemons] of uses) {
    if (!CONFIG_NAME.test(r.routeMap) || !r.routeMap.startsWith(MANAGED_ROUTE_MAP_PREFIX)) {
      bad(`${path}.routeMap`, `must start with ${MANAGED_ROUTE_MAP_PREFIX} and use only letters, digits, '_', '.', '-'`);
    }
    if (r.tag !== null && !intIn(r.tag, 1, 0xffffffff)) bad(`${path}.tag`, 'must be 1..4294967295 or null');
    if (r.metricType !== 1 && r.metricType !== 2) bad(`${path}.metricType`, 'must be 1 or 2');
    if (r.metric !== null && !intIn(r.metric, 0, 16777214)) bad(`${path}.metric`, 'must be 0..16777214 or null');
    const running = daemons.filter((daemon) => (daemon === 'ospfd' ? d.v4 : d.v6));
    validateEntries(path, r, running, lists, bad);
    const signature = routeMapSignature(r);
    const other = maps.get(r.routeMap);
    if (other !== undefined && other !== signature) bad(`${path}.routeMap`, `${r.routeMap} is also used with other settings`);
    maps.set(r.routeMap, signature);
  }
  if (d.fpm !== null) {
    if (parseIp(d.fpm.address) === null || d.fpm.address.includes('%')) bad('fpm.address', 'must be an IP address');
    if (!intIn(d.fpm.port, 1, 65535)) bad('fpm.port', 'must be 1..65535');
  }
  const names = new Set<string>();
  d.interfaces.forEach((i, n) => {
    const path = `interfaces[${n}]`;
    if (!IFNAME.test(i.name)) bad(`${path}.name`, `not an interface name FRR and Linux both take: ${JSON.stringify(i.name)}`);
    if (names.has(i.name)) bad(`${path}.name`, `${i.name} is listed twice`);
    names.add(i.name);
    if (parseIpv4(i.area) === null) bad(`${path}.area`, `must be a dotted quad, got ${JSON.stringify(i.area)}`);
    if (i.cost !== null && !intIn(i.cost, 1, 65535)) bad(`${path}.cost`, 'must be 1..65535 or null');
    if (!intIn(i.helloInterval, 1, 65535)) bad(`${path}.helloInterval`, 'must be 1..65535');
    if (!intIn(i.deadInterval, 1, 65535)) bad(`${path}.deadInterval`, 'must be 1..65535');
    else if (i.deadInterval <= i.helloInterval) bad(`${path}.deadInterval`, 'must be longer than helloInterval');
    if (i.network !== 'point-to-point') bad(`${path}.network`, 'must be point-to-point');
    if (i.v4 && !d.v4) bad(`${path}.v4`, 'OSPFv2 on the interface needs v4 on');
    if (i.v6 && !d.v6) bad(`${path}.v6`, 'OSPFv3 on the interface needs v6 on');
    const a = i.auth;
    if (a === null) return;
    if (a.v2 !== null) {
      if (a.v2.type !== 'md5') bad(`${path}.auth.v2.type`, 'must be md5');
      if (!intIn(a.v2.keyId, 1, 255)) bad(`${path}.auth.v2.keyId`, 'must be 1..255');
      // RFC 2328 D.3: the MD5 key is 16 bytes, shorter ones are padded.
      if (!KEY_TOKEN.test(a.v2.key) || a.v2.key.length > 16) bad(`${path}.auth.v2.key`, 'must be 1..16 printable ASCII characters without blanks');
    }
    if (a.v3 !== null) {
      if (!intIn(a.v3.keyId, 1, 65535)) bad(`${path}.auth.v3.keyId`, 'must be 1..65535');
      if (!KEY_TOKEN.test(a.v3.key) || a.v3.key.length > 64) bad(`${path}.auth.v3.key`, 'must be 1..64 printable ASCII characters without blanks');
      if (!(OSPF_V3_HASH_ALGORITHMS as readonly string[]).includes(a.v3.algorithm)) {
        bad(`${path}.auth.v3.algorithm`, `must be one of ${OSPF_V3_HASH_ALGORITHMS.join(', ')}`);
      }
    }
  });
  return issues;
}

type Complain = (path: string, why: string) => void;

/** The owned prefix-lists by family and name, for the route-maps' references. */
function validatePrefixLists(lists: readonly OspfPrefixList[], bad: Complain): Set<string> {
  const seen = new Set<string>();
  lists.forEach((l, n) => {
    const path = `prefixLists[${n}]`;
    if (!CONFIG_NAME.test(l.name) || !l.name.startsWith(MANAGED_PREFIX_LIST_PREFIX)) {
      bad(`${path}.name`, `must start with ${MANAGED_PREFIX_LIST_PREFIX} and use only letters, digits, '_', '.', '-'`);
    }
    if (l.family !== 'ipv4' && l.family !== 'ipv6') bad(`${path}.family`, 'must be ipv4 or ipv6');
    if (seen.has(`${l.family} ${l.name}`)) bad(`${path}.name`, `${l.family} prefix-list ${l.name} is listed twice`);
    seen.add(`${l.family} ${l.name}`);
    const max = l.family === 'ipv6' ? 128 : 32;
    const seqs = new Set<number>();
    const contents = new Set<string>();
    l.entries.forEach((e, k) => {
      const at = `${path}.entries[${k}]`;
      if (!intIn(e.seq, 1, 0xffffffff)) bad(`${at}.seq`, 'must be 1..4294967295');
      else if (seqs.has(e.seq)) bad(`${at}.seq`, `seq ${e.seq} is used twice`);
      seqs.add(e.seq);
      if (e.action !== 'permit' && e.action !== 'deny') bad(`${at}.action`, 'must be permit or deny');
      const p = typeof e.prefix === 'string' ? parsePrefix(e.prefix) : null;
      if (p === null || e.prefix.includes('%') || (p.family === 4) !== (l.family === 'ipv4')) {
        bad(`${at}.prefix`, `must be an ${l.family} prefix with its host bits zero, got ${JSON.stringify(e.prefix)}`);
        return;
      }
      const { ge, le } = e;
      // FRR 8.4: "Make sure that mask length <= ge <= le".
      if (ge !== undefined && !intIn(ge, p.len, max)) bad(`${at}.ge`, `must be ${p.len}..${max}`);
      if (le !== undefined && !intIn(le, Math.max(p.len, ge ?? 0), max)) bad(`${at}.le`, `must be ${Math.max(p.len, ge ?? 0)}..${max}`);
      // FRR drops an entry equal to another but for its seq, silently (vtysh exits 0).
      const content = `${e.action} ${formatPrefix(p)} ${ge ?? '-'} ${le ?? '-'}`;
      if (contents.has(content)) bad(at, 'repeats another entry of the list (FRR would silently drop it)');
      contents.add(content);
    });
  });
  return seen;
}

function validateEntries(path: string, r: OspfRedistribution, daemons: readonly OspfDaemon[], lists: ReadonlySet<string>, bad: Complain): void {
  if (r.entries === undefined) return;
  if (r.entries.length === 0) bad(`${path}.entries`, 'must have at least one entry (no redistribution: null)');
  const seqs = new Set<number>();
  r.entries.forEach((e, k) => {
    const at = `${path}.entries[${k}]`;
    if (!intIn(e.seq, 1, 65535)) bad(`${at}.seq`, 'must be 1..65535');
    else if (seqs.has(e.seq)) bad(`${at}.seq`, `seq ${e.seq} is used twice`);
    seqs.add(e.seq);
    if (e.action !== 'permit' && e.action !== 'deny') bad(`${at}.action`, 'must be permit or deny');
    if (e.set && e.action !== 'permit') bad(`${at}.set`, 'only a permit entry sets anything');
    const kinds = new Set<OspfRouteMapMatchKind>();
    e.match.forEach((m, j) => {
      const mp = `${at}.match[${j}]`;
      if (!OSPF_MATCH_KINDS.includes(m.kind)) {
        bad(`${mp}.kind`, `must be one of ${OSPF_MATCH_KINDS.join(', ')}`);
        return;
      }
      if (kinds.has(m.kind)) bad(mp, `a second ${m.kind} match (FRR keeps one per kind: it would replace the first)`);
      kinds.add(m.kind);
      for (const daemon of daemons) {
        if (!OSPF_ROUTE_MAP_MATCHES[daemon].includes(m.kind)) {
          bad(mp, `${daemon} does not implement ${m.kind}: it would ignore the line and the entry would match every route`);
        }
      }
      if (m.kind === 'interface') {
        if (!IFNAME.test(m.name)) bad(`${mp}.name`, `not an interface name: ${JSON.stringify(m.name)}`);
        return;
      }
      const family = matchListFamily(m);
      if (!lists.has(`${family} ${m.list}`)) bad(`${mp}.list`, `names no ${family} prefix-list in prefixLists: ${JSON.stringify(m.list)}`);
    });
  });
}

/** Everything a route-map renders from: two redistributions naming one route-map must agree on it. */
function routeMapSignature(r: OspfRedistribution): string {
  const entries = [...routeMapEntries(r)]
    .sort((a, b) => a.seq - b.seq)
    .map((e) => {
      const matches = e.match.map((m) => (m.kind === 'interface' ? `interface ${m.name}` : `${m.kind} ${m.list}`)).sort();
      return `${e.seq} ${e.action} ${e.set} [${matches.join(', ')}]`;
    });
  return JSON.stringify([r.tag, r.metricType, r.metric, entries]);
}
