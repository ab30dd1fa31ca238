/**
 * The agent restarts (kill -9, then SIGTERM) under a 10/s ping from LAN A to
 * LAN B, with FRR 8.4 as the RFC 4724 helper (FRR helps by default; `bgp
 * graceful-restart` makes it advertise the capability too): FRR keeps the
 * agent's route stale in B's kernel while the agent is away, the agent keeps
 * its own forwarding state (keep-on-stop), and no ping is lost. FRR set up as
 * in frr.test.ts, the agent started detached as in bird-restart.test.ts.
 * Then FRR restarts (bgpd killed, started again; zebra and the tunnel stay)
 * with the agent as the helper: FRR's route stays in our kernel, stale
 * (RFC 4724 §4.2), while bgpd is away, fresh again in the new session; no
 * ping lost.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnDetachedAgent } from '../lab/helpers/agents.js';
import { LAN_A, LAN_B, agentRoutes, cli, missingPrerequisite, neighbors, until, type Frr, type Site } from './helpers/site.js';
import { processGone, killDetachedAgent, startPinger } from './helpers/restart.js';
import { FRR_PREREQUISITES, createFrrSite, frrBgpdConfig, frrDiagnostics, frrPaths, frrPeerState, restartBgpd, teardownFrrSite } from './helpers/frr.js';

const skip = missingPrerequisite(FRR_PREREQUISITES);
if (skip !== null) console.log(`interop/frr-restart: skipped: ${skip}`);

const bgpdConfig = (log: string): string =>
  frrBgpdConfig(log, {
    router: [
      'bgp graceful-restart',
      // bgpd asks zebra to keep its routes in B's kernel while it is away (and sets F in its capability).
      'bgp graceful-restart preserve-fw-state',
    ],
  });

describe.skipIf(skip !== null)('interop: graceful restart with FRR 8 under a 10/s ping, both roles', () => {
  let site: Site | undefined;
  let frr: Frr | undefined;
  let agentPid = 0;

  const frrState = (): string | undefined => frrPeerState(frr!);
  /** FRR's path for our LAN: present, and whether it is marked stale (RFC 4724 §4.2). */
  const frrPath = (): { stale?: boolean } | undefined => frrPaths<{ stale?: boolean }>(frr!, LAN_A.v4)[0];
  const agentEstablished = (): boolean => neighbors(site!)[0]?.state === 'Established';
  /** FRR's route as the agent has it: null when fresh, 'graceful-restart' while stale. */
  const ourView = (): { stale?: string | null } | undefined => cli<{ stale?: string | null }[]>(site!, 'routes', LAN_B.v4)[0];
  const inKernel = (): boolean => agentRoutes(site!, '-4').some((r) => r.dst === LAN_B.v4);
  const diagnostics = (): string => frrDiagnostics(site, frr);

  beforeAll(async () => {
    ({ site, frr } = await createFrrSite('fg', 56, {}, bgpdConfig, { startAgent: false }));
    agentPid = spawnDetachedAgent(site.nsA, site.agentConfig, site.agentLog);
    await until('Established both ways', () => agentEstablished() && frrState() === 'Established', 30_000, diagnostics);
    await until('routes both ways', () => agentRoutes(site!, '-4').some((r) => r.dst === LAN_B.v4) && frrPath() !== undefined, 15_000, diagnostics);
  }, 60_000);

  afterAll(async () => {
    killDetachedAgent(agentPid);
    await teardownFrrSite(site, frr);
  }, 30_000);

  it('kill -9 and SIGTERM: FRR keeps our route stale while we are away, fresh again after our End-of-RIB; 0 pings lost', async () => {
    const s = site!;
    const p = startPinger(s);
    const times: string[] = [];
    try {
      await new Promise((r) => setTimeout(r, 1_000));
      for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
        const done = readFileSync(s.agentLog, 'utf8').split('restart complete').length;
        const t0 = performance.now();
        process.kill(agentPid, signal);
        await until('agent gone', () => processGone(agentPid), 15_000);
        await until('FRR keeps our route, stale', () => frrState() !== 'Established' && frrPath()?.stale === true, 15_000, diagnostics);
        agentPid = spawnDetachedAgent(s.nsA, s.agentConfig, s.agentLog);
        await until(
          'Established again, restart complete, our route fresh at FRR',
          () => agentEstablished() && frrState() === 'Established' && readFileSync(s.agentLog, 'utf8').split('restart complete').length > done && frrPath()?.stale !== true,
          30_000,
          diagnostics,
        );
        times.push(`${signal === 'SIGKILL' ? 'kill -9' : 'SIGTERM'} ${Math.round(performance.now() - t0)} ms`);
        await new Promise((r) => setTimeout(r, 500));
      }
      await new Promise((r) => setTimeout(r, 1_000));
    } finally {
      const r = await p.stop();
      console.log(`frr-restart: agent restarts with FRR as helper: ${r.sent} pings, ${r.lost} lost; ${times.join(', ')}`);
      expect(r.sent).toBeGreaterThan(20);
      expect(r.lost).toBe(0);
    }
  }, 120_000);

  it("FRR's bgpd restarts (kill -9, started again) with the agent as the helper: its route stays in our kernel, stale while it is away, fresh again in the new session; 0 pings lost", async () => {
    const s = site!;
    await until("FRR's route fresh at ours", () => agentEstablished() && frrState() === 'Established' && ourView()?.stale === null, 30_000, diagnostics);
    const p = startPinger(s);
    let sawStale = false;
    try {
      await new Promise((r) => setTimeout(r, 1_000));
      process.kill(Number(readFileSync(join(frr!.dir, 'bgpd.pid'), 'utf8').trim()), 'SIGKILL');
      await until('the agent sees bgpd go', () => !agentEstablished(), 15_000, diagnostics);
      // RFC 4724 §4.2: the receiving speaker keeps the routes, marked stale, for the peer's restart time.
      await until("FRR's route stale at ours", () => ourView()?.stale === 'graceful-restart', 10_000, diagnostics);
      expect(inKernel()).toBe(true);
      await restartBgpd(s, frr!);
      await until('Established again', () => agentEstablished() && frrState() === 'Established', 30_000, diagnostics);
      await until("FRR's route fresh in the new session", () => {
        const v = ourView();
        if (v?.stale === 'graceful-restart') sawStale = true;
        if (!inKernel()) throw new Error(`${LAN_B.v4} left the kernel`);
        return v?.stale === null;
      }, 30_000, diagnostics);
      await new Promise((r) => setTimeout(r, 1_000));
    } finally {
      const r = await p.stop();
      console.log(`frr-restart: FRR's bgpd restarting with the agent as helper: ${r.sent} pings, ${r.lost} lost; still stale when first seen in the new session: ${sawStale}`);
      expect(r.sent).toBeGreaterThan(20);
      expect(r.lost).toBe(0);
    }
    // The new bgpd's capability: Restart State set, forwarding state kept (RFC 4724 §3; preserve-fw-state).
    // Without preserve-fw-state zebra drops bgpd's routes from B's kernel when bgpd dies (10 of 44 pings lost
    // in one run, the return path gone) and F is clear in the new OPEN.
    expect(cli<{ session: { gracefulRestart: unknown } | null }[]>(s, 'neighbors')[0]!.session?.gracefulRestart).toMatchObject({
      restarting: true,
      families: [{ family: 'ipv4-unicast', forwardingState: true }],
    });
    const log = readFileSync(s.agentLog, 'utf8');
    expect(log).toMatch(/session down: keeping its routes for its graceful restart/);
    expect(log).toMatch(/neighbor back after a restart: its stale routes stay until its End-of-RIB/);
  }, 90_000);
});
