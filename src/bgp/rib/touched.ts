/**
 * What one RIB operation touched (rib.ts): the prefixes whose best path may
 * have changed, with the best before, kept in reused arrays and stamped in
 * a column, so an operation makes no object per prefix.
 */
import { Column } from '#lib/prefix-table';
import type { Route } from './types.js';

/**
 * Prefixes (by number) whose best path may have changed in this operation,
 * with the best before it as numbers: the peer's slot and its path record
 * (both held until collect()), or our own route. No Route is made unless the
 * best did change: with a second or a tenth full table almost no touch does.
 * Each entry holds a reference on its prefix number until collect().
 *
 * Membership is a stamp per prefix number in a column the Rib owns (this
 * operation's number), not a map per operation: one operation at a time,
 * as the Rib is synchronous and collects before it returns.
 */
export class Touched {
  /** Entries 0 … size-1 are this operation's; the arrays keep their length from one operation to the next. */
  readonly prefixes: number[] = [];
  /** The best's slot before (-1: none). */
  readonly slots: number[] = [];
  /** Its path record (a reference held), -1 for none or our own route. */
  readonly records: number[] = [];
  /** The peer's id, or our own route (LOCAL_SLOT), or null. */
  readonly who: (string | Route | null)[] = [];
  size = 0;
  /** Multipath: the forwarding peers before (sorted) of the touched prefixes that had two or more. */
  multipathBefore: Map<number, number[]> | null = null;
  private stamp: number;

  constructor(private readonly marks: TouchMarks) {
    this.stamp = marks.next();
  }

  has(prefix: number): boolean {
    return this.marks.stamps.get(prefix) === this.stamp;
  }

  add(prefix: number, slot: number, record: number, who: string | Route | null): void {
    this.marks.stamps.set(prefix, this.stamp);
    const n = this.size++;
    this.prefixes[n] = prefix;
    this.slots[n] = slot;
    this.records[n] = record;
    this.who[n] = who;
  }

  /** Empty, for another operation (a new stamp). */
  reset(): void {
    for (let i = 0; i < this.size; i++) this.who[i] = null;
    this.size = 0;
    this.multipathBefore = null;
    this.stamp = this.marks.next();
  }
}

/** The columns Touched marks prefixes in: its operation's number, and the backup's peer number before. */
export class TouchMarks {
  stamps = new Column();
  /** Per prefix touched (with `backups`), the backup's peer number before it (-1: none). */
  readonly backupBefore = new Column();
  private last = 0;
  /**
   * Touched of finished operations, used again: one per UPDATE applied made
   * four arrays grown entry by entry (ten full-table peers: 7 % of the
   * RIB's allocation, issue 10).
   */
  private readonly spare: Touched[] = [];

  /** A new operation's number (1…); the column starts over before it would overflow. */
  next(): number {
    if (this.last === 0x7fffffff) {
      this.stamps = new Column();
      this.last = 0;
    }
    return ++this.last;
  }

  /** An empty Touched for a new operation. */
  touched(): Touched {
    const t = this.spare.pop();
    if (t === undefined) return new Touched(this);
    t.reset();
    return t;
  }

  /** The operation is over (collected): its Touched may serve the next one. */
  done(t: Touched): void {
    if (this.spare.length < 4) this.spare.push(t);
  }
}
