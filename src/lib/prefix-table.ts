/**
 * Prefixes by number, shared by the RIB and the FIB bookkeeping.
 *
 * A full table is a million prefixes held by several structures at once
 * (each peer's Adj-RIB-In and Adj-RIB-Out, the Loc-RIB, the FIB's wanted
 * and installed state). A map keyed by the prefix text in each of them cost
 * ~25 bytes per entry per structure; here the text is interned once and the
 * structures keep typed-array columns indexed by the prefix's number (4
 * bytes per entry, no object, nothing for the garbage collector to trace).
 *
 * Numbers are dense and reused: a number is held by reference counts, one
 * per column entry that names it, and freed when the last one goes. A
 * column must therefore be cleared (its entry set back to "none") before
 * its holder releases the number. Texts are canonical prefixes
 * (canonicalPrefix / the NLRI decoder's formatPrefixText); the table does
 * not check them.
 */

/** No prefix (a column entry that names none). */
export const NO_PREFIX = -1;

export class PrefixTable {
  private readonly ids = new Map<string, number>();
  private texts: string[] = [];
  private refs = new Int32Array(1024);
  private readonly free: number[] = [];

  /** The number of `text`, made when it has none; one reference taken. */
  intern(text: string): number {
    let id = this.ids.get(text);
    if (id === undefined) {
      id = this.free.pop() ?? this.texts.length;
      if (id >= this.refs.length) {
        const refs = new Int32Array(this.refs.length * 2);
        refs.set(this.refs);
        this.refs = refs;
      }
      this.texts[id] = text;
      this.ids.set(text, id);
    }
    this.refs[id]!++;
    return id;
  }

  /** The number of `text`, or NO_PREFIX; takes no reference. */
  find(text: string): number {
    return this.ids.get(text) ?? NO_PREFIX;
  }

  /**
   * find() that first tries `hint`, a number the prefix had when someone
   * looked (LocRibChange.id): right when the number still has this very
   * text, which spares the map lookup (at a million routes, three or four
   * lookups per route and phase were a quarter of the agent's CPU time).
   */
  findHinted(text: string, hint: number | undefined): number {
    if (hint !== undefined && hint >= 0 && hint < this.texts.length && this.texts[hint] === text) return hint;
    return this.find(text);
  }

  retain(id: number): void {
    this.refs[id]!++;
  }

  release(id: number): void {
    const n = --this.refs[id]!;
    if (n > 0) return;
    if (n < 0) throw new Error(`prefix ${id} released more often than taken`);
    this.ids.delete(this.texts[id]!);
    this.texts[id] = '';
    this.free.push(id);
  }

  /** The text of a number in use. */
  text(id: number): string {
    return this.texts[id]!;
  }

  /** References held on `id` (0: free). */
  refCount(id: number): number {
    return this.refs[id] ?? 0;
  }

  /** Prefixes in use. */
  get size(): number {
    return this.ids.size;
  }

  /** One more than the highest number ever handed out: columns indexed by number need no more. */
  get bound(): number {
    return this.texts.length;
  }
}

/**
 * A growable Int32Array column indexed by prefix number, NO_PREFIX-style
 * "none" (-1) wherever nothing was written. Reads past the end are none.
 */
export class Column {
  private a: Int32Array;

  constructor(initial = 1024) {
    this.a = new Int32Array(initial).fill(-1);
  }

  get(id: number): number {
    return id < this.a.length ? this.a[id]! : -1;
  }

  set(id: number, v: number): void {
    if (id >= this.a.length) {
      let n = this.a.length * 2;
      while (n <= id) n *= 2;
      const a = new Int32Array(n).fill(-1);
      a.set(this.a);
      this.a = a;
    }
    this.a[id] = v;
  }

  /** Slots in the column (an upper bound of the numbers with an entry). */
  get length(): number {
    return this.a.length;
  }

  /** Calls `fn` per entry other than none, in ascending numbers. */
  forEach(fn: (value: number, id: number) => void): void {
    const a = this.a;
    for (let id = 0; id < a.length; id++) {
      const v = a[id]!;
      if (v !== -1) fn(v, id);
    }
  }
}

/** Entries a PrefixMap keeps in a Map before it moves to an array indexed by prefix number. */
const SPARSE_MAX = 2048;

/**
 * Prefix number -> a number ≥ 0, for one peer's Adj-RIB-In or Adj-RIB-Out:
 * a Map while it is small (a spoke announcing three prefixes must not pay
 * for an array as long as the full table's numbers), an Int32Array once it
 * is large (a full table: 4 bytes an entry instead of a map entry's ~20).
 */
export class PrefixMap {
  private sparse: Map<number, number> | null = new Map();
  private dense: Column | null = null;
  private count = 0;

  /** The value of `id`, -1 when it has none. */
  get(id: number): number {
    return this.sparse !== null ? (this.sparse.get(id) ?? -1) : this.dense!.get(id);
  }

  has(id: number): boolean {
    return this.get(id) >= 0;
  }

  /** Sets `id` to `v` (≥ 0); returns its value before (-1: none). */
  set(id: number, v: number): number {
    if (this.sparse !== null) {
      const old = this.sparse.get(id) ?? -1;
      if (old < 0) {
        if (this.count >= SPARSE_MAX) {
          this.toDense(id);
          return this.set(id, v);
        }
        this.count++;
      }
      this.sparse.set(id, v);
      return old;
    }
    const old = this.dense!.get(id);
    if (old < 0) this.count++;
    this.dense!.set(id, v);
    return old;
  }

  /** Removes `id`; returns its value before (-1: none). */
  delete(id: number): number {
    if (this.sparse !== null) {
      const old = this.sparse.get(id);
      if (old === undefined) return -1;
      this.sparse.delete(id);
      this.count--;
      return old;
    }
    const old = this.dense!.get(id);
    if (old >= 0) {
      this.dense!.set(id, -1);
      this.count--;
    }
    return old;
  }

  get size(): number {
    return this.count;
  }

  /** Calls `fn` per entry (ascending numbers once dense); `fn` must not add entries. */
  forEach(fn: (value: number, id: number) => void): void {
    if (this.sparse !== null) this.sparse.forEach(fn);
    else this.dense!.forEach(fn);
  }

  /** The numbers with an entry, as a snapshot. */
  ids(): Int32Array {
    const out = new Int32Array(this.count);
    let i = 0;
    this.forEach((_v, id) => {
      out[i++] = id;
    });
    return out;
  }

  clear(): void {
    this.sparse = new Map();
    this.dense = null;
    this.count = 0;
  }

  private toDense(next: number): void {
    let max = next;
    for (const id of this.sparse!.keys()) if (id > max) max = id;
    let n = 1024;
    while (n <= max) n *= 2;
    const d = new Column(n);
    for (const [id, v] of this.sparse!) d.set(id, v);
    this.dense = d;
    this.sparse = null;
  }
}
