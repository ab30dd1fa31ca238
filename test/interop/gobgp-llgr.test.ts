/**
 * RFC 9494 long-lived graceful restart against GoBGP 3.10 (`long-lived-enabled`
 * and the family's `long-lived-graceful-restart`) over wireguard-go, both
 * roles, gobgpd set up as in gobgp-restart.test.ts:
 * - the agent stops with keep-on-stop (SIGTERM, no Cease): GoBGP keeps our
 *   route and, after our restart time, carries it with LLGR_STALE;
 * - gobgpd dies (kill -9; the tunnel stays): the agent keeps GoBGP's route in
 *   its kernel FIB past GoBGP's restart time, long-lived stale, and removes it
 *   when our long-lived stale time (the shorter) runs out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { spawnDetachedAgent } from '../lab/helpers/agents.js';
import { LAN_A, LAN_B, TUN_A, agentRoutes, cli, missingPrerequisite, neighbors, teardown, until, type Site } from './helpers/site.js';
import { killDetachedAgent } from './helpers/restart.js';
import { GOBGP_PREREQUISITES, createGobgpSite, gobgpDiagnostics, gobgpdConfig, gobgpEstablished, gobgpRib, type Gobgp } from './helpers/gobgp.js';

const skip = missingPrerequisite(GOBGP_PREREQUISITES);
if (skip !== null) console.log(`interop/gobgp-llgr: skipped: ${skip}`);

const GOBGP_RESTART_S = 3;
const GOBGP_LLST_S = 600;
const OUR_RESTART_S = 2;
const OUR_LLST_S = 12;
const LLGR_STALE = 0xffff0006;

const config = gobgpdConfig({
  neighborTables: `  [neighbors.graceful-restart.config]
    enabled = true
    restart-time = ${GOBGP_RESTART_S}
    long-lived-enabled = true
`,
  families: [
    {
      name: 'ipv4-unicast',
      toml: `    [neighbors.afi-safis.mp-graceful-restart.config]
      enabled = true
    [neighbors.afi-safis.long-lived-graceful-restart.config]
      enabled = true
      restart-time = ${GOBGP_LLST_S}
`,
    },
  ],
});

interface RouteWithPaths {
  prefix: string;
  stale?: string | null;
  paths?: { communities: string[] }[];
}

describe.skipIf(skip !== null)('interop: long-lived graceful restart (RFC 9494) with GoBGP 3', () => {
  let site: Site | undefined;
  let b: Gobgp | undefined;
  let agentPid = 0;

  const gobgpUp = (): boolean => {
    try {
      return gobgpEstablished(b!);
    } catch {
      return false;
    }
  };
  /** GoBGP's path for our LAN as its JSON has it, or undefined. */
  const gobgpPath = (): { stale?: boolean; attrs?: { type: number; communities?: number[] }[] } | undefined =>
    gobgpRib<{ stale?: boolean; attrs?: { type: number; communities?: number[] }[] }>(b!, 'ipv4', LAN_A.v4)[LAN_A.v4]?.[0];
  const gobgpCommunities = (): number[] => gobgpPath()?.attrs?.find((a) => a.type === 8)?.communities ?? [];
  const agentEstablished = (): boolean => neighbors(site!)[0]?.state === 'Established';
  const inKernel = (): boolean => agentRoutes(site!, '-4').some((r) => r.dst === LAN_B.v4);
  /** `routes PREFIX` exits 1 for a prefix not in the table: asked only when the full list has it. */
  const route = (): RouteWithPaths | undefined =>
    cli<RouteWithPaths[]>(site!, 'routes').some((r) => r.prefix === LAN_B.v4) ? cli<RouteWithPaths[]>(site!, 'routes', LAN_B.v4)[0] : undefined;
  const diagnostics = (): string => gobgpDiagnostics(site, b, ['neighbor', TUN_A.v4], ['-j', 'global', 'rib', '-a', 'ipv4']);

  beforeAll(async () => {
    ({ site, b } = await createGobgpSite('gl', 93, { bgp: { 'graceful-restart-time': OUR_RESTART_S, 'long-lived-stale-time': OUR_LLST_S } }, config, { setup: (g) => g.gobgp('global', 'rib', '-a', 'ipv4', 'add', LAN_B.v4), startAgent: false }));
    agentPid = spawnDetachedAgent(site.nsA, site.agentConfig, site.agentLog);
    await until('Established both ways', () => agentEstablished() && gobgpUp(), 30_000, diagnostics);
    await until('routes both ways', () => inKernel() && gobgpPath() !== undefined, 15_000, diagnostics);
  }, 60_000);

  afterAll(async () => {
    killDetachedAgent(agentPid);
    await teardown(site);
  }, 30_000);

  it('the capability: the agent shows GoBGP\'s long-lived stale time', () => {
    const n = cli<{ session: { longLivedGracefulRestart?: { families: { family: string; staleTime: number }[] } | null } | null }[]>(site!, 'neighbors')[0]!;
    expect(n.session?.longLivedGracefulRestart?.families).toContainEqual(expect.objectContaining({ family: 'ipv4-unicast', staleTime: GOBGP_LLST_S }));
  });

  it(`the agent stops with keep-on-stop: GoBGP keeps our route, with LLGR_STALE after our ${OUR_RESTART_S} s restart time`, async () => {
    process.kill(agentPid, 'SIGTERM');
    agentPid = 0;
    await until('GoBGP sees the agent go', () => !gobgpUp(), 15_000, diagnostics);
    await until('GoBGP marks our route long-lived stale', () => gobgpCommunities().includes(LLGR_STALE), (OUR_RESTART_S + 8) * 1000, diagnostics);
    await until('GoBGP drops it after our long-lived stale time', () => gobgpPath() === undefined, (OUR_LLST_S + 10) * 1000, diagnostics);
    agentPid = spawnDetachedAgent(site!.nsA, site!.agentConfig, site!.agentLog);
    await until('Established again', () => agentEstablished() && gobgpUp(), 30_000, diagnostics);
    await until('routes both ways again', () => inKernel() && gobgpPath() !== undefined, 15_000, diagnostics);
  }, 90_000);

  it(`gobgpd is killed: its route stays in the kernel past its ${GOBGP_RESTART_S} s restart time, long-lived stale, gone after our ${OUR_LLST_S} s`, async () => {
    // gobgpd is the one process of B's namespace named so (wireguard-go runs there too).
    const pids = spawnSync('ip', ['netns', 'pids', site!.nsB], { encoding: 'utf8' }).stdout.split('\n').filter((p) => p.trim() !== '');
    const pid = Number(pids.find((p) => spawnSync('cat', [`/proc/${p.trim()}/comm`], { encoding: 'utf8' }).stdout.trim() === 'gobgpd'));
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    await until('the agent sees GoBGP go', () => !agentEstablished(), 15_000, diagnostics);
    const down = performance.now();
    await until('long-lived stale', () => route()?.stale === 'long-lived', (GOBGP_RESTART_S + 5) * 1000, diagnostics);
    const llgrAt = performance.now();
    expect(route()!.paths?.[0]?.communities).toContain('65535:6');
    expect(inKernel()).toBe(true);
    await until('removed after the long-lived stale time', () => !inKernel(), (OUR_LLST_S + 10) * 1000, diagnostics);
    const gone = performance.now();
    console.log(`gobgp-llgr: long-lived stale ${((llgrAt - down) / 1000).toFixed(1)} s after the session went (restart time ${GOBGP_RESTART_S} s); removed ${((gone - llgrAt) / 1000).toFixed(1)} s later (long-lived stale time ${OUR_LLST_S} s)`);
    expect(gone - llgrAt).toBeGreaterThan((OUR_LLST_S - 2) * 1000);
  }, 60_000);
});
