/** src/agent/policy.ts, the pure parts: chains per neighbor, RFC 8212's reach, what a reload changed. */
import { describe, expect, it } from 'vitest';
import { chainSignature, peerPolicies, policyChange, policyView } from '#agent/policy';
import type { Config, PolicyDefinitions } from '#config/types';
import { config, neighbor } from './harness.js';

const DEFS: PolicyDefinitions = {
  prefixLists: { l: [{ prefix: '10.0.0.0/8', ge: 8, le: 24 }], unused: [{ prefix: '192.0.2.0/24', ge: 24, le: 24 }] },
  asPathLists: {},
  asSets: {},
  communityLists: {},
  policies: { p: { terms: [{ name: 't', match: { prefixList: ['l'] }, set: {}, action: 'accept' }], default: 'reject' } },
};

const EBGP = neighbor('e', 1);
const IBGP = { ...neighbor('i', 2), bgp: { ...neighbor('i', 2).bgp!, asn: 65001 } };

function cfg(over: Partial<Config> = {}): Config {
  return { ...config([EBGP, IBGP]), policy: DEFS, ...over };
}

describe('policies per neighbor', () => {
  it('RFC 8212 §2 applies to eBGP only: an iBGP neighbor without chains keeps everything', () => {
    const c = cfg({ requirePolicy: true });
    const e = peerPolicies(c, EBGP);
    expect(e.import).not.toBeNull();
    expect(e.export).not.toBeNull();
    expect(peerPolicies(c, IBGP)).toEqual({ import: null, export: null, softReconfiguration: false });
    expect(policyView(c, IBGP).note).toBeNull();
    expect(policyView(c, EBGP).note).toMatch(/RFC 8212/);
    expect(policyView(cfg(), EBGP).note).toBeNull();
  });

  it('a change is what the chain depends on: its policies and the lists they name, not other lists', () => {
    const e = { ...EBGP, bgp: { ...EBGP.bgp!, import: ['p'] } };
    const base = cfg({ neighbors: [e, IBGP] });
    const otherList = cfg({ neighbors: [e, IBGP], policy: { ...DEFS, prefixLists: { ...DEFS.prefixLists, unused: [] } } });
    expect(policyChange(base, otherList, e, e)).toEqual({ import: false, export: false, soft: false });
    const usedList = cfg({ neighbors: [e, IBGP], policy: { ...DEFS, prefixLists: { ...DEFS.prefixLists, l: [] } } });
    expect(policyChange(base, usedList, e, e)).toEqual({ import: true, export: false, soft: false });
    // Switching RFC 8212 on changes the export of a neighbor without an export chain.
    expect(policyChange(base, { ...base, requirePolicy: true }, e, e)).toEqual({ import: false, export: true, soft: false });
    expect(chainSignature(base, IBGP, 'import')).toBe(chainSignature({ ...base, requirePolicy: true }, IBGP, 'import'));
  });
});
