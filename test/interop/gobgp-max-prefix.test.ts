/**
 * Max-prefix against GoBGP 3.10 over real WireGuard (wireguard-go), gobgpd
 * set up as in gobgp.test.ts: GoBGP announces six IPv4 prefixes to an agent
 * whose neighbor has `max-prefix: {ipv4: 3, action: restart, restart-after:
 * 1}`. The agent tears the session down with Cease/Maximum Number of
 * Prefixes Reached (RFC 4486 §4), which GoBGP logs, and stays down while
 * GoBGP retries.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAN_B, agentRoutes, cli, missingPrerequisite, teardown, until, type Site } from './helpers/site.js';
import { GOBGP_PREREQUISITES, createGobgpSite, gobgpDiagnostics, gobgpdConfig, type Gobgp } from './helpers/gobgp.js';

const skip = missingPrerequisite(GOBGP_PREREQUISITES);
if (skip !== null) console.log(`interop/gobgp-max-prefix: skipped: ${skip}`);

const MANY = ['10.20.1.0/24', '10.20.2.0/24', '10.20.3.0/24', '10.20.4.0/24', '10.20.5.0/24'];

interface NeighborView {
  state: string;
  lastError: string | null;
  established: number;
  maxPrefix: { action: string; exceeded: { family: string; limit: number; accepted: number } | null; restartAt: string | null } | null;
}

describe.skipIf(skip !== null)('interop: max-prefix (RFC 4486 §4) with GoBGP 3', () => {
  let site: Site | undefined;
  let b: Gobgp | undefined;

  const peer = (): NeighborView => cli<NeighborView>(site!, 'neighbors', 'peer');
  const diagnostics = (): string => gobgpDiagnostics(site, b);

  beforeAll(async () => {
    ({ site, b } = await createGobgpSite('gm', 54, { bgp: { 'max-prefix': { ipv4: 3, action: 'restart', 'restart-after': 1 } } }, gobgpdConfig(), {
      setup: (g) => {
        for (const p of [LAN_B.v4, ...MANY]) g.gobgp('global', 'rib', '-a', 'ipv4', 'add', p);
      },
    }));
  }, 30_000);

  afterAll(async () => {
    await teardown(site);
  }, 30_000);

  it('six prefixes against a limit of three: the agent sends Cease 6/1; GoBGP logs it; the routes go', async () => {
    const seen = await until('the max-prefix teardown', () => {
      const p = peer();
      return p.maxPrefix?.restartAt ? p : null;
    }, 30_000, diagnostics);
    expect(seen).toMatchObject({
      state: 'Idle',
      lastError: 'sent 6/1 Maximum Number of Prefixes Reached: ipv4-unicast limit 3',
      maxPrefix: { action: 'restart', exceeded: { family: 'ipv4-unicast', limit: 3 } },
    });
    // RFC 4486 §4 data as GoBGP prints it: AFI 0 1, SAFI 1, upper bound 0 0 0 3.
    await until('GoBGP logged the Cease', () => /received notification" Code=6 Data="\[0 1 1 0 0 0 3\]" .*Subcode=1/.test(readFileSync(b!.log, 'utf8')), 10_000, diagnostics);
    expect(readFileSync(b!.log, 'utf8')).toContain('subcode 1(maximum number of prefixes reached)');
    const learned = new Set([...MANY, LAN_B.v4]);
    await until('no learned route left', () => !agentRoutes(site!, '-4').some((r) => learned.has(r.dst)), 10_000, diagnostics);
  }, 40_000);

  it('the session stays down while GoBGP retries (connect-retry 2 s)', async () => {
    await new Promise((r) => setTimeout(r, 8_000));
    expect(peer()).toMatchObject({ state: 'Idle', established: 1 });
  }, 20_000);
});
