/**
 * Encoded size of UPDATE messages, computed from the decoded form so the
 * Adj-RIB-Out can pack NLRI up to the RFC 4271 §4 limit of 4096 octets
 * without a codec. Every figure is exact or an upper bound: where the wire
 * form depends on the session (2-octet AS sessions add AS4_PATH and
 * AS4_AGGREGATOR, RFC 6793 §4.2.2) or on the encoder's choice of the
 * Extended Length bit, the larger size is taken.
 */
import type { AsPathSegment, MpReach, MpUnreach, PathAttributes, UpdateMessage } from '#bgp/wire/types';
import { prefixLengthOf } from '#lib/prefix';

/** RFC 4271 §4.1: maximum message size; UPDATEs are packed to it even where RFC 8654 extended messages were negotiated. */
export const MAX_MESSAGE_SIZE = 4096;
/** RFC 4271 §4.1 header: marker 16, length 2, type 1. */
export const HEADER_SIZE = 19;
/** Header plus Withdrawn Routes Length (2) and Total Path Attribute Length (2), RFC 4271 §4.3. */
export const UPDATE_FIXED_SIZE = HEADER_SIZE + 4;
/** Attribute header when the Extended Length bit may be used: flags, type, 2-octet length. */
export const MAX_ATTR_HEADER = 4;
/** MP_REACH_NLRI value before next hops and NLRI: AFI 2, SAFI 1, next-hop length 1, reserved 1 (RFC 4760 §3). */
export const MP_REACH_FIXED = 5;
/** MP_UNREACH_NLRI value before the withdrawn routes: AFI 2, SAFI 1 (RFC 4760 §4). */
export const MP_UNREACH_FIXED = 3;

/** RFC 7911 §3: the Path Identifier before each prefix on an ADD-PATH session. */
export const PATH_ID_SIZE = 4;

/** RFC 4271 §4.3: one length octet, then the prefix in ceil(len / 8) octets. */
export function prefixSize(prefix: string): number {
  return 1 + ((prefixLengthOf(prefix) + 7) >> 3);
}

export function prefixesSize(prefixes: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < prefixes.length; i++) n += prefixSize(prefixes[i]!);
  return n;
}

/** One attribute: header (3, or 4 with the Extended Length bit past 255 octets) plus value. */
function attr(valueLen: number): number {
  return (valueLen > 255 ? 4 : 3) + valueLen;
}

/** Size of a next hop in MP_REACH: 4 per IPv4 address, 16 per IPv6 address. */
export function nextHopsSize(nextHops: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < nextHops.length; i++) n += nextHops[i]!.includes(':') ? 16 : 4;
  return n;
}

/** All path attributes of `a` (not MP_REACH/MP_UNREACH, which live on the message). */
export function attributesSize(a: PathAttributes): number {
  let n = 0;
  if (a.origin !== undefined) n += attr(1);
  if (a.asPath !== undefined) n += asPathSize(a.asPath);
  if (a.nextHop !== undefined) n += attr(4);
  if (a.med !== undefined) n += attr(4);
  if (a.localPref !== undefined) n += attr(4);
  if (a.atomicAggregate) n += attr(0);
  if (a.aggregator !== undefined) n += a.aggregator.asn > 0xffff ? attr(6) + attr(8) : attr(8);
  if (a.communities !== undefined) n += attr(4 * a.communities.length);
  if (a.extendedCommunities !== undefined) n += attr(8 * a.extendedCommunities.length);
  if (a.ipv6ExtendedCommunities !== undefined) n += attr(a.ipv6ExtendedCommunities.length);
  if (a.largeCommunities !== undefined) n += attr(12 * a.largeCommunities.length);
  if (a.otc !== undefined) n += attr(4);
  // Indexed: `a.unknown ?? []` and its iterator were an allocation per call (per exported prefix and peer).
  const unknown = a.unknown;
  if (unknown !== undefined) for (let i = 0; i < unknown.length; i++) n += attr(unknown[i]!.value.length);
  return n;
}

/**
 * AS_PATH: the larger of the 4-octet form and the 2-octet form plus AS4_PATH
 * (needed only when some ASN does not fit 2 octets). Segments longer than 255
 * ASNs are split by the encoder, one segment header each.
 */
function asPathSize(path: readonly AsPathSegment[]): number {
  let headers = 0;
  let asns = 0;
  let wide = false;
  // Indexed loops: the iterators were allocations per exported prefix and peer (issue 10).
  for (let i = 0; i < path.length; i++) {
    const s = path[i]!;
    headers += Math.max(1, Math.ceil(s.asns.length / 255));
    asns += s.asns.length;
    if (!wide) for (let k = 0; k < s.asns.length; k++) if (s.asns[k]! > 0xffff) wide = true;
  }
  const four = attr(2 * headers + 4 * asns);
  if (!wide) return four;
  const two = attr(2 * headers + 2 * asns);
  return Math.max(four, two + four);
}

/** Path Identifiers written for a field: one per prefix when the message carries them. */
function pathIdsSize(ids: readonly number[] | undefined, count: number): number {
  return ids !== undefined ? PATH_ID_SIZE * count : 0;
}

export function mpReachSize(m: MpReach): number {
  return MAX_ATTR_HEADER + MP_REACH_FIXED + nextHopsSize(m.nextHops) + prefixesSize(m.nlri) + pathIdsSize(m.pathIds, m.nlri.length);
}

export function mpUnreachSize(m: MpUnreach): number {
  return MAX_ATTR_HEADER + MP_UNREACH_FIXED + prefixesSize(m.withdrawn) + pathIdsSize(m.pathIds, m.withdrawn.length);
}

/** Upper bound of the encoded UPDATE, header included (Path Identifiers where the message has them). */
export function updateSize(u: UpdateMessage): number {
  let n = UPDATE_FIXED_SIZE + prefixesSize(u.withdrawn) + attributesSize(u.attributes) + prefixesSize(u.nlri);
  n += pathIdsSize(u.withdrawnPathIds, u.withdrawn.length) + pathIdsSize(u.nlriPathIds, u.nlri.length);
  if (u.mpReach !== undefined) n += mpReachSize(u.mpReach);
  if (u.mpUnreach !== undefined) n += mpUnreachSize(u.mpUnreach);
  return n;
}
