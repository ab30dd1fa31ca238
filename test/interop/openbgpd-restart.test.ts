/**
 * The agent restarts (kill -9, then SIGTERM) with OpenBGPD 7.7 as the
 * RFC 4724 helper: OpenBGPD keeps the agent's route, stale, while the agent
 * is away (the agent's graceful restart capability names both families with
 * their forwarding state kept), and has it fresh again after the agent's
 * End-of-RIB. bgpd from helpers/openbgpd.ts (GTSM on), the agent started
 * detached as in bird-restart.test.ts.
 *
 * OpenBGPD connects again within a millisecond of our session's end, so each
 * restart may find its SYN answered by the dying agent's listener. Such a
 * handshake must end with a reset it accepts (TTL 255), or it sits in
 * OpenSent for 4 minutes refusing the restarted agent: what this file caught
 * once in CI and 1 run in 8 here, before the stop drained its handshakes and
 * the host route to the peer got hop limit 255 (stop-handshake.test.ts holds
 * such a handshake on purpose).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnDetachedAgent } from '../lab/helpers/agents.js';
import { LAN_A, LAN_B, TUN_A, agentRoutes, missingPrerequisite, neighbors, teardown, until, type Site } from './helpers/site.js';
import { OPENBGPD_PREREQUISITES, createOpenbgpdSite, openbgpdConfig, openbgpdDiagnostics, openbgpdNeighbor, type Openbgpd } from './helpers/openbgpd.js';

const skip = missingPrerequisite(OPENBGPD_PREREQUISITES);
if (skip !== null) console.log(`interop/openbgpd-restart: skipped: ${skip}`);

describe.skipIf(skip !== null)('interop: the agent restarts with OpenBGPD 7.7 as the graceful restart helper', () => {
  let site: Site | undefined;
  let b: Openbgpd | undefined;
  let agentPid = 0;

  const obUp = (): boolean => openbgpdNeighbor<{ state: string }>(b!).state === 'Established';
  /** bgpctl's detail of our LAN, or null when OpenBGPD has no such route. */
  const obPath = (): string | null => {
    const out = b!.bgpctl('show', 'rib', 'detail', LAN_A.v4);
    return out.includes(LAN_A.v4) ? out : null;
  };
  const agentEstablished = (): boolean => neighbors(site!)[0]?.state === 'Established';
  const diagnostics = (): string => openbgpdDiagnostics(site, b, ['show', 'neighbor', TUN_A.v4], ['show', 'rib', 'detail']);

  beforeAll(async () => {
    ({ site, b } = await createOpenbgpdSite('og', 58, {}, (sock) => openbgpdConfig(sock), { startAgent: false }));
    agentPid = spawnDetachedAgent(site.nsA, site.agentConfig, site.agentLog);
    await until('Established both ways', () => agentEstablished() && obUp(), 30_000, diagnostics);
    await until('routes both ways', () => agentRoutes(site!, '-4').some((r) => r.dst === LAN_B.v4) && obPath() !== null, 15_000, diagnostics);
  }, 60_000);

  afterAll(async () => {
    if (agentPid > 0) {
      try {
        process.kill(agentPid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await teardown(site);
  }, 30_000);

  it('kill -9 and SIGTERM: OpenBGPD keeps our route stale while we are away, fresh after our End-of-RIB', async () => {
    const s = site!;
    for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
      const done = readFileSync(s.agentLog, 'utf8').split('restart complete').length;
      process.kill(agentPid, signal);
      await until('agent gone', () => {
        try {
          process.kill(agentPid, 0);
          return false;
        } catch {
          return true;
        }
      }, 15_000);
      await until('OpenBGPD keeps our route, stale', () => !obUp() && /stale/.test(obPath() ?? ''), 15_000, diagnostics);
      agentPid = spawnDetachedAgent(s.nsA, s.agentConfig, s.agentLog);
      await until(
        'Established again, restart complete, our route fresh at OpenBGPD',
        () => agentEstablished() && obUp() && readFileSync(s.agentLog, 'utf8').split('restart complete').length > done && obPath() !== null && !/stale/.test(obPath()!),
        30_000,
        diagnostics,
      );
    }
    expect(obPath()).not.toBeNull();
  }, 120_000);
});
