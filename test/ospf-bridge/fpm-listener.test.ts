/**
 * FpmListener over real loopback TCP, with a client playing zebra: the bytes
 * are the captured FRR 8.4.4 stream (test/vectors/fpm), cut at random.
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '#lib/clock';
import type { Logger } from '#lib/log';
import { encodeFpmFrame } from '#ospf/fpm-codec';
import { FpmListener, FPM_DEFAULT_HOST, FPM_DEFAULT_PORT } from '#ospf/fpm';
import { FpmTable, type FpmRouteChange } from '#ospf/fpm-table';

/** Every frame of a vector file, in order. */
function frames(name: string): Buffer[] {
  return readFileSync(new URL(`../vectors/fpm/${name}`, import.meta.url), 'utf8')
    .split('\n')
    .map((l) => l.replace(/#.*$/, '').trim())
    .filter((l) => l !== '')
    .map((l) => Buffer.from(l, 'hex'));
}

interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

function captureLogger(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { log, lines };
}

const INFO = 30;
const WARN = 40;

async function until(what: string, fn: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function listening() {
  const clock = new ManualClock();
  const table = new FpmTable({ clock });
  const changes: FpmRouteChange[] = [];
  table.subscribe((cs) => changes.push(...cs));
  const { log, lines } = captureLogger();
  const listener = new FpmListener({ table, log, port: 0 });
  await listener.start();
  cleanups.push(() => listener.close());
  return { clock, table, changes, listener, lines, port: listener.address()!.port };
}

interface FakeZebra {
  socket: Socket;
  /** Bytes the listener sent (it must send none). */
  received: number;
}

function zebra(port: number): Promise<FakeZebra> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const z: FakeZebra = { socket, received: 0 };
    socket.on('data', (d: Buffer) => (z.received += d.length));
    socket.once('connect', () => {
      socket.on('error', () => {});
      resolve(z);
    });
    socket.once('error', reject);
    cleanups.push(() => void socket.destroy());
  });
}

/** Writes `bytes` in pieces of 1..`max` bytes, yielding between them so the listener sees separate chunks. */
async function dribble(z: FakeZebra, bytes: Buffer, max = 97): Promise<void> {
  for (let off = 0, i = 0; off < bytes.length; i++) {
    const n = 1 + ((i * 7919) % max);
    z.socket.write(bytes.subarray(off, off + n));
    off += n;
    if (i % 8 === 0) await new Promise((r) => setImmediate(r));
  }
}

describe('FpmListener', () => {
  it('defaults to 127.0.0.1:2620, zebra\'s own default', () => {
    expect([FPM_DEFAULT_HOST, FPM_DEFAULT_PORT]).toEqual(['127.0.0.1', 2620]);
  });

  it('feeds zebra\'s stream, however it is cut, into the table; writes nothing back; no line per route at info', async () => {
    const { table, listener, lines, port } = await listening();
    const z = await zebra(port);
    await until('the connect', () => listener.connected);
    const stream = Buffer.concat(frames('frr-8.4.4-nhg.hex'));
    await dribble(z, stream);
    await until('all frames', () => listener.status().frames === 45);
    expect(table.routes().map((r) => `${r.prefix} ${r.nexthops.length}`)).toEqual(['10.10.2.0/24 2', 'fd00:10:2::/64 2']);
    expect(listener.status()).toMatchObject({ bytes: stream.length, frames: 45, framingErrors: 0, replaced: 0, peer: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
    // 45 frames, 7 of them route updates of two messages.
    expect(table.counters).toMatchObject({ connects: 1, decodeErrors: 0, messages: 52 });
    await new Promise((r) => setTimeout(r, 50));
    expect(z.received).toBe(0);
    expect(lines.filter((l) => l.level >= INFO).map((l) => l.msg)).toEqual(['ospf fpm: listening for zebra', 'ospf fpm: zebra connected']);
  });

  it('a second connection replaces the first, which is closed; the table resyncs instead of flapping', async () => {
    const { table, listener, port, changes } = await listening();
    const first = await zebra(port);
    await until('the connect', () => listener.connected);
    first.socket.write(Buffer.concat(frames('frr-8.4.4-nhg.hex')));
    await until('the routes', () => table.routes().length === 2);
    const before = changes.length;
    const second = await zebra(port);
    await until('the old connection to close', () => first.socket.closed);
    second.socket.write(Buffer.concat(frames('frr-8.4.4-nhg-resend.hex')));
    await until('the resend', () => listener.status().frames === 45 + 25);
    expect(changes.length).toBe(before);
    expect(table.state()).toMatchObject({ phase: 'resync', connected: true });
    expect(table.counters).toMatchObject({ connects: 2, disconnects: 1 });
    expect(listener.status().replaced).toBe(1);
    expect(second.socket.closed).toBe(false);
  });

  it('a stream that is not FPM is closed with the reason logged; the routes are held', async () => {
    const { table, listener, port, lines } = await listening();
    const z = await zebra(port);
    await until('the connect', () => listener.connected);
    z.socket.write(Buffer.concat(frames('frr-8.4.4-inline.hex').slice(0, 8)));
    await until('the routes', () => table.routes().length === 2);
    z.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await until('the close', () => z.socket.closed);
    expect(listener.connected).toBe(false);
    expect(listener.status().framingErrors).toBe(1);
    const warn = lines.find((l) => l.level === WARN);
    expect(warn).toMatchObject({ reason: 'version', msg: 'ospf fpm: closing the connection: FPM header version 71, expected 1' });
    expect(table.state()).toMatchObject({ phase: 'holding', announced: 2 });
  });

  it('a frame it cannot read is skipped and counted; the frames after it still count', async () => {
    const { table, listener, port, lines } = await listening();
    const z = await zebra(port);
    await until('the connect', () => listener.connected);
    const bad = Buffer.alloc(20);
    bad.writeUInt32LE(200, 0);
    const good = frames('frr-8.4.4-inline.hex').slice(0, 8);
    z.socket.write(Buffer.concat([encodeFpmFrame(bad), encodeFpmFrame(bad), ...good]));
    await until('the routes', () => table.routes().length === 2);
    expect(table.counters.decodeErrors).toBe(2);
    expect(lines.filter((l) => l.level === WARN).map((l) => l.msg)).toEqual([expect.stringMatching(/^ospf fpm: frame skipped: nlmsghdr length 200/)]);
    expect(listener.connected).toBe(true);
  });

  it('close() ends the connection and stops listening; the table holds the routes', async () => {
    const { table, listener, port } = await listening();
    const z = await zebra(port);
    await until('the connect', () => listener.connected);
    z.socket.write(Buffer.concat(frames('frr-8.4.4-inline.hex').slice(0, 8)));
    await until('the routes', () => table.routes().length === 2);
    await listener.close();
    await until('the close', () => z.socket.closed);
    expect(listener.status().listening).toBe(null);
    expect(table.state()).toMatchObject({ phase: 'holding', announced: 2 });
    await expect(zebra(port)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('an address in use is a clear error', async () => {
    const { port } = await listening();
    const { log } = captureLogger();
    const other = new FpmListener({ table: new FpmTable({ clock: new ManualClock() }), log, port });
    await expect(other.start()).rejects.toThrow(`ospf fpm: 127.0.0.1:${port} is in use by another process`);
    const bad = new FpmListener({ table: new FpmTable({ clock: new ManualClock() }), log, host: '192.0.2.123', port: 0 });
    await expect(bad.start()).rejects.toThrow(/^ospf fpm: 192\.0\.2\.123:0: .*EADDRNOTAVAIL/);
  });
});
