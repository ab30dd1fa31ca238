/** The synthetic full table: shaped like today's Internet table, deterministic, no duplicates. */
import { describe, expect, it } from 'vitest';
import { AS_PATH_HOPS, IPV4_LENGTHS, IPV6_LENGTHS, MAX_PATH_LENGTH, parseSyntheticSpec, syntheticTable } from '#replay/synthetic';
import { tableSize } from '#replay/table';

const N4 = 100_000;
const N6 = 20_000;
const table = syntheticTable({ ipv4: N4, ipv6: N6, seed: 7 });

function lengthShares(prefixes: string[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const p of prefixes) {
    const len = Number(p.slice(p.indexOf('/') + 1));
    m.set(len, (m.get(len) ?? 0) + 1);
  }
  for (const [k, v] of m) m.set(k, (100 * v) / prefixes.length);
  return m;
}

const mean = (t: readonly (readonly [number, number])[]): number => t.reduce((s, [v, w]) => s + v * w, 0) / t.reduce((s, [, w]) => s + w, 0);

describe('synthetic table', () => {
  it('holds exactly the prefixes asked for, none twice', () => {
    expect(tableSize(table)).toEqual({ ipv4: N4, ipv6: N6 });
    const all = table.groups.flatMap((g) => [...g.ipv4, ...g.ipv6]);
    expect(new Set(all).size).toBe(N4 + N6);
  });

  it('is the same table for the same seed, another for another seed', () => {
    const a = syntheticTable({ ipv4: 2000, ipv6: 500, seed: 3 });
    expect(syntheticTable({ ipv4: 2000, ipv6: 500, seed: 3 })).toEqual(a);
    expect(syntheticTable({ ipv4: 2000, ipv6: 500, seed: 4 })).not.toEqual(a);
  });

  it('the histograms have the published means (IPv4 22.93, IPv6 42.87) and /24 and /48 lead', () => {
    expect(mean(IPV4_LENGTHS)).toBeCloseTo(22.93, 1);
    expect(mean(IPV6_LENGTHS)).toBeCloseTo(42.9, 0);
    const v4 = lengthShares(table.groups.flatMap((g) => g.ipv4));
    const v6 = lengthShares(table.groups.flatMap((g) => g.ipv6));
    for (const [len, share] of IPV4_LENGTHS) if (share >= 1) expect(Math.abs(v4.get(len)! - share), `/${len}`).toBeLessThan(share * 0.1 + 0.2);
    for (const [len, share] of IPV6_LENGTHS) if (share >= 1) expect(Math.abs(v6.get(len)! - share), `/${len}`).toBeLessThan(share * 0.1 + 0.3);
    const order4 = [...v4].sort((a, b) => b[1] - a[1]).map(([l]) => l);
    expect(order4.slice(0, 6)).toEqual([24, 22, 23, 20, 21, 19]);
    const order6 = [...v6].sort((a, b) => b[1] - a[1]).map(([l]) => l);
    expect(order6.slice(0, 4)).toEqual([48, 32, 44, 40]);
    // Nothing from the ranges the labs use or that are not global unicast.
    for (const g of table.groups) {
      for (const p of g.ipv4) expect(/^(0|10|100|127|169|172|192|198)\./.test(p), p).toBe(false);
      for (const p of g.ipv6) expect(/^[23]/.test(p) && !p.startsWith('2001:db8:'), p).toBe(true);
    }
  });

  it('AS paths: mean 4-5 once the feeder prepends itself, a prepending tail up to 15, all 4-octet-safe ASNs', () => {
    expect(mean(AS_PATH_HOPS) + 1).toBeGreaterThan(4.3);
    let sum = 0;
    let n = 0;
    let max = 0;
    let prepended = 0;
    for (const g of table.groups) {
      const asns = g.attributes.asPath![0]!.asns;
      const routes = g.ipv4.length + g.ipv6.length;
      sum += (asns.length + 1) * routes;
      n += routes;
      max = Math.max(max, asns.length);
      if (new Set(asns).size < asns.length) prepended++;
      for (const a of asns) expect(a === 0 || a === 23456 || (a >= 64496 && a <= 131071)).toBe(false);
    }
    expect(sum / n).toBeGreaterThan(4);
    expect(sum / n).toBeLessThan(5.2);
    expect(max).toBeLessThanOrEqual(MAX_PATH_LENGTH);
    expect(max).toBeGreaterThan(9);
    expect(prepended / table.groups.length).toBeGreaterThan(0.08);
  });

  it('shared attribute sets: a few thousand for 120 k prefixes, a heavy head, communities and large communities on a share', () => {
    const sets = table.groups.length;
    expect(sets).toBeGreaterThan(2000);
    expect(sets).toBeLessThanOrEqual(Math.round((N4 + N6) / 50));
    const sizes = table.groups.map((g) => g.ipv4.length + g.ipv6.length).sort((a, b) => b - a);
    expect(sizes[0]).toBeGreaterThan(500);
    const withCommunities = table.groups.filter((g) => (g.attributes.communities?.length ?? 0) > 0).length / sets;
    const withLarge = table.groups.filter((g) => (g.attributes.largeCommunities?.length ?? 0) > 0).length / sets;
    expect(withCommunities).toBeGreaterThan(0.45);
    expect(withCommunities).toBeLessThan(0.65);
    expect(withLarge).toBeGreaterThan(0.15);
    expect(withLarge).toBeLessThan(0.25);
    for (const g of table.groups) for (const c of g.attributes.communities ?? []) expect(c >>> 16).not.toBe(0xffff);
  });

  it('table specs: synthetic:N splits like today\'s table, synthetic:N4,N6@SEED is explicit', () => {
    expect(parseSyntheticSpec('synthetic:1000000')).toEqual({ ipv4: 823000, ipv6: 177000, seed: 1 });
    expect(parseSyntheticSpec('synthetic:1000,0@9')).toEqual({ ipv4: 1000, ipv6: 0, seed: 9 });
    expect(parseSyntheticSpec('mrt:x')).toBeNull();
  });
});
