/**
 * Prefixes by number, shared by the RIB and the FIB bookkeeping.
 *
 * A full table is a million prefixes held by several structures at once
 * (each peer's Adj-RIB-In and Adj-RIB-Out, the Loc-RIB, the FIB's wanted
 * and installed state). Here each prefix is interned once and the
 * structures keep typed-array columns indexed by the prefix's number (4
 * bytes per entry, no object, nothing for the garbage collector to trace).
 *
 * The table itself keeps no text and no object per prefix: the key is the
 * address in one 32-bit word (IPv4) or four (IPv6, in a second pool) plus
 * family and length, found through an open-addressing hash index. Measured
 * at a million IPv4 prefixes: ~20 bytes per prefix (now ~17: reference
 * counts are a byte each), where a Map from the
 * text (the text itself, the map entry, the number's back-reference) cost
 * ~97 — four fifths of everything the RIB and FIB kept per route. Texts are
 * made on demand (text()), as flat strings that live only as long as the
 * change or operation that carries them.
 *
 * Numbers are dense and reused: a number is held by reference counts, one
 * per column entry that names it, and freed when the last one goes. A
 * column must therefore be cleared (its entry set back to "none") before
 * its holder releases the number. Texts are canonical prefixes
 * (canonicalPrefix / the NLRI decoder's formatPrefixText: host bits zero);
 * anything else is refused with an error rather than stored under a second
 * spelling.
 */

import { formatPrefixText, parseIpv4PrefixInto, parseIpv6PrefixInto, parsePrefix } from './prefix.js';

/** No prefix (a column entry that names none). */
export const NO_PREFIX = -1;

/** meta of a free number. */
const FREE = 0xffff;
/** meta bit: IPv6 (the low 8 bits are the length). */
const V6 = 0x100;
/** refs value meaning "the count is in bigRefs" (it is this or more). */
const REFS_BIG = 255;
/** sortV4Descending: up to 2^21 numbers sort as packed keys (a 32-bit address times 2^21 stays below 2^53). */
const PACKED_SORT_MAX = 2 ** 21;
/** An empty slot of the hash index. */
const EMPTY = -1;

/** Scratch for one parsed key (the table is used synchronously, one call at a time). */
const keyBytes = new Uint8Array(16);

export class PrefixTable {
  /** Per number: FREE, or V6 | length. */
  private meta = new Uint16Array(1024).fill(FREE);
  /** Per number: the IPv4 address, or the IPv6 address's slot in v6Words (×4). */
  private word = new Int32Array(1024);
  /**
   * Per number: its references, up to REFS_BIG - 1; REFS_BIG: the count is in
   * `bigRefs`. A prefix has a few holders (an Adj-RIB-In and an Adj-RIB-Out
   * per peer, the Loc-RIB, the FIB), so a byte holds nearly every count: 1 MB
   * at a million prefixes where 32-bit counts took 4.
   */
  private refs = new Uint8Array(1024);
  private readonly bigRefs = new Map<number, number>();
  /** IPv6 addresses, four big-endian words each, slots reused through v6Free. */
  private v6Words = new Int32Array(256);
  private v6Next = 0;
  /** Free IPv6 slots, chained through their first word (-1: none): no list beside the pool. */
  private v6FreeHead = -1;
  /** Open addressing with linear probing: numbers, EMPTY where none; at most half full. */
  private index = new Int32Array(2048).fill(EMPTY);
  private count = 0;
  private next = 0;
  /**
   * Free numbers, chained through their `word` (-1: none). A JS array of the
   * free numbers cost 10 MB after a full table was withdrawn.
   */
  private freeHead = -1;
  /** The key parsed last (parse()). */
  private kMeta = 0;
  private k0 = 0;
  private k1 = 0;
  private k2 = 0;
  private k3 = 0;

  /** The number of `text`, made when it has none; one reference taken. */
  intern(text: string): number {
    if (!this.parse(text)) throw new Error(`not a canonical prefix: ${JSON.stringify(text)}`);
    return this.internParsed();
  }

  /**
   * intern() of a prefix given as its words (big-endian, signed 32-bit; w1-w3
   * are read for IPv6 only), as a received UPDATE has it (PrefixReader): no
   * text made or parsed. Bits past `len` must be clear, as a canonical text's.
   */
  internWords(v6: boolean, len: number, w0: number, w1: number, w2: number, w3: number): number {
    this.setKey(v6, len, w0, w1, w2, w3);
    return this.internParsed();
  }

  /** find() of a prefix given as its words (see internWords); takes no reference. */
  findWords(v6: boolean, len: number, w0: number, w1: number, w2: number, w3: number): number {
    this.setKey(v6, len, w0, w1, w2, w3);
    return this.index[this.slotOfParsed()]!;
  }

  /** Word `k` (0-3; IPv4 has only 0) of a number in use: its address, big-endian, signed 32-bit. */
  wordOf(id: number, k: number): number {
    return this.meta[id]! & V6 ? this.v6Words[this.word[id]! * 4 + k]! : k === 0 ? this.word[id]! : 0;
  }

  private setKey(v6: boolean, len: number, w0: number, w1: number, w2: number, w3: number): void {
    if (len < 0 || len > (v6 ? 128 : 32)) throw new RangeError(`prefix length ${len}`);
    this.kMeta = v6 ? V6 | len : len;
    this.k0 = w0 | 0;
    this.k1 = v6 ? w1 | 0 : 0;
    this.k2 = v6 ? w2 | 0 : 0;
    this.k3 = v6 ? w3 | 0 : 0;
  }

  private internParsed(): number {
    const pos = this.slotOfParsed();
    let id = this.index[pos]!;
    if (id === EMPTY) {
      if (this.freeHead >= 0) {
        id = this.freeHead;
        this.freeHead = this.word[id]!;
      } else {
        id = this.next++;
      }
      if (id >= this.meta.length) this.growColumns(id);
      this.meta[id] = this.kMeta;
      if (this.kMeta & V6) {
        let at = this.v6FreeHead;
        if (at >= 0) this.v6FreeHead = this.v6Words[at * 4]!;
        else at = this.v6Next++;
        if (at * 4 + 4 > this.v6Words.length) {
          const w = new Int32Array(this.v6Words.length * 2);
          w.set(this.v6Words);
          this.v6Words = w;
        }
        const w = this.v6Words;
        w[at * 4] = this.k0;
        w[at * 4 + 1] = this.k1;
        w[at * 4 + 2] = this.k2;
        w[at * 4 + 3] = this.k3;
        this.word[id] = at;
      } else {
        this.word[id] = this.k0;
      }
      this.index[pos] = id;
      if (++this.count * 2 > this.index.length) this.rehash(this.index.length * 2);
    }
    this.take(id);
    return id;
  }

  /** The number of `text`, or NO_PREFIX (also for a text that is no canonical prefix); takes no reference. */
  find(text: string): number {
    return this.parse(text) ? this.index[this.slotOfParsed()]! : NO_PREFIX;
  }

  /**
   * find() that first tries `hint`, a number the prefix had when someone
   * looked (LocRibChange.id): right when the number still has this very
   * prefix, which spares the probe (at a million routes, three or four
   * lookups per route and phase were a quarter of the agent's CPU time).
   */
  findHinted(text: string, hint: number | undefined): number {
    if (!this.parse(text)) return NO_PREFIX;
    if (hint !== undefined && hint >= 0 && hint < this.next && this.keyIs(hint)) return hint;
    return this.index[this.slotOfParsed()]!;
  }

  retain(id: number): void {
    this.take(id);
  }

  private take(id: number): void {
    const r = this.refs[id]!;
    if (r < REFS_BIG - 1) this.refs[id] = r + 1;
    else if (r === REFS_BIG - 1) {
      this.refs[id] = REFS_BIG;
      this.bigRefs.set(id, REFS_BIG);
    } else this.bigRefs.set(id, this.bigRefs.get(id)! + 1);
  }

  release(id: number): void {
    const r = this.refs[id]!;
    if (r === 0) throw new Error(`prefix ${id} released more often than taken`);
    if (r === REFS_BIG) {
      const n = this.bigRefs.get(id)! - 1;
      if (n >= REFS_BIG) this.bigRefs.set(id, n);
      else {
        this.bigRefs.delete(id);
        this.refs[id] = n;
      }
      return;
    }
    this.refs[id] = r - 1;
    if (r > 1) return;
    this.unlink(id);
    if (this.meta[id]! & V6) {
      const at = this.word[id]!;
      this.v6Words[at * 4] = this.v6FreeHead;
      this.v6FreeHead = at;
    }
    this.meta[id] = FREE;
    this.count--;
    this.word[id] = this.freeHead;
    this.freeHead = id;
  }

  /** The text of a number in use (a new flat string each call). */
  text(id: number): string {
    const m = this.meta[id];
    if (m === undefined || m === FREE) throw new Error(`prefix ${id} is not in use`);
    if (m & V6) {
      const at = this.word[id]! * 4;
      for (let i = 0; i < 4; i++) writeWord(this.v6Words[at + i]!, i * 4);
      return formatPrefixText(6, keyBytes, m & 0xff);
    }
    writeWord(this.word[id]!, 0);
    return formatPrefixText(4, keyBytes, m);
  }

  /** The prefix length of a number in use, without making its text. */
  lengthOf(id: number): number {
    return this.meta[id]! & 0xff;
  }

  /** Whether a number in use is an IPv6 prefix, without making its text. */
  isV6(id: number): boolean {
    return (this.meta[id]! & V6) !== 0;
  }

  /**
   * Sorts the IPv4 numbers among `ids` (numbers in use) by descending address
   * (prefixes of one address in any order), in place and in the positions
   * IPv4 numbers held; IPv6 numbers stay where they are.
   *
   * The order in which the Linux FIB gets its deletes (docs/performance.md,
   * Installs). Its IPv4 trie (net/ipv4/fib_trie.c) doubles a node once it
   * is full enough (an inner node with every slot used, the table's top node
   * at 30 %), so a dense run of /24s can hang under a node one bit below the
   * leaves' suffix length; removing such a leaf makes
   * update_suffix() (via node_pull_suffix() in fib_remove_alias()) scan the
   * node's child array from index 0 up to the first child left. Deletes in
   * ascending order empty the array from the front, and every one scans the
   * gap: 93.6 s of kernel CPU for 820 000 dense /24s, 2.8 s descending, where
   * the first child stays until the end and each scan stops there (IPv6's
   * tree, net/ipv6/ip6_fib.c, has no such array: any order is linear).
   */
  sortV4Descending(ids: Int32Array): void {
    let n4 = 0;
    for (let i = 0; i < ids.length; i++) if (!this.isV6(ids[i]!)) n4++;
    if (n4 < 2) return;
    const at = new Int32Array(n4);
    const v4 = new Int32Array(n4);
    for (let i = 0, k = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (this.isV6(id)) continue;
      at[k] = i;
      v4[k++] = id;
    }
    if (n4 <= PACKED_SORT_MAX) {
      // One key per number, address and position packed below 2^53: a numeric sort, no comparator calls.
      const keys = new Float64Array(n4);
      for (let k = 0; k < n4; k++) keys[k] = (this.word[v4[k]!]! >>> 0) * PACKED_SORT_MAX + k;
      keys.sort();
      for (let k = 0; k < n4; k++) ids[at[k]!] = v4[keys[n4 - 1 - k]! % PACKED_SORT_MAX]!;
      return;
    }
    const sorted = Array.from(v4).sort((a, b) => (this.word[b]! >>> 0) - (this.word[a]! >>> 0));
    for (let k = 0; k < n4; k++) ids[at[k]!] = sorted[k]!;
  }

  /** References held on `id` (0: free). */
  refCount(id: number): number {
    const r = this.refs[id] ?? 0;
    return r === REFS_BIG ? this.bigRefs.get(id)! : r;
  }

  /** Prefixes in use. */
  get size(): number {
    return this.count;
  }

  /** One more than the highest number ever handed out: columns indexed by number need no more. */
  get bound(): number {
    return this.next;
  }

  /** The slot of the parsed key in the index: its number there, or EMPTY where it would go. */
  private slotOfParsed(): number {
    const index = this.index;
    const mask = index.length - 1;
    let pos = this.hashParsed() & mask;
    for (;;) {
      const id = index[pos]!;
      if (id === EMPTY || this.keyIs(id)) return pos;
      pos = (pos + 1) & mask;
    }
  }

  /** Parses `text` into the key fields; false when it is no canonical prefix. */
  private parse(text: string): boolean {
    let len = parseIpv4PrefixInto(text, keyBytes);
    if (len >= 0) {
      this.kMeta = len;
      this.k0 = readWord(0);
      return true;
    }
    len = parseIpv6PrefixInto(text, keyBytes);
    if (len < 0) {
      // The general parser knows forms the fast one leaves to it; either way
      // the key is the canonical prefix, and a text with host bits is refused.
      const p = parsePrefix(text);
      if (p === null) return false;
      keyBytes.set(p.bytes);
      len = p.len;
      if (p.family === 4) {
        this.kMeta = len;
        this.k0 = readWord(0);
        return true;
      }
    }
    this.kMeta = V6 | len;
    this.k0 = readWord(0);
    this.k1 = readWord(4);
    this.k2 = readWord(8);
    this.k3 = readWord(12);
    return true;
  }

  /** The parsed key is `id`'s. */
  private keyIs(id: number): boolean {
    const m = this.meta[id]!;
    if (m !== this.kMeta) return false;
    if (!(m & V6)) return this.word[id] === this.k0;
    const w = this.v6Words;
    const at = this.word[id]! * 4;
    return w[at] === this.k0 && w[at + 1] === this.k1 && w[at + 2] === this.k2 && w[at + 3] === this.k3;
  }

  private hashParsed(): number {
    return hashKey(this.kMeta, this.k0, this.k1, this.k2, this.k3);
  }

  /** The hash of a stored number's key (as hashParsed for its text). */
  private hashOf(id: number): number {
    const m = this.meta[id]!;
    if (!(m & V6)) return hashKey(m, this.word[id]!, 0, 0, 0);
    const w = this.v6Words;
    const at = this.word[id]! * 4;
    return hashKey(m, w[at]!, w[at + 1]!, w[at + 2]!, w[at + 3]!);
  }

  /** Takes `id` out of the index, moving later entries of its probe run back (no tombstones). */
  private unlink(id: number): void {
    const index = this.index;
    const mask = index.length - 1;
    let hole = this.hashOf(id) & mask;
    while (index[hole] !== id) hole = (hole + 1) & mask;
    let j = hole;
    for (;;) {
      j = (j + 1) & mask;
      const other = index[j]!;
      if (other === EMPTY) break;
      const home = this.hashOf(other) & mask;
      // `other` may fill the hole when its home is not in (hole, j] (cyclically).
      const between = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!between) {
        index[hole] = other;
        hole = j;
      }
    }
    index[hole] = EMPTY;
  }

  private rehash(size: number): void {
    const index = new Int32Array(size).fill(EMPTY);
    const mask = size - 1;
    for (let id = 0; id < this.next; id++) {
      if (this.meta[id] === FREE) continue;
      let pos = this.hashOf(id) & mask;
      while (index[pos] !== EMPTY) pos = (pos + 1) & mask;
      index[pos] = id;
    }
    this.index = index;
  }

  private growColumns(id: number): void {
    let n = this.meta.length * 2;
    while (n <= id) n *= 2;
    const meta = new Uint16Array(n).fill(FREE);
    meta.set(this.meta);
    this.meta = meta;
    const word = new Int32Array(n);
    word.set(this.word);
    this.word = word;
    const refs = new Uint8Array(n);
    refs.set(this.refs);
    this.refs = refs;
  }
}

/** The hash of a key: meta, then its words (one for IPv4, four for IPv6). */
function hashKey(meta: number, w0: number, w1: number, w2: number, w3: number): number {
  let h = mix(w0 ^ Math.imul(meta, 0x9e3779b1));
  if (meta & V6) {
    h = mix(h ^ w1);
    h = mix(h ^ w2);
    h = mix(h ^ w3);
  }
  return h;
}

function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function readWord(o: number): number {
  return (keyBytes[o]! << 24) | (keyBytes[o + 1]! << 16) | (keyBytes[o + 2]! << 8) | keyBytes[o + 3]!;
}

function writeWord(w: number, o: number): void {
  keyBytes[o] = w >>> 24;
  keyBytes[o + 1] = (w >>> 16) & 0xff;
  keyBytes[o + 2] = (w >>> 8) & 0xff;
  keyBytes[o + 3] = w & 0xff;
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
