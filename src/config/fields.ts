/**
 * Checks of single values, each returning the reason it is wrong (or null).
 * The zod schema, the cross-field checks and the CLI share them, so a value is
 * judged the same way everywhere and the operator reads the same words.
 */
import { canonicalPrefix, formatIp, formatPrefix, parseIp, parseIpv4, parsePrefix, prefixContains } from '#lib/prefix';
import type { PrefixListEntry } from './types.js';

/** RFC 6793 §9: AS_TRANS stands in for a 4-octet ASN on old speakers, never a real AS. */
export const AS_TRANS = 23456;
export const MAX_ASN = 4294967295;

export function checkAsn(v: number): string | null {
  if (v === 0) return 'ASN 0 is reserved (RFC 7607)';
  if (v === AS_TRANS) return 'ASN 23456 is AS_TRANS (RFC 6793), not a usable AS number';
  return null;
}

export function checkRouterId(v: string): string | null {
  const b = parseIpv4(v);
  if (!b) return `not a dotted IPv4 address: ${JSON.stringify(v)}`;
  if (b.every((x) => x === 0)) return 'router-id 0.0.0.0 is not allowed (RFC 6286 §2.1)';
  return null;
}

export function checkIp(v: string): string | null {
  return parseIp(v) && !v.includes('%') ? null : `not an IP address: ${JSON.stringify(v)}`;
}

/** Reason an announced prefix is unusable; host bits must be zero so the operator means what is sent. */
export function checkAnnouncePrefix(v: string): string | null {
  if (!parsePrefix(v, true)) return `not a prefix ("address/length"): ${JSON.stringify(v)}`;
  if (!parsePrefix(v, false)) return `host bits set in ${v} (did you mean ${canonicalPrefix(v)}?)`;
  return null;
}

/** Tunnel addresses keep their host bits: 10.255.0.0/31 is an address with its subnet length. */
export function checkInterfaceAddress(v: string): string | null {
  if (!v.includes('/')) return `expected "address/length", got ${JSON.stringify(v)}`;
  return parsePrefix(v, true) ? null : `not an "address/length": ${JSON.stringify(v)}`;
}

export function canonicalInterfaceAddress(v: string): string {
  const p = parsePrefix(v, true);
  return p ? `${formatIp(p.bytes)}/${p.len}` : v;
}

export function canonicalIp(v: string): string {
  const ip = parseIp(v);
  return ip ? formatIp(ip.bytes) : v;
}

/**
 * A WireGuard key as `wg` writes it: 44 characters of base64 for 32 bytes. The
 * last data character can only carry 4 bits, so only 16 letters may precede '='.
 */
const WG_KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

export function checkWireguardKey(v: string): string | null {
  if (WG_KEY.test(v)) return null;
  const t = v.trim();
  if (t !== v && WG_KEY.test(t)) return 'key has leading or trailing whitespace';
  if (v.length !== 44) return `not a WireGuard key: expected 44 characters of base64 (32 bytes), got ${v.length}`;
  return 'not a WireGuard key: not base64 of exactly 32 bytes';
}

/** Linux dev_valid_name(): 1..15 bytes (IFNAMSIZ 16 with the NUL), not "." or "..", no '/', ':' or whitespace. */
export function checkInterfaceName(v: string): string | null {
  if (v.length === 0) return 'interface name is empty';
  if (Buffer.byteLength(v) > 15) return `interface name ${JSON.stringify(v)} is longer than 15 bytes (Linux IFNAMSIZ)`;
  if (v === '.' || v === '..') return `interface name ${JSON.stringify(v)} is not allowed`;
  if (/[/:\s]/.test(v)) return `interface name ${JSON.stringify(v)} contains '/', ':' or whitespace`;
  return null;
}

/** Names end up in logs, VPP tags and CLI tables: keep them to one plain word. */
export function checkNeighborName(v: string): string | null {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(v)) {
    return `neighbor name ${JSON.stringify(v)} must be 1..63 characters of letters, digits, '.', '_' or '-'`;
  }
  return null;
}

/** Network namespace names are file names under /run/netns. */
export function checkNetnsName(v: string): string | null {
  if (v.length === 0 || v === '.' || v === '..' || v.includes('/') || v.includes('\0')) {
    return `not a network namespace name: ${JSON.stringify(v)}`;
  }
  return null;
}

export interface Endpoint {
  /** The host as written, without brackets. */
  host: string;
  port: number;
  /** Address family when the host is an IP literal, null for a hostname. */
  family: 4 | 6 | null;
}

/** RFC 1123 host name; an all-numeric last label means a mistyped IPv4 address (RFC 3696 §2). */
function isHostname(h: string): boolean {
  if (h.length === 0 || h.length > 253) return false;
  const labels = h.replace(/\.$/, '').split('.');
  if (!labels.every((l) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l))) return false;
  return !/^\d+$/.test(labels[labels.length - 1] ?? '');
}

export function parseEndpoint(v: string): Endpoint | string {
  let host: string;
  let portStr: string;
  if (v.startsWith('[')) {
    const close = v.indexOf(']');
    if (close < 0 || v[close + 1] !== ':') return `expected "[IPv6]:port", got ${JSON.stringify(v)}`;
    host = v.slice(1, close);
    portStr = v.slice(close + 2);
    const ip = parseIp(host);
    if (!ip || ip.family !== 6) return `not an IPv6 address in brackets: ${JSON.stringify(host)}`;
  } else {
    const colon = v.lastIndexOf(':');
    if (colon < 0) return `expected "host:port", got ${JSON.stringify(v)} (the port is required)`;
    host = v.slice(0, colon);
    portStr = v.slice(colon + 1);
    if (host.includes(':')) return `an IPv6 endpoint needs brackets: "[${host}]:${portStr}"`;
  }
  if (!/^\d{1,5}$/.test(portStr) || Number(portStr) < 1 || Number(portStr) > 65535) {
    return `port must be 1..65535, got ${JSON.stringify(portStr)}`;
  }
  const port = Number(portStr);
  if (v.startsWith('[')) return { host, port, family: 6 };
  if (/^[\d.]+$/.test(host)) {
    return parseIpv4(host) ? { host, port, family: 4 } : `not an IPv4 address: ${JSON.stringify(host)}`;
  }
  return isHostname(host) ? { host, port, family: null } : `not a host name or address: ${JSON.stringify(host)}`;
}

export function checkEndpoint(v: string): string | null {
  const e = parseEndpoint(v);
  return typeof e === 'string' ? e : null;
}

/** sun_path holds 108 bytes including the terminating NUL. */
export function checkSocketPath(v: string): string | null {
  if (v.length === 0) return 'socket path is empty';
  if (Buffer.byteLength(v) > 107) return `socket path is longer than 107 bytes (the limit of a unix socket address)`;
  return null;
}

/** Where the metrics endpoint listens: an IP literal and a port (a name could resolve to a public address). */
export function checkListenAddress(v: string): string | null {
  const e = parseEndpoint(v);
  if (typeof e === 'string') return e;
  return e.family === null ? `expected an IP address and port ("127.0.0.1:9479", "[::1]:9479"), got ${JSON.stringify(v)}` : null;
}

/** A unix group: its name (looked up when the agent starts) or its number. */
export function checkGroupName(v: string): string | null {
  return /^[a-z_][a-z0-9_-]{0,31}\$?$/i.test(v) ? null : `not a group name: ${JSON.stringify(v)}`;
}

/** A dotted quad (OSPF area ids); unlike a router id, 0.0.0.0 is fine. */
export function checkRouterIdLike(v: string): string | null {
  return parseIpv4(v) ? null : `expected a dotted quad like 0.0.0.0, got ${JSON.stringify(v)}`;
}


/**
 * A prefix-list entry: "PREFIX", "PREFIX le N", "PREFIX ge N", "PREFIX ge N le M"
 * (as FRR and Cisco: the prefix's own length <= ge <= le <= the family's width;
 * without ge/le only the prefix itself matches).
 */
export function parsePrefixListEntry(v: string): PrefixListEntry | string {
  const m = /^(\S+)(?:\s+ge\s+(\d+))?(?:\s+le\s+(\d+))?$/.exec(v.trim());
  if (!m) return `expected "PREFIX [ge N] [le N]", got ${JSON.stringify(v)}`;
  const p = parsePrefix(m[1] ?? '', false);
  if (!p) return `not a prefix without host bits: ${JSON.stringify(m[1])}`;
  const width = p.family === 4 ? 32 : 128;
  const ge = m[2] !== undefined ? Number(m[2]) : null;
  const le = m[3] !== undefined ? Number(m[3]) : null;
  const lo = ge ?? p.len;
  const hi = le ?? (ge !== null ? width : p.len);
  if (lo < p.len || hi > width || lo > hi) return `need ${p.len} <= ge <= le <= ${width}, got ${JSON.stringify(v)}`;
  return { prefix: formatPrefix(p), ge: lo, le: hi };
}

export function checkPrefixListEntry(v: string): string | null {
  const e = parsePrefixListEntry(v);
  return typeof e === 'string' ? e : null;
}

/** Whether `prefix` is matched by one of the entries. */
export function prefixListMatches(entries: readonly PrefixListEntry[], prefix: string): boolean {
  const p = parsePrefix(prefix, false);
  if (!p) return false;
  for (const e of entries) {
    const q = parsePrefix(e.prefix, false);
    if (!q || q.family !== p.family || p.len < e.ge || p.len > e.le || p.len < q.len) continue;
    if (prefixContains(q, p.bytes)) return true;
  }
  return false;
}
