/**
 * The agent restarts (kill -9, then SIGTERM) with GoBGP 3.10 as the RFC 4724
 * helper (graceful-restart enabled on the neighbor and its family): GoBGP
 * keeps the agent's route, stale, while the agent is away, and has it fresh
 * again after the agent's End-of-RIB; the session comes back without the
 * route ever leaving GoBGP's RIB. gobgpd set up as in gobgp.test.ts, the
 * agent started detached as in bird-restart.test.ts.
 * Then GoBGP restarts (gobgpd killed, started again with `-r`, the Restart
 * State bit) with the agent as the helper: GoBGP's route stays in our kernel,
 * stale (RFC 4724 §4.2), while GoBGP is away; fresh again in the new session.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnDetachedAgent } from '../lab/helpers/agents.js';
import { netnsPids, processArgv } from '#lab/netns';
import { LAN_A, LAN_B, TUN_A, agentRoutes, cli, missingPrerequisite, neighbors, startGobgp, teardown, until, type Site } from './helpers/site.js';
import { processGone, killDetachedAgent } from './helpers/restart.js';
import { GOBGP_PREREQUISITES, createGobgpSite, gobgpDiagnostics, gobgpdConfig, gobgpEstablished, gobgpRib, type Gobgp } from './helpers/gobgp.js';

const skip = missingPrerequisite(GOBGP_PREREQUISITES);
if (skip !== null) console.log(`interop/gobgp-restart: skipped: ${skip}`);

const config = gobgpdConfig({
  neighborTables: `  [neighbors.graceful-restart.config]
    enabled = true
    restart-time = 120
`,
  families: [{ name: 'ipv4-unicast', toml: '    [neighbors.afi-safis.mp-graceful-restart.config]\n      enabled = true\n' }],
});

describe.skipIf(skip !== null)('interop: graceful restart with GoBGP 3, both roles', () => {
  let site: Site | undefined;
  let b: Gobgp | undefined;
  let agentPid = 0;

  const gobgpUp = (): boolean => gobgpEstablished(b!);
  /** GoBGP's path for our LAN: present, and whether it is stale (RFC 4724 §4.2). */
  const gobgpPath = (): { stale?: boolean } | undefined => gobgpRib<{ stale?: boolean }>(b!, 'ipv4', LAN_A.v4)[LAN_A.v4]?.[0];
  const agentEstablished = (): boolean => neighbors(site!)[0]?.state === 'Established';
  /** GoBGP's route as the agent has it: null when fresh, 'graceful-restart' while stale. */
  const ourView = (): { stale?: string | null } | undefined => cli<{ stale?: string | null }[]>(site!, 'routes', LAN_B.v4)[0];
  const inKernel = (): boolean => agentRoutes(site!, '-4').some((r) => r.dst === LAN_B.v4);
  const diagnostics = (): string => gobgpDiagnostics(site, b, ['neighbor', TUN_A.v4], ['-j', 'global', 'rib', '-a', 'ipv4']);

  beforeAll(async () => {
    ({ site, b } = await createGobgpSite('gg', 57, {}, config, { setup: (g) => g.gobgp('global', 'rib', '-a', 'ipv4', 'add', LAN_B.v4), startAgent: false }));
    agentPid = spawnDetachedAgent(site.nsA, site.agentConfig, site.agentLog);
    await until('Established both ways', () => agentEstablished() && gobgpUp(), 30_000, diagnostics);
    await until('routes both ways', () => agentRoutes(site!, '-4').some((r) => r.dst === LAN_B.v4) && gobgpPath() !== undefined, 15_000, diagnostics);
  }, 60_000);

  afterAll(async () => {
    killDetachedAgent(agentPid);
    await teardown(site);
  }, 30_000);

  it('kill -9 and SIGTERM: GoBGP keeps our route stale while we are away, fresh after our End-of-RIB', async () => {
    const s = site!;
    for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
      const done = readFileSync(s.agentLog, 'utf8').split('restart complete').length;
      process.kill(agentPid, signal);
      await until('agent gone', () => processGone(agentPid), 15_000);
      await until('GoBGP keeps our route, stale', () => !gobgpUp() && gobgpPath()?.stale === true, 15_000, diagnostics);
      // Our forwarding state stayed too (keep-on-stop).
      expect(agentRoutes(s, '-4').some((r) => r.dst === LAN_B.v4)).toBe(true);
      agentPid = spawnDetachedAgent(s.nsA, s.agentConfig, s.agentLog);
      await until(
        'Established again, restart complete, our route fresh at GoBGP',
        () => agentEstablished() && gobgpUp() && readFileSync(s.agentLog, 'utf8').split('restart complete').length > done && gobgpPath() !== undefined && gobgpPath()?.stale !== true,
        30_000,
        diagnostics,
      );
    }
  }, 120_000);

  it("GoBGP restarts (kill -9, then gobgpd -r) with the agent as the helper: its route stays in our kernel, stale while it is away, fresh again in the new session", async () => {
    const s = site!;
    await until('our route fresh at GoBGP, GoBGP\'s fresh at ours', () => agentEstablished() && gobgpUp() && ourView()?.stale === null, 30_000, diagnostics);
    const pids = (await netnsPids(s.nsB)).filter((pid) => processArgv(pid)[0]?.endsWith('gobgpd'));
    expect(pids).toHaveLength(1);
    process.kill(pids[0]!, 'SIGKILL');
    await until('the agent sees GoBGP go', () => !agentEstablished(), 15_000, diagnostics);
    // RFC 4724 §4.2: the receiving speaker keeps the routes, marked stale, for the peer's restart time (120 s).
    await until("GoBGP's route stale at ours", () => ourView()?.stale === 'graceful-restart', 10_000, diagnostics);
    expect(inKernel()).toBe(true);
    b = await startGobgp(s, config, ['-r']);
    b.gobgp('global', 'rib', '-a', 'ipv4', 'add', LAN_B.v4);
    await until('Established again', () => agentEstablished() && gobgpUp(), 30_000, diagnostics);
    let sawStale = false;
    await until("GoBGP's route fresh after its End-of-RIB", () => {
      const v = ourView();
      if (v?.stale === 'graceful-restart') sawStale = true;
      // The route must never have left the kernel meanwhile.
      if (!inKernel()) throw new Error(`${LAN_B.v4} left the kernel`);
      return v?.stale === null;
    }, 30_000, diagnostics);
    expect(inKernel()).toBe(true);
    // gobgpd -r: the Restart State bit, and forwarding state kept for IPv4 unicast (RFC 4724 §3).
    expect(cli<{ session: { gracefulRestart: unknown } | null }[]>(s, 'neighbors')[0]!.session?.gracefulRestart).toMatchObject({
      restarting: true,
      families: [{ family: 'ipv4-unicast', forwardingState: true }],
    });
    const log = readFileSync(s.agentLog, 'utf8');
    expect(log).toMatch(/session down: keeping its routes for its graceful restart/);
    expect(log).toMatch(/neighbor back after a restart: its stale routes stay until its End-of-RIB/);
    console.log(`gobgp-restart: GoBGP restarting with the agent as helper: route kept in the kernel throughout; still stale when first seen after the new session: ${sawStale}`);
  }, 90_000);
});
