/**
 * The Rib decides from what it stores (path records, the peer's info) without
 * a Route per candidate (issue 10). Property: for random paths from random
 * peers its decision is the one the Route-based decision process of
 * RFC 4271 §9.1.2.2 (compare / selectBest in decision.ts, fed the Routes the
 * Rib hands out) takes: same best, same runner-up, same deciding step, for a
 * pair (decidePair) and for a set that grows one path at a time (addInOrder
 * while the set is in a total order, a full decision otherwise).
 */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { Origin } from '#bgp/wire/types';
import type { PathAttributes } from '#bgp/wire/types';
import { Rib, compare, rank, selectBest } from '#bgp/rib/index';
import type { DecisionContext, DecisionPeer, PeerInfo } from '#bgp/rib/index';
import { LLGR_STALE, addressKey, routerIdNumber } from '#bgp/rib/decision';
import { LOCAL_ASN, LOCAL_ROUTER_ID, announce, peer, seq } from './helpers.js';

const P = '203.0.113.0/24';

/** Two peers in AS 65002 (MED compared between them), one in 65003, two iBGP; peers 4 and 5 share a router id (step peer-address). */
const PEERS: PeerInfo[] = [
  peer('a', 65002, 1),
  peer('b', 65002, 2),
  peer('c', 65003, 3),
  peer('i', LOCAL_ASN, 4),
  peer('j', LOCAL_ASN, 5, { routerId: '10.0.0.4' }),
];

const CTX: DecisionContext = {
  localAsn: LOCAL_ASN,
  localRouterIdNum: routerIdNumber(LOCAL_ROUTER_ID),
  peers: new Map<string, DecisionPeer>(PEERS.map((p) => [p.id, { ebgp: p.asn !== LOCAL_ASN, routerIdNum: routerIdNumber(p.routerId), addressKey: addressKey(p.address) }])),
};

/** Few values per attribute, so that most steps are reached with ties before them. */
const pathArb = fc.record({
  localPref: fc.option(fc.constantFrom(90, 100, 110), { nil: undefined }),
  extra: fc.array(fc.constantFrom(64600, 64601), { maxLength: 2 }),
  origin: fc.constantFrom(Origin.Igp, Origin.Egp, Origin.Incomplete),
  med: fc.option(fc.constantFrom(0, 5, 10), { nil: undefined }),
  stale: fc.boolean(),
});

type Gen = typeof pathArb extends fc.Arbitrary<infer T> ? T : never;

function attributesOf(p: PeerInfo, g: Gen): PathAttributes {
  const ebgp = p.asn !== LOCAL_ASN;
  return {
    origin: g.origin,
    // An iBGP path's AS_PATH starts with the AS the route entered by (or is empty).
    asPath: ebgp ? [seq(p.asn, ...g.extra)] : g.extra.length > 0 ? [seq(...g.extra)] : [],
    ...(ebgp || g.localPref === undefined ? {} : { localPref: g.localPref }),
    ...(g.med === undefined ? {} : { med: g.med }),
    ...(g.stale ? { communities: [LLGR_STALE] } : {}),
  };
}

function ribWith(backups: boolean): Rib {
  const rib = new Rib({ asn: LOCAL_ASN, routerId: LOCAL_ROUTER_ID, backups });
  for (const p of PEERS) rib.addPeer(p);
  return rib;
}

function send(rib: Rib, p: PeerInfo, g: Gen): void {
  rib.applyUpdate(p.id, announce([P], attributesOf(p, g), p.address));
}

describe('decision from stored paths = the Route-based decision (RFC 4271 §9.1.2.2)', () => {
  test('a pair: the better path and the deciding step, compare() over the two Routes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: PEERS.length - 1 }), fc.integer({ min: 1, max: PEERS.length - 1 }), pathArb, pathArb, (i, d, ga, gb) => {
        const first = PEERS[i]!;
        const second = PEERS[(i + d) % PEERS.length]!;
        const rib = ribWith(false);
        send(rib, first, ga);
        send(rib, second, gb);
        const routes = rib.paths(P);
        expect(routes).toHaveLength(2);
        const rf = routes.find((r) => r.peer === first.id)!;
        const rs = routes.find((r) => r.peer === second.id)!;
        const old = compare(CTX, rf, rs);
        const got = rib.decision(P)!;
        // A tie keeps the candidate that came first (elimination over [first, second]).
        expect(got.best.peer).toBe((old.better ?? rf).peer);
        expect(got.step).toBe(old.step);
      }),
      { numRuns: 400 },
    );
  });

  test.each([false, true])('a set growing one path at a time: best, runner-up and step as selectBest over the Routes (backups: %s)', (backups) => {
    fc.assert(
      fc.property(fc.shuffledSubarray(PEERS, { minLength: 3, maxLength: PEERS.length }), fc.array(pathArb, { minLength: 5, maxLength: 5 }), (order, gens) => {
        const rib = ribWith(backups);
        order.forEach((p, k) => {
          send(rib, p, gens[k]!);
          const routes = rib.paths(P);
          expect(routes).toHaveLength(k + 1);
          if (k === 0) return;
          const old = selectBest(CTX, routes)!;
          const got = rib.decision(P)!;
          expect(got.best.peer).toBe(old.best.peer);
          expect(got.step).toBe(old.step);
          if (backups) expect(rib.backup(P)?.peer).toBe(rank(CTX, routes)[1]!.peer);
        });
      }),
      { numRuns: 300 },
    );
  });
});

describe('large candidate sets decided from stored paths (issue 10: member lists shared up to 32, made beyond)', () => {
  test.each([31, 32, 33, 40])('%s peers: each withdrawal of the best decides again; best and runner-up as selectBest and rank say', (n) => {
    const peers = Array.from({ length: n }, (_, k) => peer(`p${k}`, 65100 + (k % 7), 10 + k));
    const ctx: DecisionContext = {
      localAsn: LOCAL_ASN,
      localRouterIdNum: routerIdNumber(LOCAL_ROUTER_ID),
      peers: new Map<string, DecisionPeer>(peers.map((p) => [p.id, { ebgp: true, routerIdNum: routerIdNumber(p.routerId), addressKey: addressKey(p.address) }])),
    };
    const rib = new Rib({ asn: LOCAL_ASN, routerId: LOCAL_ROUTER_ID, backups: true });
    for (const p of peers) rib.addPeer(p);
    // AS_PATH lengths 1-3 and MEDs within a neighbor AS (RFC 4271 §9.1.2.2 c): no total order, full decisions.
    peers.forEach((p, k) => rib.applyUpdate(p.id, announce([P], { origin: Origin.Igp, asPath: [seq(p.asn, ...Array<number>(k % 3).fill(64600))], med: (k * 7) % 5 }, p.address)));
    for (let left = n; left > 1; left--) {
      const routes = rib.paths(P);
      expect(routes).toHaveLength(left);
      const want = selectBest(ctx, routes)!;
      expect(rib.decision(P)!.best.peer).toBe(want.best.peer);
      expect(rib.backup(P)?.peer).toBe(rank(ctx, routes)[1]!.peer);
      rib.applyUpdate(want.best.peer!, { type: 2, withdrawn: [P], attributes: {}, nlri: [] });
    }
  });
});
