/**
 * RFC 7911 send side: the Adj-RIB-Out of a neighbor that receives several
 * paths per prefix. Index 0 is the peer's ordinary Adj-RIB-Out entry (so
 * "was this prefix sent" stays one lookup); each further index has its own
 * pair of PrefixMaps (export attribute set number, Path Identifier), no
 * object per entry. A path's identifier is its candidate slot number + 1:
 * stable while the path exists, distinct per prefix, never 0 (some
 * receivers print 0 as "no path id").
 */
import { PrefixMap } from '#lib/prefix-table';

/** What was sent for one prefix, index order: Path Identifiers and export attribute set numbers. */
export interface SentPaths {
  readonly ids: number[];
  readonly attrs: number[];
}

export class AdjRibOutPaths {
  /** Index 0's Path Identifier; its attributes are the peer's adjOut entry. */
  private readonly firstIds = new PrefixMap();
  private readonly more: { attrs: PrefixMap; ids: PrefixMap }[] = [];

  /** Paths per prefix the neighbor is sent, per family (0: none with Path Identifiers). */
  constructor(
    readonly maxV4: number,
    readonly maxV6: number,
  ) {}

  max(v6: boolean): number {
    return v6 ? this.maxV6 : this.maxV4;
  }

  sent(adjOut: PrefixMap, prefix: number): SentPaths {
    const ids: number[] = [];
    const attrs: number[] = [];
    const first = adjOut.get(prefix);
    if (first < 0) return { ids, attrs };
    ids.push(this.firstIds.get(prefix));
    attrs.push(first);
    for (const m of this.more) {
      const a = m.attrs.get(prefix);
      if (a < 0) break;
      ids.push(m.ids.get(prefix));
      attrs.push(a);
    }
    return { ids, attrs };
  }

  /** Records what is sent now (index order, no gaps); the caller keeps the references. */
  store(adjOut: PrefixMap, prefix: number, now: SentPaths): void {
    const n = now.ids.length;
    if (n === 0) {
      adjOut.delete(prefix);
      this.firstIds.delete(prefix);
    } else {
      adjOut.set(prefix, now.attrs[0]!);
      this.firstIds.set(prefix, now.ids[0]!);
    }
    for (let i = 1; i < n; i++) {
      const m = (this.more[i - 1] ??= { attrs: new PrefixMap(), ids: new PrefixMap() });
      m.attrs.set(prefix, now.attrs[i]!);
      m.ids.set(prefix, now.ids[i]!);
    }
    for (let i = Math.max(n, 1); i <= this.more.length; i++) {
      const m = this.more[i - 1]!;
      if (m.attrs.delete(prefix) < 0) break;
      m.ids.delete(prefix);
    }
  }

  /** Every entry of index 1 and up (index 0 is the adjOut's): export attribute set numbers, for releasing. */
  forEachExtra(fn: (attrs: number) => void): void {
    for (const m of this.more) m.attrs.forEach((a) => fn(a));
  }

  clear(): void {
    this.firstIds.clear();
    for (const m of this.more) {
      m.attrs.clear();
      m.ids.clear();
    }
  }
}
