/**
 * The RIB's side of route refresh: an Adj-RIB-Out sent again in steps
 * (RFC 2918 §4, Rib.resendSteps) and a peer's family marked stale at its
 * BoRR and swept at its EoRR (RFC 7313 §4, Rib.markStale / sweepStale).
 */
import { describe, expect, test } from 'vitest';
import { AFI_IPV4, AFI_IPV6 } from '#bgp/wire/types';
import { Rib } from '#bgp/rib/index';
import { LOCAL_ASN, LOCAL_ROUTER_ID, announce, announceMp, announced, attrs, peer, seq, withdraw } from './helpers.js';

/** b (AS 65003) feeds IPv4 and IPv6 prefixes; a (AS 65002) is sent them. */
function fed(v4: string[], v6: string[] = []): Rib {
  const r = new Rib({ asn: LOCAL_ASN, routerId: LOCAL_ROUTER_ID });
  r.addPeer(peer('a', 65002, 2));
  r.addPeer(peer('b', 65003, 3));
  if (v4.length > 0) r.applyUpdate('b', announce(v4, attrs({ asPath: [seq(65003)] }), '10.255.3.1'));
  if (v6.length > 0) r.applyUpdate('b', announceMp(v6, attrs({ asPath: [seq(65003)] }), ['fd00:255:3::1']));
  r.exportFull('a');
  return r;
}

const v4 = (n: number): string[] => Array.from({ length: n }, (_, i) => `10.3.${i}.0/24`);

describe('RFC 2918 §4: the Adj-RIB-Out of a family sent again (Rib.resendSteps)', () => {
  test('every prefix of the family once, none of the other, in steps of at most `max`', () => {
    const r = fed(v4(10), ['2001:db8:3::/48']);
    const steps = r.resendSteps('a', AFI_IPV4)!;
    const first = steps.next(4);
    expect(announced(first)).toHaveLength(4);
    expect(steps.done).toBe(false);
    const rest = [...steps.next(4), ...steps.next(4)];
    expect(steps.done).toBe(true);
    expect(steps.next(4)).toEqual([]);
    expect([...announced(first), ...announced(rest)].sort()).toEqual(v4(10).sort());
    expect(steps.sent).toBe(10);
    expect(announced(r.resendSteps('a', AFI_IPV6)!.next(100))).toEqual(['2001:db8:3::/48']);
    // The Adj-RIB-Out is read, not changed: the next export still finds nothing to send.
    expect(r.advertisedCount('a')).toBe(11);
  });

  test('what changed between steps is sent as it stands then: a withdrawn prefix is skipped, a changed one goes with its new attributes', () => {
    const r = fed(v4(4));
    const steps = r.resendSteps('a', AFI_IPV4)!;
    r.exportChanges('a', r.applyUpdate('b', withdraw(['10.3.3.0/24'])));
    r.exportChanges('a', r.applyUpdate('b', announce(['10.3.2.0/24'], attrs({ asPath: [seq(65003, 65099)] }), '10.255.3.1')));
    const out = steps.next(100);
    expect(announced(out).sort()).toEqual(['10.3.0.0/24', '10.3.1.0/24', '10.3.2.0/24']);
    const changed = out.find((u) => u.nlri.includes('10.3.2.0/24'))!;
    expect(changed.attributes.asPath).toEqual([seq(65001, 65003, 65099)]);
  });

  test('a peer that left the RIB: null, and a resend under way ends', () => {
    const r = fed(v4(3));
    const steps = r.resendSteps('a', AFI_IPV4)!;
    r.removePeer('a');
    expect(steps.next(100)).toEqual([]);
    expect(steps.done).toBe(true);
    expect(r.resendSteps('a', AFI_IPV4)).toBeNull();
  });
});

describe('RFC 7313 §4: a family stale from BoRR to EoRR (Rib.markStale)', () => {
  test('only the family is marked; what is sent again is fresh; the sweep removes the rest of that family', () => {
    const r = fed(v4(3), ['2001:db8:3::/48']);
    expect(r.markStale('b', AFI_IPV4)).toBe(3);
    expect(r.staleCountOf('b', AFI_IPV4)).toBe(3);
    expect(r.staleCountOf('b', AFI_IPV6)).toBe(0);
    r.applyUpdate('b', announce(['10.3.0.0/24'], attrs({ asPath: [seq(65003)] }), '10.255.3.1'));
    expect(r.staleCountOf('b', AFI_IPV4)).toBe(2);
    // Stale paths stay candidates until the sweep.
    expect(r.best('10.3.1.0/24')).toBeDefined();
    const changes = r.sweepStale('b', AFI_IPV4);
    expect(changes.map((c) => c.prefix).sort()).toEqual(['10.3.1.0/24', '10.3.2.0/24']);
    expect(r.best('10.3.0.0/24')).toBeDefined();
    expect(r.best('2001:db8:3::/48')).toBeDefined();
    expect(r.hasStale('b')).toBe(false);
  });
});
