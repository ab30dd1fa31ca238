/**
 * RFC 9494 long-lived graceful restart in the agent (test/agent/harness.ts):
 * a neighbor's routes outlive its restart time as long-lived stale, stay in
 * the FIB, leave the neighbors without the capability, and go after the
 * long-lived stale time, or when the neighbor comes back without them.
 */
import { describe, expect, it } from 'vitest';
import { MessageType, type UpdateMessage } from '#bgp/wire/types';
import type { Negotiated } from '#bgp/session/index';
import { Rib } from '#bgp/rib/index';
import { ManualClock, type Clock } from '#lib/clock';
import { silentLogger } from '#lib/log';
import { LongLivedStale } from '#agent/long-lived';
import { config, harness, neighbor, announce, type Harness } from './harness.js';

const LLGR_STALE = 0xffff0006;
const NO_LLGR = 0xffff0007;
const BOTH = [
  { afi: 1, safi: 1 },
  { afi: 2, safi: 1 },
];

/** What a peer with graceful restart (restart time `restartTime`) and long-lived graceful restart (86400 s, F) negotiates. */
function llgr(restartTime = 120): Partial<Negotiated> {
  return {
    gracefulRestart: { restartTime, restartState: false, families: BOTH.map((f) => ({ ...f, forwardingState: true })) },
    longLived: BOTH.map((f) => ({ ...f, forwardingState: true, staleTime: 86400 })),
  };
}

const endOfRib: UpdateMessage = { type: MessageType.Update, withdrawn: [], attributes: {}, nlri: [] };

/** a: LLGR on our side (3600 s), sends 10.9.0.0/24 and 10.8.0.0/24; b: an established neighbor without LLGR. */
async function setup(restartTime = 120): Promise<Harness> {
  const h = await harness(config([neighbor('a', 1, { gracefulRestart: true, longLivedStaleTime: 3600 }), neighbor('b', 2)]));
  h.sessions.get('a')!.establish(llgr(restartTime));
  h.sessions.get('b')!.establish();
  h.sessions.get('a')!.update(announce(['10.9.0.0/24', '10.8.0.0/24']));
  await h.tick(100);
  return h;
}

function withdrawnTo(h: Harness, name: string): string[] {
  return h.sessions.get(name)!.updatesSent.flatMap((u) => u.withdrawn);
}

describe('Agent: RFC 9494 long-lived graceful restart, receiving speaker', () => {
  it('our capability: the stale time configured, with graceful restart', async () => {
    const h = await setup();
    expect(h.sessions.get('a')!.cfg.longLived).toEqual({ staleTime: 3600 });
    expect(h.sessions.get('b')!.cfg.longLived).toBeUndefined();
    const [a] = (await h.agent.neighbors()).filter((n) => n.name === 'a');
    expect(a!.session?.longLivedGracefulRestart).toEqual({
      families: [
        { family: 'ipv4-unicast', staleTime: 86400, forwardingState: true },
        { family: 'ipv6-unicast', staleTime: 86400, forwardingState: true },
      ],
    });
  });

  it('§4.2: stale for the restart time, then long-lived stale (kept in the FIB, withdrawn from b), removed after min(ours, theirs)', async () => {
    const h = await setup();
    h.sessions.get('a')!.lost();
    await h.tick(119_000);
    let [r] = await h.agent.routes('10.9.0.0/24');
    expect(r).toMatchObject({ neighbor: 'a', stale: 'graceful-restart', fib: true });
    expect(withdrawnTo(h, 'b')).toEqual([]);
    await h.tick(2_000);
    [r] = await h.agent.routes('10.9.0.0/24');
    expect(r).toMatchObject({ neighbor: 'a', stale: 'long-lived', fib: true });
    expect(r!.paths![0]!.communities).toContain('65535:6');
    expect(h.fib.table.has('10.9.0.0/24')).toBe(true);
    // §4.3: b did not negotiate the capability: the routes are withdrawn from it.
    expect(withdrawnTo(h, 'b').sort()).toEqual(['10.8.0.0/24', '10.9.0.0/24']);
    const [a] = (await h.agent.neighbors()).filter((n) => n.name === 'a');
    expect(a!.staleRoutes).toEqual({ routes: 2, longLived: [{ family: 'ipv4-unicast', routes: 2, secondsLeft: expect.any(Number) }] });
    // About 1 s of the harness's ticks has gone since the restart time ran out.
    expect(a!.staleRoutes!.longLived[0]!.secondsLeft).toBeGreaterThanOrEqual(3598);
    expect(a!.staleRoutes!.longLived[0]!.secondsLeft).toBeLessThanOrEqual(3600);
    // Our 3600 s caps the neighbor's 86400 s.
    await h.tick(3_590_000);
    expect(h.fib.table.has('10.9.0.0/24')).toBe(true);
    await h.tick(11_000);
    expect(h.fib.table.has('10.9.0.0/24')).toBe(false);
    expect(await h.agent.routes()).not.toContainEqual(expect.objectContaining({ prefix: '10.9.0.0/24' }));
    expect((await h.agent.neighbors()).find((n) => n.name === 'a')!.staleRoutes).toBeNull();
    // The neighbor can come back afterwards like any other.
    h.sessions.get('a')!.establish(llgr());
    h.sessions.get('a')!.update(announce(['10.9.0.0/24']));
    await h.tick(100);
    expect((await h.agent.routes('10.9.0.0/24'))[0]).toMatchObject({ neighbor: 'a', stale: null });
  });

  it('§4.2: the neighbor comes back in its long-lived stale time: what it sends again is fresh, its End-of-RIB removes the rest', async () => {
    const h = await setup();
    h.sessions.get('a')!.lost();
    await h.tick(121_000);
    h.sessions.get('a')!.establish(llgr());
    h.sessions.get('a')!.update(announce(['10.9.0.0/24']));
    await h.tick(100);
    expect((await h.agent.routes('10.9.0.0/24'))[0]).toMatchObject({ stale: null, fib: true });
    expect((await h.agent.routes('10.8.0.0/24'))[0]).toMatchObject({ stale: 'long-lived' });
    h.sessions.get('a')!.update(endOfRib);
    await h.tick(100);
    expect(h.fib.table.has('10.9.0.0/24')).toBe(true);
    expect(h.fib.table.has('10.8.0.0/24')).toBe(false);
    // The timer of the long-lived time was stopped: nothing happens when it would have run out.
    await h.tick(3_600_000);
    expect(h.fib.table.has('10.9.0.0/24')).toBe(true);
  });

  it('§4.2: back without F in its long-lived capability: the long-lived stale routes go at once', async () => {
    const h = await setup();
    h.sessions.get('a')!.lost();
    await h.tick(121_000);
    h.sessions.get('a')!.establish({ ...llgr(), longLived: BOTH.map((f) => ({ ...f, forwardingState: false, staleTime: 86400 })) });
    await h.tick(100);
    expect(h.fib.table.has('10.9.0.0/24')).toBe(false);
  });

  it('§4.2: restart time 0 and a silent neighbor (our Hold Timer Expired): long-lived stale at once; NO_LLGR routes go', async () => {
    const h = await setup(0);
    h.sessions.get('a')!.update({
      type: MessageType.Update,
      withdrawn: [],
      attributes: { origin: 0, asPath: [{ type: 2, asns: [65003] }], nextHop: '10.255.1.1', communities: [NO_LLGR] },
      nlri: ['10.7.0.0/24'],
    });
    await h.tick(100);
    h.sessions.get('a')!.lost({ notification: true, holdTimerExpired: true });
    await h.tick(100);
    expect((await h.agent.routes('10.9.0.0/24'))[0]).toMatchObject({ stale: 'long-lived', fib: true });
    expect(h.fib.table.has('10.7.0.0/24')).toBe(false);
  });

  it('a silent neighbor (our Hold Timer Expired) is not restarting: its routes go long-lived stale at once, not after its restart time', async () => {
    const h = await setup(120);
    h.sessions.get('a')!.lost({ notification: true, holdTimerExpired: true });
    await h.tick(100);
    expect((await h.agent.routes('10.9.0.0/24'))[0]).toMatchObject({ stale: 'long-lived', fib: true });
    // Without long-lived graceful restart, a Hold Timer Expired still withdraws at once (RFC 4724 §4.2).
    const plain = await harness(config([neighbor('a', 1, { gracefulRestart: true }), neighbor('b', 2)]));
    plain.sessions.get('a')!.establish(llgr(120));
    plain.sessions.get('a')!.update(announce(['10.9.0.0/24']));
    await plain.tick(100);
    plain.sessions.get('a')!.lost({ notification: true, holdTimerExpired: true });
    await plain.tick(100);
    expect(plain.fib.table.has('10.9.0.0/24')).toBe(false);
  });

  it('a NOTIFICATION from the neighbor (it meant it): its routes go at once, long-lived or not', async () => {
    const h = await setup();
    h.sessions.get('a')!.received(6, 2, new Uint8Array(0), 'Cease/Administrative Shutdown');
    await h.tick(100);
    expect(h.fib.table.has('10.9.0.0/24')).toBe(false);
  });

  it('off on our side (long-lived-stale-time 0): the routes go when the restart time runs out', async () => {
    const h = await harness(config([neighbor('a', 1, { gracefulRestart: true }), neighbor('b', 2)]));
    expect(h.sessions.get('a')!.cfg.longLived).toBeUndefined();
    h.sessions.get('a')!.establish(llgr());
    h.sessions.get('a')!.update(announce(['10.9.0.0/24']));
    await h.tick(100);
    h.sessions.get('a')!.lost();
    await h.tick(121_000);
    expect(h.fib.table.has('10.9.0.0/24')).toBe(false);
  });

  it('a long-lived stale route of a is sent to a neighbor with the capability, with LLGR_STALE', async () => {
    const h = await harness(config([neighbor('a', 1, { gracefulRestart: true, longLivedStaleTime: 3600 }), neighbor('c', 3, { gracefulRestart: true, longLivedStaleTime: 3600 })]));
    h.sessions.get('a')!.establish(llgr());
    h.sessions.get('c')!.establish(llgr());
    h.sessions.get('a')!.update(announce(['10.9.0.0/24']));
    await h.tick(100);
    h.sessions.get('a')!.lost();
    await h.tick(121_000);
    const toC = h.sessions.get('c')!.updatesSent.filter((u) => u.nlri.includes('10.9.0.0/24'));
    expect(toC.at(-1)!.attributes.communities).toContain(LLGR_STALE);
    expect(h.sessions.get('c')!.updatesSent.flatMap((u) => u.withdrawn)).not.toContain('10.9.0.0/24');
  });
});

describe('LongLivedStale: timers', () => {
  it('a long-lived stale time beyond what one Node.js timer can wait (2^31 - 1 ms, 24.8 days) is waited in steps, in full', () => {
    const manual = new ManualClock();
    const asked: number[] = [];
    const clock: Clock = { now: () => manual.now(), wallNow: () => manual.wallNow(), setTimeout: (fn, ms) => (asked.push(ms), manual.setTimeout(fn, ms)) };
    const rib = new Rib({ asn: 65001, routerId: '192.0.2.1' });
    rib.addPeer({ id: 'a', asn: 65002, routerId: '192.0.2.2', address: '10.255.1.1', localAddressV4: '10.255.1.0', localAddressV6: null, localLinkLocal: null, families: BOTH, extendedNextHop: false });
    rib.applyUpdate('a', announce(['10.9.0.0/24']));
    rib.retainStale('a');
    const withdrawn: string[] = [];
    const ll = new LongLivedStale({ rib, clock, log: silentLogger(), queue: () => undefined, withdraw: (n) => withdrawn.push(n), away: () => true });
    const days194 = 0xffffff;
    expect(ll.begin('a', [{ afi: 1, safi: 1, staleTime: days194 }])).toBe(true);
    manual.advance(100 * 86_400_000);
    expect(withdrawn).toEqual([]);
    expect(ll.remaining('a', 1)).toBe(days194 - 100 * 86_400);
    manual.advance(days194 * 1000 - 100 * 86_400_000 - 1);
    expect(withdrawn).toEqual([]);
    manual.advance(1);
    expect(withdrawn).toEqual(['a']);
    expect(Math.max(...asked)).toBeLessThanOrEqual(0x7fffffff);
  });
});
