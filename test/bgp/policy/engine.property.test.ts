/**
 * The compiled chain, with its per-attribute-set preparation and shared
 * outcomes, decides every route as a plain reading of the terms does: try
 * the terms in order, make the changes of those that match, stop at the
 * first accept or reject, reject at the end of the chain.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { applyActions } from '#bgp/policy/actions';
import { compileChain } from '#bgp/policy/engine';
import { prefixListMatches } from '#config/fields';
import { AsPathSegmentType, Origin } from '#bgp/wire/types';
import type { PathAttributes } from '#bgp/wire/types';
import type { PolicyDefinitions, PolicyTermConfig } from '#config/types';

const LOCAL = 65001;
const LISTS: PolicyDefinitions['prefixLists'] = {
  a: [{ prefix: '10.0.0.0/8', ge: 16, le: 24 }],
  b: [{ prefix: '10.1.0.0/16', ge: 24, le: 24 }, { prefix: '2001:db8::/32', ge: 48, le: 64 }],
};
const COMMUNITIES: PolicyDefinitions['communityLists'] = { c: ['65002:1'], d: ['65002:*'] };

const termArb = fc.record({
  prefixList: fc.option(fc.constantFrom('a', 'b'), { nil: undefined }),
  community: fc.option(fc.constantFrom('c', 'd'), { nil: undefined }),
  family: fc.option(fc.constantFrom('ipv4' as const, 'ipv6' as const), { nil: undefined }),
  localPref: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: undefined }),
  med: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: undefined }),
  prepend: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
  action: fc.constantFrom('accept' as const, 'reject' as const, 'next' as const),
});

type TermSpec = typeof termArb extends fc.Arbitrary<infer T> ? T : never;

function toTerm(t: TermSpec, i: number): PolicyTermConfig {
  const match: PolicyTermConfig['match'] = {};
  if (t.prefixList !== undefined) match.prefixList = [t.prefixList];
  if (t.community !== undefined) match.community = [t.community];
  if (t.family !== undefined) match.family = t.family;
  const set: PolicyTermConfig['set'] = {};
  if (t.action !== 'reject') {
    if (t.localPref !== undefined) set.localPref = t.localPref;
    if (t.med !== undefined) set.med = t.med;
    if (t.prepend !== undefined) set.prepend = { as: 'own', count: t.prepend };
  }
  return { name: `t${i}`, match, set, action: t.action };
}

/** The plain reading: the outcome's verdict and the attributes it leaves. */
function naive(terms: PolicyTermConfig[], attrs: PathAttributes, prefix: string): { accept: boolean; attrs: PathAttributes } {
  let a = attrs;
  for (const t of terms) {
    const m = t.match;
    if (m.prefixList && !m.prefixList.some((l) => prefixListMatches(LISTS[l]!, prefix))) continue;
    if (m.family && (prefix.includes(':') ? 'ipv6' : 'ipv4') !== m.family) continue;
    if (m.community) {
      const hit = (a.communities ?? []).some((c) => m.community!.some((l) => (l === 'c' ? c === 65002 * 65536 + 1 : c >>> 16 === 65002)));
      if (!hit) continue;
    }
    if (t.action === 'reject') return { accept: false, attrs: a };
    const s = t.set;
    if (s.localPref !== undefined) a = { ...a, localPref: s.localPref };
    if (s.med !== undefined) a = { ...a, med: s.med };
    if (s.prepend !== undefined) a = { ...a, asPath: [{ type: AsPathSegmentType.AsSequence, asns: [...new Array<number>(s.prepend.count).fill(LOCAL), ...(a.asPath?.[0]?.asns ?? [])] }] };
    if (t.action === 'accept') return { accept: true, attrs: a };
  }
  return { accept: false, attrs: a };
}

const prefixArb = fc.constantFrom('10.1.2.0/24', '10.1.0.0/16', '10.2.0.0/24', '10.0.0.0/8', '192.0.2.0/24', '2001:db8:1::/48', '2001:db8::/32', '2001:db9::/48');
const attrsArb = fc.constantFrom<number[][]>([], [65002 * 65536 + 1], [65002 * 65536 + 7], [65003 * 65536 + 1]).map(
  (communities): PathAttributes => ({ origin: Origin.Igp, asPath: [{ type: AsPathSegmentType.AsSequence, asns: [65002] }], ...(communities.length > 0 ? { communities } : {}) }),
);

describe('compiled chains against the plain reading of their terms', () => {
  it('same verdict and same attributes for every route of every attribute set', () => {
    fc.assert(
      fc.property(fc.array(termArb, { minLength: 1, maxLength: 8 }), fc.array(attrsArb, { minLength: 1, maxLength: 3 }), fc.array(prefixArb, { minLength: 1, maxLength: 8 }), (specs, sets, prefixes) => {
        const terms = specs.map(toTerm);
        const defs: PolicyDefinitions = { prefixLists: LISTS, asPathLists: {}, asSets: {}, communityLists: COMMUNITIES, policies: { p: { terms, default: 'next' } } };
        const chain = compileChain(defs, ['p'], LOCAL, false, 'import')!;
        for (const attrs of sets) {
          const prepared = chain.prepare(attrs, 'n');
          for (const prefix of prefixes) {
            const o = prepared.outcome(prefix, 'bgp', null);
            const want = naive(terms, attrs, prefix);
            expect(o.accept).toBe(want.accept);
            if (o.accept) expect(applyActions(attrs, o.actions, { localAsn: LOCAL })).toEqual(want.attrs);
          }
        }
      }),
      { numRuns: 400 },
    );
  });
});
