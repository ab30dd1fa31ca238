/**
 * Rib.receivedPaths: every peer's Adj-RIB-In path for one prefix, candidates
 * and the ones that are not (with the reason), for `wgbgp routes PREFIX`.
 */
import { describe, expect, it } from 'vitest';
import { Rib } from '#bgp/rib/index';
import { LOCAL_ASN, LOCAL_ROUTER_ID, announce, attrs, peer, seq, withdraw } from './helpers.js';

describe('Rib.receivedPaths', () => {
  it('lists each peer\'s path, eligible or not with its reason; our own origin and other prefixes are not among them', () => {
    const r = new Rib({ asn: LOCAL_ASN, routerId: LOCAL_ROUTER_ID });
    r.addPeer(peer('b', 65002, 1));
    r.addPeer(peer('c', 65003, 2));
    r.addPeer(peer('d', 65004, 3));
    r.originate('10.1.0.0/24', 'static');
    r.applyUpdate('b', announce(['10.1.0.0/24', '10.2.0.0/24'], attrs({ asPath: [seq(65002)] }), '10.255.1.1'));
    r.applyUpdate('c', announce(['10.1.0.0/24'], attrs({ asPath: [seq(65003, LOCAL_ASN)] }), '10.255.2.1'));
    r.applyUpdate('d', announce(['10.1.0.0/24'], attrs({ asPath: [seq(65004)] }), '127.0.0.1'));

    const got = r.receivedPaths('10.1.0.0/24').map((p) => [p.peer.id, p.route.peer, p.route.prefix, p.route.nextHop, p.ineligible]);
    expect(got).toEqual([
      ['b', 'b', '10.1.0.0/24', '10.255.1.1', null],
      ['c', 'c', '10.1.0.0/24', '10.255.2.1', 'as-path-loop'],
      ['d', 'd', '10.1.0.0/24', '127.0.0.1', 'next-hop-unusable'],
    ]);
    // The same answers as ineligibleReason, peer by peer.
    for (const p of r.receivedPaths('10.1.0.0/24')) expect(r.ineligibleReason(p.peer.id, '10.1.0.0/24')).toBe(p.ineligible);
    // The candidates are our own route and b's; paths() has them, best first.
    expect(r.paths('10.1.0.0/24').map((p) => p.peer)).toEqual([null, 'b']);

    r.applyUpdate('b', withdraw(['10.1.0.0/24']));
    expect(r.receivedPaths('10.1.0.0/24').map((p) => p.peer.id)).toEqual(['c', 'd']);
    expect(r.receivedPaths('10.9.0.0/24')).toEqual([]);
  });
});
