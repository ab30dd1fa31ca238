/**
 * The agent stops (SIGTERM) while a GTSM peer's handshake is half done: our
 * listener has answered the peer's SYN, the peer is established, and its final
 * ACK has not reached us yet. The peer must hear from us (a FIN or a reset
 * from the accepted socket, TTL 255), not silence: RFC 5082 §3 has it discard
 * anything below TTL 255, and the only other answer our namespace has, the
 * kernel's reset for a segment no socket takes, goes out with TTL 64. A peer
 * left that way sits in OpenSent with its OPEN unanswered until its large hold
 * timer (RFC 4271 §8.2.2, 4 minutes): what OpenBGPD did in
 * openbgpd-restart.test.ts, on the connection it opened the moment our stop
 * closed the session.
 *
 * The peer is a GTSM socket made by the agent's own tcp.ts in B's namespace;
 * an nftables rule there holds its segments after the SYN back until the agent
 * is stopping, which keeps the handshake half done as long as the test needs.
 * While the agent stops it answers no new SYN at all (a second peer socket
 * never connects).
 *
 * Killed (kill -9), the agent cannot finish anything: its listener closes with
 * the handshake half done, and the peer's next segment is answered by the
 * kernel. That reset passes the peer's GTSM check because our host route to
 * the peer carries hop limit 255 (fib/hoplimit.ts); before, it left with TTL
 * 64 and the peer never heard it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnDetachedAgent, processGone } from '../lab/helpers/agents.js';
import { execIn } from '../lab/helpers/netns.js';
import { REPO, TUN_A, TUN_B, createSite, missingPrerequisite, neighbors, startPeerTunnel, tail, teardown, until, type Site } from './helpers/site.js';

const skip = missingPrerequisite(['nft']);
if (skip !== null) console.log(`interop/stop-handshake: skipped: ${skip}`);

/** A GTSM client socket in B, bound to B's tunnel: prints what happens to it, sends a KEEPALIVE on "send". */
const PEER_SCRIPT = `
import { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { connectSocket } from '${REPO}/dist/bgp/session/tcp.js';
const [device, local, remote] = process.argv.slice(2);
const fd = connectSocket({ family: 4, localAddress: local, device, minTtl: 255 });
const sock = new Socket({ fd, readable: true, writable: true });
const say = (s) => process.stdout.write(s + '\\n');
sock.on('connect', () => say('connected'));
sock.on('data', () => say('data'));
sock.on('end', () => say('end'));
sock.on('error', (e) => say('error ' + e.code));
sock.on('close', () => say('closed'));
sock.connect({ host: remote, port: 179 });
createInterface({ input: process.stdin }).on('line', (l) => {
  if (l === 'send') sock.write(Buffer.concat([Buffer.alloc(16, 0xff), Buffer.from([0, 19, 4])]));
});
`;

interface Peer {
  proc: ChildProcess;
  lines: string[];
  send(): void;
}

describe.skipIf(skip !== null)('interop: the agent stops with a GTSM peer half-way through its handshake', () => {
  let site: Site | undefined;
  let agentPid = 0;
  const peers: Peer[] = [];

  const peer = (): Peer => {
    const s = site!;
    const proc = spawn('ip', ['netns', 'exec', s.nsB, process.execPath, join(s.dir, 'peer.mjs'), s.ifB, TUN_B.v4, TUN_A.v4], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const p: Peer = { proc, lines: [], send: () => proc.stdin?.write('send\n') };
    proc.stdout?.on('data', (d: Buffer) => p.lines.push(...d.toString().split('\n').filter((l) => l !== '')));
    proc.stderr?.on('data', (d: Buffer) => p.lines.push(`stderr: ${d.toString().trim()}`));
    peers.push(p);
    return p;
  };
  /** Established from the peer's side, as the half-done handshake must be. */
  const connected = (p: Peer): boolean => p.lines.includes('connected');
  /** The peer heard our FIN or reset. */
  const closedByUs = (p: Peer): boolean => p.lines.some((l) => l === 'end' || l.startsWith('error'));
  const holdAfterSyn = (on: boolean): Promise<unknown> =>
    on
      ? execIn(site!.nsB, `nft add table inet hold && nft 'add chain inet hold out { type filter hook output priority 0; }' && nft 'add rule inet hold out tcp dport 179 tcp flags & (syn|ack) == ack drop'`)
      : execIn(site!.nsB, 'nft delete table inet hold');
  const why = (): string => [`peers: ${JSON.stringify(peers.map((p) => p.lines))}`, tail(site!.agentLog, 40)].join('\n');

  /** The agent up, its listener bound to the tunnel (B has no BGP speaker: our session stays Active/Connect). */
  const startAgent = async (): Promise<void> => {
    agentPid = spawnDetachedAgent(site!.nsA, site!.agentConfig, site!.agentLog);
    await until('the agent listens on its tunnel address', async () => (await execIn(site!.nsA, ['ss', '-Hltn', `src ${TUN_A.v4}:179`])).stdout.includes(':179'), 30_000, why);
    await until('the neighbor configured', () => neighbors(site!).length === 1, 10_000, why);
  };

  /** A GTSM peer established on its side, our side of the handshake in SYN_RECV (its ACK held back in B). */
  const halfDone = async (): Promise<Peer> => {
    await holdAfterSyn(true);
    const p = peer();
    await until('the peer established (our SYN-ACK came with TTL 255)', () => connected(p), 10_000, why);
    expect((await execIn(site!.nsA, ['ss', '-Htn', 'state', 'syn-recv', `src ${TUN_A.v4}:179`])).stdout).toContain(TUN_B.v4);
    return p;
  };

  beforeAll(async () => {
    site = await createSite('sh', 62, { bgp: { 'ttl-security': true } });
    writeFileSync(join(site.dir, 'peer.mjs'), PEER_SCRIPT);
    await startPeerTunnel(site);
  }, 60_000);

  afterAll(async () => {
    for (const p of peers) p.proc.kill('SIGKILL');
    if (agentPid > 0 && !processGone(agentPid)) process.kill(agentPid, 'SIGKILL');
    await teardown(site);
  }, 30_000);

  it('SIGTERM with a handshake answered and its final ACK still on the way: the peer gets our reset; no SYN is answered while we stop', async () => {
    const s = site!;
    await startAgent();
    const first = await halfDone();

    const logged = readFileSync(s.agentLog, 'utf8').length;
    process.kill(agentPid, 'SIGTERM');
    const draining = (): boolean => readFileSync(s.agentLog, 'utf8').slice(logged).includes('waiting for the handshakes it answered');
    await until('the agent stopping, its listener waiting for the handshake (or gone)', () => draining() || processGone(agentPid), 15_000, why);
    // While the agent stops, a new SYN is not answered (it would be a handshake the stop has to wait for).
    const second = peer();
    await new Promise((r) => setTimeout(r, 300));
    await holdAfterSyn(false);
    first.send();
    await until('the peer heard our FIN or reset', () => closedByUs(first), 5_000, why);
    await until('agent gone', () => processGone(agentPid), 15_000, why);
    expect(connected(second), why()).toBe(false);
    // Our socket closed it, in the stop: the listener waited for the handshake (a reset from the
    // kernel after the exit would reach this peer too, by the host route's hop limit: the next test).
    const stop = readFileSync(s.agentLog, 'utf8').slice(logged);
    expect(stop).toContain('waiting for the handshakes it answered');
    expect(stop).not.toContain('handshakes still incomplete');
  }, 60_000);

  it('kill -9 with a handshake half done: the kernel resets the peer with TTL 255 (our host route to it), the peer hears it', async () => {
    await startAgent();
    const p = await halfDone();
    process.kill(agentPid, 'SIGKILL');
    await until('agent gone', () => processGone(agentPid), 15_000, why);
    // keep-on-stop: the tunnel and our routes stay, the host route to the peer with them.
    expect((await execIn(site!.nsA, ['ip', 'route', 'show', `${TUN_B.v4}/32`, 'proto', '201'])).stdout).toContain('hoplimit 255');
    await holdAfterSyn(false);
    p.send();
    await until('the peer heard the reset', () => closedByUs(p), 5_000, why);
  }, 60_000);
});
