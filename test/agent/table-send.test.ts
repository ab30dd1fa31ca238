/**
 * A whole table to a neighbor in steps paced by its socket (issue 10: memory
 * bounded when a peer reads slowly). Over a real loopback TCP connection: while
 * the receiver does not read, what waits in our socket stays near
 * BACKLOG_HIGH and the steps stop; once it reads, every prefix arrives once,
 * followed by the End-of-RIBs (RFC 4724 §2).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Connection } from '#bgp/session/connection';
import { SystemClock } from '#lib/clock';
import { MessageFramer, decodeMessage, type UpdateMessage } from '#bgp/wire/index';
import { Rib, endOfRib, isEndOfRib } from '#bgp/rib/index';
import type { LocRibChange } from '#bgp/rib/index';
import type { AgentSession } from '#agent/bgp';
import { BACKLOG_HIGH, ChangeSender, TABLE_STEP, sendTable } from '#agent/table-send';
import { LOCAL_ASN, LOCAL_ROUTER_ID, announce, attrs, peer, seq } from '../bgp/rib/helpers.js';

let server: Server | null = null;
afterEach(() => {
  server?.close();
  server = null;
});

const PREFIXES = 200_000;

/** With `spread`, a community per prefix: one UPDATE each (~50 octets), ~10 MB in all, more than loopback's buffers hold. */
function table(n: number, spread: boolean): Rib {
  const r = new Rib({ asn: LOCAL_ASN, routerId: LOCAL_ROUTER_ID });
  r.addPeer(peer('b', 65002, 2));
  for (let i = 0; i < n; i++) r.originate(`${10 + (i >>> 16)}.${(i >>> 8) & 255}.${i & 255}.0/24`, 'static', spread ? { communities: [i] } : undefined);
  return r;
}

/** The part of AgentSession sendTable uses, over a real Connection. */
function sessionOver(conn: Connection): AgentSession {
  const s = {
    sendMany(updates: UpdateMessage[]): void {
      for (const u of updates) conn.send(u);
    },
    get sendBacklog(): number {
      return conn.backlog;
    },
    whenDrained(fn: () => void): void {
      conn.whenDrained(fn);
    },
  };
  return s as unknown as AgentSession;
}

/** A loopback connection whose receiving end does not read until resumed. */
async function pausedPair(): Promise<{ conn: Connection; sock: Socket; receiver: Socket }> {
  let receiver: Socket | null = null;
  const accepted = new Promise<void>((resolve) => {
    server = createServer((s) => {
      receiver = s;
      s.pause();
      resolve();
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const port = (server!.address() as { port: number }).port;
  const sock = connect(port, '127.0.0.1');
  const conn = new Connection(sock, true, new SystemClock(), { connected: () => undefined, data: () => undefined, closed: () => undefined });
  await new Promise<void>((r) => sock.once('connect', r));
  await accepted;
  return { conn, sock, receiver: receiver! };
}

describe('sendTable', () => {
  it('stops while the receiver does not read (backlog near BACKLOG_HIGH), then delivers every prefix once and the End-of-RIBs', async () => {
    const { conn, sock, receiver } = await pausedPair();
    const rib = table(PREFIXES, true);
    const steps = rib.exportFullSteps('b')!;
    let finished = false;
    let mostBacklog = 0;
    const session = sessionOver(conn);
    const watch = setInterval(() => (mostBacklog = Math.max(mostBacklog, conn.backlog)), 1);
    sendTable(
      { log: { info: () => undefined }, defer: (fn) => setImmediate(fn), now: () => performance.now() },
      'b',
      session,
      steps,
      rib.endOfRibs('b'),
      () => true,
      () => (finished = true),
    );
    // The receiver does not read: the kernel's buffers fill, then ours up to the mark, and the steps wait.
    // Stalled: no step for 500 ms (the kernel's buffers grow for a while first; at most 15 s).
    for (let last = -1, still = 0, i = 0; still < 5 && i < 150; i++) {
      await new Promise((r) => setTimeout(r, 100));
      still = steps.sent === last ? still + 1 : 0;
      last = steps.sent;
    }
    expect(finished).toBe(false);
    expect(steps.sent).toBeLessThan(PREFIXES);
    // One step beyond the mark at most (here one UPDATE of ~50 octets per prefix).
    expect(mostBacklog).toBeGreaterThan(0);
    expect(mostBacklog).toBeLessThan(BACKLOG_HIGH + TABLE_STEP * 64);
    // Now it reads: everything arrives, each prefix once, End-of-RIBs last.
    const framer = new MessageFramer();
    const seen = new Set<string>();
    let dup = 0;
    const eors: unknown[] = [];
    let afterEor = 0;
    const all = new Promise<void>((resolve) => {
      receiver.on('data', (chunk: Buffer) => {
        for (const frame of framer.push(chunk)) {
          const m = decodeMessage(frame, conn.ctx).message;
          if (m.type !== 2) continue;
          const eor = isEndOfRib(m);
          if (eor) {
            eors.push(eor);
            if (eors.length === 2) resolve();
            continue;
          }
          if (eors.length > 0) afterEor++;
          for (const p of [...m.nlri, ...(m.mpReach?.nlri ?? [])]) {
            if (seen.has(p)) dup++;
            seen.add(p);
          }
        }
      });
      receiver!.resume();
    });
    await all;
    clearInterval(watch);
    expect(finished).toBe(true);
    expect(seen.size).toBe(PREFIXES);
    expect(dup).toBe(0);
    expect(afterEor).toBe(0);
    expect(eors).toEqual([{ afi: 1, safi: 1 }, { afi: 2, safi: 1 }]);
    sock.destroy();
    receiver!.destroy();
  }, 60_000);

  it('stops when the session that came up is no longer the one up', async () => {
    const rib = table(3 * TABLE_STEP, false);
    const steps = rib.exportFullSteps('b')!;
    const sent: UpdateMessage[] = [];
    let up = true;
    const session = { sendMany: (u: UpdateMessage[]) => sent.push(...u) } as unknown as AgentSession;
    const turns: (() => void)[] = [];
    sendTable({ log: { info: () => undefined }, defer: (fn) => turns.push(fn), now: () => 0 }, 'b', session, steps, rib.endOfRibs('b'), () => up);
    expect(sent.length).toBeGreaterThan(0);
    const afterFirst = sent.length;
    up = false;
    turns.shift()!();
    expect(sent.length).toBe(afterFirst);
    expect(turns).toHaveLength(0);
    expect(sent.some((u) => isEndOfRib(u) !== null)).toBe(false);
  });
});


describe('ChangeSender', () => {
  it('RFC 4271 §9.2: 100 000 changes towards a receiver that does not read: the backlog stays near the mark; once it reads, its table is the Loc-RIB', async () => {
    const { conn, sock, receiver } = await pausedPair();
    const rib = new Rib({ asn: LOCAL_ASN, routerId: LOCAL_ROUTER_ID });
    rib.addPeer(peer('a', 65002, 2));
    rib.addPeer(peer('b', 65003, 3));
    const session = sessionOver(conn);
    const sender = new ChangeSender({ log: { info: () => undefined }, defer: (fn) => setImmediate(fn), now: () => performance.now() }, rib);
    const target = { name: 'b', session, epoch: {}, current: () => true };
    let mostBacklog = 0;
    let mostOwed = 0;
    let behindSeen = false;
    const watch = setInterval(() => (mostBacklog = Math.max(mostBacklog, conn.backlog)), 1);
    // 20 000 prefixes changed five times each, every change its own attribute set (one UPDATE of ~120 octets):
    // ~12 MB if every change were queued, more than loopback's buffers take.
    const PREFIXES = 20_000;
    const ROUNDS = 5;
    const prefixOf = (i: number): string => `10.${i >>> 8}.${i & 255}.0/24`;
    for (let round = 0; round < ROUNDS; round++) {
      for (let from = 0; from < PREFIXES; from += 1000) {
        const changes: LocRibChange[] = [];
        for (let i = from; i < from + 1000; i++) {
          // In the last round every tenth prefix is withdrawn instead.
          const u = round === ROUNDS - 1 && i % 10 === 0 ? { type: 2 as const, withdrawn: [prefixOf(i)], attributes: {}, nlri: [] } : announce([prefixOf(i)], attrs({ asPath: [seq(65002)], communities: Array.from({ length: 16 }, (_, k) => round * 65536 + k * 4096 + (i & 4095)) }), '10.255.2.1');
          for (const c of rib.applyUpdate('a', u)) changes.push(c);
        }
        sender.send([target], changes);
        behindSeen ||= rib.isBehind('b');
        mostOwed = Math.max(mostOwed, rib.owedCount('b'));
        mostBacklog = Math.max(mostBacklog, conn.backlog);
        await new Promise((r) => setImmediate(r));
      }
    }
    // The mark plus one step of prefixes (~120 octets each here) at most.
    expect(mostBacklog).toBeGreaterThan(BACKLOG_HIGH / 2);
    expect(mostBacklog).toBeLessThan(BACKLOG_HIGH + TABLE_STEP * 160);
    expect(behindSeen).toBe(true);
    expect(mostOwed).toBeLessThanOrEqual(PREFIXES);
    expect(sender.view('b', session).behind).toBe(true);
    // Now it reads: what it was owed arrives; an End-of-RIB sent after the catch-up marks the end.
    const framer = new MessageFramer();
    const table = new Map<string, number[]>();
    let messages = 0;
    const all = new Promise<void>((resolve) => {
      receiver.on('data', (chunk: Buffer) => {
        for (const frame of framer.push(chunk)) {
          const m = decodeMessage(frame, conn.ctx).message;
          if (m.type !== 2) continue;
          if (isEndOfRib(m)) {
            resolve();
            continue;
          }
          messages++;
          for (const p of m.withdrawn) table.delete(p);
          for (const p of m.nlri) table.set(p, m.attributes.communities ?? []);
        }
      });
      receiver.resume();
    });
    while (rib.isBehind('b')) await new Promise((r) => setTimeout(r, 10));
    clearInterval(watch);
    conn.send(endOfRib(1, 1));
    await all;
    // Exactly the Loc-RIB: the last round's state, withdrawn prefixes gone.
    const want = new Map<string, number[]>();
    for (const r of rib.entries()) want.set(r.prefix, [...(r.attrs.communities ?? [])]);
    expect(want.size).toBe(PREFIXES - PREFIXES / 10);
    expect(table).toEqual(want);
    // Fewer UPDATEs than changes: those made while it did not read were folded per prefix.
    expect(messages).toBeLessThan(PREFIXES * ROUNDS);
    sock.destroy();
    receiver.destroy();
  }, 60_000);
});

describe('ChangeSender, stepped by hand', () => {
  function setup() {
    const rib = new Rib({ asn: LOCAL_ASN, routerId: LOCAL_ROUTER_ID });
    rib.addPeer(peer('a', 65002, 2));
    rib.addPeer(peer('b', 65003, 3));
    const lines: { fields: object; msg: string }[] = [];
    const turns: (() => void)[] = [];
    let now = 0;
    let backlog = BACKLOG_HIGH + 1;
    const drained: (() => void)[] = [];
    const sent: UpdateMessage[] = [];
    const session = {
      sendMany: (u: UpdateMessage[]) => sent.push(...u),
      get sendBacklog() {
        return backlog;
      },
      whenDrained: (fn: () => void) => drained.push(fn),
    } as unknown as AgentSession;
    let up = true;
    const sender = new ChangeSender({ log: { info: (fields, msg) => lines.push({ fields, msg }) }, defer: (fn) => turns.push(fn), now: () => now }, rib);
    const target = { name: 'b', session, epoch: {}, current: () => up };
    const change = (prefix: string): void => sender.send([target], rib.originate(prefix, 'static'));
    const drain = (): void => {
      backlog = 0;
      for (const fn of drained.splice(0)) fn();
    };
    const run = (): void => {
      while (turns.length > 0) turns.shift()!();
    };
    return { rib, sender, target, lines, sent, change, drain, run, advance: (ms: number) => (now += ms), down: () => (up = false) };
  }

  it('one log line for an episode of a second or more, none for a short one', () => {
    const t = setup();
    t.change('10.1.0.0/24');
    t.run();
    expect(t.sent).toEqual([]);
    t.advance(1500);
    t.drain();
    t.run();
    expect(t.sent.flatMap((u) => u.nlri)).toEqual(['10.1.0.0/24']);
    expect(t.lines).toHaveLength(1);
    expect(t.lines[0]!.fields).toMatchObject({ neighbor: 'b', prefixes: 1, ms: 1500, drainWaits: 1 });
    const u = setup();
    u.change('10.1.0.0/24');
    u.run();
    u.drain();
    u.run();
    expect(u.sent.flatMap((x) => x.nlri)).toEqual(['10.1.0.0/24']);
    expect(u.lines).toEqual([]);
  });

  it('a catch-up ends when its session is no longer the one up; the next session behind gets its own', () => {
    const t = setup();
    t.change('10.1.0.0/24');
    t.run();
    t.down();
    t.drain();
    t.run();
    expect(t.sent).toEqual([]);
    // The session came back (a new Negotiated: a new epoch), behind again before the old catch-up ever ran.
    const u = setup();
    u.change('10.1.0.0/24');
    u.run();
    u.down();
    u.rib.removePeer('b');
    u.rib.addPeer(peer('b', 65003, 3));
    u.sender.send([{ ...u.target, epoch: {}, current: () => true }], u.rib.originate('10.2.0.0/24', 'static'));
    u.run();
    expect(u.rib.owedCount('b')).toBe(1);
    u.drain();
    u.run();
    expect(u.sent.flatMap((x) => x.nlri)).toEqual(['10.2.0.0/24']);
    expect(u.rib.isBehind('b')).toBe(false);
  });
});
