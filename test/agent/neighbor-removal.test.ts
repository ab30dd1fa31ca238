/**
 * A neighbor removed from the configuration (reload) with many routes:
 * PIC order as for any session that ends (session-lifecycle.ts
 * withdrawAfterFailover): the FIB's failover of the routes through its
 * tunnel first, then the RIB's withdrawal of its paths in steps of at most
 * 8192 (one step per turn of the event loop, so that keepalives of other
 * sessions are not late), and only then the tunnel deleted and forgotten by
 * the FIB (FibManager.forget). Before, the neighbor left the agent's table
 * before its session stopped: the session's end found no neighbor and
 * withdrew at once, without the failover, and the second withdrawal after the
 * failover did the rest of the table in one step.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Rib, type PeerRemoval } from '#bgp/rib/index';
import type { FibBackend, FibNextHop, FibOp, FibRoute } from '#fib/types';
import { announce, config, harness, neighbor, type Harness } from './harness.js';

/** A FIB with PIC (failover/restore/forget) that logs what it is asked, in order. */
class LoggingFib implements FibBackend {
  readonly name = 'linux' as const;
  readonly table = new Map<string, FibRoute>();
  readonly log: string[] = [];
  async dump(): Promise<FibRoute[]> {
    return [...this.table.values()];
  }
  async apply(ops: FibOp[]): Promise<{ prefix: string; error: string }[]> {
    let deletes = 0;
    for (const op of ops) {
      if (op.op === 'delete') {
        if (this.table.delete(op.prefix)) deletes++;
      } else this.table.set(op.route.prefix, op.route);
    }
    if (deletes > 0) this.log.push(`delete ${deletes}`);
    return [];
  }
  async failover(interfaces: readonly string[]): Promise<{ moved: number; removed: number }> {
    this.log.push(`failover ${interfaces.join()}`);
    return { moved: 1, removed: 0 };
  }
  async restore(interfaces: readonly string[]): Promise<{ restored: number }> {
    this.log.push(`restore ${interfaces.join()}`);
    return { restored: 0 };
  }
  async forget(interfaces: readonly string[]): Promise<void> {
    this.log.push(`forget ${interfaces.join()}`);
  }
  async underlayPath(): Promise<FibNextHop[] | null> {
    return [{ address: '198.51.100.254', interface: 'eth0' }];
  }
  watchUnderlay(): () => void {
    return () => undefined;
  }
  async close(): Promise<void> {}
}

const ROUTES = 30_000;
const prefixes = (n: number): string[] => Array.from({ length: n }, (_, i) => `10.${64 + (i >> 8)}.${i & 255}.0/24`);

/** The RIB's withdrawal steps (how many paths each may take), also in the FIB's log. */
function recordSteps(fib: LoggingFib): number[] {
  const steps: number[] = [];
  const original = Rib.prototype.removePeerSteps;
  vi.spyOn(Rib.prototype, 'removePeerSteps').mockImplementation(function (this: Rib, id: string): PeerRemoval | null {
    const removal = original.call(this, id);
    if (removal === null) return null;
    const next = removal.next.bind(removal);
    removal.next = (n: number) => {
      steps.push(n);
      fib.log.push(`step ${n}`);
      return next(n);
    };
    return removal;
  });
  return steps;
}

let h: Harness | null = null;
afterEach(async () => {
  vi.restoreAllMocks();
  await h?.agent.stop();
  h = null;
});

describe('Agent: a neighbor removed by reload', () => {
  it('its routes fail over first, then leave the RIB in steps of at most 8192, then its tunnel is deleted and forgotten', async () => {
    const fib = new LoggingFib();
    h = await harness(config([neighbor('b', 1), neighbor('c', 2)]), undefined, { fib });
    const b = h.sessions.get('b')!;
    b.establish();
    b.update(announce(prefixes(ROUTES)));
    await h.tick(1000);
    expect(fib.table.size).toBeGreaterThanOrEqual(ROUTES);

    const steps = recordSteps(fib);
    fib.log.length = 0;
    h.next.config = config([neighbor('c', 2)]);
    const reload = await h.agent.reload();
    expect(reload.removed).toEqual(['b']);
    await h.tick(1000);

    const viaB = [...fib.table.values()].filter((r) => r.nexthops.some((x) => x.interface === 'wg-b'));
    expect(viaB).toEqual([]);
    // Failover first: no step of the withdrawal, no delete, before it.
    expect(fib.log[0]).toBe('failover wg-b');
    expect(fib.log.filter((l) => l.startsWith('failover'))).toHaveLength(1);
    // Every step bounded; together they cover the table (more than one step).
    expect(steps.length).toBeGreaterThanOrEqual(Math.ceil(ROUTES / 8192));
    expect(steps.filter((n) => n > 8192)).toEqual([]);
    // The tunnel is forgotten by the FIB after the last delete of its routes, with no restore.
    const forget = fib.log.indexOf('forget wg-b');
    const lastDelete = fib.log.map((l, i) => (l.startsWith('delete') ? i : -1)).reduce((a, i) => Math.max(a, i), -1);
    expect(lastDelete).toBeGreaterThan(0);
    expect(forget).toBeGreaterThan(lastDelete);
    expect(fib.log.some((l) => l.startsWith('restore'))).toBe(false);
  }, 60_000);

  it('removed while the withdrawal of its ended session is in progress: that withdrawal goes on in its steps, not the rest at once', async () => {
    const fib = new LoggingFib();
    h = await harness(config([neighbor('b', 1), neighbor('c', 2)]), undefined, { fib });
    const b = h.sessions.get('b')!;
    b.establish();
    b.update(announce(prefixes(ROUTES)));
    await h.tick(1000);
    const steps = recordSteps(fib);
    fib.log.length = 0;
    // Our Hold Timer Expired: failover, then the first step; the reload comes before the other steps.
    b.lost({ notification: true, holdTimerExpired: true });
    await new Promise((r) => setImmediate(r));
    h.next.config = config([neighbor('c', 2)]);
    expect((await h.agent.reload()).removed).toEqual(['b']);
    await h.tick(1000);
    expect([...fib.table.values()].filter((r) => r.nexthops.some((x) => x.interface === 'wg-b'))).toEqual([]);
    expect(fib.log[0]).toBe('failover wg-b');
    expect(steps.length).toBeGreaterThanOrEqual(Math.ceil(ROUTES / 8192));
    expect(steps.filter((n) => n > 8192)).toEqual([]);
    expect(fib.log.at(-1)).toBe('forget wg-b');
  }, 60_000);
});
