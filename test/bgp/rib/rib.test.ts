import { describe, expect, test } from 'vitest';
import { AFI_IPV4 } from '#bgp/wire/types';
import type { UpdateMessage } from '#bgp/wire/types';
import { Rib } from '#bgp/rib/index';
import {
  LOCAL_ASN,
  LOCAL_ROUTER_ID,
  announce,
  announceMp,
  attrs,
  peer,
  seq,
  set,
  withdraw,
  withdrawMp,
} from './helpers.js';

function rib(): Rib {
  return new Rib({ asn: LOCAL_ASN, routerId: LOCAL_ROUTER_ID });
}

describe('Adj-RIB-In: announcements and withdrawals', () => {
  test('RFC 4271 §3.1: a new announcement of the same prefix from the same peer replaces the old (implicit withdraw)', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2));
    const first = r.applyUpdate('a', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    expect(first).toEqual([{ prefix: '10.2.0.0/24', best: r.best('10.2.0.0/24'), previous: null, id: expect.any(Number) }]);
    const old = r.best('10.2.0.0/24')!;
    const second = r.applyUpdate('a', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65002, 65020)] }), '10.255.2.1'));
    expect(second).toHaveLength(1);
    // Routes are made on demand: the same path, not the same object.
    expect(second[0]!.previous).toEqual(old);
    expect(second[0]!.best?.attrs.asPath).toEqual([seq(65002, 65020)]);
    expect(r.paths('10.2.0.0/24')).toHaveLength(1);
    expect(r.receivedCount('a')).toBe(1);
    expect(r.attributes.refCount(old.attrs)).toBe(0);
  });

  test('a duplicate announcement changes nothing', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2));
    const u = announce(['10.2.0.0/24'], attrs({ asPath: [seq(65002)] }), '10.255.2.1');
    r.applyUpdate('a', u);
    const before = r.best('10.2.0.0/24');
    expect(r.applyUpdate('a', u)).toEqual([]);
    expect(r.best('10.2.0.0/24')).toEqual(before);
  });

  test('RFC 4271 §4.3: withdrawn routes remove the path; unknown withdrawals are ignored', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2));
    r.applyUpdate('a', announce(['10.2.0.0/24', '10.3.0.0/24'], attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    const prev = r.best('10.2.0.0/24');
    const changes = r.applyUpdate('a', withdraw(['10.2.0.0/24', '10.99.0.0/24']));
    expect(changes).toEqual([{ prefix: '10.2.0.0/24', best: null, previous: prev, id: expect.any(Number) }]);
    expect(r.best('10.2.0.0/24')).toBeUndefined();
    expect(r.size).toBe(1);
    expect(r.receivedCount('a')).toBe(1);
  });

  test('RFC 4760 §4: MP_UNREACH_NLRI withdraws IPv6 paths', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2));
    r.applyUpdate('a', announceMp(['2001:db8:2::/48'], attrs({ asPath: [seq(65002)] }), ['fd00:255:2::1']));
    expect(r.size).toBe(1);
    const changes = r.applyUpdate('a', withdrawMp(['2001:db8:2::/48']));
    expect(changes).toHaveLength(1);
    expect(changes[0]!.best).toBeNull();
    expect(r.size).toBe(0);
  });

  test('RFC 4271 §4.3: a prefix both withdrawn and announced in one UPDATE is announced', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2));
    const u = announce(['10.2.0.0/24'], attrs({ asPath: [seq(65002)] }), '10.255.2.1');
    u.withdrawn = ['10.2.0.0/24'];
    r.applyUpdate('a', u);
    expect(r.best('10.2.0.0/24')?.peer).toBe('a');
  });

  test('RFC 2545 §3: IPv6 via MP_REACH keeps the global and link-local next hops', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2));
    r.applyUpdate('a', announceMp(['2001:db8:2::/48'], attrs({ asPath: [seq(65002)] }), ['fd00:255:2::1', 'fe80::2']));
    const best = r.best('2001:db8:2::/48')!;
    expect(best.nextHop).toBe('fd00:255:2::1');
    expect(best.nextHopLinkLocal).toBe('fe80::2');
    expect(best.attrs.nextHop).toBeUndefined();
  });

  test('RFC 2545 §3: the unspecified global next hop with a link-local (BIRD on an unnumbered link) makes the link-local the next hop', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2, { extendedNextHop: true }));
    r.applyUpdate('a', announceMp(['2001:db8:2::/48'], attrs({ asPath: [seq(65002)] }), ['::', 'fe80::2']));
    r.applyUpdate('a', announceMp(['10.2.0.0/24'], attrs({ asPath: [seq(65002)] }), ['::', 'fe80::2'], AFI_IPV4));
    for (const prefix of ['2001:db8:2::/48', '10.2.0.0/24']) {
      expect(r.best(prefix)).toMatchObject({ nextHop: 'fe80::2', nextHopLinkLocal: null });
    }
    // Alone, "::" is no next hop (step 0).
    r.applyUpdate('a', announceMp(['2001:db8:3::/48'], attrs({ asPath: [seq(65002)] }), ['::']));
    expect(r.best('2001:db8:3::/48')).toBeUndefined();
  });

  test('RFC 8950: IPv4 NLRI in MP_REACH with an IPv6 next hop is a usable IPv4 path', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2, { extendedNextHop: true }));
    r.applyUpdate('a', announceMp(['10.2.0.0/24'], attrs({ asPath: [seq(65002)] }), ['fe80::2'], AFI_IPV4));
    expect(r.best('10.2.0.0/24')?.nextHop).toBe('fe80::2');
    expect(r.lookup('10.2.0.9')?.prefix).toBe('10.2.0.0/24');
  });
});

describe('removePeer', () => {
  test('session down withdraws everything learned from the peer and promotes the next best', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2));
    r.addPeer(peer('b', 65003, 3));
    r.applyUpdate('a', announce(['10.1.0.0/24', '10.2.0.0/24'], attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    r.applyUpdate('b', announce(['10.1.0.0/24'], attrs({ asPath: [seq(65003, 65010)] }), '10.255.3.1'));
    r.applyUpdate('a', announce(['10.66.0.0/24'], attrs({ asPath: [seq(65002, LOCAL_ASN)] }), '10.255.2.1'));
    expect(r.best('10.1.0.0/24')?.peer).toBe('a');
    const sharedAttrs = r.best('10.2.0.0/24')!.attrs;
    const changes = r.removePeer('a');
    const byPrefix = new Map(changes.map((c) => [c.prefix, c]));
    expect(changes).toHaveLength(2);
    expect(byPrefix.get('10.1.0.0/24')?.best?.peer).toBe('b');
    expect(byPrefix.get('10.1.0.0/24')?.previous?.peer).toBe('a');
    expect(byPrefix.get('10.2.0.0/24')?.best).toBeNull();
    expect(r.size).toBe(1);
    expect(r.receivedCount('a')).toBe(0);
    expect(r.attributes.refCount(sharedAttrs)).toBe(0);
    expect(r.removePeer('a')).toEqual([]);
  });

  test('a peer can be added again after removal, and not twice', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2));
    expect(() => r.addPeer(peer('a', 65002, 2))).toThrow();
    r.removePeer('a');
    r.addPeer(peer('a', 65002, 2));
    expect(r.applyUpdate('a', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65002)] }), '10.255.2.1'))).toHaveLength(1);
  });
});

describe('the total-order fast path with MEDs (issue 10)', () => {
  // RFC 4271 §9.1.2.2 c: X (AS 65002, MED 10, lowest router id), Z (AS 65003), Y (AS 65002, MED 5).
  // Pairwise Y beats X (MED), X beats Z and Z beats Y (router id): not transitive. By elimination
  // the MED step drops X, then Z wins on router id.
  const build = (backups: boolean): Rib => {
    const r = new Rib({ asn: LOCAL_ASN, routerId: LOCAL_ROUTER_ID, backups });
    r.addPeer(peer('x', 65002, 2));
    r.addPeer(peer('z', 65003, 3));
    r.addPeer(peer('y', 65002, 4));
    r.addPeer(peer('w', 65005, 5));
    return r;
  };
  const p = '10.1.0.0/24';
  test.each([false, true])('a path meeting another of its neighbor AS with another MED is decided over all candidates (backups: %s)', (backups) => {
    const r = build(backups);
    r.applyUpdate('x', announce([p], attrs({ asPath: [seq(65002)], med: 10 }), '10.255.2.1'));
    r.applyUpdate('z', announce([p], attrs({ asPath: [seq(65003)] }), '10.255.3.1'));
    expect(r.best(p)?.peer).toBe('x');
    r.applyUpdate('y', announce([p], attrs({ asPath: [seq(65002)], med: 5 }), '10.255.4.1'));
    expect(r.decision(p)).toMatchObject({ best: { peer: 'z' }, step: 'router-id' });
    if (backups) expect(r.backup(p)?.peer).toBe('y');
  });
  test('MEDs from different neighbor ASes keep the fast path and its answers: each new path against best and runner-up', () => {
    const r = build(true);
    r.applyUpdate('x', announce([p], attrs({ asPath: [seq(65002)], med: 10 }), '10.255.2.1'));
    r.applyUpdate('z', announce([p], attrs({ asPath: [seq(65003)], med: 1 }), '10.255.3.1'));
    r.applyUpdate('w', announce([p], attrs({ asPath: [seq(65005)], med: 99 }), '10.255.5.1'));
    expect(r.paths(p).map((x) => x.peer)).toEqual(['x', 'z', 'w']);
    expect(r.backup(p)?.peer).toBe('z');
    // A loser behind the runner-up goes without a decision; the order stays right.
    r.applyUpdate('w', withdraw([p]));
    expect(r.decision(p)).toMatchObject({ best: { peer: 'x' }, step: 'router-id' });
  });
});

describe('removePeerSteps', () => {
  test('a full withdrawal in steps: each step returns its own changes, the peer leaves the RIB with the last, and the sum is removePeer', () => {
    const build = (): Rib => {
      const r = rib();
      r.addPeer(peer('a', 65002, 2));
      r.addPeer(peer('b', 65003, 3));
      const prefixes = Array.from({ length: 1000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
      r.applyUpdate('a', announce(prefixes, attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
      // b has every tenth prefix too, behind a's shorter path.
      r.applyUpdate('b', announce(prefixes.filter((_, i) => i % 10 === 0), attrs({ asPath: [seq(65003, 65010)] }), '10.255.3.1'));
      return r;
    };
    const whole = build().removePeer('a');
    const r = build();
    const removal = r.removePeerSteps('a')!;
    const steps: number[] = [];
    const stepped = [];
    while (!removal.done) {
      const changes = removal.next(300);
      steps.push(changes.length);
      stepped.push(...changes);
      // Until the last step the peer is still in the RIB: its session cannot come back over it.
      if (!removal.done) expect(() => r.addPeer(peer('a', 65002, 2))).toThrow(/already in the RIB/);
    }
    expect(steps).toEqual([300, 300, 300, 100]);
    expect(stepped).toEqual(whole);
    expect(r.size).toBe(100);
    expect(r.receivedCount('a')).toBe(0);
    expect(removal.next(300)).toEqual([]);
    r.addPeer(peer('a', 65002, 2));
    expect(r.removePeerSteps('nobody')).toBeNull();
  });

  test('what other peers announce between steps is decided against the paths still there', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2));
    r.addPeer(peer('b', 65003, 3));
    r.applyUpdate('a', announce(['10.1.0.0/24', '10.2.0.0/24'], attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    const removal = r.removePeerSteps('a')!;
    // Descending IPv4 order (the kernel's linear order for deletes, see the next test).
    expect(removal.next(1).map((c) => c.prefix)).toEqual(['10.2.0.0/24']);
    // 10.1.0.0/24 is still a's (shorter AS path): b's path is a candidate, not the best.
    expect(r.applyUpdate('b', announce(['10.1.0.0/24', '10.2.0.0/24'], attrs({ asPath: [seq(65003, 65010)] }), '10.255.3.1')).map((c) => c.prefix)).toEqual(['10.2.0.0/24']);
    const last = removal.next(Infinity);
    expect(last.map((c) => [c.prefix, c.previous?.peer, c.best?.peer])).toEqual([['10.1.0.0/24', 'a', 'b']]);
    expect(removal.done).toBe(true);
  });
});

describe('removePeerSteps order', () => {
  test('a withdrawal goes in descending IPv4 order whatever order the routes came in, IPv6 in arrival order', () => {
    // Linux deletes IPv4 routes in ascending order in quadratic time where a
    // dense run fills a trie node (net/ipv4/fib_trie.c update_suffix); the
    // FIB gets the Loc-RIB's changes in this order (docs/performance.md).
    const r = rib();
    r.addPeer(peer('a', 65002, 2));
    const v4 = Array.from({ length: 600 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
    const shuffled = [...v4.slice(300), '2001:db8:2::/48', ...v4.slice(0, 300).reverse(), '2001:db8:1::/48', '10.0.0.0/16'];
    for (const p of shuffled) {
      const a = attrs({ asPath: [seq(65002)] });
      r.applyUpdate('a', p.includes(':') ? announceMp([p], a, ['2001:db8:ff::2']) : announce([p], a, '10.255.2.1'));
    }
    const removal = r.removePeerSteps('a')!;
    const order: string[] = [];
    while (!removal.done) order.push(...removal.next(64).map((c) => c.prefix));
    const key = (p: string): number => p.split('/')[0]!.split('.').reduce((a, o) => a * 256 + Number(o), 0);
    const got4 = order.filter((p) => !p.includes(':'));
    expect(got4).toHaveLength(601);
    for (let i = 1; i < got4.length; i++) expect(key(got4[i - 1]!)).toBeGreaterThanOrEqual(key(got4[i]!));
    expect(order.filter((p) => p.includes(':'))).toEqual(['2001:db8:2::/48', '2001:db8:1::/48']);
  });
});

describe('Loc-RIB candidates', () => {
  test('RFC 4271 §9.1.2.2: one path, then three, then one again and none, with the deciding step at every stage', () => {
    const r = rib();
    for (const [id, asn, n] of [['a', 65002, 2], ['b', 65003, 3], ['c', 65004, 4]] as const) r.addPeer(peer(id, asn, n));
    const p = '10.1.0.0/24';
    const path = (id: 'a' | 'b' | 'c', n: number, len: number): void => {
      r.applyUpdate(id, announce([p], attrs({ asPath: [seq(...Array.from({ length: len }, () => 65000 + n))] }), `10.255.${n}.1`));
    };
    path('a', 2, 3);
    expect(r.decision(p)).toMatchObject({ best: { peer: 'a' }, step: 'only-path' });
    expect(r.paths(p).map((x) => x.peer)).toEqual(['a']);
    path('b', 3, 2);
    expect(r.decision(p)).toMatchObject({ best: { peer: 'b' }, step: 'as-path-length' });
    path('c', 4, 2);
    expect(r.decision(p)).toMatchObject({ best: { peer: 'b' }, step: 'router-id' });
    expect(r.paths(p).map((x) => x.peer)).toEqual(['b', 'c', 'a']);
    expect(r.removePeer('b').map((c) => [c.previous?.peer, c.best?.peer])).toEqual([['b', 'c']]);
    r.applyUpdate('c', withdraw([p]));
    expect(r.decision(p)).toMatchObject({ best: { peer: 'a' }, step: 'only-path' });
    // A lone path replaced by its own peer's new announcement stays the lone candidate.
    path('a', 2, 1);
    expect(r.decision(p)).toMatchObject({ best: { peer: 'a' }, step: 'only-path' });
    expect(r.best(p)?.attrs.asPath).toEqual([seq(65002)]);
    expect([...r.entries()].map((x) => x.peer)).toEqual(['a']);
    expect(r.lookup('10.1.0.7')?.peer).toBe('a');
    r.applyUpdate('a', withdraw([p]));
    expect(r.decision(p)).toBeUndefined();
    expect(r.lookup('10.1.0.7')).toBeUndefined();
    expect(r.size).toBe(0);
  });
});

describe('import policy inside applyUpdate', () => {
  test('RFC 4271 §9.1.2: a path containing our own ASN is counted as received but not eligible', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2));
    const changes = r.applyUpdate(
      'a',
      announce(['10.2.0.0/24'], attrs({ asPath: [seq(65002, LOCAL_ASN, 65003)] }), '10.255.2.1'),
    );
    r.applyUpdate('a', announce(['10.3.0.0/24'], attrs({ asPath: [seq(65002), set(7, LOCAL_ASN)] }), '10.255.2.1'));
    expect(changes).toEqual([]);
    expect(r.size).toBe(0);
    expect(r.receivedCount('a')).toBe(2);
    expect(r.acceptedCount('a')).toBe(0);
    expect(r.ineligibleReason('a', '10.2.0.0/24')).toBe('as-path-loop');
    expect(r.ineligibleReason('a', '10.3.0.0/24')).toBe('as-path-loop');
    // A loop-free re-announcement makes it eligible.
    expect(r.applyUpdate('a', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65002)] }), '10.255.2.1'))).toHaveLength(1);
    expect(r.ineligibleReason('a', '10.2.0.0/24')).toBeNull();
  });

  test('a path whose next hop is one of our own addresses is rejected', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2));
    r.addPeer(peer('b', 65003, 3));
    // 10.255.3.0 is our end of the tunnel to b.
    r.applyUpdate('a', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65002)] }), '10.255.3.0'));
    expect(r.ineligibleReason('a', '10.2.0.0/24')).toBe('next-hop-self');
    r.applyUpdate('a', announceMp(['2001:db8::/32'], attrs({ asPath: [seq(65002)] }), ['fd00:255:2:0:0::']));
    expect(r.ineligibleReason('a', '2001:db8::/32')).toBe('next-hop-self');
    expect(r.size).toBe(0);
  });

  test('link-local next hops are ours only on the same tunnel', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2));
    r.addPeer(peer('b', 65003, 3));
    const a = attrs({ asPath: [seq(65002)] });
    // fe80::a:3 is our link-local towards b: on a's tunnel it is another host.
    r.applyUpdate('a', announceMp(['2001:db8:3::/48'], a, ['fe80::a:3']));
    expect(r.ineligibleReason('a', '2001:db8:3::/48')).toBeNull();
    r.applyUpdate('a', announceMp(['2001:db8:2::/48'], a, ['fe80::a:2']));
    expect(r.ineligibleReason('a', '2001:db8:2::/48')).toBe('next-hop-self');
  });

  test('martians (loopback, multicast, link-local) are rejected; default routes are not', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2));
    const a = attrs({ asPath: [seq(65002)] });
    r.applyUpdate('a', announce(['127.0.0.0/8', '224.0.0.0/24', '0.0.0.0/0', '10.0.0.0/8'], a, '10.255.2.1'));
    r.applyUpdate('a', announceMp(['fe80::/64', 'ff02::/16', '::/0', '2001:db8::/32'], a, ['fd00:255:2::1']));
    expect([...r.entries()].map((x) => x.prefix).sort()).toEqual(['0.0.0.0/0', '10.0.0.0/8', '2001:db8::/32', '::/0']);
    expect(r.ineligibleReason('a', 'ff02::/16')).toBe('martian');
    expect(r.receivedCount('a')).toBe(8);
  });
});

describe('locally originated routes', () => {
  test('originate and withdrawOrigin, static and connected on the same prefix', () => {
    const r = rib();
    expect(r.originate('10.1.0.0/24', 'static')).toHaveLength(1);
    expect(r.originate('10.1.0.0/24', 'static')).toEqual([]);
    const c = r.originate('10.1.0.0/24', 'connected');
    expect(c).toHaveLength(1);
    expect(c[0]!.best?.source).toBe('connected');
    expect(r.withdrawOrigin('10.1.0.0/24', 'connected')[0]?.best?.source).toBe('static');
    const gone = r.withdrawOrigin('10.1.0.0/24');
    expect(gone).toHaveLength(1);
    expect(gone[0]!.best).toBeNull();
    expect(r.size).toBe(0);
    expect(() => r.originate('not-a-prefix', 'static')).toThrow(RangeError);
  });

  test('a local route is canonicalized and has ORIGIN IGP and an empty AS_PATH', () => {
    const r = rib();
    r.originate('2001:DB8:1::/48', 'static');
    const b = r.best('2001:db8:1::/48')!;
    expect(b).toMatchObject({ peer: null, source: 'static', nextHop: null });
    expect(b.attrs).toEqual({ origin: 0, asPath: [] });
  });
});

describe('lookup: longest-prefix match over the Loc-RIB', () => {
  test('IPv4 and IPv6, most specific first, default route last', () => {
    const r = rib();
    for (const p of ['10.0.0.0/8', '10.1.0.0/16', '10.1.2.0/24', '10.1.2.3/32']) r.originate(p, 'static');
    for (const p of ['2001:db8::/32', '2001:db8:1::/48']) r.originate(p, 'static');
    expect(r.lookup('10.1.2.3')?.prefix).toBe('10.1.2.3/32');
    expect(r.lookup('10.1.2.4')?.prefix).toBe('10.1.2.0/24');
    expect(r.lookup('10.1.3.1')?.prefix).toBe('10.1.0.0/16');
    expect(r.lookup('10.2.0.1')?.prefix).toBe('10.0.0.0/8');
    expect(r.lookup('11.0.0.1')).toBeUndefined();
    expect(r.lookup('2001:db8:1:2::1')?.prefix).toBe('2001:db8:1::/48');
    expect(r.lookup('2001:db8:2::1')?.prefix).toBe('2001:db8::/32');
    expect(r.lookup('2001:db9::1')).toBeUndefined();
    expect(r.lookup('not an address')).toBeUndefined();
    r.originate('0.0.0.0/0', 'static');
    expect(r.lookup('11.0.0.1')?.prefix).toBe('0.0.0.0/0');
    r.withdrawOrigin('10.1.2.0/24');
    expect(r.lookup('10.1.2.4')?.prefix).toBe('10.1.0.0/16');
  });
});

describe('attribute interning', () => {
  test('1000 prefixes with the same attributes share one frozen object and, per peer (next hop), one path record; the refcounts drop to zero', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2));
    r.addPeer(peer('b', 65003, 3));
    const a = attrs({ asPath: [seq(65002, 65010)], communities: [1, 2] });
    const prefixes = Array.from({ length: 1000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
    // Two UPDATEs from two peers: the next hop differs, the attribute set does not.
    r.applyUpdate('a', announce(prefixes.slice(0, 500), a, '10.255.2.1'));
    r.applyUpdate('b', announce(prefixes.slice(500), a, '10.255.3.1'));
    const shared = r.best(prefixes[0]!)!.attrs;
    for (const p of prefixes) expect(r.best(p)!.attrs).toBe(shared);
    expect(Object.isFrozen(shared)).toBe(true);
    expect(Object.isFrozen(shared.asPath)).toBe(true);
    // One path record per next hop holds the set; the prefixes hold the records.
    expect(r.pathRecords.size).toBe(2);
    expect(r.attributes.refCount(shared)).toBe(2);
    expect(r.attributes.size).toBe(2); // the shared set and the local-origin set
    r.applyUpdate('a', withdraw(prefixes.slice(0, 499)));
    expect(r.pathRecords.size).toBe(2);
    r.applyUpdate('a', withdraw(prefixes.slice(499, 500)));
    expect(r.pathRecords.size).toBe(1);
    expect(r.attributes.refCount(shared)).toBe(1);
    r.removePeer('b');
    expect(r.pathRecords.size).toBe(0);
    expect(r.attributes.refCount(shared)).toBe(0);
    expect(r.attributes.size).toBe(1);
  });
});

describe('RFC 4724 §4.2: stale paths of a restarting peer', () => {
  test('retainStale keeps the paths in the Loc-RIB; the peer resumes with them; a re-announcement refreshes, End-of-RIB sweeps per family', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2));
    r.applyUpdate('a', announce(['10.2.0.0/24', '10.3.0.0/24'], attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    r.applyUpdate('a', announceMp(['2001:db8:2::/48'], attrs({ asPath: [seq(65002)] }), ['fd00:255:2::1']));
    expect(r.retainStale('a')).toBe(3);
    expect(r.hasStale('a')).toBe(true);
    expect(r.best('10.3.0.0/24')).toBeDefined();
    // A peer with stale paths comes back: no error, the paths are still there.
    r.addPeer(peer('a', 65002, 2));
    expect(r.size).toBe(3);
    r.applyUpdate('a', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    expect(r.staleCount('a')).toBe(2);
    const v4 = r.sweepStale('a', AFI_IPV4);
    expect(v4.map((c) => [c.prefix, c.best])).toEqual([['10.3.0.0/24', null]]);
    expect(r.best('2001:db8:2::/48')).toBeDefined();
    expect(r.sweepStale('a').map((c) => c.prefix)).toEqual(['2001:db8:2::/48']);
    expect(r.hasStale('a')).toBe(false);
    expect(r.size).toBe(1);
  });

  test('a peer present without stale paths is still refused a second addPeer; removePeer drops stale ones too', () => {
    const r = rib();
    r.addPeer(peer('a', 65002, 2));
    expect(() => r.addPeer(peer('a', 65002, 2))).toThrow(/already/);
    r.applyUpdate('a', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    r.retainStale('a');
    expect(r.removePeer('a').map((c) => c.prefix)).toEqual(['10.2.0.0/24']);
    expect(r.size).toBe(0);
    expect(r.hasStale('a')).toBe(false);
  });
});

describe('backups (PIC): the second-best path rides along with every Loc-RIB change', () => {
  test('a backup appearing or going is a change of its own, though the best stays; none without the option', () => {
    const r = new Rib({ asn: LOCAL_ASN, routerId: LOCAL_ROUTER_ID, backups: true });
    r.addPeer(peer('a', 65002, 2));
    r.addPeer(peer('b', 65003, 3));
    r.addPeer(peer('c', 65004, 4));
    const first = r.applyUpdate('a', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    expect(first).toEqual([expect.objectContaining({ prefix: '10.2.0.0/24', backup: null })]);
    // b's path is longer: the best stays a's, b becomes the backup (a change for the FIB).
    const second = r.applyUpdate('b', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65003, 65010)] }), '10.255.3.1'));
    expect(second).toHaveLength(1);
    expect(second[0]!.best?.peer).toBe('a');
    expect(second[0]!.backup?.peer).toBe('b');
    // c's is longer still: neither best nor backup changes, nothing to do.
    expect(r.applyUpdate('c', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65004, 65010, 65011)] }), '10.255.4.1'))).toEqual([]);
    expect(r.backup('10.2.0.0/24')?.peer).toBe('b');
    // RFC 4271 §9.1.2.2 among the rest: b's withdrawal makes c the backup.
    expect(r.applyUpdate('b', withdraw(['10.2.0.0/24'])).map((c) => [c.best?.peer, c.backup?.peer])).toEqual([['a', 'c']]);
    // a's session goes: c is best, no backup left.
    expect(r.removePeer('a').map((c) => [c.best?.peer, c.backup ?? null])).toEqual([['c', null]]);

    const plain = rib();
    plain.addPeer(peer('a', 65002, 2));
    plain.addPeer(peer('b', 65003, 3));
    plain.applyUpdate('a', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    expect(plain.applyUpdate('b', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65003, 65010)] }), '10.255.3.1'))).toEqual([]);
  });

  test('a new best leaves the old one as the backup: the change carries it once, as previous and backup (issue 10)', () => {
    const r = new Rib({ asn: LOCAL_ASN, routerId: LOCAL_ROUTER_ID, backups: true });
    r.addPeer(peer('a', 65002, 2));
    r.addPeer(peer('b', 65003, 3));
    r.applyUpdate('a', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65002, 65010)] }), '10.255.2.1'));
    // b's path is shorter (RFC 4271 §9.1.2.2 a): b is the best, a's path the runner-up.
    const [c] = r.applyUpdate('b', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65003)] }), '10.255.3.1'));
    expect(c!.best?.peer).toBe('b');
    expect(c!.previous?.peer).toBe('a');
    expect(c!.backup).toBe(c!.previous);
    expect(c!.backup).toEqual(r.backup('10.2.0.0/24'));
  });

  test('the best before that changed its path is the backup with the new path, not the previous one', () => {
    const r = new Rib({ asn: LOCAL_ASN, routerId: LOCAL_ROUTER_ID, backups: true });
    r.addPeer(peer('a', 65002, 2));
    r.addPeer(peer('b', 65003, 3));
    r.applyUpdate('a', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    r.applyUpdate('b', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65003, 65010)] }), '10.255.3.1'));
    // a's new path is longer than b's: b becomes the best, a (same peer, another path) the backup.
    const [c] = r.applyUpdate('a', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65002, 65010, 65011)], med: 5 }), '10.255.2.1'));
    expect(c!.best?.peer).toBe('b');
    expect(c!.previous?.peer).toBe('a');
    expect(c!.previous?.attrs.asPath).toEqual([seq(65002)]);
    expect(c!.backup?.peer).toBe('a');
    expect(c!.backup?.attrs.asPath).toEqual([seq(65002, 65010, 65011)]);
    expect(c!.backup).toEqual(r.backup('10.2.0.0/24'));
  });

  test('RFC 7911: a backup received with a Path Identifier keeps it, though it was the best before', () => {
    const r = new Rib({ asn: LOCAL_ASN, routerId: LOCAL_ROUTER_ID, backups: true });
    r.addPeer(peer('a', 65002, 2));
    r.addPeer(peer('b', 65003, 3));
    const withId = (u: UpdateMessage): UpdateMessage => ({ ...u, withdrawnPathIds: [], nlriPathIds: [7] });
    r.applyUpdate('a', withId(announce(['10.2.0.0/24'], attrs({ asPath: [seq(65002, 65010)] }), '10.255.2.1')));
    const [c] = r.applyUpdate('b', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65003)] }), '10.255.3.1'));
    expect(c!.best?.peer).toBe('b');
    expect(c!.backup?.pathId).toBe(7);
    expect(c!.backup).toEqual(r.backup('10.2.0.0/24'));
  });
});

describe('received attribute sets are stored without the next hop (and, from eBGP, LOCAL_PREF)', () => {
  test('RFC 4271 §5.1.5: an external LOCAL_PREF is dropped, an internal one kept; neither set has a NEXT_HOP field, not even an empty one', () => {
    const r = new Rib({ asn: LOCAL_ASN, routerId: LOCAL_ROUTER_ID });
    r.addPeer(peer('a', 65002, 2));
    r.addPeer(peer('i', LOCAL_ASN, 3));
    r.applyUpdate('a', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65002)], localPref: 300 }), '10.255.2.1'));
    r.applyUpdate('i', announce(['10.3.0.0/24'], attrs({ asPath: [seq(65002)], localPref: 300 }), '10.255.3.1'));
    const ext = r.best('10.2.0.0/24')!;
    const int = r.best('10.3.0.0/24')!;
    expect(Object.keys(ext.attrs).sort()).toEqual(['asPath', 'origin']);
    expect(Object.keys(int.attrs).sort()).toEqual(['asPath', 'localPref', 'origin']);
    expect(int.attrs.localPref).toBe(300);
    expect([ext.nextHop, int.nextHop]).toEqual(['10.255.2.1', '10.255.3.1']);
    // The same set from another external peer, another next hop: one interned object.
    r.addPeer(peer('b', 65003, 4));
    r.applyUpdate('b', announce(['10.4.0.0/24'], attrs({ asPath: [seq(65002)], localPref: 50 }), '10.255.4.1'));
    expect(r.best('10.4.0.0/24')!.attrs).toBe(ext.attrs);
  });
});
