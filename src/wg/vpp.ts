/**
 * The VPP WireGuard backend (design.md "The dataplane facts" and "The control
 * plane on VPP routers"; fact sheet §2.2, §4, §7). One VPP wg interface per
 * neighbor with exactly one peer (allowed 0.0.0.0/0 and ::/0), and, with
 * linux-cp, its host interface (TUN) carrying the same addresses.
 *
 * Identity: every interface this backend creates is tagged
 * (sw_interface_tag_add_del) with the configured Linux name. On each
 * (re)connect `load` rebuilds tag → interface from sw_interface_dump,
 * wireguard_interface_dump, wireguard_peers_dump, ip_address_dump and
 * lcp_itf_pair_get, so a restarted agent ADOPTS what it finds: an interface
 * whose public key, port and source match is never torn down; a mismatch is
 * delete + create.
 *
 * Listen port: VPP needs one. `listenPort` when configured, else a stable
 * port derived from the interface name (defaultListenPort: 52000..59999), so a
 * restarted agent computes the same port and adopts instead of recreating.
 *
 * What VPP cannot read back is re-asserted once per interface after each
 * load (idempotent in VPP): IPv6 enable, the IPv6 link-local (a /128 in VPP,
 * it does not show in ip_address_dump) and IPv4-unnumbered to a loopback.
 * Within one connection a matching tunnel costs no VPP request at all.
 */
import { lookup } from 'node:dns/promises';
import type { Logger } from '#lib/log';
import { formatIp, parseIp, parsePrefix, type Family } from '#lib/prefix';
import {
  fromVppAddressWithPrefix,
  toVppAddress,
  toVppPrefix,
  VppApiError,
  type VppClient,
  type VppRecord,
  asNumber as num,
  asRecord as rec,
} from '#vpp/index';
import { decodeKey, publicKeyOf } from './keys.js';
import {
  PEER_ESTABLISHED,
  VPP_ALLOWED_IPS,
  addressOrNull,
  arr,
  bytesOf,
  cidrFamily,
  errorText,
  formatEndpoint,
  isApiError,
  isLinkLocalCidr,
  noIpv4Text,
  normCidr,
  peerFromDetails,
  sameAllowedIps,
  sameEndpoint,
  splitEndpoint,
  str,
  type Endpoint,
  type PeerRecord,
} from './vpp-records.js';

export { VPP_ALLOWED_IPS, errorText, formatEndpoint, isApiError, normCidr };
import type { EnsureResult, TunnelSpec, TunnelStatus, WireguardBackend } from './types.js';

const NO_INDEX = 0xffffffff;
const IF_ADMIN_UP = 1;
const RV_INVALID_SW_IF_INDEX = -2;
const RV_NO_SUCH_ENTRY = -6;
const RV_ADDRESS_NOT_FOUND = -60;
const RV_ENTRY_ALREADY_EXISTS = -116;
const RV_ADDRESS_IN_USE = -105;
const RV_DUPLICATE_IF_ADDRESS = -127;
/** sw_interface_ip6_enable_disable on an interface with IPv6 already on (VPP 26.06, ip6_link_enable). */
const RV_VALUE_EXIST = -81;

export const DEFAULT_PORT_BASE = 52000;
export const DEFAULT_PORT_SPAN = 8000;

/** listen-port when none is configured: FNV-1a of the name into 52000..59999, stable across restarts. */
export function defaultListenPort(ifname: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(ifname, 'utf8')) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return DEFAULT_PORT_BASE + (h % DEFAULT_PORT_SPAN);
}

/** A tunnel operation VPP refused, or that cannot be expressed in VPP. */
export class VppTunnelError extends Error {
  override readonly name = 'VppTunnelError';
  constructor(
    readonly ifname: string,
    message: string,
    readonly retval: number | null = null,
  ) {
    super(message);
  }
}

/** A linux-cp pair as lcp_itf_pair_get shows it. */
export interface LcpPair {
  hostIfName: string;
  hostIfType: number;
  netns: string;
}

/**
 * linux-cp (design.md "The control plane on VPP routers"), implemented in
 * src/vpp/dataplane.ts: the pair of a tunnel and its host side.
 */
export interface VppLinuxCp {
  /** This VPP offers the plugin's messages. */
  available(client: VppClient): boolean;
  /** Every pair, by phy sw_if_index. */
  pairs(client: VppClient): Promise<Map<number, LcpPair>>;
  /** Brings `t.pair` and the host interface to the spec; true when something changed. */
  converge(client: VppClient, t: { swIfIndex: number; tag: string; pair: LcpPair | null }, spec: TunnelSpec, previous: TunnelSpec | null): Promise<boolean>;
  /** Deletes the pair (before the interface goes). */
  remove(client: VppClient, t: { swIfIndex: number; pair: LcpPair | null }): Promise<void>;
}

export interface VppWireguardDeps {
  log: Logger;
  /** The live client once the state is loaded (waits briefly while the first connection comes up), else throws. */
  ready(): Promise<VppClient>;
  /** The live client without waiting, else throws. */
  current(): VppClient;
  /** null: dataplane.vpp.linux-cp is off (no lcp message is ever sent). */
  linuxCp: VppLinuxCp | null;
  /** A problem for health() (null clears it). */
  report(key: string, problem: string | null): void;
  /** An interface was deleted and created again: routes through it must be written again. */
  interfaceReplaced(ifname: string): void;
  /** Just before an interface is deleted: the FIB removes our routes through it. */
  beforeDelete?(client: VppClient, swIfIndex: number): Promise<void>;
  now?: () => Date;
}

interface Tunnel {
  tag: string;
  swIfIndex: number;
  /** VPP's own name, 'wg3'. */
  vppName: string;
  adminUp: boolean;
  /** Our public key as VPP reports it (base64). */
  publicKey: string;
  port: number;
  srcIp: string | null;
  peers: PeerRecord[];
  pair: LcpPair | null;
  /** Non-link-local addresses, host bits kept ("10.255.0.0/31"). */
  addresses: string[];
  /** Set once the idempotent settings were asserted in this connection. */
  asserted: boolean;
  linkLocal: string | null;
  unnumberedTo: number | null;
  /** sw_interface_details.mtu: L3, IP4, IP6, MPLS (0 = unset; a new wg interface has 0/0/0/0). */
  mtu: readonly number[];
}

type TunnelId = Pick<Tunnel, 'tag' | 'swIfIndex' | 'vppName' | 'adminUp' | 'publicKey' | 'port' | 'srcIp' | 'mtu'>;

function newTunnel(id: TunnelId, peers: PeerRecord[] = [], pair: LcpPair | null = null): Tunnel {
  return { ...id, peers, pair, addresses: [], asserted: false, linkLocal: null, unnumberedTo: null };
}

const mtuOf = (d: VppRecord | undefined): number[] => arr(d?.mtu).map((v) => num(v));

/**
 * The tunnel's MTU as VPP's `set interface mtu packet` sets it: L3 only,
 * IPv4 and IPv6 unset so they follow it. Anything else (a protocol MTU the
 * operator set by hand) is rewritten.
 */
const sameMtu = (have: readonly number[], mtu: number): boolean => have[0] === mtu && have[1] === 0 && have[2] === 0;

const isLoopback = (d: VppRecord): boolean => str(d.interface_dev_type) === 'Loopback' || /^loop\d+$/.test(str(d.interface_name));

const interfaceDump = (client: VppClient, sw: number): Promise<VppRecord[]> =>
  client.dump('sw_interface_dump', { sw_if_index: sw, name_filter_valid: false, name_filter: '' });

export class VppWireguard implements WireguardBackend {
  readonly kind = 'vpp' as const;
  /** Bumped on every load and recreate: sw_if_index caches keyed on it (the FIB's). */
  generation = 0;
  private tunnels = new Map<string, Tunnel>();
  private bySwIfIndex = new Map<number, Tunnel>();
  /** Loopbacks with an IPv4 address (donors for IPv4-unnumbered): sw_if_index → addresses. */
  private loopbacks = new Map<number, string[]>();
  /** Interfaces the agent asked for in this run (ensure, not removed since): the FIB's ownership. */
  private readonly owned = new Set<string>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly now: () => Date;

  constructor(private readonly deps: VppWireguardDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  // ─── (re)connect ───────────────────────────────────────────────────────

  /** Rebuilds the maps from VPP's dumps (fact sheet §2.2, §2.4, §7.1). Called on every connect. */
  async load(client: VppClient): Promise<void> {
    const [itfs, wgs, peers] = await Promise.all([
      interfaceDump(client, NO_INDEX),
      client.dump('wireguard_interface_dump', { show_private_key: false, sw_if_index: NO_INDEX }),
      client.dump('wireguard_peers_dump', { peer_index: NO_INDEX }),
    ]);
    const lcp = this.deps.linuxCp;
    const pairs = lcp?.available(client) ? await lcp.pairs(client) : new Map<number, LcpPair>();

    const wgBySw = new Map<number, VppRecord>();
    for (const d of wgs) {
      const i = rec(d.interface);
      wgBySw.set(num(i.sw_if_index), i);
    }
    const peersBySw = new Map<number, PeerRecord[]>();
    const now = this.now();
    for (const d of peers) {
      const { swIfIndex, peer } = peerFromDetails(d);
      if ((peer.flags & PEER_ESTABLISHED) !== 0) peer.establishedAt = now;
      const list = peersBySw.get(swIfIndex) ?? [];
      list.push(peer);
      peersBySw.set(swIfIndex, list);
    }
    const tunnels = new Map<string, Tunnel>();
    const loopbackIdx: number[] = [];
    for (const d of itfs) {
      const sw = num(d.sw_if_index);
      const name = str(d.interface_name);
      if (isLoopback(d)) loopbackIdx.push(sw);
      const wg = wgBySw.get(sw);
      const tag = str(d.tag);
      if (!wg || tag === '') continue;
      if (tunnels.has(tag)) {
        this.deps.log.warn({ tag, swIfIndex: sw, kept: tunnels.get(tag)!.vppName }, 'two VPP WireGuard interfaces carry the same tag: using the first');
        continue;
      }
      const publicKey = Buffer.from(bytesOf(wg.public_key)).toString('base64');
      const adminUp = (num(d.flags) & IF_ADMIN_UP) !== 0;
      const id = { tag, swIfIndex: sw, vppName: name, adminUp, publicKey, port: num(wg.port), srcIp: addressOrNull(wg.src_ip), mtu: mtuOf(d) };
      tunnels.set(tag, newTunnel(id, peersBySw.get(sw), pairs.get(sw)));
    }
    const addrJobs: Promise<void>[] = [];
    for (const t of tunnels.values()) {
      addrJobs.push(this.readAddresses(client, t.swIfIndex).then((a) => void (t.addresses = a)));
    }
    const loopbacks = new Map<number, string[]>();
    addrJobs.push(this.loadLoopbacks(client, loopbackIdx, loopbacks));
    await Promise.all(addrJobs);

    client.subscribe('wireguard_peer_event', (v) => this.onPeerEvent(v));
    // Registrations cover the peers existing at call time only (fact sheet §4.5).
    await Promise.all(
      [...tunnels.values()].flatMap((t) => t.peers.map((p) => this.watchPeer(client, t.swIfIndex, p.peerIndex))),
    );

    this.tunnels = tunnels;
    this.bySwIfIndex = new Map([...tunnels.values()].map((t) => [t.swIfIndex, t]));
    this.loopbacks = loopbacks;
    this.generation++;
    this.deps.log.info({ tunnels: [...tunnels.keys()], loopbacks: loopbacks.size }, 'VPP WireGuard interfaces loaded');
  }

  /** VPP went away: nothing it held is known any more. */
  lost(): void {
    this.tunnels = new Map();
    this.bySwIfIndex = new Map();
    this.loopbacks = new Map();
    this.generation++;
  }

  // ─── the FIB's view (VppInterfaceResolver) ─────────────────────────────

  swIfIndexOf(name: string): number | undefined {
    return this.tunnels.get(name)?.swIfIndex;
  }

  /** The configured name of a WireGuard interface this agent tagged and asked for in this run. */
  ownedNameOf(swIfIndex: number): string | undefined {
    const t = this.bySwIfIndex.get(swIfIndex);
    return t && this.owned.has(t.tag) ? t.tag : undefined;
  }

  interfaceAddresses(swIfIndex: number): readonly string[] {
    return this.bySwIfIndex.get(swIfIndex)?.addresses ?? [];
  }

  // ─── WireguardBackend ──────────────────────────────────────────────────

  /**
   * Tags of VPP's WireGuard interfaces. While VPP is unreachable after the
   * start-up wait this is [] (a restarted VPP holds none of ours anyway).
   */
  async list(): Promise<string[]> {
    try {
      await this.deps.ready();
    } catch (err) {
      this.deps.log.warn({ err: errorText(err) }, 'VPP not reachable: no WireGuard interfaces to adopt');
      return [];
    }
    return [...this.tunnels.keys()];
  }

  ensure(spec: TunnelSpec, previous: TunnelSpec | null): Promise<EnsureResult> {
    return this.serialize(spec.interface, async () => {
      this.owned.add(spec.interface);
      const client = await this.deps.ready();
      try {
        const result = await this.converge(client, spec, previous).catch((err: unknown) => this.recover(client, spec, previous, err));
        this.deps.report(`tunnel:${spec.interface}`, null);
        return result;
      } catch (err) {
        this.deps.report(`tunnel:${spec.interface}`, `tunnel ${spec.interface}: ${errorText(err)}`);
        throw err;
      }
    });
  }

  remove(ifname: string): Promise<void> {
    return this.serialize(ifname, async () => {
      const client = await this.deps.ready();
      this.owned.delete(ifname);
      this.deps.report(`tunnel:${ifname}`, null);
      this.deps.report(`unnumbered:${ifname}`, null);
      const t = this.tunnels.get(ifname);
      if (!t) return;
      await this.deleteTunnel(client, t);
      this.deps.log.info({ interface: ifname, vpp: t.vppName }, 'VPP WireGuard interface removed');
    });
  }

  async status(spec: TunnelSpec): Promise<TunnelStatus | null> {
    const client = this.deps.current();
    const t = this.tunnels.get(spec.interface);
    if (!t) return null;
    const mine = t.peers.find((p) => p.publicKey === spec.peerPublicKey) ?? null;
    const [itf, peers] = await Promise.all([
      interfaceDump(client, t.swIfIndex),
      client.dump('wireguard_peers_dump', { peer_index: mine ? mine.peerIndex : NO_INDEX }),
    ]);
    const d = itf.find((x) => num(x.sw_if_index) === t.swIfIndex);
    if (d) t.adminUp = (num(d.flags) & IF_ADMIN_UP) !== 0;
    const fresh = peers.map(peerFromDetails).find((x) => x.swIfIndex === t.swIfIndex && x.peer.publicKey === spec.peerPublicKey);
    let peer: PeerRecord | null = null;
    if (fresh) {
      // An ensure may have replaced the peer meanwhile: merge by index, never duplicate.
      peer = t.peers.find((p) => p.peerIndex === fresh.peer.peerIndex) ?? null;
      if (!peer) {
        peer = fresh.peer;
        t.peers = [...t.peers.filter((p) => p.publicKey !== peer!.publicKey), peer];
      }
      peer.endpoint = fresh.peer.endpoint;
      this.observeFlags(peer, fresh.peer.flags);
    } else if (mine) {
      t.peers = t.peers.filter((p) => p !== mine); // removed behind our back: the next ensure adds it again
    }
    return {
      name: spec.name,
      interface: spec.interface,
      dataplaneInterface: t.vppName,
      publicKey: spec.peerPublicKey,
      endpoint: formatEndpoint(peer?.endpoint ?? null),
      latestHandshake: peer?.establishedAt ?? null,
      up: t.adminUp,
      rxBytes: null,
      txBytes: null,
    };
  }

  /** The connection belongs to VppDataplane; tunnels stay (keep-on-stop). */
  async close(): Promise<void> {}

  /** The interface went away behind our back (vppctl): forget it and build it again, once. */
  private async recover(client: VppClient, spec: TunnelSpec, previous: TunnelSpec | null, err: unknown): Promise<EnsureResult> {
    const t = this.tunnels.get(spec.interface);
    const badIndex = isApiError(err, RV_INVALID_SW_IF_INDEX) || (err instanceof VppTunnelError && err.retval === RV_INVALID_SW_IF_INDEX);
    if (!t || !badIndex) throw err;
    if ((await interfaceDump(client, t.swIfIndex)).some((d) => num(d.sw_if_index) === t.swIfIndex && str(d.tag) === t.tag)) throw err;
    this.deps.log.warn({ interface: spec.interface, vpp: t.vppName }, 'VPP WireGuard interface disappeared: creating it again');
    this.forget(t);
    const result = await this.converge(client, spec, previous);
    this.deps.interfaceReplaced(spec.interface);
    return result;
  }

  // ─── converge ──────────────────────────────────────────────────────────

  private async converge(client: VppClient, spec: TunnelSpec, previous: TunnelSpec | null): Promise<EnsureResult> {
    const ifname = spec.interface;
    if (!spec.sourceAddress) {
      throw new VppTunnelError(ifname, 'VPP needs the underlay source address of the tunnel (wireguard.source-address or neighbors[].source-address)');
    }
    const src = parseIp(spec.sourceAddress);
    if (!src) throw new VppTunnelError(ifname, `source address ${spec.sourceAddress} is not an IP address`);
    const srcText = formatIp(src.bytes);
    const port = spec.listenPort ?? defaultListenPort(ifname);
    const ourKey = publicKeyOf(spec.privateKey);

    let t = this.tunnels.get(ifname);
    let replaced = false;
    if (t && (t.publicKey !== ourKey || t.port !== port || t.srcIp !== srcText)) {
      this.deps.log.info(
        { interface: ifname, vpp: t.vppName, keyChanged: t.publicKey !== ourKey, port: [t.port, port], src: [t.srcIp, srcText] },
        'VPP WireGuard interface differs in key, port or source (VPP cannot change them): recreating it',
      );
      await this.deleteTunnel(client, t);
      t = undefined;
      replaced = true;
    }
    const created = !t;
    if (!t) t = await this.createInterface(client, spec, port, srcText);

    let changed = false;
    if (!sameMtu(t.mtu, spec.mtu)) {
      // In place: packets above it are fragmented or answered with ICMP "too big" by VPP's ip4/ip6 rewrite.
      await client.request('sw_interface_set_mtu', { sw_if_index: t.swIfIndex, mtu: [spec.mtu, 0, 0, 0] });
      t.mtu = [spec.mtu, 0, 0, 0];
      changed = true;
    }
    if (await this.convergeAddresses(client, t, spec)) changed = true;
    if (!t.adminUp) {
      await client.request('sw_interface_set_flags', { sw_if_index: t.swIfIndex, flags: IF_ADMIN_UP });
      t.adminUp = true;
      changed = true;
    }
    if (await this.convergePeer(client, t, spec, previous, src.family)) changed = true;
    const lcp = this.deps.linuxCp;
    if (lcp?.available(client) && (await lcp.converge(client, t, spec, previous))) changed = true;
    t.asserted = true;
    if (replaced) this.deps.interfaceReplaced(ifname);
    if (created || changed) {
      this.deps.log.info({ interface: ifname, vpp: t.vppName, created }, created ? 'VPP WireGuard interface created' : 'VPP WireGuard interface updated');
    }
    return created ? 'created' : changed ? 'updated' : 'unchanged';
  }

  private async createInterface(client: VppClient, spec: TunnelSpec, port: number, srcIp: string): Promise<Tunnel> {
    const r = await client.request('wireguard_interface_create', {
      interface: { user_instance: NO_INDEX, sw_if_index: 0, private_key: Buffer.from(spec.privateKey), port, src_ip: toVppAddress(srcIp) },
      generate_key: false,
    });
    const sw = num(r.sw_if_index);
    let details: VppRecord[];
    try {
      [, details] = await Promise.all([
        client.request('sw_interface_tag_add_del', { is_add: true, sw_if_index: sw, tag: spec.interface }),
        interfaceDump(client, sw),
      ]);
    } catch (err) {
      // Untagged, it could never be found again: take it back.
      await client.request('wireguard_interface_delete', { sw_if_index: sw }).catch(() => undefined);
      throw err;
    }
    const d = details.find((x) => num(x.sw_if_index) === sw);
    const vppName = d ? str(d.interface_name) : `sw_if_index ${sw}`;
    const t = newTunnel({ tag: spec.interface, swIfIndex: sw, vppName, adminUp: false, publicKey: publicKeyOf(spec.privateKey), port, srcIp, mtu: mtuOf(d) });
    this.tunnels.set(t.tag, t);
    this.bySwIfIndex.set(sw, t);
    this.generation++;
    return t;
  }

  /**
   * IPv6 on, the tunnel addresses (link-local as a /128: VPP refuses other
   * lengths for it), IPv4-unnumbered to a loopback when the tunnel has no IPv4
   * address (VPP drops decrypted IPv4 where IPv4 is off: design.md).
   */
  private async convergeAddresses(client: VppClient, t: Tunnel, spec: TunnelSpec): Promise<boolean> {
    let changed = false;
    const sw = t.swIfIndex;
    const wanted = spec.addresses.filter((a) => !isLinkLocalCidr(a)).map(normCidr);
    const ll = spec.addresses.find(isLinkLocalCidr);
    const llAddr = ll ? formatIp(parsePrefix(ll, true)!.bytes) : null;
    if (!t.asserted) {
      // A tunnel adopted from VPP (agent restart, API reconnect) has IPv6 on already: VPP says -81.
      await client.request('sw_interface_ip6_enable_disable', { sw_if_index: sw, enable: true }).catch((err: unknown) => {
        if (!isApiError(err, RV_VALUE_EXIST)) throw err;
      });
    }

    // ip_address_dump honours unnumbered: a loopback's addresses shown on the tunnel are not its own.
    const borrowed = new Set(t.unnumberedTo !== null ? this.loopbacks.get(t.unnumberedTo) ?? [] : [...this.loopbacks.values()].flat());
    for (const a of [...t.addresses]) {
      if (wanted.includes(a) || borrowed.has(a)) continue;
      await client.request('sw_interface_add_del_address', { sw_if_index: sw, is_add: false, del_all: false, prefix: toVppPrefix(a) })
        .catch((err: unknown) => {
          if (!isApiError(err, RV_ADDRESS_NOT_FOUND)) throw err;
        });
      t.addresses = t.addresses.filter((x) => x !== a);
      changed = true;
    }
    const hasV4 = wanted.some((a) => cidrFamily(a) === 4);
    if (hasV4 && t.unnumberedTo !== null) {
      await client.request('sw_interface_set_unnumbered', { sw_if_index: t.unnumberedTo, unnumbered_sw_if_index: sw, is_add: false });
      t.unnumberedTo = null;
      changed = true;
    }
    for (const a of wanted) {
      if (t.addresses.includes(a)) continue;
      try {
        await client.request('sw_interface_add_del_address', { sw_if_index: sw, is_add: true, del_all: false, prefix: toVppPrefix(a) });
      } catch (err) {
        // "Already there" is -105 for IPv4 (checked on VPP 26.06) and -127 for IPv6; both also
        // mean an overlap with another interface: only an address we find on ours is fine.
        const present =
          (isApiError(err, RV_ADDRESS_IN_USE) || isApiError(err, RV_DUPLICATE_IF_ADDRESS)) &&
          (await this.readAddresses(client, sw)).includes(a);
        if (!present) throw new VppTunnelError(t.tag, `address ${a}: ${errorText(err)}`, err instanceof VppApiError ? err.retval : null);
      }
      t.addresses.push(a);
      changed = true;
    }
    if (llAddr !== null && t.linkLocal !== llAddr) {
      await client.request('sw_interface_add_del_address', { sw_if_index: sw, is_add: true, del_all: false, prefix: toVppPrefix(`${llAddr}/128`) });
      if (t.asserted) changed = true; // after a load VPP's link-local cannot be read back: re-set, no change
      t.linkLocal = llAddr;
    }
    const donor = hasV4 ? null : await this.unnumberedDonor(client);
    if (donor !== null && t.unnumberedTo !== donor) {
      await client.request('sw_interface_set_unnumbered', { sw_if_index: donor, unnumbered_sw_if_index: sw, is_add: true });
      if (t.asserted) changed = true;
      t.unnumberedTo = donor;
    }
    this.deps.report(`unnumbered:${t.tag}`, hasV4 || donor !== null ? null : noIpv4Text(t.tag));
    return changed;
  }

  /** The first loopback with an IPv4 address; the loopbacks are read again when none was known. */
  private async unnumberedDonor(client: VppClient): Promise<number | null> {
    if (this.loopbacks.size === 0) {
      const found = new Map<number, string[]>();
      await this.loadLoopbacks(client, (await interfaceDump(client, NO_INDEX)).filter(isLoopback).map((d) => num(d.sw_if_index)), found);
      this.loopbacks = found;
    }
    return [...this.loopbacks.keys()].sort((a, b) => a - b)[0] ?? null;
  }

  /** Loopbacks with an IPv4 address (the donors), with all their addresses (what an unnumbered tunnel shows). */
  private async loadLoopbacks(client: VppClient, idx: number[], into: Map<number, string[]>): Promise<void> {
    await Promise.all(
      idx.map(async (sw) => {
        const all = await this.readAddresses(client, sw);
        if (all.some((a) => cidrFamily(a) === 4)) into.set(sw, all);
      }),
    );
  }

  private async readAddresses(client: VppClient, sw: number): Promise<string[]> {
    const [v4, v6] = await Promise.all([
      client.dump('ip_address_dump', { sw_if_index: sw, is_ipv6: false }),
      client.dump('ip_address_dump', { sw_if_index: sw, is_ipv6: true }),
    ]);
    return [...v4, ...v6].map((d) => normCidr(fromVppAddressWithPrefix(d.prefix))).filter((a) => !isLinkLocalCidr(a));
  }

  /**
   * The single peer. VPP cannot modify a peer: any difference is remove + add
   * of this peer only. The endpoint is delicate (design.md): a roamed endpoint
   * is kept unless the configured endpoint changed since `previous`; adopting
   * (previous null) keeps it only while the peer is ESTABLISHED (live).
   */
  private async convergePeer(client: VppClient, t: Tunnel, spec: TunnelSpec, previous: TunnelSpec | null, srcFamily: Family): Promise<boolean> {
    let changed = false;
    let mine = t.peers.find((p) => p.publicKey === spec.peerPublicKey) ?? null;
    // The neighbor's key changed (issue 12): the old peer's endpoint may carry over (below).
    const swapped = mine === null && t.peers.length === 1 ? t.peers[0]! : null;
    for (const stray of t.peers.filter((p) => p !== mine)) {
      await this.removePeer(client, stray.peerIndex);
      changed = true;
    }
    t.peers = mine ? [mine] : [];

    const desired = await this.desiredEndpoint(spec, srcFamily);
    const configuredChanged = previous !== null && previous.endpoint !== spec.endpoint;
    const differs = (p: PeerRecord): boolean => p.keepalive !== spec.persistentKeepalive || p.tableId !== 0 || !sameAllowedIps(p.allowedIps);
    const epMayChange = (p: PeerRecord): boolean =>
      desired !== null && !sameEndpoint(p.endpoint, desired) && (configuredChanged || p.endpoint === null || previous === null);
    if (mine && (differs(mine) || epMayChange(mine))) {
      mine = await this.refreshPeer(client, t, mine); // the live endpoint and flags decide
    }
    let endpoint: Endpoint | null = desired;
    // Learned (nothing configured) or live: the rotated key's peer is where the old one was.
    if (swapped?.endpoint && !configuredChanged && (desired === null || (swapped.flags & PEER_ESTABLISHED) !== 0)) endpoint = swapped.endpoint;
    let replace = mine === null;
    if (mine) {
      replace = differs(mine);
      endpoint = mine.endpoint;
      if (desired !== null && !sameEndpoint(mine.endpoint, desired)) {
        const live = (mine.flags & PEER_ESTABLISHED) !== 0;
        if (configuredChanged || mine.endpoint === null || (previous === null && !live)) {
          endpoint = desired;
          replace = true;
        } else {
          this.deps.log.debug({ interface: t.tag, current: formatEndpoint(mine.endpoint), configured: spec.endpoint }, 'keeping the roamed endpoint');
        }
      }
    }
    if (!replace) return changed;
    if (mine) {
      await this.removePeer(client, mine.peerIndex);
      t.peers = [];
    }
    const zero = srcFamily === 4 ? '0.0.0.0' : '::';
    let r: VppRecord;
    try {
      r = await client.request('wireguard_peer_add', {
        peer: {
          peer_index: 0,
          public_key: Buffer.from(decodeKey(spec.peerPublicKey)),
          port: endpoint?.port ?? 0,
          persistent_keepalive: spec.persistentKeepalive,
          table_id: 0,
          endpoint: toVppAddress(endpoint?.ip ?? zero),
          sw_if_index: t.swIfIndex,
          flags: 0,
          allowed_ips: VPP_ALLOWED_IPS.map((p) => toVppPrefix(p)),
        },
      });
    } catch (err) {
      if (isApiError(err, RV_ENTRY_ALREADY_EXISTS)) {
        throw new VppTunnelError(
          t.tag,
          `${errorText(err)}: public key ${spec.peerPublicKey} already belongs to another peer in VPP (a key may be used by only one peer on the whole box)`,
          RV_ENTRY_ALREADY_EXISTS,
        );
      }
      throw err;
    }
    const keepalive = spec.persistentKeepalive;
    const peer: PeerRecord = { peerIndex: num(r.peer_index), publicKey: spec.peerPublicKey, endpoint, keepalive, tableId: 0, allowedIps: [...VPP_ALLOWED_IPS], flags: 0, establishedAt: null };
    t.peers = [peer];
    await this.watchPeer(client, t.swIfIndex, peer.peerIndex);
    this.deps.log.info({ interface: t.tag, peerIndex: peer.peerIndex, endpoint: formatEndpoint(endpoint) }, mine ? 'VPP WireGuard peer replaced' : 'VPP WireGuard peer added');
    return true;
  }

  private async desiredEndpoint(spec: TunnelSpec, srcFamily: Family): Promise<Endpoint | null> {
    if (spec.endpoint === null) return null;
    const parts = splitEndpoint(spec.endpoint);
    if (!parts) throw new VppTunnelError(spec.interface, `endpoint ${spec.endpoint} is not "host:port" / "[IPv6]:port"`);
    let ip = parseIp(parts.host);
    if (!ip) {
      try {
        const r = await lookup(parts.host, { family: srcFamily });
        ip = parseIp(r.address);
      } catch (err) {
        this.deps.log.warn({ interface: spec.interface, endpoint: spec.endpoint, err: errorText(err) }, 'endpoint does not resolve: the peer waits for the remote');
        return null;
      }
      if (!ip) return null;
    }
    if (ip.family !== srcFamily) {
      throw new VppTunnelError(
        spec.interface,
        `endpoint ${spec.endpoint} is IPv${ip.family} but the source address ${spec.sourceAddress ?? ''} is IPv${srcFamily}: VPP builds the tunnel from one source and needs the same family (fact sheet §4.1)`,
      );
    }
    return { ip: formatIp(ip.bytes), port: parts.port };
  }

  /** The peer as VPP has it now (endpoint after roaming, flags); null when gone. */
  private async refreshPeer(client: VppClient, t: Tunnel, p: PeerRecord): Promise<PeerRecord | null> {
    const d = (await client.dump('wireguard_peers_dump', { peer_index: p.peerIndex })).map(peerFromDetails);
    const fresh = d.find((x) => x.swIfIndex === t.swIfIndex && x.peer.publicKey === p.publicKey);
    if (!fresh) {
      t.peers = t.peers.filter((x) => x !== p);
      return null;
    }
    Object.assign(p, { ...fresh.peer, establishedAt: p.establishedAt });
    this.observeFlags(p, fresh.peer.flags);
    return p;
  }

  private async removePeer(client: VppClient, peerIndex: number): Promise<void> {
    await client.request('wireguard_peer_remove', { peer_index: peerIndex }).catch((err: unknown) => {
      if (!isApiError(err, RV_NO_SUCH_ENTRY)) throw err;
    });
  }

  /** want_wireguard_peer_events covers existing peers only: re-issued for each new peer_index (fact sheet §4.5). */
  private async watchPeer(client: VppClient, sw: number, peerIndex: number): Promise<void> {
    try {
      await client.request('want_wireguard_peer_events', { sw_if_index: sw, peer_index: peerIndex, enable_disable: 1, pid: process.pid });
    } catch (err) {
      this.deps.log.warn({ peerIndex, err: errorText(err) }, 'want_wireguard_peer_events failed: handshakes show on status polls only');
    }
  }

  private onPeerEvent(v: VppRecord): void {
    const idx = num(v.peer_index);
    for (const t of this.tunnels.values()) {
      const p = t.peers.find((x) => x.peerIndex === idx);
      if (p) {
        this.observeFlags(p, num(v.flags));
        return;
      }
    }
  }

  private observeFlags(p: PeerRecord, flags: number): void {
    const established = (flags & PEER_ESTABLISHED) !== 0;
    if (established && p.establishedAt === null) p.establishedAt = this.now();
    if (!established) p.establishedAt = null;
    p.flags = flags;
  }

  // ─── removal ───────────────────────────────────────────────────────────

  /** Our routes through it, its peers, its linux-cp pair, the interface; only this tunnel. */
  private async deleteTunnel(client: VppClient, t: Tunnel): Promise<void> {
    await this.deps.beforeDelete?.(client, t.swIfIndex);
    for (const p of t.peers) await this.removePeer(client, p.peerIndex);
    t.peers = [];
    if (this.deps.linuxCp?.available(client)) await this.deps.linuxCp.remove(client, t);
    await client.request('wireguard_interface_delete', { sw_if_index: t.swIfIndex }).catch((err: unknown) => {
      if (!isApiError(err, RV_INVALID_SW_IF_INDEX)) throw err;
    });
    this.forget(t);
  }

  private forget(t: Tunnel): void {
    if (this.tunnels.get(t.tag) === t) this.tunnels.delete(t.tag);
    if (this.bySwIfIndex.get(t.swIfIndex) === t) this.bySwIfIndex.delete(t.swIfIndex);
    this.generation++;
  }

  /** One operation per interface at a time (ensure, remove; status reads freely). */
  private serialize<T>(ifname: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(ifname) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(ifname, tail);
    void tail.then(() => {
      if (this.locks.get(ifname) === tail) this.locks.delete(ifname);
    });
    return run;
  }
}
