/**
 * Addresses and prefixes between the agent's canonical strings (#lib/prefix)
 * and VPP's ip_types (fact sheet §2.3): `address` = u8 af (0 IPv4, 1 IPv6) +
 * a 16-byte union, `prefix` = address + u8 len. fib_path's next hop is the bare
 * union (the family comes from the path's proto).
 */
import { formatIpv4, formatIpv6, formatPrefix, maskBytes, parseIp, parsePrefix } from '#lib/prefix';
import type { VppRecord, VppValue } from './codec.js';
import { VppCodecError } from './errors.js';

export const ADDRESS_IP4 = 0;
export const ADDRESS_IP6 = 1;

export interface VppAddress extends VppRecord {
  af: number;
  un: { ip4: Buffer } | { ip6: Buffer };
}

export interface VppPrefix extends VppRecord {
  address: VppAddress;
  len: number;
}

function unionOf(bytes: Uint8Array): { ip4: Buffer } | { ip6: Buffer } {
  return bytes.length === 4 ? { ip4: Buffer.from(bytes) } : { ip6: Buffer.from(bytes) };
}

/** '10.0.0.1' -> { af: 0, un: { ip4 } }; throws VppCodecError when not an address. */
export function toVppAddress(addr: string): VppAddress {
  const ip = parseIp(addr);
  if (!ip) throw new VppCodecError(`not an IP address: ${addr}`);
  return { af: ip.family === 4 ? ADDRESS_IP4 : ADDRESS_IP6, un: unionOf(ip.bytes) };
}

/** The bare address union (fib_path nh): { ip4 } or { ip6 }. */
export function toVppAddressUnion(addr: string): { ip4: Buffer } | { ip6: Buffer } {
  return toVppAddress(addr).un;
}

/**
 * '10.0.0.0/24' -> { address, len }. Host bits are kept: an interface address
 * ('10.255.0.0/31', '10.0.0.1/24') is a prefix with host bits.
 */
export function toVppPrefix(prefix: string): VppPrefix {
  const p = parsePrefix(prefix, true);
  if (!p) throw new VppCodecError(`not an IP prefix: ${prefix}`);
  return { address: { af: p.family === 4 ? ADDRESS_IP4 : ADDRESS_IP6, un: unionOf(p.bytes) }, len: p.len };
}

function field(v: VppValue | undefined, name: string): VppValue | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) return undefined;
  return v[name];
}

function unionBytes(un: VppValue | undefined, af: number): Uint8Array {
  const want = af === ADDRESS_IP4 ? 4 : 16;
  const direct = un instanceof Uint8Array ? un : undefined;
  const member = field(un, af === ADDRESS_IP4 ? 'ip4' : 'ip6');
  const bytes = direct ?? (member instanceof Uint8Array ? member : undefined);
  if (!bytes || bytes.length < want) throw new VppCodecError(`address union without ${want === 4 ? 'ip4' : 'ip6'} bytes`);
  return bytes.subarray(0, want);
}

function familyOf(af: VppValue | undefined): number {
  if (af !== ADDRESS_IP4 && af !== ADDRESS_IP6) throw new VppCodecError(`address family ${String(af)} is neither IPv4 nor IPv6`);
  return af;
}

/** A decoded `address` -> '10.0.0.1' / '2001:db8::1' (RFC 5952). */
export function fromVppAddress(v: VppValue | undefined): string {
  const af = familyOf(field(v, 'af'));
  const b = unionBytes(field(v, 'un'), af);
  return af === ADDRESS_IP4 ? formatIpv4(b) : formatIpv6(b);
}

/** A decoded address union (fib_path nh) of a known family. */
export function fromVppAddressUnion(un: VppValue | undefined, af: number): string {
  const b = unionBytes(un, familyOf(af));
  return af === ADDRESS_IP4 ? formatIpv4(b) : formatIpv6(b);
}

function prefixParts(v: VppValue | undefined): { family: 4 | 6; bytes: Uint8Array; len: number } {
  const addr = field(v, 'address');
  const af = familyOf(field(addr, 'af'));
  const len = field(v, 'len');
  const max = af === ADDRESS_IP4 ? 32 : 128;
  if (typeof len !== 'number' || len > max) throw new VppCodecError(`prefix length ${String(len)} out of range`);
  return { family: af === ADDRESS_IP4 ? 4 : 6, bytes: unionBytes(field(addr, 'un'), af), len };
}

/** A decoded `prefix` -> canonical '10.0.0.0/24' (host bits cleared), as the RIB keys it. */
export function fromVppPrefix(v: VppValue | undefined): string {
  const p = prefixParts(v);
  return formatPrefix({ ...p, bytes: maskBytes(p.bytes, p.len) });
}

/** A decoded `address_with_prefix` -> '10.0.0.1/24' (host bits kept: an interface address). */
export function fromVppAddressWithPrefix(v: VppValue | undefined): string {
  return formatPrefix(prefixParts(v));
}
