/**
 * Candidate sets of the Loc-RIB for prefixes with three or more candidates
 * (one or two live in LocRib's own columns, loc-rib.ts), stored without an
 * object per prefix: a set is a number, its fields are columns, and its
 * members (peer numbers, the best first) are a run in one Int32Array.
 *
 * Why: with ten full-table peers a million prefixes have a set each. As
 * objects (object + member array + map entry, ~200 bytes) they were most of
 * the JS heap, and every major GC marked them all: at four full tables GC
 * took 63 % of the RIB's time. Here they cost ~30 bytes plus 4 per member
 * slot, outside the heap the GC walks.
 *
 * Runs come in power-of-two capacities (4, 8, 16, …); a set that outgrows its
 * run moves to one twice as large. Free runs of a capacity are chained through
 * their first word; free set numbers through their offset column.
 */
import { DECISION_STEPS } from './decision.js';
import type { DecisionStep } from './decision.js';

const STEP_NUMBERS: ReadonlyMap<DecisionStep, number> = new Map(DECISION_STEPS.map((n, i) => [n, i]));

/** End of a free chain. */
const NONE = -1;
const MIN_CAPACITY_LOG2 = 2;

export class CandidateSets {
  /** Per set: where its run starts in `members`, or the next free set number when free. */
  private offset = new Int32Array(64);
  /** Per set: log2 of its run's capacity. */
  private capLog2 = new Uint8Array(64);
  private count = new Uint16Array(64);
  /** Per set: the decision step that chose the best (DECISION_STEPS index). */
  private stepNo = new Uint8Array(64);
  /** Per set: 1 when its members are known to be in a total order (see Rib: addInOrder). */
  private totalFlag = new Uint8Array(64);
  /** Per set: the second best's peer number, -1 when not known. */
  private backupSlot = new Int32Array(64);
  /** Per set: how many leading members forward (multipath: the best and the paths tied with it); 1 without multipath. */
  private mpCount = new Uint8Array(64);
  private sets = 0;
  private freeSet = NONE;
  private live = 0;

  private members = new Int32Array(1024);
  private used = 0;
  /** Per capacity (by log2): the first free run, chained through its first word. */
  private readonly freeRuns: number[] = [];

  /** A new set of `a`, `b`, `c` (best not yet known: the caller decides). */
  create(a: number, b: number, c: number): number {
    const id = this.newSet();
    const at = this.allocRun(MIN_CAPACITY_LOG2);
    this.offset[id] = at;
    this.capLog2[id] = MIN_CAPACITY_LOG2;
    this.members[at] = a;
    this.members[at + 1] = b;
    this.members[at + 2] = c;
    this.count[id] = 3;
    this.stepNo[id] = 0;
    this.totalFlag[id] = 0;
    this.backupSlot[id] = -1;
    this.mpCount[id] = 1;
    this.live++;
    return id;
  }

  /** Frees set `id`. */
  delete(id: number): void {
    this.freeRun(this.offset[id]!, this.capLog2[id]!);
    this.offset[id] = this.freeSet;
    this.freeSet = id;
    this.count[id] = 0;
    this.live--;
  }

  /** Sets in use. */
  get size(): number {
    return this.live;
  }

  countOf(id: number): number {
    return this.count[id]!;
  }

  /** Member `i` (0: the best). */
  at(id: number, i: number): number {
    return this.members[this.offset[id]! + i]!;
  }

  setAt(id: number, i: number, slot: number): void {
    this.members[this.offset[id]! + i] = slot;
  }

  /** Swaps members `i` and `j`. */
  swap(id: number, i: number, j: number): void {
    const o = this.offset[id]!;
    const m = this.members;
    const t = m[o + i]!;
    m[o + i] = m[o + j]!;
    m[o + j] = t;
  }

  indexOf(id: number, slot: number): number {
    const o = this.offset[id]!;
    const n = this.count[id]!;
    const m = this.members;
    for (let i = 0; i < n; i++) if (m[o + i] === slot) return i;
    return -1;
  }

  /** Appends `slot` (last). */
  push(id: number, slot: number): void {
    const n = this.count[id]!;
    const log2 = this.capLog2[id]!;
    if (n === 1 << log2) {
      // Outgrown: move to a run twice as large.
      const from = this.offset[id]!;
      const to = this.allocRun(log2 + 1);
      this.members.copyWithin(to, from, from + n);
      this.freeRun(from, log2);
      this.offset[id] = to;
      this.capLog2[id] = log2 + 1;
    }
    this.members[this.offset[id]! + n] = slot;
    this.count[id] = n + 1;
  }

  /** Removes member `i`, keeping the others in order. */
  removeAt(id: number, i: number): void {
    const o = this.offset[id]!;
    const n = this.count[id]!;
    this.members.copyWithin(o + i, o + i + 1, o + n);
    this.count[id] = n - 1;
  }

  /** The members as an array (for a full decision). */
  list(id: number): number[] {
    const o = this.offset[id]!;
    const n = this.count[id]!;
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = this.members[o + i]!;
    return out;
  }

  step(id: number): DecisionStep {
    return DECISION_STEPS[this.stepNo[id]!]!;
  }

  setStep(id: number, step: DecisionStep): void {
    this.stepNo[id] = STEP_NUMBERS.get(step)!;
  }

  total(id: number): boolean {
    return this.totalFlag[id] === 1;
  }

  setTotal(id: number, total: boolean): void {
    this.totalFlag[id] = total ? 1 : 0;
  }

  backup(id: number): number {
    return this.backupSlot[id]!;
  }

  setBackup(id: number, slot: number): void {
    this.backupSlot[id] = slot;
  }

  /** Members 0…n-1 forward together (multipath); 1: the best alone. */
  multipath(id: number): number {
    return this.mpCount[id]!;
  }

  setMultipath(id: number, n: number): void {
    this.mpCount[id] = n;
  }

  private newSet(): number {
    if (this.freeSet !== NONE) {
      const id = this.freeSet;
      this.freeSet = this.offset[id]!;
      return id;
    }
    const id = this.sets++;
    if (id >= this.offset.length) this.growSets();
    return id;
  }

  private growSets(): void {
    const n = this.offset.length * 2;
    this.offset = grown(this.offset, new Int32Array(n));
    this.capLog2 = grown(this.capLog2, new Uint8Array(n));
    this.count = grown(this.count, new Uint16Array(n));
    this.stepNo = grown(this.stepNo, new Uint8Array(n));
    this.totalFlag = grown(this.totalFlag, new Uint8Array(n));
    this.backupSlot = grown(this.backupSlot, new Int32Array(n));
    this.mpCount = grown(this.mpCount, new Uint8Array(n));
  }

  private allocRun(log2: number): number {
    const head = this.freeRuns[log2] ?? NONE;
    if (head !== NONE) {
      this.freeRuns[log2] = this.members[head]!;
      return head;
    }
    const size = 1 << log2;
    const at = this.used;
    if (at + size > this.members.length) {
      let n = this.members.length * 2;
      while (n < at + size) n *= 2;
      this.members = grown(this.members, new Int32Array(n));
    }
    this.used = at + size;
    return at;
  }

  private freeRun(at: number, log2: number): void {
    this.members[at] = this.freeRuns[log2] ?? NONE;
    this.freeRuns[log2] = at;
  }
}

function grown<T extends Int32Array | Uint8Array | Uint16Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
