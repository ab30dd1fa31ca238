/**
 * The agent restarts (kill -9, then SIGTERM) with OpenBGPD 7.7 as the
 * RFC 4724 helper: OpenBGPD keeps the agent's route, stale, while the agent
 * is away (the agent's graceful restart capability names both families with
 * their forwarding state kept), and has it fresh again after the agent's
 * End-of-RIB. bgpd set up as in openbgpd.test.ts, the agent started detached
 * as in bird-restart.test.ts.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnDetachedAgent } from '../lab/helpers/agents.js';
import {
  ASN_A,
  ASN_B,
  HOLD_TIME,
  LAN_A,
  LAN_B,
  OPENBGPD,
  TUN_A,
  TUN_B,
  agentRoutes,
  createSite,
  missingPrerequisite,
  neighbors,
  startOpenbgpd,
  startPeerTunnel,
  tail,
  teardown,
  until,
  type Site,
} from './helpers/site.js';

const skip = missingPrerequisite([OPENBGPD, 'bgpctl']);
if (skip !== null) console.log(`interop/openbgpd-restart: skipped: ${skip}`);

function bgpdConfig(sock: string): string {
  return `AS ${ASN_B}
router-id 192.0.2.2
socket "${sock}"
fib-update no
listen on ${TUN_B.v4}
network ${LAN_B.v4}
neighbor ${TUN_A.v4} {
  remote-as ${ASN_A}
  descr "wgbgp"
  holdtime ${HOLD_TIME}
  local-address ${TUN_B.v4}
  announce IPv4 unicast
  ttl-security yes
}
allow from any
allow to any
`;
}

describe.skipIf(skip !== null)('interop: the agent restarts with OpenBGPD 7.7 as the graceful restart helper', () => {
  let site: Site | undefined;
  let b: { log: string; conf: string; bgpctl(...args: string[]): string } | undefined;
  let agentPid = 0;

  const obUp = (): boolean => {
    const j = JSON.parse(b!.bgpctl('-j', 'show', 'neighbor', TUN_A.v4)) as { neighbors: { state: string }[] };
    return j.neighbors[0]?.state === 'Established';
  };
  /** bgpctl's detail of our LAN, or null when OpenBGPD has no such route. */
  const obPath = (): string | null => {
    const out = b!.bgpctl('show', 'rib', 'detail', LAN_A.v4);
    return out.includes(LAN_A.v4) ? out : null;
  };
  const agentEstablished = (): boolean => neighbors(site!)[0]?.state === 'Established';
  const diagnostics = (): string => {
    let n = '';
    try {
      n = b!.bgpctl('show', 'neighbor', TUN_A.v4) + b!.bgpctl('show', 'rib', 'detail');
    } catch (e) {
      n = String(e);
    }
    return [n, tail(site!.agentLog), b ? tail(b.log) : ''].join('\n');
  };

  beforeAll(async () => {
    site = await createSite('og', 58);
    await startPeerTunnel(site);
    b = await startOpenbgpd(site, bgpdConfig);
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
