import { describe, expect, test } from 'vitest';
import { Rib } from '#bgp/rib/index';
import { compileChain } from '#bgp/policy/engine';
import type { CompiledChain } from '#bgp/policy/engine';
import { previewExport, previewImport } from '#bgp/policy/preview';
import type { PolicyDefinitions } from '#config/types';
import { LOCAL_ASN, LOCAL_ROUTER_ID, announce, announced, attrs, peer, seq, withdraw } from '../rib/helpers.js';

const std = (hi: number, lo: number): number => hi * 65536 + lo;

const DEFS: PolicyDefinitions = {
  prefixLists: { customers: [{ prefix: '10.0.0.0/8', ge: 16, le: 24 }] },
  asPathLists: {},
  asSets: {},
  communityLists: { prefer: ['65002:100'] },
  policies: {
    // Import: customers' prefixes only; those tagged 65002:100 preferred.
    'from-b': {
      terms: [
        { name: 'not-customers', match: {}, set: {}, action: 'next' },
        { name: 'prefer', match: { prefixList: ['customers'], community: ['prefer'] }, set: { localPref: 200 }, action: 'accept' },
        { name: 'customers', match: { prefixList: ['customers'] }, set: {}, action: 'accept' },
      ],
      default: 'reject',
    },
    // Export: prepend twice, tag with a large community; 10.9.0.0/16 and longer not sent.
    'to-c': {
      terms: [
        { name: 'hide', match: { prefixList: ['hidden'] }, set: {}, action: 'reject' },
        { name: 'all', match: {}, set: { prepend: { as: 'own', count: 2 }, med: 5, localPref: 250, community: { add: ['65001:0:1'], remove: [], replace: null } }, action: 'accept' },
      ],
      default: 'next',
    },
    'to-c-v2': { terms: [{ name: 'all', match: {}, set: { community: { add: ['65001:0:2'], remove: [], replace: null } }, action: 'accept' }], default: 'next' },
    'from-b-none': { terms: [], default: 'reject' },
  },
};
DEFS.prefixLists.hidden = [{ prefix: '10.9.0.0/16', ge: 16, le: 32 }];

function chain(name: string): CompiledChain {
  return compileChain(DEFS, [name], LOCAL_ASN, false, 'import')!;
}

function setup(soft = false): Rib {
  const r = new Rib({ asn: LOCAL_ASN, routerId: LOCAL_ROUTER_ID });
  r.addPeer(peer('b', 65002, 2), { import: chain('from-b'), export: null, softReconfiguration: soft });
  return r;
}

describe('import policy in the RIB', () => {
  test('after the built-in checks: rejected paths stay in the Adj-RIB-In as ineligible, reason policy with the term', () => {
    const r = setup();
    r.applyUpdate('b', announce(['10.1.0.0/24', '10.2.0.0/24', '192.0.2.0/24', '10.3.0.0/25'], attrs({ asPath: [seq(65002)], communities: [std(65002, 100)] }), '10.255.2.1'));
    r.applyUpdate('b', announce(['10.4.0.0/24'], attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    expect(r.best('10.1.0.0/24')!.attrs.localPref).toBe(200);
    expect(r.best('10.2.0.0/24')!.attrs).toBe(r.best('10.1.0.0/24')!.attrs); // one interned set per outcome
    expect(r.best('10.4.0.0/24')!.attrs.localPref).toBeUndefined();
    expect(r.best('192.0.2.0/24')).toBeUndefined();
    expect(r.ineligibleReason('b', '192.0.2.0/24')).toBe('policy');
    expect(r.ineligibleReason('b', '10.3.0.0/25')).toBe('policy');
    const [p] = r.receivedPaths('192.0.2.0/24');
    expect(p).toMatchObject({ ineligible: 'policy', policy: 'from-b/default' });
    // What was received is shown, not a changed copy.
    expect(p!.route.attrs.communities).toEqual([std(65002, 100)]);
    expect(r.receivedCount('b')).toBe(5);
    expect(r.acceptedCount('b')).toBe(3);
  });

  test('a built-in rejection comes first (martian, AS loop): the policy is not asked', () => {
    const r = setup();
    r.applyUpdate('b', announce(['127.0.0.0/8'], attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    r.applyUpdate('b', announce(['10.5.0.0/24'], attrs({ asPath: [seq(65002, LOCAL_ASN)] }), '10.255.2.1'));
    expect(r.ineligibleReason('b', '127.0.0.0/8')).toBe('martian');
    expect(r.ineligibleReason('b', '10.5.0.0/24')).toBe('as-path-loop');
  });

  test('RFC 8212 §2: require-policy without an import policy accepts nothing from an eBGP peer', () => {
    const r = new Rib({ asn: LOCAL_ASN, routerId: LOCAL_ROUTER_ID });
    r.addPeer(peer('b', 65002, 2), { import: compileChain(DEFS, [], LOCAL_ASN, true, 'import'), export: null, softReconfiguration: false });
    r.applyUpdate('b', announce(['10.1.0.0/24'], attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    expect(r.best('10.1.0.0/24')).toBeUndefined();
    expect(r.receivedPaths('10.1.0.0/24')[0]).toMatchObject({ ineligible: 'policy', policy: 'no import policy (bgp.require-policy, RFC 8212)' });
  });

  test('soft reconfiguration inbound: a new policy is applied from the pre-policy copies', () => {
    const r = setup(true);
    r.applyUpdate('b', announce(['10.1.0.0/24', '192.0.2.0/24'], attrs({ asPath: [seq(65002)], communities: [std(65002, 100)] }), '10.255.2.1'));
    expect(r.keepsPrePolicy('b')).toBe(true);
    expect(previewImport(r, 'b', chain('from-b-none'))).toEqual({ accept: 0, reject: 2, exact: true });
    // No policy: everything as received (local-pref 200 was the old policy's, and goes).
    const changes = r.setImportPolicy('b', null, true);
    expect(changes.map((c) => c.prefix).sort()).toEqual(['10.1.0.0/24', '192.0.2.0/24']);
    expect(r.best('10.1.0.0/24')!.attrs.localPref).toBeUndefined();
    expect(r.best('192.0.2.0/24')).toBeDefined();
    // And back: the policy's changes once, not twice.
    r.setImportPolicy('b', chain('from-b'), true);
    expect(r.best('10.1.0.0/24')!.attrs.localPref).toBe(200);
    expect(r.best('192.0.2.0/24')).toBeUndefined();
    // Withdrawals free the pre-policy copies (no leaked references).
    r.applyUpdate('b', withdraw(['10.1.0.0/24', '192.0.2.0/24']));
    expect(r.pathRecords.size).toBe(0);
    expect(r.attributes.size).toBe(1); // our own origin's set
  });

  test('without soft reconfiguration a new import policy waits for the peer to send again (ROUTE-REFRESH)', () => {
    const r = setup(false);
    r.applyUpdate('b', announce(['10.1.0.0/24'], attrs({ asPath: [seq(65002)], communities: [std(65002, 100)] }), '10.255.2.1'));
    expect(r.keepsPrePolicy('b')).toBe(false);
    expect(previewImport(r, 'b', chain('from-b-none'))).toEqual({ accept: 0, reject: 1, exact: false });
    expect(r.setImportPolicy('b', null, false)).toEqual([]);
    expect(r.best('10.1.0.0/24')!.attrs.localPref).toBe(200);
    // The refresh: the same UPDATE again, now without the policy.
    r.applyUpdate('b', announce(['10.1.0.0/24'], attrs({ asPath: [seq(65002)], communities: [std(65002, 100)] }), '10.255.2.1'));
    expect(r.best('10.1.0.0/24')!.attrs.localPref).toBeUndefined();
  });
});

describe('export policy in the RIB', () => {
  function exportSetup(ibgp = false): Rib {
    const r = new Rib({ asn: LOCAL_ASN, routerId: LOCAL_ROUTER_ID });
    r.addPeer(peer('b', 65002, 2));
    r.addPeer(peer('c', ibgp ? LOCAL_ASN : 65003, 3), { import: null, export: chain('to-c'), softReconfiguration: false });
    r.applyUpdate('b', announce(['10.1.0.0/24', '10.9.1.0/24'], attrs({ asPath: [seq(65002)], med: 9 }), '10.255.2.1'));
    return r;
  }

  test('after the built-in filter: prepend, MED to eBGP (RFC 4271 §5.1.4 is about received MEDs), no LOCAL_PREF to eBGP, large community added', () => {
    const r = exportSetup();
    const out = r.exportFull('c').filter((u) => u.nlri.length > 0);
    expect(announced(out)).toEqual(['10.1.0.0/24']);
    const a = out[0]!.attributes;
    expect(a.asPath).toEqual([seq(LOCAL_ASN, LOCAL_ASN, LOCAL_ASN, 65002)]);
    expect(a.med).toBe(5);
    expect(a.localPref).toBeUndefined();
    expect(a.largeCommunities).toEqual([[65001, 0, 1]]);
    expect(r.advertisedCount('c')).toBe(1);
  });

  test('LOCAL_PREF set by export policy goes to iBGP (RFC 4271 §5.1.5)', () => {
    const r = exportSetup(true);
    const out = r.exportFull('c').filter((u) => u.nlri.length > 0);
    expect(out[0]!.attributes.localPref).toBe(250);
  });

  test('the export cache is per outcome: two prefixes of one attribute set, one sent and one not', () => {
    const r = exportSetup();
    r.exportFull('c');
    // A change of the path: both prefixes looked at again through the cache.
    const changes = r.applyUpdate('b', announce(['10.1.0.0/24', '10.9.1.0/24'], attrs({ asPath: [seq(65002, 65020)] }), '10.255.2.1'));
    const out = r.exportChanges('c', changes);
    expect(announced(out)).toEqual(['10.1.0.0/24']);
    expect(out[0]!.attributes.asPath).toEqual([seq(LOCAL_ASN, LOCAL_ASN, LOCAL_ASN, 65002, 65020)]);
  });

  test('a new export policy: the differences only, previewed first', () => {
    const r = exportSetup();
    r.exportFull('c');
    expect(previewExport(r, 'c', chain('to-c-v2'))).toEqual({ send: 1, stop: 0, total: 2 });
    expect(previewExport(r, 'c', null)).toEqual({ send: 1, stop: 0, total: 2 });
    r.setExportPolicy('c', chain('to-c-v2'));
    expect(r.reexportLater('c')).toBeGreaterThan(0);
    const out = r.catchUp('c', Number.POSITIVE_INFINITY);
    expect(announced(out).sort()).toEqual(['10.1.0.0/24', '10.9.1.0/24']);
    expect(out[0]!.attributes.largeCommunities).toEqual([[65001, 0, 2]]);
    r.reexportLater('c');
    expect(r.catchUp('c', Number.POSITIVE_INFINITY)).toEqual([]);
    expect(r.isBehind('c')).toBe(false);
  });

  test('announce entries carry their communities', () => {
    const r = new Rib({ asn: LOCAL_ASN, routerId: LOCAL_ROUTER_ID });
    r.addPeer(peer('c', 65003, 3));
    r.originate('10.7.0.0/24', 'static', { communities: [std(65001, 7)] });
    expect(r.best('10.7.0.0/24')!.attrs.communities).toEqual([std(65001, 7)]);
    const out = r.exportFull('c').filter((u) => u.nlri.length > 0);
    expect(out[0]!.attributes.communities).toEqual([std(65001, 7)]);
    // Changed on reload: the route is made anew.
    const changes = r.originate('10.7.0.0/24', 'static', { largeCommunities: [[65001, 1, 1]] });
    expect(changes).toHaveLength(1);
    expect(r.best('10.7.0.0/24')!.attrs.communities).toBeUndefined();
    expect(r.originate('10.7.0.0/24', 'static', { largeCommunities: [[65001, 1, 1]] })).toEqual([]);
    r.withdrawOrigin('10.7.0.0/24');
    expect(r.attributes.size).toBe(1);
  });
});

describe('import policy re-judged during a graceful restart', () => {
  test('RFC 4724 §4.2: a kept stale path stays stale when a new policy re-judges it from its copy', () => {
    const r = setup(true);
    r.applyUpdate('b', announce(['10.1.0.0/24', '10.2.0.0/24'], attrs({ asPath: [seq(65002)], communities: [std(65002, 100)] }), '10.255.2.1'));
    expect(r.retainStale('b')).toBe(2);
    r.setImportPolicy('b', null, true);
    expect(r.staleCount('b')).toBe(2);
    // What it sends again is fresh; the rest goes at the sweep.
    r.applyUpdate('b', announce(['10.1.0.0/24'], attrs({ asPath: [seq(65002)], communities: [std(65002, 100)] }), '10.255.2.1'));
    expect(r.staleCount('b')).toBe(1);
    r.sweepStale('b');
    expect(r.best('10.2.0.0/24')).toBeUndefined();
    expect(r.best('10.1.0.0/24')!.attrs.localPref).toBeUndefined();
  });
});

describe('soft reconfiguration across a restart', () => {
  test('a neighbor back without soft reconfiguration gives its kept copies up (no leaked references)', () => {
    const r = setup(true);
    r.applyUpdate('b', announce(['10.1.0.0/24'], attrs({ asPath: [seq(65002)], communities: [std(65002, 100)] }), '10.255.2.1'));
    r.retainStale('b');
    r.addPeer(peer('b', 65002, 2), { import: chain('from-b'), export: null, softReconfiguration: false });
    expect(r.keepsPrePolicy('b')).toBe(false);
    r.sweepStale('b');
    expect(r.pathRecords.size).toBe(0);
    expect(r.attributes.size).toBe(1);
  });
});
