/**
 * FPM (Forwarding Plane Manager) codec: FRR zebra's `dplane_fpm_nl` module
 * streams its FIB over TCP as frames of
 *
 *   version (u8, 1) | type (u8, 1 = netlink) | length (u16 big-endian, header included) | netlink messages
 *
 * and each netlink message is the one zebra would send the kernel, in host
 * (little-endian) byte order: RTM_NEWROUTE / RTM_DELROUTE (rtmsg + rtattrs)
 * and, in next-hop-group mode, RTM_NEWNEXTHOP / RTM_DELNEXTHOP (nhmsg +
 * NHA_* attributes, linux/nexthop.h). A route update is one frame holding an
 * RTM_DELROUTE and the RTM_NEWROUTE that replaces it (FRR 8.4
 * zebra/dplane_fpm_nl.c), so a frame decodes to a list of messages.
 *
 * Pure: no sockets, no timers. Routes are read with the rtnetlink codec of
 * '#netlink/codec' (decodeRoute), plus the attributes the kernel route dump
 * never needed there (RTA_NH_ID, multipath weights, whether RTA_PRIORITY was sent).
 */
import type { Family } from '#lib/prefix';
import { formatIpv4, formatIpv6 } from '#lib/prefix';
import { decodeRoute, forEachAttr, splitMessages, type NlMessage } from '#netlink/codec';
import {
  AF_INET,
  AF_INET6,
  NLMSG_HDRLEN,
  RTA_MULTIPATH,
  RTA_PRIORITY,
  RTM_DELROUTE,
  RTM_NEWROUTE,
  RTMSG_LEN,
  RTNH_LEN,
} from '#netlink/constants';
import { NetlinkDecodeError } from '#netlink/errors';

/** The FPM header: version, type, 16-bit length. */
export const FPM_HEADER_LEN = 4;
export const FPM_VERSION = 1;
/** Header type 1: a netlink payload (type 2 was the old zebra_fpm module's protobuf). */
export const FPM_MSG_TYPE_NETLINK = 1;
/** The length field is 16 bits and counts the header: no frame is longer. */
export const FPM_MAX_FRAME = 0xffff;

/** linux/rtnetlink.h: a route naming a kernel nexthop object instead of inline next hops. */
export const RTA_NH_ID = 30;
/** linux/rtnetlink.h: nexthop object messages (Linux 5.3). */
export const RTM_NEWNEXTHOP = 104;
export const RTM_DELNEXTHOP = 105;
/** linux/nexthop.h: struct nhmsg { u8 family, scope, protocol, resvd; u32 flags }. */
export const NHMSG_LEN = 8;
export const NHA_ID = 1;
/** An array of struct nexthop_grp { u32 id; u8 weight (weight - 1); u8 resvd1; u16 resvd2 }. */
export const NHA_GROUP = 2;
export const NHA_BLACKHOLE = 4;
export const NHA_OIF = 5;
export const NHA_GATEWAY = 6;
export const NEXTHOP_GRP_LEN = 8;

/** rtm_type values zebra sends (linux/rtnetlink.h). */
export const RTN_UNSPEC = 0;
export const RTN_UNICAST = 1;
export const RTN_BLACKHOLE = 6;
export const RTN_UNREACHABLE = 7;
export const RTN_PROHIBIT = 8;

/** rtm_protocol of routes from ospfd and ospf6d alike (zebra's zebra2proto). */
export const RTPROT_OSPF = 188;
/** rtm_protocol of connected routes in zebra's FPM stream. */
export const RTPROT_KERNEL = 2;

/** Why a byte stream is not FPM: the connection cannot be read any further. */
export type FpmFramingReason = 'version' | 'type' | 'length';

/**
 * The stream is not FPM (a wrong version or type, a length shorter than a
 * header and one nlmsghdr). Framing is lost with it: nothing after it can be
 * trusted, so the reader closes the connection.
 */
export class FpmFramingError extends Error {
  override readonly name = 'FpmFramingError';
  constructor(
    readonly reason: FpmFramingReason,
    message: string,
  ) {
    super(message);
  }
}

/** One frame's netlink payload is unreadable; the stream's framing is intact, the next frame can be read. */
export class FpmDecodeError extends Error {
  override readonly name = 'FpmDecodeError';
}

/**
 * Cuts a TCP byte stream into FPM frames, whatever the chunking: a frame may
 * span chunks and a chunk may hold many frames. Memory is bounded by one
 * partial frame (at most FPM_MAX_FRAME bytes), copied once into a buffer of
 * its exact size, so a frame arriving a byte at a time costs no more than one
 * arriving whole. After a framing error every push throws it again.
 */
export class FpmSplitter {
  private readonly header = Buffer.alloc(FPM_HEADER_LEN);
  private headerHave = 0;
  private frame: Buffer | null = null;
  private frameHave = 0;
  private failed: FpmFramingError | null = null;

  /**
   * The netlink payloads (frame minus header) of the frames this chunk
   * completes, in order. They may be views of `chunk`: read them before the
   * chunk's memory is reused (Node's socket buffers are not).
   */
  push(chunk: Buffer): Buffer[] {
    if (this.failed) throw this.failed;
    const out: Buffer[] = [];
    let off = 0;
    while (off < chunk.length) {
      if (this.frame) {
        const n = Math.min(this.frame.length - this.frameHave, chunk.length - off);
        chunk.copy(this.frame, this.frameHave, off, off + n);
        this.frameHave += n;
        off += n;
        if (this.frameHave === this.frame.length) {
          out.push(this.frame.subarray(FPM_HEADER_LEN));
          this.frame = null;
        }
        continue;
      }
      if (this.headerHave > 0 || chunk.length - off < FPM_HEADER_LEN) {
        const n = Math.min(FPM_HEADER_LEN - this.headerHave, chunk.length - off);
        chunk.copy(this.header, this.headerHave, off, off + n);
        this.headerHave += n;
        off += n;
        if (this.headerHave < FPM_HEADER_LEN) break;
        this.headerHave = 0;
        this.startFrame(this.check(this.header, 0));
        this.header.copy(this.frame!, 0);
        continue;
      }
      const len = this.check(chunk, off);
      if (off + len <= chunk.length) {
        out.push(chunk.subarray(off + FPM_HEADER_LEN, off + len));
        off += len;
        continue;
      }
      this.startFrame(len);
      chunk.copy(this.frame!, 0, off);
      this.frameHave = chunk.length - off;
      off = chunk.length;
    }
    return out;
  }

  /** Bytes held of a frame not yet complete. */
  get buffered(): number {
    return this.frame ? this.frameHave : this.headerHave;
  }

  private startFrame(len: number): void {
    this.frame = Buffer.allocUnsafe(len);
    this.frameHave = FPM_HEADER_LEN;
  }

  /** The frame length of the header at buf[off, off + 4), or throws (and stays failed). */
  private check(buf: Buffer, off: number): number {
    const version = buf[off]!;
    const type = buf[off + 1]!;
    const len = buf.readUInt16BE(off + 2);
    if (version !== FPM_VERSION) {
      this.failed = new FpmFramingError('version', `FPM header version ${version}, expected ${FPM_VERSION}`);
    } else if (type !== FPM_MSG_TYPE_NETLINK) {
      this.failed = new FpmFramingError(
        'type',
        `FPM message type ${type}${type === 2 ? ' (protobuf)' : ''}, expected ${FPM_MSG_TYPE_NETLINK} (netlink): zebra needs -M dplane_fpm_nl`,
      );
    } else if (len < FPM_HEADER_LEN + NLMSG_HDRLEN) {
      this.failed = new FpmFramingError('length', `FPM frame length ${len}, shorter than a header and an nlmsghdr`);
    }
    if (this.failed) throw this.failed;
    return len;
  }
}

/** One next hop of a route: a gateway, an interface, or both; a weight inside a multipath set. */
export interface FpmNexthop {
  /** Canonical text ("10.255.0.1", "fe80::1"). */
  address?: string;
  ifindex?: number;
  /** 1..256 (the kernel carries weight - 1); only on paths of a multipath route or a group member. */
  weight?: number;
}

/** A route as zebra sent it. */
export interface FpmRoute {
  family: Family;
  /** Canonical prefix text, host bits cleared ("10.10.2.0/24", "fd00:10:2::/64"). */
  prefix: string;
  /** RTA_TABLE when sent, else rtm_table. */
  table: number;
  /** rtm_protocol: 188 OSPF (v2 and v3), 2 connected, 4 static … */
  protocol: number;
  /** rtm_type: 1 unicast, 6 blackhole, 7 unreachable, 8 prohibit; 0 on a delete. */
  type: number;
  /** RTA_PRIORITY: zebra's kernel metric (20), not the protocol's cost; null when absent. */
  metric: number | null;
  /** Inline next hops (RTA_GATEWAY/RTA_OIF or RTA_MULTIPATH); empty when the route names a group. */
  nexthops: FpmNexthop[];
  /** RTA_NH_ID: the nexthop object (next-hop-group mode). */
  nhId?: number;
}

export interface FpmGroupMember {
  id: number;
  /** 1..256. */
  weight: number;
}

/** A nexthop object (RTM_NEWNEXTHOP): a single next hop or a group of others. */
export interface FpmNexthopObject {
  id: number;
  /** nh_family; absent for a group (AF_UNSPEC). */
  family?: Family;
  address?: string;
  ifindex?: number;
  group?: FpmGroupMember[];
  blackhole?: boolean;
}

export type FpmMessage =
  | { kind: 'route'; op: 'add' | 'delete'; route: FpmRoute }
  | { kind: 'nexthop'; op: 'add' | 'delete'; nexthop: FpmNexthopObject }
  /** Another netlink message (MPLS LSPs, EVPN MACs, a family other than IPv4/IPv6): counted, not used. */
  | { kind: 'unknown'; type: number; family?: number };

function familyOf(af: number): Family | null {
  return af === AF_INET ? 4 : af === AF_INET6 ? 6 : null;
}

/**
 * What decodeRoute leaves out: RTA_NH_ID, whether RTA_PRIORITY was there, and
 * the weights of RTA_MULTIPATH paths (rtnh_hops, in the order decodeRoute lists them).
 */
function routeExtras(body: Buffer): { nhId?: number; hasPriority: boolean; weights: number[] } {
  const out: { nhId?: number; hasPriority: boolean; weights: number[] } = { hasPriority: false, weights: [] };
  forEachAttr(body, RTMSG_LEN, body.length, (type, v) => {
    if (type === RTA_NH_ID && v.length >= 4) out.nhId = v.readUInt32LE(0);
    else if (type === RTA_PRIORITY && v.length >= 4) out.hasPriority = true;
    else if (type === RTA_MULTIPATH) {
      for (let off = 0; off + RTNH_LEN <= v.length; ) {
        const len = v.readUInt16LE(off);
        if (len < RTNH_LEN) break;
        out.weights.push(v[off + 3]! + 1);
        off += (len + 3) & ~3;
      }
    }
  });
  return out;
}

function decodeRouteMessage(m: NlMessage): FpmMessage {
  if (m.body.length < RTMSG_LEN) throw new NetlinkDecodeError(`rtmsg of ${m.body.length} bytes`);
  const family = familyOf(m.body[0]!);
  if (family === null) return { kind: 'unknown', type: m.type, family: m.body[0]! };
  const r = decodeRoute(m.body);
  const extra = routeExtras(m.body);
  const multipath = extra.weights.length > 0 && extra.weights.length === r.nexthops.length;
  const route: FpmRoute = {
    family,
    prefix: r.prefix,
    table: r.table,
    protocol: r.protocol,
    type: r.type,
    metric: extra.hasPriority ? r.priority : null,
    nexthops: r.nexthops.map((nh, i) => {
      const out: FpmNexthop = {};
      if (nh.gateway !== undefined) out.address = nh.gateway;
      if (nh.ifindex > 0) out.ifindex = nh.ifindex;
      if (multipath) out.weight = extra.weights[i]!;
      return out;
    }),
  };
  if (extra.nhId !== undefined) route.nhId = extra.nhId;
  return { kind: 'route', op: m.type === RTM_NEWROUTE ? 'add' : 'delete', route };
}

function decodeNexthopMessage(m: NlMessage): FpmMessage {
  const b = m.body;
  if (b.length < NHMSG_LEN) throw new NetlinkDecodeError(`nhmsg of ${b.length} bytes`);
  const family = familyOf(b[0]!);
  let id: number | undefined;
  const nh: Omit<FpmNexthopObject, 'id'> = {};
  if (family !== null) nh.family = family;
  forEachAttr(b, NHMSG_LEN, b.length, (type, v) => {
    switch (type) {
      case NHA_ID:
        if (v.length >= 4) id = v.readUInt32LE(0);
        break;
      case NHA_GATEWAY:
        if (v.length === 4) nh.address = formatIpv4(v, 0);
        else if (v.length === 16) nh.address = formatIpv6(v, 0);
        else throw new NetlinkDecodeError(`NHA_GATEWAY of ${v.length} bytes`);
        break;
      case NHA_OIF:
        if (v.length >= 4) nh.ifindex = v.readUInt32LE(0);
        break;
      case NHA_BLACKHOLE:
        nh.blackhole = true;
        break;
      case NHA_GROUP: {
        if (v.length % NEXTHOP_GRP_LEN !== 0) throw new NetlinkDecodeError(`NHA_GROUP of ${v.length} bytes`);
        const group: FpmGroupMember[] = [];
        for (let off = 0; off < v.length; off += NEXTHOP_GRP_LEN) {
          group.push({ id: v.readUInt32LE(off), weight: v[off + 4]! + 1 });
        }
        nh.group = group;
        break;
      }
    }
  });
  if (id === undefined) throw new NetlinkDecodeError('nexthop message without NHA_ID');
  return { kind: 'nexthop', op: m.type === RTM_NEWNEXTHOP ? 'add' : 'delete', nexthop: { id, ...nh } };
}

/** One netlink message of a frame. */
export function decodeFpmNetlink(m: NlMessage): FpmMessage {
  switch (m.type) {
    case RTM_NEWROUTE:
    case RTM_DELROUTE:
      return decodeRouteMessage(m);
    case RTM_NEWNEXTHOP:
    case RTM_DELNEXTHOP:
      return decodeNexthopMessage(m);
    default:
      return { kind: 'unknown', type: m.type };
  }
}

/** The messages of one frame's payload (the bytes after the FPM header); throws FpmDecodeError. */
export function decodeFpmPayload(payload: Buffer): FpmMessage[] {
  try {
    const messages = splitMessages(payload);
    if (messages.length === 0) throw new NetlinkDecodeError(`no netlink message in ${payload.length} bytes`);
    return messages.map(decodeFpmNetlink);
  } catch (e) {
    if (e instanceof NetlinkDecodeError || e instanceof RangeError) throw new FpmDecodeError(e.message);
    throw e;
  }
}

/** A frame around a payload: the inverse of the splitter, for tests and tools. */
export function encodeFpmFrame(payload: Uint8Array): Buffer {
  const len = FPM_HEADER_LEN + payload.length;
  if (len > FPM_MAX_FRAME) throw new RangeError(`FPM frame of ${len} bytes exceeds ${FPM_MAX_FRAME}`);
  const out = Buffer.alloc(len);
  out[0] = FPM_VERSION;
  out[1] = FPM_MSG_TYPE_NETLINK;
  out.writeUInt16BE(len, 2);
  out.set(payload, FPM_HEADER_LEN);
  return out;
}
