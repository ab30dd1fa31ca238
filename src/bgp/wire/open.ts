/**
 * OPEN messages (RFC 4271 §4.2, §6.2) with Capabilities optional parameters
 * (RFC 5492) and the extended optional parameters length of RFC 9072.
 */
import { formatIpv4 } from '#lib/prefix';
import { AFI_IPV4, AFI_IPV6, MessageType, SAFI_UNICAST } from './types.js';
import type { AddPathDirections, AddPathFamily, Capability, CodecContext, LongLivedFamily, OpenMessage } from './types.js';
import { AS_TRANS } from './attributes.js';
import { OpenSubcode, badLength, openError, u16Bytes } from './errors.js';
import { HEADER_LENGTH, allocMessage } from './header.js';
import { copyBytes, parseAddress, rd16, rd32, wr16, wr32 } from './nlri.js';

export const BGP_VERSION = 4;

/** RFC 5492 §4 optional parameter type. */
const PARAM_CAPABILITIES = 2;
/** RFC 9072 §2: a Non-Ext OP Type of 255 announces the extended encoding. */
const PARAM_EXTENDED = 255;

export const CapabilityCode = {
  Multiprotocol: 1,
  RouteRefresh: 2,
  ExtendedNextHop: 5,
  ExtendedMessage: 6,
  BgpRole: 9,
  GracefulRestart: 64,
  FourOctetAs: 65,
  AddPath: 69,
  EnhancedRouteRefresh: 70,
  LongLivedGracefulRestart: 71,
} as const;

/** RFC 9494 §3: the largest long-lived stale time, 24 bits of seconds (about 194 days). */
export const MAX_LONG_LIVED_STALE_TIME = 0xffffff;

export function decodeOpen(b: Uint8Array): OpenMessage {
  const end = b.length;
  const o = HEADER_LENGTH;
  const version = b[o]!;
  // RFC 4271 §6.2: the data is the largest supported version, as 2 octets.
  if (version !== BGP_VERSION) throw openError(OpenSubcode.UnsupportedVersionNumber, `BGP version ${version} is not supported`, u16Bytes(BGP_VERSION));
  const myAs = rd16(b, o + 1);
  const holdTime = rd16(b, o + 3);
  // RFC 4271 §6.2: a Hold Time of one or two seconds MUST be rejected (zero is "no keepalives").
  if (holdTime === 1 || holdTime === 2) throw openError(OpenSubcode.UnacceptableHoldTime, `hold time ${holdTime} is not acceptable`);
  if (rd32(b, o + 5) === 0) throw openError(OpenSubcode.BadBgpIdentifier, 'BGP Identifier 0.0.0.0');
  const bgpId = formatIpv4(b, o + 5);
  const optLength = b[o + 9]!;

  let p = o + 10;
  let paramsEnd = p + optLength;
  let wideParams = false;
  // RFC 9072 §2: Non-Ext OP Len 255 followed by type 255 means a 2-octet
  // Extended Opt. Parm. Length, and 2-octet lengths in every parameter.
  if (optLength === 255 && end - p >= 3 && b[p] === PARAM_EXTENDED) {
    paramsEnd = p + 3 + rd16(b, p + 1);
    p += 3;
    wideParams = true;
  }
  if (paramsEnd !== end) throw badLength(end, 'OPEN optional parameters do not match the message length');

  const capabilities: Capability[] = [];
  const hdr = wideParams ? 3 : 2;
  while (p < paramsEnd) {
    if (paramsEnd - p < hdr) throw openError(OpenSubcode.Unspecific, 'truncated optional parameter');
    const type = b[p]!;
    const len = wideParams ? rd16(b, p + 1) : b[p + 1]!;
    p += hdr;
    if (p + len > paramsEnd) throw openError(OpenSubcode.Unspecific, `optional parameter ${type} overruns the parameters`);
    if (type !== PARAM_CAPABILITIES) throw openError(OpenSubcode.UnsupportedOptionalParameter, `unsupported optional parameter ${type}`);
    decodeCapabilities(b, p, p + len, capabilities);
    p += len;
  }
  return { type: MessageType.Open, version, myAs, holdTime, bgpId, capabilities };
}

function decodeCapabilities(b: Uint8Array, start: number, end: number, out: Capability[]): void {
  let p = start;
  while (p < end) {
    if (end - p < 2) throw openError(OpenSubcode.Unspecific, 'truncated capability');
    const code = b[p]!;
    const len = b[p + 1]!;
    p += 2;
    if (p + len > end) throw openError(OpenSubcode.Unspecific, `capability ${code} overruns its parameter`);
    out.push(decodeCapability(b, p, code, len));
    p += len;
  }
}

function malformedCapability(code: number, len: number): never {
  throw openError(OpenSubcode.Unspecific, `capability ${code} has malformed length ${len}`);
}

function decodeCapability(b: Uint8Array, p: number, code: number, len: number): Capability {
  switch (code) {
    case CapabilityCode.Multiprotocol:
      // RFC 4760 §8: AFI, a reserved octet, SAFI.
      if (len !== 4) malformedCapability(code, len);
      return { code, afi: rd16(b, p), safi: b[p + 3]! };
    case CapabilityCode.RouteRefresh:
      if (len !== 0) malformedCapability(code, len);
      return { code };
    case CapabilityCode.ExtendedMessage: // RFC 8654 §3
      if (len !== 0) malformedCapability(code, len);
      return { code };
    case CapabilityCode.EnhancedRouteRefresh: // RFC 7313 §3.1
      if (len !== 0) malformedCapability(code, len);
      return { code };
    case CapabilityCode.BgpRole: // RFC 9234 §4.1: one octet
      if (len !== 1) malformedCapability(code, len);
      return { code, role: b[p]! };
    case CapabilityCode.ExtendedNextHop: {
      // RFC 8950 §4: triples of NLRI AFI (2), NLRI SAFI (2), Next Hop AFI (2).
      if (len === 0 || len % 6 !== 0) malformedCapability(code, len);
      const entries: { afi: number; safi: number; nextHopAfi: number }[] = [];
      for (let q = p; q < p + len; q += 6) entries.push({ afi: rd16(b, q), safi: rd16(b, q + 2), nextHopAfi: rd16(b, q + 4) });
      return { code, entries };
    }
    case CapabilityCode.FourOctetAs:
      if (len !== 4) malformedCapability(code, len);
      return { code, asn: rd32(b, p) };
    case CapabilityCode.GracefulRestart: {
      // RFC 4724 §3: Restart Flags (4 bits: R, RFC 8538 N) and Restart Time (12 bits), then
      // AFI (2), SAFI (1), Flags for Address Family (1, F) per family.
      if (len < 2 || (len - 2) % 4 !== 0) malformedCapability(code, len);
      const head = rd16(b, p);
      const families: { afi: number; safi: number; forwardingState: boolean }[] = [];
      for (let q = p + 2; q < p + len; q += 4) families.push({ afi: rd16(b, q), safi: b[q + 2]!, forwardingState: (b[q + 3]! & 0x80) !== 0 });
      return { code, restartState: (head & 0x8000) !== 0, notification: (head & 0x4000) !== 0, restartTime: head & 0x0fff, families };
    }
    case CapabilityCode.LongLivedGracefulRestart: {
      // RFC 9494 §3: AFI (2), SAFI (1), Flags (1, F = 0x80), Long-lived Stale Time (3) per family;
      // an empty list is valid (the speaker supports the procedures for no family).
      if (len % 7 !== 0) malformedCapability(code, len);
      const families: LongLivedFamily[] = [];
      for (let q = p; q < p + len; q += 7) {
        families.push({ afi: rd16(b, q), safi: b[q + 2]!, forwardingState: (b[q + 3]! & 0x80) !== 0, staleTime: (b[q + 4]! << 16) | rd16(b, q + 5) });
      }
      return { code, families };
    }
    case CapabilityCode.AddPath: {
      // RFC 7911 §4: AFI (2), SAFI (1), Send/Receive (1) per family.
      if (len === 0 || len % 4 !== 0) malformedCapability(code, len);
      const families: AddPathFamily[] = [];
      for (let q = p; q < p + len; q += 4) {
        const sendReceive = b[q + 3]!;
        // RFC 7911 §4: any Send/Receive value but 1, 2, 3 makes the capability not understood.
        if (sendReceive < 1 || sendReceive > 3) return notUnderstood(b, p, code, len);
        families.push({ afi: rd16(b, q), safi: b[q + 2]!, receive: (sendReceive & 1) !== 0, send: (sendReceive & 2) !== 0 });
      }
      return { code, families };
    }
    default:
      return notUnderstood(b, p, code, len);
  }
}

/** RFC 5492 §4: a capability not understood is ignored; kept raw for logs. */
function notUnderstood(b: Uint8Array, p: number, code: number, len: number): Capability {
  return { code, raw: copyBytes(b.subarray(p, p + len)) };
}

function capabilityValueLength(c: Capability): number {
  if ('raw' in c) return c.raw.length;
  switch (c.code) {
    case CapabilityCode.Multiprotocol:
    case CapabilityCode.FourOctetAs:
      return 4;
    case CapabilityCode.RouteRefresh:
    case CapabilityCode.ExtendedMessage:
    case CapabilityCode.EnhancedRouteRefresh:
      return 0;
    case CapabilityCode.BgpRole:
      return 1;
    case CapabilityCode.ExtendedNextHop:
      return c.entries.length * 6;
    case CapabilityCode.AddPath:
      return c.families.length * 4;
    case CapabilityCode.GracefulRestart:
      return 2 + c.families.length * 4;
    case CapabilityCode.LongLivedGracefulRestart:
      return c.families.length * 7;
  }
}

function writeCapability(buf: Uint8Array, o: number, c: Capability): number {
  const len = capabilityValueLength(c);
  if (len > 255) throw new RangeError(`capability ${c.code} value of ${len} octets exceeds 255`);
  buf[o] = c.code;
  buf[o + 1] = len;
  const v = o + 2;
  if ('raw' in c) {
    buf.set(c.raw, v);
  } else {
    switch (c.code) {
      case CapabilityCode.Multiprotocol:
        wr16(buf, v, c.afi);
        buf[v + 2] = 0;
        buf[v + 3] = c.safi;
        break;
      case CapabilityCode.FourOctetAs:
        wr32(buf, v, c.asn);
        break;
      case CapabilityCode.BgpRole:
        if (c.role < 0 || c.role > 255) throw new RangeError(`BGP Role ${c.role} does not fit one octet`);
        buf[v] = c.role;
        break;
      case CapabilityCode.RouteRefresh:
      case CapabilityCode.ExtendedMessage:
      case CapabilityCode.EnhancedRouteRefresh:
        break;
      case CapabilityCode.AddPath:
        c.families.forEach((f, i) => {
          const sendReceive = (f.receive ? 1 : 0) | (f.send ? 2 : 0);
          if (sendReceive === 0) throw new RangeError(`ADD-PATH for AFI ${f.afi} SAFI ${f.safi} neither sends nor receives`);
          const q = v + i * 4;
          wr16(buf, q, f.afi);
          buf[q + 2] = f.safi;
          buf[q + 3] = sendReceive;
        });
        break;
      case CapabilityCode.GracefulRestart: {
        if (c.restartTime < 0 || c.restartTime > 0x0fff) throw new RangeError(`graceful restart time ${c.restartTime} exceeds 4095 s`);
        wr16(buf, v, (c.restartState ? 0x8000 : 0) | (c.notification ? 0x4000 : 0) | c.restartTime);
        c.families.forEach((f, i) => {
          const q = v + 2 + i * 4;
          wr16(buf, q, f.afi);
          buf[q + 2] = f.safi;
          buf[q + 3] = f.forwardingState ? 0x80 : 0;
        });
        break;
      }
      case CapabilityCode.LongLivedGracefulRestart:
        c.families.forEach((f, i) => {
          if (!Number.isInteger(f.staleTime) || f.staleTime < 0 || f.staleTime > MAX_LONG_LIVED_STALE_TIME) {
            throw new RangeError(`long-lived stale time ${f.staleTime} does not fit 24 bits`);
          }
          const q = v + i * 7;
          wr16(buf, q, f.afi);
          buf[q + 2] = f.safi;
          buf[q + 3] = f.forwardingState ? 0x80 : 0;
          buf[q + 4] = f.staleTime >>> 16;
          wr16(buf, q + 5, f.staleTime & 0xffff);
        });
        break;
      case CapabilityCode.ExtendedNextHop:
        c.entries.forEach((e, i) => {
          wr16(buf, v + i * 6, e.afi);
          wr16(buf, v + i * 6 + 2, e.safi);
          wr16(buf, v + i * 6 + 4, e.nextHopAfi);
        });
        break;
    }
  }
  return v + len;
}

/**
 * All capabilities go into one Capabilities parameter; past 255 octets the
 * RFC 9072 extended encoding is used (and only then, RFC 9072 §2).
 */
export function encodeOpen(m: OpenMessage): Buffer {
  let capsLength = 0;
  for (const c of m.capabilities) capsLength += 2 + capabilityValueLength(c);
  const extended = capsLength + 2 > 255;
  const paramsLength = capsLength === 0 ? 0 : extended ? 3 + 3 + capsLength : 2 + capsLength;
  const buf = allocMessage(HEADER_LENGTH + 10 + paramsLength, MessageType.Open);
  const bgpId = parseAddress(m.bgpId, 'OPEN BGP Identifier');
  if (bgpId.family !== 4) throw new RangeError(`OPEN BGP Identifier must be a dotted quad: ${m.bgpId}`);
  if (m.myAs > 0xffff) throw new RangeError(`OPEN My Autonomous System ${m.myAs} needs AS_TRANS and the 4-octet AS capability`);
  let o = HEADER_LENGTH;
  buf[o] = m.version;
  wr16(buf, o + 1, m.myAs);
  wr16(buf, o + 3, m.holdTime);
  buf.set(bgpId.bytes, o + 5);
  o += 9;
  if (capsLength === 0) {
    buf[o] = 0;
    return buf;
  }
  if (extended) {
    buf[o] = 255;
    buf[o + 1] = PARAM_EXTENDED;
    wr16(buf, o + 2, 3 + capsLength);
    buf[o + 4] = PARAM_CAPABILITIES;
    wr16(buf, o + 5, capsLength);
    o += 7;
  } else {
    buf[o] = paramsLength;
    buf[o + 1] = PARAM_CAPABILITIES;
    buf[o + 2] = capsLength;
    o += 3;
  }
  for (const c of m.capabilities) o = writeCapability(buf, o, c);
  return buf;
}

// ---- helpers for the session ---------------------------------------------------

export interface OpenCapabilities {
  /** The speaker's ASN: the 4-octet AS capability when present (RFC 6793), else My Autonomous System. */
  asn: number;
  fourOctetAs: boolean;
  /** RFC 4760 §8: a speaker that advertises none is assumed to do IPv4 unicast only. */
  multiprotocol: { afi: number; safi: number }[];
  routeRefresh: boolean;
  /** RFC 7313 enhanced route refresh (BoRR / EoRR around a refresh). */
  enhancedRouteRefresh: boolean;
  extendedNextHop: { afi: number; safi: number; nextHopAfi: number }[];
  /** RFC 8654: the speaker takes messages up to 65535 octets. */
  extendedMessages: boolean;
  /** RFC 7911 ADD-PATH families, from the first instance of the capability (§4 allows one). */
  addPath: AddPathFamily[];
  /** RFC 4724 graceful restart, as the speaker sent it, or null. */
  gracefulRestart: { restartState: boolean; notification: boolean; restartTime: number; families: { afi: number; safi: number; forwardingState: boolean }[] } | null;
  /** RFC 9494 long-lived graceful restart families, as the speaker sent them, or null. */
  longLived: LongLivedFamily[] | null;
  /** RFC 9234 BGP Role the speaker sent (a BgpRole value), or null. */
  role: number | null;
  /** RFC 9234 §4.2: several BGP Role capabilities with different values (a Role Mismatch). */
  roleConflict: boolean;
}

export function openCapabilities(open: OpenMessage): OpenCapabilities {
  const out: OpenCapabilities = {
    asn: open.myAs,
    fourOctetAs: false,
    multiprotocol: [],
    routeRefresh: false,
    enhancedRouteRefresh: false,
    extendedNextHop: [],
    extendedMessages: false,
    addPath: [],
    gracefulRestart: null,
    longLived: null,
    role: null,
    roleConflict: false,
  };
  let addPathSeen = false;
  for (const c of open.capabilities) {
    if ('raw' in c) continue;
    switch (c.code) {
      case CapabilityCode.Multiprotocol:
        out.multiprotocol.push({ afi: c.afi, safi: c.safi });
        break;
      case CapabilityCode.RouteRefresh:
        out.routeRefresh = true;
        break;
      case CapabilityCode.ExtendedNextHop:
        out.extendedNextHop.push(...c.entries);
        break;
      case CapabilityCode.ExtendedMessage:
        out.extendedMessages = true;
        break;
      case CapabilityCode.EnhancedRouteRefresh:
        out.enhancedRouteRefresh = true;
        break;
      case CapabilityCode.AddPath:
        if (!addPathSeen) out.addPath = c.families;
        addPathSeen = true;
        break;
      case CapabilityCode.FourOctetAs:
        out.fourOctetAs = true;
        out.asn = c.asn;
        break;
      case CapabilityCode.BgpRole:
        if (out.role !== null && out.role !== c.role) out.roleConflict = true;
        out.role ??= c.role;
        break;
      case CapabilityCode.GracefulRestart:
        // RFC 4724 §3: only one instance; a later one is ignored.
        out.gracefulRestart ??= { restartState: c.restartState, notification: c.notification, restartTime: c.restartTime, families: c.families };
        break;
      case CapabilityCode.LongLivedGracefulRestart:
        // RFC 9494 §3: as for RFC 4724, one instance counts.
        out.longLived ??= c.families;
        break;
    }
  }
  return out;
}

/**
 * The codec context of a session once both OPENs are known: 4-octet AS
 * (RFC 6793), extended messages (RFC 8654) and enhanced route refresh
 * (RFC 7313 §3.1) need both sides to advertise them.
 */
export function negotiatedContext(local: OpenMessage, remote: OpenMessage, external?: boolean): CodecContext {
  const ours = openCapabilities(local);
  const theirs = openCapabilities(remote);
  const ctx: CodecContext = { fourOctetAs: ours.fourOctetAs && theirs.fourOctetAs };
  if (ours.extendedMessages && theirs.extendedMessages) ctx.extendedMessages = true;
  if (ours.enhancedRouteRefresh && theirs.enhancedRouteRefresh) ctx.enhancedRouteRefresh = true;
  if (external !== undefined) ctx.external = external;
  const addPath = negotiateAddPath(ours.addPath, theirs.addPath);
  if (addPath !== undefined) ctx.addPath = addPath;
  return ctx;
}

/**
 * RFC 7911 §5: a family's NLRI carry Path Identifiers from us when we
 * advertised send (2 or 3) and the peer receive (1 or 3), and to us the
 * other way round. IPv4 and IPv6 unicast only; undefined when neither
 * direction applies to either.
 */
export function negotiateAddPath(ours: readonly AddPathFamily[], theirs: readonly AddPathFamily[]): AddPathDirections | undefined {
  const find = (list: readonly AddPathFamily[], afi: number) => list.find((f) => f.afi === afi && f.safi === SAFI_UNICAST);
  const dir = (afi: number, send: boolean): boolean => {
    const o = find(ours, afi);
    const t = find(theirs, afi);
    return o !== undefined && t !== undefined && (send ? o.send && t.receive : o.receive && t.send);
  };
  const d: AddPathDirections = {
    receive: { ipv4: dir(AFI_IPV4, false), ipv6: dir(AFI_IPV6, false) },
    send: { ipv4: dir(AFI_IPV4, true), ipv6: dir(AFI_IPV6, true) },
  };
  return d.receive.ipv4 || d.receive.ipv6 || d.send.ipv4 || d.send.ipv6 ? d : undefined;
}

export interface OpenOptions {
  asn: number;
  holdTime: number;
  bgpId: string;
  /** Multiprotocol families to advertise, e.g. IPv4 and IPv6 unicast. */
  families: { afi: number; safi: number }[];
  routeRefresh?: boolean;
  /** RFC 7313 §3.1: advertise enhanced route refresh (capability 70). */
  enhancedRouteRefresh?: boolean;
  /** RFC 8950: NLRI families this speaker accepts with next hops of another AFI. */
  extendedNextHop?: { afi: number; safi: number; nextHopAfi: number }[];
  /** RFC 8654: advertise extended messages (the receiver must then take 65535 octets). */
  extendedMessages?: boolean;
  /** RFC 4724 graceful restart capability to send, or none. */
  gracefulRestart?: { restartState: boolean; notification: boolean; restartTime: number; families: { afi: number; safi: number; forwardingState: boolean }[] };
  /** RFC 9494 long-lived graceful restart capability to send (sent only with gracefulRestart), or none. */
  longLived?: LongLivedFamily[];
  /** RFC 9234 BGP Role capability to send (a BgpRole value), or none. */
  role?: number;
  /** RFC 7911 ADD-PATH capability: per family, whether we receive and/or send several paths; none when empty. */
  addPath?: AddPathFamily[];
}

/** Builds this speaker's OPEN: always 4-octet AS capable, AS_TRANS in My AS when the ASN needs it. */
export function buildOpen(o: OpenOptions): OpenMessage {
  const capabilities: Capability[] = o.families.map((f) => ({ code: CapabilityCode.Multiprotocol, afi: f.afi, safi: f.safi }));
  if (o.routeRefresh !== false) capabilities.push({ code: CapabilityCode.RouteRefresh });
  if (o.enhancedRouteRefresh === true) capabilities.push({ code: CapabilityCode.EnhancedRouteRefresh });
  if (o.extendedNextHop && o.extendedNextHop.length > 0) capabilities.push({ code: CapabilityCode.ExtendedNextHop, entries: o.extendedNextHop });
  if (o.extendedMessages === true) capabilities.push({ code: CapabilityCode.ExtendedMessage });
  if (o.gracefulRestart) capabilities.push({ code: CapabilityCode.GracefulRestart, ...o.gracefulRestart });
  // RFC 9494 §4.1: the LLGR capability goes with the graceful restart capability (its restart time may be 0).
  if (o.gracefulRestart && o.longLived) capabilities.push({ code: CapabilityCode.LongLivedGracefulRestart, families: o.longLived });
  if (o.role !== undefined) capabilities.push({ code: CapabilityCode.BgpRole, role: o.role });
  if (o.addPath !== undefined && o.addPath.length > 0) capabilities.push({ code: CapabilityCode.AddPath, families: o.addPath });
  capabilities.push({ code: CapabilityCode.FourOctetAs, asn: o.asn });
  return { type: MessageType.Open, version: BGP_VERSION, myAs: o.asn > 0xffff ? AS_TRANS : o.asn, holdTime: o.holdTime, bgpId: o.bgpId, capabilities };
}

/** RFC 8950 §4: whether `caps` accept IPv4 unicast NLRI with an IPv6 next hop. */
export function acceptsIpv4OverIpv6(caps: OpenCapabilities): boolean {
  return caps.extendedNextHop.some((e) => e.afi === AFI_IPV4 && e.safi === 1 && e.nextHopAfi === 2);
}
