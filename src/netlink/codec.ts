/**
 * rtnetlink codec: pure functions from requests to bytes and from bytes to
 * replies, no sockets. Layouts follow linux/netlink.h and linux/rtnetlink.h:
 * every message is an nlmsghdr, a fixed family header (rtmsg, ifinfomsg,
 * ifaddrmsg) and a run of rtattrs, each padded to 4 bytes.
 *
 * Netlink is host byte order; wgbgp runs on little-endian hosts only (x86_64,
 * arm64), which `Rtnetlink.open` checks, so the codec writes LE explicitly.
 */
import { formatIp, formatIpv4, formatIpv6 } from '#lib/prefix';
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  IFA_ADDRESS,
  IFA_LOCAL,
  IFADDRMSG_LEN,
  IFF_UP,
  IFINFOMSG_LEN,
  IFLA_AF_SPEC,
  IFLA_EXT_MASK,
  IFLA_IFNAME,
  IFLA_INET6_ADDR_GEN_MODE,
  IFLA_INFO_KIND,
  IFLA_LINKINFO,
  IFLA_MTU,
  IN6_ADDR_GEN_MODE_NONE,
  NLM_F_ACK,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  NLM_F_REQUEST,
  NLMSG_HDRLEN,
  NLMSGERR_ATTR_MSG,
  RT_SCOPE_LINK,
  RT_SCOPE_NOWHERE,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_UNSPEC,
  RTA_DST,
  RTA_GATEWAY,
  RTA_PRIORITY,
  RTM_F_FIB_MATCH,
  RTA_HDRLEN,
  RTA_METRICS,
  RTA_MULTIPATH,
  RTA_NH_ID,
  RTA_OIF,
  RTA_TABLE,
  RTA_VIA,
  RTAX_ADVMSS,
  RTAX_HOPLIMIT,
  RTEXT_FILTER_SKIP_STATS,
  RTM_DELADDR,
  RTM_DELLINK,
  RTM_DELROUTE,
  RTM_GETADDR,
  RTM_GETLINK,
  RTM_GETROUTE,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWROUTE,
  RTMSG_LEN,
  RTN_UNICAST,
  RTNH_LEN,
} from './constants.js';
import { NetlinkDecodeError } from './errors.js';

export const align4 = (n: number): number => (n + 3) & ~3;

/**
 * Writes messages back to back into one buffer, so a batch of routes becomes
 * one sendto. Grows by doubling; `reset` keeps the memory for the next batch.
 */
export class NlWriter {
  buf: Buffer;
  off = 0;

  constructor(size = 64 * 1024) {
    this.buf = Buffer.alloc(size);
  }

  reset(): void {
    this.off = 0;
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.off);
  }

  private ensure(n: number): void {
    if (this.off + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.off + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }

  /** Starts an nlmsghdr; returns its offset for `end`. */
  begin(type: number, flags: number, seq: number): number {
    this.ensure(NLMSG_HDRLEN);
    const start = this.off;
    this.buf.writeUInt32LE(0, start);
    this.buf.writeUInt16LE(type, start + 4);
    this.buf.writeUInt16LE(flags, start + 6);
    this.buf.writeUInt32LE(seq >>> 0, start + 8);
    // nlmsg_pid 0: the kernel fills in the sender's port.
    this.buf.writeUInt32LE(0, start + 12);
    this.off += NLMSG_HDRLEN;
    return start;
  }

  end(start: number): void {
    this.buf.writeUInt32LE(this.off - start, start);
  }

  /** Adds NLM_F_ACK to the message written at `start` (a batch's fence, see Rtnetlink.runBatch). */
  requestAck(start: number): void {
    this.buf.writeUInt16LE(this.buf.readUInt16LE(start + 6) | NLM_F_ACK, start + 6);
  }

  /** Fixed header bytes of the given length, zeroed; returns their offset. */
  header(len: number): number {
    this.ensure(len);
    const at = this.off;
    this.buf.fill(0, at, at + len);
    this.off += align4(len);
    return at;
  }

  attr(type: number, value: Uint8Array): void {
    const len = RTA_HDRLEN + value.length;
    this.ensure(align4(len));
    this.buf.writeUInt16LE(len, this.off);
    this.buf.writeUInt16LE(type, this.off + 2);
    this.buf.set(value, this.off + RTA_HDRLEN);
    this.pad(this.off + len);
  }

  attrU8(type: number, v: number): void {
    this.ensure(8);
    this.buf.writeUInt16LE(RTA_HDRLEN + 1, this.off);
    this.buf.writeUInt16LE(type, this.off + 2);
    this.buf.writeUInt8(v, this.off + 4);
    this.pad(this.off + 5);
  }

  attrU32(type: number, v: number): void {
    this.ensure(8);
    this.buf.writeUInt16LE(RTA_HDRLEN + 4, this.off);
    this.buf.writeUInt16LE(type, this.off + 2);
    this.buf.writeUInt32LE(v >>> 0, this.off + 4);
    this.off += 8;
  }

  /** A NUL-terminated string attribute (IFLA_IFNAME). */
  attrString(type: number, s: string): void {
    const b = Buffer.from(`${s}\0`, 'utf8');
    this.attr(type, b);
  }

  /** Opens a nested attribute (or RTA_MULTIPATH); returns its offset for `endNest`. */
  beginNest(type: number): number {
    this.ensure(RTA_HDRLEN);
    const at = this.off;
    this.buf.writeUInt16LE(0, at);
    this.buf.writeUInt16LE(type, at + 2);
    this.off += RTA_HDRLEN;
    return at;
  }

  endNest(at: number): void {
    this.buf.writeUInt16LE(this.off - at, at);
  }

  /** Starts a struct rtnexthop inside RTA_MULTIPATH; its attributes follow. */
  beginNexthop(ifindex: number): number {
    this.ensure(RTNH_LEN);
    const at = this.off;
    this.buf.writeUInt16LE(0, at);
    this.buf.writeUInt8(0, at + 2); // rtnh_flags
    this.buf.writeUInt8(0, at + 3); // rtnh_hops: weight - 1, so equal weights
    this.buf.writeInt32LE(ifindex, at + 4);
    this.off += RTNH_LEN;
    return at;
  }

  endNexthop(at: number): void {
    this.buf.writeUInt16LE(this.off - at, at);
  }

  private pad(to: number): void {
    const end = align4(to);
    this.buf.fill(0, to, end);
    this.off = end;
  }
}

// ---------------------------------------------------------------- requests

// The prefix parsers the batch path uses live with the other prefix helpers.
export { parseIpv4PrefixInto, parseIpv6PrefixInto } from '#lib/prefix';

export interface RouteNexthopSpec {
  /** 4 or 16 bytes; absent for a device-only path. */
  gateway?: Uint8Array;
  /** 0 when not given. */
  ifindex: number;
}

export interface RouteSpec {
  family: typeof AF_INET | typeof AF_INET6;
  /** Network bytes (host bits zero), 4 or 16. */
  dst: Uint8Array;
  dstLen: number;
  table: number;
  protocol: number;
  /** RTA_PRIORITY (the route's metric); absent: not sent (a delete then matches any metric). */
  priority?: number;
  /**
   * RTA_METRICS / RTAX_ADVMSS: the TCP MSS announced over the route; 0 is
   * sent too and means none (the kernel derives the MSS from the device MTU):
   * a replace naming the same nexthop object without it keeps the old value
   * (seen on Linux 6.18). Absent: no RTA_METRICS.
   */
  advmss?: number | undefined;
  /**
   * RTA_METRICS / RTAX_HOPLIMIT: the TTL (hop limit) of packets this host
   * sends over the route without one of their own, the kernel's TCP resets
   * among them; absent or 0: not sent (the system default, 64).
   */
  hoplimit?: number | undefined;
}

/** struct rtmsg of a route request (nexthop-codec.ts writes routes naming an object with it too). */
export function writeRtmsg(w: NlWriter, r: RouteSpec, scope: number, type: number): void {
  const at = w.header(RTMSG_LEN);
  const b = w.buf;
  b[at] = r.family;
  b[at + 1] = r.dstLen;
  // rtm_table is 8 bits; larger ids travel in RTA_TABLE (RT_TABLE_UNSPEC here).
  b[at + 4] = r.table < 256 ? r.table : RT_TABLE_UNSPEC;
  b[at + 5] = r.protocol;
  b[at + 6] = scope;
  b[at + 7] = type;
}

/** The attributes that pick the route: RTA_TABLE, RTA_DST, RTA_PRIORITY. */
export function writeRouteKey(w: NlWriter, r: RouteSpec): void {
  if (r.table >= 256) w.attrU32(RTA_TABLE, r.table);
  // The default route carries no RTA_DST (as iproute2 sends it).
  if (r.dstLen > 0) w.attr(RTA_DST, r.dst);
  // Part of the key: the kernel keeps routes of one prefix apart by metric, and
  // matches a replace or delete only against the route with this one.
  if (r.priority !== undefined) w.attrU32(RTA_PRIORITY, r.priority);
}

/**
 * RTA_METRICS { RTAX_ADVMSS, RTAX_HOPLIMIT } of an add or replace (a tunnel's
 * MTU, issue 12; the TTL towards a tunnel peer, fib/hoplimit.ts); nothing
 * without either.
 */
export function writeRouteMetrics(w: NlWriter, r: RouteSpec): void {
  const hoplimit = r.hoplimit ?? 0;
  if (r.advmss === undefined && hoplimit === 0) return;
  const nest = w.beginNest(RTA_METRICS);
  if (r.advmss !== undefined) w.attrU32(RTAX_ADVMSS, r.advmss);
  if (hoplimit !== 0) w.attrU32(RTAX_HOPLIMIT, hoplimit);
  w.endNest(nest);
}

/** RTA_GATEWAY for a next hop of the route's family, RTA_VIA (RFC 8950) for an IPv6 one on an IPv4 route. */
function writeGateway(w: NlWriter, family: number, gw: Uint8Array): void {
  if (family === AF_INET && gw.length === 16) {
    const via = Buffer.alloc(18);
    via.writeUInt16LE(AF_INET6, 0);
    via.set(gw, 2);
    w.attr(RTA_VIA, via);
  } else {
    w.attr(RTA_GATEWAY, gw);
  }
}

/**
 * RTM_NEWROUTE. `replace` (NLM_F_CREATE|NLM_F_REPLACE) installs or overwrites
 * the route with the same prefix, table and metric; `add`
 * (NLM_F_CREATE|NLM_F_EXCL) installs only where no route of that prefix,
 * table and metric exists, and otherwise fails with EEXIST, so it never
 * overwrites a route of another owner. Scope link when no path has a gateway
 * (a device route), universe otherwise, as the kernel requires for gatewayed
 * routes.
 */
export function encodeRouteNew(
  w: NlWriter,
  seq: number,
  r: RouteSpec,
  nexthops: readonly RouteNexthopSpec[],
  how: 'add' | 'replace',
  ack = true,
): void {
  const start = w.begin(
    RTM_NEWROUTE,
    NLM_F_REQUEST | NLM_F_CREATE | (how === 'add' ? NLM_F_EXCL : NLM_F_REPLACE) | (ack ? NLM_F_ACK : 0),
    seq,
  );
  let deviceOnly = true;
  for (const nh of nexthops) if (nh.gateway !== undefined) deviceOnly = false;
  writeRtmsg(w, r, deviceOnly ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE, RTN_UNICAST);
  writeRouteKey(w, r);
  writeRouteMetrics(w, r);
  if (nexthops.length === 1) {
    const nh = nexthops[0]!;
    if (nh.gateway) writeGateway(w, r.family, nh.gateway);
    if (nh.ifindex > 0) w.attrU32(RTA_OIF, nh.ifindex);
  } else {
    const mp = w.beginNest(RTA_MULTIPATH);
    for (const nh of nexthops) {
      const at = w.beginNexthop(nh.ifindex);
      if (nh.gateway) writeGateway(w, r.family, nh.gateway);
      w.endNexthop(at);
    }
    w.endNest(mp);
  }
  w.end(start);
}

/** encodeRouteNew with `replace`. */
export function encodeRouteReplace(
  w: NlWriter,
  seq: number,
  r: RouteSpec,
  nexthops: readonly RouteNexthopSpec[],
  ack = true,
): void {
  encodeRouteNew(w, seq, r, nexthops, 'replace', ack);
}

/**
 * RTM_DELROUTE matching prefix, table, protocol and (when given) metric:
 * scope NOWHERE and type UNSPEC are the kernel's wildcards, and without
 * next-hop attributes a multipath route goes as a whole.
 */
export function encodeRouteDelete(w: NlWriter, seq: number, r: RouteSpec, ack = true): void {
  const start = w.begin(RTM_DELROUTE, NLM_F_REQUEST | (ack ? NLM_F_ACK : 0), seq);
  writeRtmsg(w, r, RT_SCOPE_NOWHERE, 0);
  writeRouteKey(w, r);
  w.end(start);
}

/**
 * RTM_GETROUTE for one address (`ip route get ADDRESS fibmatch`): the kernel
 * does the lookup the way a packet to it would (policy rules included) and
 * answers with the FIB entry that matched.
 */
export function encodeRouteGet(w: NlWriter, seq: number, family: number, address: Uint8Array): void {
  const start = w.begin(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_ACK, seq);
  const at = w.header(RTMSG_LEN);
  w.buf[at] = family;
  w.buf[at + 1] = address.length * 8;
  w.buf.writeUInt32LE(RTM_F_FIB_MATCH, at + 8);
  w.attr(RTA_DST, address);
  w.end(start);
}

/**
 * RTM_GETROUTE dump of one family. With NETLINK_GET_STRICT_CHK the kernel
 * filters by rtm_protocol and RTA_TABLE itself; the caller filters again, so a
 * kernel that ignores the filter costs time, not correctness.
 */
export function encodeRouteDump(w: NlWriter, seq: number, family: number, table: number, protocol: number): void {
  const start = w.begin(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, seq);
  const at = w.header(RTMSG_LEN);
  w.buf[at] = family;
  w.buf[at + 5] = protocol;
  w.attrU32(RTA_TABLE, table);
  w.end(start);
}

function writeIfinfomsg(w: NlWriter, index: number, flags: number, change: number): void {
  const at = w.header(IFINFOMSG_LEN);
  w.buf.writeInt32LE(index, at + 4);
  w.buf.writeUInt32LE(flags, at + 8);
  w.buf.writeUInt32LE(change, at + 12);
}

/** RTM_GETLINK for one interface by name: an RTM_NEWLINK reply, then the ack. */
export function encodeLinkGet(w: NlWriter, seq: number, name: string): void {
  const start = w.begin(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
  writeIfinfomsg(w, 0, 0, 0);
  w.attrString(IFLA_IFNAME, name);
  w.attrU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  w.end(start);
}

export function encodeLinkDump(w: NlWriter, seq: number): void {
  const start = w.begin(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq);
  writeIfinfomsg(w, 0, 0, 0);
  w.attrU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  w.end(start);
}

/** RTM_NEWLINK on an existing interface (no NLM_F_CREATE): sets IFF_UP. */
export function encodeLinkSetUp(w: NlWriter, seq: number, name: string): void {
  const start = w.begin(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
  writeIfinfomsg(w, 0, IFF_UP, IFF_UP);
  w.attrString(IFLA_IFNAME, name);
  w.end(start);
}

/** RTM_NEWLINK with NLM_F_CREATE|NLM_F_EXCL: a new link of `kind` (IFLA_LINKINFO → IFLA_INFO_KIND), e.g. "wireguard". */
export function encodeLinkAdd(w: NlWriter, seq: number, name: string, kind: string): void {
  const start = w.begin(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq);
  writeIfinfomsg(w, 0, 0, 0);
  w.attrString(IFLA_IFNAME, name);
  const info = w.beginNest(IFLA_LINKINFO);
  w.attrString(IFLA_INFO_KIND, kind);
  w.endNest(info);
  w.end(start);
}

/** RTM_NEWLINK on an existing interface: IFLA_MTU (a tunnel's MTU, changed in place). */
export function encodeLinkSetMtu(w: NlWriter, seq: number, name: string, mtu: number): void {
  const start = w.begin(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
  writeIfinfomsg(w, 0, 0, 0);
  w.attrString(IFLA_IFNAME, name);
  w.attrU32(IFLA_MTU, mtu);
  w.end(start);
}

/** IFLA_AF_SPEC → AF_INET6 → IFLA_INET6_ADDR_GEN_MODE = IN6_ADDR_GEN_MODE_NONE. */
export function encodeLinkAddrGenModeNone(w: NlWriter, seq: number, name: string): void {
  const start = w.begin(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
  writeIfinfomsg(w, 0, 0, 0);
  w.attrString(IFLA_IFNAME, name);
  const spec = w.beginNest(IFLA_AF_SPEC);
  const inet6 = w.beginNest(AF_INET6);
  w.attrU8(IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
  w.endNest(inet6);
  w.endNest(spec);
  w.end(start);
}

export function encodeLinkDelete(w: NlWriter, seq: number, name: string): void {
  const start = w.begin(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
  writeIfinfomsg(w, 0, 0, 0);
  w.attrString(IFLA_IFNAME, name);
  w.end(start);
}

export interface AddrSpec {
  family: typeof AF_INET | typeof AF_INET6;
  prefixLen: number;
  index: number;
  /** The interface's own address (4 or 16 bytes). */
  local: Uint8Array;
}

/**
 * RTM_NEWADDR / RTM_DELADDR. IFA_LOCAL and IFA_ADDRESS both carry the local
 * address: on a point-to-point device (a WireGuard tun) IFA_ADDRESS would
 * otherwise be read as the peer, and with both equal the kernel derives the
 * connected prefix from the local address as on a broadcast link.
 */
export function encodeAddr(w: NlWriter, seq: number, op: 'add' | 'delete', a: AddrSpec): void {
  const flags = op === 'add' ? NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE : NLM_F_REQUEST | NLM_F_ACK;
  const start = w.begin(op === 'add' ? RTM_NEWADDR : RTM_DELADDR, flags, seq);
  const at = w.header(IFADDRMSG_LEN);
  w.buf[at] = a.family;
  w.buf[at + 1] = a.prefixLen;
  w.buf[at + 3] = RT_SCOPE_UNIVERSE;
  w.buf.writeUInt32LE(a.index, at + 4);
  w.attr(IFA_LOCAL, a.local);
  w.attr(IFA_ADDRESS, a.local);
  w.end(start);
}

/** RTM_GETADDR dump, all families; strict checking filters on ifa_index. */
export function encodeAddrDump(w: NlWriter, seq: number, index: number): void {
  const start = w.begin(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq);
  const at = w.header(IFADDRMSG_LEN);
  w.buf[at] = AF_UNSPEC;
  w.buf.writeUInt32LE(index, at + 4);
  w.end(start);
}

// ----------------------------------------------------------------- replies

export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  /** The bytes after the nlmsghdr, up to nlmsg_len. */
  body: Buffer;
}

/** Splits a datagram into messages; throws on a length that overruns it. */
export function splitMessages(buf: Buffer): NlMessage[] {
  const out: NlMessage[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || off + len > buf.length) {
      throw new NetlinkDecodeError(`nlmsghdr length ${len} at ${off} overruns ${buf.length} bytes`);
    }
    out.push({
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      body: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** Calls fn(type, value) for each rtattr in buf[start, end). */
export function forEachAttr(buf: Buffer, start: number, end: number, fn: (type: number, value: Buffer) => void): void {
  let off = start;
  while (off + RTA_HDRLEN <= end) {
    const len = buf.readUInt16LE(off);
    if (len < RTA_HDRLEN || off + len > end) {
      throw new NetlinkDecodeError(`rtattr length ${len} at ${off} overruns ${end}`);
    }
    // NLA_F_NESTED / NLA_F_NET_BYTEORDER live in the top bits of the type.
    fn(buf.readUInt16LE(off + 2) & 0x3fff, buf.subarray(off + RTA_HDRLEN, off + len));
    off += align4(len);
  }
}

export interface NlError {
  /** 0 for an ack, else a negative errno. */
  error: number;
  /** Sequence number of the request this answers. */
  seq: number;
  /** NLMSGERR_ATTR_MSG (extended ack), when the kernel gave one. */
  message?: string;
}

/**
 * struct nlmsgerr { int error; struct nlmsghdr msg; } then, unless the ack is
 * capped (NETLINK_CAP_ACK), the request's payload, then with NLM_F_ACK_TLVS the
 * extended-ack attributes.
 */
export function decodeError(m: NlMessage): NlError {
  const b = m.body;
  if (b.length < 4 + NLMSG_HDRLEN) throw new NetlinkDecodeError(`NLMSG_ERROR of ${b.length} bytes`);
  const error = b.readInt32LE(0);
  const origLen = b.readUInt32LE(4);
  const seq = b.readUInt32LE(12);
  const out: NlError = { error, seq };
  if (m.flags & NLM_F_ACK_TLVS) {
    const tlvStart = m.flags & NLM_F_CAPPED ? 4 + NLMSG_HDRLEN : 4 + align4(origLen);
    if (tlvStart <= b.length) {
      forEachAttr(b, tlvStart, b.length, (type, v) => {
        if (type === NLMSGERR_ATTR_MSG) out.message = v.toString('utf8').replace(/\0.*$/s, '');
      });
    }
  }
  return out;
}

/** NLMSG_DONE of a dump: its int error, then (NLM_F_ACK_TLVS) the extended-ack attributes. */
export function decodeDone(m: NlMessage): { error: number; message?: string } {
  const b = m.body;
  const out: { error: number; message?: string } = { error: b.length >= 4 ? b.readInt32LE(0) : 0 };
  if (m.flags & NLM_F_ACK_TLVS && b.length > 4) {
    forEachAttr(b, 4, b.length, (type, v) => {
      if (type === NLMSGERR_ATTR_MSG) out.message = v.toString('utf8').replace(/\0.*$/s, '');
    });
  }
  return out;
}

export interface DecodedNexthop {
  ifindex: number;
  /** RTA_GATEWAY or RTA_VIA, as text. */
  gateway?: string;
}

export interface DecodedRoute {
  family: number;
  dstLen: number;
  table: number;
  protocol: number;
  /** RTA_PRIORITY, 0 when absent. */
  priority: number;
  scope: number;
  type: number;
  /** Canonical prefix text. */
  prefix: string;
  /** RTA_NH_ID: the nexthop object the route uses, 0 when none. */
  nhId: number;
  /** RTAX_ADVMSS in RTA_METRICS, 0 when absent. */
  advmss: number;
  /** RTAX_HOPLIMIT in RTA_METRICS, 0 when absent. */
  hoplimit: number;
  /** Inline paths; for a route with RTA_NH_ID those of its object (net.ipv4.nexthop_compat_mode, on by default), else none. */
  nexthops: DecodedNexthop[];
}

function readVia(v: Buffer): string | undefined {
  if (v.length < 2) return undefined;
  const fam = v.readUInt16LE(0);
  if (fam === AF_INET6 && v.length >= 18) return formatIp(v.subarray(2, 18));
  if (fam === AF_INET && v.length >= 6) return formatIp(v.subarray(2, 6));
  return undefined;
}

function readAddr(family: number, v: Buffer): Uint8Array | undefined {
  const n = family === AF_INET ? 4 : family === AF_INET6 ? 16 : 0;
  return n > 0 && v.length >= n ? v.subarray(0, n) : undefined;
}

function decodeMultipath(family: number, v: Buffer): DecodedNexthop[] {
  const out: DecodedNexthop[] = [];
  let off = 0;
  while (off + RTNH_LEN <= v.length) {
    const len = v.readUInt16LE(off);
    if (len < RTNH_LEN || off + len > v.length) throw new NetlinkDecodeError(`rtnexthop length ${len}`);
    const nh: DecodedNexthop = { ifindex: v.readInt32LE(off + 4) };
    forEachAttr(v, off + RTNH_LEN, off + len, (type, a) => {
      if (type === RTA_GATEWAY) {
        const g = readAddr(family, a);
        if (g) nh.gateway = formatIp(g);
      } else if (type === RTA_VIA) {
        const g = readVia(a);
        if (g) nh.gateway = g;
      }
    });
    out.push(nh);
    off += align4(len);
  }
  return out;
}

/** Scratch for a masked destination while its text is made. */
const dstScratch = new Uint8Array(16);

/** The address of `family` at body[at, at + 4 or 16) as text. */
function addrText(family: number, body: Buffer, at: number): string {
  return family === AF_INET ? formatIpv4(body, at) : formatIpv6(body, at);
}

/**
 * An RTM_NEWROUTE body (dump entry). Attributes are read in place, without a
 * view or a callback per attribute: a dump decodes 100 000 of these.
 */
export function decodeRoute(body: Buffer): DecodedRoute {
  if (body.length < RTMSG_LEN) throw new NetlinkDecodeError(`rtmsg of ${body.length} bytes`);
  const family = body[0]!;
  const dstLen = body[1]!;
  const r: DecodedRoute = {
    family,
    dstLen,
    table: body[4]!,
    protocol: body[5]!,
    priority: 0,
    scope: body[6]!,
    type: body[7]!,
    prefix: '',
    nhId: 0,
    advmss: 0,
    hoplimit: 0,
    nexthops: [],
  };
  const alen = family === AF_INET ? 4 : family === AF_INET6 ? 16 : 0;
  let dst = -1;
  let single: DecodedNexthop | null = null;
  for (let off = RTMSG_LEN; off + RTA_HDRLEN <= body.length; ) {
    const len = body.readUInt16LE(off);
    if (len < RTA_HDRLEN || off + len > body.length) {
      throw new NetlinkDecodeError(`rtattr length ${len} at ${off} overruns ${body.length}`);
    }
    const v = off + RTA_HDRLEN;
    const vlen = len - RTA_HDRLEN;
    switch (body.readUInt16LE(off + 2) & 0x3fff) {
      case RTA_DST:
        if (alen > 0 && vlen >= alen) dst = v;
        break;
      case RTA_TABLE:
        if (vlen >= 4) r.table = body.readUInt32LE(v);
        break;
      case RTA_PRIORITY:
        if (vlen >= 4) r.priority = body.readUInt32LE(v);
        break;
      case RTA_OIF:
        if (vlen >= 4) (single ??= { ifindex: 0 }).ifindex = body.readInt32LE(v);
        break;
      case RTA_GATEWAY:
        if (alen > 0 && vlen >= alen) (single ??= { ifindex: 0 }).gateway = addrText(family, body, v);
        break;
      case RTA_VIA: {
        const g = readVia(body.subarray(v, v + vlen));
        if (g) (single ??= { ifindex: 0 }).gateway = g;
        break;
      }
      case RTA_MULTIPATH:
        r.nexthops = decodeMultipath(family, body.subarray(v, v + vlen));
        break;
      case RTA_NH_ID:
        if (vlen >= 4) r.nhId = body.readUInt32LE(v);
        break;
      case RTA_METRICS:
        forEachAttr(body, v, v + vlen, (type, a) => {
          if (type === RTAX_ADVMSS && a.length >= 4) r.advmss = a.readUInt32LE(0);
          else if (type === RTAX_HOPLIMIT && a.length >= 4) r.hoplimit = a.readUInt32LE(0);
        });
        break;
    }
    off += align4(len);
  }
  if (single && r.nexthops.length === 0) r.nexthops = [single];
  const n = alen > 0 ? alen : 4;
  dstScratch.fill(0, 0, n);
  if (dst >= 0) {
    const full = Math.min(dstLen >> 3, n);
    for (let i = 0; i < full; i++) dstScratch[i] = body[dst + i]!;
    if (full < n && (dstLen & 7) !== 0) dstScratch[full] = body[dst + full]! & (0xff << (8 - (dstLen & 7)));
  }
  r.prefix = `${n === 16 ? formatIpv6(dstScratch, 0) : formatIpv4(dstScratch, 0)}/${dstLen}`;
  return r;
}

export interface DecodedLink {
  index: number;
  flags: number;
  name: string;
  mtu: number;
  /** IFLA_LINKINFO → IFLA_INFO_KIND ("wireguard", "veth", …); '' when none (a tun device has none). */
  kind: string;
}

export function decodeLink(body: Buffer): DecodedLink {
  if (body.length < IFINFOMSG_LEN) throw new NetlinkDecodeError(`ifinfomsg of ${body.length} bytes`);
  const l: DecodedLink = { index: body.readInt32LE(4), flags: body.readUInt32LE(8), name: '', mtu: 0, kind: '' };
  forEachAttr(body, IFINFOMSG_LEN, body.length, (type, v) => {
    if (type === IFLA_IFNAME) l.name = v.toString('utf8').replace(/\0.*$/s, '');
    else if (type === IFLA_MTU && v.length >= 4) l.mtu = v.readUInt32LE(0);
    else if (type === IFLA_LINKINFO) {
      forEachAttr(v, 0, v.length, (t, k) => {
        if (t === IFLA_INFO_KIND) l.kind = k.toString('utf8').replace(/\0.*$/s, '');
      });
    }
  });
  return l;
}

export interface DecodedAddr {
  family: number;
  prefixLen: number;
  index: number;
  /** IFA_LOCAL when present (point-to-point), else IFA_ADDRESS. */
  address: string;
}

export function decodeAddr(body: Buffer): DecodedAddr {
  if (body.length < IFADDRMSG_LEN) throw new NetlinkDecodeError(`ifaddrmsg of ${body.length} bytes`);
  const family = body[0]!;
  let local: string | undefined;
  let address: string | undefined;
  forEachAttr(body, IFADDRMSG_LEN, body.length, (type, v) => {
    const a = type === IFA_LOCAL || type === IFA_ADDRESS ? readAddr(family, v) : undefined;
    if (!a) return;
    if (type === IFA_LOCAL) local = formatIp(a);
    else address = formatIp(a);
  });
  return { family, prefixLen: body[1]!, index: body.readUInt32LE(4), address: local ?? address ?? '' };
}
