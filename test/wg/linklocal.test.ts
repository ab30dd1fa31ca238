import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generatePrivateKey, linkLocalPair, publicKeyOf, WgKeyError } from '#wg/index';

const pub = (): string => publicKeyOf(generatePrivateKey());

describe('deterministic link-local pair for unnumbered tunnels', () => {
  it('is symmetric: each side\'s remote is the other\'s local', () => {
    for (let i = 0; i < 50; i++) {
      const a = pub();
      const b = pub();
      const fromA = linkLocalPair(a, b);
      const fromB = linkLocalPair(b, a);
      expect(fromA.local).toBe(`${fromB.remote}/64`);
      expect(fromB.local).toBe(`${fromA.remote}/64`);
      expect(fromA.local).not.toBe(fromB.local);
    }
  });

  it('is fe80::/64 with a 64-bit identifier from the keys, stable across calls', () => {
    const a = pub();
    const b = pub();
    const p = linkLocalPair(a, b);
    expect(p.local).toMatch(/^fe80::[0-9a-f:]+\/64$/);
    expect(p.remote).toMatch(/^fe80::[0-9a-f:]+$/);
    expect(linkLocalPair(a, b)).toEqual(p);
    expect(linkLocalPair(a, pub()).local).not.toBe(p.local);
  });

  it('pins the derivation (both implementations of a pair must agree)', () => {
    const lower = Buffer.alloc(32, 1).toString('base64');
    const higher = Buffer.alloc(32, 2).toString('base64');
    // sha256("wgbgp-ll" ‖ 0x01*32 ‖ 0x02*32 ‖ role)[0..8) for role 0 and 1.
    const iid = (role: number): string => {
      const h = createHash('sha256').update('wgbgp-ll').update(Buffer.alloc(32, 1)).update(Buffer.alloc(32, 2))
        .update(Buffer.of(role)).digest();
      return [0, 2, 4, 6].map((i) => h.readUInt16BE(i).toString(16)).join(':');
    };
    expect(linkLocalPair(lower, higher)).toEqual({ local: `fe80::${iid(0)}/64`, remote: `fe80::${iid(1)}` });
  });

  it('refuses a peer with our own key', () => {
    const a = pub();
    expect(() => linkLocalPair(a, a)).toThrow(WgKeyError);
  });
});
