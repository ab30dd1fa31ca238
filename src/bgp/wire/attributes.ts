/**
 * Path attributes (RFC 4271 §4.3, §5), one descriptor per attribute type in a
 * single table, BIRD-style: the flags the type must carry, what RFC 7606 §7 does
 * with a malformed value, and how to decode and encode it. The UPDATE walker in
 * update.ts owns framing, duplicates, flags checks and the final RFC 7606
 * verdict; a descriptor only judges its own value.
 */
import { formatIpv4, formatIpv6 } from '#lib/prefix';
import { AFI_IPV4, AFI_IPV6, AsPathSegmentType, SAFI_UNICAST } from './types.js';
import type { AsPathSegment, CodecContext, ErrorAction, MpReach, MpUnreach, Origin, PathAttributes, PrefixRun, UpdateMessage } from './types.js';
import { receivedReach, receivedUnreach } from './received.js';
import { UpdateSubcode } from './errors.js';
import { checkPrefixes, copyBytes, parseAddress, prefixesLength, rd16, rd32, wr16, wr32, writePrefixes, type PackedPrefixes } from './nlri.js';
import {
  EXTENDED_COMMUNITY_LENGTH,
  IPV6_EXTENDED_COMMUNITY_LENGTH,
  LARGE_COMMUNITY_LENGTH,
  readExtendedCommunities,
  readLargeCommunities,
  uniqueLargeCommunities,
  writeExtendedCommunities,
  writeLargeCommunities,
} from './communities.js';

/** RFC 4271 §4.3 Attribute Flags. */
export const FLAG_OPTIONAL = 0x80;
export const FLAG_TRANSITIVE = 0x40;
export const FLAG_PARTIAL = 0x20;
export const FLAG_EXTENDED_LENGTH = 0x10;

export const AS_TRANS = 23456;

export const AttrCode = {
  Origin: 1,
  AsPath: 2,
  NextHop: 3,
  MultiExitDisc: 4,
  LocalPref: 5,
  AtomicAggregate: 6,
  Aggregator: 7,
  Communities: 8,
  MpReachNlri: 14,
  MpUnreachNlri: 15,
  ExtendedCommunities: 16,
  As4Path: 17,
  As4Aggregator: 18,
  Ipv6ExtendedCommunities: 25,
  LargeCommunity: 32,
  OnlyToCustomer: 35,
} as const;

/** Why a value is malformed. The walker adds the attribute's bytes as NOTIFICATION data. */
export interface Fault {
  subcode: number;
  text: string;
  /** Overrides the descriptor's `malformed` approach. */
  action?: ErrorAction;
}

/** What the walker accumulates while decoding one UPDATE's attributes. */
export interface AttrDecodeState {
  readonly ctx: CodecContext;
  readonly attrs: PathAttributes;
  /** The NLRI field is not empty (it is parsed before the attributes). */
  readonly ipv4Nlri: boolean;
  mpReach?: MpReach;
  mpUnreach?: MpUnreach;
  /** The prefixes of mpReach / mpUnreach as checked on the wire (the lists there are made from them when read). */
  reachRun?: PrefixRun;
  unreachRun?: PrefixRun;
  /** RFC 6793 §4.2.3: merged into attrs.asPath once all attributes are read. */
  as4Path?: AsPathSegment[];
  as4Aggregator?: { asn: number; address: string };
}

/** An UPDATE about to be encoded, with its MP prefixes and next hops parsed once. */
export interface EncodeInput {
  readonly msg: UpdateMessage;
  readonly ctx: CodecContext;
  readonly reachNextHop?: Uint8Array;
  readonly reachNlri?: PackedPrefixes;
  readonly unreachNlri?: PackedPrefixes;
}

export interface AttributeDescriptor {
  readonly code: number;
  readonly name: string;
  /** The Optional and Transitive bits this type must carry (RFC 7606 §3 checks only these two). */
  readonly flags: number;
  /** RFC 7606 §7 approach for a malformed value, unless the decoder's Fault says otherwise. */
  readonly malformed: ErrorAction;
  /** Stores the value into `st` on success; on failure stores nothing and returns why. */
  decode(v: Uint8Array, st: AttrDecodeState): Fault | undefined;
  /** Length of the value to send, or -1 when the message has no such attribute. */
  length(e: EncodeInput): number;
  write(buf: Uint8Array, off: number, e: EncodeInput): void;
}

const WELL_KNOWN = FLAG_TRANSITIVE;
const OPTIONAL_TRANSITIVE = FLAG_OPTIONAL | FLAG_TRANSITIVE;
const OPTIONAL_NON_TRANSITIVE = FLAG_OPTIONAL;

function lengthFault(name: string, got: number, expected: string): Fault {
  return { subcode: UpdateSubcode.AttributeLengthError, text: `${name} length ${got}, expected ${expected}` };
}

// ---- AS paths (RFC 4271 §4.3 b, RFC 6793 §4) --------------------------------

/**
 * Reads AS path segments of `width`-octet ASNs. Returns a reason when the path
 * is malformed in the sense of RFC 7606 §7.2: an unknown segment type, an empty
 * segment, a segment overrunning the attribute; and RFC 7607 §2: AS 0.
 */
function readAsPath(v: Uint8Array, width: 2 | 4, out: AsPathSegment[]): string | null {
  let o = 0;
  while (o < v.length) {
    if (v.length - o < 2) return 'truncated segment header';
    const type = v[o]!;
    const n = v[o + 1]!;
    if (type < AsPathSegmentType.AsSet || type > AsPathSegmentType.ConfedSet) return `unknown segment type ${type}`;
    if (n === 0) return 'empty segment';
    if (o + 2 + n * width > v.length) return 'segment overruns the attribute';
    const asns = new Array<number>(n);
    let p = o + 2;
    for (let i = 0; i < n; i++, p += width) {
      const asn = width === 4 ? rd32(v, p) : rd16(v, p);
      if (asn === 0) return 'AS 0 in path (RFC 7607)';
      asns[i] = asn;
    }
    out.push({ type: type as AsPathSegmentType, asns });
    o = p;
  }
  return null;
}

function isConfed(t: AsPathSegmentType): boolean {
  return t === AsPathSegmentType.ConfedSequence || t === AsPathSegmentType.ConfedSet;
}

/** Wire length of a path; segments longer than 255 ASNs are split, empty ones skipped. */
function asPathLength(path: readonly AsPathSegment[], width: 2 | 4, skipConfed: boolean): number {
  let n = 0;
  // Index loops here and below: the encoder ran an iterator per path and segment (issue 10).
  for (let k = 0; k < path.length; k++) {
    const s = path[k]!;
    if (s.asns.length === 0 || (skipConfed && isConfed(s.type))) continue;
    n += Math.ceil(s.asns.length / 255) * 2 + s.asns.length * width;
  }
  return n;
}

function writeAsPath(buf: Uint8Array, off: number, path: readonly AsPathSegment[], width: 2 | 4, skipConfed: boolean): void {
  let o = off;
  for (let k = 0; k < path.length; k++) {
    const s = path[k]!;
    if (skipConfed && isConfed(s.type)) continue;
    for (let start = 0; start < s.asns.length; start += 255) {
      const n = Math.min(255, s.asns.length - start);
      buf[o++] = s.type;
      buf[o++] = n;
      for (let i = start; i < start + n; i++) {
        const asn = s.asns[i]!;
        if (width === 4) {
          wr32(buf, o, asn);
          o += 4;
        } else {
          // RFC 6793 §4.2.2: an ASN that does not fit 2 octets is sent as AS_TRANS.
          wr16(buf, o, asn > 0xffff ? AS_TRANS : asn);
          o += 2;
        }
      }
    }
  }
}

/**
 * Whether AS4_PATH is needed (RFC 6793 §4.2.2). Confederation segments do not
 * count: they never travel in AS4_PATH, so a 4-octet member AS cannot be told
 * to an OLD speaker at all (confederations with OLD members use 2-octet member ASNs).
 */
function hasWideAsn(path: readonly AsPathSegment[]): boolean {
  for (let k = 0; k < path.length; k++) {
    const s = path[k]!;
    if (isConfed(s.type)) continue;
    for (let i = 0; i < s.asns.length; i++) if (s.asns[i]! > 0xffff) return true;
  }
  return false;
}

/** RFC 6793 §4.2.3: AS_SET counts as one, confederation segments as none. */
function pathCount(path: readonly AsPathSegment[]): number {
  let n = 0;
  for (let k = 0; k < path.length; k++) {
    const s = path[k]!;
    if (s.type === AsPathSegmentType.AsSequence) n += s.asns.length;
    else if (s.type === AsPathSegmentType.AsSet) n += 1;
  }
  return n;
}

/**
 * RFC 6793 §4.2.3: rebuilds the 4-octet path from AS_PATH and AS4_PATH. When
 * AS_PATH holds fewer ASNs than AS4_PATH the latter is ignored; otherwise the
 * leading surplus of AS_PATH (with any confederation segments) is prepended to
 * AS4_PATH.
 */
export function mergeAs4Path(asPath: readonly AsPathSegment[], as4Path: readonly AsPathSegment[]): AsPathSegment[] {
  let surplus = pathCount(asPath) - pathCount(as4Path);
  if (surplus < 0) return asPath.slice();
  const out: AsPathSegment[] = [];
  for (const s of asPath) {
    if (isConfed(s.type)) {
      out.push(s);
    } else if (surplus > 0) {
      if (s.type === AsPathSegmentType.AsSet) {
        out.push(s);
        surplus -= 1;
      } else {
        const n = Math.min(surplus, s.asns.length);
        out.push({ type: s.type, asns: s.asns.slice(0, n) });
        surplus -= n;
      }
    } else {
      break;
    }
  }
  const last = out[out.length - 1];
  const first = as4Path[0];
  // The junction is an artefact of the split, not a segment boundary the path had.
  if (last && first && last.type === AsPathSegmentType.AsSequence && first.type === AsPathSegmentType.AsSequence) {
    out[out.length - 1] = { type: last.type, asns: [...last.asns, ...first.asns] };
    for (let i = 1; i < as4Path.length; i++) out.push(as4Path[i]!);
  } else {
    for (const s of as4Path) out.push(s);
  }
  return out;
}

function checkNextHop(v: Uint8Array): Fault | undefined {
  if (v.length !== 4) return lengthFault('NEXT_HOP', v.length, '4');
  const a = v[0]!;
  // RFC 4271 §6.3: a semantically incorrect next hop (here: "this network",
  // loopback, multicast, reserved/broadcast) makes the route unusable.
  if (a === 0 || a === 127 || a >= 224) {
    return { subcode: UpdateSubcode.InvalidNextHop, text: `NEXT_HOP ${formatIpv4(v)} is not a unicast address` };
  }
  return undefined;
}

// ---- multiprotocol (RFC 4760 §3, §4; RFC 2545 §3; RFC 8950 §3) ----------------

function supportedFamily(afi: number, safi: number): boolean {
  return (afi === AFI_IPV4 || afi === AFI_IPV6) && safi === SAFI_UNICAST;
}

/** Next hop lengths per AFI: RFC 2545 §3 (16, or 32 with a link-local), RFC 8950 §3 (IPv6 for IPv4 NLRI). */
function validNextHopLength(afi: number, len: number): boolean {
  return len === 16 || len === 32 || (afi === AFI_IPV4 && len === 4);
}

function readNextHops(v: Uint8Array, off: number, len: number): string[] {
  if (len === 4) return [formatIpv4(v, off)];
  if (len === 16) return [formatIpv6(v, off)];
  return [formatIpv6(v, off), formatIpv6(v, off + 16)];
}

/** RFC 7911 §5: whether the family's NLRI we receive carry Path Identifiers. */
export function addPathReceive(ctx: CodecContext, afi: number): boolean {
  const a = ctx.addPath;
  return a !== undefined && (afi === AFI_IPV4 ? a.receive.ipv4 : afi === AFI_IPV6 && a.receive.ipv6);
}

/** RFC 7911 §5: whether the family's NLRI we send carry Path Identifiers. */
export function addPathSend(ctx: CodecContext, afi: number): boolean {
  const a = ctx.addPath;
  return a !== undefined && (afi === AFI_IPV4 ? a.send.ipv4 : afi === AFI_IPV6 && a.send.ipv6);
}

/** Packs MpReach.nextHops into the Network Address of Next Hop field. */
export function packNextHops(reach: MpReach): Uint8Array {
  const hops = reach.nextHops;
  if (hops.length < 1 || hops.length > 2) throw new RangeError(`MP_REACH_NLRI: ${hops.length} next hops, expected 1 or 2`);
  const first = parseAddress(hops[0]!, 'MP_REACH_NLRI next hop');
  if (hops.length === 1) {
    if (first.family === 4 && reach.afi !== AFI_IPV4) throw new RangeError('MP_REACH_NLRI: IPv4 next hop for a non-IPv4 family');
    return first.bytes;
  }
  const second = parseAddress(hops[1]!, 'MP_REACH_NLRI link-local next hop');
  if (first.family !== 6 || second.family !== 6) throw new RangeError('MP_REACH_NLRI: two next hops must both be IPv6');
  const out = new Uint8Array(32);
  out.set(first.bytes, 0);
  out.set(second.bytes, 16);
  return out;
}

/** RFC 4760 §7: an incorrect MP attribute is reported as an Optional Attribute Error. */
function mpFault(text: string): Fault {
  return { subcode: UpdateSubcode.OptionalAttributeError, text };
}

const unsupported = (what: string, afi: number, safi: number): Fault => ({
  subcode: UpdateSubcode.OptionalAttributeError,
  text: `${what} for AFI ${afi} SAFI ${safi}, which this speaker does not handle: ignored`,
  action: 'attribute-discard',
});

// ---- the table ---------------------------------------------------------------

const DESCRIPTORS: AttributeDescriptor[] = [
  {
    code: AttrCode.Origin,
    name: 'ORIGIN',
    flags: WELL_KNOWN,
    malformed: 'treat-as-withdraw', // RFC 7606 §7.1
    decode(v, st) {
      if (v.length !== 1) return lengthFault('ORIGIN', v.length, '1');
      if (v[0]! > 2) return { subcode: UpdateSubcode.InvalidOrigin, text: `undefined ORIGIN value ${v[0]}` };
      st.attrs.origin = v[0] as Origin;
      return undefined;
    },
    length: (e) => (e.msg.attributes.origin === undefined ? -1 : 1),
    write(buf, off, e) {
      buf[off] = e.msg.attributes.origin!;
    },
  },
  {
    code: AttrCode.AsPath,
    name: 'AS_PATH',
    flags: WELL_KNOWN,
    malformed: 'treat-as-withdraw', // RFC 7606 §7.2
    decode(v, st) {
      const path: AsPathSegment[] = [];
      const bad = readAsPath(v, st.ctx.fourOctetAs ? 4 : 2, path);
      if (bad) return { subcode: UpdateSubcode.MalformedAsPath, text: `AS_PATH ${bad}` };
      // RFC 7606 §7.2 (RFC 5065): confederation segments from outside the confederation.
      if (st.ctx.external === true && path.some((s) => isConfed(s.type))) {
        return { subcode: UpdateSubcode.MalformedAsPath, text: 'AS_PATH confederation segment from an external peer' };
      }
      st.attrs.asPath = path;
      return undefined;
    },
    length: (e) => {
      const p = e.msg.attributes.asPath;
      return p === undefined ? -1 : asPathLength(p, e.ctx.fourOctetAs ? 4 : 2, false);
    },
    write(buf, off, e) {
      writeAsPath(buf, off, e.msg.attributes.asPath!, e.ctx.fourOctetAs ? 4 : 2, false);
    },
  },
  {
    code: AttrCode.NextHop,
    name: 'NEXT_HOP',
    flags: WELL_KNOWN,
    malformed: 'treat-as-withdraw', // RFC 7606 §7.3
    decode(v, st) {
      const fault = checkNextHop(v);
      // RFC 4760 §3: without routes in the NLRI field NEXT_HOP "SHOULD be
      // ignored", so a bad one costs only the attribute.
      if (fault && !st.ipv4Nlri) fault.action = 'attribute-discard';
      if (fault) return fault;
      st.attrs.nextHop = formatIpv4(v);
      return undefined;
    },
    length: (e) => (e.msg.attributes.nextHop === undefined ? -1 : 4),
    write(buf, off, e) {
      const ip = parseAddress(e.msg.attributes.nextHop!, 'NEXT_HOP');
      if (ip.family !== 4) throw new RangeError(`NEXT_HOP must be IPv4 (use mpReach for IPv6): ${e.msg.attributes.nextHop}`);
      buf.set(ip.bytes, off);
    },
  },
  {
    code: AttrCode.MultiExitDisc,
    name: 'MULTI_EXIT_DISC',
    flags: OPTIONAL_NON_TRANSITIVE,
    malformed: 'treat-as-withdraw', // RFC 7606 §7.4
    decode(v, st) {
      if (v.length !== 4) return lengthFault('MULTI_EXIT_DISC', v.length, '4');
      st.attrs.med = rd32(v, 0);
      return undefined;
    },
    length: (e) => (e.msg.attributes.med === undefined ? -1 : 4),
    write(buf, off, e) {
      wr32(buf, off, e.msg.attributes.med!);
    },
  },
  {
    code: AttrCode.LocalPref,
    name: 'LOCAL_PREF',
    flags: WELL_KNOWN,
    malformed: 'treat-as-withdraw', // RFC 7606 §7.5
    decode(v, st) {
      // RFC 7606 §7.5: from an external neighbor it is discarded, whatever its length.
      if (st.ctx.external === true) {
        // (The subcode is never sent: attribute discard sends no NOTIFICATION.)
        return { subcode: UpdateSubcode.MalformedAttributeList, text: 'LOCAL_PREF from an external peer: discarded', action: 'attribute-discard' };
      }
      if (v.length !== 4) return lengthFault('LOCAL_PREF', v.length, '4');
      st.attrs.localPref = rd32(v, 0);
      return undefined;
    },
    length: (e) => (e.msg.attributes.localPref === undefined ? -1 : 4),
    write(buf, off, e) {
      wr32(buf, off, e.msg.attributes.localPref!);
    },
  },
  {
    code: AttrCode.AtomicAggregate,
    name: 'ATOMIC_AGGREGATE',
    flags: WELL_KNOWN,
    malformed: 'attribute-discard', // RFC 7606 §7.6
    decode(v, st) {
      if (v.length !== 0) return lengthFault('ATOMIC_AGGREGATE', v.length, '0');
      st.attrs.atomicAggregate = true;
      return undefined;
    },
    length: (e) => (e.msg.attributes.atomicAggregate === true ? 0 : -1),
    write() {},
  },
  {
    code: AttrCode.Aggregator,
    name: 'AGGREGATOR',
    flags: OPTIONAL_TRANSITIVE,
    malformed: 'attribute-discard', // RFC 7606 §7.7
    decode(v, st) {
      const wide = st.ctx.fourOctetAs;
      if (v.length !== (wide ? 8 : 6)) return lengthFault('AGGREGATOR', v.length, wide ? '8' : '6');
      const asn = wide ? rd32(v, 0) : rd16(v, 0);
      if (asn === 0) return { subcode: UpdateSubcode.OptionalAttributeError, text: 'AGGREGATOR AS 0 (RFC 7607)' };
      st.attrs.aggregator = { asn, address: formatIpv4(v, wide ? 4 : 2) };
      return undefined;
    },
    length: (e) => (e.msg.attributes.aggregator === undefined ? -1 : e.ctx.fourOctetAs ? 8 : 6),
    write(buf, off, e) {
      const agg = e.msg.attributes.aggregator!;
      const ip = parseAddress(agg.address, 'AGGREGATOR');
      if (ip.family !== 4) throw new RangeError(`AGGREGATOR address must be IPv4: ${agg.address}`);
      if (e.ctx.fourOctetAs) {
        wr32(buf, off, agg.asn);
        buf.set(ip.bytes, off + 4);
      } else {
        wr16(buf, off, agg.asn > 0xffff ? AS_TRANS : agg.asn);
        buf.set(ip.bytes, off + 2);
      }
    },
  },
  {
    code: AttrCode.Communities,
    name: 'COMMUNITIES',
    flags: OPTIONAL_TRANSITIVE,
    malformed: 'treat-as-withdraw', // RFC 7606 §7.8
    decode(v, st) {
      if (v.length === 0 || v.length % 4 !== 0) return lengthFault('COMMUNITIES', v.length, 'a non-zero multiple of 4');
      const out = new Array<number>(v.length >>> 2);
      for (let i = 0; i < out.length; i++) out[i] = rd32(v, i * 4);
      st.attrs.communities = out;
      return undefined;
    },
    // An empty COMMUNITIES attribute would be malformed (RFC 7606 §7.8): send none.
    length: (e) => {
      const c = e.msg.attributes.communities;
      return c === undefined || c.length === 0 ? -1 : c.length * 4;
    },
    write(buf, off, e) {
      const c = e.msg.attributes.communities!;
      for (let i = 0; i < c.length; i++) wr32(buf, off + i * 4, c[i]!);
    },
  },
  {
    code: AttrCode.ExtendedCommunities,
    name: 'EXTENDED_COMMUNITIES',
    flags: OPTIONAL_TRANSITIVE,
    malformed: 'treat-as-withdraw', // RFC 7606 §7.14
    decode(v, st) {
      if (v.length === 0 || v.length % EXTENDED_COMMUNITY_LENGTH !== 0) return lengthFault('EXTENDED_COMMUNITIES', v.length, 'a non-zero multiple of 8');
      st.attrs.extendedCommunities = readExtendedCommunities(v);
      return undefined;
    },
    // Empty would be malformed (RFC 7606 §7.14): send none.
    length: (e) => {
      const c = e.msg.attributes.extendedCommunities;
      return c === undefined || c.length === 0 ? -1 : c.length * EXTENDED_COMMUNITY_LENGTH;
    },
    write(buf, off, e) {
      writeExtendedCommunities(buf, off, e.msg.attributes.extendedCommunities!);
    },
  },
  {
    code: AttrCode.Ipv6ExtendedCommunities,
    name: 'IPV6_ADDRESS_SPECIFIC_EXTENDED_COMMUNITY',
    flags: OPTIONAL_TRANSITIVE,
    malformed: 'treat-as-withdraw', // RFC 7606 §7.15
    decode(v, st) {
      if (v.length === 0 || v.length % IPV6_EXTENDED_COMMUNITY_LENGTH !== 0) {
        return lengthFault('IPV6_ADDRESS_SPECIFIC_EXTENDED_COMMUNITY', v.length, 'a non-zero multiple of 20');
      }
      // Carried, not interpreted: copied so the RIB does not pin the receive buffer.
      st.attrs.ipv6ExtendedCommunities = copyBytes(v);
      return undefined;
    },
    length: (e) => {
      const v = e.msg.attributes.ipv6ExtendedCommunities;
      if (v === undefined || v.length === 0) return -1;
      if (v.length % IPV6_EXTENDED_COMMUNITY_LENGTH !== 0) throw new RangeError(`ipv6ExtendedCommunities: ${v.length} octets is not a multiple of 20`);
      return v.length;
    },
    write(buf, off, e) {
      buf.set(e.msg.attributes.ipv6ExtendedCommunities!, off);
    },
  },
  {
    code: AttrCode.LargeCommunity,
    name: 'LARGE_COMMUNITY',
    flags: OPTIONAL_TRANSITIVE,
    malformed: 'treat-as-withdraw', // RFC 8092 §6
    decode(v, st) {
      // RFC 8092 §6: duplicates alone do not make it malformed (they are dropped, §3).
      if (v.length === 0 || v.length % LARGE_COMMUNITY_LENGTH !== 0) return lengthFault('LARGE_COMMUNITY', v.length, 'a non-zero multiple of 12');
      st.attrs.largeCommunities = readLargeCommunities(v);
      return undefined;
    },
    length: (e) => {
      const c = e.msg.attributes.largeCommunities;
      return c === undefined || c.length === 0 ? -1 : uniqueLargeCommunities(c).length * LARGE_COMMUNITY_LENGTH;
    },
    write(buf, off, e) {
      writeLargeCommunities(buf, off, uniqueLargeCommunities(e.msg.attributes.largeCommunities!));
    },
  },
  {
    code: AttrCode.OnlyToCustomer,
    name: 'ONLY_TO_CUSTOMER',
    flags: OPTIONAL_TRANSITIVE,
    malformed: 'treat-as-withdraw', // RFC 9234 §5: an OTC of length other than 4 is malformed
    decode(v, st) {
      if (v.length !== 4) return lengthFault('ONLY_TO_CUSTOMER', v.length, '4');
      st.attrs.otc = rd32(v, 0);
      return undefined;
    },
    length: (e) => (e.msg.attributes.otc === undefined ? -1 : 4),
    write(buf, off, e) {
      wr32(buf, off, e.msg.attributes.otc!);
    },
  },
  {
    code: AttrCode.MpReachNlri,
    name: 'MP_REACH_NLRI',
    flags: OPTIONAL_NON_TRANSITIVE,
    // RFC 7606 §7.11 and §5.3: when the next hop or the NLRI cannot be read the
    // NLRI cannot be located, so nothing short of a reset is safe.
    malformed: 'session-reset',
    decode(v, st) {
      if (v.length < 5) return mpFault(`MP_REACH_NLRI length ${v.length}, expected at least 5`);
      const afi = rd16(v, 0);
      const safi = v[2]!;
      const nhLen = v[3]!;
      if (5 + nhLen > v.length) return mpFault(`MP_REACH_NLRI length ${v.length} has no room for a ${nhLen}-octet next hop`);
      if (!supportedFamily(afi, safi)) return unsupported('MP_REACH_NLRI', afi, safi);
      if (!validNextHopLength(afi, nhLen)) {
        return mpFault(`MP_REACH_NLRI next hop length ${nhLen} for AFI ${afi}`);
      }
      // The octet after the next hop is Reserved (RFC 4760 §3): ignored on receipt.
      const run = checkPrefixes(v, 5 + nhLen, v.length, afi === AFI_IPV4 ? 4 : 6, addPathReceive(st.ctx, afi));
      if (typeof run === 'string') return mpFault(`MP_REACH_NLRI NLRI: ${run}`);
      st.reachRun = run;
      st.mpReach = receivedReach(afi, safi, readNextHops(v, 4, nhLen), run);
      return undefined;
    },
    length: (e) => (e.msg.mpReach === undefined ? -1 : 5 + e.reachNextHop!.length + prefixesLength(e.reachNlri!)),
    write(buf, off, e) {
      const r = e.msg.mpReach!;
      const nh = e.reachNextHop!;
      wr16(buf, off, r.afi);
      buf[off + 2] = r.safi;
      buf[off + 3] = nh.length;
      buf.set(nh, off + 4);
      buf[off + 4 + nh.length] = 0;
      writePrefixes(buf, off + 5 + nh.length, e.reachNlri!);
    },
  },
  {
    code: AttrCode.MpUnreachNlri,
    name: 'MP_UNREACH_NLRI',
    flags: OPTIONAL_NON_TRANSITIVE,
    malformed: 'session-reset', // RFC 7606 §5.3: the withdrawn routes must be readable
    decode(v, st) {
      if (v.length < 3) return mpFault(`MP_UNREACH_NLRI length ${v.length}, expected at least 3`);
      const afi = rd16(v, 0);
      const safi = v[2]!;
      if (!supportedFamily(afi, safi)) return unsupported('MP_UNREACH_NLRI', afi, safi);
      const run = checkPrefixes(v, 3, v.length, afi === AFI_IPV4 ? 4 : 6, addPathReceive(st.ctx, afi));
      if (typeof run === 'string') return mpFault(`MP_UNREACH_NLRI withdrawn routes: ${run}`);
      st.unreachRun = run;
      st.mpUnreach = receivedUnreach(afi, safi, run);
      return undefined;
    },
    length: (e) => (e.msg.mpUnreach === undefined ? -1 : 3 + prefixesLength(e.unreachNlri!)),
    write(buf, off, e) {
      const u = e.msg.mpUnreach!;
      wr16(buf, off, u.afi);
      buf[off + 2] = u.safi;
      writePrefixes(buf, off + 3, e.unreachNlri!);
    },
  },
  {
    code: AttrCode.As4Path,
    name: 'AS4_PATH',
    flags: OPTIONAL_TRANSITIVE,
    malformed: 'attribute-discard', // RFC 6793 §6
    decode(v, st) {
      if (st.ctx.fourOctetAs) {
        // RFC 6793: between NEW speakers AS4_PATH is not sent; one received is discarded.
        return { subcode: UpdateSubcode.OptionalAttributeError, text: 'AS4_PATH on a 4-octet session: discarded' };
      }
      const path: AsPathSegment[] = [];
      const bad = readAsPath(v, 4, path);
      if (bad) return { subcode: UpdateSubcode.OptionalAttributeError, text: `AS4_PATH ${bad}` };
      // RFC 6793: confederation segments are not carried in AS4_PATH.
      if (path.some((s) => isConfed(s.type))) return { subcode: UpdateSubcode.OptionalAttributeError, text: 'AS4_PATH carries a confederation segment' };
      st.as4Path = path;
      return undefined;
    },
    length: (e) => {
      const p = e.msg.attributes.asPath;
      if (e.ctx.fourOctetAs || p === undefined || !hasWideAsn(p)) return -1;
      return asPathLength(p, 4, true);
    },
    write(buf, off, e) {
      writeAsPath(buf, off, e.msg.attributes.asPath!, 4, true);
    },
  },
  {
    code: AttrCode.As4Aggregator,
    name: 'AS4_AGGREGATOR',
    flags: OPTIONAL_TRANSITIVE,
    malformed: 'attribute-discard', // RFC 6793 §6
    decode(v, st) {
      if (st.ctx.fourOctetAs) return { subcode: UpdateSubcode.OptionalAttributeError, text: 'AS4_AGGREGATOR on a 4-octet session: discarded' };
      if (v.length !== 8) return lengthFault('AS4_AGGREGATOR', v.length, '8');
      const asn = rd32(v, 0);
      if (asn === 0) return { subcode: UpdateSubcode.OptionalAttributeError, text: 'AS4_AGGREGATOR AS 0 (RFC 7607)' };
      st.as4Aggregator = { asn, address: formatIpv4(v, 4) };
      return undefined;
    },
    length: (e) => {
      const a = e.msg.attributes.aggregator;
      return e.ctx.fourOctetAs || a === undefined || a.asn <= 0xffff ? -1 : 8;
    },
    write(buf, off, e) {
      const agg = e.msg.attributes.aggregator!;
      wr32(buf, off, agg.asn);
      buf.set(parseAddress(agg.address, 'AGGREGATOR').bytes, off + 4);
    },
  },
];

/** Descriptor by type code; undefined for attributes this speaker does not recognise. */
export const ATTRIBUTES: readonly (AttributeDescriptor | undefined)[] = (() => {
  const t = new Array<AttributeDescriptor | undefined>(256).fill(undefined);
  for (const d of DESCRIPTORS) t[d.code] = d;
  return t;
})();

/**
 * Send order: RFC 7606 §5.1 wants MP_REACH_NLRI / MP_UNREACH_NLRI first so a
 * receiver can always locate the NLRI; the rest ascending by type (RFC 4271 §5).
 */
export const ENCODE_ORDER: readonly AttributeDescriptor[] = [
  ...DESCRIPTORS.filter((d) => d.code === AttrCode.MpReachNlri || d.code === AttrCode.MpUnreachNlri),
  ...DESCRIPTORS.filter((d) => d.code !== AttrCode.MpReachNlri && d.code !== AttrCode.MpUnreachNlri).sort((a, b) => a.code - b.code),
];

export function attributeName(code: number): string {
  return ATTRIBUTES[code]?.name ?? `attribute ${code}`;
}
