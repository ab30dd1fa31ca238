/**
 * IP addresses and prefixes. Inside the agent a prefix travels as its canonical
 * string ("10.1.0.0/24", "2001:db8:1::/48"); the RIB and the FIB bookkeeping
 * intern it once as a number (prefix-table.ts) and key their columns on that.
 * Codecs convert between wire bytes and this form with the helpers here.
 * Pure: no node:net, so the protocol core stays free of I/O modules.
 */
export type Family = 4 | 6;

export interface ParsedPrefix {
  family: Family;
  /** 4 or 16 bytes, host bits zero. */
  bytes: Uint8Array;
  len: number;
}

export function parseIpv4(s: string): Uint8Array | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p.startsWith('0'))) return null;
    const v = Number(p);
    if (v > 255) return null;
    out[i] = v;
  }
  return out;
}

export function parseIpv6(input: string): Uint8Array | null {
  let s = input;
  const pct = s.indexOf('%');
  if (pct >= 0) s = s.slice(0, pct);
  if (s.length === 0 || s.length > 45) return null;
  const out = new Uint8Array(16);
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  let tail: Uint8Array | null = null;
  const lastColon = s.lastIndexOf(':');
  if (s.indexOf('.', lastColon) >= 0) {
    tail = parseIpv4(s.slice(lastColon + 1));
    if (!tail) return null;
    s = s.slice(0, lastColon + 1) + '0:0';
  }
  const dbl = s.indexOf('::');
  if (dbl >= 0 && s.indexOf('::', dbl + 1) >= 0) return null;
  const head = dbl >= 0 ? s.slice(0, dbl) : s;
  const rest = dbl >= 0 ? s.slice(dbl + 2) : '';
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === '' ? [] : rest.split(':');
  const total = headGroups.length + restGroups.length;
  if (dbl < 0 && total !== 8) return null;
  if (dbl >= 0 && total > 7) return null;
  const groups: string[] = [...headGroups, ...new Array<string>(8 - total).fill('0'), ...restGroups];
  for (let i = 0; i < 8; i++) {
    const g = groups[i]!;
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  }
  if (tail) out.set(tail, 12);
  return out;
}

/** Parses an IPv4 or IPv6 address (an IPv6 zone suffix "%if" is ignored). */
export function parseIp(s: string): { family: Family; bytes: Uint8Array } | null {
  if (s.includes(':')) {
    const b = parseIpv6(s);
    return b ? { family: 6, bytes: b } : null;
  }
  const b = parseIpv4(s);
  return b ? { family: 4, bytes: b } : null;
}

export function ipFamily(s: string): Family | null {
  return parseIp(s)?.family ?? null;
}

/** Scratch for the text of an address or prefix: made one at a time, synchronously. */
const textScratch = Buffer.alloc(64);

function writeDecimal(v: number, o: number): number {
  if (v >= 100) textScratch[o++] = 48 + ((v / 100) | 0);
  if (v >= 10) textScratch[o++] = 48 + (((v / 10) | 0) % 10);
  textScratch[o++] = 48 + (v % 10);
  return o;
}

function writeHexGroup(v: number, o: number): number {
  let started = false;
  for (let shift = 12; shift >= 0; shift -= 4) {
    const d = (v >>> shift) & 15;
    if (d === 0 && !started && shift > 0) continue;
    started = true;
    textScratch[o++] = d < 10 ? 48 + d : 87 + d;
  }
  return o;
}

/** Dotted quad of the 4 bytes at `off`, written at `o` of the scratch; returns the end. */
function writeIpv4(b: Uint8Array, off: number, o: number): number {
  for (let i = 0; i < 4; i++) {
    if (i > 0) textScratch[o++] = 46; // '.'
    o = writeDecimal(b[off + i]!, o);
  }
  return o;
}

/** RFC 5952 text of the 16 bytes at `off`: lower case, the longest run (the first of equal ones) of two or more zero groups as "::". */
function writeIpv6(b: Uint8Array, off: number, o: number): number {
  const group = (i: number): number => (b[off + i * 2]! << 8) | b[off + i * 2 + 1]!;
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (group(i) !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && group(j) === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      textScratch[o++] = 58; // "::" stands for the run
      textScratch[o++] = 58;
      i += bestLen - 1;
      continue;
    }
    if (i > 0 && i !== bestStart + bestLen) textScratch[o++] = 58;
    o = writeHexGroup(group(i), o);
  }
  return o;
}

/*
 * Texts are built as bytes and made into one flat string. A string put
 * together with `+` or a template is a tree of pieces, and the first hash (a
 * Map key) flattens it into a second copy while the tree stays: ~33 bytes per
 * prefix more, for every prefix of a full table that the RIB keeps as a key.
 */

export function formatIpv4(b: Uint8Array, off = 0): string {
  return textScratch.toString('latin1', 0, writeIpv4(b, off, 0));
}

/** RFC 5952 text form: lower case, longest run of zero groups compressed. */
export function formatIpv6(b: Uint8Array, off = 0): string {
  return textScratch.toString('latin1', 0, writeIpv6(b, off, 0));
}

/** "addr/len" as formatPrefix writes it (RFC 5952 for IPv6), as one flat string. */
export function formatPrefixText(family: Family, b: Uint8Array, len: number): string {
  let o = family === 4 ? writeIpv4(b, 0, 0) : writeIpv6(b, 0, 0);
  textScratch[o++] = 47; // '/'
  o = writeDecimal(len, o);
  return textScratch.toString('latin1', 0, o);
}

export function formatIp(b: Uint8Array): string {
  return b.length === 4 ? formatIpv4(b) : formatIpv6(b);
}

/**
 * The length of a prefix text ("10.0.0.0/8" -> 8), read from its end: no
 * substring per prefix on the paths that see a million of them.
 */
export function prefixLengthOf(text: string): number {
  let len = 0;
  let scale = 1;
  for (let i = text.length - 1; i >= 0; i--) {
    const c = text.charCodeAt(i);
    if (c === 47) break;
    len += (c - 48) * scale;
    scale *= 10;
  }
  return len;
}

/** Parses "addr/len"; host bits must be zero unless `allowHostBits`. */
export function parsePrefix(s: string, allowHostBits = false): ParsedPrefix | null {
  const slash = s.indexOf('/');
  if (slash < 0) return null;
  const ip = parseIp(s.slice(0, slash));
  const lenStr = s.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(lenStr)) return null;
  const len = Number(lenStr);
  const max = ip.family === 4 ? 32 : 128;
  if (len > max) return null;
  const masked = maskBytes(ip.bytes, len);
  if (!allowHostBits && !equalBytes(masked, ip.bytes)) return null;
  return { family: ip.family, bytes: allowHostBits ? ip.bytes : masked, len };
}

export function maskBytes(b: Uint8Array, len: number): Uint8Array {
  const out = new Uint8Array(b.length);
  const full = len >> 3;
  out.set(b.subarray(0, full));
  if (full < b.length && (len & 7) !== 0) out[full] = b[full]! & (0xff << (8 - (len & 7)));
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function formatPrefix(p: ParsedPrefix): string {
  return `${formatIp(p.bytes)}/${p.len}`;
}

/** Canonical string of a prefix (host bits cleared), or null when unreadable. */
export function canonicalPrefix(s: string): string | null {
  const p = parsePrefix(s, true);
  if (!p) return null;
  return formatPrefix({ ...p, bytes: maskBytes(p.bytes, p.len) });
}

/** Host prefix of an address: "/32" or "/128". */
export function hostPrefix(addr: string): string {
  const ip = parseIp(addr);
  if (!ip) throw new RangeError(`not an IP address: ${addr}`);
  return `${formatIp(ip.bytes)}/${ip.family === 4 ? 32 : 128}`;
}

export function prefixContains(prefix: ParsedPrefix, addr: Uint8Array): boolean {
  if (addr.length !== prefix.bytes.length) return false;
  return equalBytes(maskBytes(addr, prefix.len), prefix.bytes);
}

export function isLinkLocalV6(b: Uint8Array): boolean {
  return b.length === 16 && b[0] === 0xfe && (b[1]! & 0xc0) === 0x80;
}

/**
 * "a.b.c.d/len" with host bits zero, parsed straight into `out` (4 bytes);
 * returns len, or -1 when the text is anything else. The netlink batch path and
 * the UPDATE encoder parse a prefix per route, and the general parser's
 * allocations dominated encoding.
 */
export function parseIpv4PrefixInto(s: string, out: Uint8Array): number {
  let part = 0;
  let value = 0;
  let digits = 0;
  let i = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return -1; // leading zero
      value = value * 10 + (c - 48);
      if (value > 255 || ++digits > 3) return -1;
    } else if ((c === 46 && part < 3) || (c === 47 && part === 3)) {
      if (digits === 0) return -1;
      out[part++] = value;
      value = 0;
      digits = 0;
      if (c === 47) break;
    } else {
      return -1;
    }
  }
  if (part !== 4 || i === s.length) return -1;
  let len = 0;
  let lenDigits = 0;
  for (i++; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57 || ++lenDigits > 2) return -1;
    len = len * 10 + (c - 48);
  }
  if (lenDigits === 0 || len > 32) return -1;
  const hostBits = len === 0 ? 0xffffffff : len === 32 ? 0 : 0xffffffff >>> len;
  const addr = ((out[0]! << 24) | (out[1]! << 16) | (out[2]! << 8) | out[3]!) >>> 0;
  return (addr & hostBits) === 0 ? len : -1;
}

const groups6 = new Uint16Array(8);

/**
 * "x:x::x/len" with host bits zero, parsed straight into `out` (16 bytes);
 * returns len, or -1 when the text is anything else, including forms this
 * fast path leaves to the general parser (an embedded IPv4 tail, a zone).
 */
export function parseIpv6PrefixInto(s: string, out: Uint8Array): number {
  const slash = s.indexOf('/');
  if (slash < 0) return -1;
  let n = 0;
  let gap = -1;
  let value = 0;
  let digits = 0;
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return -1;
    gap = 0;
    i = 2;
  }
  for (; i < slash; i++) {
    const c = s.charCodeAt(i);
    let h: number;
    if (c >= 48 && c <= 57) h = c - 48;
    else if (c >= 97 && c <= 102) h = c - 87;
    else if (c >= 65 && c <= 70) h = c - 55;
    else if (c === 58) {
      if (digits === 0 || n === 8) return -1;
      groups6[n++] = value;
      value = 0;
      digits = 0;
      if (s.charCodeAt(i + 1) === 58) {
        if (gap >= 0) return -1;
        gap = n;
        i++;
      }
      continue;
    } else {
      return -1;
    }
    if (++digits > 4) return -1;
    value = value * 16 + h;
  }
  if (digits > 0) {
    if (n === 8) return -1;
    groups6[n++] = value;
  } else if (gap !== n) {
    return -1; // a trailing single ':'
  }
  if (gap < 0 ? n !== 8 : n > 7) return -1;
  out.fill(0);
  const tail = gap < 0 ? 0 : n - gap;
  for (let k = 0; k < n; k++) {
    const at = gap < 0 || k < gap ? k : 8 - tail + (k - gap);
    out[at * 2] = groups6[k]! >> 8;
    out[at * 2 + 1] = groups6[k]! & 0xff;
  }
  let len = 0;
  let lenDigits = 0;
  for (i = slash + 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57 || ++lenDigits > 3) return -1;
    len = len * 10 + (c - 48);
  }
  if (lenDigits === 0 || len > 128) return -1;
  for (let b = len; b < 128; b++) if ((out[b >> 3]! >> (7 - (b & 7))) & 1) return -1;
  return len;
}
