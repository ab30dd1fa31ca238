/**
 * `wgbgp watch`'s events (issue 8), on a manual clock: each session change and
 * handshake as it happens, route counts at most once a second (a full table is
 * a few lines), the dataplane only when its state changes, the FIB's lag.
 */
import { describe, expect, it } from 'vitest';
import { AgentTelemetry } from '#agent/telemetry';
import type { WatchEvent } from '#api/types';
import { ManualClock } from '#lib/clock';

function setup() {
  const clock = new ManualClock(new Date('2026-01-01T00:00:00Z'));
  const counts = { rib: 0, fib: 0, pending: 0 };
  const t = new AgentTelemetry(clock, () => ({ ...counts }));
  const seen: WatchEvent[] = [];
  const stop = t.watch((e) => seen.push(e));
  return { clock, counts, t, seen, stop };
}

describe('watch events', () => {
  it('session changes and handshakes go out as they happen, with the wall-clock time', () => {
    const { clock, t, seen } = setup();
    clock.advance(1500);
    t.session('site-b', 'OpenConfirm', 'Established', null);
    t.handshake('site-b', 'wg-site-b', '198.51.100.2:51820');
    expect(seen).toEqual([
      { type: 'session', time: '2026-01-01T00:00:01.500Z', neighbor: 'site-b', from: 'OpenConfirm', to: 'Established', lastError: null },
      { type: 'handshake', time: '2026-01-01T00:00:01.500Z', neighbor: 'site-b', interface: 'wg-site-b', endpoint: '198.51.100.2:51820' },
    ]);
  });

  it('route counts at most once a second: a burst of flushes is one line now and one with the final counts', () => {
    const { clock, counts, t, seen } = setup();
    for (let i = 1; i <= 1000; i++) {
      counts.rib = i;
      counts.fib = i;
      t.flushed(true);
      clock.advance(1);
    }
    clock.advance(2000);
    const routes = seen.filter((e) => e.type === 'routes');
    expect(routes).toEqual([
      { type: 'routes', time: '2026-01-01T00:00:00.000Z', rib: 1, fib: 1, pending: 0 },
      { type: 'routes', time: '2026-01-01T00:00:01.000Z', rib: 1000, fib: 1000, pending: 0 },
    ]);
    // Unchanged counts are not repeated.
    t.flushed(true);
    clock.advance(2000);
    expect(seen.filter((e) => e.type === 'routes')).toHaveLength(2);
  });

  it('the dataplane only when its state or detail changes', () => {
    const { t, seen } = setup();
    t.dataplaneState('ok', null);
    t.dataplaneState('ok', null);
    t.dataplaneState('degraded', 'VPP API connection lost');
    t.dataplaneState('degraded', 'VPP API connection lost');
    t.dataplaneState('ok', null);
    expect(seen.map((e) => (e.type === 'dataplane' ? e.state : e.type))).toEqual(['degraded', 'ok']);
  });

  it('the FIB lag: from the first change queued until a flush leaves nothing pending', () => {
    const { clock, t } = setup();
    expect(t.fibLagSeconds()).toBe(0);
    t.queued();
    clock.advance(700);
    t.queued();
    t.flushed(false); // a write failed: still behind
    clock.advance(300);
    expect(t.fibLagSeconds()).toBe(1);
    t.flushed(true);
    expect(t.fibLagSeconds()).toBe(0);
  });

  it('nothing is built for nobody: without watchers no events, and a stopped watcher gets no more', () => {
    const { t, seen, stop } = setup();
    stop();
    expect(t.watchers).toBe(false);
    t.session('site-b', 'Established', 'Idle', 'Hold Timer Expired');
    expect(seen).toEqual([]);
  });

  it("a watcher that throws does not stop the others (a closed socket is that watcher's problem)", () => {
    const { t, seen } = setup();
    t.watch(() => {
      throw new Error('EPIPE');
    });
    t.logLevel('bgp', 'debug');
    t.logLevel('bgp', 'info');
    expect(seen).toHaveLength(2);
  });
  it('a watcher that stops while an event is handed out does not cost the others theirs; after close() nobody hears anything', () => {
    const { t, seen } = setup();
    const other: unknown[] = [];
    const stopSelf = t.watch(() => stopSelf());
    t.watch((e) => other.push(e));
    t.logLevel('bgp', 'debug');
    expect(seen).toHaveLength(1);
    expect(other).toHaveLength(1);
    t.close();
    expect(t.watchers).toBe(false);
    t.watch((e) => other.push(e));
    expect(t.watchers).toBe(false);
    t.logLevel('bgp', 'info');
    expect(seen).toHaveLength(1);
    expect(other).toHaveLength(1);
  });
});
