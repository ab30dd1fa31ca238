/**
 * A peer that reads slowly (issue 10): while it is behind, Loc-RIB changes are
 * not made into UPDATEs for it; the prefixes are remembered and sent later
 * from the Loc-RIB as it is then, each once (RFC 4271 §9.2: intermediate
 * updates may be suppressed). Whatever happens in between, the peer ends
 * with exactly the table of a peer that was sent every change.
 */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { AFI_IPV6, MessageType, SAFI_UNICAST } from '#bgp/wire/types';
import type { PathAttributes, UpdateMessage } from '#bgp/wire/types';
import { Rib } from '#bgp/rib/index';
import type { LocRibChange, PeerInfo } from '#bgp/rib/index';
import { OwedPrefixes } from '#bgp/rib/owed-prefixes';
import { LOCAL_ASN, LOCAL_ROUTER_ID, announce, attrs, peer, seq } from './helpers.js';

const POOL = ['10.0.0.0/8', '10.1.0.0/16', '10.1.2.0/24', '10.2.0.0/16', '0.0.0.0/0', '2001:db8::/32', '2001:db8:1::/48'];
const SOURCES: PeerInfo[] = [peer('a', 65002, 2), peer('b', 65003, 3), peer('i', LOCAL_ASN, 1)];
const SOURCE_N = new Map([['a', 2], ['b', 3], ['i', 1]]);

type Op =
  | { kind: 'announce'; peer: string; prefixes: string[]; len: number; med: number | undefined; tag: number }
  | { kind: 'withdraw'; peer: string; prefixes: string[] }
  | { kind: 'originate'; prefix: string }
  | { kind: 'unoriginate'; prefix: string }
  | { kind: 'redistribute'; prefix: string; present: boolean }
  | { kind: 'flap'; peer: string }
  | { kind: 'behind' }
  | { kind: 'catchUp'; max: number }
  | { kind: 'observerFlap' };

const sourceArb = fc.constantFrom('a', 'b', 'i');
const prefixArb = fc.constantFrom(...POOL);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('announce' as const),
      peer: sourceArb,
      prefixes: fc.subarray(POOL, { minLength: 1 }),
      len: fc.integer({ min: 0, max: 2 }),
      med: fc.constantFrom(undefined, 5, 10),
      tag: fc.integer({ min: 0, max: 2 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('withdraw' as const), peer: sourceArb, prefixes: fc.subarray(POOL, { minLength: 1 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('originate' as const), prefix: prefixArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unoriginate' as const), prefix: prefixArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('redistribute' as const), prefix: prefixArb, present: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('flap' as const), peer: sourceArb }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'behind' as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('catchUp' as const), max: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'observerFlap' as const }) },
);

function updateOf(op: Extract<Op, { kind: 'announce' }>): UpdateMessage {
  const n = SOURCE_N.get(op.peer)!;
  const asn = op.peer === 'i' ? [] : [op.peer === 'a' ? 65002 : 65003];
  const a: PathAttributes = attrs({ asPath: [seq(...asn, ...Array.from({ length: op.len }, () => 65010))], communities: [op.tag] });
  if (op.med !== undefined) a.med = op.med;
  const v4 = op.prefixes.filter((p) => !p.includes(':'));
  const v6 = op.prefixes.filter((p) => p.includes(':'));
  const u = announce(v4, a, `10.255.${n}.1`);
  if (v6.length > 0) u.mpReach = { afi: AFI_IPV6, safi: SAFI_UNICAST, nextHops: [`fd00:255:${n}::1`], nlri: v6 };
  return u;
}

/** What the RIB is asked to do for an operation; the Loc-RIB changes it made. */
function run(rib: Rib, op: Op, observer: PeerInfo): LocRibChange[] {
  switch (op.kind) {
    case 'announce':
      return rib.applyUpdate(op.peer, updateOf(op));
    case 'withdraw':
      return rib.applyUpdate(op.peer, {
        type: MessageType.Update,
        withdrawn: op.prefixes.filter((p) => !p.includes(':')),
        attributes: {},
        nlri: [],
        mpUnreach: { afi: AFI_IPV6, safi: SAFI_UNICAST, withdrawn: op.prefixes.filter((p) => p.includes(':')) },
      });
    case 'originate':
      return rib.originate(op.prefix, 'static');
    case 'unoriginate':
      return rib.withdrawOrigin(op.prefix);
    case 'redistribute':
      return rib.redistribute(op.prefix, op.present);
    case 'flap': {
      const changes = rib.removePeer(op.peer);
      rib.addPeer(SOURCES.find((p) => p.id === op.peer)!);
      return changes;
    }
    case 'observerFlap':
      rib.removePeer(observer.id);
      rib.addPeer(observer);
      return [];
    default:
      return [];
  }
}

/** A receiving peer's table: prefix (with its Path Identifier, RFC 7911) -> attributes. */
function receive(table: Map<string, PathAttributes>, us: readonly UpdateMessage[]): void {
  const key = (p: string, id: number | undefined): string => (id === undefined ? p : `${p}#${id}`);
  for (const u of us) {
    u.withdrawn.forEach((p, i) => table.delete(key(p, u.withdrawnPathIds?.[i])));
    u.mpUnreach?.withdrawn.forEach((p, i) => table.delete(key(p, u.mpUnreach!.pathIds?.[i])));
    u.nlri.forEach((p, i) => table.set(key(p, u.nlriPathIds?.[i]), u.attributes));
    u.mpReach?.nlri.forEach((p, i) => table.set(key(p, u.mpReach!.pathIds?.[i]), u.attributes));
  }
}

function ribOf(observer: PeerInfo, backups = false): Rib {
  const rib = new Rib({ asn: LOCAL_ASN, routerId: LOCAL_ROUTER_ID, backups });
  for (const p of SOURCES) rib.addPeer(p);
  rib.addPeer(observer);
  return rib;
}

describe('RFC 4271 §9.2: a peer behind is sent the Loc-RIB as it ends, not every change', () => {
  test.each([
    ['one path per prefix', {}, false],
    ['RFC 7911: two paths per prefix', { addPathSend: { ipv4: 2, ipv6: 2 } }, false],
    // Changes of the runner-up alone (the FIB's backup) are not looked at for a peer sent the best only.
    ['one path per prefix, the RIB keeping backups', {}, true],
    ['RFC 7911: two paths per prefix, the RIB keeping backups', { addPathSend: { ipv4: 2, ipv6: 2 } }, true],
  ] as [string, Partial<PeerInfo>, boolean][])('%s: its table ends equal to that of a peer sent every change', (_name, over, backups) => {
    const observer = peer('o', 65009, 9, { advertiseOspf: () => true, ...over });
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 50 }), fc.constantFrom(1, 2, 3, Number.POSITIVE_INFINITY), (ops, step) => {
        // `paced` is the RIB under test; `model` runs the same operations and sends the observer every change.
        const paced = ribOf(observer, backups);
        const model = ribOf(observer, backups);
        const seen = new Map<string, PathAttributes>();
        const want = new Map<string, PathAttributes>();
        for (const op of ops) {
          if (op.kind === 'behind') paced.setBehind('o');
          if (op.kind === 'catchUp') {
            const wasOwed = paced.owedCount('o');
            receive(seen, paced.catchUp('o', op.max));
            expect(paced.owedCount('o')).toBe(Math.max(0, wasOwed - op.max));
            expect(paced.isBehind('o')).toBe(wasOwed > op.max);
          }
          if (op.kind === 'observerFlap') {
            seen.clear();
            want.clear();
          }
          const behind = paced.isBehind('o');
          const out = paced.exportToPeers(['o'], run(paced, op, observer), step)[0]!;
          // Nothing is made into UPDATEs for a peer behind.
          if (behind) expect(out).toEqual([]);
          receive(seen, out);
          receive(want, model.exportToPeers(['o'], run(model, op, observer))[0]!);
          if (op.kind === 'observerFlap') {
            expect(paced.isBehind('o')).toBe(false);
            receive(seen, paced.exportFull('o'));
            receive(want, model.exportFull('o'));
          }
          expect(paced.owedCount('o')).toBeLessThanOrEqual(POOL.length);
        }
        // Once it reads again, every owed prefix goes, a few at a time.
        for (let i = 0; paced.isBehind('o'); i++) {
          expect(i).toBeLessThan(POOL.length);
          receive(seen, paced.catchUp('o', 1));
        }
        expect(seen).toEqual(want);
        expect(paced.advertisedCount('o')).toBe(model.advertisedCount('o'));
        // The Adj-RIB-Out is the truth: a whole table now is what the peer holds.
        const full = new Map<string, PathAttributes>();
        receive(full, paced.exportFull('o'));
        expect(full).toEqual(seen);
        // Owed prefixes held their numbers; everything is given back.
        paced.setBehind('o');
        receive(seen, paced.exportToPeers(['o'], paced.originate('10.9.0.0/16', 'static'))[0]!);
        expect(paced.owedCount('o')).toBe(1);
        for (const p of [...SOURCES, observer]) paced.removePeer(p.id);
        for (const prefix of [...POOL, '10.9.0.0/16']) {
          paced.withdrawOrigin(prefix);
          paced.redistribute(prefix, false);
        }
        expect(paced.prefixes.size).toBe(0);
        expect(paced.exportAttributes.size).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  test('a prefix that changed many times while behind goes once, as it is now; one that came and went, not at all', () => {
    const rib = ribOf(peer('o', 65009, 9));
    rib.setBehind('o');
    for (let med = 1; med <= 10; med++) {
      expect(rib.exportToPeers(['o'], rib.applyUpdate('a', announce(['10.1.0.0/16'], attrs({ asPath: [seq(65002)], med }), '10.255.2.1')))[0]).toEqual([]);
    }
    expect(rib.exportToPeers(['o'], rib.originate('10.7.0.0/16', 'static'))[0]).toEqual([]);
    expect(rib.exportToPeers(['o'], rib.withdrawOrigin('10.7.0.0/16'))[0]).toEqual([]);
    expect(rib.owedCount('o')).toBe(2);
    const out = rib.catchUp('o', 100);
    expect(out).toHaveLength(1);
    expect(out[0]!.nlri).toEqual(['10.1.0.0/16']);
    // RFC 4271 §5.1.4: MED is not sent on to another AS; the AS_PATH shows the latest path was sent.
    expect(out[0]!.attributes.asPath).toEqual([seq(LOCAL_ASN, 65002)]);
    expect(out[0]!.withdrawn).toEqual([]);
    expect(rib.isBehind('o')).toBe(false);
    // Keeping up again: the next change goes at once.
    expect(rib.exportToPeers(['o'], rib.applyUpdate('a', announce(['10.1.0.0/16'], attrs({ asPath: [seq(65002, 65010)] }), '10.255.2.1')))[0]).toHaveLength(1);
  });

  test('a change that moved only the backup is not owed to a peer sent the best alone; one sent two paths (RFC 7911 §3) gets the new second', () => {
    const rib = ribOf(peer('o', 65009, 9), true);
    rib.addPeer(peer('x', 65008, 8, { addPathSend: { ipv4: 2, ipv6: 2 } }));
    const first = rib.applyUpdate('a', announce(['10.1.0.0/16'], attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    expect(rib.exportToPeers(['o', 'x'], first).map((us) => us.flatMap((u) => u.nlri))).toEqual([['10.1.0.0/16'], ['10.1.0.0/16']]);
    rib.setBehind('o');
    // b's longer path is the runner-up: the FIB is told (PIC), the best stays a's.
    const second = rib.applyUpdate('b', announce(['10.1.0.0/16'], attrs({ asPath: [seq(65003, 65030)] }), '10.255.3.1'));
    expect(second).toHaveLength(1);
    // One Route is both (the best kept).
    expect(second[0]!.previous).toBe(second[0]!.best);
    expect(second[0]!.backup?.peer).toBe('b');
    const [o, x] = rib.exportToPeers(['o', 'x'], second);
    expect(o).toEqual([]);
    expect(rib.owedCount('o')).toBe(0);
    expect(x!.flatMap((u) => u.nlri)).toEqual(['10.1.0.0/16']);
    expect(x![0]!.attributes.asPath).toEqual([seq(LOCAL_ASN, 65003, 65030)]);
    expect(rib.catchUp('o', 100)).toEqual([]);
    expect(rib.isBehind('o')).toBe(false);
  });

  test('a batch exports `step` prefixes to a peer; the rest are owed, and only that peer falls behind', () => {
    const rib = ribOf(peer('o', 65009, 9));
    rib.addPeer(peer('p', 65008, 8));
    const prefixes = Array.from({ length: 10 }, (_, i) => `10.${i}.0.0/16`);
    const changes = rib.applyUpdate('a', announce(prefixes, attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    rib.setBehind('p');
    const [o, p] = rib.exportToPeers(['o', 'p'], changes, 4);
    expect(o!.flatMap((u) => u.nlri)).toEqual(prefixes.slice(0, 4));
    expect(p).toEqual([]);
    expect(rib.owedCount('o')).toBe(6);
    expect(rib.owedCount('p')).toBe(10);
    expect(rib.catchUp('o', 100).flatMap((u) => u.nlri).sort()).toEqual(prefixes.slice(4).sort());
    expect(rib.isBehind('o')).toBe(false);
  });

  test('session down drops what a peer was owed: the next session starts with the whole table', () => {
    const o = peer('o', 65009, 9);
    const rib = ribOf(o);
    rib.setBehind('o');
    rib.exportToPeers(['o'], rib.originate('10.7.0.0/16', 'static'));
    expect(rib.owedCount('o')).toBe(1);
    rib.removePeer('o');
    expect(rib.isBehind('o')).toBe(false);
    rib.withdrawOrigin('10.7.0.0/16');
    expect(rib.prefixes.size).toBe(0);
    rib.addPeer(o);
    expect(rib.isBehind('o')).toBe(false);
    expect(rib.catchUp('o', 10)).toEqual([]);
  });
});

describe('OwedPrefixes', () => {
  test('marks once per prefix, takes in rounds from where it stopped, sees what is marked again behind it next round', () => {
    const owed = new OwedPrefixes();
    for (const id of [3, 31, 32, 100_000, 5]) expect(owed.mark(id)).toBe(true);
    expect(owed.mark(31)).toBe(false);
    expect(owed.size).toBe(5);
    const got: number[] = [];
    expect(owed.take(3, (id) => got.push(id))).toBe(3);
    expect(got).toEqual([3, 5, 31]);
    // Marked behind where the last call stopped: taken after the others, in the next round.
    owed.mark(4);
    expect(owed.take(10, (id) => got.push(id))).toBe(3);
    expect(got).toEqual([3, 5, 31, 32, 100_000, 4]);
    expect(owed.size).toBe(0);
    expect(owed.has(31)).toBe(false);
  });

  test('bit 31 of a word; what fn marks again is taken in the next round, after the rest', () => {
    const owed = new OwedPrefixes();
    owed.mark(31);
    owed.mark(63);
    const got: number[] = [];
    owed.take(10, (id) => {
      got.push(id);
      if (got.length === 1) owed.mark(31);
    });
    expect(got).toEqual([31, 63, 31]);
    const drained: number[] = [];
    owed.mark(7);
    owed.drain((id) => drained.push(id));
    expect(drained).toEqual([7]);
    expect(owed.size).toBe(0);
  });
});
