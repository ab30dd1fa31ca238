/**
 * Max-prefix against FRR 8.4 over real WireGuard (wireguard-go), FRR set up
 * as in frr.test.ts: FRR announces six IPv4 prefixes to an agent whose
 * neighbor has `max-prefix: {ipv4: 3, action: restart, restart-after: 1}`.
 * The agent tears the session down with Cease/Maximum Number of Prefixes
 * Reached (RFC 4486 §4: AFI 1, SAFI 1, limit 3), which FRR shows as the
 * NOTIFICATION it received, and stays down while FRR retries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAN_B, TUN_A, agentRoutes, cli, missingPrerequisite, until, type Frr, type Site } from './helpers/site.js';
import { FRR_PREREQUISITES, createFrrSite, frrBgpdConfig, frrDiagnostics, frrNeighborJson, teardownFrrSite } from './helpers/frr.js';

const skip = missingPrerequisite(FRR_PREREQUISITES);
if (skip !== null) console.log(`interop/frr-max-prefix: skipped: ${skip}`);

const MANY = ['10.20.1.0/24', '10.20.2.0/24', '10.20.3.0/24', '10.20.4.0/24', '10.20.5.0/24'];

const bgpdConfig = (log: string): string => frrBgpdConfig(log, { ipv4: [LAN_B.v4, ...MANY].map((p) => `network ${p}`) });

interface NeighborView {
  state: string;
  lastError: string | null;
  established: number;
  maxPrefix: { action: string; exceeded: { family: string; limit: number; accepted: number } | null; restartAt: string | null } | null;
}

interface FrrNeighbor {
  bgpState: string;
}

describe.skipIf(skip !== null)('interop: max-prefix (RFC 4486 §4) with FRR 8', () => {
  let site: Site | undefined;
  let frr: Frr | undefined;

  const peer = (): NeighborView => cli<NeighborView>(site!, 'neighbors', 'peer');
  const frrNeighbor = (): FrrNeighbor => frrNeighborJson<FrrNeighbor>(frr!);
  const diagnostics = (): string => frrDiagnostics(site, frr);

  beforeAll(async () => {
    ({ site, frr } = await createFrrSite('fm', 51, { bgp: { 'max-prefix': { ipv4: 3, action: 'restart', 'restart-after': 1 } } }, bgpdConfig));
  }, 30_000);

  afterAll(async () => {
    await teardownFrrSite(site, frr);
  }, 30_000);

  it('six prefixes against a limit of three: the agent sends Cease 6/1 with AFI 1, SAFI 1, limit 3; FRR shows it', async () => {
    const seen = await until('the max-prefix teardown', () => {
      const p = peer();
      return p.maxPrefix?.restartAt ? p : null;
    }, 30_000, diagnostics);
    expect(seen).toMatchObject({
      state: 'Idle',
      lastError: 'sent 6/1 Maximum Number of Prefixes Reached: ipv4-unicast limit 3',
      maxPrefix: { action: 'restart', exceeded: { family: 'ipv4-unicast', limit: 3 } },
    });
    await until('FRR saw the Cease', () => /Maximum Number of Prefixes Reached/i.test(frr!.vtysh(`show bgp neighbors ${TUN_A.v4}`)), 10_000, diagnostics);
    expect(frr!.vtysh(`show bgp neighbors ${TUN_A.v4}`)).toMatch(/Last reset .*Notification received \(Cease\/Maximum Number of Prefixes Reached\)/);
    const learned = new Set([...MANY, LAN_B.v4]);
    await until('no learned route left', () => !agentRoutes(site!, '-4').some((r) => learned.has(r.dst)), 10_000, diagnostics);
  }, 40_000);

  it('the session stays down while FRR retries (connect timer 2 s)', async () => {
    await new Promise((r) => setTimeout(r, 8_000));
    expect(peer()).toMatchObject({ state: 'Idle', established: 1 });
    expect(frrNeighbor().bgpState).not.toBe('Established');
  }, 20_000);
});
