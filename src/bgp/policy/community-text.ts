/**
 * The operator's spelling of communities, for policy matches and actions
 * (docs/configuration.md, "Policy"): one syntax for the three kinds, told
 * apart by their shape, with `*` for "any" in a field of a match.
 *
 * - standard (RFC 1997): `65001:100`, `65001:*`, or a well-known name;
 * - large (RFC 8092): `65001:1:2`, `65001:*:*`;
 * - extended (RFC 4360 §4, §5): `rt:65001:100`, `ro:192.0.2.1:7` (or `soo:`), `rt:65001:*`.
 */
import type { ExtendedCommunity, LargeCommunity, PathAttributes } from '#bgp/wire/types';
import { parseIpv4 } from '#lib/prefix';

/** RFC 1997 §3 well-known communities, and those registered since. */
export const WELL_KNOWN_COMMUNITIES: ReadonlyMap<string, number> = new Map([
  ['no-export', 0xffffff01],
  ['no-advertise', 0xffffff02],
  ['no-export-subconfed', 0xffffff03],
  // RFC 3765 §2
  ['no-peer', 0xffffff04],
  // RFC 7999 §5
  ['blackhole', 0xffff029a],
  // RFC 8326 §5
  ['graceful-shutdown', 0xffff0000],
  // RFC 9494 (long-lived graceful restart)
  ['llgr-stale', 0xffff0006],
  ['no-llgr', 0xffff0007],
]);

/** One community (or a pattern of them): value and mask per 32-bit word; mask bits 0 are "any". */
export type CommunityPattern =
  | { readonly kind: 'standard'; readonly value: number; readonly mask: number; readonly text: string }
  | { readonly kind: 'large'; readonly value: LargeCommunity; readonly mask: readonly [number, number, number]; readonly text: string }
  | { readonly kind: 'extended'; readonly value: ExtendedCommunity; readonly mask: readonly [number, number]; readonly text: string };

const U16 = 0xffff;
const U32 = 0xffffffff;

/** `*` (any: mask 0) or a number in 0..max; null when neither. */
function field(s: string, max: number): { v: number; m: number } | null {
  if (s === '*') return { v: 0, m: 0 };
  if (!/^\d{1,10}$/.test(s)) return null;
  const v = Number(s);
  return v <= max ? { v, m: max } : null;
}

/**
 * RFC 4360 §4 (Route Target) and §5 (Route Origin): the sub-type. `soo`
 * (site of origin, FRR's word) is `ro`, and is how `routes` prints it.
 */
const EXTENDED_SUBTYPES: Readonly<Record<string, number>> = { rt: 0x02, ro: 0x03, soo: 0x03 };

/** A community or pattern, or the reason it cannot be read. `wildcards`: whether `*` is allowed (matches and removals). */
export function parseCommunity(text: string, wildcards: boolean): CommunityPattern | string {
  const t = text.trim().toLowerCase();
  const named = WELL_KNOWN_COMMUNITIES.get(t);
  if (named !== undefined) return { kind: 'standard', value: named, mask: U32, text: t };
  const parts = t.split(':');
  if (!wildcards && parts.includes('*')) return `${JSON.stringify(text)}: wildcards (*) only match or remove, they cannot be set`;
  if (parts.length === 2) {
    const a = field(parts[0]!, U16);
    const b = field(parts[1]!, U16);
    if (a === null || b === null) return `${JSON.stringify(text)}: a standard community is ASN:VALUE, both 0..65535 (RFC 1997)`;
    return { kind: 'standard', value: ((a.v << 16) | b.v) >>> 0, mask: ((a.m << 16) | b.m) >>> 0, text: t };
  }
  const sub = EXTENDED_SUBTYPES[parts[0]!];
  if (parts.length === 3 && sub === undefined) {
    const f = parts.map((p) => field(p, U32));
    if (f.some((x) => x === null)) return `${JSON.stringify(text)}: a large community is three numbers 0..4294967295 (RFC 8092)`;
    return { kind: 'large', value: [f[0]!.v, f[1]!.v, f[2]!.v], mask: [f[0]!.m, f[1]!.m, f[2]!.m], text: t };
  }
  if (parts.length === 3 && sub !== undefined) return parseExtended(text, t, sub, parts[1]!, parts[2]!);
  // An IPv4 global administrator has dots, not colons: rt:192.0.2.1:7 splits into three parts, handled above.
  return `${JSON.stringify(text)}: not a community (ASN:VALUE, ASN:A:B, rt:ASN:VALUE, ro:ASN:VALUE, or a well-known name such as no-export)`;
}

/**
 * RFC 4360 §3.1 (two-octet AS specific, type 0x00), §3.2 (IPv4 address
 * specific, 0x01) and RFC 5668 §2 (four-octet AS specific, 0x02): the type
 * follows from the global administrator's size.
 */
function parseExtended(text: string, t: string, sub: number, global: string, local: string): CommunityPattern | string {
  const ip = parseIpv4(global);
  if (ip !== null) {
    const l = field(local, U16);
    if (l === null) return `${JSON.stringify(text)}: with an IPv4 address the local value is 0..65535 (RFC 4360 §3.2)`;
    const addr = ((ip[0]! << 24) | (ip[1]! << 16) | (ip[2]! << 8) | ip[3]!) >>> 0;
    const hi = ((0x01 << 24) | (sub << 16) | (addr >>> 16)) >>> 0;
    const lo = (((addr & U16) << 16) | l.v) >>> 0;
    return { kind: 'extended', value: [hi, lo], mask: [U32, ((U16 << 16) | l.m) >>> 0], text: t };
  }
  if (!/^\d{1,10}$/.test(global) || Number(global) > U32) return `${JSON.stringify(text)}: the global administrator is an ASN or an IPv4 address (RFC 4360 §3)`;
  const asn = Number(global);
  if (asn <= U16) {
    const l = field(local, U32);
    if (l === null) return `${JSON.stringify(text)}: with a two-octet ASN the local value is 0..4294967295 (RFC 4360 §3.1)`;
    return { kind: 'extended', value: [((0x00 << 24) | (sub << 16) | asn) >>> 0, l.v], mask: [U32, l.m], text: t };
  }
  const l = field(local, U16);
  if (l === null) return `${JSON.stringify(text)}: with a four-octet ASN the local value is 0..65535 (RFC 5668 §2)`;
  const hi = ((0x02 << 24) | (sub << 16) | (asn >>> 16)) >>> 0;
  const lo = (((asn & U16) << 16) | l.v) >>> 0;
  return { kind: 'extended', value: [hi, lo], mask: [U32, ((U16 << 16) | l.m) >>> 0], text: t };
}

export function checkCommunity(text: string, wildcards: boolean): string | null {
  const c = parseCommunity(text, wildcards);
  return typeof c === 'string' ? c : null;
}

export function matchesStandard(p: CommunityPattern & { kind: 'standard' }, c: number): boolean {
  return ((c ^ p.value) & p.mask) === 0;
}

export function matchesLarge(p: CommunityPattern & { kind: 'large' }, c: LargeCommunity): boolean {
  return ((c[0] ^ p.value[0]) & p.mask[0]) === 0 && ((c[1] ^ p.value[1]) & p.mask[1]) === 0 && ((c[2] ^ p.value[2]) & p.mask[2]) === 0;
}

export function matchesExtended(p: CommunityPattern & { kind: 'extended' }, c: ExtendedCommunity): boolean {
  return ((c[0] ^ p.value[0]) & p.mask[0]) === 0 && ((c[1] ^ p.value[1]) & p.mask[1]) === 0;
}

/** The community attributes of a list of exact communities (an `announce` entry's), in the order given, without repeats. */
export function communityAttributes(texts: readonly string[]): PathAttributes {
  const out: PathAttributes = {};
  for (const t of texts) {
    const c = parseCommunity(t, false);
    if (typeof c === 'string') throw new Error(c);
    if (c.kind === 'standard') {
      if (!(out.communities ??= []).includes(c.value)) out.communities.push(c.value);
    } else if (c.kind === 'large') {
      const l = (out.largeCommunities ??= []);
      if (!l.some((x) => x[0] === c.value[0] && x[1] === c.value[1] && x[2] === c.value[2])) l.push(c.value);
    } else {
      const e = (out.extendedCommunities ??= []);
      if (!e.some((x) => x[0] === c.value[0] && x[1] === c.value[1])) e.push(c.value);
    }
  }
  return out;
}
