/**
 * A route table to replay: prefixes grouped by their shared path attributes, as
 * a speaker's Adj-RIB-Out would send them (one attribute set, many prefixes per
 * UPDATE). Next hops are not part of a group: the feeder sets its own, as an
 * eBGP speaker does (RFC 4271 §5.1.3).
 */
import type { PathAttributes } from '#bgp/wire/types';
import { readMrtFile } from './mrt-file.js';
import type { MrtPeer, RibAttributes } from './mrt.js';

export interface RouteGroup {
  /** Without NEXT_HOP. */
  attributes: PathAttributes;
  /** Canonical prefix strings, no duplicates within the table. */
  ipv4: string[];
  ipv6: string[];
}

export interface RouteTable {
  groups: RouteGroup[];
}

export function tableSize(t: RouteTable): { ipv4: number; ipv6: number } {
  let ipv4 = 0;
  let ipv6 = 0;
  for (const g of t.groups) {
    ipv4 += g.ipv4.length;
    ipv6 += g.ipv6.length;
  }
  return { ipv4, ipv6 };
}

/** Prefix -> attributes, for comparisons in tests and checks. */
export function tableRoutes(t: RouteTable): Map<string, PathAttributes> {
  const m = new Map<string, PathAttributes>();
  for (const g of t.groups) {
    for (const p of g.ipv4) m.set(p, g.attributes);
    for (const p of g.ipv6) m.set(p, g.attributes);
  }
  return m;
}

export interface MrtTableOptions {
  /** Index into the PEER_INDEX_TABLE whose routes to take (default 0). */
  peerIndex?: number;
}

export interface MrtTable {
  table: RouteTable;
  peer: MrtPeer | undefined;
  /** Prefixes of that peer whose attributes the codec partly refused (they are sent without the refused ones). */
  withProblems: number;
  /** Records of other types or subtypes passed over. */
  skipped: number;
}

/**
 * The routes one peer of a TABLE_DUMP_V2 file had (RFC 6396 §4.3), grouped by
 * attribute set. With ADD-PATH subtypes (RFC 8050) the peer's first path per
 * prefix is taken.
 */
export async function tableFromMrt(path: string, opts: MrtTableOptions = {}): Promise<MrtTable> {
  const want = opts.peerIndex ?? 0;
  const groups = new Map<RibAttributes, RouteGroup>();
  let peer: MrtPeer | undefined;
  let withProblems = 0;
  let skipped = 0;
  let sawPeers = false;
  for await (const r of readMrtFile(path)) {
    if (r.kind === 'peer-index-table') {
      sawPeers = true;
      peer = r.table.peers[want];
      if (peer === undefined) throw new RangeError(`${path}: peer index ${want} is not in its PEER_INDEX_TABLE of ${r.table.peers.length} peers`);
      continue;
    }
    if (r.kind === 'skipped') {
      skipped++;
      continue;
    }
    // RFC 6396 §4.3: the PEER_INDEX_TABLE precedes the RIB records that refer to it.
    if (!sawPeers) throw new RangeError(`${path}: RIB record before any PEER_INDEX_TABLE`);
    const e = r.entries.find((x) => x.peerIndex === want);
    if (e === undefined) continue;
    let g = groups.get(e.attributes);
    if (g === undefined) {
      const attributes = { ...e.attributes.attributes };
      delete attributes.nextHop;
      g = { attributes, ipv4: [], ipv6: [] };
      groups.set(e.attributes, g);
    }
    if (e.attributes.problems.length > 0) withProblems++;
    (r.afi === 1 ? g.ipv4 : g.ipv6).push(r.prefix);
  }
  return { table: { groups: [...groups.values()] }, peer, withProblems, skipped };
}
