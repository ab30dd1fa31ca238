/**
 * The prefixes a peer that reads slowly is owed an UPDATE for: one bit per
 * prefix number, set when a Loc-RIB change would be exported to the peer
 * while it is behind, cleared when the prefix is sent from the Loc-RIB as it
 * is then (RFC 4271 §9.2: an implementation may suppress intermediate
 * updates of a route; a prefix that changed ten times goes once, as it ends).
 *
 * Why bits per peer and not a shared log of changed prefixes with a cursor
 * per peer: a log grows with the changes made while some peer is behind, and
 * a peer that stops reading with hold time 0 (RFC 4271 §4.2) is behind for
 * ever; 10 000 changes a second for a 90 s hold time are already 3.6 MB of
 * log, to be deduplicated before sending. The bits cost at most the table's
 * size over eight per behind peer, whatever the churn: 125 kB at a million
 * prefixes, 1.25 MB with ten full-table peers all behind, nothing for a
 * peer that keeps up (the set is made when it falls behind, dropped when it
 * has caught up). No object per prefix, nothing for the garbage collector.
 */
export class OwedPrefixes {
  private words = new Uint32Array(32);
  private count = 0;
  /** The word take() goes on from: a prefix marked again behind it waits for the next round, none starves. */
  private cursor = 0;

  /** Marks `id`; true when it was not marked yet. */
  mark(id: number): boolean {
    const w = id >>> 5;
    if (w >= this.words.length) {
      let n = this.words.length * 2;
      while (n <= w) n *= 2;
      const words = new Uint32Array(n);
      words.set(this.words);
      this.words = words;
    }
    const bit = 1 << (id & 31);
    const before = this.words[w]!;
    if ((before & bit) !== 0) return false;
    this.words[w] = before | bit;
    this.count++;
    return true;
  }

  has(id: number): boolean {
    const w = id >>> 5;
    return w < this.words.length && (this.words[w]! & (1 << (id & 31))) !== 0;
  }

  /** Prefixes marked. */
  get size(): number {
    return this.count;
  }

  /**
   * Unmarks up to `max` prefixes and calls `fn` for each (after its bit is
   * cleared, so `fn` may mark it again), going on where the last call ended
   * and round to the start; returns how many.
   */
  take(max: number, fn: (id: number) => void): number {
    let taken = 0;
    let w = this.cursor;
    while (taken < max && this.count > 0) {
      if (w >= this.words.length) w = 0;
      // The word as it is now: what fn marks again in it waits for the next round.
      let bits = this.words[w]!;
      while (bits !== 0 && taken < max) {
        const low = bits & -bits;
        bits ^= low;
        this.words[w] = this.words[w]! & ~low;
        this.count--;
        taken++;
        fn((w << 5) | (31 - Math.clz32(low)));
      }
      if (bits === 0) w++;
    }
    this.cursor = w;
    return taken;
  }

  /** Calls `fn` per marked prefix (ascending) and unmarks them all. */
  drain(fn: (id: number) => void): void {
    this.cursor = 0;
    this.take(this.count, fn);
  }
}
