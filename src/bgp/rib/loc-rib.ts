/**
 * The Loc-RIB (RFC 4271 §3.2) and the decision process's driving (§9.1.2):
 * per prefix number, which candidates it has and which is the best, kept in
 * columns (a lone candidate or a pair, no object per prefix) or a candidate
 * set for three and more (candidate-sets.ts). It stores candidate numbers
 * only (a peer's slot, or LOCAL_SLOT); their paths are read through
 * CandidatePaths (stored-paths.ts: the Adj-RIBs-In and our own routes),
 * into two scratch paths rather than a Route per comparison.
 *
 * The Rib calls addCandidate, dropCandidate and candidateChanged after it
 * has noted the prefix's best before (touch), and reads the outcome back
 * (bestSlot, backupSlotOf, multipathSlots).
 */
import type { PathAttributes } from '#bgp/wire/types';
import { formatPrefix, maskBytes, parseIp } from '#lib/prefix';
import { Column, NO_PREFIX } from '#lib/prefix-table';
import type { PrefixTable } from '#lib/prefix-table';
import { CandidateSets } from './candidate-sets.js';
import { DECISION_STEPS, comparePaths, eliminateRead, medFree, medFreeRead, neighborAsOf, rank, selectBestCandidate, stepOfComparison } from './decision.js';
import type { DecisionContext, DecisionPath, DecisionStep, PathReader } from './decision.js';
import { multipathSet } from './multipath.js';
import type { MultipathOptions } from './multipath.js';
import type { Route } from './types.js';

/** Our own origin's number in candidate lists; a peer's are 1…. */
export const LOCAL_SLOT = 0;

/** The prefix text of routes made for the decision process only (candidateOf): none. */
const DECIDING = '';

/** A reusable DecisionPath: CandidatePaths.pathIn writes a stored path's fields into it for one comparison. */
export interface ScratchPath {
  peer: string | null;
  readonly source: 'bgp';
  attrs: PathAttributes;
  nextHop: string | null;
}

function scratchPath(): ScratchPath {
  return { peer: null, source: 'bgp', attrs: {}, nextHop: null };
}

/** The Loc-RIB column's mark for a prefix with three or more candidates (a set in `sets`, its number in `setOf`); -1 there is none. */
const MULTI = -2;

/** In the pair column (LocRib.pairStep): both paths of the pair forward (multipath). */
const PAIR_MULTIPATH = 0x80;

/** Decision steps by number, for the pair column (LocRib.pairStep). */
const STEP_NUMBERS: ReadonlyMap<DecisionStep, number> = new Map(DECISION_STEPS.map((n, i) => [n, i]));

/**
 * Member numbers 0 … n-1 in order (`without` -1), or 1 … n-1 with `without`'s
 * place taken by 0 (the runner-up's candidates, decideStored), shared and
 * never changed: eliminateRead only reads them. Kept for sets of up to
 * MEMBER_LISTS_MAX members, made per call beyond.
 */
const memberLists: (readonly number[] | undefined)[][] = [];
const MEMBER_LISTS_MAX = 32;

function memberList(n: number, without: number): readonly number[] {
  const byN = n <= MEMBER_LISTS_MAX ? (memberLists[n] ??= []) : null;
  const cached = byN?.[without + 1];
  if (cached !== undefined) return cached;
  const list: number[] = [];
  if (without < 0) for (let i = 0; i < n; i++) list.push(i);
  else for (let i = 1; i < n; i++) list.push(i === without ? 0 : i);
  if (byN !== null) byN[without + 1] = Object.freeze(list);
  return list;
}

/** How the Loc-RIB reads its candidates' paths (StoredPaths: from the Adj-RIBs-In, or our own route for LOCAL_SLOT). */
export interface CandidatePaths {
  /** Candidate `slot`'s path for `prefix` written into `into` (our own route is returned as stored); valid until `into` is written again. */
  pathIn(into: ScratchPath, prefix: number, slot: number): DecisionPath;
  /** The attributes of candidate `slot`'s path for `prefix`, without making its Route. */
  attrsOf(prefix: number, slot: number): PathAttributes;
  /** The route of candidate `slot` for `prefix`, made now; `text`: the prefix's (made when not given), or DECIDING. */
  routeOf(prefix: number, slot: number, text?: string): Route;
}

export class LocRib {
  /**
   * Per prefix number, the peer number of its best candidate, MULTI
   * when it has three or more (a candidate set), -1 when none. Holds no
   * references: a candidate's Adj-RIB-In entry (or our own origin) holds the
   * number.
   */
  private readonly loc = new Column();
  /**
   * Two candidates (the common case with two upstreams) are a pair in
   * columns, not a candidate set: `second` holds the other one's peer
   * number (-1: the best is the only one), `pairStep` the step that chose
   * between them. An object, its slot array and a map entry cost ~175 bytes
   * per prefix (two full tables: 175 MB), the columns 5.
   */
  private readonly second = new Column();
  private pairStep = new Uint8Array(1024);
  /** Three or more candidates: a set (candidate-sets.ts) per prefix, by number in `setOf`. */
  private readonly sets = new CandidateSets();
  private readonly setOf = new Column();
  private locCount = 0;
  /** Loc-RIB prefixes per length, so lookup tries only lengths that exist. */
  private readonly lengths4 = new Uint32Array(33);
  private readonly lengths6 = new Uint32Array(129);
  /**
   * Multipath (multipath.ts), null when off: the candidates tied with the
   * best forward with it. A change of them is a Loc-RIB change with
   * `multipath`, as a change of the backup is one with `backup`.
   */
  private multipathOpts: MultipathOptions | null;
  /** The two paths of a comparison, filled from the stored paths (pathIn). */
  private readonly scratchA = scratchPath();
  private readonly scratchB = scratchPath();
  /** decideStored's member reader: member i of set `readSet` for prefix `readPrefix`, into scratchA or (second) scratchB. */
  private readPrefix = 0;
  private readSet = 0;
  private readonly readMember: PathReader = (i, second) => this.paths.pathIn(second ? this.scratchB : this.scratchA, this.readPrefix, this.sets.at(this.readSet, i));

  constructor(
    private readonly prefixes: PrefixTable,
    private readonly decisionCtx: DecisionContext,
    /** Keep each prefix's second-best candidate (backupSlotOf without a decision of its own). */
    private readonly backups: boolean,
    multipath: MultipathOptions | null,
    private readonly paths: CandidatePaths,
  ) {
    this.multipathOpts = multipath;
  }

  /** Loc-RIB prefixes. */
  get size(): number {
    return this.locCount;
  }

  /** Whether the prefix (a number, or NO_PREFIX) has a path. */
  has(prefix: number): boolean {
    return prefix !== NO_PREFIX && this.loc.get(prefix) !== -1;
  }

  /** Calls `fn` per prefix with a path, in ascending numbers (`entry`: the column's own, not to be read). */
  forEach(fn: (entry: number, prefix: number) => void): void {
    this.loc.forEach(fn);
  }

  /** The step of RFC 4271 §9.1.2.2 that chose the best of a prefix with a path. */
  stepOf(prefix: number): DecisionStep {
    return this.loc.get(prefix) >= 0 ? this.pairStepOf(prefix) : this.sets.step(this.setOf.get(prefix));
  }

  /** All candidates' routes, best first; [] without a path. */
  ranked(prefix: number): Route[] {
    const e = this.locOf(prefix);
    if (e === -1) return [];
    if (e >= 0) {
      const other = this.second.get(prefix);
      return other < 0 ? [this.paths.routeOf(prefix, e)] : rank(this.decisionCtx, [this.paths.routeOf(prefix, e), this.paths.routeOf(prefix, other)]);
    }
    return rank(this.decisionCtx, this.candidateRoutes(prefix, this.setOf.get(prefix)));
  }

  /** Longest-prefix match: the number of the longest prefix with a path that holds `address`, or NO_PREFIX. */
  lookup(address: string): number {
    const ip = parseIp(address);
    if (!ip) return NO_PREFIX;
    const lengths = ip.family === 4 ? this.lengths4 : this.lengths6;
    for (let len = lengths.length - 1; len >= 0; len--) {
      if (lengths[len] === 0) continue;
      const id = this.prefixes.find(formatPrefix({ family: ip.family, bytes: maskBytes(ip.bytes, len), len }));
      if (this.locOf(id) !== -1) return id;
    }
    return NO_PREFIX;
  }

  /** Multipath's options, null when off. */
  get multipath(): MultipathOptions | null {
    return this.multipathOpts;
  }

  /**
   * Multipath switched on, off or changed (reload): every prefix with two
   * or more candidates is decided again. `touch` is called for each before,
   * while the set is still the one of the old options.
   */
  setMultipath(opts: MultipathOptions | null, touch: (prefix: number) => void): void {
    const many: number[] = [];
    this.loc.forEach((e, id) => {
      if (e === MULTI || this.second.get(id) >= 0) {
        many.push(id);
        touch(id);
      }
    });
    this.multipathOpts = opts;
    for (const id of many) {
      const e = this.loc.get(id);
      if (e === MULTI) this.decide(id, this.setOf.get(id));
      else this.decidePair(id, e, this.second.get(id));
    }
  }

  /** The Loc-RIB entry of a prefix number: a peer number, MULTI, or -1 (none, or NO_PREFIX). */
  private locOf(prefix: number): number {
    return prefix === NO_PREFIX ? -1 : this.loc.get(prefix);
  }

  /** The best candidate's number (LOCAL_SLOT: our own route) of a prefix with a path. */
  bestSlot(prefix: number): number {
    const e = this.loc.get(prefix);
    return e >= 0 ? e : this.sets.at(this.setOf.get(prefix), 0);
  }

  /** The second-best candidate's peer number (-1: none): the path the FIB falls back to. */
  backupSlotOf(prefix: number): number {
    const loc = this.locOf(prefix);
    if (loc >= 0) return this.second.get(prefix);
    if (loc !== MULTI) return -1;
    const e = this.setOf.get(prefix);
    // Kept by decide() (every change of the candidates runs it).
    if (this.backups) return this.sets.backup(e);
    const rest = this.sets.list(e).slice(1);
    const text = this.prefixes.text(prefix);
    const routes = rest.map((slot) => this.paths.routeOf(prefix, slot, text));
    const d = selectBestCandidate(this.decisionCtx, routes)!;
    return rest[routes.indexOf(d.best)]!;
  }

  /** A candidate (peer number `slot`) for `prefix` that was none; the caller has touched the prefix. */
  addCandidate(prefix: number, slot: number): void {
    const e = this.loc.get(prefix);
    if (e === -1) {
      this.loc.set(prefix, slot);
      this.locCount++;
      this.countLength(prefix, 1);
      return;
    }
    if (e >= 0) {
      const other = this.second.get(prefix);
      if (other < 0) return this.decidePair(prefix, e, slot);
      // A third: the pair becomes a candidate set, decided in full.
      this.second.set(prefix, -1);
      const three = this.sets.create(e, other, slot);
      this.loc.set(prefix, MULTI);
      this.setOf.set(prefix, three);
      this.decide(prefix, three);
      return;
    }
    const c = this.setOf.get(prefix);
    this.sets.push(c, slot);
    if (!this.addInOrder(prefix, c, slot)) this.decide(prefix, c);
  }

  /**
   * A new candidate of a totally ordered set (CandidateSets.total): compared
   * with the best and the runner-up only, instead of a decision over all of
   * them (ten full-table peers: ten routes made and eliminated per path).
   * False when the set is not known to be in order; decide() runs then.
   */
  private addInOrder(prefix: number, e: number, slot: number): boolean {
    const sets = this.sets;
    // With multipath the paths tied with the best are sorted in behind it: a full decision.
    if (!sets.total(e) || sets.backup(e) < 0 || this.multipathOpts !== null) return false;
    const fresh = this.paths.pathIn(this.scratchA, prefix, slot);
    // Still a total order unless the new path meets one of its own neighbor AS with another MED.
    const as = neighborAsOf(this.decisionCtx.localAsn, fresh.attrs);
    const m = fresh.attrs.med ?? 0;
    const n = sets.countOf(e);
    for (let i = 0; i < n; i++) {
      const s = sets.at(e, i);
      if (s === slot) continue;
      const a = this.paths.attrsOf(prefix, s);
      if ((a.med ?? 0) !== m && neighborAsOf(this.decisionCtx.localAsn, a) === as) return false;
    }
    const last = n - 1;
    // Compared from what is stored, no Route per candidate (issue 10); `fresh` stays in scratchA.
    const c = comparePaths(this.decisionCtx, fresh, this.paths.pathIn(this.scratchB, prefix, sets.at(e, 0)));
    if (c < 0) {
      // The old best is the runner-up now (the new one was last); the step is the one between the two.
      sets.swap(e, 0, last);
      sets.setBackup(e, sets.at(e, last));
      sets.setStep(e, stepOfComparison(c));
      return true;
    }
    if (comparePaths(this.decisionCtx, fresh, this.paths.pathIn(this.scratchB, prefix, sets.backup(e))) < 0) {
      sets.setBackup(e, slot);
      sets.setStep(e, stepOfComparison(c));
    }
    return true;
  }

  /** The candidate of `slot` for `prefix` is no more; the caller has touched the prefix. */
  dropCandidate(prefix: number, slot: number): void {
    const e = this.loc.get(prefix);
    if (e === -1) return;
    if (e >= 0) {
      const other = this.second.get(prefix);
      if (other >= 0) {
        // A pair loses one: the other is the only candidate.
        if (slot === e) this.loc.set(prefix, other);
        else if (slot !== other) return;
        this.second.set(prefix, -1);
        return;
      }
      if (e !== slot) return;
      this.loc.set(prefix, -1);
      this.locCount--;
      this.countLength(prefix, -1);
      return;
    }
    const sets = this.sets;
    const c = this.setOf.get(prefix);
    const i = sets.indexOf(c, slot);
    if (i < 0) return;
    sets.removeAt(c, i);
    if (sets.countOf(c) === 2) {
      // Down to two: a pair again, decided between the two.
      const a = sets.at(c, 0);
      const b = sets.at(c, 1);
      sets.delete(c);
      this.setOf.set(prefix, -1);
      this.decidePair(prefix, a, b);
      return;
    }
    // In a totally ordered set a loser behind the runner-up takes nothing with it.
    if (sets.total(c) && i >= sets.multipath(c) && sets.backup(c) >= 0 && slot !== sets.backup(c)) return;
    this.decide(prefix, c);
  }

  /** A candidate of `prefix` has another path now: the decision runs again. */
  candidateChanged(prefix: number): void {
    const e = this.loc.get(prefix);
    if (e === MULTI) this.decide(prefix, this.setOf.get(prefix));
    else if (e >= 0) {
      const other = this.second.get(prefix);
      if (other >= 0) this.decidePair(prefix, e, other);
    }
  }

  /**
   * Two candidates, `a` and `b` (peer numbers): the better one goes into the
   * Loc-RIB column, the other into `second`, and the deciding step is kept.
   * Two paths are always in order (no third to make the MED step intransitive).
   */
  private decidePair(prefix: number, a: number, b: number): void {
    // Two filtered candidates: elimination is the pairwise comparison from step 1, a tie keeping `a`.
    const c = comparePaths(this.decisionCtx, this.paths.pathIn(this.scratchA, prefix, a), this.paths.pathIn(this.scratchB, prefix, b), 1);
    const aWins = c <= 0;
    this.loc.set(prefix, aWins ? a : b);
    this.second.set(prefix, aWins ? b : a);
    if (prefix >= this.pairStep.length) {
      let n = this.pairStep.length * 2;
      while (n <= prefix) n *= 2;
      const grown = new Uint8Array(n);
      grown.set(this.pairStep);
      this.pairStep = grown;
    }
    let step = STEP_NUMBERS.get(stepOfComparison(c))!;
    if (this.multipathOpts !== null) {
      // Multipath eligibility reads whole routes: made only with multipath on.
      const best = this.candidateOf(prefix, aWins ? a : b);
      if (multipathSet(this.decisionCtx, [best, this.candidateOf(prefix, aWins ? b : a)], best, this.multipathOpts).length === 2) step |= PAIR_MULTIPATH;
    }
    this.pairStep[prefix] = step;
  }

  /** The step that chose the best of a prefix with one or two candidates. */
  private pairStepOf(prefix: number): DecisionStep {
    return this.second.get(prefix) < 0 ? 'only-path' : DECISION_STEPS[this.pairStep[prefix]! & ~PAIR_MULTIPATH]!;
  }

  /**
   * Puts the best of the candidates first. The whole (small) set is re-decided
   * even when a losing path changed: with MED compared per neighbor AS,
   * removing a loser can change the winner.
   */
  private decide(prefix: number, e: number): void {
    if (this.multipathOpts === null) return this.decideStored(prefix, e);
    const sets = this.sets;
    const paths = this.candidateRoutes(prefix, e, DECIDING);
    const d = selectBestCandidate(this.decisionCtx, paths)!;
    const j = paths.indexOf(d.best);
    if (j > 0) {
      sets.swap(e, 0, j);
      paths[j] = paths[0]!;
      paths[0] = d.best;
    }
    sets.setStep(e, d.step);
    sets.setTotal(e, medFree(this.decisionCtx, paths));
    if (this.multipathOpts !== null) this.sortMultipath(e, paths);
    else sets.setMultipath(e, 1);
    // The backup from the routes made here, not once more per change (with ten full-table peers, twice per path).
    if (!this.backups) return;
    if (paths.length === 2) {
      sets.setBackup(e, sets.at(e, 1));
      return;
    }
    const rest = paths.slice(1);
    const b = selectBestCandidate(this.decisionCtx, rest)!;
    sets.setBackup(e, sets.at(e, 1 + rest.indexOf(b.best)));
  }

  /**
   * decide() without multipath, from the stored paths (pathIn) instead of a
   * Route per candidate (issue 10): the same elimination over the members in
   * the same order (eliminateRead), so the best, the step, the runner-up and
   * whether the set is in a total order come out as selectBest says them.
   */
  private decideStored(prefix: number, e: number): void {
    const sets = this.sets;
    const n = sets.countOf(e);
    // The reader made once and pointed at this set, the member lists shared: no closure and two arrays per decision (issue 10).
    this.readPrefix = prefix;
    this.readSet = e;
    const read = this.readMember;
    const all = memberList(n, -1);
    const d = eliminateRead(this.decisionCtx, all, read, 1);
    const j = d >>> 5;
    sets.setStep(e, DECISION_STEPS[d & 31]!);
    sets.setTotal(e, medFreeRead(this.decisionCtx, all, read));
    sets.setMultipath(e, 1);
    let backup = -1;
    if (this.backups) {
      if (n === 2) backup = j === 0 ? 1 : 0;
      else {
        // The rest in the order decide() had it: the best's place taken by the first member.
        backup = eliminateRead(this.decisionCtx, memberList(n, j), read, 1) >>> 5;
      }
      backup = sets.at(e, backup);
    }
    if (j > 0) sets.swap(e, 0, j);
    if (backup !== -1) sets.setBackup(e, backup);
  }

  /**
   * Multipath: the paths that forward with the best (paths[0]) move in
   * behind it, in their order, and their count is kept. `paths` follows the
   * members (it is reordered with them).
   */
  private sortMultipath(e: number, paths: Route[]): void {
    const sets = this.sets;
    const used = multipathSet(this.decisionCtx, paths, paths[0]!, this.multipathOpts!);
    for (let i = 1; i < used.length; i++) {
      const j = paths.indexOf(used[i]!, i);
      if (j !== i) {
        sets.swap(e, i, j);
        paths[j] = paths[i]!;
        paths[i] = used[i]!;
      }
    }
    sets.setMultipath(e, used.length);
  }

  /** The peer numbers that forward for `prefix`: the best, then the paths used with it (multipath). */
  multipathSlots(prefix: number): number[] {
    const e = this.locOf(prefix);
    if (e === -1) return [];
    if (e >= 0) {
      const other = this.second.get(prefix);
      return other >= 0 && (this.pairStep[prefix]! & PAIR_MULTIPATH) !== 0 ? [e, other] : [e];
    }
    const c = this.setOf.get(prefix);
    const n = this.sets.multipath(c);
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = this.sets.at(c, i);
    return out;
  }

  /**
   * The candidates' routes, in the order of set `e`'s members. `text`: the
   * prefix's, or DECIDING for routes only the decision process sees.
   */
  private candidateRoutes(prefix: number, e: number, text = this.prefixes.text(prefix)): Route[] {
    const n = this.sets.countOf(e);
    const out = new Array<Route>(n);
    for (let i = 0; i < n; i++) out[i] = text === DECIDING ? this.candidateOf(prefix, this.sets.at(e, i)) : this.paths.routeOf(prefix, this.sets.at(e, i), text);
    return out;
  }

  /**
   * The route of candidate `slot` as the decision process compares it
   * (RFC 4271 §9.1.2), which never reads the prefix: a peer's path gets no
   * text (DECIDING), so a received prefix that meets others is decided
   * without one (issue 10). Such a route never leaves the decision.
   */
  private candidateOf(prefix: number, slot: number): Route {
    return slot === LOCAL_SLOT ? this.paths.routeOf(prefix, LOCAL_SLOT) : this.paths.routeOf(prefix, slot, DECIDING);
  }

  private countLength(prefix: number, delta: number): void {
    const len = this.prefixes.lengthOf(prefix);
    const lengths = this.prefixes.isV6(prefix) ? this.lengths6 : this.lengths4;
    lengths[len] = lengths[len]! + delta;
  }

  /** The prefix's candidate slots, the best first (a set's others in its own order). */
  rankedSlots(prefix: number): number[] {
    const e = this.locOf(prefix);
    if (e === -1) return [];
    if (e >= 0) {
      const other = this.second.get(prefix);
      return other < 0 ? [e] : [e, other];
    }
    return this.sets.list(this.setOf.get(prefix));
  }
}
