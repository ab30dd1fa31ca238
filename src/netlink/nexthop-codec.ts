/**
 * Nexthop objects (linux/nexthop.h, Linux 5.3): a next hop the kernel keeps
 * once, by id, and routes that name it with RTA_NH_ID instead of carrying
 * RTA_GATEWAY/RTA_OIF/RTA_MULTIPATH each. A message is an nlmsghdr, a struct
 * nhmsg { u8 nh_family, nh_scope, nh_protocol, resvd; u32 nh_flags } and NHA_*
 * attributes. An object is a single next hop (NHA_OIF, optional NHA_GATEWAY),
 * a blackhole (NHA_BLACKHOLE), or a group of other objects (NHA_GROUP, an
 * array of struct nexthop_grp { u32 id; u8 weight; u8 resvd1; u16 resvd2 }
 * where weight holds weight - 1). Pure functions like codec.ts; little-endian.
 */
import { formatIpv4, formatIpv6 } from '#lib/prefix';
import { NlWriter, writeRouteKey, writeRouteMetrics, writeRtmsg } from './codec.js';
import type { RouteSpec } from './codec.js';
import {
  AF_INET,
  AF_INET6,
  NEXTHOP_GRP_LEN,
  NHA_BLACKHOLE,
  NHA_GATEWAY,
  NHA_GROUP,
  NHA_GROUP_TYPE,
  NHA_GROUPS,
  NHA_ID,
  NHA_MASTER,
  NHA_OIF,
  NHMSG_LEN,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  NLM_F_REQUEST,
  RT_SCOPE_UNIVERSE,
  RTA_HDRLEN,
  RTA_NH_ID,
  RTM_DELNEXTHOP,
  RTM_GETNEXTHOP,
  RTM_NEWNEXTHOP,
  RTM_NEWROUTE,
  RTN_UNICAST,
} from './constants.js';
import { NetlinkDecodeError } from './errors.js';

/** A member of a group: the object's id and its weight, 1..256. */
export interface NexthopGroupMember {
  id: number;
  weight: number;
}

/** A nexthop object to write: exactly one of a device (with or without gateway), blackhole or group. */
export interface NexthopSpec {
  id: number;
  protocol: number;
  /**
   * nh_family: that of the gateway; AF_INET6 for a device-only next hop (IPv4
   * routes may use an IPv6 object, IPv6 routes no IPv4 one); AF_UNSPEC
   * (0) for a group, whose family is its members'.
   */
  family: number;
  /** NHA_GATEWAY, 4 or 16 bytes by family. */
  gateway?: Uint8Array;
  /** NHA_OIF; 0 for a blackhole or a group. */
  ifindex: number;
  blackhole?: boolean;
  group?: readonly NexthopGroupMember[];
}

function writeNhmsg(w: NlWriter, family: number, protocol: number): void {
  const at = w.header(NHMSG_LEN);
  w.buf[at] = family;
  // nh_scope: the kernel derives it (link with a gateway, host without); a request sends universe (0).
  w.buf[at + 1] = RT_SCOPE_UNIVERSE;
  w.buf[at + 2] = protocol;
}

/**
 * RTM_NEWNEXTHOP. `add` is NLM_F_CREATE|NLM_F_EXCL (EEXIST when the id is
 * taken, by anyone), `replace` NLM_F_CREATE|NLM_F_REPLACE: an object replaced
 * in place moves every route that names it at once.
 */
export function encodeNexthopNew(w: NlWriter, seq: number, nh: NexthopSpec, how: 'add' | 'replace', ack = true): void {
  const start = w.begin(
    RTM_NEWNEXTHOP,
    NLM_F_REQUEST | NLM_F_CREATE | (how === 'add' ? NLM_F_EXCL : NLM_F_REPLACE) | (ack ? NLM_F_ACK : 0),
    seq,
  );
  writeNhmsg(w, nh.family, nh.protocol);
  w.attrU32(NHA_ID, nh.id);
  if (nh.group !== undefined) {
    const at = w.beginNest(NHA_GROUP);
    const len = nh.group.length * NEXTHOP_GRP_LEN;
    const b = w.header(len);
    for (let k = 0; k < nh.group.length; k++) {
      const m = nh.group[k]!;
      w.buf.writeUInt32LE(m.id >>> 0, b + k * NEXTHOP_GRP_LEN);
      w.buf[b + k * NEXTHOP_GRP_LEN + 4] = Math.min(Math.max(m.weight, 1), 256) - 1;
    }
    // No NHA_GROUP_TYPE: mpath (hash-threshold) is the kernel's default, and iproute2 sends none either.
    w.endNest(at);
  } else if (nh.blackhole === true) {
    w.attr(NHA_BLACKHOLE, EMPTY);
  } else {
    if (nh.gateway !== undefined) w.attr(NHA_GATEWAY, nh.gateway);
    w.attrU32(NHA_OIF, nh.ifindex);
  }
  w.end(start);
}

const EMPTY = new Uint8Array(0);

/** RTM_DELNEXTHOP by id (the kernel also removes the routes that name it, and it from its groups). */
export function encodeNexthopDelete(w: NlWriter, seq: number, id: number, ack = true): void {
  const start = w.begin(RTM_DELNEXTHOP, NLM_F_REQUEST | (ack ? NLM_F_ACK : 0), seq);
  writeNhmsg(w, 0, 0);
  w.attrU32(NHA_ID, id);
  w.end(start);
}

/** Kernel-side filters of a nexthop dump (nhmsg itself must be zero but the family: strict checking). */
export interface NexthopDumpFilter {
  /** NHA_OIF: next hops on this device. */
  oif?: number;
  /** NHA_MASTER: next hops on devices enslaved to this one (a VRF). */
  master?: number;
  /** NHA_GROUPS: groups only. */
  groups?: boolean;
}

/**
 * RTM_GETNEXTHOP dump. The kernel filters by device, master or groups, not
 * by protocol: that filter is the caller's.
 */
export function encodeNexthopDump(w: NlWriter, seq: number, filter: NexthopDumpFilter = {}): void {
  const start = w.begin(RTM_GETNEXTHOP, NLM_F_REQUEST | NLM_F_DUMP, seq);
  writeNhmsg(w, 0, 0);
  if (filter.oif !== undefined) w.attrU32(NHA_OIF, filter.oif);
  if (filter.master !== undefined) w.attrU32(NHA_MASTER, filter.master);
  if (filter.groups === true) w.attr(NHA_GROUPS, EMPTY);
  w.end(start);
}

/**
 * RTM_NEWROUTE naming nexthop object `nhId` (RTA_NH_ID) instead of paths;
 * flags as encodeRouteNew. Scope universe, as the kernel checks the scope
 * against the object's.
 */
export function encodeRouteNhId(w: NlWriter, seq: number, r: RouteSpec, nhId: number, how: 'add' | 'replace', ack = true): void {
  const start = w.begin(
    RTM_NEWROUTE,
    NLM_F_REQUEST | NLM_F_CREATE | (how === 'add' ? NLM_F_EXCL : NLM_F_REPLACE) | (ack ? NLM_F_ACK : 0),
    seq,
  );
  writeRtmsg(w, r, RT_SCOPE_UNIVERSE, RTN_UNICAST);
  writeRouteKey(w, r);
  writeRouteMetrics(w, r);
  w.attrU32(RTA_NH_ID, nhId);
  w.end(start);
}

/** A nexthop object as the kernel reports it. */
export interface DecodedNexthopObject {
  id: number;
  family: number;
  scope: number;
  protocol: number;
  flags: number;
  /** NHA_GATEWAY as text. */
  gateway?: string;
  /** NHA_OIF, 0 when absent. */
  ifindex: number;
  blackhole: boolean;
  /** NHA_GROUP with real weights (1..256); null for a single next hop. */
  group: NexthopGroupMember[] | null;
  /** NHA_GROUP_TYPE, 0 (mpath) when absent. */
  groupType: number;
}

/** An RTM_NEWNEXTHOP body: struct nhmsg and its attributes (unknown ones skipped). */
export function decodeNexthop(body: Buffer): DecodedNexthopObject {
  if (body.length < NHMSG_LEN) throw new NetlinkDecodeError(`nhmsg of ${body.length} bytes`);
  const nh: DecodedNexthopObject = {
    id: 0,
    family: body[0]!,
    scope: body[1]!,
    protocol: body[2]!,
    flags: body.readUInt32LE(4),
    ifindex: 0,
    blackhole: false,
    group: null,
    groupType: 0,
  };
  for (let off = NHMSG_LEN; off + RTA_HDRLEN <= body.length; ) {
    const len = body.readUInt16LE(off);
    if (len < RTA_HDRLEN || off + len > body.length) {
      throw new NetlinkDecodeError(`nexthop attribute length ${len} at ${off} overruns ${body.length}`);
    }
    const v = off + RTA_HDRLEN;
    const vlen = len - RTA_HDRLEN;
    switch (body.readUInt16LE(off + 2) & 0x3fff) {
      case NHA_ID:
        if (vlen >= 4) nh.id = body.readUInt32LE(v);
        break;
      case NHA_OIF:
        if (vlen >= 4) nh.ifindex = body.readUInt32LE(v);
        break;
      case NHA_GATEWAY:
        if (nh.family === AF_INET && vlen >= 4) nh.gateway = formatIpv4(body, v);
        else if (nh.family === AF_INET6 && vlen >= 16) nh.gateway = formatIpv6(body, v);
        else throw new NetlinkDecodeError(`NHA_GATEWAY of ${vlen} bytes for family ${nh.family}`);
        break;
      case NHA_BLACKHOLE:
        nh.blackhole = true;
        break;
      case NHA_GROUP_TYPE:
        if (vlen >= 2) nh.groupType = body.readUInt16LE(v);
        break;
      case NHA_GROUP: {
        if (vlen % NEXTHOP_GRP_LEN !== 0) throw new NetlinkDecodeError(`NHA_GROUP of ${vlen} bytes`);
        const members: NexthopGroupMember[] = [];
        for (let k = v; k < v + vlen; k += NEXTHOP_GRP_LEN) members.push({ id: body.readUInt32LE(k), weight: body[k + 4]! + 1 });
        nh.group = members;
        break;
      }
    }
    off += (len + 3) & ~3;
  }
  if (nh.id === 0) throw new NetlinkDecodeError('nexthop message without NHA_ID');
  return nh;
}
