/**
 * RFC 7911 send side in the RIB: a neighbor that negotiated receive is sent up
 * to N paths per prefix, best first, each with a stable Path Identifier, and
 * withdrawals by identifier; split horizon applies per path.
 */
import { describe, expect, test } from 'vitest';
import { AFI_IPV4, AFI_IPV6, decodeMessage, encodeMessage } from '#bgp/wire/index';
import type { CodecContext, UpdateMessage } from '#bgp/wire/index';
import { Rib } from '#bgp/rib/index';
import { compileChain } from '#bgp/policy/engine';
import type { PolicyDefinitions } from '#config/types';
import { LOCAL_ASN, LOCAL_ROUTER_ID, announce, announceMp, attrs, peer, seq, withdraw } from './helpers.js';

const P = '10.2.0.0/24';
const TX: CodecContext = { fourOctetAs: true, addPath: { receive: { ipv4: false, ipv6: false }, send: { ipv4: true, ipv6: true } } };

function setup(max = 2): Rib {
  const r = new Rib({ asn: LOCAL_ASN, routerId: LOCAL_ROUTER_ID });
  r.addPeer(peer('a', 65002, 2));
  r.addPeer(peer('b', 65003, 3));
  r.addPeer(peer('c', 65004, 4, { addPathSend: { ipv4: max, ipv6: max } }));
  return r;
}

/** (prefix, path id, first AS) announced, and (prefix, path id) withdrawn, over the UPDATEs; each must encode on an ADD-PATH session. */
function summary(us: readonly UpdateMessage[]): { announced: [string, number, number][]; withdrawn: [string, number][] } {
  const announced: [string, number, number][] = [];
  const withdrawn: [string, number][] = [];
  for (const u of us) {
    // The codec takes it (Path Identifiers where negotiated) and reads the same back.
    const back = decodeMessage(encodeMessage(u, TX), { fourOctetAs: true, addPath: { receive: TX.addPath!.send, send: TX.addPath!.receive } }).message as UpdateMessage;
    const first = back.attributes.asPath?.[0]?.asns[0] ?? 0;
    back.nlri.forEach((p, i) => announced.push([p, back.nlriPathIds![i]!, first]));
    back.withdrawn.forEach((p, i) => withdrawn.push([p, back.withdrawnPathIds![i]!]));
    back.mpReach?.nlri.forEach((p, i) => announced.push([p, back.mpReach!.pathIds![i]!, first]));
    back.mpUnreach?.withdrawn.forEach((p, i) => withdrawn.push([p, back.mpUnreach!.pathIds![i]!]));
  }
  return { announced, withdrawn };
}

describe('RFC 7911 send', () => {
  test('§3: two candidate paths from two neighbors both go to the neighbor that receives several, best first, distinct ids', () => {
    const r = setup();
    const c1 = r.applyUpdate('a', announce([P], attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    const c2 = r.applyUpdate('b', announce([P], attrs({ asPath: [seq(65003, 65030)] }), '10.255.3.1'));
    const s = summary([...r.exportChanges('c', c1), ...r.exportChanges('c', c2)]);
    const [ida, idb] = [s.announced[0]![1], s.announced[1]![1]];
    expect(s.announced).toEqual([
      [P, ida, 65001],
      [P, idb, 65001],
    ]);
    expect(ida).not.toBe(idb);
    expect(ida).toBeGreaterThan(0);
    // The neighbors without ADD-PATH are sent one path as before, without identifiers.
    expect(r.exportChanges('a', c2)).toEqual([]);
    // Whole table for c: both paths, the best first.
    const full = summary(r.exportFull('c').filter((u) => u.nlri.length > 0));
    expect(full.announced.map((x) => x[1])).toEqual([ida, idb]);
    expect(r.advertisedCount('c')).toBe(1);
  });

  test('a withdrawn path is withdrawn by its id; the other stays', () => {
    const r = setup();
    r.exportChanges('c', r.applyUpdate('a', announce([P], attrs({ asPath: [seq(65002)] }), '10.255.2.1')));
    const first = summary(r.exportChanges('c', r.applyUpdate('b', announce([P], attrs({ asPath: [seq(65003, 65030)] }), '10.255.3.1'))));
    // A second path that is not the best is a change for this neighbor: it is sent at once.
    expect(first.announced).toHaveLength(1);
    const idb = first.announced[0]![1];
    const s = summary(r.exportChanges('c', r.applyUpdate('b', withdraw([P]))));
    expect(s).toEqual({ announced: [], withdrawn: [[P, idb]] });
    const last = summary(r.exportChanges('c', r.applyUpdate('a', withdraw([P]))));
    expect(last.announced).toEqual([]);
    expect(last.withdrawn).toHaveLength(1);
    expect(r.advertisedCount('c')).toBe(0);
  });

  test('split horizon per path: the receiver\'s own path is not sent back, the others are', () => {
    const r = setup();
    r.applyUpdate('a', announce([P], attrs({ asPath: [seq(65002, 65020)] }), '10.255.2.1'));
    r.applyUpdate('b', announce([P], attrs({ asPath: [seq(65003, 65030)] }), '10.255.3.1'));
    // c's own path is the best (shortest AS path): it is skipped, the next two are sent.
    const changes = r.applyUpdate('c', announce([P], attrs({ asPath: [seq(65004)] }), '10.255.4.1'));
    expect(r.best(P)?.peer).toBe('c');
    const s = summary([...r.exportFull('c'), ...r.exportChanges('c', changes)].filter((u) => u.nlri.length > 0 || u.withdrawn.length > 0));
    expect(s.announced).toHaveLength(2);
    expect(new Set(s.announced.map((x) => x[1])).size).toBe(2);
  });

  test('N = 1 sends the best only, still with its Path Identifier; a new best replaces it (withdraw old id, announce new)', () => {
    const r = setup(1);
    const s1 = summary(r.exportChanges('c', r.applyUpdate('a', announce([P], attrs({ asPath: [seq(65002, 65020)] }), '10.255.2.1'))));
    expect(s1.announced).toHaveLength(1);
    const s2 = summary(r.exportChanges('c', r.applyUpdate('b', announce([P], attrs({ asPath: [seq(65003)] }), '10.255.3.1'))));
    expect(s2.withdrawn).toEqual([[P, s1.announced[0]![1]]]);
    expect(s2.announced).toHaveLength(1);
    expect(s2.announced[0]![1]).not.toBe(s1.announced[0]![1]);
  });

  test('IPv6 over MP_REACH, and ROUTE-REFRESH resends every path with its id', () => {
    const r = setup();
    const Q = '2001:db8:1::/48';
    r.applyUpdate('a', announceMp([Q], attrs({ asPath: [seq(65002)] }), ['fd00:255:2::1']));
    r.applyUpdate('b', announceMp([Q], attrs({ asPath: [seq(65003, 65030)] }), ['fd00:255:3::1']));
    const full = summary(r.exportFull('c'));
    expect(full.announced.filter((x) => x[0] === Q)).toHaveLength(2);
    const steps = r.resendSteps('c', AFI_IPV6)!;
    const again = summary(steps.next(100));
    expect(again.announced).toEqual(full.announced.filter((x) => x[0] === Q));
    expect(summary(r.resendSteps('c', AFI_IPV4)!.next(100)).announced).toEqual([]);
  });

  test('session down of the receiver forgets what it was sent (references released)', () => {
    const r = setup();
    r.applyUpdate('a', announce([P], attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    r.applyUpdate('b', announce([P], attrs({ asPath: [seq(65003, 65030)] }), '10.255.3.1'));
    r.exportFull('c');
    const before = r.exportAttributes.size;
    r.removePeer('c');
    expect(r.exportAttributes.size).toBeLessThan(before);
    expect(r.advertisedCount('c')).toBe(0);
  });
});

describe('RFC 7911 send with an export policy', () => {
  const DEFS: PolicyDefinitions = {
    prefixLists: {},
    asPathLists: {},
    asSets: {},
    communityLists: { tag: ['65002:100'] },
    policies: { 'to-c': { terms: [{ name: 'drop-tagged', match: { community: ['tag'] }, set: {}, action: 'reject' }], default: 'accept' } },
  };

  test('the export chain judges each path: the tagged best is held back, the next two are sent', () => {
    const r = new Rib({ asn: LOCAL_ASN, routerId: LOCAL_ROUTER_ID });
    r.addPeer(peer('a', 65002, 2));
    r.addPeer(peer('b', 65003, 3));
    r.addPeer(peer('d', 65005, 5));
    r.addPeer(peer('c', 65004, 4, { addPathSend: { ipv4: 2, ipv6: 2 } }), { import: null, export: compileChain(DEFS, ['to-c'], LOCAL_ASN, false, 'export'), softReconfiguration: false });
    r.applyUpdate('a', announce([P], attrs({ asPath: [seq(65002)], communities: [65002 * 65536 + 100] }), '10.255.2.1'));
    r.applyUpdate('b', announce([P], attrs({ asPath: [seq(65003, 65030)] }), '10.255.3.1'));
    r.applyUpdate('d', announce([P], attrs({ asPath: [seq(65005, 65050)] }), '10.255.5.1'));
    expect(r.best(P)?.peer).toBe('a');
    const s = summary(r.exportFull('c'));
    const sent = s.announced.filter((x) => x[0] === P);
    expect(sent).toHaveLength(2);
    // Neither is a's: the AS paths sent start with ours, then b's and d's AS.
    const all = r.exportFull('c').filter((u) => u.nlri.includes(P)).map((u) => u.attributes.asPath?.[0]?.asns[1]);
    expect(all.sort()).toEqual([65003, 65005]);
  });
});
