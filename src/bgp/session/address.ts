import { formatIp, isLinkLocalV6, parseIp } from '#lib/prefix';

/**
 * The key the listener matches incoming connections on: canonical text, the
 * IPv4-mapped form (::ffff:a.b.c.d, what a dual-stack socket reports) as plain
 * IPv4, and no zone (a link-local peer is found by its address alone).
 */
export function normalizeAddress(addr: string): string {
  const ip = parseIp(addr);
  if (!ip) return addr.toLowerCase();
  const b = ip.bytes;
  if (ip.family === 6 && b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) {
    return formatIp(b.subarray(12, 16));
  }
  return formatIp(b);
}

/** fe80::/10 needs a scope to be reachable: "fe80::1%wg-site-b". */
export function scopedAddress(addr: string, iface: string | undefined): string {
  if (!iface || addr.includes('%')) return addr;
  const ip = parseIp(addr);
  return ip && isLinkLocalV6(ip.bytes) ? `${addr}%${iface}` : addr;
}

/** BGP Identifier as an unsigned 32-bit integer, for the §6.8 comparison. */
export function bgpIdToNumber(id: string): number {
  const ip = parseIp(id);
  if (!ip || ip.family !== 4) return 0;
  const b = ip.bytes;
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}
