/**
 * The BFD shell on real sockets, two engines in this process over the
 * loopback interface (no namespaces): they come Up (RFC 5880 three-way
 * handshake, then the Poll Sequence to 50 ms); RFC 5881 §5 drops a packet
 * with TTL 64; a packet from another address is not the session's
 * (design.md "Identity"); AdminDown from the peer (its session removed) takes
 * ours Down with the peer's state shown. Then the service's worker thread
 * (dist/, built by `npm test`): it comes up at nice -10 and is started again,
 * with its sessions, when it dies.
 */
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { BfdDiag, BfdState, encodeControl } from '../../src/bfd/codec.js';
import { BfdEngine, type BfdPeerSpec, type BfdStatus } from '../../src/bfd/engine.js';

const root = process.getuid?.() === 0;
const FAST = { desiredMinTx: 50_000, requiredMinRx: 50_000, detectMult: 3 };
/** The defaults, 900 ms detection: where a session must stay Up, a busy moment of this thread (a loaded box) cannot take it down. */
const DEFAULT = { desiredMinTx: 300_000, requiredMinRx: 300_000, detectMult: 3 };

function spec(name: string, local: string, remote: string, timers: BfdPeerSpec['timers'] = FAST): BfdPeerSpec {
  return { name, interface: 'lo', local, remote, timers };
}

async function until<T>(what: string, fn: () => T | null | undefined | false, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A UDP packet from `from` to 127.0.0.1:`port` with `ttl`. */
async function send(packet: Buffer, from: string, port: number, ttl: number): Promise<void> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, from, () => r()));
  s.setTTL(ttl);
  await new Promise<void>((r, j) => s.send(packet, port, '127.0.0.1', (err) => (err ? j(err) : r())));
  s.close();
}

describe.skipIf(!root)('BFD engine on loopback sockets', () => {
  const engines: BfdEngine[] = [];
  afterEach(() => {
    for (const e of engines.splice(0)) e.close();
  });

  function pair(timers = FAST): { a: BfdEngine; b: BfdEngine; portA: number; last: Map<string, BfdStatus> } {
    const portA = 40_000 + Math.floor(Math.random() * 10_000);
    const portB = portA + 1;
    const last = new Map<string, BfdStatus>();
    const onStatus = (who: string) => (s: BfdStatus) => last.set(`${who}:${s.name}`, s);
    const a = new BfdEngine({ port: portA, peerPort: portB, onStatus: onStatus('a'), onLog: () => undefined });
    const b = new BfdEngine({ port: portB, peerPort: portA, onStatus: onStatus('b'), onLog: () => undefined });
    engines.push(a, b);
    a.add(spec('to-b', '127.0.0.1', '127.0.0.2', timers));
    b.add(spec('to-a', '127.0.0.2', '127.0.0.1', timers));
    return { a, b, portA, last };
  }

  it('two sessions come Up and settle on 50 ms after the Poll Sequence, each knowing the other\'s discriminator', async () => {
    const { a, last } = pair();
    // a's 50 ms out applies as it comes Up (a shorter interval needs no Final, RFC 5880 §6.8.3), on b's Init if
    // b went first; b's Up and 50 ms reach it a packet later. Settled on both ends is this:
    await until('both Up at 50 ms × 3', () => {
      const s = last.get('a:to-b');
      return s?.remoteState === 'Up' && s.txIntervalMs === 50 && s.detectionTimeMs === 150 && last.get('b:to-a')?.state === 'Up';
    });
    const s = a.status('to-b')!;
    expect(s).toMatchObject({ state: 'Up', remoteState: 'Up', detectionTimeMs: 150, error: null });
    expect(s.remoteDiscriminator).toBe(last.get('b:to-a')!.localDiscriminator);
  });

  it('RFC 5881 §5: TTL 64 is dropped before anything else; TTL 255 from another address is not the session', async () => {
    const { a, portA, last } = pair(DEFAULT);
    await until('Up', () => a.status('to-b')?.state === 'Up');
    const mine = a.status('to-b')!.localDiscriminator;
    const theirs = last.get('b:to-a')!.localDiscriminator;
    const down = encodeControl({
      diag: BfdDiag.None, state: BfdState.Down, poll: false, final: false, cpi: false, auth: false, demand: false,
      detectMult: 3, myDiscriminator: theirs, yourDiscriminator: mine, desiredMinTx: 1_000_000, requiredMinRx: 1_000_000, requiredMinEchoRx: 0,
    });
    await send(down, '127.0.0.2', portA, 64);
    await until('the TTL drop counted', () => (a.dropped.ttl ?? 0) > 0);
    await send(down, '127.0.0.3', portA, 255);
    await until('the wrong-path drop counted', () => (a.dropped['wrong-path'] ?? 0) > 0);
    await new Promise((r) => setTimeout(r, 100));
    expect(a.status('to-b')?.state).toBe('Up');
    // The same packet from the peer's address with TTL 255 is taken: the checks above are what stopped it.
    await send(down, '127.0.0.2', portA, 255);
    await until('Down by the forged packet', () => a.status('to-b')?.lastDownReason === 'neighbor signaled session down');
  });

  it("what a packet changes without a change of our state (the peer's state, its timers) is reported at once, not at our next transmission", async () => {
    const port = 40_000 + Math.floor(Math.random() * 10_000);
    let reported: BfdStatus | undefined;
    // Our transmit timer 1 s away (not Up) or 750–1000 ms (slow timers when Up): a report due to it comes late.
    const slow = { desiredMinTx: 1_000_000, requiredMinRx: 300_000, detectMult: 3 };
    const a = new BfdEngine({ port, peerPort: port + 1, onStatus: (s) => (reported = s), onLog: () => undefined });
    engines.push(a);
    a.add({ ...spec('to-b', '127.0.0.1', '127.0.0.2'), timers: slow });
    const mine = a.status('to-b')!.localDiscriminator;
    const from = (state: BfdState, desiredMinTx: number): Buffer =>
      encodeControl({
        diag: BfdDiag.None, state, poll: false, final: false, cpi: false, auth: false, demand: false,
        detectMult: 3, myDiscriminator: 777, yourDiscriminator: state === BfdState.Down ? 0 : mine, desiredMinTx, requiredMinRx: 300_000, requiredMinEchoRx: 0,
      });
    await send(from(BfdState.Down, 1_000_000), '127.0.0.2', port, 255);
    await until('Init', () => reported?.state === 'Init');
    // The peer Init (1 s while not Up, RFC 5880 §6.8.3): ours Up, its detection time 3 × 1 s.
    await send(from(BfdState.Init, 1_000_000), '127.0.0.2', port, 255);
    await until('Up', () => reported?.state === 'Up');
    expect(reported).toMatchObject({ remoteState: 'Init', detectionTimeMs: 3000 });
    // The peer Up at 300 ms: our state stays Up; the status says so as soon as the engine knows.
    await send(from(BfdState.Up, 300_000), '127.0.0.2', port, 255);
    await until('the peer Up, seen by the engine', () => a.status('to-b')?.remoteState === 'Up');
    expect(reported).toMatchObject({ state: 'Up', remoteState: 'Up', detectionTimeMs: 900 });
  });

  it("the peer's session removed: its AdminDown takes ours Down, and says so (RFC 5880 §6.8.16)", async () => {
    const { a, b } = pair(DEFAULT);
    await until('Up', () => a.status('to-b')?.state === 'Up');
    b.remove('to-a');
    await until('Down', () => a.status('to-b')?.state === 'Down');
    expect(a.status('to-b')).toMatchObject({ remoteState: 'AdminDown', lastDownReason: 'neighbor signaled session down' });
  });
});

describe.skipIf(!root)('BFD engine: 100 sessions', () => {
  it('100 sessions at 300 ms × 3 come Up and stay Up for 5 s; the CPU they take is printed', async () => {
    const N = 100;
    const portA = 30_000 + Math.floor(Math.random() * 10_000);
    const downs: string[] = [];
    const onStatus = (s: BfdStatus): void => {
      if (s.change?.from === 'Up') downs.push(`${s.name}: ${s.change.reason}`);
    };
    const a = new BfdEngine({ port: portA, peerPort: portA + 1, onStatus, onLog: () => undefined });
    const b = new BfdEngine({ port: portA + 1, peerPort: portA, onStatus, onLog: () => undefined });
    const timers = { desiredMinTx: 300_000, requiredMinRx: 300_000, detectMult: 3 };
    try {
      for (let i = 1; i <= N; i++) {
        a.add({ name: `s${i}`, interface: 'lo', local: `127.1.0.${i}`, remote: `127.2.0.${i}`, timers });
        b.add({ name: `s${i}`, interface: 'lo', local: `127.2.0.${i}`, remote: `127.1.0.${i}`, timers });
      }
      const allUp = (): boolean => Array.from({ length: N }, (_, i) => a.status(`s${i + 1}`)?.txIntervalMs === 300 && b.status(`s${i + 1}`)?.state === 'Up').every(Boolean);
      await until('all 100 Up at 300 ms', allUp, 20_000);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, 5_000));
      const cpu = process.cpuUsage(cpu0);
      const wall = performance.now() - t0;
      console.log(
        `bfd/engine: ${2 * N} sessions (both ends in this process) at 300 ms: CPU ${((cpu.user + cpu.system) / 1000 / (wall / 1000)).toFixed(1)} ms per s ` +
          `(${(((cpu.user + cpu.system) / 1000 / (wall / 1000)) / (2 * N) * 1000).toFixed(0)} µs per session per s)`,
      );
      expect(downs).toEqual([]);
      expect(allUp()).toBe(true);
    } finally {
      a.close();
      b.close();
    }
  }, 40_000);
});

const DIST = new URL('../../dist/bfd/service.js', import.meta.url);

describe.skipIf(!root || !existsSync(DIST))('BFD service: the worker thread (dist/)', () => {
  it('runs the sessions in a worker at nice -10; each time it fails it is started again with its sessions, and packets arriving as it fails do not bring the process down', async () => {
    const { BfdService } = (await import(DIST.href)) as typeof import('../../src/bfd/service.js');
    const portA = 50_000 + Math.floor(Math.random() * 10_000);
    const portB = portA + 1;
    const seen = new Map<string, BfdStatus>();
    const logs: string[] = [];
    const svc = new BfdService({ port: portA, peerPort: portB, restartMs: 20, onStatus: (s) => seen.set(s.name, s), onLog: (l) => logs.push(l.msg) });
    // The peer runs on this thread.
    const peer = new BfdEngine({ port: portB, peerPort: portA, onStatus: () => undefined, onLog: () => undefined });
    // Packets at the worker's receiving socket all the time (from an address no session has: dropped), so
    // that some are arriving whenever it fails. A thread stopped with its sockets' poll handles open took
    // the whole process down in that moment ("napi_throw" fatal error, src/bfd/worker.ts).
    const flood = createSocket('udp4');
    await new Promise<void>((r) => flood.bind(0, '127.0.0.3', () => r()));
    flood.setTTL(255);
    const junk = encodeControl({
      diag: BfdDiag.None, state: BfdState.Down, poll: false, final: false, cpi: false, auth: false, demand: false,
      detectMult: 3, myDiscriminator: 1, yourDiscriminator: 0, desiredMinTx: 1_000_000, requiredMinRx: 1_000_000, requiredMinEchoRx: 0,
    });
    let flooding = true;
    const flooded = (async () => {
      while (flooding) {
        for (let k = 0; k < 20; k++) flood.send(junk, portA, '127.0.0.1');
        await new Promise((r) => setImmediate(r));
      }
    })();
    const CRASHES = 30;
    try {
      expect(svc.threaded).toBe(true);
      peer.add(spec('to-a', '127.0.0.2', '127.0.0.1'));
      await svc.set([spec('to-b', '127.0.0.1', '127.0.0.2')]);
      await until('Up with the peer, through the worker', () => seen.get('to-b')?.state === 'Up');
      expect(logs).not.toContain('BFD thread keeps the normal CPU priority');
      for (let i = 0; i < CRASHES; i++) {
        const before = seen.get('to-b')!.localDiscriminator;
        await svc.crashForTest();
        await until(`crash ${i}: the worker started again with the session`, () => seen.get('to-b')!.localDiscriminator !== before, 5_000);
      }
      expect(logs.filter((m) => m === 'BFD worker exited; starting it again')).toHaveLength(CRASHES);
      expect(logs.filter((m) => m === 'BFD worker failed')).toHaveLength(CRASHES);
      flooding = false;
      await flooded;
      // The failed workers closed their sockets: the last one's receiving socket gets the peer's packets.
      await until('Up with the peer again', () => seen.get('to-b')?.state === 'Up' && seen.get('to-b')?.remoteState === 'Up');
    } finally {
      flooding = false;
      await flooded;
      flood.close();
      await svc.close();
      peer.close();
    }
    // Its sockets closed, the worker ended by itself.
    expect(logs).not.toContain('BFD worker did not end by itself; stopped');
  }, 60_000);
});
