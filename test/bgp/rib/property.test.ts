/**
 * Property: after any sequence of announcements, withdrawals, local
 * originations and session flaps, the Loc-RIB equals a naive recomputation
 * from a model of the Adj-RIBs-In, the emitted changes fold into exactly the
 * Loc-RIB, and the incremental Adj-RIB-Out of an observer peer equals a full
 * export. The naive decision below is written straight from RFC 4271 §9.1.2.2,
 * independently of src/bgp/rib/decision.ts.
 */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { AFI_IPV6, AsPathSegmentType, MessageType, SAFI_UNICAST } from '#bgp/wire/types';
import type { AsPathSegment, PathAttributes, UpdateMessage } from '#bgp/wire/types';
import { Rib } from '#bgp/rib/index';
import type { LocRibChange, MultipathOptions, PeerInfo, Route } from '#bgp/rib/index';
import { LOCAL_ASN, LOCAL_ROUTER_ID, peer, seq, set } from './helpers.js';

const POOL = ['10.0.0.0/8', '10.1.0.0/16', '10.1.2.0/24', '10.2.0.0/16', '0.0.0.0/0', '2001:db8::/32', '2001:db8:1::/48'];
const OBSERVER_ASN = 65009;

/**
 * Two sessions to AS 65002 (so MED is compared), one to 65003, one iBGP;
 * routerIds 10.0.0.n. The orders are chosen so that later steps do not
 * coincide with earlier ones: the iBGP peer has the lowest identifier, and
 * AS 65003's identifier lies between the two AS 65002 sessions (so MED's
 * per-AS elimination can hand the win to a third path).
 */
const PEERS: PeerInfo[] = [
  peer('a', 65002, 2),
  peer('b', 65002, 4),
  peer('c', 65003, 3),
  peer('i', LOCAL_ASN, 1),
];
const OBSERVER = peer('o', OBSERVER_ASN, 9);
const PEER_BY_ID = new Map(PEERS.map((p) => [p.id, p]));
const PEER_N = new Map([['a', 2], ['b', 4], ['c', 3], ['i', 1]]);

type Op =
  | { kind: 'announce'; peer: string; prefixes: string[]; attrs: Gen; badNextHop: boolean }
  | { kind: 'withdraw'; peer: string; prefixes: string[] }
  | { kind: 'originate'; prefix: string; source: 'static' | 'connected' }
  | { kind: 'unoriginate'; prefix: string; source: 'static' | 'connected' | undefined }
  | { kind: 'flap'; peer: string };

interface Gen {
  localPref: number | undefined;
  med: number | undefined;
  origin: 0 | 1 | 2;
  rest: number[];
  asSet: number[];
  /** A large and an extended community numbered so; sets that differ only here must not be merged. */
  tag: number | undefined;
}

const genArb: fc.Arbitrary<Gen> = fc.record({
  localPref: fc.constantFrom(undefined, 50, 100, 200),
  med: fc.constantFrom(undefined, 5, 10),
  origin: fc.oneof({ weight: 3, arbitrary: fc.constant(0 as const) }, fc.constantFrom(1 as const, 2 as const)),
  // Short paths, so that paths often tie on length and the later steps get exercised.
  rest: fc.oneof(fc.constant<number[]>([]), fc.array<number>(fc.constantFrom(65002, 65003, 65010, OBSERVER_ASN, LOCAL_ASN), { maxLength: 2 })),
  asSet: fc.oneof(
    { weight: 3, arbitrary: fc.constant<number[]>([]) },
    { weight: 1, arbitrary: fc.array<number>(fc.constantFrom(64512, 64513), { minLength: 1, maxLength: 2 }) },
  ),
  tag: fc.constantFrom(undefined, 1, 2),
});

const peerArb = fc.constantFrom(...PEERS.map((p) => p.id));
const sourceArb = fc.constantFrom('static' as const, 'connected' as const);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('announce' as const), peer: peerArb, prefixes: fc.subarray(POOL, { minLength: 1 }), attrs: genArb, badNextHop: fc.integer({ min: 0, max: 7 }).map((x) => x === 0) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('withdraw' as const), peer: peerArb, prefixes: fc.subarray(POOL, { minLength: 1 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('originate' as const), prefix: fc.constantFrom(...POOL), source: sourceArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unoriginate' as const), prefix: fc.constantFrom(...POOL), source: fc.option(sourceArb, { nil: undefined }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('flap' as const), peer: peerArb }) },
);

function attrsOf(peerId: string, g: Gen): PathAttributes {
  const p = PEER_BY_ID.get(peerId)!;
  const path: AsPathSegment[] = [];
  const head = p.asn === LOCAL_ASN ? g.rest : [p.asn, ...g.rest];
  if (head.length > 0) path.push(seq(...head));
  if (g.asSet.length > 0) path.push(set(...g.asSet));
  const a: PathAttributes = { origin: g.origin, asPath: path };
  if (g.localPref !== undefined) a.localPref = g.localPref;
  if (g.med !== undefined) a.med = g.med;
  if (g.tag !== undefined) {
    a.largeCommunities = [[65000, g.tag, 0]];
    a.extendedCommunities = [[0x0002fde8, g.tag]];
  }
  return a;
}

function updateOf(op: Extract<Op, { kind: 'announce' }>): UpdateMessage {
  const n = PEER_N.get(op.peer)!;
  const v4 = op.prefixes.filter((p) => !p.includes(':'));
  const v6 = op.prefixes.filter((p) => p.includes(':'));
  const a = attrsOf(op.peer, op.attrs);
  const u: UpdateMessage = { type: MessageType.Update, withdrawn: [], attributes: a, nlri: v4 };
  if (v4.length > 0) a.nextHop = op.badNextHop ? '0.0.0.0' : `10.255.${n}.1`;
  if (v6.length > 0) u.mpReach = { afi: AFI_IPV6, safi: SAFI_UNICAST, nextHops: [op.badNextHop ? '::' : `fd00:255:${n}::1`], nlri: v6 };
  return u;
}

// ---- the naive model ------------------------------------------------------

interface ModelPath {
  peer: string | null;
  source: 'bgp' | 'static' | 'connected';
  attrs: PathAttributes;
  usable: boolean;
}

class Model {
  readonly adjIn = new Map<string, Map<string, ModelPath>>(PEERS.map((p) => [p.id, new Map()]));
  readonly local = new Map<string, Set<'static' | 'connected'>>();

  apply(op: Op): void {
    switch (op.kind) {
      case 'announce': {
        const a = attrsOf(op.peer, op.attrs);
        for (const p of op.prefixes) this.adjIn.get(op.peer)!.set(p, { peer: op.peer, source: 'bgp', attrs: a, usable: !op.badNextHop });
        break;
      }
      case 'withdraw':
        for (const p of op.prefixes) this.adjIn.get(op.peer)!.delete(p);
        break;
      case 'originate': {
        const s = this.local.get(op.prefix) ?? new Set();
        s.add(op.source);
        this.local.set(op.prefix, s);
        break;
      }
      case 'unoriginate': {
        const s = this.local.get(op.prefix);
        if (!s) break;
        if (op.source === undefined) s.clear();
        else s.delete(op.source);
        if (s.size === 0) this.local.delete(op.prefix);
        break;
      }
      case 'flap':
        this.adjIn.get(op.peer)!.clear();
        break;
    }
  }

  best(prefix: string): ModelPath | undefined {
    let s: ModelPath[] = [];
    for (const paths of this.adjIn.values()) {
      const p = paths.get(prefix);
      if (!p || !p.usable) continue;
      if ((p.attrs.asPath ?? []).some((seg) => seg.asns.includes(LOCAL_ASN))) continue;
      s.push(p);
    }
    const local = this.local.get(prefix);
    if (local) s.push({ peer: null, source: local.has('connected') ? 'connected' : 'static', attrs: {}, usable: true });
    const keepMin = (f: (p: ModelPath) => number): void => {
      const m = Math.min(...s.map(f));
      s = s.filter((p) => f(p) === m);
    };
    keepMin((p) => -lp(p));
    keepMin((p) => (p.peer === null ? 0 : 1));
    keepMin((p) => pathLen(p));
    keepMin((p) => p.attrs.origin ?? 0);
    s = s.filter((p) => !s.some((o) => nAs(o) === nAs(p) && (o.attrs.med ?? 0) < (p.attrs.med ?? 0)));
    keepMin((p) => (p.peer !== null && PEER_BY_ID.get(p.peer)!.asn !== LOCAL_ASN ? 0 : 1));
    keepMin((p) => (p.peer === null ? 0 : PEER_N.get(p.peer)!)); // router id 10.0.0.n
    return s[0];
  }
}

function lp(p: ModelPath): number {
  if (p.peer === null) return 100;
  return PEER_BY_ID.get(p.peer)!.asn === LOCAL_ASN ? (p.attrs.localPref ?? 100) : 100;
}

function pathLen(p: ModelPath): number {
  return (p.attrs.asPath ?? []).reduce((n, seg) => n + (seg.type === AsPathSegmentType.AsSet ? 1 : seg.asns.length), 0);
}

function nAs(p: ModelPath): number {
  const first = p.attrs.asPath?.[0];
  return first && first.type === AsPathSegmentType.AsSequence ? first.asns[0]! : LOCAL_ASN;
}

// ---- a receiving peer -----------------------------------------------------

function receive(table: Map<string, PathAttributes>, us: readonly UpdateMessage[]): void {
  for (const u of us) {
    for (const p of u.withdrawn) table.delete(p);
    for (const p of u.mpUnreach?.withdrawn ?? []) table.delete(p);
    for (const p of u.nlri) table.set(p, u.attributes);
    for (const p of u.mpReach?.nlri ?? []) table.set(p, u.attributes);
  }
}

function run(rib: Rib, op: Op): LocRibChange[] {
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
      return rib.originate(op.prefix, op.source);
    case 'unoriginate':
      return rib.withdrawOrigin(op.prefix, op.source);
    case 'flap': {
      const changes = rib.removePeer(op.peer);
      rib.addPeer(PEER_BY_ID.get(op.peer)!);
      return changes;
    }
  }
}

/** The deciding step of a fresh RIB holding the same candidates (no incremental state). */
function stepOf(rib: Rib, prefix: string): string | undefined {
  return freshOf(rib, prefix, null).decision(prefix)?.step;
}

/** A fresh RIB holding the same candidates for `prefix` (no incremental state). */
function freshOf(rib: Rib, prefix: string, multipath: MultipathOptions | null): Rib {
  const fresh = new Rib({ asn: LOCAL_ASN, routerId: LOCAL_ROUTER_ID, multipath });
  for (const p of [...PEERS, OBSERVER]) fresh.addPeer(p);
  for (const r of rib.paths(prefix)) {
    if (r.peer === null) fresh.originate(prefix, r.source === 'connected' ? 'connected' : 'static');
    else {
      const attrs: PathAttributes = { ...r.attrs };
      if (r.nextHop !== null) attrs.nextHop = r.nextHop;
      fresh.applyUpdate(r.peer, { type: 2, withdrawn: [], attributes: attrs, nlri: [prefix] } as Parameters<Rib['applyUpdate']>[1]);
    }
  }
  return fresh;
}

const peersOf = (routes: readonly Route[]): (string | null)[] => routes.map((r) => r.peer).sort();

describe('property: Loc-RIB = naive recomputation from the Adj-RIBs-In', () => {
  // With backups the RIB keeps the runner-up and, in a set without MEDs (a total order), meets a new
  // candidate with the best and the runner-up only: the naive recomputation must still agree.
  // With multipath (max-paths 2 or 8, AS_PATH relaxed or not) the paths that forward, as the changes
  // say them, must be those a fresh decision over the same candidates picks.
  test.each([
    [false, null],
    [true, null],
    [false, { maxPaths: 8, relaxAsPath: false }],
    [true, { maxPaths: 2, relaxAsPath: true }],
  ] as [boolean, MultipathOptions | null][])('any sequence of announce/withdraw/originate/flap from several peers (backups: %s, multipath: %o)', (backups, multipath) => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        const rib = new Rib({ asn: LOCAL_ASN, routerId: LOCAL_ROUTER_ID, backups, multipath });
        const forwarding = new Map<string, (string | null)[]>();
        for (const p of PEERS) rib.addPeer(p);
        rib.addPeer(OBSERVER);
        const model = new Model();
        const folded = new Map<string, Route>();
        const observer = new Map<string, PathAttributes>();
        receive(observer, rib.exportFull('o'));
        for (const op of ops) {
          const changes = run(rib, op);
          model.apply(op);
          const prefixes = new Set<string>();
          for (const c of changes) {
            expect(prefixes.has(c.prefix)).toBe(false);
            prefixes.add(c.prefix);
            // Routes are made on demand: compared as paths, not objects.
            // With backups a change may be the runner-up's alone (the FIB keeps it beside the best).
            if (!backups && multipath === null) expect(c.best).not.toEqual(c.previous);
            if (multipath !== null) {
              expect(c.multipath).not.toBeUndefined();
              if (c.multipath) forwarding.set(c.prefix, peersOf(c.multipath));
              else forwarding.delete(c.prefix);
            } else expect(c).not.toHaveProperty('multipath');
            expect(folded.get(c.prefix) ?? null).toEqual(c.previous);
            if (c.best) folded.set(c.prefix, c.best);
            else folded.delete(c.prefix);
          }
          receive(observer, rib.exportChanges('o', changes));
        }
        for (const prefix of POOL) {
          const want = model.best(prefix);
          const got = rib.best(prefix);
          expect(got?.peer ?? null, prefix).toBe(want?.peer ?? null);
          expect(got?.source, prefix).toBe(want?.source);
          if (want && want.peer !== null) {
            expect(got?.attrs.asPath).toEqual(want.attrs.asPath);
            expect(got?.attrs.largeCommunities).toEqual(want.attrs.largeCommunities);
            expect(got?.attrs.extendedCommunities).toEqual(want.attrs.extendedCommunities);
          }
          expect(folded.get(prefix), prefix).toEqual(got);
          const ranked = rib.paths(prefix);
          expect(ranked[0]).toEqual(got);
          // The runner-up and the deciding step, as a decision over all the candidates says.
          if (backups) expect(rib.backup(prefix), prefix).toEqual(ranked[1] ?? null);
          if (ranked.length > 1) expect(rib.decision(prefix)?.step, prefix).toBe(stepOf(rib, prefix));
          if (multipath !== null) {
            const used = rib.multipath(prefix);
            expect(used[0] ?? null, prefix).toEqual(got ?? null);
            expect(peersOf(used), prefix).toEqual(peersOf(freshOf(rib, prefix, multipath).multipath(prefix)));
            expect(forwarding.get(prefix) ?? peersOf(used.slice(0, 1)), prefix).toEqual(peersOf(used));
          }
        }
        expect(rib.size).toBe(folded.size);
        // The observer (eBGP, AS 65009) holds exactly the exportable best routes, with our ASN prepended;
        // connected routes (tunnel subnets) are not redistributed.
        const wantObserved = POOL.filter((p) => {
          const b = rib.best(p);
          return (
            b !== undefined &&
            b.source !== 'connected' &&
            !(b.attrs.asPath ?? []).some((s) => s.asns.includes(OBSERVER_ASN))
          );
        });
        expect([...observer.keys()].sort()).toEqual(wantObserved.sort());
        for (const p of wantObserved) {
          expect(observer.get(p)!.asPath![0]!.asns[0]).toBe(LOCAL_ASN);
          expect(observer.get(p)!.localPref).toBeUndefined();
          // RFC 8092 and RFC 4360 (transitive) communities travel with their own route.
          expect(observer.get(p)!.largeCommunities).toEqual(rib.best(p)!.attrs.largeCommunities);
          expect(observer.get(p)!.extendedCommunities).toEqual(rib.best(p)!.attrs.extendedCommunities);
        }
        const full = new Map<string, PathAttributes>();
        receive(full, rib.exportFull('o'));
        expect(full).toEqual(observer);
        // Nothing leaks: with every peer gone and nothing originated, only the local-origin set remains.
        for (const p of [...PEERS, OBSERVER]) rib.removePeer(p.id);
        for (const prefix of POOL) rib.withdrawOrigin(prefix);
        expect(rib.size).toBe(0);
        expect(rib.attributes.size).toBe(1);
        expect(rib.exportAttributes.size).toBe(0);
        // Every prefix number was given back: Adj-RIBs-In, Adj-RIBs-Out, our origins and the operations' touches.
        expect(rib.prefixes.size).toBe(0);
      }),
      // The example is RFC 4271 §9.1.2.2 (c)'s trap: removing a losing path changes the winner.
      { numRuns: 300, examples: [[[
        { kind: 'announce', peer: 'a', prefixes: ['10.1.0.0/16'], attrs: { localPref: undefined, med: 10, origin: 0, rest: [], asSet: [], tag: undefined }, badNextHop: false },
        { kind: 'announce', peer: 'c', prefixes: ['10.1.0.0/16'], attrs: { localPref: undefined, med: undefined, origin: 0, rest: [], asSet: [], tag: undefined }, badNextHop: false },
        { kind: 'announce', peer: 'b', prefixes: ['10.1.0.0/16'], attrs: { localPref: undefined, med: 5, origin: 0, rest: [], asSet: [], tag: undefined }, badNextHop: false },
        { kind: 'withdraw', peer: 'b', prefixes: ['10.1.0.0/16'] },
      ]]] },
    );
  });
});
