/**
 * The feeder CLI in --listen mode, against a minimal BGP speaker in the test
 * (loopback, no namespaces, no root): a session the receiver ends is followed
 * by the next one with the whole table again (a receiver that reconnects must
 * not find the feeder gone); SIGUSR1 withdraws every route, SIGUSR2 announces
 * them again; SIGTERM ends the session with a Cease and the process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { AFI_IPV4, AFI_IPV6, MessageFramer, MessageType, SAFI_UNICAST, buildOpen, decodeMessage, encodeMessage } from '#bgp/wire/index';
import type { BgpMessage as Message, UpdateMessage } from '#bgp/wire/index';
import { newestMtime } from '../helpers/fs.js';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const FEEDER = join(REPO, 'dist', 'replay', 'feeder-cli.js');
const CI = process.env.CI === 'true';
const stale = !existsSync(FEEDER) || statSync(FEEDER).mtimeMs < newestMtime(join(REPO, 'src', 'replay'));
if (stale && !CI) console.log(`replay/feeder-listen: skipped: ${FEEDER} is missing or older than src/replay: npm run build`);

const SPEC = { ipv4: 3000, ipv6: 700 };

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A receiving speaker: OPEN, KEEPALIVE, then counts what arrives. */
class Receiver {
  readonly messages: Message[] = [];
  closed = false;
  private readonly framer = new MessageFramer();

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const f of this.framer.push(chunk)) this.messages.push(decodeMessage(f, { fourOctetAs: true }).message);
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
    const open = buildOpen({ asn: 65001, holdTime: 90, bgpId: '192.0.2.1', families: [{ afi: AFI_IPV4, safi: SAFI_UNICAST }, { afi: AFI_IPV6, safi: SAFI_UNICAST }] });
    socket.write(encodeMessage(open, { fourOctetAs: true }));
    socket.write(encodeMessage({ type: MessageType.Keepalive }, { fourOctetAs: true }));
  }

  static async connect(port: number): Promise<Receiver> {
    for (let i = 0; ; i++) {
      try {
        const s = await new Promise<Socket>((res, rej) => {
          const c = connect({ host: '127.0.0.1', port });
          c.once('connect', () => res(c));
          c.once('error', rej);
        });
        return new Receiver(s);
      } catch (e) {
        if (i > 100) throw e;
        await sleep(50);
      }
    }
  }

  /** Prefixes announced and withdrawn so far. */
  counts(): { announced: number; withdrawn: number } {
    let announced = 0;
    let withdrawn = 0;
    for (const m of this.messages) {
      if (m.type !== MessageType.Update) continue;
      const u = m as UpdateMessage;
      announced += u.nlri.length + (u.mpReach?.nlri.length ?? 0);
      withdrawn += u.withdrawn.length + (u.mpUnreach?.withdrawn.length ?? 0);
    }
    return { announced, withdrawn };
  }
}

let detail = (): string => "";
async function until(what: string, fn: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${detail()}`);
    await sleep(20);
  }
}

describe.skipIf(stale && !CI)('replay feeder CLI, --listen', () => {
  let child: ChildProcess | null = null;
  let out = '';
  afterEach(() => {
    if (child !== null && child.exitCode === null) child.kill('SIGKILL');
    child = null;
  });

  it('serves the table again to the next session, withdraws on SIGUSR1, re-announces on SIGUSR2, ends with a Cease on SIGTERM', async () => {
    if (stale) throw new Error(`${FEEDER} is missing or stale under CI=true`);
    const port = await freePort();
    child = spawn(process.execPath, [FEEDER, '--table', `synthetic:${SPEC.ipv4},${SPEC.ipv6}@3`, '--listen', '127.0.0.1', '--port', String(port), '--next-hop', '192.0.2.2', '--next-hop6', '2001:db8::2', '--local-asn', '65002', '--asn', '65001', '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
    detail = (): string => out;
    const events = (name: string): number => out.split('\n').filter((l) => l.includes(`"event":"${name}"`)).length;
    await until('"listening"', () => events('listening') === 1);

    // First session: the whole table, then the receiver goes away.
    const first = await Receiver.connect(port);
    detail = (): string => `${out}\nreceived ${first.messages.length} messages: ${JSON.stringify(first.counts())}, closed ${first.closed}`;
    await until('the table and End-of-RIB', () => first.counts().announced === SPEC.ipv4 + SPEC.ipv6 && events('acked') === 1);
    first.socket.destroy();
    await until('the feeder listening again', () => events('closed') === 1 && events('listening') === 2);

    // The next session gets the table again.
    const second = await Receiver.connect(port);
    detail = (): string => `${out}\nreceived ${second.messages.length} messages: ${JSON.stringify(second.counts())}, closed ${second.closed}`;
    await until('the table again', () => second.counts().announced === SPEC.ipv4 + SPEC.ipv6 && events('acked') === 2);
    child.kill('SIGUSR1');
    await until('every route withdrawn', () => second.counts().withdrawn === SPEC.ipv4 + SPEC.ipv6 && events('withdrawn') === 1);
    child.kill('SIGUSR2');
    await until('every route announced again', () => second.counts().announced === 2 * (SPEC.ipv4 + SPEC.ipv6) && events('announced') === 1);

    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await until('the connection closed', () => second.closed);
    const last = second.messages.at(-1);
    expect(last).toMatchObject({ type: MessageType.Notification, code: 6, subcode: 2 });
    expect(events('closed')).toBe(2);
  });
});
