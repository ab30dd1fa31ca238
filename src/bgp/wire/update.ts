/**
 * UPDATE messages (RFC 4271 §4.3) with the revised error handling of RFC 7606:
 * the walker frames attributes, applies the table's descriptors and collects
 * every problem; the strongest approach wins (RFC 7606 §3). Session-reset
 * errors are thrown, the weaker outcomes are returned with the message already
 * rewritten.
 */
import { AFI_IPV4, AFI_IPV6, MessageType, SAFI_UNICAST } from './types.js';
import type { CodecContext, DecodedMessage, ErrorAction, MpUnreach, PrefixRun, ReceivedNlri, UnknownAttribute, UpdateMessage } from './types.js';
import { receivedUpdate } from './received.js';
import {
  AS_TRANS,
  ATTRIBUTES,
  AttrCode,
  ENCODE_ORDER,
  FLAG_EXTENDED_LENGTH,
  FLAG_OPTIONAL,
  FLAG_PARTIAL,
  FLAG_TRANSITIVE,
  attributeName,
  addPathReceive,
  addPathSend,
  mergeAs4Path,
  packNextHops,
} from './attributes.js';
import type { AttrDecodeState, AttributeDescriptor, EncodeInput } from './attributes.js';
import { UpdateSubcode, strongerAction, updateError } from './errors.js';
import { HEADER_LENGTH, allocMessage, maxMessageLength } from './header.js';
import { type PackedPrefixes, checkPrefixes, copyBytes, parsePrefixes, prefixesLength, rd16, wr16, writePrefixes } from './nlri.js';

const EMPTY = new Uint8Array(0);

/** The problems found in one UPDATE and the strongest approach among them. */
class Verdict {
  action: ErrorAction | 'none' = 'none';
  /** NOTIFICATION subcode and data of the error behind `action`, should §5.2 escalate it. */
  subcode = 0;
  data: Uint8Array = EMPTY;
  readonly problems: string[] = [];

  add(action: ErrorAction, subcode: number, data: Uint8Array, text: string): void {
    this.problems.push(`${text} (${action})`);
    if (strongerAction(action, this.action)) {
      this.action = action;
      this.subcode = subcode;
      this.data = data;
    }
  }
}

export function decodeUpdate(b: Uint8Array, ctx: CodecContext): DecodedMessage {
  const end = b.length;
  let off = HEADER_LENGTH;
  const withdrawnLength = rd16(b, off);
  off += 2;
  // RFC 4271 §6.3: lengths that overrun the message are a Malformed Attribute List.
  if (off + withdrawnLength + 2 > end) {
    throw updateError(UpdateSubcode.MalformedAttributeList, `Withdrawn Routes Length ${withdrawnLength} overruns the message`);
  }
  // RFC 7911 §3: with ADD-PATH for IPv4 unicast both fields carry Path Identifiers.
  const addPath4 = addPathReceive(ctx, AFI_IPV4);
  // RFC 7606 §3 and §5.3: Withdrawn Routes are checked like the NLRI field, and
  // a field that cannot be parsed leaves nothing to withdraw safely: reset.
  const withdrawn = checkPrefixes(b, off, off + withdrawnLength, 4, addPath4);
  if (typeof withdrawn === 'string') throw updateError(UpdateSubcode.InvalidNetworkField, `Withdrawn Routes: ${withdrawn}`);
  off += withdrawnLength;
  const attrsLength = rd16(b, off);
  off += 2;
  if (off + attrsLength > end) {
    throw updateError(UpdateSubcode.MalformedAttributeList, `Total Path Attribute Length ${attrsLength} overruns the message`);
  }
  const attrsEnd = off + attrsLength;
  const nlri = checkPrefixes(b, attrsEnd, end, 4, addPath4);
  if (typeof nlri === 'string') throw updateError(UpdateSubcode.InvalidNetworkField, `NLRI: ${nlri}`);

  const verdict = new Verdict();
  const st: AttrDecodeState = { ctx, attrs: {}, ipv4Nlri: nlri.count > 0 };
  const seen = walkAttributes(b, off, attrsEnd, st, verdict);
  if (!ctx.fourOctetAs) mergeAs4(st, verdict);

  const reachable = nlri.count > 0 || (st.reachRun !== undefined && st.reachRun.count > 0);
  if (reachable) {
    // RFC 7606 §3: a missing well-known mandatory attribute is treat-as-withdraw;
    // NEXT_HOP is only needed for the NLRI field (RFC 4760 §3 makes it
    // discretionary for MP_REACH_NLRI).
    const mandatory = nlri.count > 0 ? MANDATORY_WITH_NLRI : MANDATORY;
    for (const code of mandatory) {
      if (seen[code] !== walkStamp) {
        verdict.add('treat-as-withdraw', UpdateSubcode.MissingWellKnownAttribute, Uint8Array.of(code), `missing well-known attribute ${attributeName(code)}`);
      }
    }
  } else if (verdict.action === 'treat-as-withdraw') {
    // RFC 7606 §5.2: with no reachable NLRI there is nothing to treat as
    // withdrawn, and the error may well have hidden the NLRI: reset.
    throw updateError(verdict.subcode, `RFC 7606 §5.2: ${verdict.problems.join('; ')} in an UPDATE without reachable NLRI`, verdict.data);
  }

  const received: { -readonly [K in keyof ReceivedNlri]: ReceivedNlri[K] } = { withdrawn, nlri };
  if (st.reachRun !== undefined) received.reach = st.reachRun;
  if (st.unreachRun !== undefined) received.unreach = st.unreachRun;
  const message = receivedUpdate(st.attrs, received, st.mpReach, st.mpUnreach);
  if (verdict.action === 'treat-as-withdraw') {
    return { message: treatAsWithdraw(message), action: 'treat-as-withdraw', problems: verdict.problems };
  }
  return { message, action: verdict.action === 'none' ? 'none' : 'attribute-discard', problems: verdict.problems };
}

const MANDATORY = [AttrCode.Origin, AttrCode.AsPath];
const MANDATORY_WITH_NLRI = [AttrCode.Origin, AttrCode.AsPath, AttrCode.NextHop];

/**
 * Which type codes the last walkAttributes saw: the code's entry is that
 * walk's number (walkStamp). One table for every UPDATE decoded (decoding is
 * synchronous), not a new one each (issue 10: ten full-table peers, a
 * 256-octet array per UPDATE received).
 */
const seenCodes = new Uint32Array(256);
let walkStamp = 0;

/** Marks in seenCodes which type codes were present (first occurrences), for the mandatory check; returns it (entries equal to walkStamp). */
function walkAttributes(b: Uint8Array, start: number, end: number, st: AttrDecodeState, verdict: Verdict): Uint32Array {
  if (walkStamp === 0xffffffff) {
    seenCodes.fill(0);
    walkStamp = 0;
  }
  const stamp = ++walkStamp;
  const seen = seenCodes;
  let o = start;
  while (o < end) {
    const flags = b[o]!;
    const hdr = (flags & FLAG_EXTENDED_LENGTH) !== 0 ? 4 : 3;
    // RFC 7606 §4: an attribute header or value that does not fit in the Total
    // Path Attribute Length is treat-as-withdraw; that length, not the
    // attribute's, locates the NLRI, so the walk just stops here.
    if (end - o < hdr) {
      verdict.add('treat-as-withdraw', UpdateSubcode.MalformedAttributeList, b.subarray(o, end), `RFC 7606 §4: ${end - o} trailing octet(s) cannot hold an attribute header`);
      break;
    }
    const code = b[o + 1]!;
    const length = hdr === 4 ? rd16(b, o + 2) : b[o + 2]!;
    if (o + hdr + length > end) {
      verdict.add('treat-as-withdraw', UpdateSubcode.AttributeLengthError, b.subarray(o, end), `RFC 7606 §4: ${attributeName(code)} length ${length} overruns the path attributes`);
      break;
    }
    // The whole attribute (`raw`, for a NOTIFICATION's data or a problem) is made only when one is reported.
    const at = o;
    const value = b.subarray(o + hdr, o + hdr + length);
    o += hdr + length;

    if (seen[code] === stamp) {
      // RFC 7606 §3(g): a repeated MP_REACH_NLRI/MP_UNREACH_NLRI is a Malformed
      // Attribute List; any other repeat is discarded, the first one kept.
      if (code === AttrCode.MpReachNlri || code === AttrCode.MpUnreachNlri) {
        throw updateError(UpdateSubcode.MalformedAttributeList, `RFC 7606 §3(g): ${attributeName(code)} appears more than once`);
      }
      verdict.add('attribute-discard', UpdateSubcode.MalformedAttributeList, b.subarray(at, o), `RFC 7606 §3(g): repeated ${attributeName(code)} discarded`);
      continue;
    }
    seen[code] = stamp;

    const d = ATTRIBUTES[code];
    if (d === undefined) {
      if (code === 0 && (flags & FLAG_OPTIONAL) !== 0) {
        // Type 0 is reserved (IANA BGP Path Attributes): never propagate it.
        verdict.add('attribute-discard', UpdateSubcode.OptionalAttributeError, b.subarray(at, o), 'reserved attribute type 0 discarded');
        continue;
      }
      unrecognized(flags, code, value, b.subarray(at, o), st);
      continue;
    }
    const ot = flags & (FLAG_OPTIONAL | FLAG_TRANSITIVE);
    if (ot !== d.flags) {
      // RFC 7606 §3: Optional/Transitive bits in conflict with the type are
      // treat-as-withdraw. The value is still decoded below: an MP attribute
      // must be read to know which routes the withdrawal covers.
      verdict.add('treat-as-withdraw', UpdateSubcode.AttributeFlagsError, b.subarray(at, o), `${d.name} flags 0x${flags.toString(16)} conflict with the type`);
    }
    decodeOne(d, value, b, at, o, st, verdict);
  }
  return seen;
}

/** Decodes one attribute's value; a fault is reported with the whole attribute, b[at, end). */
function decodeOne(d: AttributeDescriptor, value: Uint8Array, b: Uint8Array, at: number, end: number, st: AttrDecodeState, verdict: Verdict): void {
  const fault = d.decode(value, st);
  if (fault === undefined) return;
  const raw = b.subarray(at, end);
  const action = fault.action ?? d.malformed;
  if (action === 'session-reset') throw updateError(fault.subcode, fault.text, raw);
  verdict.add(action, fault.subcode, raw, fault.text);
}

/** RFC 4271 §5 and §6.3 for attribute types this speaker does not recognise. */
function unrecognized(flags: number, code: number, value: Uint8Array, raw: Uint8Array, st: AttrDecodeState): void {
  if ((flags & FLAG_OPTIONAL) === 0) {
    throw updateError(UpdateSubcode.UnrecognizedWellKnownAttribute, `unrecognized well-known attribute ${code}`, raw);
  }
  // Optional non-transitive: quietly ignored. Optional transitive: passed on
  // with the Partial bit set. The value is copied so the RIB does not pin the
  // receive buffer.
  if ((flags & FLAG_TRANSITIVE) === 0) return;
  const u: UnknownAttribute = { flags: FLAG_OPTIONAL | FLAG_TRANSITIVE | FLAG_PARTIAL, code, value: copyBytes(value) };
  (st.attrs.unknown ??= []).push(u);
}

/** RFC 6793 §4.2.3: a 2-octet session's AS4_PATH / AS4_AGGREGATOR folded into the attributes. */
function mergeAs4(st: AttrDecodeState, verdict: Verdict): void {
  const attrs = st.attrs;
  let as4Path = st.as4Path;
  if (attrs.aggregator !== undefined && st.as4Aggregator !== undefined) {
    if (attrs.aggregator.asn !== AS_TRANS) {
      // An OLD speaker aggregated after the AS4 attributes were set: they are stale.
      verdict.problems.push('AS4_PATH and AS4_AGGREGATOR ignored: AGGREGATOR is not AS_TRANS (RFC 6793 §4.2.3)');
      as4Path = undefined;
    } else {
      attrs.aggregator = st.as4Aggregator;
    }
  }
  if (as4Path !== undefined && attrs.asPath !== undefined) attrs.asPath = mergeAs4Path(attrs.asPath, as4Path);
}

/**
 * RFC 7606 §2 treat-as-withdraw: every route the UPDATE carries becomes a
 * withdrawal and the attributes are dropped. IPv4 unicast withdrawals go to the
 * Withdrawn Routes field, which frees mpUnreach for the other family.
 */
export function treatAsWithdraw(m: UpdateMessage): UpdateMessage {
  const withdrawn = m.withdrawn.concat(m.nlri);
  // RFC 7911 §3: the Path Identifiers travel with their prefixes (both IPv4 fields have them or neither).
  const withdrawnPathIds = m.withdrawnPathIds !== undefined ? m.withdrawnPathIds.concat(m.nlriPathIds ?? []) : undefined;
  let mpUnreach = m.mpUnreach;
  const reach = m.mpReach;
  if (reach !== undefined && reach.nlri.length > 0) {
    if (reach.afi === AFI_IPV4 && reach.safi === SAFI_UNICAST) {
      for (const p of reach.nlri) withdrawn.push(p);
      if (withdrawnPathIds !== undefined && reach.pathIds !== undefined) for (const id of reach.pathIds) withdrawnPathIds.push(id);
    } else if (mpUnreach === undefined || (mpUnreach.afi === reach.afi && mpUnreach.safi === reach.safi)) {
      mpUnreach = withPathIds(reach.afi, reach.safi, (mpUnreach?.withdrawn ?? []).concat(reach.nlri), reach.pathIds && (mpUnreach?.pathIds ?? []).concat(reach.pathIds));
    } else {
      // Only IPv4 and IPv6 unicast are decoded, so the other MP_UNREACH is IPv4 unicast.
      for (const p of mpUnreach.withdrawn) withdrawn.push(p);
      if (withdrawnPathIds !== undefined && mpUnreach.pathIds !== undefined) for (const id of mpUnreach.pathIds) withdrawnPathIds.push(id);
      mpUnreach = withPathIds(reach.afi, reach.safi, reach.nlri.slice(), reach.pathIds?.slice());
    }
  }
  const out: UpdateMessage = { type: MessageType.Update, withdrawn, attributes: {}, nlri: [] };
  if (withdrawnPathIds !== undefined) {
    out.withdrawnPathIds = withdrawnPathIds;
    out.nlriPathIds = [];
  }
  if (mpUnreach !== undefined) out.mpUnreach = mpUnreach;
  return out;
}

function withPathIds(afi: number, safi: number, withdrawn: string[], pathIds: number[] | undefined): MpUnreach {
  const u: MpUnreach = { afi, safi, withdrawn };
  if (pathIds !== undefined) u.pathIds = pathIds;
  return u;
}

// ---- encoding ----------------------------------------------------------------

function familyOf(afi: number, where: string): 4 | 6 {
  if (afi === AFI_IPV4) return 4;
  if (afi === AFI_IPV6) return 6;
  throw new RangeError(`${where}: AFI ${afi} is not supported`);
}

const NO_UNKNOWN: readonly UnknownAttribute[] = [];

function headerLength(valueLength: number): number {
  return valueLength > 255 ? 4 : 3;
}

function writeAttrHeader(buf: Uint8Array, o: number, flags: number, code: number, length: number): number {
  if (length > 255) {
    buf[o] = (flags & 0xe0) | FLAG_EXTENDED_LENGTH;
    buf[o + 1] = code;
    wr16(buf, o + 2, length);
    return o + 4;
  }
  buf[o] = flags & 0xe0;
  buf[o + 1] = code;
  buf[o + 2] = length;
  return o + 3;
}

function writeUnknown(buf: Uint8Array, o: number, u: UnknownAttribute): number {
  const p = writeAttrHeader(buf, o, u.flags, u.code, u.value.length);
  buf.set(u.value, p);
  return p + u.value.length;
}

/**
 * RFC 7911 §3: Path Identifiers are written exactly when ADD-PATH send was
 * negotiated for the family; a message that disagrees is a caller bug. An
 * empty field needs none either way.
 */
function sendPathIds(ids: number[] | undefined, count: number, ctx: CodecContext, afi: number, where: string): number[] | undefined {
  if (count === 0) return undefined;
  const negotiated = addPathSend(ctx, afi);
  if (negotiated && ids === undefined) throw new RangeError(`${where}: ADD-PATH send is negotiated for AFI ${afi}: Path Identifiers needed`);
  if (!negotiated && ids !== undefined) throw new RangeError(`${where}: ADD-PATH send is not negotiated for AFI ${afi}`);
  return ids;
}

/** A packed prefix field as it goes on the wire; its Path Identifiers (RFC 7911 §3) checked against the negotiation as sendPathIds does. */
function packedRun(run: PrefixRun, ctx: CodecContext, afi: number, where: string): PackedPrefixes {
  if (run.count > 0) sendPathIds(run.addPath ? NO_IDS : undefined, run.count, ctx, afi, where);
  // An empty field (most messages have one or two) is no view of its own (issue 10).
  return run.start === run.end ? EMPTY : run.bytes.subarray(run.start, run.end);
}

const NO_IDS: number[] = [];

/** encodeUpdate's attribute lengths, in ENCODE_ORDER (-1: not sent); written in full by every message. */
const attributeLengths = new Int32Array(ENCODE_ORDER.length);

/**
 * Sizes the whole message first, then writes it into one buffer. Throws
 * RangeError for a message that cannot be sent as given (bad prefix or next
 * hop text, more than 4096 octets, or 65535 with RFC 8654 extended messages):
 * callers split large updates.
 */
export function encodeUpdate(m: UpdateMessage, ctx: CodecContext): Buffer {
  const p = m.packed;
  const r = m.mpReach;
  const u = m.mpUnreach;
  let withdrawn: PackedPrefixes;
  let nlri: PackedPrefixes;
  let reachNlri: PackedPrefixes | undefined;
  let unreachNlri: PackedPrefixes | undefined;
  if (p !== undefined) {
    // Written by the packer from prefix numbers: copied as they are (issue 10), after the same RFC 7911 check.
    withdrawn = packedRun(p.withdrawn, ctx, AFI_IPV4, 'withdrawnPathIds');
    nlri = packedRun(p.nlri, ctx, AFI_IPV4, 'nlriPathIds');
    reachNlri = r && p.reach ? packedRun(p.reach, ctx, r.afi, 'mpReach.pathIds') : undefined;
    unreachNlri = u && p.unreach ? packedRun(p.unreach, ctx, u.afi, 'mpUnreach.pathIds') : undefined;
  } else {
    withdrawn = parsePrefixes(m.withdrawn, 4, 'withdrawn', sendPathIds(m.withdrawnPathIds, m.withdrawn.length, ctx, AFI_IPV4, 'withdrawnPathIds'));
    nlri = parsePrefixes(m.nlri, 4, 'nlri', sendPathIds(m.nlriPathIds, m.nlri.length, ctx, AFI_IPV4, 'nlriPathIds'));
  }
  if (r && reachNlri === undefined) reachNlri = parsePrefixes(r.nlri, familyOf(r.afi, 'mpReach'), 'mpReach.nlri', sendPathIds(r.pathIds, r.nlri.length, ctx, r.afi, 'mpReach.pathIds'));
  if (u && unreachNlri === undefined) unreachNlri = parsePrefixes(u.withdrawn, familyOf(u.afi, 'mpUnreach'), 'mpUnreach.withdrawn', sendPathIds(u.pathIds, u.withdrawn.length, ctx, u.afi, 'mpUnreach.pathIds'));
  const e: EncodeInput = { msg: m, ctx, reachNextHop: r ? packNextHops(r) : undefined, reachNlri, unreachNlri };
  const unknown = m.attributes.unknown && m.attributes.unknown.length > 0 ? m.attributes.unknown.slice().sort((a, b) => a.code - b.code) : NO_UNKNOWN;

  // Encoding is synchronous and never nested: one table of lengths for every message, not an array each (issue 10).
  const lengths = attributeLengths;
  let attrsLength = 0;
  for (let i = 0; i < ENCODE_ORDER.length; i++) {
    const l = ENCODE_ORDER[i]!.length(e);
    lengths[i] = l;
    if (l >= 0) attrsLength += headerLength(l) + l;
  }
  for (const u of unknown) {
    if (ATTRIBUTES[u.code] !== undefined || u.code === 0) throw new RangeError(`attributes.unknown: type ${u.code} is not an unknown attribute`);
    if ((u.flags & FLAG_OPTIONAL) === 0) throw new RangeError(`attributes.unknown: type ${u.code} must be optional`);
    attrsLength += headerLength(u.value.length) + u.value.length;
  }
  const withdrawnLength = prefixesLength(withdrawn);
  const total = HEADER_LENGTH + 2 + withdrawnLength + 2 + attrsLength + prefixesLength(nlri);
  const buf = allocMessage(total, MessageType.Update, maxMessageLength(ctx));

  let o = HEADER_LENGTH;
  wr16(buf, o, withdrawnLength);
  o = writePrefixes(buf, o + 2, withdrawn);
  wr16(buf, o, attrsLength);
  o += 2;
  let ui = 0;
  for (let i = 0; i < ENCODE_ORDER.length; i++) {
    const d = ENCODE_ORDER[i]!;
    const isMp = d.code === AttrCode.MpReachNlri || d.code === AttrCode.MpUnreachNlri;
    // Unknown attributes take their place in ascending type order (RFC 4271 §5).
    while (!isMp && ui < unknown.length && unknown[ui]!.code < d.code) o = writeUnknown(buf, o, unknown[ui++]!);
    const l = lengths[i]!;
    if (l < 0) continue;
    o = writeAttrHeader(buf, o, d.flags, d.code, l);
    d.write(buf, o, e);
    o += l;
  }
  while (ui < unknown.length) o = writeUnknown(buf, o, unknown[ui++]!);
  writePrefixes(buf, o, nlri);
  return buf;
}
