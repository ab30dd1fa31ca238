/**
 * Prefix runs as carried in Withdrawn Routes, NLRI, MP_REACH_NLRI and
 * MP_UNREACH_NLRI (RFC 4271 §4.3, RFC 4760 §5): one length octet, then the
 * fewest octets that hold that many bits; with ADD-PATH (RFC 7911 §3) a
 * 4-octet Path Identifier before each. Plus the big-endian reads the rest of
 * the codec shares (no DataView per attribute: these are on the hot path).
 */
import { formatIpv4, formatIpv6, formatPrefixText, parseIp, parseIpv4PrefixInto, parseIpv6PrefixInto, parsePrefix } from '#lib/prefix';
import type { Family } from '#lib/prefix';

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

// The codec is synchronous, so one scratch address per family is enough and
// spares an allocation per prefix.
const scratch4 = new Uint8Array(4);
const scratch6 = new Uint8Array(16);

/**
 * Appends the prefixes in b[start, end) to `out` as canonical strings. Returns
 * null, or a description of why the run is syntactically incorrect in the
 * sense of RFC 7606 §5.3 (a length beyond the family's maximum, or a prefix
 * overrunning the field); the caller chooses the NOTIFICATION.
 * Bits past the prefix length are ignored (RFC 4271 §4.3: "trailing bits ... irrelevant").
 */
export function decodePrefixes(b: Uint8Array, start: number, end: number, family: Family, out: string[], pathIds?: number[]): string | null {
  const max = family === 4 ? 32 : 128;
  const addr = family === 4 ? scratch4 : scratch6;
  let o = start;
  while (o < end) {
    if (pathIds !== undefined) {
      // RFC 7911 §3: a 4-octet Path Identifier before each prefix.
      if (o + 5 > end) return `Path Identifier and prefix length need 5 octets, ${end - o} left`;
      pathIds.push(rd32(b, o));
      o += 4;
    }
    const len = b[o]!;
    if (len > max) return `prefix length ${len} exceeds ${max}`;
    const n = (len + 7) >>> 3;
    if (o + 1 + n > end) return `prefix /${len} overruns the field`;
    addr.fill(0);
    for (let i = 0; i < n; i++) addr[i] = b[o + 1 + i]!;
    if ((len & 7) !== 0) addr[n - 1] = addr[n - 1]! & (0xff << (8 - (len & 7)));
    // One flat string per prefix: the RIB keeps it as a key (formatPrefixText).
    out.push(formatPrefixText(family, addr, len));
    o += 1 + n;
  }
  return null;
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

/** Parses a next-hop address for encoding; unreadable text is a caller bug. */
export function parseAddress(s: string, where: string): { family: Family; bytes: Uint8Array } {
  const ip = parseIp(s);
  if (!ip) throw new RangeError(`${where}: not an IP address: ${s}`);
  return ip;
}
