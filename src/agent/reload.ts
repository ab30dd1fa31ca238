import type { Config, NeighborConfig } from '#config/types';

export interface NeighborDiff {
  added: string[];
  removed: string[];
  changed: string[];
  /** Only their OSPF settings changed (the bridge applies them; nothing is rebuilt). */
  ospf: string[];
  /** Their bgp.advertise-ospf changed: re-exported, the session stays. */
  export: string[];
  /**
   * Only WireGuard settings of their tunnel changed (MTU, keepalive, and on a
   * numbered tunnel the neighbor's public key): applied to the tunnel in
   * place, the interface, its addresses, routes and session stay (issue 12).
   */
  tunnel: string[];
}

/** Neighbors by name: what a reload adds, removes, or must rebuild. Untouched ones are left alone. */
export function diffNeighbors(prev: Config, next: Config): NeighborDiff {
  const before = new Map(prev.neighbors.map((n) => [n.name, n]));
  const after = new Map(next.neighbors.map((n) => [n.name, n]));
  const diff: NeighborDiff = { added: [], removed: [], changed: [], ospf: [], export: [], tunnel: [] };
  for (const [name, n] of after) {
    const old = before.get(name);
    if (!old) diff.added.push(name);
    else if (!sameNeighbor(inPlace(old, n), n)) diff.changed.push(name);
    else {
      if (inPlace(old, n) !== old) diff.tunnel.push(name);
      if (JSON.stringify(old.ospf) !== JSON.stringify(n.ospf)) diff.ospf.push(name);
      if (JSON.stringify(old.bgp?.advertiseOspf ?? null) !== JSON.stringify(n.bgp?.advertiseOspf ?? null)) diff.export.push(name);
    }
  }
  for (const name of before.keys()) if (!after.has(name)) diff.removed.push(name);
  return diff;
}

/**
 * `a` with the settings `b` changes in place taken from `b` (`a` itself when
 * there are none): a WireGuard peer's keepalive and the interface's MTU, and
 * the neighbor's public key where the tunnel's addresses do not derive from
 * it. On an unnumbered tunnel the link-local addresses come from both keys
 * (linklocal.ts): a new key moves the session's addresses, so the session
 * starts again (the interface stays; the backend swaps the peer and the
 * addresses).
 */
function inPlace(a: NeighborConfig, b: NeighborConfig): NeighborConfig {
  const key = a.tunnel !== null && b.tunnel !== null && a.publicKey !== b.publicKey;
  if (a.mtu === b.mtu && a.persistentKeepalive === b.persistentKeepalive && !key) return a;
  return { ...a, mtu: b.mtu, persistentKeepalive: b.persistentKeepalive, publicKey: key ? b.publicKey : a.publicKey };
}

/**
 * Whether a neighbor's tunnel and session stay as they are. Its OSPF settings
 * are the bridge's business (FRR takes them live): an OSPF cost change must
 * not restart the tunnel or the BGP session. Max-prefix limits are read from
 * the current configuration at each check, and the agent checks every session
 * after a reload: a new limit needs no reset either. Nor do policies
 * (src/agent/policy.ts applies them to the running session).
 */
function sameNeighbor(a: NeighborConfig, b: NeighborConfig): boolean {
  // BFD settings are applied to the running BFD session (a Poll Sequence, RFC 5880 §6.8.3): no rebuild.
  const core = (n: NeighborConfig): string => JSON.stringify({ ...n, bfd: null, ospf: null, bgp: n.bgp && { ...n.bgp, advertiseOspf: null, maxPrefix: null, import: null, export: null, softReconfigurationInbound: null } });
  return core(a) === core(b) && (a.ospf === null) === (b.ospf === null);
}

/**
 * Keys a reload cannot apply in place: identity of the speaker and the
 * dataplane it drives. Changing them is a restart, said plainly.
 */
export function immutableChanges(prev: Config, next: Config): string[] {
  const out: string[] = [];
  if (prev.router.asn !== next.router.asn) out.push('router.asn');
  if (prev.router.routerId !== next.router.routerId) out.push('router.router-id');
  if (prev.control.socket !== next.control.socket) out.push('control.socket');
  if (prev.metrics.listen !== next.metrics.listen) out.push('metrics.listen');
  // The bridge is set up once (on or off, its FPM listener, vtysh, pathspace); its OSPF settings reload.
  if ((prev.ospf === null) !== (next.ospf === null)) out.push('ospf');
  else if (JSON.stringify(prev.ospf?.frr ?? null) !== JSON.stringify(next.ospf?.frr ?? null)) out.push('ospf.frr');
  // dataplane.linux (table, protocol, metric) moves the routes instead (PreviousRun.migrateTag, previous-run.ts).
  const rest = (c: Config): string => JSON.stringify({ ...c.dataplane, linux: null });
  if (rest(prev) !== rest(next)) out.push('dataplane');
  if (prev.wireguard.privateKeyFile !== next.wireguard.privateKeyFile) out.push('wireguard.private-key-file');
  return out;
}

/**
 * Our own private key changed (issue 12): every tunnel takes it. In place
 * where the tunnel's addresses are configured (the backend sets the key, the
 * sessions bridge the handshake); an unnumbered neighbor's link-local
 * addresses derive from both keys, so its session starts again.
 */
export function ownKeyRotated(diff: NeighborDiff, next: Config): void {
  for (const n of next.neighbors) {
    if (diff.added.includes(n.name) || diff.changed.includes(n.name)) continue;
    if (n.tunnel === null) {
      diff.changed.push(n.name);
      diff.tunnel = diff.tunnel.filter((x) => x !== n.name);
    } else if (!diff.tunnel.includes(n.name)) diff.tunnel.push(n.name);
  }
}
