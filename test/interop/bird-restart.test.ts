/**
 * Restarts without loss against BIRD 2 (issue 7 §4), RFC 4724 both ways, under
 * a 10/s ping from LAN A to LAN B through the tunnel:
 * - the agent restarts (5 × kill -9, 5 × SIGTERM) and BIRD is the helper
 *   (BIRD's default `graceful restart aware`): BIRD keeps the agent's routes
 *   stale until the agent's End-of-RIB;
 * - BIRD restarts (`birdc graceful restart`, then `bird -R`) and the agent is
 *   the helper: it keeps BIRD's routes in its FIB for BIRD's restart time.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnIn } from '../lab/helpers/netns.js';
import { spawnDetachedAgent } from '../lab/helpers/agents.js';
import {
  agentRoutes,
  createSite,
  LAN_A,
  LAN_B,
  missingPrerequisite,
  neighbors,
  startPeerTunnel,
  tail,
  teardown,
  TUN_B,
  until,
  type Site,
} from './helpers/site.js';
import { BIRD_PREREQUISITES, birdBgpConfig } from './helpers/bird.js';
import { processGone, killDetachedAgent, startPinger } from './helpers/restart.js';

const skip = missingPrerequisite(BIRD_PREREQUISITES);
if (skip !== null) console.log(`interop/bird-restart: skipped: ${skip}`);
const RESTARTS = 5;

const birdConfig = (log: string): string =>
  birdBgpConfig(log, {
    protocols: [
      `protocol static lan4 { ipv4; route ${LAN_B.v4} via "lan0"; }`,
      `protocol static lan6 { ipv6; route ${LAN_B.v6} via "lan0"; }`,
      '# graceful restart: the kernel keeps BIRD\'s routes while BIRD is down, and BIRD waits for recovery before pruning.',
      'protocol kernel k4 { persist; graceful restart; ipv4 { import none; export where source = RTS_BGP; }; }',
      'protocol kernel k6 { persist; graceful restart; ipv6 { import none; export where source = RTS_BGP; }; }',
    ],
    session: ['graceful restart on;'],
    ipv6: `import all; export where source = RTS_STATIC; next hop address ${TUN_B.v6};`,
  });

describe.skipIf(skip !== null)('interop: restarts under a 10/s ping with BIRD 2, graceful restart both ways', () => {
  let site: Site | undefined;
  let ctl = '';
  let birdLog = '';
  let conf = '';
  let agentPid = 0;
  const birdc = (...args: string[]): string =>
    spawnSync('birdc', ['-s', ctl, ...args], { encoding: 'utf8', timeout: 5_000 }).stdout ?? '';
  const diagnostics = (): string => (site ? [birdc('show', 'protocols', 'all', 'wgbgp'), tail(site.agentLog), tail(birdLog)].join('\n') : '');

  function startBird(recover: boolean): void {
    spawnIn(site!.nsB, ['bird', '-f', ...(recover ? ['-R'] : []), '-c', conf, '-s', ctl, '-P', join(site!.dir, 'bird.pid')], {
      log: join(site!.dir, 'bird.out'),
    });
  }

  const startAgent = (): number => spawnDetachedAgent(site!.nsA, site!.agentConfig, site!.agentLog);

  const birdEstablished = (): boolean => /wgbgp\s+BGP\s+---\s+up\s+.*Established/.test(birdc('show', 'protocols', 'wgbgp'));
  const agentEstablished = (): boolean => neighbors(site!)[0]?.state === 'Established';

  beforeAll(async () => {
    site = await createSite('br', 17);
    ctl = join(site.dir, 'bird.ctl');
    birdLog = join(site.dir, 'bird.log');
    conf = join(site.dir, 'bird.conf');
    await startPeerTunnel(site);
    writeFileSync(conf, birdConfig(birdLog));
    const parse = spawnSync('bird', ['-p', '-c', conf], { encoding: 'utf8' });
    if (parse.status !== 0) throw new Error(`bird -p: ${parse.stderr}`);
    startBird(false);
    await until('BIRD control socket', () => existsSync(ctl), 5_000);
    agentPid = startAgent();
    await until('Established both ways', () => agentEstablished() && birdEstablished(), 20_000, diagnostics);
    await until('routes both ways', () => agentRoutes(site!, '-4').some((r) => r.dst === LAN_B.v4) && /\[wgbgp /.test(birdc('show', 'route', LAN_A.v4)), 10_000, diagnostics);
  }, 40_000);

  afterAll(async () => {
    killDetachedAgent(agentPid);
    await teardown(site);
  }, 30_000);

  it(`the agent restarts (${RESTARTS} × kill -9, ${RESTARTS} × SIGTERM) with BIRD as the helper: 0 pings lost`, async () => {
    const s = site!;
    const p = startPinger(site!);
    const times: string[] = [];
    try {
      await new Promise((r) => setTimeout(r, 1_000));
      for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
        for (let i = 0; i < RESTARTS; i++) {
          const done = readFileSync(s.agentLog, 'utf8').split('restart complete').length;
          const t0 = performance.now();
          process.kill(agentPid, signal);
          await until('agent gone', () => processGone(agentPid), 15_000);
          // BIRD keeps our routes meanwhile (graceful restart helper).
          await until('BIRD sees the restart', () => !birdEstablished(), 10_000, diagnostics);
          expect(birdc('show', 'route', LAN_A.v4)).toMatch(/\[wgbgp /);
          agentPid = startAgent();
          await until('Established again, restart complete', () =>
            agentEstablished() && birdEstablished() && readFileSync(s.agentLog, 'utf8').split('restart complete').length > done,
            30_000, diagnostics);
          times.push(`${signal === 'SIGKILL' ? 'kill -9' : 'SIGTERM'} ${Math.round(performance.now() - t0)} ms`);
          await new Promise((r) => setTimeout(r, 500));
        }
      }
      await new Promise((r) => setTimeout(r, 1_000));
    } finally {
      const r = await p.stop();
      console.log(`bird-restart: agent restarts with BIRD as helper: ${r.sent} pings, ${r.lost} lost; ${times.join(', ')}`);
      expect(r.sent).toBeGreaterThan(50);
      expect(r.lost).toBe(0);
    }
    expect(birdc('show', 'route', LAN_A.v4)).toMatch(/\[wgbgp /);
  }, 240_000);

  it('BIRD restarts gracefully (`birdc graceful restart`, `bird -R`) with the agent as the helper: 0 pings lost', async () => {
    const s = site!;
    const p = startPinger(site!);
    try {
      await new Promise((r) => setTimeout(r, 1_000));
      birdc('graceful', 'restart');
      await until('agent sees BIRD go', () => !agentEstablished(), 10_000, diagnostics);
      // The agent keeps BIRD's routes in its kernel for BIRD's restart time.
      expect(agentRoutes(s, '-4').some((r) => r.dst === LAN_B.v4)).toBe(true);
      await new Promise((r) => setTimeout(r, 1_000));
      startBird(true);
      await until('Established again', () => agentEstablished() && birdEstablished(), 30_000, diagnostics);
      await until('BIRD finished its recovery', () => !/recovery/i.test(birdc('show', 'status')), 30_000, diagnostics);
      await new Promise((r) => setTimeout(r, 1_500));
    } finally {
      const r = await p.stop();
      console.log(`bird-restart: BIRD graceful restart with the agent as helper: ${r.sent} pings, ${r.lost} lost`);
      expect(r.sent).toBeGreaterThan(20);
      expect(r.lost).toBe(0);
    }
    expect(agentRoutes(s, '-4').some((r) => r.dst === LAN_B.v4)).toBe(true);
    expect(neighbors(s)[0]).toMatchObject({ state: 'Established', lastError: expect.anything() });
  }, 90_000);
});
