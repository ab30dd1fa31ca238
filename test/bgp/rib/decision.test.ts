import { describe, expect, test } from 'vitest';
import { Origin } from '#bgp/wire/types';
import { Rib, compare } from '#bgp/rib/index';
import type { DecisionContext, Route } from '#bgp/rib/index';
import { LOCAL_ASN, LOCAL_ROUTER_ID, announce, attrs, peer, seq, set, withdraw } from './helpers.js';

const P = '10.9.0.0/24';

function rib(): Rib {
  return new Rib({ asn: LOCAL_ASN, routerId: LOCAL_ROUTER_ID });
}

describe('RFC 4271 §9.1.2 decision process, one test per step', () => {
  test('RFC 4271 §9.1.2 (step 0): a path whose NEXT_HOP is unusable is not a candidate', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2));
    r.addPeer(peer('b', 65003, 3));
    // a's path would win on every later step, but 0.0.0.0 cannot be forwarded to.
    r.applyUpdate('a', announce([P], attrs({ asPath: [seq(65002)] }), '0.0.0.0'));
    r.applyUpdate('b', announce([P], attrs({ asPath: [seq(65003, 65010, 65011)] }), '10.255.3.1'));
    expect(r.best(P)?.peer).toBe('b');
    expect(r.paths(P).map((x) => x.peer)).toEqual(['b']);
    expect(r.ineligibleReason('a', P)).toBe('next-hop-unusable');
    expect(r.receivedCount('a')).toBe(1);
    expect(r.acceptedCount('a')).toBe(0);
  });

  test('RFC 4271 §9.1.1: the highest LOCAL_PREF wins before AS_PATH length is looked at', () => {
    const r = rib();
    r.addPeer(peer('i1', LOCAL_ASN, 2));
    r.addPeer(peer('i2', LOCAL_ASN, 3));
    r.applyUpdate('i1', announce([P], attrs({ localPref: 200, asPath: [seq(65010, 65011, 65012)] }), '10.255.2.1'));
    r.applyUpdate('i2', announce([P], attrs({ localPref: 100, asPath: [seq(65010)] }), '10.255.3.1'));
    expect(r.decision(P)).toMatchObject({ best: { peer: 'i1' }, step: 'local-pref' });
  });

  test('RFC 4271 §5.1.5: LOCAL_PREF from an external peer is ignored (counts as the default 100)', () => {
    const r = rib();
    r.addPeer(peer('e', 65002, 2));
    r.addPeer(peer('i', LOCAL_ASN, 3));
    r.applyUpdate('e', announce([P], attrs({ localPref: 500, asPath: [seq(65002)] }), '10.255.2.1'));
    r.applyUpdate('i', announce([P], attrs({ localPref: 150, asPath: [seq(65010, 65011)] }), '10.255.3.1'));
    expect(r.decision(P)).toMatchObject({ best: { peer: 'i' }, step: 'local-pref' });
    expect(r.paths(P).find((x) => x.peer === 'e')?.attrs.localPref).toBeUndefined();
  });

  test('step 2: a locally originated route wins over a learned one of equal LOCAL_PREF', () => {
    const r = rib();
    r.addPeer(peer('e', 65002, 2));
    r.applyUpdate('e', announce([P], attrs({ asPath: [] }), '10.255.2.1'));
    r.originate(P, 'static');
    expect(r.decision(P)).toMatchObject({ best: { peer: null, source: 'static' }, step: 'local-origin' });
    // ...but LOCAL_PREF comes first: an iBGP path with 200 beats our own route.
    r.addPeer(peer('i', LOCAL_ASN, 3));
    r.applyUpdate('i', announce([P], attrs({ localPref: 200 }), '10.255.3.1'));
    expect(r.decision(P)).toMatchObject({ best: { peer: 'i' }, step: 'local-pref' });
  });

  test('RFC 4271 §9.1.2.2 (a): the shortest AS_PATH wins, an AS_SET counting 1', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2));
    r.addPeer(peer('b', 65003, 3));
    // a: 1 + 1 (a set of four) = 2; b: a sequence of 3. b has the lower router id.
    r.applyUpdate('a', announce([P], attrs({ asPath: [seq(65002), set(1, 2, 3, 4)] }), '10.255.2.1'));
    r.applyUpdate('b', announce([P], attrs({ asPath: [seq(65003, 65020, 65021)] }), '10.255.3.1'));
    expect(r.decision(P)).toMatchObject({ best: { peer: 'a' }, step: 'as-path-length' });
  });

  test('RFC 4271 §9.1.2.2 (b): the lowest ORIGIN wins (IGP < EGP < INCOMPLETE)', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2));
    r.addPeer(peer('b', 65003, 3));
    r.addPeer(peer('c', 65004, 4));
    r.applyUpdate('a', announce([P], attrs({ origin: Origin.Incomplete, asPath: [seq(65002)] }), '10.255.2.1'));
    r.applyUpdate('b', announce([P], attrs({ origin: Origin.Egp, asPath: [seq(65003)] }), '10.255.3.1'));
    expect(r.decision(P)).toMatchObject({ best: { peer: 'b' }, step: 'origin' });
    r.applyUpdate('c', announce([P], attrs({ origin: Origin.Igp, asPath: [seq(65004)] }), '10.255.4.1'));
    expect(r.decision(P)).toMatchObject({ best: { peer: 'c' }, step: 'origin' });
  });

  test('RFC 4271 §9.1.2.2 (c): lower MED wins only between paths from the same AS', () => {
    const r = rib();
    // Two sessions to the same neighbor AS 65002, one to 65003.
    r.addPeer(peer('a1', 65002, 2));
    r.addPeer(peer('a2', 65002, 3));
    r.addPeer(peer('b', 65003, 4));
    r.applyUpdate('a1', announce([P], attrs({ asPath: [seq(65002)], med: 50 }), '10.255.2.1'));
    r.applyUpdate('a2', announce([P], attrs({ asPath: [seq(65002)], med: 10 }), '10.255.3.1'));
    // a1 has the lower router id, but a2's MED is lower within AS 65002.
    expect(r.decision(P)).toMatchObject({ best: { peer: 'a2' }, step: 'med' });
    // b comes from another AS: its MED 0 is not compared with a2's 10; router id decides.
    r.applyUpdate('b', announce([P], attrs({ asPath: [seq(65003)], med: 0 }), '10.255.4.1'));
    expect(r.decision(P)).toMatchObject({ best: { peer: 'a2' }, step: 'router-id' });
  });

  test('RFC 4271 §9.1.2.2 (c): a missing MED counts as 0', () => {
    const r = rib();
    r.addPeer(peer('a1', 65002, 2));
    r.addPeer(peer('a2', 65002, 3));
    r.applyUpdate('a1', announce([P], attrs({ asPath: [seq(65002)], med: 1 }), '10.255.2.1'));
    r.applyUpdate('a2', announce([P], attrs({ asPath: [seq(65002)] }), '10.255.3.1'));
    expect(r.decision(P)).toMatchObject({ best: { peer: 'a2' }, step: 'med' });
  });

  test('RFC 4271 §9.1.2.2 (c): MED is an elimination over the set, so withdrawing a loser can change the winner', () => {
    const r = rib();
    r.addPeer(peer('x', 65002, 2)); // router id 10.0.0.2, AS 65002, MED 10
    r.addPeer(peer('z', 65003, 3)); // router id 10.0.0.3, AS 65003
    r.addPeer(peer('y', 65002, 4)); // router id 10.0.0.4, AS 65002, MED 5
    r.applyUpdate('x', announce([P], attrs({ asPath: [seq(65002)], med: 10 }), '10.255.2.1'));
    r.applyUpdate('z', announce([P], attrs({ asPath: [seq(65003)] }), '10.255.3.1'));
    r.applyUpdate('y', announce([P], attrs({ asPath: [seq(65002)], med: 5 }), '10.255.4.1'));
    // y eliminates x on MED; of y and z, z has the lower router id.
    expect(r.decision(P)).toMatchObject({ best: { peer: 'z' }, step: 'router-id' });
    // Without y, x is back and beats z on router id.
    const changes = r.applyUpdate('y', withdraw([P]));
    expect(changes).toHaveLength(1);
    expect(changes[0]?.best?.peer).toBe('x');
    expect(changes[0]?.previous?.peer).toBe('z');
  });

  test('RFC 4271 §9.1.2.2 (d): an eBGP path wins over an iBGP one', () => {
    const r = rib();
    r.addPeer(peer('i', LOCAL_ASN, 2)); // lower router id
    r.addPeer(peer('e', 65003, 3));
    r.applyUpdate('i', announce([P], attrs({ asPath: [seq(65009)] }), '10.255.2.1'));
    r.applyUpdate('e', announce([P], attrs({ asPath: [seq(65003)] }), '10.255.3.1'));
    expect(r.decision(P)).toMatchObject({ best: { peer: 'e' }, step: 'ebgp-over-ibgp' });
  });

  test('RFC 4271 §9.1.2.2 (f): the lowest BGP Identifier wins (numerically, not as text)', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2, { routerId: '10.0.0.10', address: '10.255.2.1' }));
    r.addPeer(peer('b', 65003, 3, { routerId: '10.0.0.9', address: '10.255.3.1' }));
    r.applyUpdate('a', announce([P], attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    r.applyUpdate('b', announce([P], attrs({ asPath: [seq(65003)] }), '10.255.3.1'));
    expect(r.decision(P)).toMatchObject({ best: { peer: 'b' }, step: 'router-id' });
  });

  test('RFC 4271 §9.1.2.2 (g): with equal identifiers the lowest peer address wins', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2, { routerId: '10.0.0.1', address: '10.255.20.1' }));
    r.addPeer(peer('b', 65003, 3, { routerId: '10.0.0.1', address: '10.255.3.1' }));
    r.applyUpdate('a', announce([P], attrs({ asPath: [seq(65002)] }), '10.255.20.1'));
    r.applyUpdate('b', announce([P], attrs({ asPath: [seq(65003)] }), '10.255.3.1'));
    expect(r.decision(P)).toMatchObject({ best: { peer: 'b' }, step: 'peer-address' });
  });

  test('a single candidate is best as the only path; paths() lists candidates best first', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2));
    r.addPeer(peer('b', 65003, 3));
    r.addPeer(peer('c', 65004, 4));
    r.applyUpdate('a', announce([P], attrs({ asPath: [seq(65002, 1, 2)] }), '10.255.2.1'));
    expect(r.decision(P)?.step).toBe('only-path');
    r.applyUpdate('b', announce([P], attrs({ asPath: [seq(65003)] }), '10.255.3.1'));
    r.applyUpdate('c', announce([P], attrs({ asPath: [seq(65004, 1)] }), '10.255.4.1'));
    expect(r.paths(P).map((x) => x.peer)).toEqual(['b', 'c', 'a']);
  });
});

describe('compare(): the pairwise form names the deciding step', () => {
  const ctx: DecisionContext = {
    localAsn: LOCAL_ASN,
    localRouterIdNum: 0xc0000201,
    peers: new Map([
      ['a', { ebgp: true, routerIdNum: 1, addressKey: '4010000001' }],
      ['b', { ebgp: true, routerIdNum: 2, addressKey: '4010000002' }],
    ]),
  };
  const route = (peerId: string | null, over: Partial<Route> = {}): Route => ({
    prefix: P,
    peer: peerId,
    source: peerId === null ? 'static' : 'bgp',
    attrs: attrs({ asPath: [seq(65002)] }),
    nextHop: peerId === null ? null : '10.255.2.1',
    nextHopLinkLocal: null,
    ...over,
  });

  test('each step in order', () => {
    const a = route('a');
    const b = route('b');
    expect(compare(ctx, a, route('b', { nextHop: '224.0.0.1' }))).toEqual({ better: a, step: 'next-hop' });
    expect(compare(ctx, a, b)).toEqual({ better: a, step: 'router-id' });
    const lp = route('b', { attrs: attrs({ asPath: [seq(65002)], localPref: 101 }) });
    expect(compare(ctx, a, lp)).toEqual({ better: lp, step: 'local-pref' });
    const local = route(null);
    expect(compare(ctx, a, local)).toEqual({ better: local, step: 'local-origin' });
    const med = route('b', { attrs: attrs({ asPath: [seq(65002)], med: 7 }) });
    expect(compare(ctx, med, route('a', { attrs: attrs({ asPath: [seq(65002)], med: 8 }) })).step).toBe('med');
    expect(compare(ctx, a, a)).toEqual({ better: null, step: 'equal' });
  });
});
