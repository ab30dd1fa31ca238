/**
 * The fake's API handlers: decoded request values (from the shared
 * definitions, #vpp/codec) → FakeState operations → reply values. Wire
 * conversions are done here, from the raw decoded fields, independently of the
 * client's #vpp/address helpers for requests (so a client-side helper bug
 * shows), with them for replies.
 *
 * Handlers for sockclnt_*, control_ping and want_interface_events need the
 * connection and live in server.ts.
 */
import type { VppRecord, VppValue } from '#vpp/codec';
import { toVppAddress, toVppPrefix } from '#vpp/address';
import type { Family } from '#lib/prefix';
import { formatIp } from '#lib/prefix';
import {
  HOST_TUN,
  IF_ADMIN_UP,
  IF_LINK_UP,
  NH_IP6,
  NO_INDEX,
  RV,
  type FakeInterface,
  type FakePeer,
  type FakeState,
  type FibPath,
} from './state.js';

/** What a handler may do besides touching the state. */
export interface HandlerContext {
  readonly state: FakeState;
  /** The requesting client's index (0x80000000 | n). */
  readonly clientIndex: number;
  /** Sends a reply/details message; `context` is filled from the request. */
  reply(name: string, values: VppRecord): void;
  /** Brings peer endpoints / flags up to date from the realized dataplane (no-op without realization). */
  refreshPeers(): Promise<void>;
  readonly version: string;
}

export type Handler = (req: VppRecord, ctx: HandlerContext) => void | Promise<void>;

// ─── decoded-value accessors ───────────────────────────────────────────────

function rec(v: VppValue | undefined): VppRecord {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) return {};
  return v;
}

function num(v: VppValue | undefined): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  return 0;
}

function bool(v: VppValue | undefined): boolean {
  return v === true || v === 1;
}

function str(v: VppValue | undefined): string {
  return typeof v === 'string' ? v : '';
}

function bytes(v: VppValue | undefined): Buffer {
  return v instanceof Uint8Array ? Buffer.from(v) : Buffer.alloc(0);
}

function arr(v: VppValue | undefined): VppValue[] {
  return Array.isArray(v) ? v : [];
}

/** A decoded vl_api_address_t → family + raw bytes (af outside 0/1 is taken as IPv4, as ip_address_decode does not check). */
function rawAddress(v: VppValue | undefined): { family: Family; bytes: Uint8Array } {
  const a = rec(v);
  const family: Family = num(a.af) === 1 ? 6 : 4;
  const un = rec(a.un);
  const b = bytes(family === 4 ? un.ip4 : un.ip6);
  return { family, bytes: b };
}

/** A decoded address → text, or null when all zero (VPP's "unset"). */
function addressText(v: VppValue | undefined): string | null {
  const a = rawAddress(v);
  return a.bytes.every((x) => x === 0) ? null : formatIp(a.bytes);
}

function rawPrefix(v: VppValue | undefined): { family: Family; bytes: Uint8Array; len: number } {
  const p = rec(v);
  return { ...rawAddress(p.address), len: num(p.len) };
}

/** A decoded prefix → canonical text (host bits cleared) for allowed IPs. */
function prefixText(v: VppValue | undefined): string {
  const p = rawPrefix(v);
  const max = p.family === 4 ? 32 : 128;
  const len = Math.min(p.len, max);
  const masked = new Uint8Array(p.bytes);
  for (let bit = len; bit < masked.length * 8; bit++) masked[bit >> 3] = masked[bit >> 3]! & ~(0x80 >> (bit & 7));
  return `${formatIp(masked)}/${len}`;
}

function decodePath(v: VppValue | undefined): FibPath {
  const p = rec(v);
  const proto = num(p.proto);
  const nh = rec(rec(p.nh).address);
  const nhBytes = bytes(proto === NH_IP6 ? nh.ip6 : nh.ip4);
  return {
    swIfIndex: num(p.sw_if_index),
    tableId: num(p.table_id),
    nh: nhBytes.length === 0 || nhBytes.every((x) => x === 0) ? null : formatIp(nhBytes),
    proto,
    weight: num(p.weight),
    preference: num(p.preference),
    type: num(p.type),
    flags: num(p.flags),
  };
}

function encodePath(p: FibPath): VppRecord {
  const zero = p.proto === NH_IP6 ? '::' : '0.0.0.0';
  return {
    sw_if_index: p.swIfIndex,
    table_id: p.tableId,
    rpf_id: 0,
    weight: p.weight,
    preference: p.preference,
    type: p.type,
    flags: p.flags,
    proto: p.proto,
    nh: { address: toVppAddress(p.nh ?? zero).un, via_label: 0, obj_id: 0, classify_table_index: 0 },
    n_labels: 0,
    label_stack: [],
  };
}

function encodeAddress(text: string | null): VppRecord {
  return toVppAddress(text ?? '0.0.0.0');
}

// ─── details builders ─────────────────────────────────────────────────────

function interfaceDetails(itf: FakeInterface): VppRecord {
  return {
    sw_if_index: itf.swIfIndex,
    sup_sw_if_index: itf.swIfIndex,
    l2_address: itf.mac,
    flags: (itf.adminUp ? IF_ADMIN_UP : 0) | (itf.linkUp ? IF_LINK_UP : 0),
    type: 0,
    link_duplex: 0,
    link_speed: 0,
    link_mtu: itf.linkMtu,
    mtu: [...itf.mtu],
    interface_name: itf.name,
    interface_dev_type: itf.devType,
    tag: itf.tag,
  };
}

function peerDetails(p: FakePeer): VppRecord {
  return {
    peer_index: p.peerIndex,
    public_key: p.publicKey,
    port: p.port,
    persistent_keepalive: p.persistentKeepalive,
    table_id: p.tableId,
    endpoint: encodeAddress(p.endpoint),
    sw_if_index: p.swIfIndex,
    flags: p.flags,
    n_allowed_ips: p.allowedIps.length,
    allowed_ips: p.allowedIps.map((a) => toVppPrefix(a)),
  };
}

// ─── handlers ─────────────────────────────────────────────────────────────

const retvalOnly = (name: string, rv: number, ctx: HandlerContext): void => ctx.reply(`${name}_reply`, { retval: rv });

export const HANDLERS: Readonly<Record<string, Handler>> = {
  memclnt_keepalive: (_req, ctx) => ctx.reply('memclnt_keepalive_reply', { retval: 0 }),

  show_version: (_req, ctx) =>
    ctx.reply('show_version_reply', {
      retval: 0,
      program: 'vpe',
      version: ctx.version,
      build_date: '2025-10-29T12:00:00',
      build_directory: '/w/workspace/vpp-fake',
    }),

  // ── interfaces ──
  sw_interface_set_flags: (req, ctx) =>
    retvalOnly('sw_interface_set_flags', ctx.state.setFlags(num(req.sw_if_index), num(req.flags)), ctx),

  sw_interface_add_del_address: (req, ctx) => {
    const p = rawPrefix(req.prefix);
    const rv = ctx.state.addDelAddress(num(req.sw_if_index), bool(req.is_add), bool(req.del_all), p.family, p.bytes, p.len);
    retvalOnly('sw_interface_add_del_address', rv, ctx);
  },

  sw_interface_tag_add_del: (req, ctx) =>
    retvalOnly('sw_interface_tag_add_del', ctx.state.setTag(num(req.sw_if_index), bool(req.is_add), str(req.tag)), ctx),

  sw_interface_set_unnumbered: (req, ctx) => {
    const rv = ctx.state.setUnnumbered(num(req.sw_if_index), num(req.unnumbered_sw_if_index), bool(req.is_add));
    retvalOnly('sw_interface_set_unnumbered', rv, ctx);
  },

  sw_interface_set_mtu: (req, ctx) => {
    const mtu = Array.isArray(req.mtu) ? req.mtu.map((v) => num(v)) : [];
    retvalOnly('sw_interface_set_mtu', ctx.state.setMtu(num(req.sw_if_index), mtu), ctx);
  },

  sw_interface_ip6_enable_disable: (req, ctx) =>
    retvalOnly('sw_interface_ip6_enable_disable', ctx.state.ip6EnableDisable(num(req.sw_if_index), bool(req.enable)), ctx),

  sw_interface_dump: (req, ctx) => {
    const sw = num(req.sw_if_index);
    const filterValid = bool(req.name_filter_valid);
    const filter = str(req.name_filter).toLowerCase();
    // interface_api.c: one interface when sw_if_index is neither ~0 nor 0 (and no filter).
    if (!filterValid && sw !== NO_INDEX && sw !== 0) {
      const itf = ctx.state.interfaces.get(sw);
      if (itf) ctx.reply('sw_interface_details', interfaceDetails(itf));
      return;
    }
    const all = [...ctx.state.interfaces.values()].sort((a, b) => a.swIfIndex - b.swIfIndex);
    for (const itf of all) {
      if (filterValid && !itf.name.toLowerCase().includes(filter)) continue;
      ctx.reply('sw_interface_details', interfaceDetails(itf));
    }
  },

  ip_address_dump: (req, ctx) => {
    const sw = num(req.sw_if_index);
    const family: Family = bool(req.is_ipv6) ? 6 : 4;
    for (const a of ctx.state.dumpAddresses(sw, family)) {
      ctx.reply('ip_address_details', { sw_if_index: sw, prefix: toVppPrefix(a) });
    }
  },

  // ── FIB ──
  ip_table_add_del: (req, ctx) => {
    const t = rec(req.table);
    const rv = ctx.state.tableAddDel(bool(req.is_add), bool(t.is_ip6) ? 6 : 4, num(t.table_id), str(t.name));
    retvalOnly('ip_table_add_del', rv, ctx);
  },

  // ip_api.c: every IPv4 table, then every IPv6 one, each with its name (ft_desc).
  ip_table_dump: (_req, ctx) => {
    const tables = [...ctx.state.fib.values()].sort((a, b) => a.family - b.family || a.tableId - b.tableId);
    for (const t of tables) ctx.reply('ip_table_details', { table: { table_id: t.tableId, is_ip6: t.family === 6, name: t.name } });
  },

  ip_route_add_del: (req, ctx) => {
    const route = rec(req.route);
    const p = rawPrefix(route.prefix);
    const [rv, statsIndex] = ctx.state.routeAddDel({
      isAdd: bool(req.is_add),
      isMultipath: bool(req.is_multipath),
      tableId: num(route.table_id),
      family: p.family,
      address: p.bytes,
      len: p.len,
      paths: arr(route.paths).map(decodePath),
    });
    ctx.reply('ip_route_add_del_reply', { retval: rv, stats_index: statsIndex });
  },

  ip_route_dump: (req, ctx) => {
    const t = rec(req.table);
    const family: Family = bool(t.is_ip6) ? 6 : 4;
    const tableId = num(t.table_id);
    const table = ctx.state.table(family, tableId);
    if (!table) return;
    for (const r of ctx.state.routes(family, tableId)) {
      const entry = table.entries.get(r.prefix);
      ctx.reply('ip_route_details', {
        route: {
          table_id: tableId,
          stats_index: entry?.statsIndex ?? 0,
          prefix: toVppPrefix(r.prefix),
          n_paths: r.paths.length,
          paths: r.paths.map(encodePath),
        },
      });
    }
  },

  ip_route_lookup: (req, ctx) => {
    const p = rawPrefix(req.prefix);
    const tableId = num(req.table_id);
    if (!ctx.state.table(p.family, tableId)) {
      ctx.reply('ip_route_lookup_reply', { retval: RV.NO_SUCH_FIB, route: { table_id: tableId, n_paths: 0, paths: [] } });
      return;
    }
    const r = ctx.state.lookup(p.family, tableId, p.bytes, p.len, num(req.exact) !== 0);
    if (!r) {
      ctx.reply('ip_route_lookup_reply', { retval: RV.NO_SUCH_ENTRY, route: { table_id: tableId, n_paths: 0, paths: [] } });
      return;
    }
    ctx.reply('ip_route_lookup_reply', {
      retval: 0,
      route: { table_id: tableId, stats_index: 0, prefix: toVppPrefix(r.prefix), n_paths: r.paths.length, paths: r.paths.map(encodePath) },
    });
  },

  // ── WireGuard ──
  wireguard_interface_create: (req, ctx) => {
    const i = rec(req.interface);
    const key = bytes(i.private_key);
    const [rv, sw] = ctx.state.wgCreate(
      num(i.user_instance),
      bool(req.generate_key) ? null : key,
      num(i.port),
      addressText(i.src_ip),
    );
    ctx.reply('wireguard_interface_create_reply', { retval: rv, sw_if_index: sw });
  },

  wireguard_interface_delete: (req, ctx) =>
    retvalOnly('wireguard_interface_delete', ctx.state.wgDelete(num(req.sw_if_index)), ctx),

  wireguard_interface_dump: (req, ctx) => {
    const sw = num(req.sw_if_index);
    const showPrivate = bool(req.show_private_key);
    const all = [...ctx.state.interfaces.values()]
      .filter((i) => i.wireguard !== null && (sw === NO_INDEX || i.swIfIndex === sw))
      .sort((a, b) => a.wireguard!.instance - b.wireguard!.instance);
    for (const itf of all) {
      const wg = itf.wireguard!;
      ctx.reply('wireguard_interface_details', {
        interface: {
          user_instance: wg.instance,
          sw_if_index: itf.swIfIndex,
          private_key: showPrivate ? wg.privateKey : Buffer.alloc(32),
          public_key: wg.publicKey,
          port: wg.port,
          src_ip: encodeAddress(wg.srcIp),
        },
      });
    }
  },

  wireguard_peer_add: (req, ctx) => {
    const p = rec(req.peer);
    const [rv, peerIndex] = ctx.state.peerAdd({
      swIfIndex: num(p.sw_if_index),
      publicKey: bytes(p.public_key),
      endpoint: addressText(p.endpoint),
      port: num(p.port),
      persistentKeepalive: num(p.persistent_keepalive),
      tableId: num(p.table_id),
      allowedIps: arr(p.allowed_ips).map(prefixText),
    });
    ctx.reply('wireguard_peer_add_reply', { retval: rv, peer_index: peerIndex });
  },

  wireguard_peer_remove: (req, ctx) =>
    retvalOnly('wireguard_peer_remove', ctx.state.peerRemove(num(req.peer_index)), ctx),

  wireguard_peers_dump: async (req, ctx) => {
    await ctx.refreshPeers();
    const idx = num(req.peer_index);
    const peers = idx === NO_INDEX
      ? [...ctx.state.peers.values()].sort((a, b) => a.peerIndex - b.peerIndex)
      : [ctx.state.peers.get(idx)].filter((p) => p !== undefined);
    for (const p of peers) ctx.reply('wireguard_peers_details', { peer: peerDetails(p) });
  },

  want_wireguard_peer_events: (req, ctx) => {
    const rv = ctx.state.peerEventsRegister(
      ctx.clientIndex,
      num(req.sw_if_index),
      num(req.peer_index),
      num(req.enable_disable) !== 0,
      num(req.pid),
    );
    retvalOnly('want_wireguard_peer_events', rv, ctx);
  },

  // ── linux-cp ──
  lcp_itf_pair_add_del: (req, ctx) => {
    const rv = ctx.state.lcpAddDel(
      bool(req.is_add),
      num(req.sw_if_index),
      str(req.host_if_name),
      num(req.host_if_type),
      str(req.netns),
    );
    retvalOnly('lcp_itf_pair_add_del', rv, ctx);
  },

  lcp_itf_pair_get: (req, ctx) => {
    const pairs = ctx.state.pairsInOrder();
    // REPLY_AND_DETAILS_MACRO_END: an empty pool answers just the reply.
    if (pairs.length === 0) {
      ctx.reply('lcp_itf_pair_get_reply', { retval: 0, cursor: 0 });
      return;
    }
    const cursor = num(req.cursor);
    const from = pairs.filter((p) => p.index >= cursor);
    if (from.length === 0) {
      ctx.reply('lcp_itf_pair_get_reply', { retval: RV.INVALID_VALUE, cursor: NO_INDEX });
      return;
    }
    for (const p of from) {
      ctx.reply('lcp_itf_pair_details', {
        phy_sw_if_index: p.phySwIfIndex,
        host_sw_if_index: p.hostSwIfIndex,
        vif_index: p.vifIndex,
        host_if_name: p.hostIfName,
        host_if_type: p.hostIfType === HOST_TUN ? HOST_TUN : 0,
        netns: p.netns,
      });
    }
    ctx.reply('lcp_itf_pair_get_reply', { retval: 0, cursor: NO_INDEX });
  },
};
