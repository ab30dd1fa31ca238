/**
 * Thin typed wrappers over the messages the agent uses (WireGuard, interfaces,
 * FIB, linux-cp): agent words in, VPP fields out. Semantics, fact sheet §4 and
 * §2.4: a WireGuard interface is created admin-down; a peer cannot be changed
 * in place (remove + add); every route through a tunnel names a next hop.
 */
import { parseIp } from '#lib/prefix';
import {
  ADDRESS_IP4,
  ADDRESS_IP6,
  fromVppAddress,
  fromVppAddressUnion,
  fromVppAddressWithPrefix,
  fromVppPrefix,
  toVppAddress,
  toVppAddressUnion,
  toVppPrefix,
} from './address.js';
import type { VppClient } from './client.js';
import type { VppRecord, VppValue } from './codec.js';
import { VppCodecError } from './errors.js';

export const ALL = 0xffffffff;

/** What wg/vpp and fib/vpp send: checked at connect (fact sheet §3). */
export const WGBGP_REQUIRED = [
  'show_version',
  'wireguard_interface_create',
  'wireguard_interface_delete',
  'wireguard_interface_dump',
  'wireguard_peer_add',
  'wireguard_peer_remove',
  'wireguard_peers_dump',
  'want_wireguard_peer_events',
  'sw_interface_set_flags',
  'sw_interface_add_del_address',
  'sw_interface_dump',
  'sw_interface_tag_add_del',
  'sw_interface_ip6_enable_disable',
  'sw_interface_set_unnumbered',
  'want_interface_events',
  'ip_address_dump',
  'ip_route_add_del',
  'ip_route_dump',
  'ip_table_add_del',
] as const;

/** linux-cp may not be loaded: the agent reports it rather than refusing VPP. */
export const WGBGP_OPTIONAL = ['lcp_itf_pair_add_del', 'lcp_itf_pair_get'] as const;

export const IF_STATUS_ADMIN_UP = 1;
export const IF_STATUS_LINK_UP = 2;
export const WIREGUARD_PEER_STATUS_DEAD = 1;
export const WIREGUARD_PEER_ESTABLISHED = 2;
export const LCP_ITF_HOST_TAP = 0;
export const LCP_ITF_HOST_TUN = 1;
const FIB_PATH_NH_PROTO_IP4 = 0;
const FIB_PATH_NH_PROTO_IP6 = 1;

export interface WgInterface {
  swIfIndex: number;
  userInstance: number;
  publicKey: Buffer;
  port: number;
  srcIp: string;
}

export interface Endpoint {
  address: string;
  port: number;
}

export interface WgPeer {
  peerIndex: number;
  swIfIndex: number;
  publicKey: Buffer;
  /** Null while unknown (0.0.0.0/:: or port 0): the remote starts, VPP learns it. */
  endpoint: Endpoint | null;
  persistentKeepalive: number;
  tableId: number;
  established: boolean;
  allowedIps: string[];
}

export interface WgPeerSpec {
  swIfIndex: number;
  publicKey: Buffer;
  endpoint: Endpoint | null;
  /** Family of the "unknown" endpoint: that of the interface's src_ip. */
  unknownEndpointFamily?: 4 | 6;
  persistentKeepalive?: number;
  /** Underlay FIB where the endpoint is reachable; it must exist (not validated). */
  tableId?: number;
  allowedIps: readonly string[];
}

export interface FibPath {
  /** ~0 (or omitted) for a recursive path resolved in `tableId`. */
  swIfIndex?: number;
  /** Required on a WireGuard interface: an attached non-host path drops (§4.3). */
  nextHop?: string | null;
  tableId?: number;
  weight?: number;
  preference?: number;
}

export interface IpRoute {
  tableId: number;
  prefix: string;
  paths: FibPath[];
}

export interface SwInterface {
  swIfIndex: number;
  name: string;
  tag: string;
  adminUp: boolean;
  linkUp: boolean;
  devType: string;
  mtu: number;
}

export interface LcpPair {
  phySwIfIndex: number;
  hostSwIfIndex: number;
  vifIndex: number;
  hostIfName: string;
  hostIfType: number;
  netns: string;
}

const rec = (v: VppValue | undefined): VppRecord =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) ? v : {};
const num = (v: VppValue | undefined): number => (typeof v === 'number' ? v : 0);
const str = (v: VppValue | undefined): string => (typeof v === 'string' ? v : '');
const buf = (v: VppValue | undefined): Buffer => (v instanceof Uint8Array ? Buffer.from(v) : Buffer.alloc(0));
const list = (v: VppValue | undefined): VppValue[] => (Array.isArray(v) ? v : []);

function isZero(b: Uint8Array): boolean {
  return b.every((x) => x === 0);
}

function familyOf(addr: string): 4 | 6 {
  const ip = parseIp(addr);
  if (!ip) throw new VppCodecError(`not an IP address: ${addr}`);
  return ip.family;
}

function fibPath(p: FibPath, family: 4 | 6): VppRecord {
  const nhFamily = p.nextHop ? familyOf(p.nextHop) : family;
  return {
    sw_if_index: p.swIfIndex ?? ALL,
    table_id: p.tableId ?? 0,
    weight: p.weight ?? 1,
    preference: p.preference ?? 0,
    proto: nhFamily === 4 ? FIB_PATH_NH_PROTO_IP4 : FIB_PATH_NH_PROTO_IP6,
    nh: { address: p.nextHop ? toVppAddressUnion(p.nextHop) : {} },
  };
}

function readPath(v: VppValue): FibPath {
  const p = rec(v);
  const af = num(p.proto) === FIB_PATH_NH_PROTO_IP4 ? ADDRESS_IP4 : ADDRESS_IP6;
  const un = rec(p.nh).address;
  const nh = fromVppAddressUnion(un, af);
  const bytes = rec(un)[af === ADDRESS_IP4 ? 'ip4' : 'ip6'];
  return {
    swIfIndex: num(p.sw_if_index),
    nextHop: bytes instanceof Uint8Array && isZero(bytes) ? null : nh,
    tableId: num(p.table_id),
    weight: num(p.weight),
    preference: num(p.preference),
  };
}

export class VppApi {
  constructor(readonly client: VppClient) {}

  // ---------------------------------------------------------- WireGuard

  /** A new wg<N> (admin-down); returns its sw_if_index. */
  async wireguardInterfaceCreate(o: { privateKey: Buffer; port: number; srcIp: string; userInstance?: number }): Promise<number> {
    const r = await this.client.request('wireguard_interface_create', {
      interface: { user_instance: o.userInstance ?? ALL, private_key: o.privateKey, port: o.port, src_ip: toVppAddress(o.srcIp) },
      generate_key: false,
    });
    return num(r.sw_if_index);
  }

  async wireguardInterfaceDelete(swIfIndex: number): Promise<void> {
    await this.client.request('wireguard_interface_delete', { sw_if_index: swIfIndex });
  }

  async wireguardInterfaces(swIfIndex = ALL): Promise<WgInterface[]> {
    const details = await this.client.dump('wireguard_interface_dump', { show_private_key: false, sw_if_index: swIfIndex });
    return details.map((d) => {
      const i = rec(d.interface);
      return {
        swIfIndex: num(i.sw_if_index),
        userInstance: num(i.user_instance),
        publicKey: buf(i.public_key),
        port: num(i.port),
        srcIp: fromVppAddress(i.src_ip),
      };
    });
  }

  /** Returns the peer_index. There is no update: change = remove + add. */
  async wireguardPeerAdd(p: WgPeerSpec): Promise<number> {
    if (p.allowedIps.length === 0) throw new VppCodecError('a WireGuard peer needs at least one allowed prefix (VPP: -7)');
    const endpoint = p.endpoint
      ? toVppAddress(p.endpoint.address)
      : { af: p.unknownEndpointFamily === 6 ? ADDRESS_IP6 : ADDRESS_IP4, un: {} };
    const r = await this.client.request('wireguard_peer_add', {
      peer: {
        public_key: p.publicKey,
        port: p.endpoint?.port ?? 0,
        persistent_keepalive: p.persistentKeepalive ?? 0,
        table_id: p.tableId ?? 0,
        endpoint,
        sw_if_index: p.swIfIndex,
        allowed_ips: p.allowedIps.map((a) => toVppPrefix(a)),
      },
    });
    return num(r.peer_index);
  }

  async wireguardPeerRemove(peerIndex: number): Promise<void> {
    await this.client.request('wireguard_peer_remove', { peer_index: peerIndex });
  }

  /** The current (possibly roamed) endpoints: VPP sends no event on roaming (§4.4). */
  async wireguardPeers(peerIndex = ALL): Promise<WgPeer[]> {
    const details = await this.client.dump('wireguard_peers_dump', { peer_index: peerIndex });
    return details.map((d) => {
      const p = rec(d.peer);
      const address = fromVppAddress(p.endpoint);
      const port = num(p.port);
      const unknown = port === 0 || address === '0.0.0.0' || address === '::';
      return {
        peerIndex: num(p.peer_index),
        swIfIndex: num(p.sw_if_index),
        publicKey: buf(p.public_key),
        endpoint: unknown ? null : { address, port },
        persistentKeepalive: num(p.persistent_keepalive),
        tableId: num(p.table_id),
        established: (num(p.flags) & WIREGUARD_PEER_ESTABLISHED) !== 0,
        allowedIps: list(p.allowed_ips).map((a) => fromVppPrefix(a)),
      };
    });
  }

  /**
   * Registers for flag changes of the peers that exist now (§4.5: later peers
   * need their own call; registrations outlive the client).
   */
  async wantWireguardPeerEvents(enable: boolean, peerIndex = ALL, swIfIndex = ALL): Promise<void> {
    await this.client.request('want_wireguard_peer_events', {
      sw_if_index: swIfIndex,
      peer_index: peerIndex,
      enable_disable: enable ? 1 : 0,
      pid: process.pid,
    });
  }

  onWireguardPeerEvent(cb: (e: { peerIndex: number; established: boolean; flags: number }) => void): () => void {
    return this.client.subscribe('wireguard_peer_event', (v) => {
      const flags = num(v.flags);
      cb({ peerIndex: num(v.peer_index), established: (flags & WIREGUARD_PEER_ESTABLISHED) !== 0, flags });
    });
  }

  // ---------------------------------------------------------- interfaces

  async setAdminUp(swIfIndex: number, up: boolean): Promise<void> {
    await this.client.request('sw_interface_set_flags', { sw_if_index: swIfIndex, flags: up ? IF_STATUS_ADMIN_UP : 0 });
  }

  /** `prefix` is an interface address with its length: '10.255.0.0/31'. */
  async addressAddDel(swIfIndex: number, prefix: string, isAdd: boolean): Promise<void> {
    await this.client.request('sw_interface_add_del_address', { sw_if_index: swIfIndex, is_add: isAdd, prefix: toVppPrefix(prefix) });
  }

  async addresses(swIfIndex: number, ipv6: boolean): Promise<string[]> {
    const d = await this.client.dump('ip_address_dump', { sw_if_index: swIfIndex, is_ipv6: ipv6 });
    return d.map((a) => fromVppAddressWithPrefix(a.prefix));
  }

  /** The agent marks its objects with tags (at most 63 bytes). */
  async setTag(swIfIndex: number, tag: string | null): Promise<void> {
    await this.client.request('sw_interface_tag_add_del', { is_add: tag !== null, sw_if_index: swIfIndex, tag: tag ?? '' });
  }

  async ip6Enable(swIfIndex: number, enable: boolean): Promise<void> {
    await this.client.request('sw_interface_ip6_enable_disable', { sw_if_index: swIfIndex, enable });
  }

  /** `swIfIndex` becomes IPv4-unnumbered to `donorSwIfIndex` (e.g. a loopback). */
  async setUnnumbered(swIfIndex: number, donorSwIfIndex: number, isAdd: boolean): Promise<void> {
    await this.client.request('sw_interface_set_unnumbered', {
      sw_if_index: donorSwIfIndex,
      unnumbered_sw_if_index: swIfIndex,
      is_add: isAdd,
    });
  }

  async interfaces(nameFilter?: string): Promise<SwInterface[]> {
    const d = await this.client.dump('sw_interface_dump', {
      sw_if_index: ALL,
      name_filter_valid: nameFilter !== undefined,
      name_filter: nameFilter ?? '',
    });
    return d.map((i) => {
      const flags = num(i.flags);
      return {
        swIfIndex: num(i.sw_if_index),
        name: str(i.interface_name),
        tag: str(i.tag),
        adminUp: (flags & IF_STATUS_ADMIN_UP) !== 0,
        linkUp: (flags & IF_STATUS_LINK_UP) !== 0,
        devType: str(i.interface_dev_type),
        mtu: num(list(i.mtu)[0]),
      };
    });
  }

  /** sw_interface_event is a hint (only this batch's bits): re-read with interfaces(). */
  async wantInterfaceEvents(enable: boolean): Promise<void> {
    await this.client.request('want_interface_events', { enable_disable: enable ? 1 : 0, pid: process.pid });
  }

  onInterfaceEvent(cb: (e: { swIfIndex: number; deleted: boolean }) => void): () => void {
    return this.client.subscribe('sw_interface_event', (v) => cb({ swIfIndex: num(v.sw_if_index), deleted: v.deleted === true }));
  }

  // ---------------------------------------------------------- FIB

  /**
   * Adds (replacing the path set unless `multipath`) or deletes a route.
   * Returns the stats index.
   */
  async routeAddDel(route: IpRoute, isAdd: boolean, multipath = false): Promise<number> {
    const family = familyOf(route.prefix.slice(0, route.prefix.indexOf('/')));
    const r = await this.client.request('ip_route_add_del', {
      is_add: isAdd,
      is_multipath: multipath,
      route: { table_id: route.tableId, prefix: toVppPrefix(route.prefix), paths: route.paths.map((p) => fibPath(p, family)) },
    });
    return num(r.stats_index);
  }

  /** Every route of a table, all FIB sources (special and interface routes too). */
  async routes(tableId: number, ipv6: boolean): Promise<IpRoute[]> {
    const d = await this.client.dump('ip_route_dump', { table: { table_id: tableId, is_ip6: ipv6 } });
    return d.map((x) => {
      const r = rec(x.route);
      return { tableId: num(r.table_id), prefix: fromVppPrefix(r.prefix), paths: list(r.paths).map(readPath) };
    });
  }

  async tableAddDel(tableId: number, ipv6: boolean, isAdd: boolean, name = ''): Promise<void> {
    await this.client.request('ip_table_add_del', { is_add: isAdd, table: { table_id: tableId, is_ip6: ipv6, name } });
  }

  // ---------------------------------------------------------- linux-cp

  get hasLinuxCp(): boolean {
    return this.client.has('lcp_itf_pair_add_del') && this.client.has('lcp_itf_pair_get');
  }

  /** A host interface for a tunnel: use TUN, a TAP needs an ethernet phy (§7.1). */
  async lcpPairAddDel(o: { swIfIndex: number; hostIfName: string; netns?: string; hostIfType?: number }, isAdd: boolean): Promise<void> {
    await this.client.request('lcp_itf_pair_add_del', {
      is_add: isAdd,
      sw_if_index: o.swIfIndex,
      host_if_name: o.hostIfName,
      host_if_type: o.hostIfType ?? LCP_ITF_HOST_TUN,
      netns: o.netns ?? '',
    });
  }

  /** Walks the cursor until VPP reports the end (~0). */
  async lcpPairs(): Promise<LcpPair[]> {
    const out: LcpPair[] = [];
    let cursor = 0;
    for (let guard = 0; guard < 1024; guard++) {
      const { reply, details } = await this.client.stream('lcp_itf_pair_get', { cursor });
      for (const d of details) {
        out.push({
          phySwIfIndex: num(d.phy_sw_if_index),
          hostSwIfIndex: num(d.host_sw_if_index),
          vifIndex: num(d.vif_index),
          hostIfName: str(d.host_if_name),
          hostIfType: num(d.host_if_type),
          netns: str(d.netns),
        });
      }
      const next = num(reply.cursor);
      if (next === ALL || next === cursor || details.length === 0) break;
      cursor = next;
    }
    return out;
  }
}
