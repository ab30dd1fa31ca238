/**
 * FibManager as pure bookkeeping over a recording backend: coalescing,
 * skip-if-identical, retry of failures, and BIRD-style scan → prune at start.
 */
import { describe, expect, it } from 'vitest';
import { FibManager, NullFib, sameRoute } from '#fib/index';
import type { FibBackend, FibOp, FibRoute } from '#fib/index';
import { batchOp, OP_ADD, OP_DELETE, OP_REPLACE, type FibBatch } from '#fib/types';
import { PrefixTable } from '#lib/prefix-table';

class FakeBackend implements FibBackend {
  readonly name = 'linux' as const;
  readonly batches: FibOp[][] = [];
  table = new Map<string, FibRoute>();
  failing = new Map<string, string>();
  throwNext: Error | null = null;
  /** Throws instead of applying the n-th batch (1-based, counting the batches applied before it). */
  failBatch: number | null = null;
  /** When set, apply() waits for it: lets a test act while a batch is in flight. */
  hold: Promise<void> | null = null;
  entered: () => void = () => {};

  async dump(): Promise<FibRoute[]> {
    return [...this.table.values()];
  }

  async apply(ops: FibOp[]): Promise<{ prefix: string; error: string }[]> {
    if (this.failBatch !== null && this.batches.length + 1 === this.failBatch) {
      this.failBatch = null;
      throw new Error('socket closed');
    }
    if (this.throwNext) {
      const e = this.throwNext;
      this.throwNext = null;
      throw e;
    }
    this.batches.push(ops);
    if (this.hold) {
      this.entered();
      await this.hold;
    }
    const failed: { prefix: string; error: string }[] = [];
    for (const op of ops) {
      const prefix = op.op === 'delete' ? op.prefix : op.route.prefix;
      const err = this.failing.get(prefix);
      if (err) failed.push({ prefix, error: err });
      else if (op.op !== 'delete') this.table.set(prefix, op.route);
      else this.table.delete(prefix);
    }
    return failed;
  }

  async close(): Promise<void> {}
}

const via = (prefix: string, address: string, iface = 'wg0'): FibRoute => ({ prefix, nexthops: [{ address, interface: iface }] });

describe('flush', () => {
  it('sends all pending changes as one batch; the last change of a prefix wins', async () => {
    const b = new FakeBackend();
    const m = new FibManager(b);
    m.set(via('10.1.0.0/24', '10.255.0.1'));
    m.set(via('10.1.0.0/24', '10.255.0.3'));
    m.set(via('10.2.0.0/24', '10.255.0.1'));
    m.set(via('10.3.0.0/24', '10.255.0.1'));
    m.delete('10.3.0.0/24');
    expect(m.pending()).toBe(2);
    await m.flush();
    expect(b.batches).toHaveLength(1);
    expect(b.batches[0]).toEqual([
      { op: 'add', route: via('10.1.0.0/24', '10.255.0.3') },
      { op: 'add', route: via('10.2.0.0/24', '10.255.0.1') },
    ]);
    expect(m.installed('10.1.0.0/24')).toBe(true);
    expect(m.installed('10.3.0.0/24')).toBe(false);
    expect(m.size).toBe(2);
    expect(m.pending()).toBe(0);
  });

  it('skips a replace identical to what is installed, and an empty flush sends nothing', async () => {
    const b = new FakeBackend();
    const m = new FibManager(b);
    m.set(via('10.1.0.0/24', '10.255.0.1'));
    await m.flush();
    m.set(via('10.1.0.0/24', '10.255.0.1'));
    expect(m.pending()).toBe(0);
    await m.flush();
    await m.flush();
    expect(b.batches).toHaveLength(1);
  });

  it('deletes installed routes; delete then set back to the installed route is no write', async () => {
    const b = new FakeBackend();
    const m = new FibManager(b);
    m.set(via('10.1.0.0/24', '10.255.0.1'));
    m.set(via('10.2.0.0/24', '10.255.0.1'));
    await m.flush();
    m.delete('10.1.0.0/24');
    m.delete('10.2.0.0/24');
    m.set(via('10.2.0.0/24', '10.255.0.1'));
    await m.flush();
    expect(b.batches[1]).toEqual([{ op: 'delete', prefix: '10.1.0.0/24', previous: via('10.1.0.0/24', '10.255.0.1') }]);
    expect(m.size).toBe(1);
  });

  it('failed ops stay pending, are reported in lastErrors and retried on the next flush', async () => {
    const b = new FakeBackend();
    const m = new FibManager(b);
    b.failing.set('10.2.0.0/24', 'ENETUNREACH (network is unreachable)');
    m.set(via('10.1.0.0/24', '10.255.0.1'));
    m.set(via('10.2.0.0/24', '10.9.9.9'));
    await m.flush();
    expect(m.installed('10.1.0.0/24')).toBe(true);
    expect(m.installed('10.2.0.0/24')).toBe(false);
    expect(m.lastErrors).toEqual(['10.2.0.0/24: ENETUNREACH (network is unreachable)']);
    expect(m.error('10.2.0.0/24')).toBe('ENETUNREACH (network is unreachable)');
    expect(m.pending()).toBe(1);
    b.failing.clear();
    await m.flush();
    expect(b.batches[1]).toEqual([{ op: 'add', route: via('10.2.0.0/24', '10.9.9.9') }]);
    expect(m.error('10.2.0.0/24')).toBe(null);
    expect(m.installed('10.2.0.0/24')).toBe(true);
    expect(m.lastErrors).toEqual([]);
  });

  it('a backend that throws leaves the whole batch pending', async () => {
    const b = new FakeBackend();
    const m = new FibManager(b);
    m.set(via('10.1.0.0/24', '10.255.0.1'));
    b.throwNext = new Error('socket closed');
    await expect(m.flush()).rejects.toThrow('socket closed');
    expect(m.pending()).toBe(1);
    expect(m.lastErrors[0]).toContain('socket closed');
    await m.flush();
    expect(m.installed('10.1.0.0/24')).toBe(true);
  });

  it('changes made while a flush is in flight go into the next one', async () => {
    const b = new FakeBackend();
    const m = new FibManager(b);
    m.set(via('10.1.0.0/24', '10.255.0.1'));
    let release = (): void => {};
    b.hold = new Promise<void>((r) => (release = r));
    const inFlight = new Promise<void>((r) => (b.entered = r));
    const first = m.flush();
    await inFlight;
    m.set(via('10.1.0.0/24', '10.255.0.2'));
    b.hold = null;
    release();
    await first;
    expect(b.table.get('10.1.0.0/24')).toEqual(via('10.1.0.0/24', '10.255.0.1'));
    expect(m.pending()).toBe(1);
    await m.flush();
    expect(b.table.get('10.1.0.0/24')).toEqual(via('10.1.0.0/24', '10.255.0.2'));
  });
});

describe('large flushes', () => {
  const many = (n: number, from = 0): FibRoute[] =>
    Array.from({ length: n }, (_, i) => via(`10.${(from + i) >> 16}.${((from + i) >> 8) & 255}.${(from + i) & 255}/32`, '10.255.0.1'));

  it('go out in batches of at most 8192; failures of every batch are reported and stay pending', async () => {
    const b = new FakeBackend();
    const m = new FibManager(b);
    const routes = many(20_000);
    for (const r of routes) m.set(r);
    b.failing.set(routes[10]!.prefix, 'ENETUNREACH (network is unreachable)');
    b.failing.set(routes[19_000]!.prefix, 'ENETUNREACH (network is unreachable)');
    await m.flush();
    expect(b.batches.map((x) => x.length)).toEqual([8192, 8192, 3616]);
    expect(m.size).toBe(19_998);
    expect(m.lastErrors).toEqual([`${routes[10]!.prefix}: ENETUNREACH (network is unreachable)`, `${routes[19_000]!.prefix}: ENETUNREACH (network is unreachable)`]);
    expect(m.pending()).toBe(2);
  });

  it('a backend that throws midway leaves its batch and the ones after it pending, and what went before installed', async () => {
    const b = new FakeBackend();
    const m = new FibManager(b);
    for (const r of many(20_000)) m.set(r);
    b.failBatch = 2;
    await expect(m.flush()).rejects.toThrow('socket closed');
    expect(m.size).toBe(8192);
    expect(m.pending()).toBe(20_000 - 8192);
    await m.flush();
    expect(m.size).toBe(20_000);
    expect(m.pending()).toBe(0);
  });

  it('a backend with batchesInFlight gets that many batches at once, never more, each prefix in one of them', async () => {
    class Concurrent extends FakeBackend {
      readonly batchesInFlight = 3;
      running = 0;
      maxRunning = 0;
      override async apply(ops: FibOp[]): Promise<{ prefix: string; error: string }[]> {
        this.running++;
        this.maxRunning = Math.max(this.maxRunning, this.running);
        // Answered out of order: a later batch may finish first.
        await new Promise((r) => setTimeout(r, this.batches.length % 2 === 0 ? 5 : 1));
        try {
          return await super.apply(ops);
        } finally {
          this.running--;
        }
      }
    }
    const b = new Concurrent();
    const m = new FibManager(b);
    const routes = many(50_000);
    for (const r of routes) m.set(r);
    b.failing.set(routes[30_000]!.prefix, 'VNET_API_ERROR_NO_MATCHING_INTERFACE (-54)');
    await m.flush();
    expect(b.maxRunning).toBe(3);
    expect(b.batches.map((x) => x.length).sort((x, y) => x - y)).toEqual([848, 8192, 8192, 8192, 8192, 8192, 8192]);
    const prefixes = b.batches.flat().map((op) => (op.op === 'delete' ? op.prefix : op.route.prefix));
    expect(new Set(prefixes).size).toBe(50_000);
    expect(m.size).toBe(49_999);
    expect(m.lastErrors).toEqual([`${routes[30_000]!.prefix}: VNET_API_ERROR_NO_MATCHING_INTERFACE (-54)`]);
    expect(m.pending()).toBe(1);
  });

  it('with batches in flight, one that throws stops new ones; those in flight finish, the rest stays pending', async () => {
    class Concurrent extends FakeBackend {
      readonly batchesInFlight = 2;
    }
    const b = new Concurrent();
    const m = new FibManager(b);
    for (const r of many(40_000)) m.set(r);
    b.failBatch = 2;
    await expect(m.flush()).rejects.toThrow('socket closed');
    // Batch 1 was in flight beside the failing one; nothing after the failure started.
    expect(b.batches).toHaveLength(1);
    expect(m.size).toBe(8192);
    expect(m.pending()).toBe(40_000 - 8192);
    await m.flush();
    expect(m.size).toBe(40_000);
    expect(m.pending()).toBe(0);
  });

  it('flushes asked for while one is waiting for its turn join it', async () => {
    const b = new FakeBackend();
    const m = new FibManager(b);
    m.set(via('10.1.0.0/24', '10.255.0.1'));
    let release = (): void => {};
    b.hold = new Promise<void>((r) => (release = r));
    const inFlight = new Promise<void>((r) => (b.entered = r));
    const first = m.flush();
    await inFlight;
    m.set(via('10.2.0.0/24', '10.255.0.1'));
    const second = m.flush();
    m.set(via('10.3.0.0/24', '10.255.0.1'));
    const third = m.flush();
    expect(third).toBe(second);
    b.hold = null;
    release();
    await Promise.all([first, second]);
    expect(b.batches.map((x) => x.length)).toEqual([1, 2]);
    expect(m.size).toBe(3);
  });

  it('keeps the next-hop list it is given when its addresses are canonical, and copies one that is not', async () => {
    const b = new FakeBackend();
    const m = new FibManager(b);
    const canonical = via('10.1.0.0/24', 'fd00::2');
    const other = via('10.2.0.0/24', 'FD00:0::2');
    m.set(canonical);
    m.set(other);
    await m.flush();
    expect(b.table.get('10.1.0.0/24')!.nexthops).toBe(canonical.nexthops);
    expect(b.table.get('10.2.0.0/24')).toEqual(via('10.2.0.0/24', 'fd00::2'));
    // Equal after canonicalization: one list for both.
    expect(m.nextHopLists).toBe(1);
  });

  it('20 000 routes over one neighbor hold one next-hop list; when they go, the list and the slots go too', async () => {
    const b = new FakeBackend();
    const m = new FibManager(b);
    const hops = [{ address: '10.255.0.1', interface: 'wg0' }];
    const prefixes = Array.from({ length: 20_000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
    for (const prefix of prefixes) m.set({ prefix, nexthops: hops });
    await m.flush();
    expect(m.size).toBe(20_000);
    expect(m.nextHopLists).toBe(1);
    const ecmp = [...hops, { address: '10.255.0.3', interface: 'wg1' }];
    for (const prefix of prefixes.slice(0, 100)) m.set({ prefix, nexthops: ecmp });
    await m.flush();
    expect(m.nextHopLists).toBe(2);
    expect(b.table.get(prefixes[0]!)!.nexthops).toBe(ecmp);
    for (const prefix of prefixes) m.delete(prefix);
    await m.flush();
    expect(m.size).toBe(0);
    expect(m.nextHopLists).toBe(0);
    expect([...m.wantedPrefixes()]).toEqual([]);
    expect(b.table.size).toBe(0);
  });

  it('a next-hop list in a write in flight stays what it was, though its owner dropped it meanwhile', async () => {
    const b = new FakeBackend();
    const m = new FibManager(b);
    let release!: () => void;
    b.hold = new Promise((r) => (release = r));
    const entered = new Promise<void>((r) => (b.entered = r));
    m.set(via('10.1.0.0/24', '10.255.0.1'));
    const first = m.flush();
    await entered;
    // While the add is in flight the owner wants another list, and the first is released by everyone else.
    m.set(via('10.1.0.0/24', '10.255.0.9', 'wg9'));
    m.set(via('10.7.0.0/24', '10.255.0.7', 'wg7'));
    b.hold = null;
    release();
    await first;
    expect(m.installed('10.1.0.0/24')).toBe(true);
    expect(m.pending()).toBe(2);
    await m.flush();
    expect(b.batches.at(-1)).toEqual([
      { op: 'replace', route: via('10.1.0.0/24', '10.255.0.9', 'wg9'), previous: via('10.1.0.0/24', '10.255.0.1') },
      { op: 'add', route: via('10.7.0.0/24', '10.255.0.7', 'wg7') },
    ]);
    expect(m.nextHopLists).toBe(2);
  });
});

describe('delete order', () => {
  // Linux removes IPv4 routes in ascending order in quadratic time where a
  // dense run of one length fills a trie node (net/ipv4/fib_trie.c:
  // fib_remove_alias -> node_pull_suffix -> update_suffix scans the node's
  // children from index 0 to the first one left); descending, the scan stops
  // at once. docs/performance.md, Installs.
  const v4 = (i: number): string => `10.${i >> 8}.${i & 255}.0/24`;
  const deletes = (ops: FibOp[]): string[] => ops.filter((o) => o.op === 'delete').map((o) => (o.op === 'delete' ? o.prefix : ''));

  it("a flush sends its deletes in descending IPv4 order, in the deletes' places; adds, replaces and IPv6 keep theirs", async () => {
    const b = new FakeBackend();
    const m = new FibManager(b);
    for (let i = 0; i < 300; i++) m.set(via(v4(i), '10.255.0.1'));
    m.set(via('2001:db8:1::/48', 'fd00::1'));
    m.set(via('2001:db8:2::/48', 'fd00::1'));
    await m.flush();
    // Withdrawn in ascending order, with an add, a replace and IPv6 deletes among them.
    const queued: string[] = [];
    for (let i = 0; i < 300; i++) {
      if (i === 100) {
        m.set(via('10.99.0.0/24', '10.255.0.1'));
        queued.push('add 10.99.0.0/24');
        m.delete('2001:db8:2::/48');
        queued.push('delete');
      }
      if (i === 200) {
        m.set(via(v4(299), '10.255.0.2'));
        queued.push(`replace ${v4(299)}`);
        m.delete('2001:db8:1::/48');
        queued.push('delete');
      }
      if (i === 299) continue;
      m.delete(v4(i));
      queued.push('delete');
    }
    await m.flush();
    const ops = b.batches.at(-1)!;
    expect(ops.map((o) => (o.op === 'delete' ? 'delete' : `${o.op} ${o.route.prefix}`))).toEqual(queued);
    const gone = deletes(ops);
    // IPv6 in their own places; the IPv4 deletes from 10.1.42.0/24 (298) down to 10.0.0.0/24.
    expect(gone[100]).toBe('2001:db8:2::/48');
    expect(gone[201]).toBe('2001:db8:1::/48');
    expect(gone.filter((p) => !p.includes(':'))).toEqual(Array.from({ length: 299 }, (_, k) => v4(298 - k)));
    expect(m.size).toBe(2);
  });

  it('reconcile removes stale routes in descending IPv4 order (a restart finds them in the dump ascending)', async () => {
    const b = new FakeBackend();
    for (let i = 0; i < 500; i++) b.table.set(v4(i), via(v4(i), '10.255.0.1'));
    b.table.set('2001:db8:1::/48', via('2001:db8:1::/48', 'fd00::1'));
    const m = new FibManager(b);
    m.set(via(v4(7), '10.255.0.1'));
    expect(await m.reconcile()).toEqual({ removed: 500, added: 0, kept: 1 });
    const gone = deletes(b.batches.flat());
    expect(gone.filter((p) => !p.includes(':'))).toEqual(Array.from({ length: 500 }, (_, k) => v4(499 - k)).filter((p) => p !== v4(7)));
    expect(gone).toContain('2001:db8:1::/48');
  });
});

describe('reconcile (scan → prune)', () => {
  it('removes stale owned routes, adds missing ones, keeps identical ones untouched', async () => {
    const b = new FakeBackend();
    b.table.set('10.1.0.0/24', via('10.1.0.0/24', '10.255.0.1'));
    b.table.set('10.2.0.0/24', via('10.2.0.0/24', '10.255.0.1'));
    b.table.set('10.9.0.0/24', via('10.9.0.0/24', '10.255.0.1'));
    b.table.set('10.4.0.0/24', via('10.4.0.0/24', '10.255.0.7'));
    const m = new FibManager(b);
    m.set(via('10.1.0.0/24', '10.255.0.1'));
    m.set(via('10.2.0.0/24', '10.255.0.1'));
    m.set(via('10.3.0.0/24', '10.255.0.1'));
    m.set(via('10.4.0.0/24', '10.255.0.1'));
    expect(await m.reconcile()).toEqual({ removed: 1, added: 2, kept: 2 });
    expect(b.batches).toHaveLength(1);
    expect(b.batches[0]).toEqual([
      { op: 'delete', prefix: '10.9.0.0/24', previous: via('10.9.0.0/24', '10.255.0.1') },
      { op: 'add', route: via('10.3.0.0/24', '10.255.0.1') },
      { op: 'replace', route: via('10.4.0.0/24', '10.255.0.1'), previous: via('10.4.0.0/24', '10.255.0.7') },
    ]);
    expect(m.size).toBe(4);
    expect(m.pending()).toBe(0);
    expect(await m.reconcile()).toEqual({ removed: 0, added: 0, kept: 4 });
    expect(b.batches).toHaveLength(1);
  });

  it('adopts what the dataplane holds: a later identical set is no write', async () => {
    const b = new FakeBackend();
    b.table.set('10.1.0.0/24', via('10.1.0.0/24', '10.255.0.1'));
    const m = new FibManager(b);
    await m.reconcile();
    expect(b.batches[0]).toEqual([{ op: 'delete', prefix: '10.1.0.0/24', previous: via('10.1.0.0/24', '10.255.0.1') }]);
    b.table.set('10.5.0.0/24', via('10.5.0.0/24', '10.255.0.1'));
    b.batches.length = 0;
    m.set(via('10.5.0.0/24', '10.255.0.1'));
    expect(await m.reconcile()).toEqual({ removed: 0, added: 0, kept: 1 });
    expect(b.batches).toEqual([]);
  });
});

describe('streamed dumps (FibBackend.dumpEach)', () => {
  /** Visits the table one route at a time; the first dump is cut short by a restart after `cut` routes, with a route that then vanished. */
  class StreamingBackend extends FakeBackend {
    dumps = 0;
    cut = -1;
    async dumpEach(visit: (r: FibRoute) => void, restart: () => void): Promise<void> {
      this.dumps++;
      if (this.cut >= 0) {
        const routes = [...this.table.values()];
        for (const r of routes.slice(0, this.cut)) visit(r);
        // Seen before the interruption, gone when the dump starts over.
        visit(via('10.77.0.0/24', '10.255.0.1'));
        this.cut = -1;
        restart();
      }
      for (const r of this.table.values()) visit(r);
    }
    override async dump(): Promise<FibRoute[]> {
      throw new Error('the manager streams where the backend can');
    }
  }

  it('reconcile reads the routes one by one; an interrupted dump starts over and what it saw before counts for nothing', async () => {
    const b = new StreamingBackend();
    const shared = Object.freeze([Object.freeze({ address: '10.255.0.1', interface: 'wg0' })]);
    for (let i = 0; i < 100; i++) b.table.set(`10.1.${i}.0/24`, { prefix: `10.1.${i}.0/24`, nexthops: shared as FibRoute['nexthops'] });
    b.table.set('10.9.0.0/24', via('10.9.0.0/24', '10.255.0.1'));
    b.cut = 50;
    const m = new FibManager(b);
    for (let i = 0; i < 100; i++) m.set(via(`10.1.${i}.0/24`, '10.255.0.1'));
    m.set(via('10.3.0.0/24', '10.255.0.1'));
    expect(await m.reconcile()).toEqual({ removed: 1, added: 1, kept: 100 });
    expect(b.dumps).toBe(1);
    // 10.77.0.0/24 was seen only before the restart: nothing of it is deleted or believed installed.
    expect(b.batches).toEqual([[
      { op: 'delete', prefix: '10.9.0.0/24', previous: via('10.9.0.0/24', '10.255.0.1') },
      { op: 'add', route: via('10.3.0.0/24', '10.255.0.1') },
    ]]);
    expect(m.installed('10.77.0.0/24')).toBe(false);
    expect(m.size).toBe(101);
    // The dumped lists were interned once, not per route: the wanted list and the dump's shared one hold nothing more.
    expect(m.nextHopLists).toBe(1);
  });

  it('adopt streams too, and an interrupted dump adopts only what the finished one listed', async () => {
    const b = new StreamingBackend();
    b.table.set('10.1.0.0/24', via('10.1.0.0/24', '10.255.0.1'));
    b.table.set('10.2.0.0/24', via('10.2.0.0/24', '10.255.0.1'));
    b.cut = 1;
    const m = new FibManager(b);
    expect(await m.adopt()).toBe(2);
    expect(m.installed('10.77.0.0/24')).toBe(false);
    expect(m.size).toBe(2);
    m.set(via('10.1.0.0/24', '10.255.0.1'));
    await m.flush();
    expect(b.batches).toEqual([]);
  });
});

describe('backups in the dataplane (VPP PIC)', () => {
  it('a dumped backup is part of what is installed: the same backup is kept, another one is rewritten, none is rewritten', async () => {
    const b = new FakeBackend();
    const withBackup = (prefix: string, backup: string): FibRoute => ({ ...via(prefix, '10.255.0.1'), backup: [{ address: backup, interface: 'wg1' }] });
    b.table.set('10.1.0.0/24', withBackup('10.1.0.0/24', '10.255.1.1'));
    b.table.set('10.2.0.0/24', withBackup('10.2.0.0/24', '10.255.1.1'));
    b.table.set('10.3.0.0/24', withBackup('10.3.0.0/24', '10.255.1.1'));
    const m = new FibManager(b);
    m.set(withBackup('10.1.0.0/24', '10.255.1.1'));
    m.set(withBackup('10.2.0.0/24', '10.255.9.9'));
    m.set(via('10.3.0.0/24', '10.255.0.1'));
    expect(await m.reconcile()).toEqual({ removed: 0, added: 2, kept: 1 });
    expect(b.batches[0]!.map((op) => (op.op === 'delete' ? op.prefix : `${op.op} ${op.route.prefix}`))).toEqual(['replace 10.2.0.0/24', 'replace 10.3.0.0/24']);
  });
});

describe('restore after a failover (FibManager.restore)', () => {
  /** VPP-like: the failover takes shared state away from the routes (no rewrite asked), the restore gives it back, or throws. */
  class PicBackend extends FakeBackend {
    restoreError: Error | null = null;
    async failover(): Promise<{ moved: number; removed: number }> {
      return { moved: 1, removed: 0 };
    }
    async restore(): Promise<{ restored: number }> {
      if (this.restoreError !== null) throw this.restoreError;
      return { restored: 1 };
    }
  }

  it('a restore the backend could not do (it threw) has the routes through the tunnel written again, so none is left on what the failover took', async () => {
    const b = new PicBackend();
    const m = new FibManager(b);
    m.set(via('10.1.0.0/24', '10.255.0.1', 'wg-a'));
    m.set(via('10.2.0.0/24', '10.255.1.1', 'wg-c'));
    await m.flush();
    expect(await m.failover(['wg-a'])).toEqual({ moved: 1, removed: 0 });
    // The session is back and the neighbor sends the same route: the RIB wants it as installed.
    b.restoreError = new Error('VPP API connection lost');
    await expect(m.restore(['wg-a'])).rejects.toThrow('VPP API connection lost');
    const before = b.batches.length;
    await m.flush();
    expect(b.batches.slice(before).flat().map((op) => (op.op === 'delete' ? op.prefix : op.route.prefix))).toEqual(['10.1.0.0/24']);
  });

  it('a restore that worked writes nothing (the backend gave back what the failover took)', async () => {
    const b = new PicBackend();
    const m = new FibManager(b);
    m.set(via('10.1.0.0/24', '10.255.0.1', 'wg-a'));
    await m.flush();
    await m.failover(['wg-a']);
    expect(await m.restore(['wg-a'])).toEqual({ restored: 1 });
    const before = b.batches.length;
    await m.flush();
    expect(b.batches.length).toBe(before);
  });
});

describe('a shared prefix table (the RIB\'s numbers as hints)', () => {
  it('a right hint and a stale one (the number is another prefix\'s now) both reach the right prefix', async () => {
    const prefixes = new PrefixTable();
    const b = new FakeBackend();
    const m = new FibManager(b, prefixes);
    const rib = prefixes.intern('10.1.0.0/24');
    m.set(via('10.1.0.0/24', '10.255.0.1'), 'learned', rib);
    // A hint that names another prefix (a freed number reused) is not taken.
    m.set(via('10.2.0.0/24', '10.255.0.1'), 'learned', rib);
    m.delete('10.1.0.0/24', 'learned', 12345);
    await m.flush();
    expect([...b.table.keys()]).toEqual(['10.2.0.0/24']);
    prefixes.release(rib);
    // The manager holds the numbers of what it knows and gives back the others.
    expect(prefixes.size).toBe(1);
    m.delete('10.2.0.0/24');
    await m.flush();
    expect(prefixes.size).toBe(0);
  });
});

describe('sameRoute', () => {
  it('next hops are a set; an unspecified interface matches the one the kernel resolved; addresses compare canonically', () => {
    const two: FibRoute = { prefix: 'p', nexthops: [{ address: 'fd00::2', interface: 'a' }, { address: 'fd00::3', interface: 'a' }] };
    expect(sameRoute(two, { prefix: 'p', nexthops: [...two.nexthops].reverse() })).toBe(true);
    expect(sameRoute({ prefix: 'p', nexthops: [{ address: 'FD00:0::2' }] }, { prefix: 'p', nexthops: [{ address: 'fd00::2', interface: 'a' }] })).toBe(true);
    expect(sameRoute({ prefix: 'p', nexthops: [{ address: 'fd00::2', interface: 'b' }] }, { prefix: 'p', nexthops: [{ address: 'fd00::2', interface: 'a' }] })).toBe(false);
    expect(sameRoute(two, { prefix: 'p', nexthops: [two.nexthops[0]!, two.nexthops[0]!] })).toBe(false);
    const mixed: FibRoute = { prefix: 'p', nexthops: [{ address: 'fd00::2' }, { address: 'fd00::2', interface: 'a' }] };
    expect(sameRoute(mixed, { prefix: 'p', nexthops: [{ address: 'fd00::2', interface: 'a' }, { address: 'fd00::2', interface: 'b' }] })).toBe(true);
    expect(sameRoute({ prefix: 'p', nexthops: [{ interface: 'a' }] }, { prefix: 'p', nexthops: [{ address: '10.0.0.1', interface: 'a' }] })).toBe(false);
  });
});

describe('NullFib', () => {
  it('accepts everything and holds nothing', async () => {
    const m = new FibManager(new NullFib());
    m.set(via('10.1.0.0/24', '10.255.0.1'));
    await m.flush();
    expect(m.installed('10.1.0.0/24')).toBe(true);
    expect(await m.reconcile()).toEqual({ removed: 0, added: 1, kept: 0 });
  });
});

describe('dataplaneLost', () => {
  it('after a dataplane restart the next flush writes every desired route again, and nothing deleted', async () => {
    const b = new FakeBackend();
    const m = new FibManager(b);
    m.set(via('10.1.0.0/24', '10.255.0.1'));
    m.set(via('10.2.0.0/24', '10.255.0.1'));
    await m.flush();
    m.delete('10.2.0.0/24');
    await m.flush();
    b.table.clear(); // VPP restarted: its FIB is empty
    m.dataplaneLost();
    expect(m.size).toBe(0);
    expect(m.installed('10.1.0.0/24')).toBe(false);
    await m.flush();
    expect(b.batches.at(-1)).toEqual([{ op: 'add', route: via('10.1.0.0/24', '10.255.0.1') }]);
    expect(m.installed('10.1.0.0/24')).toBe(true);
  });
});

describe('owners (design.md: the tunnel\'s own routes win over learned ones)', () => {
  const host = (prefix: string): FibRoute => ({ prefix, nexthops: [{ interface: 'wg0' }] });

  it("a neighbor announcing its own tunnel /32 does not replace the host route, and its withdraw does not remove it", async () => {
    const b = new FakeBackend();
    const m = new FibManager(b);
    m.set(host('10.255.0.1/32'), 'tunnel');
    await m.flush();
    m.set(via('10.255.0.1/32', '10.255.0.1'), 'learned');
    expect(m.pending()).toBe(0);
    expect(m.owner('10.255.0.1/32')).toBe('tunnel');
    m.delete('10.255.0.1/32', 'learned');
    await m.flush();
    expect(b.batches).toHaveLength(1);
    expect(b.table.get('10.255.0.1/32')).toEqual(host('10.255.0.1/32'));
  });

  it('the learned route waits behind the tunnel route and takes over when the tunnel goes', async () => {
    const b = new FakeBackend();
    const m = new FibManager(b);
    m.set(host('10.255.0.1/32'), 'tunnel');
    m.set(via('10.255.0.1/32', '10.255.9.1'), 'learned');
    await m.flush();
    expect(b.table.get('10.255.0.1/32')).toEqual(host('10.255.0.1/32'));
    m.delete('10.255.0.1/32', 'tunnel');
    await m.flush();
    expect(m.owner('10.255.0.1/32')).toBe('learned');
    expect(b.batches.at(-1)).toEqual([{ op: 'replace', route: via('10.255.0.1/32', '10.255.9.1'), previous: host('10.255.0.1/32') }]);
    m.delete('10.255.0.1/32', 'learned');
    await m.flush();
    expect(b.table.has('10.255.0.1/32')).toBe(false);
    expect(m.owner('10.255.0.1/32')).toBe(null);
  });
});

describe('adopt (RFC 4724 §4.1: forwarding state kept across a restart)', () => {
  it('takes our routes as installed without writing: the same route wanted again is no write, the rest waits for reconcile', async () => {
    const b = new FakeBackend();
    b.table.set('10.1.0.0/24', via('10.1.0.0/24', '10.255.0.1'));
    b.table.set('10.9.0.0/24', via('10.9.0.0/24', '10.255.0.1'));
    const m = new FibManager(b);
    expect(await m.adopt()).toBe(2);
    expect(b.batches).toEqual([]);
    m.set(via('10.1.0.0/24', '10.255.0.1'));
    m.set(via('10.2.0.0/24', '10.255.0.1'));
    await m.flush();
    expect(b.batches).toEqual([[{ op: 'add', route: via('10.2.0.0/24', '10.255.0.1') }]]);
    expect(b.table.has('10.9.0.0/24')).toBe(true);
    expect(await m.reconcile()).toEqual({ removed: 1, added: 0, kept: 2 });
    expect(b.table.has('10.9.0.0/24')).toBe(false);
  });
});

describe('columns (FibBackend.applyBatch)', () => {
  /** FakeBackend reading the columns: each op made into a FibOp here, the arrays' identity recorded. */
  class ColumnsBackend extends FakeBackend {
    readonly arrays = new Set<Uint8Array>();
    readonly kinds: number[] = [];
    async applyBatch(batch: FibBatch): Promise<{ prefix: string; error: string }[]> {
      this.arrays.add(batch.kinds);
      const ops: FibOp[] = [];
      for (let i = 0; i < batch.length; i++) {
        this.kinds.push(batch.kinds[i]!);
        // No list written by a delete, none there before an add.
        expect(batch.want[i]! < 0).toBe(batch.kinds[i] === OP_DELETE);
        expect(batch.have[i]! < 0).toBe(batch.kinds[i] === OP_ADD);
        ops.push(batchOp(batch, i));
      }
      return this.apply(ops);
    }
  }

  it('batches go as columns in arrays reused from batch to batch; kinds, previous lists and "PREFIX: REASON" failures as with FibOps', async () => {
    const b = new ColumnsBackend();
    const table = new PrefixTable();
    const m = new FibManager(b, table);
    const n = 20_000;
    const p = (i: number): string => `10.${i >> 8}.${i & 255}.0/24`;
    const a = Object.freeze([Object.freeze({ address: '10.255.0.1', interface: 'wg0' })]);
    const c = Object.freeze([Object.freeze({ address: '10.255.0.3', interface: 'wg1' })]);
    for (let i = 0; i < n; i++) m.set({ prefix: p(i), nexthops: a as FibRoute['nexthops'] });
    b.failing.set(p(77), 'boom');
    await m.flush();
    // Three batches (8192 + 8192 + 3616), one set of arrays.
    expect(b.batches.map((x) => x.length)).toEqual([8192, 8192, 3616]);
    expect(b.arrays.size).toBe(1);
    expect(b.kinds.every((k) => k === OP_ADD)).toBe(true);
    expect(m.lastErrors).toEqual([`${p(77)}: boom`]);
    expect(m.waiting).toBe(1);
    b.failing.clear();
    // A replace names what is installed as its previous list.
    for (let i = 0; i < 10; i++) m.set({ prefix: p(i), nexthops: c as FibRoute['nexthops'] });
    b.batches.length = 0;
    b.kinds.length = 0;
    await m.flush();
    const ops = b.batches.flat();
    expect(ops.filter((o) => o.op === 'replace').map((o) => (o.op === 'replace' ? o.previous.nexthops : null))).toEqual(Array(10).fill(a));
    expect(ops.find((o) => o.op === 'add')).toEqual({ op: 'add', route: { prefix: p(77), nexthops: a } });
    expect(b.kinds.filter((k) => k === OP_REPLACE)).toHaveLength(10);
    expect(b.arrays.size).toBe(1);
    for (let i = 0; i < n; i++) m.delete(p(i));
    b.kinds.length = 0;
    await m.flush();
    expect(b.kinds).toHaveLength(n);
    expect(b.kinds.every((k) => k === OP_DELETE)).toBe(true);
    expect(b.table.size).toBe(0);
    expect(m.size).toBe(0);
    // Everything withdrawn: the prefixes' numbers are given back.
    expect(table.size).toBe(0);
    expect(m.nextHopLists).toBe(0);
  });
});

describe('columns: texts', () => {
  it('a flush through applyBatch makes no prefix text per op: none for 10 000 writes, one per failure reported', async () => {
    let texts = 0;
    class CountingTable extends PrefixTable {
      override text(id: number): string {
        texts++;
        return super.text(id);
      }
    }
    const table = new CountingTable();
    const fails = table.intern('10.0.77.0/24');
    const backend: FibBackend = {
      name: 'none',
      dump: async () => [],
      apply: async () => {
        throw new Error('the columns are for applyBatch');
      },
      // One prefix refused: its text is the backend's to make (the report), no other.
      applyBatch: async (b: FibBatch) => {
        for (let i = 0; i < b.length; i++) if (b.prefixes[i] === fails) return [{ prefix: b.table.text(fails), error: 'refused' }];
        return [];
      },
      close: async () => {},
    };
    const m = new FibManager(backend, table);
    const hops = Object.freeze([Object.freeze({ address: '10.255.0.1', interface: 'wg0' })]);
    for (let i = 0; i < 10_000; i++) m.setHops(`10.${i >> 8}.${i & 255}.0/24`, hops, null);
    texts = 0;
    await m.flush();
    expect(m.lastErrors).toEqual(['10.0.77.0/24: refused']);
    expect(m.size).toBe(9_999);
    expect(texts).toBe(1);
  });
});
