import { describe, expect, it } from 'vitest';
import { AsPathSegmentType, Origin } from '#bgp/wire/types';
import type { PathAttributes } from '#bgp/wire/types';
import { applyActions } from '#bgp/policy/actions';
import { parseCommunity } from '#bgp/policy/community-text';
import { extendedCommunityText } from '#agent/routes-view';
import { compileChain } from '#bgp/policy/engine';
import type { PolicyOutcome } from '#bgp/policy/engine';
import type { PolicyDefinitions, PolicyMatchConfig, PolicySetConfig } from '#config/types';
import type { RouteSource } from '#bgp/rib/types';

const LOCAL = 65001;

function defs(over: Partial<PolicyDefinitions> = {}): PolicyDefinitions {
  return { prefixLists: {}, asPathLists: {}, asSets: {}, communityLists: {}, policies: {}, ...over };
}

function seq(...asns: number[]): PathAttributes['asPath'] {
  return [{ type: AsPathSegmentType.AsSequence, asns }];
}

/** A 32-bit community as received: unsigned. */
const std = (hi: number, lo: number): number => hi * 65536 + lo;

const ATTRS: PathAttributes = { origin: Origin.Igp, asPath: seq(65002, 65010) };

/** One policy of one term (accept when matched, reject at the end) evaluated for a route. */
function run(
  match: PolicyMatchConfig,
  route: { attrs?: PathAttributes; prefix?: string; source?: RouteSource; nextHop?: string | null; neighbor?: string } = {},
  more: Partial<PolicyDefinitions> = {},
  set: PolicySetConfig = {},
): PolicyOutcome {
  const d = defs({ ...more, policies: { p: { terms: [{ name: 't', match, set, action: 'accept' }], default: 'next' } } });
  const chain = compileChain(d, ['p'], LOCAL, false, 'import')!;
  return chain.evaluate(route.attrs ?? ATTRS, route.neighbor ?? 'site-b', route.prefix ?? '10.1.0.0/24', route.source ?? 'bgp', 'nextHop' in route ? (route.nextHop ?? null) : '10.255.0.1');
}

const accepted = (o: PolicyOutcome): boolean => o.accept;

describe('policy matches', () => {
  it('prefix-list with ge/le: inside the prefix and within the lengths', () => {
    const more = { prefixLists: { l: [{ prefix: '10.0.0.0/8', ge: 16, le: 24 }, { prefix: '2001:db8::/32', ge: 48, le: 48 }] } };
    const m = { prefixList: ['l'] };
    expect(accepted(run(m, { prefix: '10.1.0.0/24' }, more))).toBe(true);
    expect(accepted(run(m, { prefix: '10.1.0.0/16' }, more))).toBe(true);
    expect(accepted(run(m, { prefix: '10.0.0.0/8' }, more))).toBe(false); // shorter than ge
    expect(accepted(run(m, { prefix: '10.1.1.0/25' }, more))).toBe(false); // longer than le
    expect(accepted(run(m, { prefix: '11.1.0.0/24' }, more))).toBe(false);
    expect(accepted(run(m, { prefix: '2001:db8:7::/48' }, more))).toBe(true);
    expect(accepted(run(m, { prefix: '2001:db8:7::/56' }, more))).toBe(false);
    expect(accepted(run(m, { prefix: '2001:db9::/48' }, more))).toBe(false);
  });

  it('as-path regex: ASNs as tokens, anchors, sets, repetition', () => {
    const lists = (...r: string[]) => ({ asPathLists: { l: r } });
    const path = (...a: number[]) => ({ attrs: { ...ATTRS, asPath: seq(...a) } });
    const m = { asPath: ['l'] };
    expect(accepted(run(m, path(65002, 65010), lists('^65002_')))).toBe(true);
    expect(accepted(run(m, path(165002, 65010), lists('_65002_')))).toBe(false); // a whole ASN only
    expect(accepted(run(m, path(65002, 65010), lists('65010$')))).toBe(true);
    expect(accepted(run(m, path(65002, 65010, 65011), lists('65010$')))).toBe(false);
    expect(accepted(run(m, path(65002, 65002, 65002, 65010), lists('^65002+ 65010$')))).toBe(true);
    expect(accepted(run(m, path(65002, 65010), lists('^[65003 65002] .$')))).toBe(true);
    expect(accepted(run(m, path(65004, 65010), lists('^(65002|65003) .*$')))).toBe(false);
    expect(accepted(run(m, { attrs: { ...ATTRS, asPath: [] } }, lists('^$')))).toBe(true);
  });

  it('as-path-contains: any AS of the path in the set (as-sets and ASNs)', () => {
    expect(accepted(run({ asPathContains: ['s'] }, {}, { asSets: { s: [65010, 7] } }))).toBe(true);
    expect(accepted(run({ asPathContains: [65003] }))).toBe(false);
  });

  it('origin-as: the last AS of the path (RFC 6811 §2), ours for an empty path, none after an AS_SET', () => {
    expect(accepted(run({ originAs: [65010] }))).toBe(true);
    expect(accepted(run({ originAs: [65002] }))).toBe(false);
    expect(accepted(run({ originAs: [LOCAL] }, { attrs: { origin: Origin.Igp, asPath: [] } }))).toBe(true);
    const set = { origin: Origin.Igp, asPath: [...seq(65002)!, { type: AsPathSegmentType.AsSet, asns: [65010] }] };
    expect(accepted(run({ originAs: [65010] }, { attrs: set }))).toBe(false);
  });

  it('as-path-length: an AS_SET counts one (RFC 4271 §9.1.2.2 a)', () => {
    expect(accepted(run({ asPathLength: { ge: 2, le: 2 } }))).toBe(true);
    expect(accepted(run({ asPathLength: { ge: 0, le: 1 } }))).toBe(false);
    const set = { origin: Origin.Igp, asPath: [...seq(65002)!, { type: AsPathSegmentType.AsSet, asns: [1, 2, 3] }] };
    expect(accepted(run({ asPathLength: { ge: 2, le: 2 } }, { attrs: set }))).toBe(true);
  });

  it('community: standard exact and wildcard, RFC 1997 well-known names', () => {
    const withC = (c: number[]) => ({ attrs: { ...ATTRS, communities: c } });
    const lists = (...c: string[]) => ({ communityLists: { l: c } });
    expect(accepted(run({ community: ['l'] }, withC([std(65002, 100)]), lists('65002:100')))).toBe(true);
    expect(accepted(run({ community: ['l'] }, withC([std(65002, 101)]), lists('65002:100')))).toBe(false);
    expect(accepted(run({ community: ['l'] }, withC([std(65002, 101)]), lists('65002:*')))).toBe(true);
    expect(accepted(run({ community: ['l'] }, withC([std(65003, 101)]), lists('*:101')))).toBe(true);
    // RFC 1997 §3: NO_EXPORT is 0xFFFFFF01.
    expect(accepted(run({ community: ['l'] }, withC([0xffffff01]), lists('no-export')))).toBe(true);
    expect(accepted(run({ community: ['l'] }, {}, lists('no-export')))).toBe(false);
  });

  it('large community (RFC 8092): exact and wildcard per field', () => {
    const r = { attrs: { ...ATTRS, largeCommunities: [[65002, 1, 2] as [number, number, number]] } };
    expect(accepted(run({ community: ['l'] }, r, { communityLists: { l: ['65002:1:2'] } }))).toBe(true);
    expect(accepted(run({ community: ['l'] }, r, { communityLists: { l: ['65002:*:3'] } }))).toBe(false);
    expect(accepted(run({ community: ['l'] }, r, { communityLists: { l: ['65002:*:*'] } }))).toBe(true);
  });

  it('extended community (RFC 4360 §3.1, §4): route target, wildcard local part', () => {
    // Two-octet AS specific (type 0x00), Route Target (sub-type 0x02): 0x0002 65002, local 100.
    const rt: [number, number] = [std(0x0002, 65002), 100];
    const r = { attrs: { ...ATTRS, extendedCommunities: [rt] } };
    expect(accepted(run({ community: ['l'] }, r, { communityLists: { l: ['rt:65002:100'] } }))).toBe(true);
    expect(accepted(run({ community: ['l'] }, r, { communityLists: { l: ['ro:65002:100'] } }))).toBe(false);
    expect(accepted(run({ community: ['l'] }, r, { communityLists: { l: ['rt:65002:*'] } }))).toBe(true);
  });

  it('extended community spelled as routes prints it (extendedCommunityText): rt and soo, 2- and 4-octet AS, IPv4', () => {
    for (const text of ['rt:65002:100', 'soo:65002:7', 'rt:4200000000:1', 'soo:192.0.2.1:7']) {
      const p = parseCommunity(text, false);
      if (typeof p === 'string' || p.kind !== 'extended') throw new Error(String(p));
      expect(extendedCommunityText(p.value)).toBe(text);
    }
  });

  it('next-hop: inside a prefix list', () => {
    const more = { prefixLists: { nh: [{ prefix: '10.255.0.0/16', ge: 16, le: 32 }] } };
    expect(accepted(run({ nextHop: ['nh'] }, { nextHop: '10.255.0.1' }, more))).toBe(true);
    expect(accepted(run({ nextHop: ['nh'] }, { nextHop: '192.0.2.1' }, more))).toBe(false);
    expect(accepted(run({ nextHop: ['nh'] }, { nextHop: null }, more))).toBe(false);
  });

  it('family', () => {
    expect(accepted(run({ family: 'ipv6' }, { prefix: '2001:db8::/32' }))).toBe(true);
    expect(accepted(run({ family: 'ipv6' }, { prefix: '10.0.0.0/8' }))).toBe(false);
  });

  it('neighbor (a policy shared by several neighbors)', () => {
    expect(accepted(run({ neighbor: ['site-b', 'site-c'] }, { neighbor: 'site-c' }))).toBe(true);
    expect(accepted(run({ neighbor: ['site-b'] }, { neighbor: 'site-d' }))).toBe(false);
  });

  it('source (export: announce is static, redistributed OSPF is ospf)', () => {
    expect(accepted(run({ source: ['static'] }, { source: 'static' }))).toBe(true);
    expect(accepted(run({ source: ['static'] }, { source: 'bgp' }))).toBe(false);
  });

  it('all conditions of a match must hold', () => {
    expect(accepted(run({ family: 'ipv4', neighbor: ['site-b'] }))).toBe(true);
    expect(accepted(run({ family: 'ipv4', neighbor: ['site-x'] }))).toBe(false);
  });
});

describe('policy flow', () => {
  const two = (first: 'accept' | 'reject' | 'next', dflt: 'accept' | 'reject' | 'next') =>
    defs({
      policies: {
        a: { terms: [{ name: 'v4', match: { family: 'ipv4' }, set: { localPref: 50 }, action: first }], default: dflt },
        b: { terms: [{ name: 'all', match: {}, set: { med: 7 }, action: 'accept' }], default: 'next' },
      },
    });

  it('the first terminal action wins; changes of next terms carry on', () => {
    const o = compileChain(two('next', 'next'), ['a', 'b'], LOCAL, false, 'import')!.evaluate(ATTRS, 'n', '10.0.0.0/8', 'bgp', null);
    expect(o).toMatchObject({ accept: true, by: 'b/all' });
    expect(applyActions(ATTRS, o.actions, { localAsn: LOCAL })).toMatchObject({ localPref: 50, med: 7 });
    const r = compileChain(two('reject', 'next'), ['a', 'b'], LOCAL, false, 'import')!;
    // A term with changes cannot reject (config check); here the engine is asked directly.
    expect(r.evaluate(ATTRS, 'n', '10.0.0.0/8', 'bgp', null)).toMatchObject({ accept: false, by: 'a/v4', actions: [] });
  });

  it("a policy's default ends the chain; without one the chain's end rejects", () => {
    const d = compileChain(two('next', 'reject'), ['a', 'b'], LOCAL, false, 'import')!;
    expect(d.evaluate(ATTRS, 'n', '2001:db8::/32', 'bgp', null)).toMatchObject({ accept: false, by: 'a/default' });
    const only = compileChain(defs({ policies: { a: { terms: [{ name: 'x', match: { family: 'ipv6' }, set: {}, action: 'accept' }], default: 'next' } } }), ['a'], LOCAL, false, 'import')!;
    expect(only.evaluate(ATTRS, 'n', '10.0.0.0/8', 'bgp', null)).toMatchObject({ accept: false, by: 'end of chain' });
  });

  it('RFC 8212 §2: with require-policy, no chain rejects everything; without, no chain is no policy at all', () => {
    const none = compileChain(defs(), [], LOCAL, true, 'import')!;
    expect(none.evaluate(ATTRS, 'n', '10.0.0.0/8', 'bgp', null)).toMatchObject({ accept: false, by: 'no import policy (bgp.require-policy, RFC 8212)' });
    expect(compileChain(defs(), [], LOCAL, false, 'import')).toBeNull();
  });

  it('outcomes are shared objects per path through the terms (one interned set per outcome, not per prefix)', () => {
    const d = defs({
      prefixLists: { l: [{ prefix: '10.0.0.0/8', ge: 8, le: 32 }] },
      policies: { p: { terms: [{ name: 'in', match: { prefixList: ['l'] }, set: { localPref: 200 }, action: 'accept' }], default: 'accept' } },
    });
    const chain = compileChain(d, ['p'], LOCAL, false, 'import')!;
    expect(chain.routeLevel).toBe(true);
    const prep = chain.prepare(ATTRS, 'n');
    const a = prep.outcome('10.1.0.0/24', 'bgp', null);
    expect(prep.outcome('10.2.0.0/24', 'bgp', null)).toBe(a);
    const b = prep.outcome('192.0.2.0/24', 'bgp', null);
    expect(b).not.toBe(a);
    expect(b.by).toBe('p/default');
    expect(prep.outcome('198.51.100.0/24', 'bgp', null)).toBe(b);
  });
});

describe('policy actions', () => {
  const act = (set: PolicySetConfig, attrs: PathAttributes = ATTRS): PathAttributes => {
    const o = run({}, { attrs }, {}, set);
    return applyActions(attrs, o.actions, { localAsn: LOCAL });
  };

  it('accept and reject', () => {
    expect(run({}).accept).toBe(true);
    const d = defs({ policies: { p: { terms: [{ name: 't', match: {}, set: {}, action: 'reject' }], default: 'accept' } } });
    expect(compileChain(d, ['p'], LOCAL, false, 'import')!.evaluate(ATTRS, 'n', '10.0.0.0/8', 'bgp', null).accept).toBe(false);
  });

  it('set local-pref', () => {
    expect(act({ localPref: 300 }).localPref).toBe(300);
  });

  it('set MED', () => {
    expect(act({ med: 42 }).med).toBe(42);
    expect(run({}, {}, {}, { med: 42 }).setsMed).toBe(true);
  });

  it('prepend our own AS N times (RFC 4271 §5.1.2 b: into the leading AS_SEQUENCE)', () => {
    expect(act({ prepend: { as: 'own', count: 2 } }).asPath).toEqual(seq(LOCAL, LOCAL, 65002, 65010));
  });

  it("prepend the path's first AS N times (the neighbor's, on import)", () => {
    expect(act({ prepend: { as: 'first', count: 3 } }).asPath).toEqual(seq(65002, 65002, 65002, 65002, 65010));
    expect(act({ prepend: { as: 'first', count: 3 } }, { origin: Origin.Igp, asPath: [] }).asPath).toEqual([]);
  });

  it('prepend starts a new AS_SEQUENCE when the first holds 255 (RFC 4271 §4.3)', () => {
    const full = { origin: Origin.Igp, asPath: seq(...new Array<number>(255).fill(65002)) };
    const out = act({ prepend: { as: 'own', count: 1 } }, full).asPath!;
    expect(out).toHaveLength(2);
    expect(out[0]).toEqual({ type: AsPathSegmentType.AsSequence, asns: [LOCAL] });
  });

  it('add communities of the three kinds, without duplicates', () => {
    const out = act({ community: { add: ['65001:1', '65001:1', '65001:2:3', 'rt:65001:9', 'no-export'], remove: [], replace: null } }, { ...ATTRS, communities: [std(65001, 1)] });
    expect(out.communities).toEqual([std(65001, 1), 0xffffff01]);
    expect(out.largeCommunities).toEqual([[65001, 2, 3]]);
    expect(out.extendedCommunities).toEqual([[std(0x0002, 65001), 9]]);
  });

  it('remove communities with wildcards (all three kinds); an emptied attribute goes away', () => {
    const attrs: PathAttributes = {
      ...ATTRS,
      communities: [std(65002, 1), std(65002, 2), std(65003, 1)],
      largeCommunities: [[65002, 1, 1], [65003, 1, 1]],
      extendedCommunities: [[std(0x0002, 65002), 5]],
    };
    const out = act({ community: { add: [], remove: ['65002:*', '65002:*:*', 'rt:65002:*'], replace: null } }, attrs);
    expect(out.communities).toEqual([std(65003, 1)]);
    expect(out.largeCommunities).toEqual([[65003, 1, 1]]);
    expect(out.extendedCommunities).toBeUndefined();
  });

  it('replace all communities', () => {
    const out = act({ community: { add: [], remove: [], replace: ['65001:5:5'] } }, { ...ATTRS, communities: [1], extendedCommunities: [[2, 3]] });
    expect(out.communities).toBeUndefined();
    expect(out.extendedCommunities).toBeUndefined();
    expect(out.largeCommunities).toEqual([[65001, 5, 5]]);
  });

  it('next-hop self: accepted, changes nothing (every session already sends our tunnel address)', () => {
    expect(run({}, {}, {}, { nextHopSelf: true }).actions).toEqual([]);
    expect(act({ nextHopSelf: true })).toBe(ATTRS);
  });

  it('the input attribute set is never changed (interned sets are shared)', () => {
    const frozen = Object.freeze({ ...ATTRS, communities: Object.freeze([1]) as number[] });
    expect(() => act({ localPref: 1, community: { add: ['65001:1'], remove: ['*:*'], replace: null } }, frozen)).not.toThrow();
    expect(frozen.communities).toEqual([1]);
  });
});
