/**
 * Prefix runs as carried in Withdrawn Routes, NLRI, MP_REACH_NLRI and
 * MP_UNREACH_NLRI (RFC 4271 §4.3, RFC 4760 §5): one length octet, then the
 * fewest octets that hold that many bits. Plus the big-endian reads the rest of
 * the codec shares (no DataView per attribute: these are on the hot path).
 */
import { formatIpv4, formatIpv6, formatPrefixText, parseIp, parsePrefix } from '#lib/prefix';
import type { Family, ParsedPrefix } from '#lib/prefix';

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
export function decodePrefixes(b: Uint8Array, start: number, end: number, family: Family, out: string[]): string | null {
  const max = family === 4 ? 32 : 128;
  const addr = family === 4 ? scratch4 : scratch6;
  let o = start;
  while (o < end) {
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

/** Parses prefixes for encoding; a wrong family or unreadable string is a caller bug. */
export function parsePrefixes(list: readonly string[], family: Family, where: string): ParsedPrefix[] {
  const out: ParsedPrefix[] = new Array<ParsedPrefix>(list.length);
  for (let i = 0; i < list.length; i++) {
    const s = list[i]!;
    const p = parsePrefix(s, true);
    if (!p || p.family !== family) throw new RangeError(`${where}: not an IPv${family} prefix: ${s}`);
    out[i] = p;
  }
  return out;
}

export function prefixesLength(ps: readonly ParsedPrefix[]): number {
  let n = 0;
  for (const p of ps) n += 1 + ((p.len + 7) >>> 3);
  return n;
}

/** Writes the prefixes at `off` (host bits cleared) and returns the offset after them. */
export function writePrefixes(buf: Uint8Array, off: number, ps: readonly ParsedPrefix[]): number {
  let o = off;
  for (const p of ps) {
    const n = (p.len + 7) >>> 3;
    buf[o++] = p.len;
    for (let i = 0; i < n; i++) buf[o + i] = p.bytes[i]!;
    if ((p.len & 7) !== 0) buf[o + n - 1] = buf[o + n - 1]! & (0xff << (8 - (p.len & 7)));
    o += n;
  }
  return o;
}

/** Parses a next-hop address for encoding; unreadable text is a caller bug. */
export function parseAddress(s: string, where: string): { family: Family; bytes: Uint8Array } {
  const ip = parseIp(s);
  if (!ip) throw new RangeError(`${where}: not an IP address: ${s}`);
  return ip;
}
