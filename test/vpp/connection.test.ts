import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '#lib/clock';
import { silentLogger } from '#lib/log';
import type { VppClient } from '#vpp/client';
import { VppConnection } from '#vpp/connection';
import { Responder, socketPath } from './responder.js';

const log = silentLogger();
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const until = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 2));
  expect(cond()).toBe(true);
};

function connection(path: string, clock: ManualClock): { conn: VppConnection; connected: VppClient[]; lost: string[] } {
  const conn = new VppConnection({ socketPath: path, log, clock, required: ['ip_route_add_del'] });
  const connected: VppClient[] = [];
  const lost: string[] = [];
  conn.onConnected((c) => {
    connected.push(c);
  });
  conn.onDisconnected((r) => lost.push(r));
  cleanup.push(() => conn.stop());
  return { conn, connected, lost };
}

describe('VppConnection', () => {
  it('reconnects after VPP restarts, so the backends can rebuild', async () => {
    const clock = new ManualClock();
    const path = socketPath();
    let vpp = await Responder.start({ path });
    cleanup.push(() => vpp.close());
    const { conn, connected, lost } = connection(path, clock);
    conn.start();
    await until(() => connected.length === 1);
    expect(conn.state).toBe('connected');
    expect(conn.version).toBe('25.10-release');
    expect(conn.client).toBe(connected[0]);

    await vpp.close(); // VPP crashes
    await until(() => lost.length === 1);
    expect(conn.state).toBe('connecting');
    expect(conn.client).toBeNull();

    clock.advance(500); // first retry: the socket is gone
    await until(() => conn.lastError !== null && conn.lastError.includes('ENOENT'));
    vpp = await Responder.start({ path }); // VPP is back
    clock.advance(999);
    expect(connected).toHaveLength(1);
    clock.advance(1); // second retry, 1 s later
    await until(() => connected.length === 2);
    expect(conn.state).toBe('connected');
    expect(conn.lastError).toBeNull();
    expect(connected[1]).not.toBe(connected[0]);
    expect((await connected[1]!.request('ip_route_add_del', { is_add: true })).retval).toBe(0);
  });

  it('backs off 0.5 s doubling to 10 s while VPP is down', async () => {
    const clock = new ManualClock();
    const attempts: number[] = [];
    const conn = new VppConnection({
      socketPath: '/nonexistent',
      log,
      clock,
      required: [],
      connect: () => {
        attempts.push(clock.now());
        return Promise.reject(new Error('connect ENOENT /nonexistent'));
      },
    });
    cleanup.push(() => conn.stop());
    conn.start();
    const expected = [500, 1000, 2000, 4000, 8000, 10_000, 10_000];
    for (const [i, gap] of expected.entries()) {
      await until(() => attempts.length === i + 1);
      clock.advance(gap - 1);
      expect(attempts).toHaveLength(i + 1);
      clock.advance(1);
    }
    await until(() => attempts.length === expected.length + 1);
    expect(attempts.slice(1).map((t, i) => t - attempts[i]!)).toEqual(expected);
    expect(conn.state).toBe('connecting');
    expect(conn.lastError).toContain('ENOENT');
  });

  it('an incompatible VPP is reported as such and retried until a compatible one answers', async () => {
    const clock = new ManualClock();
    const path = socketPath();
    let vpp = await Responder.start({ path, crcs: { ip_route_add_del: '00000001' } });
    cleanup.push(() => vpp.close());
    const { conn, connected } = connection(path, clock);
    conn.start();
    await until(() => conn.state === 'incompatible');
    expect(conn.lastError).toContain('ip_route_add_del_b8ecfe0d: VPP has ip_route_add_del_00000001');
    await vpp.close();
    vpp = await Responder.start({ path });
    clock.advance(10_000);
    await until(() => connected.length === 1);
    expect(conn.state).toBe('connected');
  });

  it('stop() closes the client and stops retrying', async () => {
    const clock = new ManualClock();
    const vpp = await Responder.start();
    cleanup.push(() => vpp.close());
    const { conn, connected, lost } = connection(vpp.path, clock);
    conn.start();
    await until(() => connected.length === 1);
    await conn.stop();
    expect(vpp.received.some((m) => m.name === 'sockclnt_delete')).toBe(true);
    expect(connected[0]!.isClosed).toBe(true);
    clock.advance(60_000);
    expect(vpp.connections).toBe(1);
    expect(lost).toEqual([]);
  });
});

describe('VppConnection liveness', () => {
  it('a VPP that stops answering with its socket still open is dropped and retried (a panicking VPP 26.06 did this)', async () => {
    const clock = new ManualClock();
    const path = socketPath();
    const vpp = await Responder.start({ path });
    cleanup.push(() => vpp.close());
    const { conn, connected, lost } = connection(path, clock);
    conn.start();
    await until(() => connected.length === 1);
    // Healthy: a ping every 5 s is answered.
    clock.advance(5000);
    await until(() => vpp.received.filter((r) => r.name === 'control_ping').length >= 1);
    expect(conn.state).toBe('connected');
    // Hung: nothing is answered any more, the socket stays open.
    vpp.on('control_ping', () => undefined).on('sockclnt_delete', () => undefined);
    await new Promise((r) => setTimeout(r, 20));
    clock.advance(5000); // the next ping goes out
    await until(() => vpp.received.filter((r) => r.name === 'control_ping').length >= 2);
    clock.advance(10_000); // ... and times out
    await new Promise((r) => setTimeout(r, 20));
    clock.advance(1000); // sockclnt_delete gets no answer either
    await until(() => lost.length === 1);
    expect(lost[0]).toMatch(/stopped answering/);
    expect(conn.state).toBe('connecting');
    expect(conn.lastError).toMatch(/stopped answering/);
  });
});
