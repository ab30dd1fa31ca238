/**
 * RFC 9494 long-lived graceful restart in the RIB: stale paths become
 * long-lived stale (LLGR_STALE added), least preferred, sent only to peers
 * that negotiated the capability, swept at the end.
 */
import { describe, expect, test } from 'vitest';
import { Rib } from '#bgp/rib/index';
import { AFI_IPV4, AFI_IPV6 } from '#bgp/wire/types';
import { compileChain } from '#bgp/policy/engine';
import type { PolicyDefinitions } from '#config/types';
import { LOCAL_ASN, LOCAL_ROUTER_ID, announce, announceMp, announced, attrs, peer, seq, withdrawnOf } from './helpers.js';

const LLGR_STALE = 0xffff0006;
const NO_LLGR = 0xffff0007;

function rib(): Rib {
  return new Rib({ asn: LOCAL_ASN, routerId: LOCAL_ROUTER_ID });
}

/** Peer a (AS 65002) sent two IPv4 prefixes and one IPv6 prefix, then its session ended gracefully. */
function restarting(): Rib {
  const r = rib();
  r.addPeer(peer('a', 65002, 2));
  r.applyUpdate('a', announce(['10.2.0.0/24', '10.3.0.0/24'], attrs({ asPath: [seq(65002)], communities: [0xfde90001] }), '10.255.2.1'));
  r.applyUpdate('a', announceMp(['2001:db8:2::/48'], attrs({ asPath: [seq(65002)] }), ['fd00:255:2::1']));
  r.retainStale('a');
  return r;
}

describe('RFC 9494 §4.2: long-lived stale paths', () => {
  test('the stale paths of the family get LLGR_STALE (one new attribute set, not one per route) and stay in the Loc-RIB', () => {
    const r = restarting();
    const sets = r.attributes.size;
    const records = r.pathRecords.size;
    const out = r.longLivedStale('a', AFI_IPV4);
    expect(out.kept).toBe(2);
    expect(out.removed).toBe(0);
    expect(out.changes.map((c) => c.prefix).sort()).toEqual(['10.2.0.0/24', '10.3.0.0/24']);
    for (const p of ['10.2.0.0/24', '10.3.0.0/24']) expect(r.best(p)?.attrs.communities).toEqual([0xfde90001, LLGR_STALE]);
    // Both prefixes share the one long-lived twin of their attribute set.
    expect(r.best('10.2.0.0/24')?.attrs).toBe(r.best('10.3.0.0/24')?.attrs);
    // The twin replaces the set its paths had: as many sets and records as before.
    expect(r.attributes.size).toBe(sets);
    expect(r.pathRecords.size).toBe(records);
    // The other family is not touched; the paths are still stale (the sweep removes them).
    expect(r.best('2001:db8:2::/48')?.attrs.communities).toBeUndefined();
    expect(r.staleCount('a')).toBe(3);
  });

  test('paths with NO_LLGR are withdrawn instead', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2));
    r.applyUpdate('a', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65002)], communities: [NO_LLGR] }), '10.255.2.1'));
    r.applyUpdate('a', announce(['10.3.0.0/24'], attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    r.retainStale('a');
    const out = r.longLivedStale('a', AFI_IPV4);
    expect(out).toMatchObject({ kept: 1, removed: 1 });
    expect(r.best('10.2.0.0/24')).toBeUndefined();
    expect(r.best('10.3.0.0/24')?.attrs.communities).toEqual([LLGR_STALE]);
  });

  test('depreferenced before any other step: a longer AS path with a lower LOCAL_PREF wins over a long-lived stale path', () => {
    const r = restarting();
    r.addPeer(peer('b', 65003, 3));
    r.applyUpdate('b', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65003, 65010, 65011)] }), '10.255.3.1'));
    // While merely stale (RFC 4724), a's shorter path is still the best.
    expect(r.best('10.2.0.0/24')?.peer).toBe('a');
    const out = r.longLivedStale('a', AFI_IPV4);
    expect(out.changes.find((c) => c.prefix === '10.2.0.0/24')?.best?.peer).toBe('b');
    expect(r.decision('10.2.0.0/24')?.step).toBe('llgr-stale');
    // The only path of a prefix is still used: forwarding goes on through it.
    expect(r.best('10.3.0.0/24')?.peer).toBe('a');
  });

  test('§4.3: sent with LLGR_STALE to a peer that negotiated the capability, withdrawn from one that did not', () => {
    const r = restarting();
    r.addPeer(peer('llgr', 65004, 4, { longLived: true }));
    r.addPeer(peer('plain', 65005, 5));
    r.exportFull('llgr');
    r.exportFull('plain');
    const out = r.longLivedStale('a', AFI_IPV4);
    const [toLlgr, toPlain] = r.exportToPeers(['llgr', 'plain'], out.changes);
    expect(announced(toLlgr!).sort()).toEqual(['10.2.0.0/24', '10.3.0.0/24']);
    expect(toLlgr!.every((u) => u.attributes.communities?.includes(LLGR_STALE))).toBe(true);
    expect(withdrawnOf(toPlain!).sort()).toEqual(['10.2.0.0/24', '10.3.0.0/24']);
    // A peer that comes up later gets the same treatment from its full table.
    r.addPeer(peer('late', 65006, 6));
    expect(announced(r.exportFull('late'))).toEqual(['2001:db8:2::/48']);
  });

  test('a path received already carrying LLGR_STALE is least preferred and kept from peers without the capability', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2));
    r.addPeer(peer('b', 65003, 3));
    r.addPeer(peer('plain', 65005, 5));
    r.exportFull('plain');
    r.applyUpdate('a', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65002)], communities: [LLGR_STALE] }), '10.255.2.1'));
    expect(r.exportChanges('plain', [{ prefix: '10.2.0.0/24', best: null, previous: null }])).toEqual([]);
    r.applyUpdate('b', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65003, 65010)] }), '10.255.3.1'));
    expect(r.best('10.2.0.0/24')?.peer).toBe('b');
  });

  test('the peer comes back: what it sends again is fresh (LLGR_STALE gone), its End-of-RIB sweeps the rest', () => {
    const r = restarting();
    r.longLivedStale('a', AFI_IPV4);
    r.longLivedStale('a', AFI_IPV6);
    r.addPeer(peer('a', 65002, 2));
    r.applyUpdate('a', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65002)], communities: [0xfde90001] }), '10.255.2.1'));
    expect(r.best('10.2.0.0/24')?.attrs.communities).toEqual([0xfde90001]);
    expect(r.sweepStale('a', AFI_IPV4).map((c) => [c.prefix, c.best])).toEqual([['10.3.0.0/24', null]]);
    expect(r.sweepStale('a', AFI_IPV6).map((c) => c.prefix)).toEqual(['2001:db8:2::/48']);
    expect(r.size).toBe(1);
  });

  test('the long-lived stale time runs out: sweepStale removes them, and no attribute set is left behind', () => {
    const r = restarting();
    r.longLivedStale('a', AFI_IPV4);
    expect(r.sweepStale('a').map((c) => c.prefix).sort()).toEqual(['10.2.0.0/24', '10.3.0.0/24', '2001:db8:2::/48']);
    expect(r.size).toBe(0);
    r.removePeer('a');
    // Only our own origin's set (ORIGIN IGP, empty AS_PATH) stays interned.
    expect(r.attributes.size).toBe(1);
    expect(r.pathRecords.size).toBe(0);
  });

  test('multipath: a long-lived stale path never forwards beside a fresh best', () => {
    const r = new Rib({ asn: LOCAL_ASN, routerId: LOCAL_ROUTER_ID, multipath: { maxPaths: 8, relaxAsPath: false } });
    r.addPeer(peer('p2', 65002, 2));
    r.addPeer(peer('p3', 65002, 3));
    r.applyUpdate('p2', announce(['10.9.0.0/24'], attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    r.applyUpdate('p3', announce(['10.9.0.0/24'], attrs({ asPath: [seq(65002)] }), '10.255.3.1'));
    expect(r.multipath('10.9.0.0/24').map((x) => x.peer)).toEqual(['p2', 'p3']);
    r.retainStale('p2');
    r.longLivedStale('p2', AFI_IPV4);
    expect(r.multipath('10.9.0.0/24').map((x) => x.peer)).toEqual(['p3']);
    expect(r.decision('10.9.0.0/24')?.step).toBe('llgr-stale');
  });

  test('soft reconfiguration: an import policy applied again on reload keeps a long-lived stale path long-lived stale', () => {
    const defs = (localPref: number): PolicyDefinitions => ({
      prefixLists: {},
      asPathLists: {},
      asSets: {},
      communityLists: {},
      policies: { pref: { terms: [{ name: 'all', match: {}, set: { localPref }, action: 'accept' }], default: 'accept' } },
    });
    const r = rib();
    r.addPeer(peer('a', LOCAL_ASN, 2), { import: compileChain(defs(200), ['pref'], LOCAL_ASN, false, 'import'), export: null, softReconfiguration: true });
    r.applyUpdate('a', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65010)] }), '10.255.2.1'));
    expect(r.best('10.2.0.0/24')?.attrs.localPref).toBe(200);
    r.retainStale('a');
    r.longLivedStale('a', AFI_IPV4);
    r.setImportPolicy('a', compileChain(defs(300), ['pref'], LOCAL_ASN, false, 'import'), true);
    expect(r.best('10.2.0.0/24')?.attrs).toMatchObject({ localPref: 300, communities: [LLGR_STALE] });
    expect(r.isStale('a', '10.2.0.0/24')).toBe(true);
    expect(r.sweepStale('a').map((c) => c.prefix)).toEqual(['10.2.0.0/24']);
    r.removePeer('a');
    expect(r.pathRecords.size).toBe(0);
  });

  test('a peer without stale paths, or unknown: nothing happens', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2));
    expect(r.longLivedStale('a', AFI_IPV4)).toEqual({ changes: [], kept: 0, removed: 0 });
    expect(r.longLivedStale('nobody', AFI_IPV4)).toEqual({ changes: [], kept: 0, removed: 0 });
  });
});
