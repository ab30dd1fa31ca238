/**
 * WireGuard keys: Curve25519 (X25519) key pairs, exchanged as standard base64
 * of 32 raw bytes (what `wg genkey` / `wg pubkey` print) and spoken as
 * lowercase hex on wireguard-go's UAPI socket.
 */
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';

export const KEY_LENGTH = 32;

/** A key that is not base64 of exactly 32 bytes (or hex of 32 bytes). */
export class WgKeyError extends Error {
  override readonly name = 'WgKeyError';
}

/**
 * DER prefix of a PKCS#8 PrivateKeyInfo for X25519 (RFC 8410 §7): SEQUENCE,
 * version 0, AlgorithmIdentifier 1.3.101.110, OCTET STRING { OCTET STRING(32) }.
 * node:crypto takes raw X25519 private keys only in this wrapping.
 */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

// Canonical base64 of 32 bytes: 43 symbols + '='; the last symbol carries 2
// unused bits that must be zero, so only 16 of the 64 symbols may end it.
const KEY_B64 = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;
const KEY_HEX = /^[0-9a-fA-F]{64}$/;

/** RFC 7748 §5 clamping, as `wg genkey` applies it. */
function clamp(k: Uint8Array): Uint8Array {
  k[0] = k[0]! & 248;
  k[31] = (k[31]! & 127) | 64;
  return k;
}

/** A fresh private key, base64, clamped like `wg genkey`. */
export function generatePrivateKey(): string {
  return Buffer.from(clamp(new Uint8Array(randomBytes(KEY_LENGTH)))).toString('base64');
}

/** Decodes a base64 key; throws WgKeyError unless it is exactly 32 bytes. */
export function decodeKey(b64: string): Uint8Array {
  const s = b64.trim();
  if (!KEY_B64.test(s)) {
    throw new WgKeyError('a WireGuard key is 44 characters of base64 encoding 32 bytes');
  }
  return new Uint8Array(Buffer.from(s, 'base64'));
}

export function encodeKey(raw: Uint8Array): string {
  if (raw.length !== KEY_LENGTH) throw new WgKeyError(`a WireGuard key is ${KEY_LENGTH} bytes, got ${raw.length}`);
  return Buffer.from(raw).toString('base64');
}

/** The public key of a private key (either base64 or raw bytes), as base64. */
export function publicKeyOf(privateKey: string | Uint8Array): string {
  const raw = typeof privateKey === 'string' ? decodeKey(privateKey) : privateKey;
  if (raw.length !== KEY_LENGTH) throw new WgKeyError(`a WireGuard key is ${KEY_LENGTH} bytes, got ${raw.length}`);
  const key = createPrivateKey({
    key: Buffer.concat([X25519_PKCS8_PREFIX, raw]),
    format: 'der',
    type: 'pkcs8',
  });
  // X25519 clamps the scalar itself, so unclamped input gives what `wg pubkey` gives.
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  return spki.subarray(spki.length - KEY_LENGTH).toString('base64');
}

/** Lowercase hex, the UAPI form of a key (base64 string or raw bytes). */
export function keyToHex(key: string | Uint8Array): string {
  const raw = typeof key === 'string' ? decodeKey(key) : key;
  if (raw.length !== KEY_LENGTH) throw new WgKeyError(`a WireGuard key is ${KEY_LENGTH} bytes, got ${raw.length}`);
  return Buffer.from(raw).toString('hex');
}

/** Base64 of a UAPI hex key. */
export function keyFromHex(hex: string): string {
  if (!KEY_HEX.test(hex)) throw new WgKeyError('a UAPI key is 64 hex digits');
  return Buffer.from(hex, 'hex').toString('base64');
}
