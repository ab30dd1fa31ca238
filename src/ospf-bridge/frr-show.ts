/**
 * FRR 8.4's `show …` output → stable, typed shapes. ospfd and ospf6d name
 * the same things differently (checked on 8.4.4 in namespaces):
 *
 * `show ip ospf neighbor json`: `{ neighbors: { "<router-id>": [ { state:
 *   "Full/-" (state/DR role), address, ifaceName: "<if>:<local address>",
 *   deadTimeMsecs, upTimeInMsec, … } ] } }`
 * `show ipv6 ospf6 neighbor json`: `{ neighbors: [ { neighborId, state: "Full",
 *   interfaceName, deadTime: "00:00:03", duration: "00:00:17", … } ] }`
 *   (no address: `… neighbor detail json` has it, keyed "<router-id>%<if>",
 *   as `linkLocalAddress`).
 * `show ip ospf route json`: `{ "<prefix>": { routeType: "N" | "N IA" |
 *   "N E1" | "N E2", cost, type2cost (E2), tag (externals), area (N, N IA),
 *   nexthops: [ { ip, via } | { ip: " ", directlyAttachedTo } ] } }`, and
 *   router entries ("R ", key without a length) in the same object.
 * `show ipv6 ospf6 route detail json`: `{ routes: { "<prefix>": { pathType:
 *   "Intra-Area" | "Inter-Area" | "External-1" | "External-2", metricCost,
 *   metricCostE2, associatedArea, nextHops: [ { nextHop: "::" when attached,
 *   interfaceName } ] } } }` (no tag; the plain `route json` has no cost).
 * `show ip ospf database external json`: `{ asExternalLinkStates: [ {
 *   lsaAge, linkStateId, networkMask: 24, advertisingRouter, metricType:
 *   "E2 (Larger than any link state path)", metric, forwardAddress,
 *   externalRouteTag } ] }`.
 * `show ipv6 ospf6 database as-external detail json`: `{ asScopedLinkStateDb:
 *   [ { lsa: [ { age, advertisingRouter, bits: "E-T" (E: type 2, F:
 *   forwarding address, T: tag), metric, prefix, forwardingAddressPresent,
 *   tagPresent, tag } ] } ] }`: the tag ospf6d's route JSON leaves out.
 *
 * Pure: no I/O.
 */
import { canonicalPrefix } from '#lib/prefix';
import { FrrOutputError } from './frr-errors.js';

export type OspfFamily = 'ipv4' | 'ipv6';

/** RFC 2328 §10.1's neighbor states (OSPFv3's are the same, RFC 5340). */
export type OspfNeighborState = 'Down' | 'Attempt' | 'Init' | '2-Way' | 'ExStart' | 'Exchange' | 'Loading' | 'Full';

export interface OspfNeighbor {
  family: OspfFamily;
  routerId: string;
  /** 'Unknown' only for a state name FRR 8.4 does not use. */
  state: OspfNeighborState | 'Unknown';
  interface: string;
  /** IPv4: the neighbor's interface address; IPv6: its link-local address; null when FRR does not say. */
  address: string | null;
  /** Until the neighbor is declared down; FRR's second resolution for OSPFv3. */
  deadTimeMs: number | null;
  /** Since the adjacency reached its current state (ospf6d), or came up (ospfd). */
  uptimeMs: number | null;
}

export type OspfRouteType = 'intra' | 'inter' | 'external1' | 'external2';

export interface OspfNexthop {
  /** null: directly attached. */
  address: string | null;
  interface: string | null;
}

export interface OspfRoute {
  family: OspfFamily;
  prefix: string;
  type: OspfRouteType;
  /** The path cost (for type 2 externals: the cost to the ASBR). */
  cost: number;
  /** The type 2 external metric; null for other types. */
  type2Cost: number | null;
  /** The external route tag (OSPFv2 only: ospf6d's JSON does not carry it). */
  tag: number | null;
  area: string | null;
  nexthops: OspfNexthop[];
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * One JSON document of vtysh output. Empty output (ospfd with no instance
 * prints nothing) is an empty object.
 */
export function parseJsonOutput(text: string, what: string): Json {
  const t = text.trim();
  if (t === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch {
    throw new FrrOutputError(`${what}: not JSON: ${t.slice(0, 120)}`);
  }
  if (!isObject(v)) throw new FrrOutputError(`${what}: expected a JSON object`);
  return v;
}

const STATES: Record<string, OspfNeighborState> = {
  down: 'Down',
  attempt: 'Attempt',
  init: 'Init',
  '2-way': '2-Way',
  twoway: '2-Way',
  exstart: 'ExStart',
  exchange: 'Exchange',
  loading: 'Loading',
  full: 'Full',
};

/** "Full/-", "2-Way/DROther", "Twoway", "ExChange" → the RFC name. */
export function neighborState(s: string): OspfNeighborState | 'Unknown' {
  const head = s.split('/')[0] ?? '';
  return STATES[head.toLowerCase()] ?? 'Unknown';
}

/** ospf6d's durations: "00:00:03", "01:02:03", "2d03h04m" → ms; null if unreadable. */
export function durationMs(s: string): number | null {
  const hms = /^(\d+):(\d{2}):(\d{2})$/.exec(s);
  if (hms !== null) return ((Number(hms[1]) * 60 + Number(hms[2])) * 60 + Number(hms[3])) * 1000;
  const dhm = /^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(s);
  if (dhm !== null && s !== '') {
    const [w, d, h, m, sec] = [1, 2, 3, 4, 5].map((i) => Number(dhm[i] ?? 0)) as [number, number, number, number, number];
    return ((((w * 7 + d) * 24 + h) * 60 + m) * 60 + sec) * 1000;
  }
  return null;
}

/** `show ip ospf neighbor json`. */
export function parseOspfNeighbors(text: string): OspfNeighbor[] {
  const doc = parseJsonOutput(text, 'show ip ospf neighbor json');
  const byId = isObject(doc.neighbors) ? doc.neighbors : {};
  const out: OspfNeighbor[] = [];
  for (const [routerId, entries] of Object.entries(byId)) {
    if (!Array.isArray(entries)) continue;
    for (const e of entries) {
      if (!isObject(e)) continue;
      const ifaceName = str(e.ifaceName) ?? '';
      const colon = ifaceName.lastIndexOf(':');
      out.push({
        family: 'ipv4',
        routerId,
        state: neighborState(str(e.state) ?? str(e.nbrState) ?? ''),
        interface: colon < 0 ? ifaceName : ifaceName.slice(0, colon),
        address: str(e.address) ?? str(e.ifaceAddress),
        deadTimeMs: num(e.deadTimeMsecs) ?? num(e.routerDeadIntervalTimerDueMsec),
        uptimeMs: num(e.upTimeInMsec),
      });
    }
  }
  return sortNeighbors(out);
}

/**
 * `show ipv6 ospf6 neighbor json`, with the link-local addresses of
 * `show ipv6 ospf6 neighbor detail json` when given.
 */
export function parseOspf6Neighbors(text: string, detailText?: string): OspfNeighbor[] {
  const doc = parseJsonOutput(text, 'show ipv6 ospf6 neighbor json');
  const detail = detailText === undefined ? {} : parseJsonOutput(detailText, 'show ipv6 ospf6 neighbor detail json');
  const list = Array.isArray(doc.neighbors) ? doc.neighbors : [];
  const out: OspfNeighbor[] = [];
  for (const e of list) {
    if (!isObject(e)) continue;
    const routerId = str(e.neighborId);
    const ifname = str(e.interfaceName);
    if (routerId === null || ifname === null) continue;
    const d = detail[`${routerId}%${ifname}`];
    const dead = str(e.deadTime);
    const up = str(e.duration);
    out.push({
      family: 'ipv6',
      routerId,
      state: neighborState(str(e.state) ?? ''),
      interface: ifname,
      address: isObject(d) ? str(d.linkLocalAddress) : null,
      deadTimeMs: dead === null ? null : durationMs(dead),
      uptimeMs: up === null ? null : durationMs(up),
    });
  }
  return sortNeighbors(out);
}

function sortNeighbors(list: OspfNeighbor[]): OspfNeighbor[] {
  return list.sort((a, b) => cmp(a.interface, b.interface) || cmp(a.routerId, b.routerId));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const V2_TYPES: Record<string, OspfRouteType> = { N: 'intra', 'N IA': 'inter', 'N E1': 'external1', 'N E2': 'external2' };
const V3_TYPES: Record<string, OspfRouteType> = {
  'Intra-Area': 'intra',
  'Inter-Area': 'inter',
  'External-1': 'external1',
  'External-2': 'external2',
};

/** `show ip ospf route json`: network routes only (router entries and discards are left out). */
export function parseOspfRoutes(text: string): OspfRoute[] {
  const doc = parseJsonOutput(text, 'show ip ospf route json');
  const out: OspfRoute[] = [];
  for (const [key, r] of Object.entries(doc)) {
    if (!isObject(r)) continue;
    const prefix = canonicalPrefix(key);
    const type = V2_TYPES[(str(r.routeType) ?? '').trim()];
    const cost = num(r.cost);
    if (prefix === null || type === undefined || cost === null) continue;
    const hops = Array.isArray(r.nexthops) ? r.nexthops : [];
    out.push({
      family: 'ipv4',
      prefix,
      type,
      cost,
      type2Cost: type === 'external2' ? num(r.type2cost) : null,
      tag: num(r.tag),
      area: str(r.area),
      nexthops: hops.filter(isObject).map((h) => {
        const ip = (str(h.ip) ?? '').trim();
        return { address: ip === '' ? null : ip, interface: str(h.via) ?? str(h.directlyAttachedTo) };
      }),
    });
  }
  return sortRoutes(out);
}

/** `show ipv6 ospf6 route detail json`. */
export function parseOspf6Routes(text: string): OspfRoute[] {
  const doc = parseJsonOutput(text, 'show ipv6 ospf6 route detail json');
  const routes = isObject(doc.routes) ? doc.routes : {};
  const out: OspfRoute[] = [];
  for (const [key, r] of Object.entries(routes)) {
    if (!isObject(r)) continue;
    const prefix = canonicalPrefix(key);
    const type = V3_TYPES[str(r.pathType) ?? ''];
    const cost = num(r.metricCost);
    if (prefix === null || type === undefined || cost === null) continue;
    const hops = Array.isArray(r.nextHops) ? r.nextHops : [];
    out.push({
      family: 'ipv6',
      prefix,
      type,
      cost,
      type2Cost: type === 'external2' ? num(r.metricCostE2) : null,
      tag: null,
      area: str(r.associatedArea),
      nexthops: hops.filter(isObject).map((h) => {
        const ip = str(h.nextHop);
        return { address: ip === null || ip === '::' ? null : ip, interface: str(h.interfaceName) };
      }),
    });
  }
  return sortRoutes(out);
}

/** By prefix (the order `ospf routes` prints). */
export function sortRoutes(list: OspfRoute[]): OspfRoute[] {
  return list.sort((a, b) => cmp(a.prefix, b.prefix));
}

/** An AS-external-LSA in the database (RFC 2328 A.4.5, RFC 5340 A.4.7): what an ASBR redistributes. */
export interface OspfExternalLsa {
  family: OspfFamily;
  prefix: string;
  advertisingRouter: string;
  metricType: 1 | 2;
  metric: number;
  /** null: no tag (0 in OSPFv2, the T bit clear in OSPFv3). */
  tag: number | null;
  /** null: none (0.0.0.0, or the F bit clear): traffic goes to the advertising router. */
  forwardingAddress: string | null;
}

/** RFC 2328 §14: an LSA at MaxAge is being flushed (a withdrawal), not a route. */
const MAX_AGE = 3600;

/** `show ip ospf database external json`, without LSAs being flushed; by prefix, then advertising router. */
export function parseOspfExternalLsas(text: string): OspfExternalLsa[] {
  const doc = parseJsonOutput(text, 'show ip ospf database external json');
  const list = Array.isArray(doc.asExternalLinkStates) ? doc.asExternalLinkStates : [];
  const out: OspfExternalLsa[] = [];
  for (const l of list) {
    if (!isObject(l) || (num(l.lsaAge) ?? 0) >= MAX_AGE) continue;
    const id = str(l.linkStateId);
    const len = num(l.networkMask);
    const router = str(l.advertisingRouter);
    const metric = num(l.metric);
    const prefix = id === null || len === null ? null : canonicalPrefix(`${id}/${len}`);
    if (prefix === null || router === null || metric === null) continue;
    const fa = str(l.forwardAddress);
    const tag = num(l.externalRouteTag);
    out.push({
      family: 'ipv4',
      prefix,
      advertisingRouter: router,
      metricType: /^E1\b/.test(str(l.metricType) ?? '') ? 1 : 2,
      metric,
      tag: tag === null || tag === 0 ? null : tag,
      forwardingAddress: fa === null || fa === '0.0.0.0' ? null : fa,
    });
  }
  return sortLsas(out);
}

/** `show ipv6 ospf6 database as-external detail json`, without LSAs being flushed. */
export function parseOspf6ExternalLsas(text: string): OspfExternalLsa[] {
  const doc = parseJsonOutput(text, 'show ipv6 ospf6 database as-external detail json');
  const scopes = Array.isArray(doc.asScopedLinkStateDb) ? doc.asScopedLinkStateDb : [];
  const out: OspfExternalLsa[] = [];
  for (const scope of scopes) {
    const list = isObject(scope) && Array.isArray(scope.lsa) ? scope.lsa : [];
    for (const l of list) {
      if (!isObject(l) || (num(l.age) ?? 0) >= MAX_AGE || str(l.type) !== 'AS-External') continue;
      const prefix = canonicalPrefix(str(l.prefix) ?? '');
      const router = str(l.advertisingRouter);
      const metric = num(l.metric);
      if (prefix === null || router === null || metric === null) continue;
      out.push({
        family: 'ipv6',
        prefix,
        advertisingRouter: router,
        metricType: (str(l.bits) ?? '').startsWith('E') ? 2 : 1,
        metric,
        tag: l.tagPresent === true ? num(l.tag) : null,
        forwardingAddress: l.forwardingAddressPresent === true ? str(l.forwardingAddress) : null,
      });
    }
  }
  return sortLsas(out);
}

function sortLsas(list: OspfExternalLsa[]): OspfExternalLsa[] {
  return list.sort((a, b) => cmp(a.prefix, b.prefix) || cmp(a.advertisingRouter, b.advertisingRouter));
}

/** `show version`: "FRRouting 8.4.4 (host) on Linux(…)." → "8.4.4". */
export function parseVersion(text: string): string | null {
  return /^FRRouting (\S+)/m.exec(text)?.[1] ?? null;
}

/** `show daemons`: " zebra ospfd ospf6d" → the names. */
export function parseDaemons(text: string): string[] {
  const line = text.split('\n').find((l) => /\b(zebra|ospfd|ospf6d|bgpd|staticd|mgmtd|watchfrr)\b/.test(l)) ?? '';
  return line.trim().split(/\s+/).filter((d) => d !== '');
}

/** `show modules`: whether zebra's section lists dplane_fpm_nl. */
export function zebraHasFpmModule(text: string): boolean {
  const sections = text.split(/^Module information for /m);
  const zebra = sections.find((s) => s.startsWith('zebra:'));
  return zebra !== undefined && /^dplane_fpm_nl\b/m.test(zebra);
}

/** `show interface json`: the interfaces whose flags include POINTOPOINT. */
export function pointToPointInterfaces(text: string): Set<string> {
  const doc = parseJsonOutput(text, 'show interface json');
  const out = new Set<string>();
  for (const [name, i] of Object.entries(doc)) {
    if (isObject(i) && /\bPOINTOPOINT\b/.test(str(i.flags) ?? '')) out.add(name);
  }
  return out;
}

/** `show ip ospf json` / `show ipv6 ospf6 json`: the router ID in use, null without an instance. */
export function parseRouterId(text: string, what: string): string | null {
  return str(parseJsonOutput(text, what).routerId);
}
