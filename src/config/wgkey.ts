/**
 * WireGuard keys (Curve25519) in `wg`'s text form: base64 of 32 bytes. Node's
 * X25519 takes keys as DER, so the raw 32 bytes are wrapped in the fixed PKCS#8
 * header for the X25519 OID (1.3.101.110, RFC 8410).
 */
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { checkWireguardKey } from './fields.js';

const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** Curve25519 clamping (RFC 7748 §5), as `wg genkey` stores the private key. */
export function clampPrivateKey(raw: Uint8Array): Buffer {
  const k = Buffer.from(raw);
  k[0] = k[0]! & 248;
  k[31] = (k[31]! & 127) | 64;
  return k;
}

export function generatePrivateKey(): string {
  return clampPrivateKey(randomBytes(32)).toString('base64');
}

/** Public key for a base64 private key; throws a RangeError with the reason for a malformed key. */
export function publicKeyOf(privateKeyBase64: string): string {
  const reason = checkWireguardKey(privateKeyBase64);
  if (reason !== null) throw new RangeError(reason);
  const raw = Buffer.from(privateKeyBase64, 'base64');
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, raw]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  // An X25519 SubjectPublicKeyInfo ends with the 32-byte public value.
  return spki.subarray(spki.length - 32).toString('base64');
}
