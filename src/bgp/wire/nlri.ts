/**
 * Prefix runs as carried in Withdrawn Routes, NLRI, MP_REACH_NLRI and
 * MP_UNREACH_NLRI (RFC 4271 §4.3, RFC 4760 §5): one length octet, then the
 * fewest octets that hold that many bits; with ADD-PATH (RFC 7911 §3) a
 * 4-octet Path Identifier before each. Plus the big-endian reads the rest of
 * the codec shares (no DataView per attribute: these are on the hot path).
 */
import { formatPrefixText, parseIp, parseIpv4PrefixInto, parseIpv6PrefixInto, parsePrefix } from '#lib/prefix';
import type { Family } from '#lib/prefix';
import { BoundedCache } from '#lib/bounded-cache';
import type { PrefixRun } from './types.js';

export function rd16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

export function rd32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/**
 * A copy that owns its memory. (Buffer#slice is a view, unlike
 * Uint8Array#slice, and frames are Buffers: kept values must not pin them.)
 */
export function copyBytes(v: Uint8Array): Uint8Array {
  return new Uint8Array(v);
}

export function wr16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

export function wr32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/**
 * Checks the prefixes in b[start, end) and returns them as a PrefixRun (a
 * view: nothing is copied, nothing made per prefix), or a description of why
 * the run is syntactically incorrect in the sense of RFC 7606 §5.3 (a length
 * beyond the family's maximum, or a prefix overrunning the field); the caller
 * chooses the NOTIFICATION. `addPath`: RFC 7911 §3, a 4-octet Path Identifier
 * before each prefix.
 */
export function checkPrefixes(b: Uint8Array, start: number, end: number, family: Family, addPath: boolean): PrefixRun | string {
  const max = family === 4 ? 32 : 128;
  let o = start;
  let count = 0;
  while (o < end) {
    if (addPath) {
      if (o + 5 > end) return `Path Identifier and prefix length need 5 octets, ${end - o} left`;
      o += 4;
    }
    const len = b[o]!;
    if (len > max) return `prefix length ${len} exceeds ${max}`;
    const n = (len + 7) >>> 3;
    if (o + 1 + n > end) return `prefix /${len} overruns the field`;
    o += 1 + n;
    count++;
  }
  return { bytes: b, start, end, family, addPath, count };
}

/**
 * Reads a checked PrefixRun one prefix at a time into its fields, the
 * address as big-endian 32-bit words (signed, as PrefixTable keeps them):
 * received prefixes go from the wire bytes to prefix numbers without a text
 * or an object each. Bits past the prefix length are cleared (RFC 4271 §4.3:
 * "trailing bits ... irrelevant"). One reader serves one run at a time.
 */
export class PrefixReader {
  v6 = false;
  len = 0;
  /** RFC 7911 §3 Path Identifier of the prefix read last (0 without ADD-PATH). */
  pathId = 0;
  w0 = 0;
  w1 = 0;
  w2 = 0;
  w3 = 0;
  private b: Uint8Array = new Uint8Array(0);
  private o = 0;
  private end = 0;
  private addPath = false;

  /** Starts reading `run` from its first prefix. */
  reset(run: PrefixRun): this {
    this.b = run.bytes;
    this.o = run.start;
    this.end = run.end;
    this.addPath = run.addPath;
    this.v6 = run.family === 6;
    this.pathId = 0;
    return this;
  }

  /** Reads the next prefix; false at the end of the run. */
  next(): boolean {
    let o = this.o;
    if (o >= this.end) return false;
    const b = this.b;
    if (this.addPath) {
      this.pathId = rd32(b, o);
      o += 4;
    }
    const len = b[o]!;
    const n = (len + 7) >>> 3;
    this.len = len;
    this.w0 = wordAt(b, o + 1, n, 0, len);
    if (this.v6) {
      this.w1 = wordAt(b, o + 1, n, 1, len);
      this.w2 = wordAt(b, o + 1, n, 2, len);
      this.w3 = wordAt(b, o + 1, n, 3, len);
    }
    this.o = o + 1 + n;
    return true;
  }
}

/** Word `k` of the `n` address octets at `at`, bits past `len` cleared (the fields hold only what the length needs). */
function wordAt(b: Uint8Array, at: number, n: number, k: number, len: number): number {
  const bits = len - k * 32;
  if (bits <= 0) return 0;
  const o = at + k * 4;
  const i = n - k * 4;
  const w = ((b[o]! << 24) | (i > 1 ? b[o + 1]! << 16 : 0) | (i > 2 ? b[o + 2]! << 8 : 0) | (i > 3 ? b[o + 3]! : 0)) >>> 0;
  return bits >= 32 ? w | 0 : w & (0xffffffff << (32 - bits));
}

// The codec is synchronous, so one scratch address per family is enough.
const scratch4 = new Uint8Array(4);
const scratch6 = new Uint8Array(16);
const textReader = new PrefixReader();

/**
 * The canonical texts of a run's prefixes (made on demand: logs, tests, the
 * RFC 7606 rewrite; the RIB reads runs with a PrefixReader).
 */
export function prefixTexts(run: PrefixRun): string[] {
  const out = new Array<string>(run.count);
  const r = textReader.reset(run);
  const addr = run.family === 4 ? scratch4 : scratch6;
  for (let i = 0; r.next(); i++) {
    putWord(addr, 0, r.w0);
    if (r.v6) {
      putWord(addr, 4, r.w1);
      putWord(addr, 8, r.w2);
      putWord(addr, 12, r.w3);
    }
    out[i] = formatPrefixText(run.family, addr, r.len);
  }
  return out;
}

/** RFC 7911 §3: the Path Identifiers of a run read with ADD-PATH, in order. */
export function prefixPathIds(run: PrefixRun): number[] {
  const out = new Array<number>(run.count);
  const r = textReader.reset(run);
  for (let i = 0; r.next(); i++) out[i] = r.pathId;
  return out;
}

function putWord(b: Uint8Array, o: number, w: number): void {
  b[o] = w >>> 24;
  b[o + 1] = (w >>> 16) & 0xff;
  b[o + 2] = (w >>> 8) & 0xff;
  b[o + 3] = w & 0xff;
}

/**
 * Prefixes in their wire form (RFC 4271 §4.3: a length octet, then the
 * fewest octets that hold it, host bits cleared), packed one after the other.
 */
export type PackedPrefixes = Uint8Array;

const parse4 = new Uint8Array(4);
const parse6 = new Uint8Array(16);

/**
 * Packs prefixes for encoding; a wrong family or unreadable string is a
 * caller bug. The text is parsed straight into the packed bytes: an object
 * and an array per prefix (the general parser) made the garbage of sending a
 * full table to several peers most of the agent's CPU time.
 */
export function parsePrefixes(list: readonly string[], family: Family, where: string, pathIds?: readonly number[]): PackedPrefixes {
  if (pathIds !== undefined && pathIds.length !== list.length) {
    throw new RangeError(`${where}: ${pathIds.length} Path Identifiers for ${list.length} prefixes`);
  }
  const out = new Uint8Array(list.length * ((family === 4 ? 5 : 17) + (pathIds !== undefined ? 4 : 0)));
  const fast = family === 4 ? parse4 : parse6;
  let o = 0;
  for (let i = 0; i < list.length; i++) {
    const s = list[i]!;
    if (pathIds !== undefined) {
      const id = pathIds[i]!;
      if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new RangeError(`${where}: Path Identifier ${id} is not a 32-bit number`);
      wr32(out, o, id);
      o += 4;
    }
    let bytes: Uint8Array = fast;
    let len = family === 4 ? parseIpv4PrefixInto(s, fast) : parseIpv6PrefixInto(s, fast);
    if (len < 0) {
      // Host bits set, an embedded IPv4 tail, a zone: the general parser decides.
      const p = parsePrefix(s, true);
      if (!p || p.family !== family) throw new RangeError(`${where}: not an IPv${family} prefix: ${s}`);
      bytes = p.bytes;
      len = p.len;
    }
    const n = (len + 7) >>> 3;
    out[o++] = len;
    for (let k = 0; k < n; k++) out[o + k] = bytes[k]!;
    if ((len & 7) !== 0) out[o + n - 1] = out[o + n - 1]! & (0xff << (8 - (len & 7)));
    o += n;
  }
  return out.subarray(0, o);
}

export function prefixesLength(ps: PackedPrefixes): number {
  return ps.length;
}

/** Writes the packed prefixes at `off` and returns the offset after them. */
export function writePrefixes(buf: Uint8Array, off: number, ps: PackedPrefixes): number {
  buf.set(ps, off);
  return off + ps.length;
}

/**
 * Writes one prefix given as its 32-bit words (as PrefixTable keeps them,
 * bits past `len` clear) in its wire form at `off` (RFC 4271 §4.3: the
 * length octet, then the fewest octets that hold `len` bits; RFC 4760 §5
 * the same for MP_REACH/MP_UNREACH), after its 4-octet Path Identifier when
 * `pathId` is given (RFC 7911 §3). Returns the offset after it. The export
 * side's counterpart of PrefixReader: no text between the RIB and the wire.
 */
export function writePrefixWords(buf: Uint8Array, off: number, len: number, w0: number, w1: number, w2: number, w3: number, pathId?: number): number {
  let o = off;
  if (pathId !== undefined) {
    wr32(buf, o, pathId);
    o += 4;
  }
  buf[o++] = len;
  const n = (len + 7) >>> 3;
  for (let k = 0; k < n; k++) {
    const w = k < 4 ? w0 : k < 8 ? w1 : k < 12 ? w2 : w3;
    buf[o + k] = (w >>> (24 - 8 * (k & 3))) & 0xff;
  }
  return o + n;
}

/**
 * Addresses parsed for encoding, by text. A neighbor's UPDATEs all carry the
 * same next hop (our tunnel address), which was parsed again for every
 * message encoded: with ten full-table peers 3 % of the agent's CPU and 6 %
 * of its allocation (issue 10). Bounded: emptied when full.
 */
const parsed = new BoundedCache<string, { family: Family; bytes: Uint8Array }>(1024);

/**
 * Parses a next-hop address for encoding; unreadable text is a caller bug.
 * The result is shared between calls: its bytes are read, never changed.
 */
export function parseAddress(s: string, where: string): { family: Family; bytes: Uint8Array } {
  const known = parsed.get(s);
  if (known !== undefined) return known;
  const ip = parseIp(s);
  if (!ip) throw new RangeError(`${where}: not an IP address: ${s}`);
  return parsed.set(s, ip);
}
