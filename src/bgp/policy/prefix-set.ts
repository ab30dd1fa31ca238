/**
 * Prefix lists with ge/le (docs/configuration.md, "prefix-lists"), compiled
 * for tables of a million prefixes against lists of thousands of entries:
 * a prefix is masked to each entry length the list has (at most 33 or 129,
 * usually a handful) and looked up in a hash of the entries of that length,
 * never compared with every entry. The prefix text is read into words
 * without allocating (IPv4; IPv6 through the shared parser).
 */
import { parseIpv6 } from '#lib/prefix';

export interface PrefixSetEntry {
  /** Canonical prefix (no host bits). */
  readonly prefix: string;
  readonly ge: number;
  readonly le: number;
}

interface Compiled {
  readonly w: readonly [number, number, number, number];
  readonly len: number;
  readonly ge: number;
  readonly le: number;
}

class FamilyIndex {
  /** Entry lengths present, ascending. */
  lengths: number[] = [];
  readonly buckets = new Map<number, Compiled[]>();
  /** Longest prefix length any entry accepts: longer prefixes need no lookup. */
  maxLe = -1;

  add(c: Compiled): void {
    if (!this.lengths.includes(c.len)) this.lengths = [...this.lengths, c.len].sort((a, b) => a - b);
    const h = hashWords(c.w[0], c.w[1], c.w[2], c.w[3], c.len);
    const b = this.buckets.get(h);
    if (b === undefined) this.buckets.set(h, [c]);
    else b.push(c);
    if (c.le > this.maxLe) this.maxLe = c.le;
  }

  /** Whether an entry takes `w`/`len`; `scratch` receives `w` masked per length tried. */
  matches(w: Uint32Array, len: number, scratch: Uint32Array): boolean {
    if (len > this.maxLe) return false;
    for (const l of this.lengths) {
      if (l > len) break;
      maskInto(w, l, scratch);
      const b = this.buckets.get(hashWords(scratch[0]!, scratch[1]!, scratch[2]!, scratch[3]!, l));
      if (b === undefined) continue;
      for (const c of b) {
        if (c.len === l && len >= c.ge && len <= c.le && c.w[0] === scratch[0] && c.w[1] === scratch[1] && c.w[2] === scratch[2] && c.w[3] === scratch[3]) return true;
      }
    }
    return false;
  }
}

/**
 * A prefix as policy matches it: family, length and address words
 * (big-endian, host bits zero). The RIB fills one from a prefix number, so a
 * received prefix is matched without its text; `len` -1: no prefix (an
 * unreadable text), which no prefix list takes.
 */
export class PrefixWords {
  v6 = false;
  len = -1;
  readonly w = new Uint32Array(4);

  /** Reads a prefix text (family told by a ':' when it is unreadable). */
  setText(text: string): this {
    const r = readPrefix(text, this.w);
    this.v6 = r >= 0 ? (r & V6) !== 0 : text.includes(':');
    this.len = r >= 0 ? r & 0xff : -1;
    return this;
  }
}

export class PrefixSet {
  private readonly v4 = new FamilyIndex();
  private readonly v6 = new FamilyIndex();
  private readonly words = new Uint32Array(4);
  private readonly scratch = new Uint32Array(4);
  private readonly textKey = new PrefixWords();
  /** The last question and answer: the terms of a chain often ask about one prefix of one list in a row. */
  private readonly last = new Uint32Array(4);
  private lastLen = -2;
  private lastV6 = false;
  private lastResult = false;

  constructor(entries: readonly PrefixSetEntry[]) {
    for (const e of entries) {
      const r = readPrefix(e.prefix, this.words);
      if (r < 0) throw new RangeError(`not a prefix: ${e.prefix}`);
      const c: Compiled = { w: [this.words[0]!, this.words[1]!, this.words[2]!, this.words[3]!], len: r & 0xff, ge: e.ge, le: e.le };
      (r & V6 ? this.v6 : this.v4).add(c);
    }
  }

  /** Whether a canonical prefix text is matched by an entry (its length within ge..le, its address inside). */
  has(prefix: string): boolean {
    return this.hasWords(this.textKey.setText(prefix));
  }

  /** has() of a prefix given as words (host bits zero). */
  hasWords(p: PrefixWords): boolean {
    const w = p.w;
    const last = this.last;
    if (p.len === this.lastLen && p.v6 === this.lastV6 && w[0] === last[0] && w[1] === last[1] && w[2] === last[2] && w[3] === last[3]) return this.lastResult;
    let result = false;
    if (p.len >= 0) {
      this.words.set(w);
      if (!p.v6) this.words.fill(0, 1);
      result = (p.v6 ? this.v6 : this.v4).matches(this.words, p.len, this.scratch);
    }
    last.set(w);
    this.lastLen = p.len;
    this.lastV6 = p.v6;
    this.lastResult = result;
    return result;
  }

  /** Whether an address (next hop) lies inside an entry's prefix, lengths aside (a host route's length). */
  hasAddress(address: string): boolean {
    return this.has(address.includes(':') ? `${address}/128` : `${address}/32`);
  }
}

/** readPrefix's flag for an IPv6 prefix (or'ed with the length). */
export const PREFIX_V6 = 0x100;
const V6 = PREFIX_V6;

/** Reads "a.b.c.d/len" or an IPv6 prefix into `w`; returns len | V6 for IPv6, or -1 when unreadable. */
export function readPrefix(text: string, w: Uint32Array): number {
  const slash = text.indexOf('/');
  if (slash < 0) return -1;
  const len = parseDecimal(text, slash + 1, text.length);
  if (text.indexOf(':') >= 0) {
    if (len < 0 || len > 128) return -1;
    const b = parseIpv6(text.slice(0, slash));
    if (b === null) return -1;
    for (let i = 0; i < 4; i++) w[i] = ((b[i * 4]! << 24) | (b[i * 4 + 1]! << 16) | (b[i * 4 + 2]! << 8) | b[i * 4 + 3]!) >>> 0;
    return len | V6;
  }
  if (len < 0 || len > 32) return -1;
  let addr = 0;
  let start = 0;
  for (let k = 0; k < 4; k++) {
    const end = k < 3 ? text.indexOf('.', start) : slash;
    if (end < 0 || end > slash) return -1;
    const o = parseDecimal(text, start, end);
    if (o < 0 || o > 255) return -1;
    addr = addr * 256 + o;
    start = end + 1;
  }
  w[0] = addr;
  w[1] = 0;
  w[2] = 0;
  w[3] = 0;
  return len;
}

function parseDecimal(s: string, from: number, to: number): number {
  if (to <= from || to - from > 3) return -1;
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

function maskInto(w: Uint32Array, len: number, out: Uint32Array): void {
  for (let i = 0; i < 4; i++) {
    const bits = len - i * 32;
    out[i] = bits >= 32 ? w[i]! : bits <= 0 ? 0 : (w[i]! & (0xffffffff << (32 - bits))) >>> 0;
  }
}

function hashWords(a: number, b: number, c: number, d: number, len: number): number {
  let h = Math.imul(len + 1, 0x9e3779b1);
  h = Math.imul(h ^ a, 0x85ebca6b);
  h = Math.imul(h ^ b, 0xc2b2ae35);
  h = Math.imul(h ^ c, 0x27d4eb2f);
  h = Math.imul(h ^ d, 0x165667b1);
  return h ^ (h >>> 15);
}
