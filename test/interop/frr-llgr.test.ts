/**
 * RFC 9494 long-lived graceful restart against FRR 8.4 (`bgp
 * long-lived-graceful-restart stale-time`) over wireguard-go, both roles, FRR
 * set up as in frr-restart.test.ts:
 * - FRR's bgpd dies (kill -9; zebra and the tunnel stay): the agent keeps
 *   FRR's route in its kernel FIB past FRR's restart time, long-lived stale in
 *   `routes PREFIX --json`, and removes it when our long-lived stale time (the
 *   shorter of the two) runs out;
 * - the agent stops with keep-on-stop (SIGTERM, no Cease): FRR keeps our route
 *   and shows it with LLGR_STALE after our restart time.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execIn } from '../lab/helpers/netns.js';
import { spawnDetachedAgent } from '../lab/helpers/agents.js';
import { LAN_A, LAN_B, agentRoutes, cli, missingPrerequisite, neighbors, until, type Frr, type Site } from './helpers/site.js';
import { killDetachedAgent } from './helpers/restart.js';
import { FRR_PREREQUISITES, createFrrSite, frrBgpdConfig, frrDiagnostics, frrPeerState, restartBgpd, teardownFrrSite } from './helpers/frr.js';

const skip = missingPrerequisite(FRR_PREREQUISITES);
if (skip !== null) console.log(`interop/frr-llgr: skipped: ${skip}`);

const FRR_RESTART_S = 3;
const FRR_LLST_S = 600;
const OUR_RESTART_S = 2;
const OUR_LLST_S = 12;

const bgpdConfig = (log: string): string =>
  frrBgpdConfig(log, {
    router: [
      'bgp graceful-restart',
      `bgp graceful-restart restart-time ${FRR_RESTART_S}`,
      `bgp long-lived-graceful-restart stale-time ${FRR_LLST_S}`,
    ],
  });

interface RouteWithPaths {
  prefix: string;
  stale?: string | null;
  fib: boolean;
  paths?: { communities: string[]; stale: string | null }[];
}

describe.skipIf(skip !== null)('interop: long-lived graceful restart (RFC 9494) with FRR 8', () => {
  let site: Site | undefined;
  let frr: Frr | undefined;
  let agentPid = 0;

  const frrState = (): string | undefined => {
    try {
      return frrPeerState(frr!);
    } catch {
      return undefined;
    }
  };
  const frrRoute = (): string => {
    try {
      return frr!.vtysh(`show bgp ipv4 unicast ${LAN_A.v4} json`);
    } catch {
      return '';
    }
  };
  const agentEstablished = (): boolean => neighbors(site!)[0]?.state === 'Established';
  const inKernel = (): boolean => agentRoutes(site!, '-4').some((r) => r.dst === LAN_B.v4);
  /** `routes PREFIX` exits 1 for a prefix not in the table: asked only when the full list has it. */
  const route = (): RouteWithPaths | undefined =>
    cli<RouteWithPaths[]>(site!, 'routes').some((r) => r.prefix === LAN_B.v4) ? cli<RouteWithPaths[]>(site!, 'routes', LAN_B.v4)[0] : undefined;
  const diagnostics = (): string => frrDiagnostics(site, frr);
  const startBgpd = (): Promise<void> => restartBgpd(site!, frr!);

  beforeAll(async () => {
    ({ site, frr } = await createFrrSite('fl', 92, { bgp: { 'graceful-restart-time': OUR_RESTART_S, 'long-lived-stale-time': OUR_LLST_S } }, bgpdConfig, { startAgent: false }));
    agentPid = spawnDetachedAgent(site.nsA, site.agentConfig, site.agentLog);
    await until('Established both ways', () => agentEstablished() && frrState() === 'Established', 30_000, diagnostics);
    await until('routes both ways', () => inKernel() && frrRoute().includes('"paths"'), 15_000, diagnostics);
  }, 60_000);

  afterAll(async () => {
    killDetachedAgent(agentPid);
    await teardownFrrSite(site, frr);
  }, 30_000);

  it('the capability: the agent shows FRR\'s long-lived stale time', () => {
    const n = cli<{ session: { longLivedGracefulRestart?: { families: { family: string; staleTime: number }[] } | null } | null }[]>(site!, 'neighbors')[0]!;
    expect(n.session?.longLivedGracefulRestart?.families).toContainEqual(expect.objectContaining({ family: 'ipv4-unicast', staleTime: FRR_LLST_S }));
  });

  it(`FRR's bgpd is killed: its route stays in the kernel past its ${FRR_RESTART_S} s restart time, long-lived stale, gone after our ${OUR_LLST_S} s`, async () => {
    const pid = Number((await execIn(site!.nsB, ['cat', join(frr!.dir, 'bgpd.pid')])).stdout.trim());
    const t0 = performance.now();
    process.kill(pid, 'SIGKILL');
    await until('the agent sees FRR go', () => !agentEstablished(), 15_000, diagnostics);
    const down = performance.now();
    await until('long-lived stale', () => route()?.stale === 'long-lived', (FRR_RESTART_S + 5) * 1000, diagnostics);
    const llgrAt = performance.now();
    expect(route()!.paths?.[0]?.communities).toContain('65535:6');
    expect(inKernel()).toBe(true);
    await new Promise((res) => setTimeout(res, (OUR_LLST_S / 2) * 1000));
    expect(inKernel()).toBe(true);
    await until('removed after the long-lived stale time', () => !inKernel(), (OUR_LLST_S + 10) * 1000, diagnostics);
    const gone = performance.now();
    console.log(
      `frr-llgr: session down ${Math.round(down - t0)} ms after kill -9; long-lived stale ${((llgrAt - down) / 1000).toFixed(1)} s after it (restart time ${FRR_RESTART_S} s); removed ${((gone - llgrAt) / 1000).toFixed(1)} s later (long-lived stale time ${OUR_LLST_S} s)`,
    );
    expect(gone - llgrAt).toBeGreaterThan((OUR_LLST_S - 2) * 1000);
  }, 60_000);

  it(`the agent stops with keep-on-stop: FRR keeps our route, with LLGR_STALE after our ${OUR_RESTART_S} s restart time`, async () => {
    await startBgpd();
    await until('Established again', () => agentEstablished() && frrState() === 'Established', 30_000, diagnostics);
    await until('routes back', () => inKernel() && frrRoute().includes('"paths"'), 15_000, diagnostics);
    process.kill(agentPid, 'SIGTERM');
    agentPid = 0;
    await until('FRR sees the agent go', () => frrState() !== 'Established', 15_000, diagnostics);
    await until('FRR marks our route long-lived stale', () => /llgr-stale|65535:6/i.test(frrRoute()), (OUR_RESTART_S + 8) * 1000, diagnostics);
    console.log(`frr-llgr: FRR's view of our route, long-lived stale: ${frrRoute().replace(/\s+/g, ' ')}`);
    await until('FRR drops it after our long-lived stale time', () => !frrRoute().includes('"paths"'), (OUR_LLST_S + 10) * 1000, diagnostics);
  }, 90_000);
});
