/**
 * Import policy: which received paths may become candidates (RFC 4271 §9.1.1,
 * §9.1.2). Small pure functions, so operator-defined policies can be added in
 * front of or after them later. A rejected path stays in the Adj-RIB-In (it
 * was received) but is not eligible for the decision process.
 *
 * The Rib calls importAttributes once per UPDATE (every NLRI of an UPDATE
 * shares its attributes) and importPrefix once per prefix; importRoute is the
 * same verdict for a single path.
 */
import type { PathAttributes } from '#bgp/wire/types';
import { formatIp, isLinkLocalV6, parseIp } from '#lib/prefix';
import { BoundedCache } from '#lib/bounded-cache';
import type { PeerInfo, Route } from '#bgp/rib/types';
import { localRoleOf, otcIngress } from './roles.js';
import { PREFIX_V6, readPrefix } from './prefix-set.js';

/** 'role-leak': RFC 9234 §5, a route leak told by its OTC attribute. */
export type ImportRejectReason = 'as-path-loop' | 'next-hop-self' | 'martian' | 'role-leak';

export interface ImportContext {
  readonly localAsn: number;
  /** The peer the path came from (for operator policies keyed on the neighbor). */
  readonly peer: PeerInfo;
  /**
   * Our own global addresses, canonical text (see canonicalAddress). Link-local
   * addresses are scoped to their link, so only the session's own
   * (peer.localLinkLocal) counts as ours for a link-local next hop.
   */
  readonly ownAddresses: { has(address: string): boolean };
}

export type ImportVerdict =
  | { readonly accept: true; readonly attrs: PathAttributes }
  | { readonly accept: false; readonly reason: ImportRejectReason };

/** Checks that depend on the attributes and next hop only. */
export function importAttributes(ctx: ImportContext, attrs: PathAttributes, nextHop: string | null): ImportVerdict {
  // RFC 4271 §9.1.2: a path carrying our own AS is a loop (AS_SET members included).
  const path = attrs.asPath;
  if (path !== undefined) {
    for (let i = 0; i < path.length; i++) if (path[i]!.asns.includes(ctx.localAsn)) return { accept: false, reason: 'as-path-loop' };
  }
  // A next hop that is one of our own addresses would forward to ourselves.
  if (nextHop !== null && isOwnAddress(ctx, nextHop)) return { accept: false, reason: 'next-hop-self' };
  const role = localRoleOf(ctx.peer, ctx.localAsn);
  if (role !== undefined) {
    const kept = otcIngress(role, attrs, ctx.peer.asn);
    return kept === null ? { accept: false, reason: 'role-leak' } : { accept: true, attrs: kept };
  }
  return { accept: true, attrs };
}

/** Checks that depend on the prefix only. */
export function importPrefix(_ctx: ImportContext, prefix: string): ImportRejectReason | null {
  return isMartian(prefix) ? 'martian' : null;
}

/**
 * importPrefix for a prefix given as its words (big-endian 32-bit, w1-w3 for
 * IPv6 only), as the RIB keeps received prefixes: no text is made for it.
 */
export function importPrefixWords(_ctx: ImportContext, v6: boolean, len: number, w0: number, w1: number, w2: number, w3: number): ImportRejectReason | null {
  return isMartianWords(v6, len, w0, w1, w2, w3) ? 'martian' : null;
}

export function importRoute(ctx: ImportContext, route: Pick<Route, 'prefix' | 'attrs' | 'nextHop'>): ImportVerdict {
  const v = importAttributes(ctx, route.attrs, route.nextHop);
  if (!v.accept) return v;
  const reason = importPrefix(ctx, route.prefix);
  return reason === null ? v : { accept: false, reason };
}

const textWords = new Uint32Array(4);

/**
 * Prefixes that can never be routed between sites: inside 127.0.0.0/8
 * (loopback), 224.0.0.0/4 (multicast), ::1/128, ff00::/8 (multicast) and
 * fe80::/10 (link-local). Covering aggregates (0.0.0.0/0, 0.0.0.0/1) and the
 * default route are legitimate. An unreadable text is no martian.
 */
export function isMartian(prefix: string): boolean {
  const r = readPrefix(prefix, textWords);
  if (r < 0) return false;
  return isMartianWords((r & PREFIX_V6) !== 0, r & 0xff, textWords[0]!, textWords[1]!, textWords[2]!, textWords[3]!);
}

/** isMartian of a prefix given as its words (big-endian 32-bit, signed or not). */
export function isMartianWords(v6: boolean, len: number, w0: number, w1: number, w2: number, w3: number): boolean {
  if (v6) {
    if (len === 128 && w0 === 0 && w1 === 0 && w2 === 0 && w3 === 1) return true;
    const g = w0 >>> 16;
    if (g >>> 8 === 0xff) return len >= 8;
    if ((g & 0xffc0) === 0xfe80) return len >= 10;
    return false;
  }
  const first = w0 >>> 24;
  if (first === 127) return len >= 8;
  if (first >= 224 && first <= 239) return len >= 4;
  return false;
}

/**
 * Received next hops by text: canonical text and whether link-local, or null
 * when unreadable. A peer's UPDATEs carry one next hop, parsed and formatted
 * again per UPDATE before (issue 10: 1 % of the agent's CPU with ten peers).
 * Bounded: emptied when full.
 */
const readNextHops = new BoundedCache<string, { readonly text: string; readonly linkLocal: boolean } | null>(1024);

function readNextHop(address: string): { readonly text: string; readonly linkLocal: boolean } | null {
  let read = readNextHops.get(address);
  if (read === undefined) {
    const ip = parseIp(address);
    read = readNextHops.set(address, ip === null ? null : { text: formatIp(ip.bytes), linkLocal: isLinkLocalV6(ip.bytes) });
  }
  return read;
}

function isOwnAddress(ctx: ImportContext, address: string): boolean {
  const read = readNextHop(address);
  if (read === null) return false;
  if (!read.linkLocal) return ctx.ownAddresses.has(read.text);
  const ours = ctx.peer.localLinkLocal === null ? null : canonicalAddress(ctx.peer.localLinkLocal);
  return ours === read.text;
}

/** RFC 5952 / dotted-quad text of an address, or null when unreadable. */
export function canonicalAddress(address: string): string | null {
  const ip = parseIp(address);
  return ip ? formatIp(ip.bytes) : null;
}
