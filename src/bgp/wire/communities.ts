/**
 * Values of the community attributes that came after RFC 1997: extended
 * communities (RFC 4360), IPv6 address specific extended communities
 * (RFC 5701) and large communities (RFC 8092). Value codecs and the rules the
 * export path needs; the descriptors in attributes.ts frame the attributes and
 * apply RFC 7606.
 */
import type { ExtendedCommunity, LargeCommunity } from './types.js';
import { rd32, wr32 } from './nlri.js';

/** RFC 4360 §2: 8 octets per extended community. */
export const EXTENDED_COMMUNITY_LENGTH = 8;
/** RFC 5701 §2: 20 octets per IPv6 address specific extended community. */
export const IPV6_EXTENDED_COMMUNITY_LENGTH = 20;
/** RFC 8092 §3: 12 octets per large community. */
export const LARGE_COMMUNITY_LENGTH = 12;

/** RFC 4360 §2 (and RFC 5701 §2 for the Type high octet): the T bit, set when the community stays in the AS. */
const NON_TRANSITIVE = 0x40;

/** `v` holds a whole number of 8-octet communities. */
export function readExtendedCommunities(v: Uint8Array): ExtendedCommunity[] {
  const out = new Array<ExtendedCommunity>(v.length >>> 3);
  for (let i = 0; i < out.length; i++) out[i] = [rd32(v, i * 8), rd32(v, i * 8 + 4)];
  return out;
}

export function writeExtendedCommunities(buf: Uint8Array, off: number, list: readonly ExtendedCommunity[]): void {
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    wr32(buf, off + i * 8, c[0]);
    wr32(buf, off + i * 8 + 4, c[1]);
  }
}

/**
 * `v` holds a whole number of 12-octet communities. RFC 8092 §3: a receiver
 * silently removes repeated values; the first occurrence keeps its place.
 */
export function readLargeCommunities(v: Uint8Array): LargeCommunity[] {
  const n = (v.length / LARGE_COMMUNITY_LENGTH) | 0;
  const out: LargeCommunity[] = [];
  const seen = n > SMALL_LIST ? new Set<string>() : null;
  for (let i = 0, o = 0; i < n; i++, o += LARGE_COMMUNITY_LENGTH) {
    const c: LargeCommunity = [rd32(v, o), rd32(v, o + 4), rd32(v, o + 8)];
    if (seen !== null) {
      const key = `${c[0]}:${c[1]}:${c[2]}`;
      if (seen.has(key)) continue;
      seen.add(key);
    } else if (indexOfLarge(out, out.length, c) >= 0) continue;
    out.push(c);
  }
  return out;
}

/**
 * Up to this many large communities are checked for repeats by comparing
 * them pairwise, without a key text each and a Set (made per UPDATE received
 * and sent; issue 10); longer lists by a Set.
 */
const SMALL_LIST = 16;

/** The index of the first of list[0 … end-1] equal to `c`, or -1. */
function indexOfLarge(list: readonly LargeCommunity[], end: number, c: LargeCommunity): number {
  for (let j = 0; j < end; j++) {
    const d = list[j]!;
    if (d[0] === c[0] && d[1] === c[1] && d[2] === c[2]) return j;
  }
  return -1;
}

/**
 * RFC 8092 §3: duplicate values are never sent. Returns `list` itself when it
 * has none (the usual case: everything received was already deduplicated).
 */
export function uniqueLargeCommunities(list: readonly LargeCommunity[]): readonly LargeCommunity[] {
  if (list.length < 2) return list;
  if (list.length <= SMALL_LIST) {
    let out: LargeCommunity[] | null = null;
    for (let i = 1; i < list.length; i++) {
      const c = list[i]!;
      if (indexOfLarge(list, i, c) < 0) out?.push(c);
      else out ??= list.slice(0, i);
    }
    return out ?? list;
  }
  const seen = new Set<string>();
  let out: LargeCommunity[] | null = null;
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    const key = `${c[0]}:${c[1]}:${c[2]}`;
    if (!seen.has(key)) {
      seen.add(key);
      out?.push(c);
    } else {
      out ??= list.slice(0, i);
    }
  }
  return out ?? list;
}

export function writeLargeCommunities(buf: Uint8Array, off: number, list: readonly LargeCommunity[]): void {
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    const o = off + i * LARGE_COMMUNITY_LENGTH;
    wr32(buf, o, c[0]);
    wr32(buf, o + 4, c[1]);
    wr32(buf, o + 8, c[2]);
  }
}

/** RFC 4360 §2: whether the community may leave the AS (T bit clear). */
export function isTransitiveExtendedCommunity(c: ExtendedCommunity): boolean {
  return ((c[0] >>> 24) & NON_TRANSITIVE) === 0;
}

/**
 * RFC 5701 §2 uses the T bit of RFC 4360 in the Type high octet. Returns the
 * communities of `v` that may leave the AS: `v` itself when all may, a copy
 * otherwise (empty when none may).
 */
export function transitiveIpv6ExtendedCommunities(v: Uint8Array): Uint8Array {
  let keep = 0;
  for (let o = 0; o < v.length; o += IPV6_EXTENDED_COMMUNITY_LENGTH) if ((v[o]! & NON_TRANSITIVE) === 0) keep++;
  if (keep * IPV6_EXTENDED_COMMUNITY_LENGTH === v.length) return v;
  const out = new Uint8Array(keep * IPV6_EXTENDED_COMMUNITY_LENGTH);
  let p = 0;
  for (let o = 0; o < v.length; o += IPV6_EXTENDED_COMMUNITY_LENGTH) {
    if ((v[o]! & NON_TRANSITIVE) !== 0) continue;
    out.set(v.subarray(o, o + IPV6_EXTENDED_COMMUNITY_LENGTH), p);
    p += IPV6_EXTENDED_COMMUNITY_LENGTH;
  }
  return out;
}

