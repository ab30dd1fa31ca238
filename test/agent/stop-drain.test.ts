/**
 * The stop with keep-on-stop and FIB writes still in flight: a flush started
 * by the change threshold (not the debounce, once not in ChangeFlow.settled())
 * and a PIC failover or restore (fire-and-forget from the session's end or
 * start) may still be
 * writing when the agent stops. The backend is closed only once they are
 * done; a write that never ends (a hung dataplane) holds the stop no longer
 * than the drain bound, logged, and the backend is then left as it is.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { Logger } from '#lib/log';
import type { FibBackend, FibNextHop, FibOp, FibRoute } from '#fib/types';
import { FIB_DRAIN_MS } from '#agent/agent';
import { announce, config, harness, neighbor, type Harness } from './harness.js';

function capture(): { log: Logger; lines: () => { msg: string; level: number; [k: string]: unknown }[] } {
  const raw: string[] = [];
  const log: Logger = pino({ level: 'debug' }, new Writable({ write: (c: Buffer, _e, cb) => { raw.push(c.toString()); cb(); } }));
  return { log, lines: () => raw.map((l) => JSON.parse(l) as { msg: string; level: number }) };
}

/** A FIB whose writes (apply, failover) wait for the gate while it is shut; `events` is the order things happened in. */
class GatedFib implements FibBackend {
  readonly name = 'linux' as const;
  readonly table = new Map<string, FibRoute>();
  readonly events: string[] = [];
  private shut: Promise<void> | null = null;
  private release: (() => void) | null = null;
  inFlight = 0;
  shutGate(): void {
    this.shut = new Promise((r) => (this.release = r));
  }
  openGate(): void {
    this.release?.();
    this.shut = null;
    this.release = null;
  }
  private async gate(what: string): Promise<void> {
    this.events.push(`${what} start`);
    this.inFlight++;
    if (this.shut !== null) await this.shut;
    this.inFlight--;
    this.events.push(`${what} end`);
  }
  async dump(): Promise<FibRoute[]> {
    return [...this.table.values()];
  }
  async apply(ops: FibOp[]): Promise<{ prefix: string; error: string }[]> {
    await this.gate('apply');
    for (const op of ops) {
      if (op.op === 'delete') this.table.delete(op.prefix);
      else this.table.set(op.route.prefix, op.route);
    }
    return [];
  }
  async failover(): Promise<{ moved: number; removed: number }> {
    await this.gate('failover');
    return { moved: 1, removed: 0 };
  }
  async restore(): Promise<{ restored: number }> {
    await this.gate('restore');
    return { restored: 1 };
  }
  async underlayPath(): Promise<FibNextHop[] | null> {
    return [{ address: '198.51.100.254', interface: 'eth0' }];
  }
  async close(): Promise<void> {
    this.events.push(`close (${this.inFlight} in flight)`);
  }
}

/** More than the change flow's threshold (2048): one UPDATE of them starts a flush at once, without the debounce. */
const burst = Array.from({ length: 2100 }, (_, i) => `10.${100 + (i >> 8)}.${i & 255}.0/24`);

async function established(fib: GatedFib, log?: Logger): Promise<Harness> {
  const h = await harness(config([neighbor('b', 1)]), log, { fib });
  h.sessions.get('b')!.establish();
  await h.tick();
  return h;
}

/** Real turns of the event loop (the manual clock does not move). */
const turns = async (n = 50): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

/** Stops the agent with the gate shut: the stop neither ends nor closes the backend before the gate opens; then it ends. */
async function stopThroughGate(h: Harness, fib: GatedFib): Promise<void> {
  let stopped = false;
  const stop = h.agent.stop().then(() => (stopped = true));
  await turns();
  expect(stopped).toBe(false);
  expect(fib.events.filter((e) => e.startsWith('close'))).toEqual([]);
  fib.openGate();
  await stop;
}

describe('Agent stop: FIB writes in flight are drained before the backend is closed', () => {
  it('a threshold flush in flight: close() waits for its write', async () => {
    const fib = new GatedFib();
    const h = await established(fib);
    fib.shutGate();
    h.sessions.get('b')!.update(announce(burst));
    await turns();
    expect(fib.inFlight).toBe(1);
    await stopThroughGate(h, fib);
    // The write ended, then the backend was closed with nothing in flight.
    expect(fib.events.slice(-2)).toEqual(['apply end', 'close (0 in flight)']);
    expect(fib.table.size).toBeGreaterThanOrEqual(burst.length);
  });

  it('a PIC failover in flight (the session ended just before the stop): close() waits for it', async () => {
    const fib = new GatedFib();
    const h = await established(fib);
    h.sessions.get('b')!.update(announce(['10.9.0.0/24']));
    await h.tick();
    expect(fib.table.has('10.9.0.0/24')).toBe(true);
    fib.shutGate();
    h.sessions.get('b')!.lost({ notification: true, holdTimerExpired: true });
    await turns();
    expect(fib.events.at(-1)).toBe('failover start');
    await stopThroughGate(h, fib);
    const failoverEnd = fib.events.indexOf('failover end');
    const close = fib.events.indexOf('close (0 in flight)');
    expect(failoverEnd).toBeGreaterThanOrEqual(0);
    expect(close).toBeGreaterThan(failoverEnd);
  });

  it('a PIC restore in flight (the session came back just before the stop): close() waits for it', async () => {
    const fib = new GatedFib();
    const h = await established(fib);
    const b = h.sessions.get('b')!;
    b.update(announce(['10.9.0.0/24']));
    await h.tick();
    b.lost({ notification: true, holdTimerExpired: true });
    await h.tick();
    expect(fib.events).toContain('failover end');
    fib.shutGate();
    b.establish();
    await turns();
    expect(fib.events.at(-1)).toBe('restore start');
    await stopThroughGate(h, fib);
    expect(fib.events.slice(-2)).toEqual(['restore end', 'close (0 in flight)']);
  });

  it('a write that never ends (hung dataplane): the stop ends after the drain bound, logged, and the backend is not closed under it', async () => {
    const c = capture();
    const fib = new GatedFib();
    const h = await established(fib, c.log);
    fib.shutGate();
    h.sessions.get('b')!.update(announce(burst));
    await turns();
    expect(fib.inFlight).toBe(1);
    let stopped = false;
    const stop = h.agent.stop().then(() => (stopped = true));
    await turns();
    h.clock.advance(FIB_DRAIN_MS - 1);
    await turns();
    expect(stopped).toBe(false);
    h.clock.advance(1);
    await turns();
    expect(stopped).toBe(true);
    await stop;
    // Not closed while its write hangs (the process exits; the dataplane keeps what it has).
    expect(fib.events.filter((e) => e.startsWith('close'))).toEqual([]);
    const line = c.lines().find((l) => l.msg.startsWith('FIB writes still in flight at stop'));
    expect(line).toMatchObject({ level: 40, waitedMs: FIB_DRAIN_MS });
    expect(line?.pending).toBeGreaterThanOrEqual(0);
  });
});
