import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { decodeKey, generatePrivateKey, keyFromHex, keyToHex, publicKeyOf, WgKeyError } from '#wg/index';

const wg = (args: string[], input?: string): string =>
  execFileSync('wg', args, { input, encoding: 'utf8' }).trim();

describe('WireGuard keys (Curve25519, wg-compatible base64)', () => {
  it('publicKeyOf equals `wg pubkey` for 20 generated keys', () => {
    for (let i = 0; i < 20; i++) {
      const priv = generatePrivateKey();
      expect(publicKeyOf(priv)).toBe(wg(['pubkey'], `${priv}\n`));
    }
  });

  it('generated keys are clamped (RFC 7748 §5) like `wg genkey`', () => {
    for (let i = 0; i < 20; i++) {
      const k = decodeKey(generatePrivateKey());
      expect(k[0]! & 7).toBe(0);
      expect(k[31]! & 0x80).toBe(0);
      expect(k[31]! & 0x40).toBe(0x40);
    }
  });

  it('accepts `wg genkey` keys and derives the same public key', () => {
    for (let i = 0; i < 5; i++) {
      const priv = wg(['genkey']);
      expect(decodeKey(priv)).toHaveLength(32);
      expect(publicKeyOf(priv)).toBe(wg(['pubkey'], `${priv}\n`));
      expect(publicKeyOf(decodeKey(priv))).toBe(publicKeyOf(priv));
    }
  });

  it('decodeKey rejects anything but base64 of exactly 32 bytes', () => {
    const good = generatePrivateKey();
    for (const bad of ['', 'abc', good.slice(0, -1), `${good}A`, Buffer.alloc(31).toString('base64'),
      Buffer.alloc(33).toString('base64'), good.replace(/.=$/, 'B='), `${good.slice(0, 10)}!${good.slice(11)}`]) {
      expect(() => decodeKey(bad)).toThrow(WgKeyError);
    }
    expect(decodeKey(`${good}\n`)).toEqual(decodeKey(good));
  });

  it('keyToHex / keyFromHex round-trip (UAPI spelling)', () => {
    const k = generatePrivateKey();
    const hex = keyToHex(k);
    expect(hex).toMatch(/^[0-9a-f]{64}$/);
    expect(hex).toBe(Buffer.from(k, 'base64').toString('hex'));
    expect(keyToHex(decodeKey(k))).toBe(hex);
    expect(keyFromHex(hex)).toBe(k);
    expect(() => keyFromHex('00')).toThrow(WgKeyError);
  });
});
