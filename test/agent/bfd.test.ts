/**
 * Liveness at the agent (issue 12): BFD Up -> Down takes the Established
 * session down with Cease/BFD Down (RFC 9384) and its routes out of the FIB;
 * the peer's AdminDown does not (RFC 5882 §3.2); a BFD session that never
 * came up blocks nothing; a reload changes BFD without touching the session;
 * the handshake age is shown in `tunnels` and takes a neighbor without BFD
 * down, with the injected clock.
 */
import { describe, expect, it } from 'vitest';
import type { BfdLink, BfdLinkFactory } from '#agent/bfd';
import { HANDSHAKE_DEAD_AFTER_S, Liveness, handshakeDeadAfter, handshakeLiveness } from '#agent/bfd';
import type { BfdPeerSpec, BfdStatus } from '#bfd/engine';
import type { BfdStateName } from '#bfd/codec';
import type { TunnelSpec, TunnelStatus } from '#wg/types';
import type { WatchEvent } from '#api/types';
import { ManualClock } from '#lib/clock';
import { silentLogger } from '#lib/log';
import { FakeWireguard, announce, config, harness, neighbor } from './harness.js';

/** BFD as the agent sees it, played by the test. */
class FakeBfd implements BfdLink {
  wanted: BfdPeerSpec[] = [];
  sets = 0;
  closed = false;
  readonly statuses = new Map<string, BfdStatus>();
  constructor(private readonly onStatus: (s: BfdStatus) => void) {}
  async set(wanted: BfdPeerSpec[]): Promise<void> {
    this.wanted = wanted;
    this.sets++;
  }
  status(name: string): BfdStatus | null {
    return this.statuses.get(name) ?? null;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  /** The session of `name` changes state. */
  move(name: string, from: BfdStateName, to: BfdStateName, remoteState: BfdStateName, reason = 'control detection time expired'): void {
    const s: BfdStatus = {
      name,
      state: to,
      remoteState,
      localDiscriminator: 7,
      remoteDiscriminator: to === 'Up' ? 9 : 0,
      txIntervalMs: to === 'Up' ? 300 : 1000,
      detectionTimeMs: to === 'Up' ? 900 : 0,
      lastDownReason: to === 'Up' ? null : reason,
      since: Date.parse('2026-01-01T00:00:05Z'),
      error: null,
    };
    this.statuses.set(name, s);
    this.onStatus({ ...s, change: { from, to, reason } });
  }
}

function fakeBfd(): { factory: BfdLinkFactory; get: () => FakeBfd } {
  let made: FakeBfd | null = null;
  return {
    factory: (o) => (made = new FakeBfd(o.onStatus)),
    get: () => {
      if (!made) throw new Error('no BFD link made');
      return made;
    },
  };
}

const withBfd = (name: string, i: number) => ({ ...neighbor(name, i), bfd: { minRx: 300, minTx: 300, multiplier: 3 } });

describe('Agent: BFD (RFC 5880/5881) takes the session down', () => {
  it('one BFD session per neighbor with bfd, between the BGP session addresses, timers in microseconds', async () => {
    const bfd = fakeBfd();
    const h = await harness(config([withBfd('b', 1), neighbor('c', 2)]), undefined, { bfd: bfd.factory });
    expect(bfd.get().wanted).toEqual([
      { name: 'b', interface: 'wg-b', local: '10.255.1.0', remote: '10.255.1.1', timers: { desiredMinTx: 300_000, requiredMinRx: 300_000, detectMult: 3 } },
    ]);
    // Not up yet: BGP is not held back (as BIRD and FRR).
    expect(h.sessions.get('b')!.starts).toBe(1);
    expect(h.agent.neighbors().map((n) => [n.name, n.bfd?.state ?? null])).toEqual([
      ['b', 'Down'],
      ['c', null],
    ]);
    await h.agent.stop();
    expect(bfd.get().closed).toBe(true);
  });

  it('Up -> Down (detection time): Cease subcode 10 BFD Down (RFC 9384), routes out of the FIB, the session starts again', async () => {
    const bfd = fakeBfd();
    const h = await harness(config([withBfd('b', 1)]), undefined, { bfd: bfd.factory });
    const s = h.sessions.get('b')!;
    s.establish();
    s.update(announce(['10.2.0.0/24']));
    bfd.get().move('b', 'Init', 'Up', 'Up');
    await h.tick(1_000);
    expect(h.fib.table.has('10.2.0.0/24')).toBe(true);
    expect(h.agent.neighbors()[0]!.bfd).toMatchObject({ state: 'Up', remoteDiscriminator: 9, txIntervalMs: 300, detectionTimeMs: 900, lastDownReason: null });

    const events: WatchEvent[] = [];
    const unwatch = h.agent.telemetry.watch((e) => events.push(e));
    bfd.get().move('b', 'Up', 'Down', 'Up');
    unwatch();
    expect(events).toContainEqual(expect.objectContaining({ type: 'bfd', neighbor: 'b', from: 'Up', to: 'Down', reason: 'control detection time expired', remoteState: 'Up' }));
    expect(s.ceases).toEqual([{ subcode: 10, data: new Uint8Array(0) }]);
    expect(s.starts).toBe(2);
    await h.tick(1_000);
    expect(h.fib.table.has('10.2.0.0/24')).toBe(false);
    expect(h.agent.neighbors()[0]!.bfd).toMatchObject({ state: 'Down', remoteDiscriminator: null, lastDownReason: 'control detection time expired' });
    await h.agent.stop();
  });

  it('RFC 5882 §3.2: the peer going AdminDown is not a path failure: BGP stays', async () => {
    const bfd = fakeBfd();
    const h = await harness(config([withBfd('b', 1)]), undefined, { bfd: bfd.factory });
    const s = h.sessions.get('b')!;
    s.establish();
    bfd.get().move('b', 'Init', 'Up', 'Up');
    bfd.get().move('b', 'Up', 'Down', 'AdminDown', 'neighbor signaled session down');
    expect(s.ceases).toEqual([]);
    expect(s.state).toBe('Established');
    await h.agent.stop();
  });

  it('BFD going down while BGP is not Established changes nothing', async () => {
    const bfd = fakeBfd();
    const h = await harness(config([withBfd('b', 1)]), undefined, { bfd: bfd.factory });
    bfd.get().move('b', 'Init', 'Up', 'Up');
    bfd.get().move('b', 'Up', 'Down', 'Up');
    expect(h.sessions.get('b')!.ceases).toEqual([]);
    await h.agent.stop();
  });

  it('reload: new BFD timers and BFD switched on/off reach BFD only; the BGP session and other neighbors stay', async () => {
    const bfd = fakeBfd();
    // One neighbor object each: a neighbor() call makes a new key, which is a changed neighbor.
    const nb = neighbor('b', 1);
    const nc = neighbor('c', 2);
    const on = { minRx: 300, minTx: 300, multiplier: 3 };
    const h = await harness(config([{ ...nb, bfd: on }, nc]), undefined, { bfd: bfd.factory });
    const b = h.sessions.get('b')!;
    const c = h.sessions.get('c')!;
    b.establish();
    c.establish();
    h.next.config = config([{ ...nb, bfd: { minRx: 100, minTx: 100, multiplier: 5 } }, { ...nc, bfd: on }]);
    const r = await h.agent.reload();
    expect(r).toMatchObject({ ok: true, added: [], removed: [], changed: [] });
    expect(bfd.get().wanted.map((w) => [w.name, w.timers])).toEqual([
      ['b', { desiredMinTx: 100_000, requiredMinRx: 100_000, detectMult: 5 }],
      ['c', { desiredMinTx: 300_000, requiredMinRx: 300_000, detectMult: 3 }],
    ]);
    expect(h.sessions.get('b')).toBe(b);
    expect(h.sessions.get('c')).toBe(c);
    expect([b.state, c.state, b.ceases.length, c.ceases.length]).toEqual(['Established', 'Established', 0, 0]);
    h.next.config = config([nb, { ...nc, bfd: on }]);
    expect(await h.agent.reload()).toMatchObject({ ok: true, changed: [] });
    expect(bfd.get().wanted.map((w) => w.name)).toEqual(['c']);
    expect(h.agent.neighbors()[0]!.bfd).toBeNull();
    await h.agent.stop();
  });
});

/** wireguard-go as the fake, with a handshake time the test sets. */
class HandshakeWireguard extends FakeWireguard {
  latest: Date | null = null;
  override async status(spec: TunnelSpec): Promise<TunnelStatus | null> {
    const st = await super.status(spec);
    return st && { ...st, latestHandshake: this.latest };
  }
}

describe('handshake age as a liveness signal', () => {
  it(`the rule: alive while the latest handshake is at most ${HANDSHAKE_DEAD_AFTER_S} s old (WireGuard REJECT_AFTER_TIME 180 s + 10 s) with keepalives up to 60 s apart`, () => {
    const now = new Date('2026-01-01T00:10:00Z');
    const ago = (s: number) => new Date(now.getTime() - s * 1000);
    expect(handshakeLiveness(null, now)).toEqual({ alive: false, reason: 'no handshake yet' });
    expect(handshakeLiveness(ago(0), now).alive).toBe(true);
    expect(handshakeLiveness(ago(190), now, 30).alive).toBe(true);
    expect(handshakeLiveness(ago(191), now, 30)).toEqual({ alive: false, reason: 'latest handshake 191 s ago (more than 190 s)' });
    expect(handshakeDeadAfter(60)).toBe(190);
  });

  it('keepalives rarer than 60 s: a live tunnel handshakes at the first packet after REKEY_AFTER_TIME (120 s), so the limit is 120 s + the interval + 10 s', () => {
    const now = new Date('2026-01-01T00:10:00Z');
    const ago = (s: number) => new Date(now.getTime() - s * 1000);
    // Hold time 600 s: keepalives every 200 s.
    expect(handshakeDeadAfter(200)).toBe(330);
    expect(handshakeLiveness(ago(320), now, 200).alive).toBe(true);
    expect(handshakeLiveness(ago(331), now, 200).alive).toBe(false);
  });

  it('a neighbor without BFD: a tunnel that stops handshaking is shown dead and its session is reset once, with the reason', async () => {
    const wg = new HandshakeWireguard();
    const h = await harness(config([neighbor('b', 1)]), undefined, { wireguard: wg });
    const s = h.sessions.get('b')!;
    wg.latest = h.clock.wallNow();
    s.establish();
    s.update(announce(['10.2.0.0/24']));
    await h.tick(2_000);
    expect((await h.agent.tunnels())[0]).toMatchObject({ alive: true, aliveReason: null, bfd: null });
    expect(h.fib.table.has('10.2.0.0/24')).toBe(true);

    await h.tick(170_000);
    expect(s.ceases).toEqual([]);
    await h.tick(25_000);
    const t = (await h.agent.tunnels())[0]!;
    expect(t).toMatchObject({ alive: false, aliveReason: expect.stringMatching(/^latest handshake 19\d s ago/) });
    expect(s.ceases.map((c) => [c.subcode, Buffer.from(c.data.subarray(1)).toString()])).toEqual([[4, expect.stringMatching(/^tunnel dead: latest handshake/)]]);
    await h.tick(1_000);
    expect(h.fib.table.has('10.2.0.0/24')).toBe(false);
    // Once per outage: further polls while it stays dead do nothing more.
    s.establish();
    await h.tick(4_000);
    expect(s.ceases).toHaveLength(1);
    // A new handshake: alive again, and the next outage counts again.
    wg.latest = h.clock.wallNow();
    await h.tick(2_000);
    expect((await h.agent.tunnels())[0]!.alive).toBe(true);
    await h.agent.stop();
  });

  it('an idle tunnel (hold time 0, no persistent keepalive) stops handshaking while alive: the age says nothing, no reset', async () => {
    const wg = new HandshakeWireguard();
    const h = await harness(config([neighbor('b', 1, { holdTime: 0 })]), undefined, { wireguard: wg });
    const s = h.sessions.get('b')!;
    wg.latest = h.clock.wallNow();
    // RFC 4271 §4.2: the session runs with the smaller hold time, 0 here: no keepalives.
    s.establish({ holdTime: 0, keepaliveTime: 0 });
    await h.tick(200_000);
    expect((await h.agent.tunnels())[0]).toMatchObject({ alive: null, aliveReason: expect.stringMatching(/^idle tunnel/) });
    expect(s.ceases).toEqual([]);
    await h.agent.stop();
  });

  it('a neighbor with BFD: the handshake age is shown but BFD decides', async () => {
    const wg = new HandshakeWireguard();
    const bfd = fakeBfd();
    const h = await harness(config([withBfd('b', 1)]), undefined, { wireguard: wg, bfd: bfd.factory });
    const s = h.sessions.get('b')!;
    wg.latest = h.clock.wallNow();
    s.establish();
    await h.tick(200_000);
    expect((await h.agent.tunnels())[0]).toMatchObject({ alive: false, bfd: 'Down' });
    expect(s.ceases).toEqual([]);
    await h.agent.stop();
  });
});

describe('Liveness: the BFD link is made on first use (the module loads then, realBfd is asynchronous)', () => {
  const clock = new ManualClock(new Date('2026-01-01T00:00:00Z'));
  const log = silentLogger();
  const peer = { cfg: withBfd('b', 1), device: 'wg-b', local: '10.255.0.0', remote: '10.255.0.1' };
  const deps = (factory: BfdLinkFactory) => ({ clock, log, factory, onBfdDown: () => undefined, onHandshakeDead: () => undefined });
  /** An asynchronous factory the test releases. */
  function gated(): { factory: BfdLinkFactory; made: FakeBfd[]; calls: () => number; release: () => void; fail: (e: Error) => void } {
    const made: FakeBfd[] = [];
    let calls = 0;
    let release = (): void => undefined;
    let fail = (_e: Error): void => undefined;
    return {
      made,
      calls: () => calls,
      release: () => release(),
      fail: (e) => fail(e),
      factory: (o) => {
        calls++;
        return new Promise<BfdLink>((resolve, reject) => {
          release = () => {
            const l = new FakeBfd(o.onStatus);
            made.push(l);
            resolve(l);
          };
          fail = reject;
        });
      },
    };
  }

  it('no neighbor with BFD: nothing is made (nothing loaded)', async () => {
    const g = gated();
    const l = new Liveness(deps(g.factory));
    await l.sync([{ ...peer, cfg: neighbor('b', 1) }]);
    expect(g.calls()).toBe(0);
  });

  it('two syncs while the link is being made share it, and the last one wanted is what is set', async () => {
    const g = gated();
    const l = new Liveness(deps(g.factory));
    const first = l.sync([peer]);
    const second = l.sync([peer, { ...peer, cfg: withBfd('c', 2), device: 'wg-c' }]);
    g.release();
    await Promise.all([first, second]);
    expect(g.calls()).toBe(1);
    expect(g.made).toHaveLength(1);
    expect(g.made[0]!.wanted.map((w) => w.name).sort()).toEqual(['b', 'c']);
    expect(l.bfdJson('c')).not.toBeNull();
  });

  it('closed while the link is being made: the link is closed when it arrives, and a later sync makes a new one', async () => {
    const g = gated();
    const l = new Liveness(deps(g.factory));
    const syncing = l.sync([peer]);
    await l.close();
    g.release();
    await syncing;
    expect(g.made[0]!.closed).toBe(true);
    expect(g.made[0]!.sets).toBe(0);
    const again = l.sync([peer]);
    g.release();
    await again;
    expect(g.calls()).toBe(2);
    expect(g.made[1]!.sets).toBe(1);
  });

  it('a link that could not be made is tried again by the next sync', async () => {
    const g = gated();
    const l = new Liveness(deps(g.factory));
    const failing = l.sync([peer]);
    g.fail(new Error('cannot load'));
    await expect(failing).rejects.toThrow('cannot load');
    const again = l.sync([peer]);
    g.release();
    await again;
    expect(g.calls()).toBe(2);
    expect(g.made[0]!.sets).toBe(1);
  });
});
