/**
 * Checks that relate several keys (uniqueness, tunnel subnets, address families,
 * backend combinations). They run on the raw YAML data, beside the schema rather
 * than after it, so one `config check` reports every problem at once; values of
 * the wrong shape are skipped here because the schema already reports them.
 */
import type { KeyPath, RawIssue } from './issues.js';
import { formatPath } from './issues.js';
import { parseEndpoint } from './fields.js';
import { checkPolicyReferences } from './policy-check.js';
import { canonicalPrefix, maskBytes, parseIp, parsePrefix, prefixContains, type ParsedPrefix } from '#lib/prefix';

export interface CrossCheckResult {
  errors: RawIssue[];
  warnings: RawIssue[];
}

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : null;
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

const FAMILY_NAME = { 4: 'IPv4', 6: 'IPv6' } as const;

/**
 * Protocol numbers iproute2's rt_protos gives to other routing daemons. The agent
 * owns every route carrying its number (it removes the ones it did not install at
 * start), so sharing a number with FRR or BIRD would delete their routes.
 */
const KNOWN_PROTOCOLS: ReadonlyMap<number, string> = new Map([
  [8, 'gated'],
  [9, 'ra'],
  [10, 'mrt'],
  [11, 'zebra (FRR)'],
  [12, 'bird'],
  [13, 'dnrouted'],
  [14, 'xorp'],
  [15, 'ntk'],
  [16, 'dhcp'],
  [42, 'babel'],
  [186, 'bgp (FRR)'],
  [187, 'isis (FRR)'],
  [188, 'ospf (FRR)'],
  [189, 'rip (FRR)'],
  [192, 'eigrp (FRR)'],
]);

interface NeighborView {
  index: number;
  raw: Obj;
  name: string;
}

function label(n: NeighborView): string {
  return `neighbors[${n.index}] (${n.name})`;
}

/** A value seen twice among neighbors: the second and later ones are the errors. */
function checkUnique(
  neighbors: NeighborView[],
  key: string,
  what: (value: string, first: NeighborView) => string,
  out: RawIssue[],
): void {
  const seen = new Map<string, NeighborView>();
  for (const n of neighbors) {
    const v = n.raw[key];
    if (typeof v !== 'string' && typeof v !== 'number') continue;
    const k = String(v);
    const first = seen.get(k);
    if (first) out.push({ path: ['neighbors', n.index, key], message: what(k, first) });
    else seen.set(k, n);
  }
}

interface TunnelSubnet {
  neighbor: NeighborView;
  index: number;
  prefix: ParsedPrefix;
}

function checkTunnel(n: NeighborView, out: RawIssue[], subnets: TunnelSubnet[]): void {
  const t = obj(n.raw.tunnel);
  if (!t) return;
  const base: KeyPath = ['neighbors', n.index, 'tunnel'];
  const local = list(t.local);
  const remote = list(t.remote);
  if (Array.isArray(t.local) && Array.isArray(t.remote) && local.length === 0 && remote.length === 0) {
    out.push({ path: base, message: 'no addresses; omit `tunnel` for an unnumbered tunnel (IPv6 link-local)' });
    return;
  }
  const locals = new Map<4 | 6, { index: number; prefix: ParsedPrefix }>();
  let localsReadable = Array.isArray(t.local);
  local.forEach((v, i) => {
    const p = typeof v === 'string' ? parsePrefix(v, true) : null;
    if (!p) {
      localsReadable = false;
      return;
    }
    if (locals.has(p.family)) {
      out.push({ path: [...base, 'local', i], message: `a second ${FAMILY_NAME[p.family]} address; a tunnel has at most one per family` });
      return;
    }
    locals.set(p.family, { index: i, prefix: p });
    subnets.push({ neighbor: n, index: i, prefix: { ...p, bytes: maskBytes(p.bytes, p.len) } });
  });
  const remoteFamilies = new Set<4 | 6>();
  let remotesReadable = Array.isArray(t.remote);
  remote.forEach((v, i) => {
    const ip = typeof v === 'string' && !v.includes('%') ? parseIp(v) : null;
    if (!ip) {
      remotesReadable = false;
      return;
    }
    const path = [...base, 'remote', i];
    if (remoteFamilies.has(ip.family)) {
      out.push({ path, message: `a second ${FAMILY_NAME[ip.family]} address; a tunnel has at most one per family` });
      return;
    }
    remoteFamilies.add(ip.family);
    const l = locals.get(ip.family);
    if (!l) {
      if (localsReadable) out.push({ path, message: `no ${FAMILY_NAME[ip.family]} address in tunnel.local for this remote address` });
      return;
    }
    const subnet = { ...l.prefix, bytes: maskBytes(l.prefix.bytes, l.prefix.len) };
    const localText = local[l.index] as string;
    if (!prefixContains(subnet, ip.bytes)) {
      out.push({ path, message: `${v as string} is outside the local subnet ${canonicalPrefix(localText)} (tunnel.local[${l.index}])` });
    } else if (ip.bytes.every((b, k) => b === l.prefix.bytes[k])) {
      out.push({ path, message: `${v as string} is the local address itself (tunnel.local[${l.index}])` });
    }
  });
  for (const [family, l] of locals) {
    if (remotesReadable && !remoteFamilies.has(family)) {
      out.push({ path: [...base, 'local', l.index], message: `no ${FAMILY_NAME[family]} address in tunnel.remote for this subnet` });
    }
  }
}

/** Two tunnels sharing a connected subnet would make the kernel (or VPP) pick one of them for both. */
function checkOverlaps(subnets: TunnelSubnet[], out: RawIssue[]): void {
  for (let j = 0; j < subnets.length; j++) {
    const b = subnets[j]!;
    for (let i = 0; i < j; i++) {
      const a = subnets[i]!;
      if (a.neighbor === b.neighbor || a.prefix.family !== b.prefix.family) continue;
      const len = Math.min(a.prefix.len, b.prefix.len);
      if (!maskBytes(a.prefix.bytes, len).every((x, k) => x === maskBytes(b.prefix.bytes, len)[k])) continue;
      out.push({
        path: ['neighbors', b.neighbor.index, 'tunnel', 'local', b.index],
        message: `subnet overlaps ${formatPath(['neighbors', a.neighbor.index, 'tunnel', 'local', a.index])} of ${a.neighbor.name}`,
      });
      break;
    }
  }
}

function ipFamilyOf(v: unknown): 4 | 6 | null {
  return typeof v === 'string' ? (parseIp(v)?.family ?? null) : null;
}

function checkSourceAddresses(neighbors: NeighborView[], root: Obj, out: RawIssue[]): void {
  const wg = obj(root.wireguard);
  const globalSource = wg ? wg['source-address'] : undefined;
  const dp = obj(root.dataplane) ?? {};
  const wireguard = dp.wireguard ?? 'auto';
  const onVpp = wireguard === 'vpp' || (wireguard === 'auto' && dp.fib === 'vpp');
  const missing: string[] = [];
  for (const n of neighbors) {
    const own = n.raw['source-address'];
    const source = own ?? globalSource ?? null;
    if (source === null) missing.push(n.name);
    const endpoint = str(n.raw.endpoint);
    const ep = endpoint === null ? null : parseEndpoint(endpoint);
    const sf = ipFamilyOf(source);
    if (ep === null || typeof ep === 'string' || ep.family === null || sf === null || ep.family === sf) continue;
    if (own !== undefined && own !== null) {
      out.push({
        path: ['neighbors', n.index, 'source-address'],
        message: `${FAMILY_NAME[sf]} source address for an ${FAMILY_NAME[ep.family]} endpoint`,
      });
    } else {
      out.push({
        path: ['neighbors', n.index, 'endpoint'],
        message: `${FAMILY_NAME[ep.family]} endpoint, but wireguard.source-address is ${FAMILY_NAME[sf]}; set neighbors[${n.index}].source-address`,
      });
    }
  }
  // VPP creates a WireGuard interface only with a source address (wireguard_interface_create.src_ip).
  if (onVpp && missing.length > 0 && (globalSource === undefined || globalSource === null)) {
    out.push({
      path: ['wireguard', 'source-address'],
      message: `required with the VPP WireGuard dataplane (no source-address for ${missing.join(', ')})`,
    });
  }
}

/** RFC 9234 §4: BGP roles are for eBGP sessions only. */
function checkRoles(root: Obj, neighbors: NeighborView[], out: RawIssue[]): void {
  const localAsn = obj(root.router)?.asn;
  for (const n of neighbors) {
    const bgp = obj(n.raw.bgp);
    if (!bgp || bgp.role === undefined || bgp.role === null || typeof localAsn !== 'number' || bgp.asn !== localAsn) continue;
    out.push({ path: ['neighbors', n.index, 'bgp', 'role'], message: 'roles apply to eBGP sessions only (RFC 9234 §4); this neighbor is in our AS' });
  }
}

/**
 * The OSPF bridge: a neighbor's `ospf:` needs the top-level section (FRR and the
 * FPM listener), RouterDeadInterval must exceed HelloInterval (RFC 2328 C.3),
 * and FRR must see the tunnels (not through VPP's punt path: multicast does not
 * cross it).
 */
function checkOspf(root: Obj, neighbors: NeighborView[], errors: RawIssue[], warnings: RawIssue[]): void {
  const bridge = obj(root.ospf);
  const dp = obj(root.dataplane);
  const vpp = obj(dp?.vpp);
  const punt = (dp?.fib ?? 'linux') === 'vpp' && vpp?.['linux-cp'] === false;
  // Linux: FRR takes the agent's kernel routes; VPP: the agent mirrors BGP's routes into the kernel of its namespace.
  if (bridge !== null && bridge['redistribute-bgp'] === true && dp?.fib === 'none') {
    errors.push({ path: ['ospf', 'redistribute-bgp'], message: 'BGP → OSPF hands FRR the agent\'s kernel routes, and with dataplane.fib none there are none' });
  }
  for (const n of neighbors) {
    const ospf = obj(n.raw.ospf);
    if (n.raw.bgp === undefined || n.raw.bgp === null) {
      if (n.raw.ospf === undefined || n.raw.ospf === null) {
        errors.push({ path: ['neighbors', n.index, 'bgp'], message: 'required key is missing (a neighbor runs BGP, OSPF or both)' });
      }
    }
    if (ospf === null) {
      const adv = obj(n.raw.bgp)?.['advertise-ospf'];
      if (adv !== undefined && adv !== false && bridge === null) {
        errors.push({ path: ['neighbors', n.index, 'bgp', 'advertise-ospf'], message: 'there are no OSPF routes without the top-level ospf section' });
      }
      continue;
    }
    const path: KeyPath = ['neighbors', n.index, 'ospf'];
    if (bridge === null) errors.push({ path, message: 'OSPF on a neighbor needs the top-level ospf section (the bridge to FRR)' });
    if (punt) errors.push({ path, message: 'with dataplane.vpp.linux-cp false, FRR cannot see the tunnel (OSPF multicast does not cross the punt path)' });
    const hello = typeof ospf['hello-interval'] === 'number' ? ospf['hello-interval'] : 10;
    const dead = typeof ospf['dead-interval'] === 'number' ? ospf['dead-interval'] : 40;
    if (dead <= hello) errors.push({ path: [...path, 'dead-interval'], message: `must be longer than hello-interval (${hello} s; RFC 2328 C.3 suggests 4 times it)` });
    const tunnel = obj(n.raw.tunnel);
    if (tunnel === null) {
      warnings.push({ path, message: 'an unnumbered tunnel runs OSPFv3 only (IPv6); OSPFv2 needs an IPv4 tunnel address' });
    }
  }
}

function checkDataplane(root: Obj, warnings: RawIssue[]): void {
  const dp = obj(root.dataplane);
  if (!dp) return;
  const fib = dp.fib ?? 'linux';
  if (fib === 'vpp' && (dp.wireguard === 'kernel' || dp.wireguard === 'wireguard-go')) {
    warnings.push({
      path: ['dataplane', 'wireguard'],
      message: `${dp.wireguard} tunnels with routes in the VPP FIB: traffic VPP forwards does not reach a Linux WireGuard interface unless you arrange it`,
    });
  }
  if (dp.wireguard === 'vpp' && fib === 'linux') {
    warnings.push({
      path: ['dataplane', 'fib'],
      message: 'VPP tunnels with routes in the Linux FIB: traffic the kernel forwards does not enter VPP\'s tunnels',
    });
  }
  const linux = obj(dp.linux);
  const protocol = linux?.protocol;
  if (fib === 'linux' && typeof protocol === 'number' && KNOWN_PROTOCOLS.has(protocol)) {
    warnings.push({
      path: ['dataplane', 'linux', 'protocol'],
      message: `protocol ${protocol} is "${KNOWN_PROTOCOLS.get(protocol)}" in iproute2's rt_protos; the agent removes routes with its protocol number that it did not install`,
    });
  }
}

function checkAnnounce(root: Obj, warnings: RawIssue[]): void {
  const seen = new Map<string, number>();
  list(root.announce).forEach((v, i) => {
    // A plain prefix, or an entry with communities (`prefix:`).
    const text = typeof v === 'string' ? v : str(obj(v)?.prefix);
    const c = text !== null && parsePrefix(text, false) ? canonicalPrefix(text) : null;
    if (c === null) return;
    const first = seen.get(c);
    if (first !== undefined) warnings.push({ path: ['announce', i], message: `${c} is already announced (announce[${first}])` });
    else seen.set(c, i);
  });
}

export function crossCheck(data: unknown): CrossCheckResult {
  const errors: RawIssue[] = [];
  const warnings: RawIssue[] = [];
  const root = obj(data);
  if (!root) return { errors, warnings };
  const neighbors: NeighborView[] = [];
  list(root.neighbors).forEach((v, index) => {
    const raw = obj(v);
    if (raw) neighbors.push({ index, raw, name: str(raw.name) ?? `#${index}` });
  });
  checkUnique(neighbors, 'name', (v, f) => `duplicate neighbor name "${v}" (also ${label(f)})`, errors);
  checkUnique(neighbors, 'interface', (v, f) => `interface "${v}" is already used by ${label(f)}`, errors);
  checkUnique(
    neighbors,
    'public-key',
    (_v, f) => `same public key as ${label(f)}; a key may belong to one peer only (VPP)`,
    errors,
  );
  checkUnique(neighbors, 'listen-port', (v, f) => `listen port ${v} is already used by ${label(f)}`, errors);
  const subnets: TunnelSubnet[] = [];
  for (const n of neighbors) checkTunnel(n, errors, subnets);
  checkOverlaps(subnets, errors);
  checkSourceAddresses(neighbors, root, errors);
  checkDataplane(root, warnings);
  checkAnnounce(root, warnings);
  checkOspf(root, neighbors, errors, warnings);
  checkRoles(root, neighbors, errors);
  checkPolicyReferences(root, errors, warnings);
  return { errors, warnings };
}
