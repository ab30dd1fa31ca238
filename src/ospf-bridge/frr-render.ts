/**
 * OspfDesired → the FRR configuration the agent owns, spelled exactly as
 * FRR 8.4's `show running-config` prints it (vtysh sorts the lines of an
 * interface and of a route-map; values FRR does not print are left out), so
 * that the differ (frr-config) can compare a re-read with this line for line.
 *
 * Pure: no I/O.
 */
import { formatIp, parseIp } from '#lib/prefix';
import {
  FPM_DEFAULT_PORT,
  FRR_DEFAULT_DEAD,
  FRR_DEFAULT_HELLO,
  type OspfDesired,
  type OspfInterface,
  type OspfRedistribution,
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
  /** Route-map entry ("route-map WGBGP-TO-OSPF permit 10") → its lines. */
  routeMaps: ReadonlyMap<string, readonly string[]>;
}

/** The header of the one route-map entry rendered for a redistribution. */
export function routeMapHeader(name: string): string {
  return `route-map ${name} permit 10`;
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
  return lines.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function redistributions(d: OspfDesired): [kind: 'kernel' | 'static', r: OspfRedistribution][] {
  const out: [kind: 'kernel' | 'static', r: OspfRedistribution][] = [];
  if (d.redistribute.kernel !== null) out.push(['kernel', d.redistribute.kernel]);
  if (d.redistribute.static !== null) out.push(['static', d.redistribute.static]);
  return out;
}

/** The body of `router ospf` (`router ospf6` with `ospf6 router-id`), in the order ospfd writes it. */
function routerLines(d: OspfDesired, idKeyword: 'ospf' | 'ospf6'): string[] {
  const lines = [`${idKeyword} router-id ${d.routerId}`];
  if (d.referenceBandwidth !== null) lines.push(`auto-cost reference-bandwidth ${d.referenceBandwidth}`);
  for (const [kind, r] of redistributions(d)) lines.push(`redistribute ${kind} route-map ${r.routeMap}`);
  return lines;
}

function routeMapLines(r: OspfRedistribution): string[] {
  const lines = [`set metric-type type-${r.metricType}`];
  if (r.metric !== null) lines.push(`set metric ${r.metric}`);
  if (r.tag !== null) lines.push(`set tag ${r.tag}`);
  return sorted(lines);
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
  const routeMaps = new Map<string, string[]>();
  if (d.v4 || d.v6) {
    for (const [, r] of redistributions(d)) routeMaps.set(routeMapHeader(r.routeMap), routeMapLines(r));
  }
  return {
    fpm: fpmLines(d.fpm),
    interfaces,
    routerOspf: d.v4 ? routerLines(d, 'ospf') : null,
    routerOspf6: d.v6 ? routerLines(d, 'ospf6') : null,
    routeMaps,
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
  for (const [header, lines] of owned.routeMaps) out.push(...stanza(header, lines));
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

/** renderText(renderOwned(d)). */
export function renderFrrConfig(d: OspfDesired): string {
  return renderText(renderOwned(d));
}
