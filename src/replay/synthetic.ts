/**
 * A synthetic full table shaped like today's Internet table, deterministic from
 * a seed: prefix lengths, AS-path lengths, shared attribute sets, communities.
 *
 * Sources for the shape (figures read in 2025, not copied data):
 * - IPv4: bgp.potaroo.net/as2.0/bgp-active.html (Nov 2025): 1,036,829 FIB
 *   entries, average prefix length 22.93. /24 is the majority of all prefixes
 *   (RIPE Labs, "Visibility of prefix lengths in IPv4 and IPv6", 2019), then
 *   /22, /23, /20, /21, /19, /16. The shares below are set so that the mean is
 *   22.92.
 * - IPv6: bgp.potaroo.net/v6/as2.0/ (Apr 2025): 222,878 FIB entries, average
 *   prefix length 42.87; /48 and /32 dominate (RIPE Labs 2019), then /44, /40,
 *   /36. The shares below give a mean of 42.98.
 * - AS paths: the APNIC "Routing Table Report" gives an average AS path length
 *   around 4-5 with a maximum in the teens; prepending lengthens a minority of
 *   paths (RIPE Labs, "Update on AS path lengths over time", 2012).
 * - Attribute sets: routes from one peer share a few tens of thousands of sets
 *   per million prefixes, the most common set carrying thousands of prefixes.
 */
import { formatIpv4, formatIpv6 } from '#lib/prefix';
import { AsPathSegmentType, Origin } from '#bgp/wire/types';
import type { LargeCommunity, PathAttributes } from '#bgp/wire/types';
import type { RouteGroup, RouteTable } from './table.js';

/** [prefix length, share in %] of IPv4 unicast prefixes. */
export const IPV4_LENGTHS: readonly (readonly [number, number])[] = [
  [8, 0.002], [9, 0.001], [10, 0.003], [11, 0.01], [12, 0.03], [13, 0.07], [14, 0.12], [15, 0.2],
  [16, 1.3], [17, 0.8], [18, 1.3], [19, 2.3], [20, 5.3], [21, 4.6], [22, 11.5], [23, 10.5], [24, 61.964],
];

/** [prefix length, share in %] of IPv6 unicast prefixes. */
export const IPV6_LENGTHS: readonly (readonly [number, number])[] = [
  [24, 0.05], [28, 0.4], [29, 2.5], [30, 0.5], [31, 0.5], [32, 12], [33, 1.2], [34, 1], [35, 0.8], [36, 3.5],
  [37, 0.5], [38, 1], [39, 0.8], [40, 8], [41, 0.6], [42, 1.5], [43, 0.6], [44, 9], [45, 1.5], [46, 3], [47, 2.5], [48, 48.55],
];

/** [distinct ASNs in the path, share in %], the feeder's own AS not counted (it prepends itself). */
export const AS_PATH_HOPS: readonly (readonly [number, number])[] = [
  [1, 2], [2, 16], [3, 33], [4, 26], [5, 13], [6, 6], [7, 2.5], [8, 1], [9, 0.3], [10, 0.2],
];

/** Longest path generated, prepends included (the feeder adds one more). */
export const MAX_PATH_LENGTH = 15;

export interface SyntheticOptions {
  ipv4: number;
  ipv6: number;
  seed?: number;
  /** Distinct attribute sets to draw from (default: one per 50 prefixes, at least 8). */
  attributeSets?: number;
}

/** Weyl sequence through a 32-bit integer finalizer: small, fast, deterministic. */
export class Random {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  u32(): number {
    this.s = (this.s + 0x9e3779b9) >>> 0;
    let z = this.s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** [0, 1) */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** [0, n) */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  chance(p: number): boolean {
    return this.float() < p;
  }
}

/** Draws from a [value, weight] histogram. */
class Histogram {
  private readonly values: number[];
  private readonly cumulative: number[];

  constructor(table: readonly (readonly [number, number])[]) {
    this.values = table.map(([v]) => v);
    let sum = 0;
    this.cumulative = table.map(([, w]) => (sum += w));
  }

  draw(r: Random): number {
    const x = r.float() * this.cumulative[this.cumulative.length - 1]!;
    for (let i = 0; i < this.cumulative.length; i++) if (x < this.cumulative[i]!) return this.values[i]!;
    return this.values[this.values.length - 1]!;
  }
}

/** A public-looking ASN: 2-octet outside the reserved and private ranges, or 4-octet (RFC 6793) from the allocated range. */
function publicAsn(r: Random): number {
  if (r.chance(0.45)) return 131072 + r.int(270000);
  for (;;) {
    const a = 1 + r.int(64495);
    // AS_TRANS (RFC 6793) and the documentation range (RFC 5398) are never on a path.
    if (a !== 23456 && (a < 64496 || a > 64511)) return a;
  }
}

/** Transit ASNs near the top of paths come from a small pool, as in the real table. */
function asnPool(r: Random, n: number, twoOctetOnly: boolean): number[] {
  const out = new Set<number>();
  while (out.size < n) {
    const a = publicAsn(r);
    if (!twoOctetOnly || a <= 0xffff) out.add(a);
  }
  return [...out];
}

function pick<T>(r: Random, a: readonly T[]): T {
  return a[r.int(a.length)]!;
}

function attributeSet(r: Random, hops: Histogram, tier1: number[], transit: number[]): PathAttributes {
  const n = hops.draw(r);
  const path: number[] = [];
  if (n >= 2) path.push(pick(r, tier1));
  while (path.length < n - 1) path.push(pick(r, transit));
  path.push(publicAsn(r));
  // Prepending: mostly by the origin, once or a few times; a long tail to MAX_PATH_LENGTH.
  if (r.chance(0.14)) {
    const extra = r.chance(0.15) ? 4 + r.int(8) : 1 + r.int(3);
    const origin = path[path.length - 1]!;
    for (let i = 0; i < extra && path.length < MAX_PATH_LENGTH; i++) path.push(origin);
  }
  const attrs: PathAttributes = {
    origin: r.chance(0.87) ? Origin.Igp : Origin.Incomplete,
    asPath: [{ type: AsPathSegmentType.AsSequence, asns: path }],
  };
  if (r.chance(0.3)) attrs.med = r.int(1001);
  if (r.chance(0.03)) {
    attrs.atomicAggregate = true;
    attrs.aggregator = { asn: path[path.length - 1]!, address: `${1 + r.int(223)}.${r.int(256)}.${r.int(256)}.${1 + r.int(254)}` };
  }
  if (r.chance(0.55)) {
    // Standard communities (RFC 1997) are ASN:value with a 2-octet ASN; never the well-known 0xFFFF range.
    const first = path[0]!;
    const asn = first <= 0xffff ? first : pick(r, transit.filter((a) => a <= 0xffff).concat([174]));
    const k = 1 + r.int(6);
    const set = new Set<number>();
    while (set.size < k) set.add(((asn << 16) | (r.chance(0.5) ? r.int(1000) : 1000 + r.int(64535))) >>> 0);
    attrs.communities = [...set].sort((a, b) => a - b);
  }
  if (r.chance(0.2)) {
    // RFC 8092 large communities: the origin's ASN as Global Administrator.
    const k = 1 + r.int(3);
    const large: LargeCommunity[] = [];
    for (let i = 0; i < k; i++) large.push([path[0]!, 1 + r.int(20), r.int(100000)]);
    attrs.largeCommunities = large;
  }
  return attrs;
}

/**
 * First octets never generated: "this network", private, CGN, loopback,
 * link-local, 172.16/12, 192.168/16, benchmarking and test nets (RFC 6890);
 * and 10/8 and 198/8, which the labs use for their own links.
 */
const V4_EXCLUDED = new Set([0, 10, 100, 127, 169, 172, 192, 198]);

function ipv4Prefixes(r: Random, n: number): string[] {
  const lengths = new Histogram(IPV4_LENGTHS);
  const seen = new Set<number>();
  const out: string[] = [];
  const b = new Uint8Array(4);
  while (out.length < n) {
    const len = lengths.draw(r);
    let first = 1 + r.int(223);
    while (V4_EXCLUDED.has(first)) first = 1 + r.int(223);
    const addr = (((first << 24) | (r.u32() & 0xffffff)) & (len === 0 ? 0 : ~0 << (32 - len))) >>> 0;
    const key = addr * 64 + len;
    if (seen.has(key)) continue;
    seen.add(key);
    b[0] = addr >>> 24;
    b[1] = (addr >>> 16) & 0xff;
    b[2] = (addr >>> 8) & 0xff;
    b[3] = addr & 0xff;
    out.push(`${formatIpv4(b)}/${len}`);
  }
  return out;
}

/** Global unicast 2000::/3, never 2001:db8::/32 (documentation, RFC 3849: the labs use it). */
function ipv6Prefixes(r: Random, n: number): string[] {
  const lengths = new Histogram(IPV6_LENGTHS);
  const seen = new Set<string>();
  const out: string[] = [];
  const b = new Uint8Array(16);
  while (out.length < n) {
    const len = lengths.draw(r);
    const hi = ((0x2000_0000 | (r.u32() & 0x1fff_ffff)) & ~0 << Math.max(0, 32 - len)) >>> 0;
    const lo = len <= 32 ? 0 : (r.u32() & (~0 << (64 - len))) >>> 0;
    if (hi >>> 16 === 0x2001 && (hi & 0xffff) === 0x0db8) continue;
    b.fill(0);
    b[0] = hi >>> 24;
    b[1] = (hi >>> 16) & 0xff;
    b[2] = (hi >>> 8) & 0xff;
    b[3] = hi & 0xff;
    b[4] = lo >>> 24;
    b[5] = (lo >>> 16) & 0xff;
    b[6] = (lo >>> 8) & 0xff;
    b[7] = lo & 0xff;
    const p = `${formatIpv6(b)}/${len}`;
    if (seen.has(p)) continue;
    seen.add(p);
    out.push(p);
  }
  return out;
}

/**
 * The table. Prefixes are drawn per family, then spread over the attribute
 * sets with a heavy head (index = pool * u^3): a few sets carry thousands of
 * prefixes, most carry a handful, as in a real Adj-RIB-In.
 */
export function syntheticTable(o: SyntheticOptions): RouteTable {
  const r = new Random(o.seed ?? 1);
  const total = o.ipv4 + o.ipv6;
  const poolSize = Math.max(1, Math.min(total, o.attributeSets ?? Math.max(8, Math.round(total / 50))));
  const hops = new Histogram(AS_PATH_HOPS);
  const tier1 = asnPool(r, 16, true);
  const transit = asnPool(r, 400, false);
  const sets: RouteGroup[] = [];
  for (let i = 0; i < poolSize; i++) sets.push({ attributes: attributeSet(r, hops, tier1, transit), ipv4: [], ipv6: [] });
  const spread = (prefixes: string[], family: 'ipv4' | 'ipv6'): void => {
    for (const p of prefixes) {
      const u = r.float();
      sets[Math.floor(poolSize * u * u * u)]![family].push(p);
    }
  };
  spread(ipv4Prefixes(r, o.ipv4), 'ipv4');
  spread(ipv6Prefixes(r, o.ipv6), 'ipv6');
  return { groups: sets.filter((g) => g.ipv4.length + g.ipv6.length > 0) };
}

/** IPv6 share of a full table: 222,878 of 1,259,707 prefixes (the two potaroo reports above). */
export const IPV6_SHARE = 0.177;

/**
 * "synthetic:N" (N prefixes split between the families as today's tables are),
 * "synthetic:N4,N6" (explicit), either with "@SEED".
 */
export function parseSyntheticSpec(spec: string): SyntheticOptions | null {
  const m = /^synthetic:(\d+)(?:,(\d+))?(?:@(\d+))?$/.exec(spec);
  if (m === null) return null;
  const n = Number(m[1]);
  const [ipv4, ipv6] = m[2] === undefined ? [n - Math.round(n * IPV6_SHARE), Math.round(n * IPV6_SHARE)] : [n, Number(m[2])];
  return { ipv4, ipv6, seed: m[3] === undefined ? 1 : Number(m[3]) };
}
