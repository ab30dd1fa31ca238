/**
 * Rib.acceptedCount per family, for max-prefix (RFC 4486 §4): the candidates
 * of each family, counted where Adj-RIB-In entries come, go and change
 * eligibility, never by walking the table.
 */
import { describe, expect, it } from 'vitest';
import { Rib } from '#bgp/rib/index';
import { AFI_IPV4, AFI_IPV6 } from '#bgp/wire/types';
import { LOCAL_ASN, LOCAL_ROUTER_ID, announce, announceMp, attrs, peer, seq, withdraw, withdrawMp } from './helpers.js';

function rib(): Rib {
  const r = new Rib({ asn: LOCAL_ASN, routerId: LOCAL_ROUTER_ID });
  r.addPeer(peer('b', 65002, 1));
  return r;
}

const counts = (r: Rib, id = 'b'): [number, number, number] => [r.acceptedCount(id), r.acceptedCount(id, AFI_IPV4), r.acceptedCount(id, AFI_IPV6)];

describe('Rib.acceptedCount by family', () => {
  it('counts each family as announced and withdrawn; a duplicate or an attribute change counts once', () => {
    const r = rib();
    r.applyUpdate('b', announce(['10.1.0.0/24', '10.2.0.0/24', '10.3.0.0/24'], attrs({ asPath: [seq(65002)] }), '10.255.1.1'));
    r.applyUpdate('b', announceMp(['2001:db8:1::/48', '2001:db8:2::/48'], attrs({ asPath: [seq(65002)] }), ['fd00:255:1::1']));
    expect(counts(r)).toEqual([5, 3, 2]);
    r.applyUpdate('b', announce(['10.1.0.0/24'], attrs({ asPath: [seq(65002, 65003)] }), '10.255.1.1'));
    r.applyUpdate('b', announceMp(['2001:db8:1::/48'], attrs({ asPath: [seq(65002)] }), ['fd00:255:1::1']));
    expect(counts(r)).toEqual([5, 3, 2]);
    r.applyUpdate('b', withdraw(['10.2.0.0/24', '10.9.0.0/24']));
    r.applyUpdate('b', withdrawMp(['2001:db8:2::/48']));
    expect(counts(r)).toEqual([3, 2, 1]);
  });

  it('RFC 4271 §9.1.2: a path rejected on import (our AS in its AS_PATH) is received, not accepted; accepted once it is fixed', () => {
    const r = rib();
    r.applyUpdate('b', announceMp(['2001:db8:1::/48'], attrs({ asPath: [seq(65002, LOCAL_ASN)] }), ['fd00:255:1::1']));
    expect(r.receivedCount('b')).toBe(1);
    expect(counts(r)).toEqual([0, 0, 0]);
    r.applyUpdate('b', announceMp(['2001:db8:1::/48'], attrs({ asPath: [seq(65002)] }), ['fd00:255:1::1']));
    expect(counts(r)).toEqual([1, 0, 1]);
    r.applyUpdate('b', announceMp(['2001:db8:1::/48'], attrs({ asPath: [seq(65002, LOCAL_ASN)] }), ['fd00:255:1::1']));
    expect(counts(r)).toEqual([0, 0, 0]);
  });

  it('RFC 4724 §4.2: stale paths kept over a restart keep their count; a removed peer counts nothing', () => {
    const r = rib();
    r.applyUpdate('b', announceMp(['2001:db8:1::/48', '2001:db8:2::/48'], attrs({ asPath: [seq(65002)] }), ['fd00:255:1::1']));
    r.retainStale('b');
    r.addPeer(peer('b', 65002, 1));
    expect(counts(r)).toEqual([2, 0, 2]);
    r.sweepStale('b');
    expect(counts(r)).toEqual([0, 0, 0]);
    r.applyUpdate('b', announceMp(['2001:db8:3::/48'], attrs({ asPath: [seq(65002)] }), ['fd00:255:1::1']));
    r.removePeer('b');
    expect(counts(r)).toEqual([0, 0, 0]);
    r.addPeer(peer('b', 65002, 1));
    expect(counts(r)).toEqual([0, 0, 0]);
  });
});
