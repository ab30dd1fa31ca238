/**
 * The recursion guard's arithmetic (design.md: a learned route never carries a
 * tunnel's own encrypted traffic): the host prefix of a tunnel endpoint, and
 * the longest match of an address among routes. Pure.
 */
import { formatPrefix, parseIp, parsePrefix } from '#lib/prefix';
import type { FibRoute } from './types.js';

/** "198.51.100.2/32", "2001:db8::2/128" for an address; null when it is none. */
export function hostPrefix(address: string): string | null {
  const ip = parseIp(address);
  return ip ? formatPrefix({ family: ip.family, bytes: ip.bytes, len: ip.family === 4 ? 32 : 128 }) : null;
}

/** The address of an endpoint "IP:port" / "[IPv6]:port", or null for a name or nothing. */
export function endpointAddress(endpoint: string | null): string | null {
  if (endpoint === null) return null;
  const m = /^\[([^\]]+)\]:\d+$/.exec(endpoint) ?? /^([^:]+):\d+$/.exec(endpoint);
  const host = m?.[1];
  return host !== undefined && parseIp(host) !== null ? host : null;
}

/** The route among `routes` whose prefix holds `address` with the longest length, skipping `skip`. */
export function longestMatch<R extends FibRoute>(routes: readonly R[], address: string, skip: (r: R) => boolean): R | null {
  const ip = parseIp(address);
  if (!ip) return null;
  let best: R | null = null;
  let bestLen = -1;
  for (const r of routes) {
    const p = parsePrefix(r.prefix);
    if (!p || p.family !== ip.family || p.len <= bestLen || !covers(p.bytes, p.len, ip.bytes)) continue;
    if (skip(r)) continue;
    best = r;
    bestLen = p.len;
  }
  return best;
}

function covers(net: Uint8Array, len: number, addr: Uint8Array): boolean {
  const full = len >> 3;
  for (let i = 0; i < full; i++) if (net[i] !== addr[i]) return false;
  const rest = len & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((net[full] ?? 0) & mask) === ((addr[full] ?? 0) & mask);
}
