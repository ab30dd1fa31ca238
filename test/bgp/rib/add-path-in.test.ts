/**
 * RFC 7911 receive side in the RIB: several paths per (neighbor, prefix), told
 * apart by Path Identifier, each a candidate of the decision process in a
 * sub-slot of the neighbor (src/bgp/rib/add-path-in.ts).
 */
import { describe, expect, test } from 'vitest';
import { AFI_IPV4, AFI_IPV6, MessageType } from '#bgp/wire/types';
import type { UpdateMessage } from '#bgp/wire/types';
import { Rib } from '#bgp/rib/index';
import { MAX_RECEIVED_PATHS, PathIdColumn } from '#bgp/rib/add-path-in';
import { compileChain } from '#bgp/policy/engine';
import type { PolicyDefinitions } from '#config/types';
import { LOCAL_ASN, LOCAL_ROUTER_ID, attrs, peer, seq } from './helpers.js';

function rib(): Rib {
  return new Rib({ asn: LOCAL_ASN, routerId: LOCAL_ROUTER_ID });
}

function announce(nlri: string[], ids: number[], asns: number[], nextHop: string, med?: number): UpdateMessage {
  return {
    type: MessageType.Update,
    withdrawn: [],
    withdrawnPathIds: [],
    attributes: { ...attrs({ asPath: [seq(...asns)], ...(med !== undefined ? { med } : {}) }), nextHop },
    nlri,
    nlriPathIds: ids,
  };
}

function withdraw(prefixes: string[], ids: number[]): UpdateMessage {
  return { type: MessageType.Update, withdrawn: prefixes, withdrawnPathIds: ids, attributes: {}, nlri: [], nlriPathIds: [] };
}

function announce6(nlri: string[], ids: number[], nextHop: string): UpdateMessage {
  return {
    type: MessageType.Update,
    withdrawn: [],
    attributes: attrs({ asPath: [seq(65002)] }),
    nlri: [],
    mpReach: { afi: AFI_IPV6, safi: 1, nextHops: [nextHop], nlri, pathIds: ids },
  };
}

const P = '10.2.0.0/24';

describe('RFC 7911 receive: paths per (neighbor, Path Identifier, prefix)', () => {
  test('§3: two paths of one prefix from one neighbor are both candidates, each with its Path Identifier', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2));
    r.applyUpdate('a', announce([P, P], [1, 2], [65002], '10.255.2.1'));
    r.applyUpdate('a', announce([P], [2], [65002, 65020], '10.255.2.9'));
    const paths = r.paths(P);
    expect(paths.map((p) => [p.peer, p.pathId, p.nextHop])).toEqual([
      ['a', 1, '10.255.2.1'],
      ['a', 2, '10.255.2.9'],
    ]);
    expect(r.best(P)?.pathId).toBe(1);
    expect(r.receivedPaths(P).map((p) => p.route.pathId)).toEqual([1, 2]);
    // Neighbors' counts see both paths as the neighbor's.
    expect(r.receivedCount('a')).toBe(2);
    expect(r.acceptedCount('a', AFI_IPV4)).toBe(2);
  });

  test('§3: implicit withdraw is per (prefix, Path Identifier): a new path 1 replaces path 1 only', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2));
    r.applyUpdate('a', announce([P, P], [1, 2], [65002, 65020, 65030], '10.255.2.1'));
    // Path 1 becomes shorter: it replaces the old path 1 and wins.
    const changes = r.applyUpdate('a', announce([P], [1], [65002], '10.255.2.5'));
    expect(changes).toHaveLength(1);
    expect(r.receivedCount('a')).toBe(2);
    expect(r.paths(P).map((p) => [p.pathId, p.nextHop])).toEqual([
      [1, '10.255.2.5'],
      [2, '10.255.2.1'],
    ]);
  });

  test('§3: a withdrawal names the path: withdrawing path 2 leaves path 1; an unknown id is ignored', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2));
    r.applyUpdate('a', announce([P, P], [1, 2], [65002], '10.255.2.1'));
    r.applyUpdate('a', announce([P], [2], [65002], '10.255.2.9'));
    expect(r.applyUpdate('a', withdraw([P, P], [2, 77]))).toEqual([]);
    expect(r.paths(P).map((p) => p.pathId)).toEqual([1]);
    const gone = r.applyUpdate('a', withdraw([P], [1]));
    expect(gone).toHaveLength(1);
    expect(gone[0]!.best).toBeNull();
    expect(r.receivedCount('a')).toBe(0);
  });

  test('the decision process compares a neighbor\'s paths with each other and with other neighbors\' paths', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2));
    r.addPeer(peer('b', 65003, 3));
    r.applyUpdate('a', announce([P, P], [1, 2], [65002, 65020], '10.255.2.1'));
    r.applyUpdate('a', announce([P], [2], [65002, 65020, 65030], '10.255.2.9'));
    r.applyUpdate('b', { type: MessageType.Update, withdrawn: [], attributes: { ...attrs({ asPath: [seq(65003)] }), nextHop: '10.255.3.1' }, nlri: [P] });
    expect(r.paths(P).map((p) => [p.peer, p.pathId ?? null])).toEqual([
      ['b', null],
      ['a', 1],
      ['a', 2],
    ]);
  });

  test('IPv6 over MP_REACH: paths told apart the same way', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2));
    r.applyUpdate('a', announce6(['2001:db8:1::/48', '2001:db8:1::/48'], [5, 9], '2001:db8::2'));
    expect(r.paths('2001:db8:1::/48').map((p) => p.pathId)).toEqual([5, 9]);
    expect(r.acceptedCount('a', AFI_IPV6)).toBe(2);
  });

  test('session down withdraws every path of every sub-slot, in steps', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2));
    const prefixes = ['10.2.0.0/24', '10.3.0.0/24', '10.4.0.0/24'];
    r.applyUpdate('a', announce([...prefixes, ...prefixes, ...prefixes], [1, 1, 1, 2, 2, 2, 3, 3, 3], [65002], '10.255.2.1'));
    expect(r.receivedCount('a')).toBe(9);
    const steps = r.removePeerSteps('a')!;
    let changes = 0;
    while (!steps.done) changes += steps.next(2).length;
    expect(changes).toBe(3);
    expect(r.size).toBe(0);
    // Its slots are free: a new session starts clean and the numbers are reused.
    r.addPeer(peer('a', 65002, 2));
    r.applyUpdate('a', announce([P, P], [1, 2], [65002], '10.255.2.1'));
    expect(r.paths(P)).toHaveLength(2);
  });

  test('RFC 4724 §4.2 graceful restart: every path is kept stale, re-announced ones are fresh, the rest swept', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2));
    r.applyUpdate('a', announce([P, P, '10.3.0.0/24'], [1, 2, 1], [65002], '10.255.2.1'));
    expect(r.retainStale('a')).toBe(3);
    expect(r.staleCount('a')).toBe(3);
    r.addPeer(peer('a', 65002, 2));
    expect(r.paths(P)).toHaveLength(2);
    r.applyUpdate('a', announce([P], [2], [65002], '10.255.2.1'));
    expect(r.staleCountOf('a', AFI_IPV4)).toBe(2);
    const swept = r.sweepStale('a', AFI_IPV4);
    expect(swept.map((c) => c.prefix)).toEqual(['10.3.0.0/24']);
    expect(r.paths(P).map((p) => p.pathId)).toEqual([2]);
    expect(r.hasStale('a')).toBe(false);
  });

  test(`a neighbor may have ${MAX_RECEIVED_PATHS} paths per prefix; beyond, a path is treated as withdrawn and counted`, () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2));
    const n = MAX_RECEIVED_PATHS + 3;
    // Random-looking 32-bit identifiers, the top bit set too.
    const ids = Array.from({ length: n }, (_, i) => (0x9e3779b9 * (i + 1)) >>> 0);
    r.applyUpdate('a', announce(Array(n).fill(P), ids, [65002], '10.255.2.1'));
    expect(r.paths(P)).toHaveLength(MAX_RECEIVED_PATHS);
    expect(r.refusedPathCount('a')).toBe(3);
    expect(r.paths(P).map((p) => p.pathId)).toEqual(ids.slice(0, MAX_RECEIVED_PATHS));
    // Other prefixes use the same sub-slots: the slots follow paths per prefix, not distinct identifiers.
    const many = Array.from({ length: 200 }, (_, i) => `10.${100 + (i >> 8)}.${i & 255}.0/24`);
    r.applyUpdate('a', announce(many, many.map((_, i) => 1000 + i), [65002], '10.255.2.1'));
    expect(r.receivedCount('a')).toBe(MAX_RECEIVED_PATHS + 200);
    // Freed once empty: withdrawing all but one path leaves a single slot in use.
    r.applyUpdate('a', withdraw(Array(MAX_RECEIVED_PATHS - 1).fill(P), ids.slice(1, MAX_RECEIVED_PATHS)));
    expect(r.paths(P).map((p) => p.pathId)).toEqual([ids[0]]);
  });

  test('PathIdColumn keeps full 32-bit identifiers, sparse and dense', () => {
    const c = new PathIdColumn();
    for (let i = 0; i < 5000; i++) c.set(i * 3, (0xffffffff - i) >>> 0);
    expect(c.get(0)).toBe(0xffffffff);
    expect(c.get(4999 * 3)).toBe(0xffffffff - 4999);
  });
});

describe('RFC 7911 receive with an import policy', () => {
  const DEFS: PolicyDefinitions = {
    prefixLists: {},
    asPathLists: {},
    asSets: {},
    communityLists: { tag: ['65002:100'] },
    policies: { 'from-a': { terms: [{ name: 'drop-tagged', match: { community: ['tag'] }, set: {}, action: 'reject' }], default: 'accept' } },
  };

  test('each path is judged on its own: the tagged one is received but not a candidate; a new chain on reload re-judges every sub-slot', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2), { import: compileChain(DEFS, ['from-a'], LOCAL_ASN, false, 'import'), export: null, softReconfiguration: true });
    r.applyUpdate('a', announce([P], [1], [65002], '10.255.2.1'));
    r.applyUpdate('a', { ...announce([P], [2], [65002], '10.255.2.9'), attributes: { ...attrs({ asPath: [seq(65002)], communities: [65002 * 65536 + 100] }), nextHop: '10.255.2.9' } });
    expect(r.paths(P).map((p) => p.pathId)).toEqual([1]);
    const received = r.receivedPaths(P);
    expect(received.map((p) => [p.route.pathId, p.ineligible])).toEqual([
      [1, null],
      [2, 'policy'],
    ]);
    expect(r.acceptedCount('a')).toBe(1);
    expect(r.receivedCount('a')).toBe(2);
    // The chain removed (reload): both are candidates again, from the kept pre-policy copies.
    r.setImportPolicy('a', null, true);
    expect(r.paths(P).map((p) => p.pathId).sort()).toEqual([1, 2]);
  });
});
