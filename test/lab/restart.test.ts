/**
 * Restarts never black-hole traffic (issue 7 §4): RFC 4724 graceful restart in
 * both roles, with keep-on-stop. The two-sites lab (two agents over
 * wireguard-go) carries a 10/s ping from LAN to LAN while site-a's agent is
 * killed (`kill -9`) and restarted five times, then stopped with SIGTERM and
 * restarted five times. site-a is the restarting speaker (its routes stay in
 * its kernel, it comes back with the R and F bits, defers its table until
 * site-b's End-of-RIB); site-b is the helper (it keeps site-a's routes stale
 * for the restart time and sweeps after site-a's End-of-RIB). Not one ping may
 * be lost.
 *
 * Lost is counted per probe: one with no reply while a later one has its
 * reply. ping's own summary counts the probe still on its way when it is
 * interrupted as lost too (SIGINT ends it at once), which under load (round
 * trips of 40 ms measured with two busy CPUs) made a clean run fail.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labUp, readState } from '#lab/index';
import { cli, duplicateKeys, kernelRoutes as routes, processGone, spawnDetachedAgent, until, type NeighborJson } from './helpers/agents.js';
import { copyLab, removeLabCopy, REPO_LABS } from './helpers/labs.js';
import { uniqueName } from './helpers/netns.js';

const RESTARTS = 5;

describe('restarts under a 10/s ping: graceful restart, both roles', () => {
  const lab = uniqueName('rs');
  const ifA = uniqueName('ra');
  const ifB = uniqueName('rb');
  const sockA = `/run/wgbgp/${lab}-site-a.sock`;
  const sockB = `/run/wgbgp/${lab}-site-b.sock`;
  const nsA = `wgbgp-${lab}-site-a`;
  const dir = copyLab(join(REPO_LABS, 'two-sites'), lab, {
    'wg-a-b': ifA,
    'wg-b-a': ifB,
    '/run/wgbgp/two-sites-': `/run/wgbgp/${lab}-`,
  });
  const quiet = { print: () => undefined };
  const logA = join(dir, 'site-a.restarts.log');
  let pidA = 0;
  let config = '';

  beforeAll(async () => {
    await labUp(dir, quiet);
    const node = readState(join(dir, '.lab-run'))?.nodes['site-a'];
    pidA = node?.pid ?? 0;
    config = node?.config ?? '';
    await until('both sessions Established', () => established(sockA) && established(sockB));
    await until('site-a has 10.2.0.0/24', () => routes(nsA, '-4').some((r) => r.dst === '10.2.0.0/24'));
  }, 60_000);

  afterAll(async () => {
    if (pidA > 0 && !processGone(pidA)) process.kill(pidA, 'SIGKILL');
    await labDown(dir, quiet);
    removeLabCopy(dir);
  }, 60_000);

  function established(sock: string): boolean {
    const ns = cli<NeighborJson[]>('neighbors', '--socket', sock);
    return ns.length > 0 && ns.every((n) => n.state === 'Established');
  }

  const startA = (): number => spawnDetachedAgent(nsA, config, logA);

  /** The restarted agent is done restarting: Established, and its deferred table sent (log line). */
  async function restarted(linesBefore: number): Promise<void> {
    await until('site-a Established again', () => established(sockA) && established(sockB), 30_000);
    await until('site-a finished its restart', () => countLines(logA, 'restart complete') > linesBefore, 30_000);
  }

  function countLines(file: string, text: string): number {
    try {
      return readFileSync(file, 'utf8').split('\n').filter((l) => l.includes(text)).length;
    } catch {
      return 0;
    }
  }

  it(`${RESTARTS} × kill -9 and ${RESTARTS} × SIGTERM of site-a's agent: 0 pings lost`, async () => {
    // -D: each reply with its wall-clock time, to set beside the agents' logs; -O: each probe unanswered when the next goes.
    const ping: ChildProcess = spawn('ip', ['netns', 'exec', nsA, 'ping', '-D', '-O', '-i', '0.1', '-W', '1', '-I', '10.1.0.1', '10.2.0.1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    ping.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    const perRestart: { kind: string; ms: number; at: number }[] = [];
    try {
      await new Promise((r) => setTimeout(r, 1_000));
      for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
        for (let i = 0; i < RESTARTS; i++) {
          const before = countLines(logA, 'restart complete');
          const t0 = performance.now();
          const at = Date.now() / 1000;
          process.kill(pidA, signal);
          await until(`site-a agent gone (${signal})`, () => processGone(pidA), 15_000);
          // The helper keeps site-a's routes meanwhile; the kernel on site-a keeps site-b's.
          expect(routes(nsA, '-4').some((r) => r.dst === '10.2.0.0/24')).toBe(true);
          pidA = startA();
          await restarted(before);
          perRestart.push({ kind: signal === 'SIGKILL' ? 'kill -9' : 'SIGTERM', ms: Math.round(performance.now() - t0), at });
          await new Promise((r) => setTimeout(r, 500));
        }
      }
      await new Promise((r) => setTimeout(r, 1_000));
    } finally {
      ping.kill('SIGINT');
      await new Promise((r) => ping.once('exit', r));
    }
    const m = /(\d+) packets transmitted/.exec(out);
    expect(m, out).not.toBeNull();
    const sent = Number(m![1]);
    const replied = new Set([...out.matchAll(/bytes from .*icmp_seq=(\d+)/g)].map((r) => Number(r[1])));
    const last = Math.max(0, ...replied);
    const lost: number[] = [];
    for (let seq = 1; seq <= last; seq++) if (!replied.has(seq)) lost.push(seq);
    const timeline = perRestart.map((p) => `${p.kind} at ${p.at.toFixed(3)}, complete after ${p.ms} ms`).join('\n');
    console.log(
      `restarts: ${sent} pings sent, ${lost.length} lost over ${RESTARTS} kill -9 and ${RESTARTS} SIGTERM restarts ` +
        `(${sent - last} still on their way at the end); restart to restart-complete: ${perRestart.map((p) => `${p.kind} ${p.ms} ms`).join(', ')}`,
    );
    expect(sent).toBeGreaterThan(50);
    // Still answered at the end: no more than a second of probes (10) outstanding when ping was stopped.
    expect(sent - last, out).toBeLessThanOrEqual(10);
    expect(lost, `lost icmp_seq ${lost.join(', ')}\n${timeline}\n${out}`).toEqual([]);
    // Both sides kept their routes throughout and have them now.
    expect(routes(nsA, '-4').some((r) => r.dst === '10.2.0.0/24')).toBe(true);
    expect(cli<{ prefix: string }[]>('routes', '10.1.0.0/24', '--socket', sockB)).toEqual([expect.objectContaining({ prefix: '10.1.0.0/24' })]);
    // What the restarts logged (graceful restart, stale sweeps, SIGTERM) is JSON a shipper can read.
    for (const line of readFileSync(logA, 'utf8').split('\n').filter((l) => l.startsWith('{'))) expect(duplicateKeys(line), line).toEqual([]);
  }, 240_000);
});
