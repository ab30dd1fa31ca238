/**
 * The Linux kernel WireGuard's configuration interface: generic netlink
 * family "wireguard" (include/uapi/linux/wireguard.h), and the generic
 * netlink controller that resolves a family name to its id
 * (linux/genetlink.h, CTRL_CMD_GETFAMILY). Written from the headers; pure
 * (Buffer only): encoders write into an NlWriter, decoders read message bodies.
 *
 * A message body is struct genlmsghdr { u8 cmd; u8 version; u16 reserved; }
 * then attributes. Nested lists (peers, allowed IPs) carry NLA_F_NESTED and
 * one nest per element, its type the element's index (the kernel ignores it).
 */
import { formatIp } from '#lib/prefix';
import { NlWriter, forEachAttr } from '#netlink/codec';
import { NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST } from '#netlink/constants';
import { NetlinkDecodeError } from '#netlink/errors';

export const GENL_HDRLEN = 4;
/** linux/genetlink.h: the controller's fixed family id and what we ask of it. */
export const GENL_ID_CTRL = 0x10;
export const CTRL_CMD_GETFAMILY = 3;
export const CTRL_ATTR_FAMILY_ID = 1;
export const CTRL_ATTR_FAMILY_NAME = 2;
export const NLA_F_NESTED = 0x8000;

/** wireguard.h */
export const WG_GENL_NAME = 'wireguard';
export const WG_GENL_VERSION = 1;
export const WG_CMD_GET_DEVICE = 0;
export const WG_CMD_SET_DEVICE = 1;
export const WGDEVICE_F_REPLACE_PEERS = 1 << 0;
export const WGDEVICE_A_IFINDEX = 1;
export const WGDEVICE_A_IFNAME = 2;
export const WGDEVICE_A_PRIVATE_KEY = 3;
export const WGDEVICE_A_PUBLIC_KEY = 4;
export const WGDEVICE_A_FLAGS = 5;
export const WGDEVICE_A_LISTEN_PORT = 6;
export const WGDEVICE_A_FWMARK = 7;
export const WGDEVICE_A_PEERS = 8;
export const WGPEER_F_REMOVE_ME = 1 << 0;
export const WGPEER_F_REPLACE_ALLOWEDIPS = 1 << 1;
export const WGPEER_F_UPDATE_ONLY = 1 << 2;
export const WGPEER_A_PUBLIC_KEY = 1;
export const WGPEER_A_PRESHARED_KEY = 2;
export const WGPEER_A_FLAGS = 3;
export const WGPEER_A_ENDPOINT = 4;
export const WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL = 5;
export const WGPEER_A_LAST_HANDSHAKE_TIME = 6;
export const WGPEER_A_RX_BYTES = 7;
export const WGPEER_A_TX_BYTES = 8;
export const WGPEER_A_ALLOWEDIPS = 9;
export const WGPEER_A_PROTOCOL_VERSION = 10;
export const WGALLOWEDIP_A_FAMILY = 1;
export const WGALLOWEDIP_A_IPADDR = 2;
export const WGALLOWEDIP_A_CIDR_MASK = 3;

const AF_INET = 2;
const AF_INET6 = 10;
const KEY_LEN = 32;

export interface WgEndpoint {
  /** 4 or 16 bytes. */
  address: Uint8Array;
  port: number;
}

export interface WgAllowedIp {
  address: Uint8Array;
  cidr: number;
}

export interface WgPeerState {
  publicKey: Uint8Array;
  endpoint: WgEndpoint | null;
  persistentKeepalive: number;
  /** Seconds and nanoseconds since the epoch; 0/0: never. */
  lastHandshakeSec: number;
  lastHandshakeNsec: number;
  rxBytes: number;
  txBytes: number;
  protocolVersion: number;
  allowedIps: WgAllowedIp[];
}

export interface WgDeviceState {
  ifindex: number;
  ifname: string;
  /** Absent when the device has none (or the caller may not read it). */
  privateKey: Uint8Array | null;
  publicKey: Uint8Array | null;
  listenPort: number;
  fwmark: number;
  peers: WgPeerState[];
}

export interface WgPeerSet {
  publicKey: Uint8Array;
  /** WGPEER_F_*; 0: none sent. */
  flags: number;
  endpoint?: WgEndpoint;
  persistentKeepalive?: number;
  /** Sent with WGPEER_F_REPLACE_ALLOWEDIPS to set exactly these. */
  allowedIps?: WgAllowedIp[];
}

export interface WgDeviceSet {
  ifname: string;
  privateKey?: Uint8Array;
  listenPort?: number;
  /** WGDEVICE_F_*; 0: none sent. */
  flags: number;
  peers: WgPeerSet[];
}

function genlHeader(w: NlWriter, cmd: number, version: number): void {
  const at = w.header(GENL_HDRLEN);
  w.buf[at] = cmd;
  w.buf[at + 1] = version;
}

function attrU16(w: NlWriter, type: number, v: number): void {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v, 0);
  w.attr(type, b);
}

/** CTRL_CMD_GETFAMILY for `name`: the reply (CTRL_CMD_NEWFAMILY) carries CTRL_ATTR_FAMILY_ID. */
export function encodeGetFamily(w: NlWriter, seq: number, name: string): void {
  const start = w.begin(GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, seq);
  genlHeader(w, CTRL_CMD_GETFAMILY, 1);
  w.attrString(CTRL_ATTR_FAMILY_NAME, name);
  w.end(start);
}

/** The family id in a controller reply body; throws when it has none. */
export function decodeFamilyId(body: Buffer): number {
  if (body.length < GENL_HDRLEN) throw new NetlinkDecodeError(`genlmsghdr of ${body.length} bytes`);
  let id = 0;
  forEachAttr(body, GENL_HDRLEN, body.length, (type, v) => {
    if (type === CTRL_ATTR_FAMILY_ID && v.length >= 2) id = v.readUInt16LE(0);
  });
  if (id === 0) throw new NetlinkDecodeError('CTRL_CMD_NEWFAMILY without CTRL_ATTR_FAMILY_ID');
  return id;
}

/** WG_CMD_GET_DEVICE: a dump (the kernel splits a device with many peers over several messages). */
export function encodeWgGetDevice(w: NlWriter, family: number, seq: number, ifname: string): void {
  const start = w.begin(family, NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP, seq);
  genlHeader(w, WG_CMD_GET_DEVICE, WG_GENL_VERSION);
  w.attrString(WGDEVICE_A_IFNAME, ifname);
  w.end(start);
}

/** struct sockaddr_in / sockaddr_in6 as the kernel takes them: family host order, port network order. */
function sockaddr(e: WgEndpoint): Buffer {
  if (e.address.length === 4) {
    const b = Buffer.alloc(16);
    b.writeUInt16LE(AF_INET, 0);
    b.writeUInt16BE(e.port, 2);
    b.set(e.address, 4);
    return b;
  }
  const b = Buffer.alloc(28);
  b.writeUInt16LE(AF_INET6, 0);
  b.writeUInt16BE(e.port, 2);
  b.set(e.address, 8);
  return b;
}

/** WG_CMD_SET_DEVICE with NLM_F_ACK. */
export function encodeWgSetDevice(w: NlWriter, family: number, seq: number, set: WgDeviceSet): void {
  const start = w.begin(family, NLM_F_REQUEST | NLM_F_ACK, seq);
  genlHeader(w, WG_CMD_SET_DEVICE, WG_GENL_VERSION);
  w.attrString(WGDEVICE_A_IFNAME, set.ifname);
  if (set.privateKey !== undefined) w.attr(WGDEVICE_A_PRIVATE_KEY, set.privateKey);
  if (set.listenPort !== undefined) attrU16(w, WGDEVICE_A_LISTEN_PORT, set.listenPort);
  if (set.flags !== 0) w.attrU32(WGDEVICE_A_FLAGS, set.flags);
  if (set.peers.length > 0) {
    const peers = w.beginNest(WGDEVICE_A_PEERS | NLA_F_NESTED);
    set.peers.forEach((p, i) => {
      const peer = w.beginNest(i | NLA_F_NESTED);
      w.attr(WGPEER_A_PUBLIC_KEY, p.publicKey);
      if (p.flags !== 0) w.attrU32(WGPEER_A_FLAGS, p.flags);
      if (p.endpoint !== undefined) w.attr(WGPEER_A_ENDPOINT, sockaddr(p.endpoint));
      if (p.persistentKeepalive !== undefined) attrU16(w, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, p.persistentKeepalive);
      if (p.allowedIps !== undefined && p.allowedIps.length > 0) {
        const ips = w.beginNest(WGPEER_A_ALLOWEDIPS | NLA_F_NESTED);
        p.allowedIps.forEach((a, k) => {
          const ip = w.beginNest(k | NLA_F_NESTED);
          attrU16(w, WGALLOWEDIP_A_FAMILY, a.address.length === 4 ? AF_INET : AF_INET6);
          w.attr(WGALLOWEDIP_A_IPADDR, a.address);
          w.attrU8(WGALLOWEDIP_A_CIDR_MASK, a.cidr);
          w.endNest(ip);
        });
        w.endNest(ips);
      }
      w.endNest(peer);
    });
    w.endNest(peers);
  }
  w.end(start);
}

function readSockaddr(v: Buffer): WgEndpoint | null {
  if (v.length < 2) return null;
  const family = v.readUInt16LE(0);
  if (family === AF_INET && v.length >= 16) return { address: Uint8Array.from(v.subarray(4, 8)), port: v.readUInt16BE(2) };
  if (family === AF_INET6 && v.length >= 28) return { address: Uint8Array.from(v.subarray(8, 24)), port: v.readUInt16BE(2) };
  return null;
}

function key(v: Buffer, what: string): Uint8Array {
  if (v.length !== KEY_LEN) throw new NetlinkDecodeError(`${what} of ${v.length} bytes`);
  return Uint8Array.from(v);
}

function decodeAllowedIp(v: Buffer): WgAllowedIp | null {
  let family = 0;
  let address: Uint8Array | null = null;
  let cidr = -1;
  forEachAttr(v, 0, v.length, (type, a) => {
    if (type === WGALLOWEDIP_A_FAMILY && a.length >= 2) family = a.readUInt16LE(0);
    else if (type === WGALLOWEDIP_A_IPADDR) address = Uint8Array.from(a);
    else if (type === WGALLOWEDIP_A_CIDR_MASK && a.length >= 1) cidr = a[0]!;
  });
  const want = family === AF_INET ? 4 : family === AF_INET6 ? 16 : 0;
  if (address === null || cidr < 0 || want === 0 || (address as Uint8Array).length !== want) return null;
  return { address, cidr };
}

function decodePeer(v: Buffer): WgPeerState {
  const p: WgPeerState = {
    publicKey: new Uint8Array(0),
    endpoint: null,
    persistentKeepalive: 0,
    lastHandshakeSec: 0,
    lastHandshakeNsec: 0,
    rxBytes: 0,
    txBytes: 0,
    protocolVersion: 0,
    allowedIps: [],
  };
  forEachAttr(v, 0, v.length, (type, a) => {
    switch (type) {
      case WGPEER_A_PUBLIC_KEY:
        p.publicKey = key(a, 'WGPEER_A_PUBLIC_KEY');
        break;
      case WGPEER_A_ENDPOINT:
        p.endpoint = readSockaddr(a);
        break;
      case WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL:
        if (a.length >= 2) p.persistentKeepalive = a.readUInt16LE(0);
        break;
      case WGPEER_A_LAST_HANDSHAKE_TIME:
        // struct __kernel_timespec { s64 tv_sec; s64 tv_nsec; }
        if (a.length >= 16) {
          p.lastHandshakeSec = Number(a.readBigInt64LE(0));
          p.lastHandshakeNsec = Number(a.readBigInt64LE(8));
        }
        break;
      case WGPEER_A_RX_BYTES:
        if (a.length >= 8) p.rxBytes = Number(a.readBigUInt64LE(0));
        break;
      case WGPEER_A_TX_BYTES:
        if (a.length >= 8) p.txBytes = Number(a.readBigUInt64LE(0));
        break;
      case WGPEER_A_PROTOCOL_VERSION:
        if (a.length >= 4) p.protocolVersion = a.readUInt32LE(0);
        break;
      case WGPEER_A_ALLOWEDIPS:
        forEachAttr(a, 0, a.length, (_, ip) => {
          const d = decodeAllowedIp(ip);
          if (d !== null) p.allowedIps.push(d);
        });
        break;
    }
  });
  if (p.publicKey.length !== KEY_LEN) throw new NetlinkDecodeError('peer without WGPEER_A_PUBLIC_KEY');
  return p;
}

/** One WG_CMD_GET_DEVICE reply message body (genlmsghdr and attributes). */
export function decodeWgDevice(body: Buffer): WgDeviceState {
  if (body.length < GENL_HDRLEN) throw new NetlinkDecodeError(`genlmsghdr of ${body.length} bytes`);
  const d: WgDeviceState = { ifindex: 0, ifname: '', privateKey: null, publicKey: null, listenPort: 0, fwmark: 0, peers: [] };
  forEachAttr(body, GENL_HDRLEN, body.length, (type, v) => {
    switch (type) {
      case WGDEVICE_A_IFINDEX:
        if (v.length >= 4) d.ifindex = v.readUInt32LE(0);
        break;
      case WGDEVICE_A_IFNAME:
        d.ifname = v.toString('utf8').replace(/\0.*$/s, '');
        break;
      case WGDEVICE_A_PRIVATE_KEY:
        d.privateKey = key(v, 'WGDEVICE_A_PRIVATE_KEY');
        break;
      case WGDEVICE_A_PUBLIC_KEY:
        d.publicKey = key(v, 'WGDEVICE_A_PUBLIC_KEY');
        break;
      case WGDEVICE_A_LISTEN_PORT:
        if (v.length >= 2) d.listenPort = v.readUInt16LE(0);
        break;
      case WGDEVICE_A_FWMARK:
        if (v.length >= 4) d.fwmark = v.readUInt32LE(0);
        break;
      case WGDEVICE_A_PEERS:
        forEachAttr(v, 0, v.length, (_, peer) => d.peers.push(decodePeer(peer)));
        break;
    }
  });
  return d;
}

/**
 * The messages of one dump as one device: the kernel continues a peer list
 * that does not fit one message in the next (wireguard.h: "the same peer may
 * be split across messages", the later part carrying the public key again).
 */
export function mergeWgDevice(parts: readonly WgDeviceState[]): WgDeviceState | null {
  const first = parts[0];
  if (first === undefined) return null;
  const out: WgDeviceState = { ...first, peers: [] };
  for (const part of parts) {
    for (const p of part.peers) {
      const last = out.peers[out.peers.length - 1];
      if (last !== undefined && Buffer.from(last.publicKey).equals(Buffer.from(p.publicKey))) last.allowedIps.push(...p.allowedIps);
      else out.peers.push({ ...p, allowedIps: [...p.allowedIps] });
    }
  }
  return out;
}

/** "ip:port" / "[ip6]:port" of an endpoint. */
export function endpointText(e: WgEndpoint): string {
  const ip = formatIp(e.address);
  return e.address.length === 4 ? `${ip}:${e.port}` : `[${ip}]:${e.port}`;
}
