/**
 * Multipath (src/bgp/rib/multipath.ts): the candidates that tie with the
 * best through RFC 4271 §9.1.2.2 d (external over internal) forward with it;
 * only router id and peer address (§9.1.2.2 f, g) may differ, and without
 * relax-as-path the AS_PATH must be the same.
 */
import { describe, expect, test } from 'vitest';
import { Origin } from '#bgp/wire/types';
import { Rib } from '#bgp/rib/index';
import { compileChain } from '#bgp/policy/engine';
import type { PolicyDefinitions } from '#config/types';
import type { LocRibChange, MultipathOptions } from '#bgp/rib/index';
import { LOCAL_ASN, LOCAL_ROUTER_ID, announce, attrs, peer, seq, withdraw } from './helpers.js';

const P = '10.9.0.0/24';
const ON: MultipathOptions = { maxPaths: 8, relaxAsPath: false };

function mrib(opts: MultipathOptions | null = ON, backups = false): Rib {
  return new Rib({ asn: LOCAL_ASN, routerId: LOCAL_ROUTER_ID, multipath: opts, backups });
}

/** Peers p2…pN (router id 10.0.0.n), all in `asn` unless given. */
function withPeers(r: Rib, ns: number[], asn = 65002, asns: Record<number, number> = {}): void {
  for (const n of ns) r.addPeer(peer(`p${n}`, asns[n] ?? asn, n));
}

const used = (r: Rib): (string | null)[] => r.multipath(P).map((x) => x.peer);
const mp = (c: readonly LocRibChange[]): ((string | null)[] | null | undefined)[] => c.map((x) => (x.multipath === undefined ? undefined : x.multipath === null ? null : x.multipath.map((y) => y.peer)));

describe('multipath selection: which steps must tie', () => {
  test('two eBGP paths with the same attributes and AS_PATH forward together, the lower router id first (§9.1.2.2 f)', () => {
    const r = mrib();
    withPeers(r, [3, 2]);
    expect(mp(r.applyUpdate('p3', announce([P], attrs({ asPath: [seq(65002)] }), '10.255.3.1')))).toEqual([null]);
    const c = r.applyUpdate('p2', announce([P], attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    expect(c).toHaveLength(1);
    expect(c[0]!.best?.peer).toBe('p2');
    expect(mp(c)).toEqual([['p2', 'p3']]);
    expect(used(r)).toEqual(['p2', 'p3']);
    // The decision itself is unchanged: one best, chosen by router id.
    expect(r.decision(P)?.step).toBe('router-id');
  });

  const cases: [string, Partial<Parameters<typeof attrs>[0]>, Partial<Parameters<typeof attrs>[0]>][] = [
    ['as-path-length (§9.1.2.2 a)', { asPath: [seq(65002)] }, { asPath: [seq(65002, 65002)] }],
    ['origin (§9.1.2.2 b)', { asPath: [seq(65002)] }, { asPath: [seq(65002)], origin: Origin.Incomplete }],
    ['med from the same neighbor AS (§9.1.2.2 c)', { asPath: [seq(65002)], med: 10 }, { asPath: [seq(65002)], med: 20 }],
  ];
  for (const [step, a, b] of cases) {
    test(`a path that loses at ${step} is not used`, () => {
      const r = mrib();
      withPeers(r, [2, 3]);
      r.applyUpdate('p2', announce([P], attrs(a), '10.255.2.1'));
      expect(mp(r.applyUpdate('p3', announce([P], attrs(b), '10.255.3.1')))).toEqual([]);
      expect(used(r)).toEqual(['p2']);
      // The other way round: the better one arrives second and is used alone.
      const s = mrib();
      withPeers(s, [2, 3]);
      s.applyUpdate('p2', announce([P], attrs(b), '10.255.2.1'));
      expect(mp(s.applyUpdate('p3', announce([P], attrs(a), '10.255.3.1')))).toEqual([null]);
      expect(used(s)).toEqual(['p3']);
    });
  }

  test('LOCAL_PREF (§9.1.1) must tie: iBGP paths with 200 and 100', () => {
    const r = mrib();
    withPeers(r, [2, 3], LOCAL_ASN);
    r.applyUpdate('p2', announce([P], attrs({ localPref: 200 }), '10.255.2.1'));
    r.applyUpdate('p3', announce([P], attrs({ localPref: 100 }), '10.255.3.1'));
    expect(used(r)).toEqual(['p2']);
    r.applyUpdate('p3', announce([P], attrs({ localPref: 200 }), '10.255.3.1'));
    expect(used(r)).toEqual(['p2', 'p3']);
  });

  test('external and internal paths never mix (§9.1.2.2 d)', () => {
    const r = mrib();
    r.addPeer(peer('ext', 65002, 3));
    r.addPeer(peer('int', LOCAL_ASN, 2));
    r.applyUpdate('ext', announce([P], attrs({ asPath: [seq(65002)] }), '10.255.3.1'));
    r.applyUpdate('int', announce([P], attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    expect(r.decision(P)?.step).toBe('ebgp-over-ibgp');
    expect(used(r)).toEqual(['ext']);
  });

  test('our own route is never shared with a learned one', () => {
    const r = mrib();
    withPeers(r, [2]);
    r.originate(P, 'static');
    r.applyUpdate('p2', announce([P], attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    expect(r.multipath(P).map((x) => x.source)).toEqual(['static']);
  });
});

describe('one path per neighbor (RFC 7911 paths)', () => {
  test("a neighbor's second ADD-PATH path, tied with its first, takes no place: max-paths 2 uses the other neighbor", () => {
    const r = mrib({ maxPaths: 2, relaxAsPath: false });
    withPeers(r, [2, 3]);
    r.applyUpdate('p2', { ...announce([P, P], attrs({ asPath: [seq(65002)] }), '10.255.2.1'), withdrawnPathIds: [], nlriPathIds: [1, 2] });
    r.applyUpdate('p3', announce([P], attrs({ asPath: [seq(65002)] }), '10.255.3.1'));
    expect(r.paths(P).map((x) => [x.peer, x.pathId ?? null])).toEqual([
      ['p2', 1],
      ['p2', 2],
      ['p3', null],
    ]);
    expect(r.multipath(P).map((x) => [x.peer, x.pathId ?? null])).toEqual([
      ['p2', 1],
      ['p3', null],
    ]);
  });
});

describe("keeping a neighbor's paths out: its import policy, not a switch", () => {
  test('an import policy setting local-pref 50 on p3 (a backup link): p3 leaves the set and stays the backup', () => {
    const defs: PolicyDefinitions = {
      prefixLists: {},
      asPathLists: {},
      asSets: {},
      communityLists: {},
      policies: { backup: { terms: [{ name: 'lower', match: {}, set: { localPref: 50 }, action: 'accept' }], default: 'reject' } },
    };
    const r = mrib(ON, true);
    r.addPeer(peer('p2', 65002, 2));
    r.addPeer(peer('p3', 65002, 3), { import: compileChain(defs, ['backup'], LOCAL_ASN, false, 'import'), export: null, softReconfiguration: false });
    r.applyUpdate('p2', announce([P], attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    const c = r.applyUpdate('p3', announce([P], attrs({ asPath: [seq(65002)] }), '10.255.3.1'));
    expect(used(r)).toEqual(['p2']);
    expect(c.map((x) => [x.best?.peer, x.backup?.peer, x.multipath])).toEqual([['p2', 'p3', null]]);
    expect(r.decision(P)?.step).toBe('local-pref');
  });
});

describe('relax-as-path', () => {
  test('another AS_PATH of the same length is used only with relax-as-path; a longer one never', () => {
    for (const relax of [false, true]) {
      const r = mrib({ maxPaths: 8, relaxAsPath: relax });
      withPeers(r, [2, 3, 4], 0, { 2: 65002, 3: 65003, 4: 65004 });
      r.applyUpdate('p2', announce([P], attrs({ asPath: [seq(65002, 65100)] }), '10.255.2.1'));
      r.applyUpdate('p3', announce([P], attrs({ asPath: [seq(65003, 65100)] }), '10.255.3.1'));
      r.applyUpdate('p4', announce([P], attrs({ asPath: [seq(65004, 65005, 65100)] }), '10.255.4.1'));
      expect(used(r)).toEqual(relax ? ['p2', 'p3'] : ['p2']);
    }
  });

  test('with relax, MED is compared only within a neighbor AS (§9.1.2.2 c): different MEDs from two ASes share', () => {
    const r = mrib({ maxPaths: 8, relaxAsPath: true });
    withPeers(r, [2, 3], 0, { 2: 65002, 3: 65003 });
    r.applyUpdate('p2', announce([P], attrs({ asPath: [seq(65002)], med: 50 }), '10.255.2.1'));
    r.applyUpdate('p3', announce([P], attrs({ asPath: [seq(65003)], med: 5 }), '10.255.3.1'));
    expect(used(r)).toEqual(['p2', 'p3']);
  });
});

describe('max-paths', () => {
  test('five tied paths, max-paths 3: the best and the next two by router id', () => {
    const r = mrib({ maxPaths: 3, relaxAsPath: false });
    withPeers(r, [6, 4, 2, 5, 3]);
    for (const n of [6, 4, 2, 5, 3]) r.applyUpdate(`p${n}`, announce([P], attrs({ asPath: [seq(65002)] }), `10.255.${n}.1`));
    expect(used(r)).toEqual(['p2', 'p3', 'p4']);
    // p3 goes: p5 moves up into the set (a change, though the best stays).
    const c = r.applyUpdate('p3', withdraw([P]));
    expect(c.map((x) => x.best?.peer)).toEqual(['p2']);
    expect(mp(c)).toEqual([['p2', 'p4', 'p5']]);
  });

  test('max-paths 1 is multipath off', () => {
    const r = mrib({ maxPaths: 1, relaxAsPath: false });
    withPeers(r, [2, 3]);
    r.applyUpdate('p2', announce([P], attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    expect(mp(r.applyUpdate('p3', announce([P], attrs({ asPath: [seq(65002)] }), '10.255.3.1')))).toEqual([]);
    expect(used(r)).toEqual(['p2']);
  });
});

describe('a change of the multipath set is a Loc-RIB change', () => {
  test('members joining and leaving while the best stays; a path outside the set changes nothing', () => {
    const r = mrib();
    withPeers(r, [2, 3, 4, 5]);
    r.applyUpdate('p2', announce([P], attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    expect(mp(r.applyUpdate('p3', announce([P], attrs({ asPath: [seq(65002)] }), '10.255.3.1')))).toEqual([['p2', 'p3']]);
    // A third (a candidate set now): joins.
    expect(mp(r.applyUpdate('p4', announce([P], attrs({ asPath: [seq(65002)] }), '10.255.4.1')))).toEqual([['p2', 'p3', 'p4']]);
    // A fourth with a longer path: not used, no change.
    expect(r.applyUpdate('p5', announce([P], attrs({ asPath: [seq(65002, 65002)] }), '10.255.5.1'))).toEqual([]);
    // p3's path gets worse (MED from the same AS): it leaves the set.
    expect(mp(r.applyUpdate('p3', announce([P], attrs({ asPath: [seq(65002)], med: 7 }), '10.255.3.1')))).toEqual([['p2', 'p4']]);
    // The best goes: p4 is best and alone (p3 has a MED, p5 a longer path).
    const c = r.removePeer('p2');
    expect(c.map((x) => x.best?.peer)).toEqual(['p4']);
    expect(mp(c)).toEqual([null]);
    // p4 goes too: p3 is best; p5 still longer.
    expect(mp(r.removePeer('p4'))).toEqual([null]);
    expect(used(r)).toEqual(['p3']);
  });

  test('the same path announced again changes nothing', () => {
    const r = mrib();
    withPeers(r, [2, 3, 4]);
    for (const n of [2, 3, 4]) r.applyUpdate(`p${n}`, announce([P], attrs({ asPath: [seq(65002)] }), `10.255.${n}.1`));
    expect(r.applyUpdate('p3', announce([P], attrs({ asPath: [seq(65002)] }), '10.255.3.1'))).toEqual([]);
  });

  test('without multipath the changes carry no `multipath`', () => {
    const r = mrib(null);
    withPeers(r, [2, 3]);
    const c = r.applyUpdate('p2', announce([P], attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    expect(c[0]).not.toHaveProperty('multipath');
    expect(r.applyUpdate('p3', announce([P], attrs({ asPath: [seq(65002)] }), '10.255.3.1'))).toEqual([]);
    expect(used(r)).toEqual(['p2']);
  });

  test('switched on and off at run time (reload): each prefix with a set is a change', () => {
    const r = mrib(null);
    withPeers(r, [2, 3, 4]);
    for (const n of [2, 3]) r.applyUpdate(`p${n}`, announce([P, '10.8.0.0/24'], attrs({ asPath: [seq(65002)] }), `10.255.${n}.1`));
    r.applyUpdate('p4', announce([P], attrs({ asPath: [seq(65002)] }), '10.255.4.1'));
    r.applyUpdate('p4', announce(['10.7.0.0/24'], attrs({ asPath: [seq(65002)] }), '10.255.4.1'));
    const on = r.setMultipath(ON);
    expect(on.map((c) => [c.prefix, c.multipath?.map((x) => x.peer)]).sort()).toEqual([
      ['10.8.0.0/24', ['p2', 'p3']],
      [P, ['p2', 'p3', 'p4']],
    ]);
    expect(r.setMultipath({ ...ON })).toEqual([]);
    const two = r.setMultipath({ maxPaths: 2, relaxAsPath: false });
    expect(mp(two)).toEqual([['p2', 'p3']]);
    const off = r.setMultipath(null);
    expect(off.map((c) => [c.prefix, c.multipath]).sort()).toEqual([
      ['10.8.0.0/24', null],
      [P, null],
    ]);
    expect(used(r)).toEqual(['p2']);
  });

  test('with backups (PIC) as well: both ride along', () => {
    const r = mrib(ON, true);
    withPeers(r, [2, 3]);
    r.applyUpdate('p2', announce([P], attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    const c = r.applyUpdate('p3', announce([P], attrs({ asPath: [seq(65002)] }), '10.255.3.1'));
    expect(c.map((x) => [x.best?.peer, x.backup?.peer, x.multipath?.map((y) => y.peer)])).toEqual([['p2', 'p3', ['p2', 'p3']]]);
  });
});

describe('export stays single best', () => {
  test('a third peer is sent the best path only, once', () => {
    const r = mrib();
    withPeers(r, [2, 3]);
    r.addPeer(peer('x', 65009, 9));
    r.applyUpdate('p2', announce([P], attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    const c = r.applyUpdate('p3', announce([P], attrs({ asPath: [seq(65002)] }), '10.255.3.1'));
    // The set changed (a Loc-RIB change), the best did not: x is sent nothing new.
    r.exportFull('x');
    expect(r.exportChanges('x', c)).toEqual([]);
    expect(r.advertisedCount('x')).toBe(1);
  });
});
