/**
 * A growable list of int32 values in one typed array: 4 bytes an entry and
 * nothing for the garbage collector to trace. A JS array of a million
 * numbers (the FIB's queue while a full table arrives) cost ~7 MB in its
 * elements store alone, and every growth copied it inside the heap.
 */
export class IntList {
  private a: Int32Array;
  private n = 0;

  constructor(initial = 256) {
    this.a = new Int32Array(initial);
  }

  push(v: number): void {
    if (this.n === this.a.length) {
      const a = new Int32Array(this.a.length * 2);
      a.set(this.a);
      this.a = a;
    }
    this.a[this.n++] = v;
  }

  get length(): number {
    return this.n;
  }

  /** The entries, as a view that is valid until the next push. */
  view(): Int32Array {
    return this.a.subarray(0, this.n);
  }
}
