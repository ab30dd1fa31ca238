/**
 * What the VPP WireGuard backend (vpp.ts) reads out of VPP's records: decoded
 * values, addresses and endpoints as text, a peer from wireguard_peers_details.
 */
import { fromVppAddress, fromVppPrefix, VppApiError, asNumber as num, asRecord as rec, type VppRecord, type VppValue } from '#vpp/index';
import { formatPrefix, isLinkLocalV6, parseIp, parsePrefix, type Family } from '#lib/prefix';

/** wireguard_peer_flags: the peer has a live session. */
export const PEER_ESTABLISHED = 2;

/** The one allowed-IPs set of every peer: routes decide (design.md). */
export const VPP_ALLOWED_IPS: readonly string[] = ['0.0.0.0/0', '::/0'];

export interface Endpoint {
  ip: string;
  port: number;
}

export interface PeerRecord {
  peerIndex: number;
  /** The neighbor's key, base64. */
  publicKey: string;
  endpoint: Endpoint | null;
  keepalive: number;
  tableId: number;
  allowedIps: string[];
  flags: number;
  /** When the agent first saw ESTABLISHED in the current established period (VPP keeps no handshake time). */
  establishedAt: Date | null;
}

// ─── decoded-value helpers ─────────────────────────────────────────────────

export const str = (v: VppValue | undefined): string => (typeof v === 'string' ? v : '');
export const arr = (v: VppValue | undefined): VppValue[] => (Array.isArray(v) ? v : []);

export function bytesOf(v: VppValue | undefined): Uint8Array {
  return v instanceof Uint8Array ? v : new Uint8Array(0);
}

/** A decoded address → text, or null when unset (all zero). */
export function addressOrNull(v: VppValue | undefined): string | null {
  try {
    const text = fromVppAddress(v);
    const ip = parseIp(text);
    return ip && ip.bytes.some((b) => b !== 0) ? text : null;
  } catch {
    return null;
  }
}

/** "10.255.0.0/31" with host bits kept, canonical text. */
export function normCidr(s: string): string {
  const p = parsePrefix(s, true);
  return p ? formatPrefix(p) : s;
}

export function cidrFamily(s: string): Family | null {
  return parsePrefix(s, true)?.family ?? null;
}

export function isLinkLocalCidr(s: string): boolean {
  const p = parsePrefix(s, true);
  return p !== null && isLinkLocalV6(p.bytes);
}

export function formatEndpoint(e: Endpoint | null): string | null {
  if (!e) return null;
  return e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
}

export const sameEndpoint = (a: Endpoint | null, b: Endpoint | null): boolean =>
  a === b || (a !== null && b !== null && a.ip === b.ip && a.port === b.port);

/** "ip:port" / "[ip6]:port" / "host:port" → parts. */
export function splitEndpoint(s: string): { host: string; port: number } | null {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(s) ?? /^([^:]+):(\d{1,5})$/.exec(s);
  if (!m) return null;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? { host: m[1]!, port } : null;
}

export { errorText } from '#lib/error-text';

export function isApiError(err: unknown, retval: number): boolean {
  return err instanceof VppApiError && err.retval === retval;
}

export function peerFromDetails(v: VppRecord): { swIfIndex: number; peer: PeerRecord } {
  const p = rec(v.peer);
  const ip = addressOrNull(p.endpoint);
  const port = num(p.port);
  const allowed = arr(p.allowed_ips).map((a) => {
    try {
      return fromVppPrefix(a);
    } catch {
      return '?';
    }
  });
  return {
    swIfIndex: num(p.sw_if_index),
    peer: {
      peerIndex: num(p.peer_index),
      publicKey: Buffer.from(bytesOf(p.public_key)).toString('base64'),
      endpoint: ip !== null && port !== 0 ? { ip, port } : null,
      keepalive: num(p.persistent_keepalive),
      tableId: num(p.table_id),
      allowedIps: allowed,
      flags: num(p.flags),
      establishedAt: null,
    },
  };
}

export function noIpv4Text(tag: string): string {
  return `tunnel ${tag} has no IPv4 address and VPP has no loopback with an IPv4 address to lend one ` +
    '(sw_interface_set_unnumbered): VPP drops IPv4 arriving on it; add a loopback with an IPv4 address ' +
    'or an IPv4 tunnel address (unnumbered tunnels on VPP are a later issue)';
}

export function sameAllowedIps(have: readonly string[]): boolean {
  return have.length === VPP_ALLOWED_IPS.length && VPP_ALLOWED_IPS.every((p) => have.includes(p));
}

