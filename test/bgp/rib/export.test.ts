import { describe, expect, test } from 'vitest';
import { AFI_IPV4, AFI_IPV6, MessageType, Origin, SAFI_UNICAST } from '#bgp/wire/types';
import { encodeMessage } from '#bgp/wire/index';
import type { UpdateMessage } from '#bgp/wire/types';
import { MAX_MESSAGE_SIZE, Rib, isEndOfRib, updateSize } from '#bgp/rib/index';
import type { LocRibChange, PeerInfo } from '#bgp/rib/index';
import { compileChain } from '#bgp/policy/engine';
import type { PolicyDefinitions } from '#config/types';
import { BgpRole } from '#bgp/wire/types';
import {
  LOCAL_ASN,
  LOCAL_ROUTER_ID,
  announce,
  announceMp,
  announced,
  attrs,
  peer,
  seq,
  withdraw,
  withdrawMp,
  withdrawnOf,
} from './helpers.js';

const V4_ONLY = [{ afi: AFI_IPV4, safi: SAFI_UNICAST }];

function rib(): Rib {
  return new Rib({ asn: LOCAL_ASN, routerId: LOCAL_ROUTER_ID });
}

/** A hub (AS 65001) with eBGP spokes a (65002), b (65003), c (65004). */
function hub(): Rib {
  const r = rib();
  r.addPeer(peer('a', 65002, 2));
  r.addPeer(peer('b', 65003, 3));
  r.addPeer(peer('c', 65004, 4));
  return r;
}

describe('RFC 4271 §9.2 export to eBGP peers', () => {
  test("a hub relays spoke a's route to b and c with its ASN prepended and itself as next hop, not back to a", () => {
    const r = hub();
    const changes = r.applyUpdate(
      'a',
      announce(['10.2.0.0/24'], attrs({ asPath: [seq(65002)], med: 20, communities: [0xfde80001] }), '10.255.2.1'),
    );
    for (const [id, n] of [['b', 3], ['c', 4]] as const) {
      const out = r.exportChanges(id, changes);
      expect(out).toEqual([
        {
          type: MessageType.Update,
          withdrawn: [],
          nlri: ['10.2.0.0/24'],
          attributes: {
            origin: Origin.Igp,
            asPath: [seq(LOCAL_ASN, 65002)],
            nextHop: `10.255.${n}.0`,
            communities: [0xfde80001],
          },
        },
      ]);
      expect(r.advertisedCount(id)).toBe(1);
    }
    expect(r.exportChanges('a', changes)).toEqual([]);
    expect(r.advertisedCount('a')).toBe(0);
  });

  test('RFC 4271 §9.1.2: a peer whose ASN is already in the AS_PATH does not get the route', () => {
    const r = hub();
    r.addPeer(peer('d', 65005, 5));
    const changes = r.applyUpdate('a', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65002, 65005)] }), '10.255.2.1'));
    expect(r.exportChanges('d', changes)).toEqual([]);
    expect(announced(r.exportChanges('b', changes))).toEqual(['10.2.0.0/24']);
  });

  test('when the best path moves to the peer itself, that peer gets a withdrawal', () => {
    const r = hub();
    const c1 = r.applyUpdate('a', announce(['10.7.0.0/24'], attrs({ asPath: [seq(65002, 65100)] }), '10.255.2.1'));
    expect(announced(r.exportChanges('b', c1))).toEqual(['10.7.0.0/24']);
    const c2 = r.applyUpdate('b', announce(['10.7.0.0/24'], attrs({ asPath: [seq(65003)] }), '10.255.3.1'));
    expect(r.best('10.7.0.0/24')?.peer).toBe('b');
    const toB = r.exportChanges('b', c2);
    expect(withdrawnOf(toB)).toEqual(['10.7.0.0/24']);
    expect(r.advertisedCount('b')).toBe(0);
    // c now hears the path through b.
    expect(r.exportChanges('c', [...c1, ...c2])[0]?.attributes.asPath).toEqual([seq(LOCAL_ASN, 65003)]);
  });

  test('a withdrawn best path is withdrawn from every peer that had it, once', () => {
    const r = hub();
    const c1 = r.applyUpdate('a', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    r.exportChanges('b', c1);
    const c2 = r.applyUpdate('a', withdraw(['10.2.0.0/24']));
    expect(r.exportChanges('b', c2)).toEqual([
      { type: MessageType.Update, withdrawn: ['10.2.0.0/24'], attributes: {}, nlri: [] },
    ]);
    expect(r.exportChanges('b', c2)).toEqual([]);
    // c was never sent it, so it gets no withdrawal either.
    expect(r.exportChanges('c', c2)).toEqual([]);
  });

  test('a prefix named twice in one batch is announced once, and withdrawn once', () => {
    const r = hub();
    const c1 = r.applyUpdate('a', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    const c2 = r.applyUpdate('a', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65002)], med: 5 }), '10.255.2.1'));
    expect(announced(r.exportChanges('b', [...c1, ...c2, ...c1]))).toEqual(['10.2.0.0/24']);
    const c3 = r.applyUpdate('a', withdraw(['10.2.0.0/24']));
    expect(withdrawnOf(r.exportChanges('b', [...c3, ...c3]))).toEqual(['10.2.0.0/24']);
  });

  test("a peer's own table costs it no Adj-RIB-Out, and a prefix it was sent is withdrawn when it becomes its own", () => {
    const r = hub();
    const fromB = r.applyUpdate('b', announce(['10.3.0.0/24', '10.4.0.0/24'], attrs({ asPath: [seq(65003)] }), '10.255.3.1'));
    expect(r.exportChanges('b', fromB)).toEqual([]);
    expect(r.advertisedCount('b')).toBe(0);
    const fromA = r.applyUpdate('a', announce(['10.5.0.0/24'], attrs({ asPath: [seq(65002, 65100)] }), '10.255.2.1'));
    expect(announced(r.exportChanges('b', fromA))).toEqual(['10.5.0.0/24']);
    const takeover = r.applyUpdate('b', announce(['10.5.0.0/24'], attrs({ asPath: [seq(65003)] }), '10.255.3.1'));
    expect(withdrawnOf(r.exportChanges('b', [...fromB, ...takeover]))).toEqual(['10.5.0.0/24']);
    expect(r.advertisedCount('b')).toBe(0);
  });

  test('the same changes exported twice produce nothing the second time', () => {
    const r = hub();
    const c = r.applyUpdate('a', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    expect(r.exportChanges('b', c)).toHaveLength(1);
    expect(r.exportChanges('b', c)).toEqual([]);
  });

  test('RFC 4271 §5: unknown optional transitive attributes pass on with the Partial bit, others do not', () => {
    const r = hub();
    const unknown = [
      { flags: 0xc0, code: 99, value: new Uint8Array([1, 2]) },
      { flags: 0x80, code: 98, value: new Uint8Array([3]) },
    ];
    const c = r.applyUpdate('a', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65002)], unknown }), '10.255.2.1'));
    expect(r.exportChanges('b', c)[0]?.attributes.unknown).toEqual([
      { flags: 0xe0, code: 99, value: new Uint8Array([1, 2]) },
    ]);
  });

  test('RFC 1997: NO_EXPORT stays inside the AS, NO_ADVERTISE goes nowhere', () => {
    const r = hub();
    r.addPeer(peer('i', LOCAL_ASN, 6));
    const c = r.applyUpdate(
      'a',
      announce(['10.2.0.0/24'], attrs({ asPath: [seq(65002)], communities: [0xffffff01] }), '10.255.2.1'),
    );
    expect(r.exportChanges('b', c)).toEqual([]);
    expect(announced(r.exportChanges('i', c))).toEqual(['10.2.0.0/24']);
    const c2 = r.applyUpdate(
      'a',
      announce(['10.2.0.0/24'], attrs({ asPath: [seq(65002)], communities: [0xffffff02] }), '10.255.2.1'),
    );
    expect(withdrawnOf(r.exportChanges('i', c2))).toEqual(['10.2.0.0/24']);
  });
});

describe('extended and large communities on export', () => {
  /** RFC 5701 §2: type high octet, sub-type 0x02, a 2001:db8:: address, local 100. */
  const v6Community = (typeHigh: number, n: number): number[] => [typeHigh, 2, 0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), n, 0, 100];
  const transitive = [0x0002fdea, 100] as const;
  const nonTransitive = [0x4004fdea, 0x4cee6b28] as const;
  const large = [[4200000001, 1, 2] as const, [65002, 100, 200] as const];

  test('RFC 4360 §6: to an external peer non-transitive extended communities are removed, the rest pass unchanged; inside the AS all pass', () => {
    const r = hub();
    r.addPeer(peer('i', LOCAL_ASN, 6));
    const a = attrs({
      asPath: [seq(65002)],
      extendedCommunities: [nonTransitive, transitive],
      ipv6ExtendedCommunities: Uint8Array.from([...v6Community(0x40, 1), ...v6Community(0x00, 2)]),
      largeCommunities: large,
    });
    const c = r.applyUpdate('a', announce(['10.2.0.0/24'], a, '10.255.2.1'));
    const toB = r.exportChanges('b', c)[0]!.attributes;
    expect(toB.extendedCommunities).toEqual([transitive]);
    expect(Array.from(toB.ipv6ExtendedCommunities!)).toEqual(v6Community(0x00, 2));
    expect(toB.largeCommunities).toEqual(large);
    const toI = r.exportChanges('i', c)[0]!.attributes;
    expect(toI.extendedCommunities).toEqual([nonTransitive, transitive]);
    expect(Array.from(toI.ipv6ExtendedCommunities!)).toEqual([...v6Community(0x40, 1), ...v6Community(0x00, 2)]);
    expect(toI.largeCommunities).toEqual(large);
  });

  test('only non-transitive extended communities: none are sent to an external peer', () => {
    const r = hub();
    const a = attrs({ asPath: [seq(65002)], extendedCommunities: [nonTransitive], ipv6ExtendedCommunities: Uint8Array.from(v6Community(0x40, 1)) });
    const sent = r.exportChanges('b', r.applyUpdate('a', announce(['10.2.0.0/24'], a, '10.255.2.1')))[0]!.attributes;
    expect(sent.extendedCommunities).toBeUndefined();
    expect(sent.ipv6ExtendedCommunities).toBeUndefined();
  });

  test('two routes whose attributes differ only in large communities are sent each with its own', () => {
    const r = hub();
    const c = [
      ...r.applyUpdate('a', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65002)], largeCommunities: [[65002, 1, 1]] }), '10.255.2.1')),
      ...r.applyUpdate('a', announce(['10.3.0.0/24'], attrs({ asPath: [seq(65002)], largeCommunities: [[65002, 1, 2]] }), '10.255.2.1')),
    ];
    const out = r.exportChanges('b', c);
    expect(out.map((u) => [u.nlri, u.attributes.largeCommunities])).toEqual([
      [['10.2.0.0/24'], [[65002, 1, 1]]],
      [['10.3.0.0/24'], [[65002, 1, 2]]],
    ]);
  });

  test('RFC 4271 §4: UPDATEs packed with long community lists still fit 4096 octets, as encoded', () => {
    const r = hub();
    const a = attrs({
      asPath: [seq(65002)],
      extendedCommunities: Array.from({ length: 100 }, (_, i) => [0x0002fdea, i] as const),
      ipv6ExtendedCommunities: new Uint8Array(200),
      largeCommunities: Array.from({ length: 150 }, (_, i) => [65002, i, i] as const),
    });
    const out = r.exportChanges('b', r.applyUpdate('a', announce(prefixes(2000), a, '10.255.2.1')));
    expect(announced(out)).toHaveLength(2000);
    for (const u of out) {
      expect(updateSize(u)).toBeLessThanOrEqual(MAX_MESSAGE_SIZE);
      expect(encodeMessage(u, { fourOctetAs: true }).length).toBeLessThanOrEqual(updateSize(u));
    }
  });
});

describe('RFC 4271 §9.2 export to iBGP peers', () => {
  test('iBGP-learned routes are not sent to iBGP peers, but are sent to eBGP peers', () => {
    const r = rib();
    r.addPeer(peer('i1', LOCAL_ASN, 2));
    r.addPeer(peer('i2', LOCAL_ASN, 3));
    r.addPeer(peer('e', 65003, 4));
    const c = r.applyUpdate('i1', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65009)], localPref: 120 }), '10.255.2.1'));
    expect(r.exportChanges('i2', c)).toEqual([]);
    const toE = r.exportChanges('e', c);
    expect(toE[0]?.attributes).toEqual({ origin: Origin.Igp, asPath: [seq(LOCAL_ASN, 65009)], nextHop: '10.255.4.0' });
  });

  test('eBGP-learned routes go to iBGP peers with AS_PATH unchanged, LOCAL_PREF and MED kept, next hop self', () => {
    const r = rib();
    r.addPeer(peer('e', 65002, 2));
    r.addPeer(peer('i', LOCAL_ASN, 3));
    const c = r.applyUpdate('e', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65002)], med: 5 }), '10.255.2.1'));
    expect(r.exportChanges('i', c)[0]?.attributes).toEqual({
      origin: Origin.Igp,
      asPath: [seq(65002)],
      nextHop: '10.255.3.0',
      med: 5,
      localPref: 100,
    });
  });

  test('locally originated: AS_PATH [ourAsn] to eBGP; empty AS_PATH and LOCAL_PREF 100 to iBGP; ORIGIN IGP', () => {
    const r = rib();
    r.addPeer(peer('e', 65002, 2));
    r.addPeer(peer('i', LOCAL_ASN, 3));
    const c = r.originate('10.1.0.0/24', 'static');
    expect(r.exportChanges('e', c)[0]?.attributes).toEqual({
      origin: Origin.Igp,
      asPath: [seq(LOCAL_ASN)],
      nextHop: '10.255.2.0',
    });
    expect(r.exportChanges('i', c)[0]?.attributes).toEqual({
      origin: Origin.Igp,
      asPath: [],
      nextHop: '10.255.3.0',
      localPref: 100,
    });
  });
});

describe('IPv6 and RFC 8950', () => {
  test('RFC 2545 §3: IPv6 routes go in MP_REACH_NLRI with our global and link-local next hops', () => {
    const r = hub();
    const c = r.applyUpdate('a', announceMp(['2001:db8:2::/48'], attrs({ asPath: [seq(65002)] }), ['fd00:255:2::1']));
    expect(r.exportChanges('b', c)).toEqual([
      {
        type: MessageType.Update,
        withdrawn: [],
        nlri: [],
        attributes: { origin: Origin.Igp, asPath: [seq(LOCAL_ASN, 65002)] },
        mpReach: { afi: AFI_IPV6, safi: SAFI_UNICAST, nextHops: ['fd00:255:3::', 'fe80::a:3'], nlri: ['2001:db8:2::/48'] },
      },
    ]);
    const w = r.applyUpdate('a', { ...announce([], {}, '0.0.0.0'), mpUnreach: { afi: AFI_IPV6, safi: 1, withdrawn: ['2001:db8:2::/48'] } });
    expect(r.exportChanges('b', w)).toEqual([
      {
        type: MessageType.Update,
        withdrawn: [],
        nlri: [],
        attributes: {},
        mpUnreach: { afi: AFI_IPV6, safi: SAFI_UNICAST, withdrawn: ['2001:db8:2::/48'] },
      },
    ]);
  });

  test('RFC 8950: IPv4 routes to an unnumbered peer go in MP_REACH afi 1 with the IPv6 next hop, only if negotiated', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2));
    const unnumbered = { localAddressV4: null, localAddressV6: null, address: 'fe80::3' };
    r.addPeer(peer('enh', 65003, 3, { ...unnumbered, extendedNextHop: true }));
    r.addPeer(peer('plain', 65004, 4, { ...unnumbered, extendedNextHop: false }));
    const c = r.applyUpdate('a', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    const out = r.exportChanges('enh', c);
    expect(out).toHaveLength(1);
    expect(out[0]?.nlri).toEqual([]);
    expect(out[0]?.attributes.nextHop).toBeUndefined();
    expect(out[0]?.mpReach).toEqual({ afi: AFI_IPV4, safi: SAFI_UNICAST, nextHops: ['fe80::a:3'], nlri: ['10.2.0.0/24'] });
    expect(r.exportChanges('plain', c)).toEqual([]);
    const w = r.applyUpdate('a', withdraw(['10.2.0.0/24']));
    expect(r.exportChanges('enh', w)[0]?.mpUnreach).toEqual({ afi: AFI_IPV4, safi: SAFI_UNICAST, withdrawn: ['10.2.0.0/24'] });
  });

  test('only families the peer negotiated are sent', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2));
    r.addPeer(peer('v4', 65003, 3, { families: V4_ONLY }));
    r.originate('10.1.0.0/24', 'static');
    r.originate('2001:db8:1::/48', 'static');
    const out = r.exportFull('v4');
    expect(announced(out)).toEqual(['10.1.0.0/24']);
    expect(out.filter((u) => isEndOfRib(u) !== null).map(isEndOfRib)).toEqual([{ afi: AFI_IPV4, safi: SAFI_UNICAST }]);
  });
});

describe('exportFull and End-of-RIB', () => {
  test('RFC 4724 §2: the full table is followed by an End-of-RIB per negotiated family', () => {
    const r = hub();
    r.originate('10.1.0.0/24', 'static');
    r.originate('2001:db8:1::/48', 'static');
    r.applyUpdate('a', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    const out = r.exportFull('b');
    expect(announced(out).sort()).toEqual(['10.1.0.0/24', '10.2.0.0/24', '2001:db8:1::/48']);
    expect(out.slice(-2)).toEqual([
      { type: MessageType.Update, withdrawn: [], attributes: {}, nlri: [] },
      { type: MessageType.Update, withdrawn: [], attributes: {}, nlri: [], mpUnreach: { afi: AFI_IPV6, safi: SAFI_UNICAST, withdrawn: [] } },
    ]);
    expect(out.slice(0, -2).every((u) => isEndOfRib(u) === null)).toBe(true);
    expect(r.advertisedCount('b')).toBe(3);
    // A second full export (route refresh) sends the same table again.
    expect(announced(r.exportFull('b')).sort()).toEqual(['10.1.0.0/24', '10.2.0.0/24', '2001:db8:1::/48']);
    expect(r.advertisedCount('b')).toBe(3);
    // Nothing learned from a itself goes back to a.
    expect(announced(r.exportFull('a')).sort()).toEqual(['10.1.0.0/24', '2001:db8:1::/48']);
  });

  test('exportFullSteps sends what exportFull does, in steps; a change exported in between is not repeated, a prefix gone is skipped', () => {
    const r = hub();
    const prefixes = Array.from({ length: 50 }, (_, i) => `10.${i}.0.0/24`);
    r.applyUpdate('a', announce(prefixes, attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    r.originate('2001:db8:1::/48', 'static');
    const steps = r.exportFullSteps('b')!;
    expect(r.advertisedCount('b')).toBe(0);
    const sent: UpdateMessage[] = [...steps.next(10)];
    expect(announced(sent)).toHaveLength(10);
    expect(steps.done).toBe(false);
    // In between: one prefix not yet reached is withdrawn, another gets a new path (exported at once).
    const late = prefixes[40]!;
    const gone = prefixes[41]!;
    const w = r.applyUpdate('a', withdraw([gone]));
    expect(r.exportChanges('b', w)).toEqual([]);
    const c = r.applyUpdate('a', announce([late], attrs({ asPath: [seq(65002, 65010)] }), '10.255.2.1'));
    sent.push(...r.exportChanges('b', c));
    while (!steps.done) sent.push(...steps.next(10));
    const all = announced(sent);
    // Every prefix once but the one withdrawn; the changed one once (the step found it current).
    expect(all.filter((p) => p === late)).toHaveLength(1);
    expect(all).not.toContain(gone);
    expect([...all].sort()).toEqual([...prefixes.filter((p) => p !== gone), '2001:db8:1::/48'].sort());
    expect(r.advertisedCount('b')).toBe(50);
    expect(r.endOfRibs('b').map(isEndOfRib)).toEqual([
      { afi: AFI_IPV4, safi: SAFI_UNICAST },
      { afi: AFI_IPV6, safi: SAFI_UNICAST },
    ]);
    // The same table as exportFull gives.
    expect(announced(r.exportFull('b')).sort()).toEqual([...all].sort());
  });
});

/** The codec, if it has landed: checks the size function is an upper bound of the real encoding. */
async function loadEncoder(): Promise<((u: UpdateMessage) => Uint8Array) | null> {
  const spec = '#bgp/wire/index';
  try {
    const mod = (await import(/* @vite-ignore */ spec)) as { encodeMessage?: unknown };
    if (typeof mod.encodeMessage !== 'function') return null;
    const encode = mod.encodeMessage as (m: UpdateMessage, ctx: { fourOctetAs: boolean }) => Uint8Array;
    return (u) => encode(u, { fourOctetAs: true });
  } catch {
    return null;
  }
}

describe('UPDATE packing (RFC 4271 §4: 4096 octets at most)', () => {
  const prefixes = Array.from({ length: 10000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
  const prefixes6 = Array.from({ length: 10000 }, (_, i) => `2001:db8:${(i + 1).toString(16)}::/48`); // canonical texts: group 0 would be "2001:db8::/48"

  test('10000 IPv4 and 10000 IPv6 prefixes are split into UPDATEs of at most 4096 octets, grouped by attributes', async () => {
    const r = hub();
    const changes: LocRibChange[] = [];
    const a1 = attrs({ asPath: [seq(65002, 65010, 65011)], communities: [1, 2, 3] });
    const a2 = attrs({ asPath: [seq(65002, 65020)] });
    changes.push(...r.applyUpdate('a', announce(prefixes.slice(0, 6000), a1, '10.255.2.1')));
    changes.push(...r.applyUpdate('a', announce(prefixes.slice(6000), a2, '10.255.2.1')));
    changes.push(...r.applyUpdate('a', announceMp(prefixes6, a1, ['fd00:255:2::1'])));
    const out = r.exportChanges('b', changes);
    for (const u of out) expect(updateSize(u)).toBeLessThanOrEqual(MAX_MESSAGE_SIZE);
    expect(announced(out).sort()).toEqual([...prefixes, ...prefixes6].sort());
    // Packed full: within a run of one attribute set and family, every message but the last has no room left for another prefix.
    const runs = new Map<string, UpdateMessage[]>();
    const sets = new Map<unknown, number>();
    for (const u of out) {
      if (!sets.has(u.attributes)) sets.set(u.attributes, sets.size);
      const key = `${sets.get(u.attributes)}/${u.mpReach ? u.mpReach.afi : 1}`;
      runs.set(key, [...(runs.get(key) ?? []), u]);
    }
    expect(runs.size).toBe(3);
    for (const run of runs.values()) {
      for (const u of run.slice(0, -1)) expect(updateSize(u)).toBeGreaterThan(MAX_MESSAGE_SIZE - 17);
    }
    expect(out.length).toBeLessThan(60);
    // Each message carries one attribute set.
    const v4Sets = new Set(out.filter((u) => u.nlri.length > 0).map((u) => u.attributes));
    expect(v4Sets.size).toBe(2);
    const withdrawals = r.exportChanges('b', r.removePeer('a'));
    for (const u of withdrawals) expect(updateSize(u)).toBeLessThanOrEqual(MAX_MESSAGE_SIZE);
    expect(withdrawnOf(withdrawals).sort()).toEqual([...prefixes, ...prefixes6].sort());
    expect(r.advertisedCount('b')).toBe(0);

    const encode = await loadEncoder();
    if (encode) {
      for (const u of [...out, ...withdrawals]) {
        const n = encode(u).length;
        expect(n).toBeLessThanOrEqual(MAX_MESSAGE_SIZE);
        expect(n).toBeLessThanOrEqual(updateSize(u));
      }
    }
  });

  test('a route whose attributes alone cannot fit one UPDATE is not advertised', () => {
    const r = hub();
    const huge = attrs({ asPath: [seq(65002)], communities: Array.from({ length: 1100 }, (_, i) => i) });
    const c = r.applyUpdate('a', announce(['10.2.0.0/24'], huge, '10.255.2.1'));
    expect(r.best('10.2.0.0/24')).toBeDefined();
    expect(r.exportChanges('b', c)).toEqual([]);
    expect(r.advertisedCount('b')).toBe(0);
  });
});

describe('export attribute interning', () => {
  test('all prefixes sent to a peer with the same attributes share one export object, released on withdrawal', () => {
    const r = hub();
    const c = r.applyUpdate('a', announce(prefixes(300), attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    const out = r.exportChanges('b', c);
    const sent = out[0]!.attributes;
    expect(out.every((u) => u.attributes === sent)).toBe(true);
    expect(r.exportAttributes.refCount(sent)).toBe(300);
    r.exportChanges('b', r.removePeer('a'));
    expect(r.exportAttributes.refCount(sent)).toBe(0);
    expect(r.exportAttributes.size).toBe(0);
  });
});

function prefixes(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
}

describe('OSPF → BGP (redistributed routes, issue 9)', () => {
  /** a takes every OSPF route, b only 10.0.0.0/8 le 24, c none. */
  function withOspf(): Rib {
    const r = rib();
    r.addPeer(peer('a', 65002, 2, { advertiseOspf: () => true }));
    r.addPeer(peer('b', 65003, 3, { advertiseOspf: (p) => p.startsWith('10.') }));
    r.addPeer(peer('c', 65004, 4));
    return r;
  }
  test('sent as ours (ORIGIN INCOMPLETE, our AS) only to the neighbors that take it; the Loc-RIB does not change', () => {
    const r = withOspf();
    const changes = r.redistribute('10.9.0.0/24', true);
    expect(changes).toEqual([{ prefix: '10.9.0.0/24', best: null, previous: null }]);
    expect(r.best('10.9.0.0/24')).toBeUndefined();
    const toA = r.exportChanges('a', changes);
    expect(announced(toA)).toEqual(['10.9.0.0/24']);
    expect(toA[0]).toMatchObject({ attributes: { origin: Origin.Incomplete, asPath: [seq(LOCAL_ASN)], nextHop: '10.255.2.0' } });
    expect(announced(r.exportChanges('b', changes))).toEqual(['10.9.0.0/24']);
    expect(r.exportChanges('c', changes)).toEqual([]);
    const other = r.redistribute('192.168.9.0/24', true);
    expect(announced(r.exportChanges('a', other))).toEqual(['192.168.9.0/24']);
    expect(r.exportChanges('b', other)).toEqual([]);
  });
  test('a BGP path for the prefix is exported instead (the Loc-RIB wins), and the OSPF route again when it goes', () => {
    const r = withOspf();
    r.exportChanges('b', r.redistribute('10.9.0.0/24', true));
    const bgp = r.applyUpdate('a', announce(['10.9.0.0/24'], attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    const toB = r.exportChanges('b', bgp);
    expect(toB[0]).toMatchObject({ attributes: { origin: Origin.Igp, asPath: [seq(LOCAL_ASN, 65002)] } });
    const gone = r.applyUpdate('a', withdraw(['10.9.0.0/24']));
    expect(r.exportChanges('b', gone)[0]).toMatchObject({ attributes: { origin: Origin.Incomplete, asPath: [seq(LOCAL_ASN)] } });
  });
  test('withdrawn when OSPF loses it; in the full table of a neighbor that comes up; the attribute set is released', () => {
    const r = withOspf();
    const add = r.redistribute('10.9.0.0/24', true);
    r.exportChanges('a', add);
    const shared = r.attributes.size;
    expect(withdrawnOf(r.exportChanges('a', r.redistribute('10.9.0.0/24', false)))).toEqual(['10.9.0.0/24']);
    expect(r.attributes.size).toBe(shared - 1);
    r.redistribute('10.8.0.0/24', true);
    expect(announced(r.exportFull('a'))).toEqual(['10.8.0.0/24']);
    expect(announced(r.exportFull('c'))).toEqual([]);
    // Offered again: a touch, so the peers' filters look at it anew (the Loc-RIB is unchanged).
    expect(r.redistribute('10.8.0.0/24', true)).toEqual([{ prefix: '10.8.0.0/24', best: null, previous: null }]);
    expect(r.redistribute('10.7.0.0/24', false)).toEqual([]);
  });
});

describe('re-export after an export policy change (no session reset)', () => {
  test('a peer whose filter changed gets the difference: withdrawals for what it may no longer have, announcements for what it may now', () => {
    const r = rib();
    let allow = (p: string): boolean => p === '10.9.0.0/24';
    r.addPeer(peer('a', 65002, 2, { advertiseOspf: (p) => allow(p) }));
    r.exportChanges('a', [...r.redistribute('10.9.0.0/24', true), ...r.redistribute('10.8.0.0/24', true)]);
    allow = (p) => p === '10.8.0.0/24';
    expect(r.reexportLater('a')).toBeGreaterThan(0);
    const out = r.catchUp('a', Number.POSITIVE_INFINITY);
    expect(withdrawnOf(out)).toEqual(['10.9.0.0/24']);
    expect(announced(out)).toEqual(['10.8.0.0/24']);
    r.reexportLater('a');
    expect(r.catchUp('a', Number.POSITIVE_INFINITY)).toEqual([]);
    expect(r.isBehind('a')).toBe(false);
  });
});

describe('prefix numbers (issue 10: the RIB keys its columns by number)', () => {
  test('every number is given back: exported OSPF routes, a restart kept stale and swept, our origins, the Adj-RIBs-Out of peers that go', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2, { advertiseOspf: () => true }));
    r.addPeer(peer('b', 65003, 3));
    // An OSPF route that only a's Adj-RIB-Out names.
    r.exportChanges('a', r.redistribute('10.9.0.0/24', true));
    expect(r.prefixes.size).toBe(1);
    // b's paths go to a; b restarts and keeps them stale, re-announces one, the rest is swept.
    r.exportChanges('a', r.applyUpdate('b', announce(['10.1.0.0/24', '10.2.0.0/24', '10.3.0.0/24'], attrs({ asPath: [seq(65003)] }), '10.255.3.1')));
    expect(r.retainStale('b')).toBe(3);
    r.addPeer(peer('b', 65003, 3));
    r.exportChanges('a', r.applyUpdate('b', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65003)] }), '10.255.3.1')));
    r.exportChanges('a', r.sweepStale('b'));
    expect(r.advertisedCount('a')).toBe(2);
    r.exportChanges('a', r.originate('10.5.0.0/24', 'static'));
    r.exportChanges('a', r.originate('10.5.0.0/24', 'connected'));
    expect(r.prefixes.size).toBe(3);
    r.exportChanges('a', r.withdrawOrigin('10.5.0.0/24'));
    r.exportChanges('a', r.redistribute('10.9.0.0/24', false));
    r.exportChanges('a', r.removePeer('b'));
    expect(r.advertisedCount('a')).toBe(0);
    expect(r.prefixes.size).toBe(0);
    // A peer that goes while its Adj-RIB-Out still names prefixes gives those back too.
    r.exportChanges('a', r.originate('10.6.0.0/24', 'static'));
    r.withdrawOrigin('10.6.0.0/24');
    expect(r.prefixes.size).toBe(1);
    r.removePeer('a');
    expect(r.prefixes.size).toBe(0);
  });
});

describe('exportToPeers (issue 10: one pass over the changes for all peers)', () => {
  test('gives each peer what exportChanges would, in the order asked, and nothing to a peer not in the RIB', () => {
    const build = (): Rib => {
      const r = rib();
      r.addPeer(peer('a', 65002, 2));
      r.addPeer(peer('b', 65003, 3));
      r.addPeer(peer('c', 65004, 4, { advertiseOspf: () => true }));
      return r;
    };
    const script = (r: Rib): LocRibChange[][] => [
      r.applyUpdate('a', announce(['10.1.0.0/24', '10.2.0.0/24'], attrs({ asPath: [seq(65002)] }), '10.255.2.1')),
      r.applyUpdate('b', announce(['10.2.0.0/24', '10.3.0.0/24'], attrs({ asPath: [seq(65003)] }), '10.255.3.1')),
      r.redistribute('10.9.0.0/24', true),
      r.applyUpdate('a', withdraw(['10.2.0.0/24'])),
      r.removePeer('b'),
    ];
    const one = build();
    const each = script(one).map((changes) => ['c', 'a', 'b'].map((p) => one.exportChanges(p, changes)));
    const all = build();
    const together = script(all).map((changes) => all.exportToPeers(['c', 'a', 'b', 'nobody'], changes));
    expect(together.map((x) => x.slice(0, 3))).toEqual(each);
    expect(together.every((x) => x[3]!.length === 0)).toBe(true);
    expect(all.advertisedCount('c')).toBe(one.advertisedCount('c'));
  });
});

const POLICIES: PolicyDefinitions = {
  prefixLists: {},
  asPathLists: {},
  asSets: {},
  communityLists: {},
  policies: { prepend: { terms: [{ name: 'once', match: {}, set: { prepend: { as: 'own', count: 1 } }, action: 'accept' }], default: 'accept' } },
};

describe('the MP export sets are made once for the peers that get the same (issue 10)', () => {
  test('eBGP peers without a role share one set; a peer with an RFC 9234 role, an iBGP peer and a peer with a policy get their own', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2));
    r.addPeer(peer('b', 65003, 3));
    r.addPeer(peer('c', 65004, 4));
    r.addPeer({ ...peer('d', 65005, 5), localRole: BgpRole.Provider } as PeerInfo);
    r.addPeer(peer('i', LOCAL_ASN, 6));
    r.addPeer(peer('e', 65007, 7));
    r.setExportPolicy('e', compileChain(POLICIES, ['prepend'], LOCAL_ASN, false, 'export'));
    const changes = r.applyUpdate('a', announceMp(['2001:db8:1::/48'], attrs({ asPath: [seq(65002)] }), ['fd00:255:2::1']));
    const [b, c, d, i, e] = r.exportToPeers(['b', 'c', 'd', 'i', 'e'], changes).map((list) => list[0]!.attributes);
    // RFC 4760 §3: the next hop travels in MP_REACH_NLRI, so the sets are equal for all of them; RFC 4271 §5.1.2: ours prepended.
    expect(b!.asPath).toEqual([seq(LOCAL_ASN, 65002)]);
    expect(c).toBe(b);
    // RFC 9234 §5: we are its Provider (it is our Customer): a route without OTC gets ours.
    expect(d!.otc).toBe(LOCAL_ASN);
    // RFC 4271 §5.1.5: LOCAL_PREF to an internal peer, AS_PATH as is.
    expect(i!.localPref).toBe(100);
    expect(i!.asPath).toEqual([seq(65002)]);
    expect(e!.asPath).toEqual([seq(LOCAL_ASN, LOCAL_ASN, 65002)]);
    for (const x of [d, i, e]) expect(x).not.toBe(b);
    // Withdrawn and announced again after the set was freed: made anew, still one for both.
    const gone = r.applyUpdate('a', withdrawMp(['2001:db8:1::/48']));
    r.exportToPeers(['b', 'c', 'd', 'i', 'e'], gone);
    const again = r.applyUpdate('a', announceMp(['2001:db8:1::/48'], attrs({ asPath: [seq(65002)], med: 7 }), ['fd00:255:2::1']));
    const [b2, c2] = r.exportToPeers(['b', 'c'], again).map((list) => list[0]!.attributes);
    expect(b2!.asPath).toEqual([seq(LOCAL_ASN, 65002)]);
    expect(c2).toBe(b2);
  });
});
