/**
 * What the agent wants FRR's OSPF to be: the input of the FRR driver
 * (frr-render → frr-config → frr-driver). The agent does not speak OSPF itself;
 * on a router where the bridge is enabled it owns FRR's OSPF configuration:
 *
 * - the OSPF lines (`ip ospf …`, `ipv6 ospf6 …`) of the interfaces it lists
 *   here, and of the ones it listed before (so a removed neighbor's lines go);
 * - the `router ospf` and `router ospf6` stanzas (default VRF, no instance id);
 * - route-maps whose names start with MANAGED_ROUTE_MAP_PREFIX;
 * - zebra's `fpm address` / `fpm use-next-hop-groups` lines.
 *
 * Everything else in FRR (other interface lines such as `description`, other
 * daemons, other route-maps) is never touched. An operator who runs their own
 * OSPF in FRR does not enable the bridge.
 *
 * Pure: types, constants and validation only.
 */
import { parseIp, parseIpv4 } from '#lib/prefix';

/** Route-maps the driver owns (renders, changes, removes) start with this. */
export const MANAGED_ROUTE_MAP_PREFIX = 'WGBGP-';

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
   * ospfd has no `match` on the kernel protocol or metric). `static`: staticd's
   * routes. Each is `redistribute KIND route-map NAME` in `router ospf` (v4) and
   * `router ospf6` (v6), and the route-map is rendered too.
   */
  redistribute: {
    kernel: OspfRedistribution | null;
    static: OspfRedistribution | null;
  };
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
 * One route-map, entry `permit 10`, applied to a redistribution:
 *
 *   route-map NAME permit 10
 *    set metric M            (when metric is not null)
 *    set metric-type type-N
 *    set tag T               (when tag is not null)
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
const ROUTE_MAP_NAME = /^[A-Za-z0-9_.-]{1,63}$/;
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
  const maps = new Map<string, OspfRedistribution>();
  for (const kind of ['kernel', 'static'] as const) {
    const r = d.redistribute[kind];
    if (r === null) continue;
    const path = `redistribute.${kind}`;
    if (!ROUTE_MAP_NAME.test(r.routeMap) || !r.routeMap.startsWith(MANAGED_ROUTE_MAP_PREFIX)) {
      bad(`${path}.routeMap`, `must start with ${MANAGED_ROUTE_MAP_PREFIX} and use only letters, digits, '_', '.', '-'`);
    }
    if (r.tag !== null && !intIn(r.tag, 1, 0xffffffff)) bad(`${path}.tag`, 'must be 1..4294967295 or null');
    if (r.metricType !== 1 && r.metricType !== 2) bad(`${path}.metricType`, 'must be 1 or 2');
    if (r.metric !== null && !intIn(r.metric, 0, 16777214)) bad(`${path}.metric`, 'must be 0..16777214 or null');
    const other = maps.get(r.routeMap);
    if (other !== undefined && (other.tag !== r.tag || other.metricType !== r.metricType || other.metric !== r.metric)) {
      bad(`${path}.routeMap`, `${r.routeMap} is also used with other settings`);
    }
    maps.set(r.routeMap, r);
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
