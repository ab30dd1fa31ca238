import { describe, expect, it } from 'vitest';
import { BoundedCache } from '#lib/bounded-cache';

describe('BoundedCache', () => {
  it('gives back what was set, null included, and undefined for what was not', () => {
    const c = new BoundedCache<string, { text: string } | null>(4);
    const v = { text: '192.0.2.1' };
    expect(c.set('192.000.002.001', v)).toBe(v);
    expect(c.set('not an address', null)).toBeNull();
    expect(c.get('192.000.002.001')).toBe(v);
    expect(c.get('not an address')).toBeNull();
    expect(c.get('2001:db8::1')).toBeUndefined();
    expect(c.size).toBe(2);
  });

  it('never holds more than its limit: a new key in a full cache empties it first', () => {
    const c = new BoundedCache<number, number>(3);
    for (let i = 0; i < 3; i++) c.set(i, i * 10);
    expect(c.size).toBe(3);
    c.set(3, 30);
    expect(c.size).toBe(1);
    expect([0, 1, 2].map((i) => c.get(i))).toEqual([undefined, undefined, undefined]);
    expect(c.get(3)).toBe(30);
    for (let i = 4; i < 100; i++) {
      c.set(i, i * 10);
      expect(c.size).toBeLessThanOrEqual(3);
      expect(c.get(i)).toBe(i * 10);
    }
  });

  it('replaces a key already there in a full cache without emptying it', () => {
    const c = new BoundedCache<string, number>(2);
    c.set('a', 1);
    c.set('b', 2);
    c.set('b', 3);
    expect(c.size).toBe(2);
    expect(c.get('a')).toBe(1);
    expect(c.get('b')).toBe(3);
  });

  it('clear() forgets everything', () => {
    const c = new BoundedCache<string, number>(8);
    c.set('a', 1);
    c.clear();
    expect(c.size).toBe(0);
    expect(c.get('a')).toBeUndefined();
  });

  it('refuses a limit that is not a whole number from 1', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => new BoundedCache<string, number>(bad)).toThrow(RangeError);
    expect(new BoundedCache<string, number>(1).limit).toBe(1);
  });
});
