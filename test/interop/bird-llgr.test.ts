/**
 * RFC 9494 long-lived graceful restart against BIRD 2 (`long lived graceful
 * restart on`) over wireguard-go, both roles:
 * - BIRD's BGP dies (kill -9; the tunnel stays): the agent keeps BIRD's routes
 *   in its kernel FIB past BIRD's restart time (3 s), long-lived stale in
 *   `routes PREFIX --json` (LLGR_STALE, 65535:6), and removes them when the
 *   long-lived stale time runs out (ours, 12 s, caps BIRD's 600 s);
 * - the agent stops with keep-on-stop (SIGTERM, no Cease): BIRD keeps the
 *   agent's routes, and after the agent's restart time (2 s) shows them with
 *   LLGR_STALE for the agent's long-lived stale time;
 * - BIRD's tunnel goes silently (its interface deleted): our hold timer
 *   expires, and BIRD's route is long-lived stale at once (the outage
 *   long-lived graceful restart is for; BIRD is not restarting), then goes.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execIn, spawnIn } from '../lab/helpers/netns.js';
import { spawnDetachedAgent } from '../lab/helpers/agents.js';
import { agentRoutes, cli, HOLD_TIME, LAN_A, LAN_B, missingPrerequisite, neighbors, tail, teardown, until, type Site } from './helpers/site.js';
import { killDetachedAgent } from './helpers/restart.js';
import { BIRD_PREREQUISITES, birdBgpConfig, createBirdSite, type Bird } from './helpers/bird.js';

const skip = missingPrerequisite(BIRD_PREREQUISITES);
if (skip !== null) console.log(`interop/bird-llgr: skipped: ${skip}`);

/** BIRD's restart time, and the long-lived stale time it asks for. */
const BIRD_RESTART_S = 3;
const BIRD_LLST_S = 600;
/** Ours: the long-lived stale time we ask for and the most we keep BIRD's routes so. */
const OUR_LLST_S = 12;
const OUR_RESTART_S = 2;

const birdConfig = (log: string): string =>
  birdBgpConfig(log, {
    session: [
      'graceful restart on;',
      `graceful restart time ${BIRD_RESTART_S};`,
      'long lived graceful restart on;',
      `long lived stale time ${BIRD_LLST_S};`,
    ],
    connectDelay: 1,
  });

interface RouteWithPaths {
  prefix: string;
  stale?: string | null;
  fib: boolean;
  paths?: { communities: string[]; stale: string | null }[];
}

describe.skipIf(skip !== null)('interop: long-lived graceful restart (RFC 9494) with BIRD 2', () => {
  let site: Site | undefined;
  let bird: Bird | undefined;
  let agentPid = 0;
  const birdc = (...args: string[]): string => spawnSync('birdc', ['-s', bird!.ctl, ...args], { encoding: 'utf8', timeout: 5_000 }).stdout ?? '';
  const diagnostics = (): string => (site && bird ? [birdc('show', 'protocols', 'all', 'wgbgp'), tail(site.agentLog), tail(bird.log)].join('\n') : '');
  const birdEstablished = (): boolean => /wgbgp\s+BGP\s+---\s+up\s+.*Established/.test(birdc('show', 'protocols', 'wgbgp'));
  const agentEstablished = (): boolean => neighbors(site!)[0]?.state === 'Established';
  const inKernel = (): boolean => agentRoutes(site!, '-4').some((r) => r.dst === LAN_B.v4);
  const route = (): RouteWithPaths | undefined => cli<RouteWithPaths[]>(site!, 'routes', LAN_B.v4)[0];
  const birdPid = (): number => Number(spawnSync('cat', [join(site!.dir, 'bird.pid')], { encoding: 'utf8' }).stdout.trim());
  const restartBird = (): void => {
    spawnIn(site!.nsB, ['bird', '-f', '-c', bird!.conf, '-s', bird!.ctl, '-P', join(site!.dir, 'bird.pid')], { log: join(site!.dir, 'bird.out') });
  };

  beforeAll(async () => {
    ({ site, bird } = await createBirdSite('ll', 91, { bgp: { 'graceful-restart-time': OUR_RESTART_S, 'long-lived-stale-time': OUR_LLST_S } }, birdConfig, { startAgent: false }));
    agentPid = spawnDetachedAgent(site.nsA, site.agentConfig, site.agentLog);
    await until('Established both ways', () => agentEstablished() && birdEstablished(), 20_000, diagnostics);
    await until('routes both ways', () => inKernel() && /\[wgbgp /.test(birdc('show', 'route', LAN_A.v4)), 10_000, diagnostics);
  }, 40_000);

  afterAll(async () => {
    killDetachedAgent(agentPid);
    await teardown(site);
  }, 30_000);

  it('the capability both ways: the agent shows BIRD\'s stale time, BIRD shows ours', () => {
    const n = cli<{ session: { longLivedGracefulRestart?: { families: { family: string; staleTime: number }[] } | null } | null }[]>(site!, 'neighbors')[0]!;
    expect(n.session?.longLivedGracefulRestart?.families).toContainEqual(expect.objectContaining({ family: 'ipv4-unicast', staleTime: BIRD_LLST_S }));
    expect(birdc('show', 'protocols', 'all', 'wgbgp')).toMatch(/Long-lived graceful restart/i);
  });

  it(`BIRD's BGP is killed: its routes stay in the kernel past its ${BIRD_RESTART_S} s restart time, long-lived stale, and go after our ${OUR_LLST_S} s`, async () => {
    const t0 = performance.now();
    process.kill(birdPid(), 'SIGKILL');
    await until('the agent sees BIRD go', () => !agentEstablished(), 15_000, diagnostics);
    const down = performance.now();
    await until('long-lived stale', () => route()?.stale === 'long-lived', (BIRD_RESTART_S + 5) * 1000, diagnostics);
    const llgrAt = performance.now();
    const r = route()!;
    expect(r.fib).toBe(true);
    expect(r.paths?.[0]?.communities).toContain('65535:6');
    expect(inKernel()).toBe(true);
    // Well past the restart time and before the end of the long-lived time: still forwarding.
    await new Promise((res) => setTimeout(res, (OUR_LLST_S / 2) * 1000));
    expect(inKernel()).toBe(true);
    await until('removed after the long-lived stale time', () => !inKernel(), (OUR_LLST_S + 10) * 1000, diagnostics);
    const gone = performance.now();
    console.log(
      `bird-llgr: session down ${Math.round(down - t0)} ms after kill -9; long-lived stale ${((llgrAt - down) / 1000).toFixed(1)} s after it (restart time ${BIRD_RESTART_S} s); removed ${((gone - llgrAt) / 1000).toFixed(1)} s later (long-lived stale time ${OUR_LLST_S} s)`,
    );
    expect(gone - llgrAt).toBeGreaterThan((OUR_LLST_S - 2) * 1000);
    expect(cli<RouteWithPaths[]>(site!, 'routes').map((x) => x.prefix)).not.toContain(LAN_B.v4);
  }, 60_000);

  it('BIRD back: fresh routes, not stale', async () => {
    restartBird();
    await until('Established again', () => agentEstablished() && birdEstablished(), 30_000, diagnostics);
    await until('route back', () => inKernel() && route()?.stale === null, 15_000, diagnostics);
  }, 50_000);

  it(`the agent stops with keep-on-stop: BIRD keeps its routes, LLGR_STALE after our ${OUR_RESTART_S} s restart time`, async () => {
    process.kill(agentPid, 'SIGTERM');
    agentPid = 0;
    await until('BIRD sees the agent go', () => !birdEstablished(), 15_000, diagnostics);
    expect(birdc('show', 'route', LAN_A.v4)).toMatch(/\[wgbgp /);
    await until('BIRD marks it long-lived stale', () => /\(65535,\s*6\)/.test(birdc('show', 'route', 'all', LAN_A.v4)), (OUR_RESTART_S + 8) * 1000, diagnostics);
    console.log(`bird-llgr: BIRD's view of our route, long-lived stale:\n${birdc('show', 'route', 'all', LAN_A.v4)}`);
    await until('BIRD drops it after our long-lived stale time', () => !/\[wgbgp /.test(birdc('show', 'route', LAN_A.v4)), (OUR_LLST_S + 10) * 1000, diagnostics);
  }, 60_000);

  it(`BIRD's tunnel dies silently: at our hold timer expiry (${HOLD_TIME} s) its route goes long-lived stale at once, and goes after our ${OUR_LLST_S} s`, async () => {
    agentPid = spawnDetachedAgent(site!.nsA, site!.agentConfig, site!.agentLog);
    await until('Established again', () => agentEstablished() && birdEstablished(), 30_000, diagnostics);
    await until('routes back', () => inKernel() && route()?.stale === null, 15_000, diagnostics);
    const t0 = performance.now();
    await execIn(site!.nsB, ['ip', 'link', 'del', site!.ifB]);
    await until('hold timer expired', () => !agentEstablished(), (HOLD_TIME + 5) * 1000, diagnostics);
    const down = performance.now();
    expect(neighbors(site!)[0]?.lastError).toMatch(/hold timer/i);
    // A silent neighbor is not restarting: long-lived stale at once, not after BIRD's restart time.
    await until('long-lived stale', () => route()?.stale === 'long-lived', 2_000, diagnostics);
    const llgrAt = performance.now();
    expect(inKernel()).toBe(true);
    await until('removed after the long-lived stale time', () => !inKernel(), (OUR_LLST_S + 10) * 1000, diagnostics);
    const gone = performance.now();
    console.log(
      `bird-llgr: tunnel gone; hold timer expired after ${((down - t0) / 1000).toFixed(1)} s, long-lived stale ${((llgrAt - down) / 1000).toFixed(1)} s later, removed ${((gone - llgrAt) / 1000).toFixed(1)} s after that`,
    );
    expect(gone - llgrAt).toBeGreaterThan((OUR_LLST_S - 2) * 1000);
  }, 90_000);
});
