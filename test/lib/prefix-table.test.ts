/**
 * The prefix table and the per-peer maps the RIB keys by prefix number
 * (issue 10): numbers are interned, reference-counted and reused; a map
 * moves from a Map to an array when it grows, without losing an entry.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Column, NO_PREFIX, PrefixMap, PrefixTable } from '#lib/prefix-table';

describe('PrefixTable', () => {
  it('one number per text while referenced; the number is reused after the last release', () => {
    const t = new PrefixTable();
    const a = t.intern('10.0.0.0/24');
    expect(t.intern('10.0.0.0/24')).toBe(a);
    const b = t.intern('2001:db8::/32');
    expect(b).not.toBe(a);
    expect(t.find('10.0.0.0/24')).toBe(a);
    expect(t.text(b)).toBe('2001:db8::/32');
    expect(t.refCount(a)).toBe(2);
    t.release(a);
    expect(t.find('10.0.0.0/24')).toBe(a);
    t.release(a);
    expect(t.find('10.0.0.0/24')).toBe(NO_PREFIX);
    expect(t.size).toBe(1);
    expect(t.intern('10.1.0.0/24')).toBe(a);
    expect(t.bound).toBe(2);
    t.release(b);
    expect(() => t.release(b)).toThrow(/released more often/);
  });

  it('reference counts past a byte: kept beside the column, back in it below, the number freed at zero', () => {
    const t = new PrefixTable();
    const a = t.intern('10.0.0.0/24');
    for (let i = 2; i <= 1000; i++) {
      expect(t.intern('10.0.0.0/24')).toBe(a);
      expect(t.refCount(a)).toBe(i);
    }
    for (let i = 999; i >= 1; i--) {
      t.release(a);
      expect(t.refCount(a)).toBe(i);
      expect(t.find('10.0.0.0/24')).toBe(a);
    }
    t.release(a);
    expect(t.find('10.0.0.0/24')).toBe(NO_PREFIX);
    expect(t.refCount(a)).toBe(0);
    expect(() => t.release(a)).toThrow(/released more often/);
    // Crossing the boundary back and forth, with retain() as well.
    const b = t.intern('10.0.1.0/24');
    const model = { refs: 1 };
    fc.assert(
      fc.property(fc.array(fc.constantFrom('intern', 'retain', 'release', 'release'), { minLength: 600, maxLength: 600 }), (ops) => {
        for (let i = 0; i < 300; i++, model.refs++) t.retain(b);
        for (const op of ops) {
          if (op === 'release') {
            if (model.refs === 1) continue;
            t.release(b);
            model.refs--;
          } else {
            if (op === 'intern') expect(t.intern('10.0.1.0/24')).toBe(b);
            else t.retain(b);
            model.refs++;
          }
          expect(t.refCount(b)).toBe(model.refs);
        }
      }),
      { numRuns: 20 },
    );
  });

  it('findHinted takes the hint only while the number still has that text: a reused number is looked up again', () => {
    const t = new PrefixTable();
    const a = t.intern('10.0.0.0/24');
    expect(t.findHinted('10.0.0.0/24', a)).toBe(a);
    t.release(a);
    const b = t.intern('10.9.0.0/24');
    expect(b).toBe(a);
    // The change named 10.0.0.0/24 with number a; a is 10.9.0.0/24's now.
    expect(t.findHinted('10.0.0.0/24', a)).toBe(NO_PREFIX);
    expect(t.findHinted('10.9.0.0/24', 77)).toBe(b);
    expect(t.findHinted('10.9.0.0/24', -1)).toBe(b);
    expect(t.findHinted('10.9.0.0/24', undefined)).toBe(b);
  });

  it('grows past its first capacity', () => {
    const t = new PrefixTable();
    const ids = Array.from({ length: 5000 }, (_, i) => t.intern(`10.${i >> 8}.${i & 255}.0/24`));
    expect(new Set(ids).size).toBe(5000);
    expect(t.text(ids[4999]!)).toBe('10.19.135.0/24');
    for (const id of ids) t.release(id);
    expect(t.size).toBe(0);
  });

  it('keys by address, family and length: texts come back canonical, a non-canonical text is refused by intern and not found', () => {
    const t = new PrefixTable();
    const texts = ['0.0.0.0/0', '10.0.0.0/8', '10.0.0.0/16', '255.255.255.255/32', '::/0', '2001:db8::/32', '2001:db8::/48', '2001:db8:0:1::/64', 'fe80::1/128'];
    const ids = texts.map((x) => t.intern(x));
    expect(new Set(ids).size).toBe(texts.length);
    texts.forEach((x, i) => expect(t.text(ids[i]!)).toBe(x));
    // 10.0.0.0/8 and ::/8-style pairs differ only in length or family, and stay apart.
    expect(t.find('10.0.0.0/8')).toBe(ids[1]);
    expect(t.find('0.0.0.0/0')).not.toBe(t.find('::/0'));
    // Host bits set, a bad text: no number, and intern refuses rather than storing a second spelling.
    expect(t.find('10.0.0.1/8')).toBe(NO_PREFIX);
    expect(t.find('not a prefix')).toBe(NO_PREFIX);
    expect(t.findHinted('10.0.0.1/8', ids[1])).toBe(NO_PREFIX);
    expect(() => t.intern('10.0.0.1/8')).toThrow(/not a canonical prefix/);
    // An upper-case IPv6 text names the same prefix; its text is the canonical one (RFC 5952 §4.3).
    expect(t.find('2001:DB8::/32')).toBe(ids[5]);
    expect(() => t.text(9999)).toThrow(/not in use/);
  });

  it('behaves as a map from text to a reference-counted number under any interleaving of intern and release (IPv6 pool and index deletions included)', () => {
    // Few distinct keys, many operations: probe runs form, break up on deletion and are reused.
    const key = fc.oneof(
      fc.tuple(fc.integer({ min: 0, max: 63 }), fc.constantFrom(24, 32)).map(([n, len]) => `10.0.${n}.${len === 32 ? n & 3 : 0}/${len}`),
      fc.integer({ min: 0, max: 63 }).map((n) => `2001:db8:${(n + 1).toString(16)}::/48`),
    );
    const op = fc.tuple(fc.boolean(), key);
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const t = new PrefixTable();
        const model = new Map<string, { id: number; refs: number }>();
        for (const [add, text] of ops) {
          const m = model.get(text);
          if (add || m === undefined) {
            const id = t.intern(text);
            if (m !== undefined) expect(id).toBe(m.id);
            for (const [other, o] of model) if (other !== text) expect(o.id).not.toBe(id);
            model.set(text, { id, refs: (m?.refs ?? 0) + 1 });
          } else {
            t.release(m.id);
            if (--m.refs === 0) model.delete(text);
          }
          expect(t.size).toBe(model.size);
        }
        for (const [text, m] of model) {
          expect(t.find(text)).toBe(m.id);
          expect(t.text(m.id)).toBe(text);
          expect(t.refCount(m.id)).toBe(m.refs);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a million IPv4 prefixes: every one found again after half of them were released, every released one gone', () => {
    const t = new PrefixTable();
    const n = 1 << 20;
    const text = (i: number): string => `${(i >>> 16) + 1}.${(i >>> 8) & 255}.${i & 255}.0/24`;
    const ids = new Int32Array(n);
    for (let i = 0; i < n; i++) ids[i] = t.intern(text(i));
    for (let i = 0; i < n; i += 2) t.release(ids[i]!);
    expect(t.size).toBe(n / 2);
    for (let i = 0; i < n; i += 997) expect(t.find(text(i))).toBe(i % 2 === 0 ? NO_PREFIX : ids[i]);
  });
});

describe('PrefixTable.sortV4Descending', () => {
  // The Linux FIB's linear order for IPv4 deletes (net/ipv4/fib_trie.c:
  // update_suffix scans a node's children from index 0; docs/performance.md).
  it('IPv4 numbers by descending address in the places IPv4 numbers held, IPv6 ones where they were', () => {
    const t = new PrefixTable();
    const texts = ['10.0.1.0/24', '2001:db8::/32', '255.255.255.255/32', '0.0.0.0/0', '128.0.0.0/1', '10.0.0.0/8', '2001:db8:1::/48', '10.0.2.0/24', '127.0.0.0/8'];
    const ids = Int32Array.from(texts.map((x) => t.intern(x)));
    t.sortV4Descending(ids);
    const out = Array.from(ids, (id) => t.text(id));
    expect(out[1]).toBe('2001:db8::/32');
    expect(out[6]).toBe('2001:db8:1::/48');
    // 10.0.0.0/8 and 10.0.0.0/24 share no address here; 128/1 above 127/8 (unsigned, not the signed word).
    expect(out.filter((x) => !x.includes(':'))).toEqual(['255.255.255.255/32', '128.0.0.0/1', '127.0.0.0/8', '10.0.2.0/24', '10.0.1.0/24', '10.0.0.0/8', '0.0.0.0/0']);
  });

  it('any mix: a permutation of the input, IPv4 descending, IPv6 untouched (property)', () => {
    const t = new PrefixTable();
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.tuple(fc.constant(4), fc.integer({ min: 0, max: 0xffffffff })), fc.tuple(fc.constant(6), fc.integer({ min: 0, max: 0xffff }))), { maxLength: 200 }), (spec) => {
        const texts = spec.map(([af, n]) => (af === 4 ? `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}/32` : `2001:db8:${n.toString(16)}::/48`));
        const ids = Int32Array.from(texts.map((x) => t.intern(x)));
        const before = Array.from(ids);
        t.sortV4Descending(ids);
        expect([...ids].sort((a, b) => a - b)).toEqual([...before].sort((a, b) => a - b));
        for (let i = 0; i < ids.length; i++) if (t.isV6(before[i]!)) expect(ids[i]).toBe(before[i]);
        const v4 = Array.from(ids).filter((id) => !t.isV6(id)).map((id) => t.wordOf(id, 0) >>> 0);
        for (let i = 1; i < v4.length; i++) expect(v4[i - 1]!).toBeGreaterThanOrEqual(v4[i]!);
        for (const id of before) t.release(id);
      }),
    );
  });
});

describe('PrefixMap', () => {
  it('keeps every entry across the move from a Map to an array, and reads past either as none', () => {
    const m = new PrefixMap();
    expect(m.get(7)).toBe(-1);
    // Numbers out of order, one far beyond the rest.
    const ids = Array.from({ length: 3000 }, (_, i) => (i * 7919) % 3001);
    ids.push(70_000);
    for (const id of ids) expect(m.set(id, id + 1)).toBe(-1);
    expect(m.size).toBe(ids.length);
    for (const id of ids) expect(m.get(id)).toBe(id + 1);
    expect(m.get(1_000_000)).toBe(-1);
    expect(m.set(70_000, 5)).toBe(70_001);
    expect(m.delete(70_000)).toBe(5);
    expect(m.delete(70_000)).toBe(-1);
    expect(m.size).toBe(ids.length - 1);
    // Once an array, entries come in ascending order.
    const seen: number[] = [];
    m.forEach((_v, id) => seen.push(id));
    expect(seen).toEqual([...ids.slice(0, -1)].sort((x, y) => x - y));
    expect([...m.ids()]).toEqual(seen);
    m.clear();
    expect(m.size).toBe(0);
    expect(m.get(5)).toBe(-1);
  });

  it('a small map stays a Map: set, overwrite and delete keep the count', () => {
    const m = new PrefixMap();
    m.set(3, 0);
    m.set(3, 9);
    m.set(900_000, 1);
    expect(m.size).toBe(2);
    expect(m.has(3)).toBe(true);
    expect(m.delete(3)).toBe(9);
    expect([...m.ids()]).toEqual([900_000]);
  });
});

describe('Column', () => {
  it('reads none (-1) where nothing was written, also past its end, and grows on write', () => {
    const c = new Column(4);
    expect(c.get(2)).toBe(-1);
    expect(c.get(100)).toBe(-1);
    c.set(100, 7);
    expect(c.get(100)).toBe(7);
    expect(c.get(99)).toBe(-1);
    expect(c.length).toBeGreaterThan(100);
  });
});
