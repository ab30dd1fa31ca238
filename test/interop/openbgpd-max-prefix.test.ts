/**
 * Max-prefix against OpenBGPD 7.7 over real WireGuard (wireguard-go), bgpd
 * set up as in openbgpd.test.ts: OpenBGPD announces six IPv4 networks to an
 * agent whose neighbor has `max-prefix: {ipv4: 3, action: restart,
 * restart-after: 1}`. The agent tears the session down with Cease/Maximum
 * Number of Prefixes Reached (RFC 4486 §4), which OpenBGPD shows as the last
 * error received, and stays down even when OpenBGPD's own IdleHold wait is
 * cut short (`bgpctl neighbor X clear`) and it connects again.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAN_B, TUN_A, agentRoutes, cli, missingPrerequisite, teardown, until, type Site } from './helpers/site.js';
import { OPENBGPD_PREREQUISITES, createOpenbgpdSite, openbgpdConfig, openbgpdDiagnostics, type Openbgpd } from './helpers/openbgpd.js';

const skip = missingPrerequisite(OPENBGPD_PREREQUISITES);
if (skip !== null) console.log(`interop/openbgpd-max-prefix: skipped: ${skip}`);

const MANY = ['10.20.1.0/24', '10.20.2.0/24', '10.20.3.0/24', '10.20.4.0/24', '10.20.5.0/24'];

const bgpdConfig = (sock: string): string => openbgpdConfig(sock, { networks: [LAN_B.v4, ...MANY].map((p) => `network ${p}`) });

interface NeighborView {
  state: string;
  lastError: string | null;
  established: number;
  maxPrefix: { action: string; exceeded: { family: string; limit: number; accepted: number } | null; restartAt: string | null } | null;
}

describe.skipIf(skip !== null)('interop: max-prefix (RFC 4486 §4) with OpenBGPD 7.7', () => {
  let site: Site | undefined;
  let b: Openbgpd | undefined;

  const peer = (): NeighborView => cli<NeighborView>(site!, 'neighbors', 'peer');
  const obNeighbor = (): string => b!.bgpctl('show', 'neighbor', TUN_A.v4);
  const diagnostics = (): string => openbgpdDiagnostics(site, b);

  beforeAll(async () => {
    ({ site, b } = await createOpenbgpdSite('om', 95, { bgp: { 'max-prefix': { ipv4: 3, action: 'restart', 'restart-after': 1 } } }, bgpdConfig));
  }, 30_000);

  afterAll(async () => {
    await teardown(site);
  }, 30_000);

  it('six prefixes against a limit of three: the agent sends Cease 6/1; OpenBGPD shows it; the routes go', async () => {
    const seen = await until('the max-prefix teardown', () => {
      const p = peer();
      return p.maxPrefix?.restartAt ? p : null;
    }, 30_000, diagnostics);
    expect(seen).toMatchObject({
      state: 'Idle',
      lastError: 'sent 6/1 Maximum Number of Prefixes Reached: ipv4-unicast limit 3',
      maxPrefix: { action: 'restart', exceeded: { family: 'ipv4-unicast', limit: 3 } },
    });
    const shown = await until('OpenBGPD shows the Cease', () => {
      const n = obNeighbor();
      return /Last error received:/i.test(n) ? n : null;
    }, 10_000, diagnostics);
    // OpenBGPD 7.7 names subcode 1 ("received max-prefix exceeded") and shows no data; the AFI/SAFI/limit
    // data is our side's lastError above (encoded per RFC 4486 §4: test/vectors/bgp/notification/max-prefix-ipv4.hex).
    expect(shown).toMatch(/^\s*Last error received: Cease, received max-prefix exceeded$/m);
    expect(readFileSync(b!.log, 'utf8')).toMatch(/received notification: Cease, received max-prefix exceeded/);
    const learned = new Set([...MANY, LAN_B.v4]);
    await until('no learned route left', () => !agentRoutes(site!, '-4').some((r) => learned.has(r.dst)), 10_000, diagnostics);
  }, 40_000);

  it('the session stays down while OpenBGPD connects again (its IdleHold cut short by `bgpctl neighbor X clear`)', async () => {
    const obLog = (): string => readFileSync(b!.log, 'utf8');
    const established = (): number => obLog().match(/state change \S+ -> Established/g)?.length ?? 0;
    expect(established()).toBe(1);
    const tries = obLog().match(/state change Idle -> (Connect|Active)/g)?.length ?? 0;
    b!.bgpctl('neighbor', TUN_A.v4, 'clear');
    await until('OpenBGPD tries again', () => (obLog().match(/state change Idle -> (Connect|Active)/g)?.length ?? 0) > tries, 20_000, diagnostics);
    await new Promise((r) => setTimeout(r, 8_000));
    expect(peer()).toMatchObject({ state: 'Idle', established: 1 });
    expect(obNeighbor()).not.toMatch(/BGP state = Established/);
    expect(established()).toBe(1);
  }, 45_000);
});
