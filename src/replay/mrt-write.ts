/**
 * TABLE_DUMP_V2 writer (RFC 6396 §4.3, RFC 8050 §4): the counterpart of
 * mrt.ts, for test files and the committed sample. Path attributes are encoded
 * by the BGP codec (4-octet AS_PATH, RFC 6396 §4.3.4) and the next hop of a
 * non-IPv4 one is written as the abbreviated MP_REACH_NLRI of RFC 6396 §4.3.4.
 */
import { parseIp, parsePrefix } from '#lib/prefix';
import type { ParsedPrefix } from '#lib/prefix';
import { FLAG_OPTIONAL, MessageType, encodeMessage } from '#bgp/wire/index';
import type { PathAttributes, UpdateMessage } from '#bgp/wire/index';
import { AttrCode } from '#bgp/wire/attributes';
import { rd16, wr16, wr32 } from '#bgp/wire/nlri';
import { AFI_IPV4, AFI_IPV6 } from '#bgp/wire/types';
import { MRT_HEADER_LENGTH, MrtType, PEER_TYPE_AS4, PEER_TYPE_IPV6, TableDumpV2Subtype } from './mrt.js';
import type { MrtPeer, PeerIndexTable } from './mrt.js';
import type { RouteTable } from './table.js';

/** The 12-octet common header (RFC 6396 §2) in front of `body`. */
export function encodeMrtRecord(timestamp: number, type: number, subtype: number, body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(MRT_HEADER_LENGTH + body.length);
  wr32(out, 0, timestamp);
  wr16(out, 4, type);
  wr16(out, 6, subtype);
  wr32(out, 8, body.length);
  out.set(body, MRT_HEADER_LENGTH);
  return out;
}

function ipv4Bytes(s: string, where: string): Uint8Array {
  const ip = parseIp(s);
  if (ip === null || ip.family !== 4) throw new RangeError(`${where}: not an IPv4 address: ${s}`);
  return ip.bytes;
}

/**
 * RFC 6396 §4.3.1 PEER_INDEX_TABLE. Peers get the short forms where they fit
 * (IPv4 address, 2-octet AS), as collectors write them.
 */
export function encodePeerIndexTable(timestamp: number, t: PeerIndexTable): Buffer {
  const name = Buffer.from(t.viewName, 'utf8');
  const parts: Uint8Array[] = [];
  let length = 4 + 2 + name.length + 2;
  for (const p of t.peers) {
    const ip = parseIp(p.address);
    if (ip === null) throw new RangeError(`peer address: not an IP address: ${p.address}`);
    const wide = p.asn > 0xffff;
    const e = new Uint8Array(1 + 4 + ip.bytes.length + (wide ? 4 : 2));
    e[0] = (ip.family === 6 ? PEER_TYPE_IPV6 : 0) | (wide ? PEER_TYPE_AS4 : 0);
    e.set(ipv4Bytes(p.bgpId, 'peer BGP ID'), 1);
    e.set(ip.bytes, 5);
    if (wide) wr32(e, 5 + ip.bytes.length, p.asn);
    else wr16(e, 5 + ip.bytes.length, p.asn);
    parts.push(e);
    length += e.length;
  }
  if (t.peers.length > 0xffff) throw new RangeError(`${t.peers.length} peers do not fit a PEER_INDEX_TABLE`);
  const body = new Uint8Array(length);
  body.set(ipv4Bytes(t.collectorBgpId, 'collector BGP ID'), 0);
  wr16(body, 4, name.length);
  body.set(name, 6);
  let o = 6 + name.length;
  wr16(body, o, t.peers.length);
  o += 2;
  for (const e of parts) {
    body.set(e, o);
    o += e.length;
  }
  return encodeMrtRecord(timestamp, MrtType.TableDumpV2, TableDumpV2Subtype.PeerIndexTable, body);
}

/**
 * The BGP Attributes field of a RIB entry: `attributes` as the codec encodes
 * them on a 4-octet session, with the next hop as NEXT_HOP when it is IPv4 for
 * an IPv4 prefix, otherwise as the abbreviated MP_REACH_NLRI first
 * (RFC 6396 §4.3.4; RFC 7606 §5.1 puts MP_REACH_NLRI first on the wire too).
 */
export function encodeRibAttributes(afi: number, attributes: PathAttributes, nextHops: readonly string[]): Uint8Array {
  const attrs: PathAttributes = { ...attributes };
  delete attrs.nextHop;
  let mp: Uint8Array | null = null;
  const first = nextHops[0];
  if (first !== undefined && afi === AFI_IPV4 && nextHops.length === 1 && parseIp(first)?.family === 4) {
    attrs.nextHop = first;
  } else if (first !== undefined) {
    const hops = nextHops.map((h) => {
      const ip = parseIp(h);
      if (ip === null) throw new RangeError(`next hop: not an IP address: ${h}`);
      return ip.bytes;
    });
    const nhLength = hops.reduce((n, h) => n + h.length, 0);
    mp = new Uint8Array(3 + 1 + nhLength);
    mp[0] = FLAG_OPTIONAL;
    mp[1] = AttrCode.MpReachNlri;
    mp[2] = 1 + nhLength;
    mp[3] = nhLength;
    let o = 4;
    for (const h of hops) {
      mp.set(h, o);
      o += h.length;
    }
  }
  const update: UpdateMessage = { type: MessageType.Update, withdrawn: [], attributes: attrs, nlri: [] };
  const msg = encodeMessage(update, { fourOctetAs: true });
  // RFC 4271 §4.3: header (19), Withdrawn Routes Length (2, here 0), Total Path Attribute Length.
  const attrLength = rd16(msg, 21);
  const coded = msg.subarray(23, 23 + attrLength);
  if (mp === null) return new Uint8Array(coded);
  const out = new Uint8Array(mp.length + coded.length);
  out.set(mp, 0);
  out.set(coded, mp.length);
  return out;
}

export interface RibEntryInput {
  peerIndex: number;
  originatedTime: number;
  /** Required in the ADD-PATH subtypes (RFC 8050 §4.1), refused otherwise. */
  pathId?: number;
  /** Encoded BGP Attributes field (encodeRibAttributes). */
  attributes: Uint8Array;
}

/**
 * One RIB_IPV4_UNICAST / RIB_IPV6_UNICAST record (RFC 6396 §4.3.2), or the
 * ADD-PATH subtype of RFC 8050 §4.1 when `addPath`.
 */
export function encodeRibRecord(timestamp: number, sequence: number, prefix: string, entries: readonly RibEntryInput[], addPath = false): Buffer {
  const p = parsePrefix(prefix);
  if (p === null) throw new RangeError(`not a canonical prefix: ${prefix}`);
  const subtype =
    p.family === 4
      ? addPath ? TableDumpV2Subtype.RibIpv4UnicastAddPath : TableDumpV2Subtype.RibIpv4Unicast
      : addPath ? TableDumpV2Subtype.RibIpv6UnicastAddPath : TableDumpV2Subtype.RibIpv6Unicast;
  const n = (p.len + 7) >>> 3;
  const fixed = addPath ? 12 : 8;
  let length = 4 + 1 + n + 2;
  for (const e of entries) length += fixed + e.attributes.length;
  const body = new Uint8Array(length);
  wr32(body, 0, sequence);
  body[4] = p.len;
  body.set(p.bytes.subarray(0, n), 5);
  let o = 5 + n;
  wr16(body, o, entries.length);
  o += 2;
  for (const e of entries) {
    if (addPath !== (e.pathId !== undefined)) throw new RangeError(addPath ? 'ADD-PATH entries need a pathId' : 'pathId is only for ADD-PATH records');
    wr16(body, o, e.peerIndex);
    wr32(body, o + 2, e.originatedTime);
    if (e.pathId !== undefined) wr32(body, o + 6, e.pathId);
    wr16(body, o + fixed - 2, e.attributes.length);
    body.set(e.attributes, o + fixed);
    o += fixed + e.attributes.length;
  }
  return encodeMrtRecord(timestamp, MrtType.TableDumpV2, subtype, body);
}

export interface DumpPeer {
  peer: MrtPeer;
  table: RouteTable;
  /** Written as NEXT_HOP (IPv4 routes) and as the abbreviated MP_REACH_NLRI (IPv6 routes). */
  nextHop4: string;
  nextHop6: readonly string[];
  originatedTime: number;
}

export interface TableDumpInput {
  timestamp: number;
  collectorBgpId: string;
  viewName: string;
  peers: readonly DumpPeer[];
}

function comparePrefixes(a: ParsedPrefix, b: ParsedPrefix): number {
  if (a.family !== b.family) return a.family - b.family;
  for (let i = 0; i < a.bytes.length; i++) if (a.bytes[i] !== b.bytes[i]) return a.bytes[i]! - b.bytes[i]!;
  return a.len - b.len;
}

/**
 * A whole TABLE_DUMP_V2 dump as a collector writes one (RFC 6396 §4.3): the
 * PEER_INDEX_TABLE, then one RIB record per prefix in address order (IPv4
 * first) with one entry per peer that has it, in peer order.
 */
export function encodeTableDump(d: TableDumpInput): Buffer[] {
  const out: Buffer[] = [
    encodePeerIndexTable(d.timestamp, { collectorBgpId: d.collectorBgpId, viewName: d.viewName, peers: d.peers.map((p) => p.peer) }),
  ];
  const byPrefix = new Map<string, RibEntryInput[]>();
  d.peers.forEach((p, peerIndex) => {
    for (const g of p.table.groups) {
      const families = [
        [AFI_IPV4, g.ipv4, [p.nextHop4]],
        [AFI_IPV6, g.ipv6, p.nextHop6],
      ] as const;
      for (const [afi, prefixes, hops] of families) {
        if (prefixes.length === 0) continue;
        const attributes = encodeRibAttributes(afi, g.attributes, hops);
        for (const prefix of prefixes) {
          let entries = byPrefix.get(prefix);
          if (entries === undefined) byPrefix.set(prefix, (entries = []));
          entries.push({ peerIndex, originatedTime: p.originatedTime, attributes });
        }
      }
    }
  });
  const prefixes = [...byPrefix.keys()].map((s) => ({ s, p: parsePrefix(s)! }));
  prefixes.sort((a, b) => comparePrefixes(a.p, b.p));
  let sequence = 0;
  for (const { s } of prefixes) out.push(encodeRibRecord(d.timestamp, sequence++, s, byPrefix.get(s)!));
  return out;
}
