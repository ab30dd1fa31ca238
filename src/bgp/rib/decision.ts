/**
 * BGP decision process (RFC 4271 §9.1.2). §9.1.2.2 defines tie breaking as an
 * elimination over the whole candidate set, not as a pairwise order: MED is
 * compared only between paths from the same neighbor AS, so "better than" is
 * not transitive and a sorted list would depend on insertion order. selectBest
 * therefore filters the set step by step; compare() is the same procedure on
 * a set of two and says which step decided (GoBGP's "best path reason").
 *
 * Steps, in order:
 *  0 next-hop        a path whose NEXT_HOP is unusable is no candidate (§9.1.2, first paragraph)
 *    llgr-stale      a path without LLGR_STALE over one with it: RFC 9494 §4.2 wants long-lived
 *                    stale paths least preferred, before any other step
 *  1 local-pref      highest degree of preference (§9.1.1): LOCAL_PREF, 100 when absent
 *  2 local-origin    locally originated (static, connected) over learned
 *  3 as-path-length  shortest AS_PATH, an AS_SET counts 1 (§9.1.2.2 a)
 *  4 origin          lowest ORIGIN: IGP < EGP < INCOMPLETE (§9.1.2.2 b)
 *  5 med             lowest MULTI_EXIT_DISC among paths from the same neighbor AS,
 *                    a missing MED counting as 0 (§9.1.2.2 c)
 *  6 ebgp-over-ibgp  external over internal (§9.1.2.2 d)
 *    (§9.1.2.2 e, interior cost to the next hop, is skipped: every next hop is
 *    the far end of a point-to-point tunnel, so all costs are equal)
 *  7 router-id       lowest BGP Identifier of the advertising peer (§9.1.2.2 f)
 *  8 peer-address    lowest peer address (§9.1.2.2 g)
 */
import { AsPathSegmentType, Origin } from '#bgp/wire/types';
import type { PathAttributes } from '#bgp/wire/types';
import { parseIp } from '#lib/prefix';
import { BoundedCache } from '#lib/bounded-cache';
import type { Route, RouteSource } from './types.js';

/** Every step that can decide, as a list (the RIB stores a step as its index here). */
export const DECISION_STEPS = [
  'only-path',
  'next-hop',
  'llgr-stale',
  'local-pref',
  'local-origin',
  'as-path-length',
  'origin',
  'med',
  'ebgp-over-ibgp',
  'router-id',
  'peer-address',
  'equal',
] as const;

export type DecisionStep = (typeof DECISION_STEPS)[number];

/** What the decision process needs to know about the peer a path came from. */
export interface DecisionPeer {
  readonly ebgp: boolean;
  /** BGP Identifier as an unsigned 32-bit number. */
  readonly routerIdNum: number;
  /** Sortable form of the peer address (see addressKey). */
  readonly addressKey: string;
}

export interface DecisionContext {
  readonly localAsn: number;
  readonly localRouterIdNum: number;
  readonly peers: ReadonlyMap<string, DecisionPeer>;
}

export interface Decision {
  readonly best: Route;
  /** The step that eliminated the last competitor. */
  readonly step: DecisionStep;
}

export const DEFAULT_LOCAL_PREF = 100;

/** RFC 9494 §4.1 (IANA well-known communities): a long-lived stale path, and one not to be kept so. */
export const LLGR_STALE = 0xffff0006;
export const NO_LLGR = 0xffff0007;

/** 1 for a long-lived stale path (RFC 9494 §4.2: least preferred), else 0. */
export function llgrStaleRank(r: DecisionPath): number {
  const c = r.attrs.communities;
  return c !== undefined && c.includes(LLGR_STALE) ? 1 : 0;
}

/**
 * What the steps read of a path. A Route is one; the Rib fills a reusable one
 * from what it stores (path record, peer) so that comparing a received path
 * with the best makes no object (issue 10: ten full-table peers, millions of
 * comparisons that change nothing).
 */
export interface DecisionPath {
  readonly peer: string | null;
  readonly source: RouteSource;
  readonly attrs: PathAttributes;
  readonly nextHop: string | null;
}

/** Negative: a is better; positive: b is better; 0: this step cannot tell them apart. */
type StepCompare = (ctx: DecisionContext, a: DecisionPath, b: DecisionPath) => number;

const STEPS: readonly (readonly [DecisionStep, StepCompare])[] = [
  ['next-hop', (_c, a, b) => usableRank(a) - usableRank(b)],
  ['llgr-stale', (_c, a, b) => llgrStaleRank(a) - llgrStaleRank(b)],
  ['local-pref', (_c, a, b) => localPref(b) - localPref(a)],
  ['local-origin', (_c, a, b) => learnedRank(a) - learnedRank(b)],
  ['as-path-length', (_c, a, b) => asPathLength(a.attrs) - asPathLength(b.attrs)],
  ['origin', (_c, a, b) => origin(a) - origin(b)],
  ['med', (c, a, b) => (neighborAs(c, a) === neighborAs(c, b) ? med(a) - med(b) : 0)],
  ['ebgp-over-ibgp', (c, a, b) => ibgpRank(c, a) - ibgpRank(c, b)],
  ['router-id', (c, a, b) => routerId(c, a) - routerId(c, b)],
  ['peer-address', (c, a, b) => compareStrings(addressOf(c, a), addressOf(c, b))],
];

/** RFC 4271 §9.1.2.2 for two paths: the better one (null when equal) and the deciding step. */
export function compare(ctx: DecisionContext, a: Route, b: Route): { better: Route | null; step: DecisionStep } {
  for (let i = 0; i < STEPS.length; i++) {
    const [step, cmp] = STEPS[i]!;
    const d = cmp(ctx, a, b);
    if (d !== 0) return { better: d < 0 ? a : b, step };
  }
  return { better: null, step: 'equal' };
}

/**
 * compare() without a result object, from step `firstStep` (1 skips the next-hop
 * step, for candidates the Rib has already filtered): 0 when equal, else
 * ±(index of the deciding step in STEPS + 1), negative when `a` is better.
 * stepOfComparison names the step. Same steps, same order as compare().
 */
export function comparePaths(ctx: DecisionContext, a: DecisionPath, b: DecisionPath, firstStep = 0): number {
  for (let i = firstStep; i < STEPS.length; i++) {
    const d = STEPS[i]![1](ctx, a, b);
    if (d !== 0) return d < 0 ? -(i + 1) : i + 1;
  }
  return 0;
}

/**
 * Reads candidate `i` for the decision; `second` picks the other of two
 * reusable paths, so that two candidates can be read at once.
 */
export type PathReader = (i: number, second: boolean) => DecisionPath;

/**
 * selectBest (from step `firstStep`) over candidates the caller reads by
 * number instead of handing over Routes: the same elimination, in the same
 * order, over `set` (candidate numbers, ordered as selectBest's list would be).
 * Returns the winner's number * 32 + the deciding step's index in DECISION_STEPS.
 */
export function eliminateRead(ctx: DecisionContext, set: readonly number[], read: PathReader, firstStep: number): number {
  const first = set[0]!;
  if (set.length === 1) return first * 32 + ONLY_PATH;
  if (set.length === 2) {
    const c = comparePaths(ctx, read(first, false), read(set[1]!, true), firstStep);
    return (c <= 0 ? first : set[1]!) * 32 + stepNumber(c);
  }
  let cur = set;
  for (let i = firstStep; i < STEPS.length; i++) {
    // Indexed, not destructured: a destructuring ran the array iterator per step (issue 10).
    const entry = STEPS[i]!;
    const step = entry[0];
    const cmp = entry[1];
    if (step === 'med') {
      cur = eliminateMedRead(ctx, cur, read);
      if (cur.length === 1) return cur[0]! * 32 + i + STEP_OFFSET;
      continue;
    }
    let best = cur[0]!;
    let ties = 1;
    for (let k = 1; k < cur.length; k++) {
      const d = cmp(ctx, read(cur[k]!, false), read(best, true));
      if (d < 0) {
        best = cur[k]!;
        ties = 1;
      } else if (d === 0) ties++;
    }
    if (ties === 1) return best * 32 + i + STEP_OFFSET;
    if (ties < cur.length) {
      const kept: number[] = [];
      for (let k = 0; k < cur.length; k++) if (cmp(ctx, read(cur[k]!, false), read(best, true)) === 0) kept.push(cur[k]!);
      cur = kept;
    }
  }
  return cur[0]! * 32 + EQUAL;
}

/** eliminateMed over candidates read by number. */
function eliminateMedRead(ctx: DecisionContext, set: readonly number[], read: PathReader): readonly number[] {
  if (medFreeRead(ctx, set, read)) return set;
  const lowest = new Map<number, number>();
  for (const x of set) {
    const r = read(x, false);
    const as = neighborAs(ctx, r);
    const m = med(r);
    const cur = lowest.get(as);
    if (cur === undefined || m < cur) lowest.set(as, m);
  }
  const kept = set.filter((x) => {
    const r = read(x, false);
    return med(r) === lowest.get(neighborAs(ctx, r));
  });
  return kept.length === set.length ? set : kept;
}

/** medFree over candidates read by number. */
export function medFreeRead(ctx: DecisionContext, set: readonly number[], read: PathReader): boolean {
  for (let i = 0; i < set.length; i++) {
    const a = read(set[i]!, false).attrs;
    const as = neighborAsOf(ctx.localAsn, a);
    const ma = a.med ?? 0;
    for (let j = i + 1; j < set.length; j++) {
      const b = read(set[j]!, true).attrs;
      if ((b.med ?? 0) !== ma && neighborAsOf(ctx.localAsn, b) === as) return false;
    }
  }
  return true;
}

const ONLY_PATH = 0;
const EQUAL = DECISION_STEPS.length - 1;
/** DECISION_STEPS index of STEPS[i] is i + STEP_OFFSET ('only-path' comes first there). */
const STEP_OFFSET = 1;

/** The DECISION_STEPS index of a comparePaths result. */
function stepNumber(c: number): number {
  return c === 0 ? EQUAL : Math.abs(c) - 1 + STEP_OFFSET;
}

/** The deciding step of a comparePaths result. */
export function stepOfComparison(c: number): DecisionStep {
  return c === 0 ? 'equal' : STEPS[Math.abs(c) - 1]![0];
}

/** The best of `paths` by elimination (RFC 4271 §9.1.2.2); undefined for none. */
export function selectBest(ctx: DecisionContext, paths: readonly Route[]): Decision | undefined {
  return eliminateFrom(ctx, paths, 0);
}

/**
 * selectBest for a set already filtered by step 0: the Rib keeps paths with an
 * unusable next hop out of its candidate lists, so it skips re-parsing next hops.
 */
export function selectBestCandidate(ctx: DecisionContext, paths: readonly Route[]): Decision | undefined {
  return eliminateFrom(ctx, paths, 1);
}

function eliminateFrom(ctx: DecisionContext, paths: readonly Route[], firstStep: number): Decision | undefined {
  const first = paths[0];
  if (first === undefined) return undefined;
  if (paths.length === 1) return { best: first, step: 'only-path' };
  if (paths.length === 2) {
    // For two paths elimination is the pairwise comparison; no intermediate sets.
    const second = paths[1]!;
    for (let i = firstStep; i < STEPS.length; i++) {
      const [step, cmp] = STEPS[i]!;
      const d = cmp(ctx, first, second);
      if (d !== 0) return { best: d < 0 ? first : second, step };
    }
    return { best: first, step: 'equal' };
  }
  // Elimination without a new set per step: most steps keep every path, and
  // the one that decides usually leaves a single one (ten full-table peers:
  // millions of decisions, so the sets were most of the decision's garbage).
  let set: readonly Route[] = paths;
  for (let i = firstStep; i < STEPS.length; i++) {
    const [step, cmp] = STEPS[i]!;
    if (step === 'med') {
      set = eliminateMed(ctx, set);
      if (set.length === 1) return { best: set[0]!, step };
      continue;
    }
    // One pass: the best under this step and how many tie with it (a step is a key comparison).
    let best = set[0]!;
    let ties = 1;
    for (let k = 1; k < set.length; k++) {
      const d = cmp(ctx, set[k]!, best);
      if (d < 0) {
        best = set[k]!;
        ties = 1;
      } else if (d === 0) ties++;
    }
    if (ties === 1) return { best, step };
    if (ties < set.length) {
      const kept: Route[] = [];
      for (let k = 0; k < set.length; k++) if (cmp(ctx, set[k]!, best) === 0) kept.push(set[k]!);
      set = kept;
    }
  }
  return { best: set[0]!, step: 'equal' };
}

/** All paths best first: the winner, then the winner among the rest, and so on. */
export function rank(ctx: DecisionContext, paths: readonly Route[]): Route[] {
  const rest = [...paths];
  const out: Route[] = [];
  while (rest.length > 0) {
    const d = selectBest(ctx, rest)!;
    out.push(d.best);
    rest.splice(rest.indexOf(d.best), 1);
  }
  return out;
}

/** §9.1.2.2 c: within each neighbor AS keep the lowest MED; paths from other ASes are untouched. */
export function eliminateMed(ctx: DecisionContext, set: readonly Route[]): readonly Route[] {
  if (medFree(ctx, set)) return set;
  const lowest = new Map<number, number>();
  for (const r of set) {
    const as = neighborAs(ctx, r);
    const m = med(r);
    const cur = lowest.get(as);
    if (cur === undefined || m < cur) lowest.set(as, m);
  }
  const kept = set.filter((r) => med(r) === lowest.get(neighborAs(ctx, r)));
  return kept.length === set.length ? set : kept;
}

/**
 * Step 0. A next hop is usable when it is a unicast address we could forward
 * to. Resolution through the RIB is not needed here: every BGP next hop is the
 * peer's end of a point-to-point tunnel (the sender's next-hop-self).
 */
export function nextHopUsable(nextHop: string | null): boolean {
  if (nextHop === null) return false;
  // A handful of next hops, compared at every decision (ten full-table peers:
  // millions of times): each text is judged once. Bounded, as the texts come from peers.
  return usableCache.get(nextHop) ?? usableCache.set(nextHop, judgeNextHop(nextHop));
}

const usableCache = new BoundedCache<string, boolean>(4096);

function judgeNextHop(nextHop: string): boolean {
  const ip = parseIp(nextHop);
  if (!ip) return false;
  const b = ip.bytes;
  if (ip.family === 4) {
    if (b[0] === 0 || b[0] === 127 || b[0]! >= 224) return false;
    return true;
  }
  if (b[0] === 0xff) return false;
  let zeroTo15 = true;
  for (let i = 0; i < 15; i++) if (b[i] !== 0) zeroTo15 = false;
  return !(zeroTo15 && (b[15] === 0 || b[15] === 1));
}

function usableRank(r: DecisionPath): number {
  return r.source !== 'bgp' || nextHopUsable(r.nextHop) ? 0 : 1;
}

export function localPref(r: DecisionPath): number {
  return r.attrs.localPref ?? DEFAULT_LOCAL_PREF;
}

function learnedRank(r: DecisionPath): number {
  return r.source === 'bgp' ? 1 : 0;
}

/** §9.1.2.2 a: an AS_SET counts 1; confederation segments count 0 (RFC 5065 §5.3). */
export function asPathLength(a: PathAttributes): number {
  let n = 0;
  const path = a.asPath;
  if (path === undefined) return 0;
  for (let i = 0; i < path.length; i++) {
    const s = path[i]!;
    if (s.type === AsPathSegmentType.AsSequence) n += s.asns.length;
    else if (s.type === AsPathSegmentType.AsSet) n += 1;
  }
  return n;
}

function origin(r: DecisionPath): number {
  return r.attrs.origin ?? Origin.Incomplete;
}

function med(r: DecisionPath): number {
  return r.attrs.med ?? 0;
}

/**
 * §9.1.2.2 c neighborAS(): the first AS of the path; for a path originated
 * inside our AS (locally or by an iBGP peer: empty path, or one starting with
 * an AS_SET) it is our own AS.
 */
export function neighborAs(ctx: DecisionContext, r: DecisionPath): number {
  return neighborAsOf(ctx.localAsn, r.attrs);
}

/** neighborAs from the attributes alone (no Route needed). */
export function neighborAsOf(localAsn: number, a: PathAttributes): number {
  const first = a.asPath?.[0];
  if (first && first.type === AsPathSegmentType.AsSequence && first.asns.length > 0) return first.asns[0]!;
  return localAsn;
}

/**
 * Whether the MED step (§9.1.2.2 c) can eliminate nothing among `paths`: no
 * two paths of one neighbor AS differ in MED. Then the steps compare each
 * path by keys of its own, the candidates are a total order, and a new
 * path needs to meet only the best and the runner-up. (A MED alone does not
 * break that: ten upstreams in ten ASes with MEDs are still a total order.)
 */
export function medFree(ctx: DecisionContext, paths: readonly Route[]): boolean {
  for (let i = 0; i < paths.length; i++) {
    const a = paths[i]!;
    const as = neighborAs(ctx, a);
    for (let j = i + 1; j < paths.length; j++) {
      const b = paths[j]!;
      if (med(a) !== med(b) && neighborAs(ctx, b) === as) return false;
    }
  }
  return true;
}

function ibgpRank(ctx: DecisionContext, r: DecisionPath): number {
  if (r.peer === null) return 1;
  return ctx.peers.get(r.peer)?.ebgp ? 0 : 1;
}

function routerId(ctx: DecisionContext, r: DecisionPath): number {
  if (r.peer === null) return ctx.localRouterIdNum;
  return ctx.peers.get(r.peer)?.routerIdNum ?? 0xffffffff;
}

function addressOf(ctx: DecisionContext, r: DecisionPath): string {
  if (r.peer === null) return '';
  return ctx.peers.get(r.peer)?.addressKey ?? '~';
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A BGP Identifier as an unsigned number; unreadable ones sort last. */
export function routerIdNumber(id: string): number {
  const ip = parseIp(id);
  if (!ip || ip.family !== 4) return 0xffffffff;
  const b = ip.bytes;
  return ((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!;
}

/** Peer addresses as strings that sort like the numbers: family digit, then fixed-width hex. */
export function addressKey(address: string): string {
  const ip = parseIp(address);
  if (!ip) return `9${address}`;
  let s = String(ip.family);
  for (const x of ip.bytes) s += (x < 16 ? '0' : '') + x.toString(16);
  return s;
}
