/**
 * RFC 4271 §6.8 against a real BIRD 2, many times over: both sides dial at the
 * same moment and exactly one connection must survive, with one Established
 * period on each side. BIRD runs several protocols (one loopback address, and
 * one port of ours, each: BIRD serializes protocols that share the neighbor's
 * address and port), so each round is several trials at once. Our side learns
 * of BIRD's dial when its connection comes in, dials back at once, and lets the
 * session see BIRD's connection only once its own has reached a given state.
 * For "Established", BIRD is stopped (SIGSTOP) from the moment ours enters
 * OpenConfirm until just after the hand-over, so it reads our KEEPALIVE and
 * whatever we send on its connection in one poll round, in its own order: the
 * race reported with BIRD (BIRD still in OpenConfirm on our connection).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { normalizeAddress } from '#bgp/session/index';
import type { FsmState } from '#bgp/session/index';
import { config, side, sleep, waitFor } from './helpers.js';
import type { Side } from './helpers.js';

const BIRD = '/usr/sbin/bird';
const BIRDC = '/usr/sbin/birdc';
const OUR_ADDR = '127.0.0.1';
/** BIRD's identifier sits between ours, so both sides of the §6.8 comparison are tried. */
const BIRD_ID = '192.0.2.2';
const OUR_IDS = ['192.0.2.1', '192.0.2.3'];
const PROTOCOLS = 4;
const ROUNDS = 6;
/** The state our own connection reaches before the session is handed BIRD's. */
const HAND_OVER_AT: FsmState[] = ['Connect', 'OpenSent', 'OpenConfirm', 'Established'];

function birdc(sock: string, cmd: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(BIRDC, ['-s', sock, ...cmd.split(' ')], (_err, stdout) => resolve(stdout));
  });
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

interface Trial {
  protocol: string;
  ourId: string;
  handOverAt: FsmState;
  side: Side;
  started: boolean;
}

describe.skipIf(!existsSync(BIRD))('RFC 4271 §6.8 with BIRD 2: simultaneous connects', () => {
  let dir = '';
  let ctl = '';
  let bird: ChildProcess | null = null;
  let birdLog = '';
  let birdFrozen = false;
  let birdPort = 0;
  const servers: Server[] = [];
  const current = new Map<string, Trial>();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wgbgp-bird-collision-'));
    ctl = join(dir, 'bird.ctl');
    birdPort = await freePort('127.0.0.2');
    let protocols = '';
    for (let i = 0; i < PROTOCOLS; i++) {
      const server = createServer({ noDelay: true }, (sock) => incoming(sock));
      servers.push(server);
      await new Promise<void>((r) => server.listen(0, OUR_ADDR, () => r()));
      const ourPort = (server.address() as AddressInfo).port;
      protocols += `
protocol bgp wg${i} {
  disabled;
  local 127.0.0.${2 + i} port ${birdPort} as 65002;
  neighbor ${OUR_ADDR} port ${ourPort} as 65001;
  multihop;
  hold time 9;
  connect delay time 1;
  connect retry time 1;
  error wait time 1, 2;
  ipv4 { import none; export none; };
}
`;
    }
    // The state trace tells how often BIRD itself saw each session come up.
    const conf = `log stderr all;\ndebug protocols { states, events };\nrouter id ${BIRD_ID};\nprotocol device { }\n${protocols}`;
    await writeFile(join(dir, 'bird.conf'), conf);
    bird = spawn(BIRD, ['-f', '-c', join(dir, 'bird.conf'), '-s', ctl, '-P', join(dir, 'bird.pid')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    bird.stderr?.on('data', (d: Buffer) => (birdLog += d.toString()));
    await waitFor(() => existsSync(ctl), 'BIRD control socket');
  });

  afterAll(async () => {
    await Promise.all([...current.values()].map((t) => t.side.session.stop('test done')));
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    thawBird();
    if (bird && bird.exitCode === null) {
      const exited = new Promise((r) => bird!.once('exit', r));
      bird.kill('SIGTERM');
      await exited;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function freezeBird(): boolean {
    if (birdFrozen || !bird?.pid) return false;
    birdFrozen = true;
    process.kill(bird.pid, 'SIGSTOP');
    return true;
  }

  function thawBird(): void {
    if (!birdFrozen || !bird?.pid) return;
    birdFrozen = false;
    process.kill(bird.pid, 'SIGCONT');
  }

  /** BIRD dialled: dial back now, and let the session see BIRD's connection later. */
  function incoming(sock: Socket): void {
    sock.on('error', () => {});
    const t = current.get(normalizeAddress(sock.remoteAddress ?? ''));
    if (!t) {
      sock.destroy();
      return;
    }
    if (t.started) {
      t.side.session.acceptConnection(sock);
      return;
    }
    t.started = true;
    const { session, rec } = t.side;
    let froze = false;
    if (t.handOverAt === 'Established') {
      // Called before the step's actions: BIRD stops before our KEEPALIVE leaves.
      const record = rec.onStateChange.bind(rec);
      rec.onStateChange = (from, to) => {
        if (to === 'OpenConfirm' && !froze) froze = freezeBird();
        record(from, to);
      };
    }
    session.start();
    // Checked once per event-loop turn: the hand-over follows the step that reached the state.
    const since = Date.now();
    const poll = (): void => {
      const reached = HAND_OVER_AT.indexOf(session.state) >= HAND_OVER_AT.indexOf(t.handOverAt);
      // A frozen BIRD cannot answer: never wait on it for long.
      if (!reached && Date.now() - since < (froze ? 100 : 2000)) {
        setImmediate(poll);
        return;
      }
      session.acceptConnection(sock);
      if (froze) setTimeout(thawBird, 2);
    };
    poll();
  }

  it(`keeps one connection and one Established period in ${PROTOCOLS * ROUNDS} simultaneous connects`, async () => {
    const failures: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      current.clear();
      for (let i = 0; i < PROTOCOLS; i++) {
        const birdAddr = `127.0.0.${2 + i}`;
        const ourId = OUR_IDS[i % OUR_IDS.length]!;
        const s = side(
          config({
            name: `wg${i}`,
            localAsn: 65001,
            routerId: ourId,
            peerAsn: 65002,
            peerAddress: birdAddr,
            localAddress: OUR_ADDR,
            port: birdPort,
            holdTime: 30,
            families: [{ afi: 1, safi: 1 }],
          }),
        );
        current.set(birdAddr, { protocol: `wg${i}`, ourId, handOverAt: HAND_OVER_AT[(round + i) % HAND_OVER_AT.length]!, side: s, started: false });
      }
      const logFrom = birdLog.length;
      await birdc(ctl, 'enable "wg*"');
      const trials = [...current.values()];
      // BIRD dials 0.75-1 s after enable (its timers are jittered, RFC 4271 §10).
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline && !trials.every((t) => t.side.session.state === 'Established')) await sleep(10);
      // Long enough for BIRD to have read everything of the round.
      await sleep(300);
      const status = await birdc(ctl, 'show protocols "wg*"');
      const log = birdLog.slice(logFrom);
      for (const t of trials) {
        const { session, rec } = t.side;
        const birdUp = new RegExp(`^${t.protocol}\\s.*\\sEstablished`, 'm').test(status);
        const birdEstablished = log.split(`${t.protocol}: BGP session established`).length - 1;
        const ok =
          session.state === 'Established' &&
          rec.established.length === 1 &&
          rec.downs.length === 0 &&
          session.lastError === null &&
          birdUp &&
          birdEstablished === 1;
        if (!ok) {
          failures.push(
            `round ${round} ${t.protocol} (our id ${t.ourId}, handed over at ${t.handOverAt}): state ${session.state}, ` +
              `established ${rec.established.length}x, downs ${JSON.stringify(rec.downs)}, lastError ${session.lastError}, ` +
              `BIRD up ${birdUp}, BIRD established ${birdEstablished}x`,
          );
        }
      }
      await birdc(ctl, 'disable "wg*"');
      await Promise.all(trials.map((t) => t.side.session.stop()));
    }
    expect(failures).toEqual([]);
  });
});
