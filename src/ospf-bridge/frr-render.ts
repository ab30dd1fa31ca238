/**
 * OspfDesired → the FRR configuration the agent owns, spelled exactly as
 * FRR 8.4's `show running-config` prints it (vtysh sorts the lines of an
 * interface and of a route-map; values FRR does not print are left out), so
 * that the differ (frr-config) can compare a re-read with this line for line.
 *
 * Pure: no I/O.
 */
import { canonicalPrefix, formatIp, parseIp } from '#lib/prefix';
import {
  FPM_DEFAULT_PORT,
  FRR_DEFAULT_DEAD,
  FRR_DEFAULT_HELLO,
  redistributionsFor,
  routeMapEntries,
  type OspfDaemon,
  type OspfDesired,
  type OspfInterface,
  type OspfPrefixList,
  type OspfPrefixListEntry,
  type OspfRedistribution,
  type OspfRouteMapEntry,
  type OspfRouteMapMatch,
} from './frr-model.js';

/** The part of FRR's configuration the driver owns, as lines without their indentation. */
export interface OwnedConfig {
  /** zebra's top-level `fpm …` lines. */
  fpm: readonly string[];
  /** Interface name → its OSPF lines (`ip ospf …`, `ipv6 ospf6 …`); [] means none. */
  interfaces: ReadonlyMap<string, readonly string[]>;
  /** The body of `router ospf` / `router ospf6`; null: no such stanza. */
  routerOspf: readonly string[] | null;
  routerOspf6: readonly string[] | null;
  /** Route-map entry ("route-map WGBGP-TO-OSPF permit 10") → its lines; by name, then seq (compareRouteMapHeaders). */
  routeMaps: ReadonlyMap<string, readonly string[]>;
  /** Top-level `ip prefix-list …` / `ipv6 prefix-list …` lines, one per entry; comparePrefixListLines order. */
  prefixLists: readonly string[];
}

/** The header of the one route-map entry rendered for a redistribution without entries. */
export function routeMapHeader(name: string): string {
  return routeMapEntryHeader(name, 'permit', 10);
}

export function routeMapEntryHeader(name: string, action: 'permit' | 'deny', seq: number): string {
  return `route-map ${name} ${action} ${seq}`;
}

const ROUTE_MAP_HEADER = /^route-map (\S+) (permit|deny) (\d+)$/;

/** A route-map entry header's parts; null for another line. */
export function parseRouteMapHeader(header: string): { name: string; action: 'permit' | 'deny'; seq: number } | null {
  const m = ROUTE_MAP_HEADER.exec(header);
  return m === null ? null : { name: m[1]!, action: m[2] as 'permit' | 'deny', seq: Number(m[3]) };
}

function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * By name, then seq as a number. FRR prints route-maps in the order they were
 * created: the owned part is kept in this order instead, so that a re-read
 * renders like the desired state whatever the history.
 */
export function compareRouteMapHeaders(a: string, b: string): number {
  const x = parseRouteMapHeader(a);
  const y = parseRouteMapHeader(b);
  if (x === null || y === null) return byteOrder(a, b);
  return byteOrder(x.name, y.name) || x.seq - y.seq;
}

/**
 * IPv4 lists before IPv6 ones (as FRR prints them), then by name, then seq as
 * a number; a list's other lines (`… description …`) before its entries.
 */
export function comparePrefixListLines(a: string, b: string): number {
  const order = (line: string): [string, string, number] => {
    const m = /^(ip|ipv6) prefix-list (\S+)(?: seq (\d+) )?/.exec(line);
    return m === null ? ['', '', 0] : [m[1]!, m[2]!, Number(m[3] ?? 0)];
  };
  const [xf, xn, xs] = order(a);
  const [yf, yn, ys] = order(b);
  return byteOrder(xf, yf) || byteOrder(xn, yn) || xs - ys || byteOrder(a, b);
}

/** `ip ospf …` lines of one interface (none when OSPFv2 is off on it). */
function v4Lines(i: OspfInterface): string[] {
  if (!i.v4) return [];
  const lines = [`ip ospf area ${i.area}`, `ip ospf network ${i.network}`];
  const md5 = i.auth?.v2 ?? null;
  if (md5 !== null) lines.push('ip ospf authentication message-digest', `ip ospf message-digest-key ${md5.keyId} md5 ${md5.key}`);
  if (i.cost !== null) lines.push(`ip ospf cost ${i.cost}`);
  if (i.helloInterval !== FRR_DEFAULT_HELLO) lines.push(`ip ospf hello-interval ${i.helloInterval}`);
  if (i.deadInterval !== FRR_DEFAULT_DEAD) lines.push(`ip ospf dead-interval ${i.deadInterval}`);
  if (i.passive) lines.push('ip ospf passive');
  return lines;
}

/** `ipv6 ospf6 …` lines of one interface (none when OSPFv3 is off on it). */
function v6Lines(i: OspfInterface): string[] {
  if (!i.v6) return [];
  const lines = [`ipv6 ospf6 area ${i.area}`, `ipv6 ospf6 network ${i.network}`];
  const trailer = i.auth?.v3 ?? null;
  if (trailer !== null) {
    lines.push(`ipv6 ospf6 authentication key-id ${trailer.keyId} hash-algo ${trailer.algorithm} key ${trailer.key}`);
  }
  if (i.cost !== null) lines.push(`ipv6 ospf6 cost ${i.cost}`);
  if (i.helloInterval !== FRR_DEFAULT_HELLO) lines.push(`ipv6 ospf6 hello-interval ${i.helloInterval}`);
  if (i.deadInterval !== FRR_DEFAULT_DEAD) lines.push(`ipv6 ospf6 dead-interval ${i.deadInterval}`);
  if (i.passive) lines.push('ipv6 ospf6 passive');
  return lines;
}

/** vtysh prints the lines of an interface and of a route-map entry in byte order. */
function sorted(lines: string[]): string[] {
  return lines.sort(byteOrder);
}

/** The body of `router ospf` (`router ospf6` with `ospf6 router-id`), in the order ospfd writes it. */
function routerLines(d: OspfDesired, daemon: OspfDaemon): string[] {
  const lines = [`${daemon === 'ospfd' ? 'ospf' : 'ospf6'} router-id ${d.routerId}`];
  if (d.referenceBandwidth !== null) lines.push(`auto-cost reference-bandwidth ${d.referenceBandwidth}`);
  for (const [kind, r] of redistributionsFor(d, daemon)) lines.push(`redistribute ${kind} route-map ${r.routeMap}`);
  return lines;
}

export function matchLine(m: OspfRouteMapMatch): string {
  switch (m.kind) {
    case 'interface':
      return `match interface ${m.name}`;
    case 'ip-address-prefix-list':
      return `match ip address prefix-list ${m.list}`;
    case 'ip-next-hop-prefix-list':
      return `match ip next-hop prefix-list ${m.list}`;
    case 'ipv6-address-prefix-list':
      return `match ipv6 address prefix-list ${m.list}`;
  }
}

function setLines(r: OspfRedistribution): string[] {
  const lines = [`set metric-type type-${r.metricType}`];
  if (r.metric !== null) lines.push(`set metric ${r.metric}`);
  if (r.tag !== null) lines.push(`set tag ${r.tag}`);
  return lines;
}

function routeMapLines(r: OspfRedistribution, e: OspfRouteMapEntry): string[] {
  return sorted([...e.match.map(matchLine), ...(e.set ? setLines(r) : [])]);
}

/** FRR prints the prefix in its canonical form, and ge/le as given. */
export function prefixListLine(l: OspfPrefixList, e: OspfPrefixListEntry): string {
  const family = l.family === 'ipv4' ? 'ip' : 'ipv6';
  const range = `${e.ge === undefined ? '' : ` ge ${e.ge}`}${e.le === undefined ? '' : ` le ${e.le}`}`;
  return `${family} prefix-list ${l.name} seq ${e.seq} ${e.action} ${canonicalPrefix(e.prefix) ?? e.prefix}${range}`;
}

/** zebra prints the address in its own (inet_ntop) spelling and leaves the default port out. */
function fpmLines(fpm: OspfDesired['fpm']): string[] {
  if (fpm === null) return [];
  const ip = parseIp(fpm.address);
  const address = ip === null ? fpm.address : formatIp(ip.bytes);
  return [`fpm address ${address}${fpm.port === FPM_DEFAULT_PORT ? '' : ` port ${fpm.port}`}`, 'no fpm use-next-hop-groups'];
}

/**
 * The owned configuration for `d` (which must have passed validateOspfDesired).
 * Interfaces are keyed by name in name order; one with neither family maps to [].
 */
export function renderOwned(d: OspfDesired): OwnedConfig {
  const interfaces = new Map<string, string[]>();
  for (const i of [...d.interfaces].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    interfaces.set(i.name, sorted([...v4Lines(i), ...v6Lines(i)]));
  }
  const entries = new Map<string, string[]>();
  const used = [...(d.v4 ? redistributionsFor(d, 'ospfd') : []), ...(d.v6 ? redistributionsFor(d, 'ospf6d') : [])];
  for (const [, r] of used) {
    for (const e of routeMapEntries(r)) entries.set(routeMapEntryHeader(r.routeMap, e.action, e.seq), routeMapLines(r, e));
  }
  const routeMaps = new Map([...entries].sort(([a], [b]) => compareRouteMapHeaders(a, b)));
  const prefixLists = (d.prefixLists ?? []).flatMap((l) => l.entries.map((e) => prefixListLine(l, e))).sort(comparePrefixListLines);
  return {
    fpm: fpmLines(d.fpm),
    interfaces,
    routerOspf: d.v4 ? routerLines(d, 'ospfd') : null,
    routerOspf6: d.v6 ? routerLines(d, 'ospf6d') : null,
    routeMaps,
    prefixLists,
  };
}

/** One stanza in frr.conf syntax: header, body indented by one blank, `exit`, `!`. */
function stanza(header: string, body: readonly string[]): string[] {
  return [header, ...body.map((l) => ` ${l}`), 'exit', '!'];
}

/**
 * The owned configuration as frr.conf text: what an operator would paste, and
 * what the golden tests pin. Interface stanzas carry only their OSPF lines.
 */
export function renderText(owned: OwnedConfig): string {
  const out: string[] = [];
  if (owned.fpm.length > 0) out.push(...owned.fpm, '!');
  for (const [name, lines] of owned.interfaces) if (lines.length > 0) out.push(...stanza(`interface ${name}`, lines));
  if (owned.routerOspf !== null) out.push(...stanza('router ospf', owned.routerOspf));
  if (owned.routerOspf6 !== null) out.push(...stanza('router ospf6', owned.routerOspf6));
  // FRR closes the IPv4 lists and the IPv6 lists with a `!` each.
  for (const family of ['ipv4', 'ipv6'] as const) {
    const lines = owned.prefixLists.filter((l) => l.startsWith(family === 'ipv4' ? 'ip ' : 'ipv6 '));
    if (lines.length > 0) out.push(...lines, '!');
  }
  for (const [header, lines] of owned.routeMaps) out.push(...stanza(header, lines));
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

/** renderText(renderOwned(d)). */
export function renderFrrConfig(d: OspfDesired): string {
  return renderText(renderOwned(d));
}
