/**
 * IPv6 link-local addresses for unnumbered tunnels (BGP unnumbered, RFC 8950).
 *
 * Both ends derive the same pair from the two public keys alone, with no
 * coordination: the keys are ordered bytewise, and each side's 64-bit
 * interface identifier is
 *   SHA-256("wgbgp-ll" ‖ lowerKey ‖ higherKey ‖ role)[0..8)
 * where role is 0x00 for the owner of the lower key and 0x01 for the other.
 * Each side finds its own address by the role of its own key.
 */
import { createHash } from 'node:crypto';
import { formatIpv6 } from '#lib/prefix';
import { decodeKey, WgKeyError } from './keys.js';

const DOMAIN = Buffer.from('wgbgp-ll', 'ascii');

export interface LinkLocalPair {
  /** Our own address with its prefix length: "fe80::…/64". */
  local: string;
  /** The peer's address, no length: "fe80::…". */
  remote: string;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length && i < b.length; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

function linkLocalAddress(lower: Uint8Array, higher: Uint8Array, role: 0 | 1): string {
  const h = createHash('sha256').update(DOMAIN).update(lower).update(higher).update(Uint8Array.of(role)).digest();
  const addr = new Uint8Array(16);
  addr[0] = 0xfe;
  addr[1] = 0x80;
  addr.set(h.subarray(0, 8), 8);
  // An all-zero identifier would be the Subnet-Router anycast address (RFC 4291 §2.6.1).
  if (addr.subarray(8).every((b) => b === 0)) addr[15] = 1;
  return formatIpv6(addr);
}

/** The deterministic link-local pair of a tunnel, seen from the owner of `ourPublicKey` (base64). */
export function linkLocalPair(ourPublicKey: string, peerPublicKey: string): LinkLocalPair {
  const ours = decodeKey(ourPublicKey);
  const theirs = decodeKey(peerPublicKey);
  const cmp = compareBytes(ours, theirs);
  if (cmp === 0) throw new WgKeyError('the peer has our own public key: no link-local pair');
  const [lower, higher] = cmp < 0 ? [ours, theirs] : [theirs, ours];
  const lowerAddr = linkLocalAddress(lower, higher, 0);
  const higherAddr = linkLocalAddress(lower, higher, 1);
  return cmp < 0
    ? { local: `${lowerAddr}/64`, remote: higherAddr }
    : { local: `${higherAddr}/64`, remote: lowerAddr };
}
