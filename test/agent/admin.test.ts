/**
 * `wgbgp neighbor NAME shutdown|enable|reset` at the agent: the Cease each
 * one sends (RFC 4486 subcodes 2 and 4, with the RFC 9003 communication),
 * the session held down until enable (across a reload too), and what
 * `neighbors --json` shows of it and of a communication the peer sent.
 */
import { describe, expect, it } from 'vitest';
import { encodeShutdownCommunication } from '#bgp/session/index';
import { announce, config, harness, neighbor } from './harness.js';

function text(data: Uint8Array): string {
  return Buffer.from(data.subarray(1)).toString('utf8');
}

describe('Agent: administrative shutdown (RFC 4486 Cease/Administrative Shutdown, RFC 9003)', () => {
  it('shutdown sends the communication, withdraws the routes, keeps the session down and shows it; the neighbor is not "down" in status', async () => {
    const h = await harness(config([neighbor('b', 1), neighbor('c', 2)]));
    const s = h.sessions.get('b')!;
    s.establish();
    s.update(announce(['10.2.0.0/24']));
    await h.tick(1_000);
    expect(h.agent.neighbors()[0]).toMatchObject({ prefixesAccepted: 1, adminShutdown: null, lastNotification: null });

    const r = await h.agent.neighborAction('b', 'shutdown', 'moving to new hardware ✓');
    expect(r).toEqual({ name: 'b', action: 'shutdown', changed: true, state: 'Idle' });
    expect(s.ceases.map((c) => [c.subcode, text(c.data)])).toEqual([[2, 'moving to new hardware ✓']]);
    await h.tick(1_000);
    expect(h.fib.table.has('10.2.0.0/24')).toBe(false);
    const b = h.agent.neighbors()[0]!;
    expect(b).toMatchObject({
      state: 'Idle',
      prefixesAccepted: 0,
      adminShutdown: { message: 'moving to new hardware ✓', since: '2026-01-01T00:00:01.040Z' },
      lastNotification: { direction: 'sent', code: 6, subcode: 2, text: '6/2 Administrative Shutdown: "moving to new hardware ✓"', communication: 'moving to new hardware ✓' },
    });
    // c (never up) is down; b is down on purpose.
    expect(h.agent.status().neighbors).toEqual({ total: 2, established: 0, down: 1 });
    // A second shutdown changes nothing and sends nothing.
    expect(await h.agent.neighborAction('b', 'shutdown', 'again')).toMatchObject({ changed: false });
    expect(s.ceases).toHaveLength(1);
    await h.agent.stop();
  });

  it('the shutdown outlasts a reload that rebuilds the neighbor; enable starts the new session, once', async () => {
    const h = await harness(config([neighbor('b', 1)]));
    h.sessions.get('b')!.establish();
    await h.agent.neighborAction('b', 'shutdown');
    expect(h.sessions.get('b')!.ceases).toEqual([{ subcode: 2, data: new Uint8Array(0) }]);
    h.next.config = config([neighbor('b', 1, { holdTime: 30 })]);
    const reload = await h.agent.reload();
    expect(reload.changed).toEqual(['b']);
    const rebuilt = h.sessions.get('b')!;
    expect(rebuilt.starts).toBe(0);
    expect(h.agent.neighbors()[0]).toMatchObject({ state: 'Idle', adminShutdown: { message: null } });

    expect(await h.agent.neighborAction('b', 'enable')).toEqual({ name: 'b', action: 'enable', changed: true, state: 'Connect' });
    expect(rebuilt.starts).toBe(1);
    expect(h.agent.neighbors()[0]?.adminShutdown).toBeNull();
    expect(await h.agent.neighborAction('b', 'enable')).toMatchObject({ changed: false });
    expect(rebuilt.starts).toBe(1);
    await h.agent.stop();
  });

  it('RFC 4486 subcode 4: reset sends Cease/Administrative Reset with the communication; refused while shut down', async () => {
    const h = await harness(config([neighbor('b', 1)]));
    const s = h.sessions.get('b')!;
    s.establish();
    expect(await h.agent.neighborAction('b', 'reset', 'new policy')).toMatchObject({ action: 'reset', changed: true });
    expect(s.ceases.map((c) => [c.subcode, text(c.data)])).toEqual([[4, 'new policy']]);
    await h.agent.neighborAction('b', 'shutdown');
    await expect(h.agent.neighborAction('b', 'reset')).rejects.toThrow('neighbor b is shut down: enable it instead');
    await h.agent.stop();
  });

  it('RFC 9003 §2: a message over 255 octets is refused before anything is sent; an unknown neighbor is named', async () => {
    const h = await harness(config([neighbor('b', 1)]));
    await expect(h.agent.neighborAction('b', 'shutdown', 'é'.repeat(128))).rejects.toThrow(
      'the message is 256 octets of UTF-8; RFC 9003 §2 allows at most 255',
    );
    expect(h.sessions.get('b')!.ceases).toEqual([]);
    expect(h.agent.neighbors()[0]?.adminShutdown).toBeNull();
    await expect(h.agent.neighborAction('x', 'shutdown')).rejects.toThrow('no BGP neighbor named "x"');
    await h.agent.stop();
  });

  it("RFC 9003 §2: the peer's shutdown communication is shown in neighbors, and stays after its retries replace lastError", async () => {
    const h = await harness(config([neighbor('b', 1)]));
    const s = h.sessions.get('b')!;
    s.establish();
    await h.tick(5_000);
    s.received(6, 2, encodeShutdownCommunication('upgrading to BIRD 3'), '6/2 Administrative Shutdown: "upgrading to BIRD 3"');
    s.lastError = 'TCP: connect ECONNREFUSED 10.255.1.1:179';
    expect(h.agent.neighbors()[0]).toMatchObject({
      lastError: 'TCP: connect ECONNREFUSED 10.255.1.1:179',
      adminShutdown: null,
      lastNotification: {
        direction: 'received',
        code: 6,
        subcode: 2,
        communication: 'upgrading to BIRD 3',
        at: '2026-01-01T00:00:05.040Z',
      },
    });
    await h.agent.stop();
  });
});
