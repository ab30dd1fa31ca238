/**
 * MRT routing information export format, TABLE_DUMP_V2 (RFC 6396 §4.3) and its
 * ADD-PATH subtypes (RFC 8050 §4): a push decoder that turns a byte stream into
 * records. Pure: the file and gzip side is mrt-file.ts.
 *
 * Path attributes are decoded with the BGP codec's attribute table
 * (#bgp/wire/attributes); the one attribute read here is MP_REACH_NLRI, which a
 * RIB entry carries abbreviated (RFC 6396 §4.3.4: next hop length and next hop
 * only). A decoded attribute set is interned by its bytes, so the entries of a
 * dump share one object per distinct set, as a RIB would.
 */
import { formatIpv4, formatIpv6 } from '#lib/prefix';
import { ATTRIBUTES, AttrCode } from '#bgp/wire/attributes';
import type { AttrDecodeState } from '#bgp/wire/attributes';
import { AFI_IPV4, AFI_IPV6 } from '#bgp/wire/types';
import type { CodecContext, PathAttributes, UnknownAttribute } from '#bgp/wire/types';
import { copyBytes, rd16, rd32 } from '#bgp/wire/nlri';

/** RFC 6396 §4: the common header is 12 octets; Length excludes it. */
export const MRT_HEADER_LENGTH = 12;

/** MRT Type values (RFC 6396 §4, IANA "MRT Types"); only TABLE_DUMP_V2 is decoded. */
export const MrtType = {
  TableDump: 12,
  TableDumpV2: 13,
  Bgp4mp: 16,
  Bgp4mpEt: 17,
} as const;

/** TABLE_DUMP_V2 subtypes: RFC 6396 §4.3, RFC 6397 (GEO_PEER_TABLE), RFC 8050 §4 (ADD-PATH). */
export const TableDumpV2Subtype = {
  PeerIndexTable: 1,
  RibIpv4Unicast: 2,
  RibIpv4Multicast: 3,
  RibIpv6Unicast: 4,
  RibIpv6Multicast: 5,
  RibGeneric: 6,
  GeoPeerTable: 7,
  RibIpv4UnicastAddPath: 8,
  RibIpv4MulticastAddPath: 9,
  RibIpv6UnicastAddPath: 10,
  RibIpv6MulticastAddPath: 11,
  RibGenericAddPath: 12,
} as const;

/** RFC 6396 §4.3.1 Peer Type bits. */
export const PEER_TYPE_IPV6 = 0x01;
export const PEER_TYPE_AS4 = 0x02;

/** A stream that does not parse as MRT; `offset` is where, in the (decompressed) stream. */
export class MrtError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} (at byte offset ${offset})`);
    this.name = 'MrtError';
  }
}

export interface MrtPeer {
  /** BGP Identifier, dotted quad. */
  bgpId: string;
  address: string;
  asn: number;
}

/** RFC 6396 §4.3.1. */
export interface PeerIndexTable {
  collectorBgpId: string;
  viewName: string;
  peers: MrtPeer[];
}

/** One decoded attribute set of a RIB entry (shared between entries with the same bytes). */
export interface RibAttributes {
  /** NEXT_HOP (code 3) included when present; MP_REACH_NLRI's next hops are in `mpNextHops`. */
  readonly attributes: PathAttributes;
  /** RFC 6396 §4.3.4: the abbreviated MP_REACH_NLRI's next hop(s), global first; empty without one. */
  readonly mpNextHops: readonly string[];
  /** What the attribute codec refused (the attribute is left out); empty for a clean set. */
  readonly problems: readonly string[];
}

/** RFC 6396 §4.3.4 RIB Entry; `pathId` only in the RFC 8050 ADD-PATH subtypes. */
export interface RibEntry {
  peerIndex: number;
  /** Seconds since the epoch. */
  originatedTime: number;
  pathId?: number;
  attributes: RibAttributes;
}

export interface RibRecord {
  kind: 'rib';
  timestamp: number;
  subtype: number;
  afi: typeof AFI_IPV4 | typeof AFI_IPV6;
  addPath: boolean;
  sequence: number;
  /** Canonical prefix string, as everywhere in the speaker. */
  prefix: string;
  entries: RibEntry[];
}

export interface PeerIndexRecord {
  kind: 'peer-index-table';
  timestamp: number;
  table: PeerIndexTable;
}

/** A record this decoder recognises or not but does not decode (other types, multicast, RIB_GENERIC …). */
export interface SkippedRecord {
  kind: 'skipped';
  timestamp: number;
  type: number;
  subtype: number;
  length: number;
  offset: number;
}

export type MrtRecord = PeerIndexRecord | RibRecord | SkippedRecord;

export interface MrtDecoderOptions {
  /**
   * Share one RibAttributes per distinct attribute byte string (default true).
   * Off, every entry decodes its own.
   */
  intern?: boolean;
}

/** RFC 6396 §4.3.4: AS_PATH in RIB entries is always 4-octet, whatever the peer negotiated. */
const RIB_CONTEXT: CodecContext = { fourOctetAs: true };
const EMPTY = Buffer.alloc(0);
const NO_HOPS: readonly string[] = [];
const NO_PROBLEMS: readonly string[] = [];

function ribFamily(subtype: number): { afi: typeof AFI_IPV4 | typeof AFI_IPV6; addPath: boolean } | null {
  switch (subtype) {
    case TableDumpV2Subtype.RibIpv4Unicast:
      return { afi: AFI_IPV4, addPath: false };
    case TableDumpV2Subtype.RibIpv6Unicast:
      return { afi: AFI_IPV6, addPath: false };
    case TableDumpV2Subtype.RibIpv4UnicastAddPath:
      return { afi: AFI_IPV4, addPath: true };
    case TableDumpV2Subtype.RibIpv6UnicastAddPath:
      return { afi: AFI_IPV6, addPath: true };
    default:
      return null;
  }
}

/**
 * Push decoder: feed chunks of any size, get whole records back. A record
 * inside one chunk is decoded in place; only a record split across chunks is
 * assembled. `end()` tells a clean end from a truncated file.
 */
export class MrtDecoder {
  private buf: Buffer = EMPTY;
  private pos = 0;
  /** Stream offset of buf[0]. */
  private base = 0;
  private readonly interned: Map<string, RibAttributes> | null;

  constructor(opts: MrtDecoderOptions = {}) {
    this.interned = opts.intern === false ? null : new Map();
  }

  /** Distinct attribute sets seen so far (0 when not interning). */
  get attributeSets(): number {
    return this.interned?.size ?? 0;
  }

  /** Octets consumed: the stream offset of the next record. */
  get offset(): number {
    return this.base + this.pos;
  }

  /** Returns the records completed by `chunk`; throws MrtError for one that cannot be read. */
  push(chunk: Uint8Array): MrtRecord[] {
    const c = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    if (this.pos < this.buf.length) {
      this.base += this.pos;
      this.buf = Buffer.concat([this.buf.subarray(this.pos), c]);
    } else {
      this.base += this.buf.length;
      this.buf = c;
    }
    this.pos = 0;
    const out: MrtRecord[] = [];
    const b = this.buf;
    for (;;) {
      const o = this.pos;
      if (b.length - o < MRT_HEADER_LENGTH) break;
      const length = rd32(b, o + 8);
      const end = o + MRT_HEADER_LENGTH + length;
      if (end > b.length) break;
      out.push(this.record(b, o, end));
      this.pos = end;
    }
    return out;
  }

  /** Throws MrtError when the stream stopped inside a record. */
  end(): void {
    const left = this.buf.length - this.pos;
    if (left === 0) return;
    const at = this.offset;
    if (left < MRT_HEADER_LENGTH) throw new MrtError(`truncated MRT stream: ${left} octet(s) where a 12-octet record header should be`, at);
    const length = rd32(this.buf, this.pos + 8);
    throw new MrtError(`truncated MRT stream: the record needs ${MRT_HEADER_LENGTH + length} octets, ${left} remain`, at);
  }

  private record(b: Buffer, o: number, end: number): MrtRecord {
    const timestamp = rd32(b, o);
    const type = rd16(b, o + 4);
    const subtype = rd16(b, o + 6);
    const body = o + MRT_HEADER_LENGTH;
    if (type === MrtType.TableDumpV2) {
      if (subtype === TableDumpV2Subtype.PeerIndexTable) {
        return { kind: 'peer-index-table', timestamp, table: this.peerIndexTable(b, body, end) };
      }
      const fam = ribFamily(subtype);
      if (fam !== null) return this.rib(b, body, end, timestamp, subtype, fam.afi, fam.addPath);
    }
    return { kind: 'skipped', timestamp, type, subtype, length: end - body, offset: this.base + o };
  }

  private fail(what: string, at: number): never {
    throw new MrtError(what, this.base + at);
  }

  /** RFC 6396 §4.3.1 PEER_INDEX_TABLE. */
  private peerIndexTable(b: Buffer, o: number, end: number): PeerIndexTable {
    const need = (n: number, what: string): void => {
      if (o + n > end) this.fail(`PEER_INDEX_TABLE: ${what} overruns the record`, o);
    };
    need(6, 'collector BGP ID and view name length');
    const collectorBgpId = formatIpv4(b, o);
    const nameLength = rd16(b, o + 4);
    o += 6;
    need(nameLength + 2, 'view name and peer count');
    const viewName = b.toString('utf8', o, o + nameLength);
    o += nameLength;
    const count = rd16(b, o);
    o += 2;
    const peers: MrtPeer[] = new Array<MrtPeer>(count);
    for (let i = 0; i < count; i++) {
      need(1, `peer ${i}`);
      const type = b[o]!;
      const addrLength = (type & PEER_TYPE_IPV6) !== 0 ? 16 : 4;
      const asLength = (type & PEER_TYPE_AS4) !== 0 ? 4 : 2;
      need(1 + 4 + addrLength + asLength, `peer ${i}`);
      const bgpId = formatIpv4(b, o + 1);
      const address = addrLength === 16 ? formatIpv6(b, o + 5) : formatIpv4(b, o + 5);
      const asn = asLength === 4 ? rd32(b, o + 5 + addrLength) : rd16(b, o + 5 + addrLength);
      peers[i] = { bgpId, address, asn };
      o += 1 + 4 + addrLength + asLength;
    }
    if (o !== end) this.fail(`PEER_INDEX_TABLE: ${end - o} octet(s) after the last peer`, o);
    return { collectorBgpId, viewName, peers };
  }

  /** RFC 6396 §4.3.2 AFI/SAFI-specific RIB subtypes; RFC 8050 §4.1 adds a Path Identifier per entry. */
  private rib(b: Buffer, o: number, end: number, timestamp: number, subtype: number, afi: typeof AFI_IPV4 | typeof AFI_IPV6, addPath: boolean): RibRecord {
    const what = `${addPath ? 'ADD-PATH ' : ''}RIB_IPV${afi === AFI_IPV4 ? 4 : 6}_UNICAST`;
    if (o + 5 > end) this.fail(`${what}: sequence number and prefix length overrun the record`, o);
    const sequence = rd32(b, o);
    const len = b[o + 4]!;
    const max = afi === AFI_IPV4 ? 32 : 128;
    if (len > max) this.fail(`${what}: prefix length ${len} exceeds ${max}`, o + 4);
    const n = (len + 7) >>> 3;
    o += 5;
    if (o + n + 2 > end) this.fail(`${what}: prefix /${len} and entry count overrun the record`, o);
    const prefix = formatPrefixAt(b, o, n, len, afi);
    o += n;
    const count = rd16(b, o);
    o += 2;
    const fixed = addPath ? 12 : 8;
    const entries: RibEntry[] = new Array<RibEntry>(count);
    for (let i = 0; i < count; i++) {
      if (o + fixed > end) this.fail(`${what} ${prefix}: entry ${i} of ${count} overruns the record`, o);
      const peerIndex = rd16(b, o);
      const originatedTime = rd32(b, o + 2);
      const pathId = addPath ? rd32(b, o + 6) : undefined;
      const attrLength = rd16(b, o + fixed - 2);
      o += fixed;
      if (o + attrLength > end) this.fail(`${what} ${prefix}: entry ${i} attribute length ${attrLength} overruns the record`, o - 2);
      const attributes = this.attributes(b, o, o + attrLength);
      o += attrLength;
      entries[i] = pathId === undefined ? { peerIndex, originatedTime, attributes } : { peerIndex, originatedTime, pathId, attributes };
    }
    if (o !== end) this.fail(`${what} ${prefix}: ${end - o} octet(s) after the last entry`, o);
    return { kind: 'rib', timestamp, subtype, afi, addPath, sequence, prefix, entries };
  }

  private attributes(b: Buffer, start: number, end: number): RibAttributes {
    if (this.interned === null) return decodeRibAttributes(b, start, end);
    const key = b.toString('latin1', start, end);
    let a = this.interned.get(key);
    if (a === undefined) {
      a = decodeRibAttributes(b, start, end);
      this.interned.set(key, a);
    }
    return a;
  }
}

// Decoding is synchronous: one scratch of each kind serves every call.
const scratch = new Uint8Array(16);
const seenScratch = new Uint8Array(256);

function formatPrefixAt(b: Uint8Array, o: number, n: number, len: number, afi: number): string {
  scratch.fill(0);
  for (let i = 0; i < n; i++) scratch[i] = b[o + i]!;
  // Bits past the length are not part of the prefix (RFC 4271 §4.3 "trailing bits").
  if ((len & 7) !== 0) scratch[n - 1] = scratch[n - 1]! & (0xff << (8 - (len & 7)));
  return `${afi === AFI_IPV4 ? formatIpv4(scratch) : formatIpv6(scratch)}/${len}`;
}

function nextHopsAt(v: Uint8Array, o: number, len: number): string[] | null {
  if (len === 4) return [formatIpv4(v, o)];
  if (len === 16) return [formatIpv6(v, o)];
  if (len === 32) return [formatIpv6(v, o), formatIpv6(v, o + 16)];
  return null;
}

/**
 * RFC 6396 §4.3.4: MP_REACH_NLRI in a RIB entry holds only the next hop length
 * and the next hop. Some writers store the whole attribute (AFI, SAFI, next hop,
 * reserved, no NLRI); that form starts with the AFI's zero high octet where the
 * short form starts with a length of 4, 16 or 32, so both are read.
 */
function mpReachNextHops(v: Uint8Array): string[] | string {
  if (v.length >= 1 && v[0]! + 1 === v.length) return nextHopsAt(v, 1, v[0]!) ?? `MP_REACH_NLRI next hop length ${v[0]}`;
  if (v.length >= 5 && v[0] === 0) {
    const nhLength = v[3]!;
    if (4 + nhLength <= v.length) return nextHopsAt(v, 4, nhLength) ?? `MP_REACH_NLRI next hop length ${nhLength}`;
  }
  return `MP_REACH_NLRI of ${v.length} octets is neither the RFC 6396 §4.3.4 form nor the RFC 4760 one`;
}

/**
 * Decodes the BGP Attributes field of one RIB entry (RFC 6396 §4.3.4) with the
 * codec's descriptors. A value the codec refuses leaves that attribute out and
 * is listed in `problems`; a broken attribute framing stops the walk there.
 */
export function decodeRibAttributes(b: Uint8Array, start: number, end: number): RibAttributes {
  const st: AttrDecodeState = { ctx: RIB_CONTEXT, attrs: {}, ipv4Nlri: true };
  let mpNextHops: readonly string[] = NO_HOPS;
  let problems: string[] | null = null;
  const problem = (text: string): void => {
    (problems ??= []).push(text);
  };
  const seen = seenScratch.fill(0);
  let o = start;
  while (o < end) {
    if (end - o < 3) {
      problem(`${end - o} trailing octet(s) cannot hold an attribute header`);
      break;
    }
    const flags = b[o]!;
    const code = b[o + 1]!;
    const hdr = (flags & 0x10) !== 0 ? 4 : 3;
    if (end - o < hdr) {
      problem(`attribute ${code}: header overruns the attributes`);
      break;
    }
    const length = hdr === 4 ? rd16(b, o + 2) : b[o + 2]!;
    if (o + hdr + length > end) {
      problem(`attribute ${code}: length ${length} overruns the attributes`);
      break;
    }
    const value = b.subarray(o + hdr, o + hdr + length);
    o += hdr + length;
    if (seen[code] !== 0) {
      problem(`attribute ${code} repeated: the first kept`);
      continue;
    }
    seen[code] = 1;
    if (code === AttrCode.MpReachNlri) {
      const hops = mpReachNextHops(value);
      if (typeof hops === 'string') problem(hops);
      else mpNextHops = hops;
      continue;
    }
    const d = ATTRIBUTES[code];
    if (d === undefined) {
      const u: UnknownAttribute = { flags, code, value: copyBytes(value) };
      (st.attrs.unknown ??= []).push(u);
      continue;
    }
    const fault = d.decode(value, st);
    if (fault !== undefined) problem(`${d.name}: ${fault.text}`);
  }
  return { attributes: st.attrs, mpNextHops, problems: problems ?? NO_PROBLEMS };
}
