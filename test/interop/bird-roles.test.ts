/**
 * RFC 9234 roles and OTC against BIRD 2 over real WireGuard (wireguard-go), as
 * in bird.test.ts. The agent is BIRD's provider (`bgp.role: provider`), BIRD
 * its customer (`local role customer`). BIRD sends its LAN and a leak: a route
 * its export filter marks with OTC 65099, which a customer may not send up
 * (RFC 9234 §5) — the agent keeps it ineligible. BIRD gets our LAN with OTC =
 * our AS (§5 egress). Then BIRD becomes a `peer`: provider-peer is no allowed
 * pair (§4.2), and the session is refused with Role Mismatch.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASN_A, CLI, LAN_A, LAN_B, agentRoutes, missingPrerequisite, teardown, until, type Site } from './helpers/site.js';
import { BIRD_PREREQUISITES, birdBgpConfig, birdcAt, birdDiagnostics, createBirdSite, type Bird } from './helpers/bird.js';

const skip = missingPrerequisite(BIRD_PREREQUISITES);
if (skip !== null) console.log(`interop/bird-roles: skipped: ${skip}`);

const LEAK = '10.30.0.0/24';

const birdConfig = (log: string, role: 'customer' | 'peer'): string =>
  birdBgpConfig(log, {
    protocols: [`protocol static lan4 { ipv4; route ${LAN_B.v4} via "lan0"; route ${LEAK} via "lan0"; }`],
    peer: [`local role ${role};`],
    connectDelay: null,
    // OTC set after BIRD's own egress check: a leak as a misbehaving customer would send it.
    ipv4: `import all; export filter { if net = ${LEAK} then bgp_otc = 65099; if source = RTS_STATIC then accept; reject; };`,
  });

interface NeighborView {
  state: string;
  lastError: string | null;
  prefixesReceived: number;
  prefixesAccepted: number;
  session: { roles?: { local: string; peer: string | null } } | null;
}

describe.skipIf(skip !== null)('interop: BGP roles and OTC (RFC 9234) with BIRD 2', () => {
  let site: Site | undefined;
  let bird: Bird | undefined;

  const birdc = (...args: string[]): string => birdcAt(bird!.ctl, ...args);
  const peer = (): NeighborView => {
    const r = spawnSync(process.execPath, [CLI, 'neighbors', 'peer', '--json', '--socket', site!.sock], { encoding: 'utf8', timeout: 10_000 });
    return JSON.parse(r.stdout) as NeighborView;
  };
  const diagnostics = (): string => birdDiagnostics(site, bird);

  beforeAll(async () => {
    ({ site, bird } = await createBirdSite('bo', 45, { bgp: { role: 'provider' } }, (log) => birdConfig(log, 'customer')));
  }, 30_000);

  afterAll(async () => {
    await teardown(site);
  }, 30_000);

  it('provider-customer comes up; the route BIRD sends with OTC is not accepted, its LAN is; BIRD gets our LAN with OTC 65001', async () => {
    const p = await until('Established with both routes received', () => {
      const v = peer();
      return v.state === 'Established' && v.prefixesReceived >= 2 ? v : null;
    }, 30_000, diagnostics);
    expect(p.session?.roles).toEqual({ local: 'provider', peer: 'customer' });
    expect(p).toMatchObject({ prefixesReceived: 2, prefixesAccepted: 1 });
    await until(`${LAN_B.v4} installed`, () => agentRoutes(site!, '-4').some((r) => r.dst === LAN_B.v4), 10_000, diagnostics);
    expect(agentRoutes(site!, '-4').some((r) => r.dst === LEAK)).toBe(false);
    const ours = await until('our LAN at BIRD', () => {
      const out = birdc('show', 'route', LAN_A.v4, 'protocol', 'wgbgp', 'all');
      return out.includes(LAN_A.v4) ? out : null;
    }, 10_000, diagnostics);
    expect(ours).toMatch(new RegExp(`BGP\\.otc:\\s+${ASN_A}\\b`));
  }, 45_000);

  it('provider-peer is no allowed pair (RFC 9234 §4.2): the session is refused with Role Mismatch', async () => {
    writeFileSync(bird!.conf, birdConfig(bird!.log, 'peer'));
    expect(birdc('configure')).toMatch(/Reconfigur/i);
    const refused = await until('a Role Mismatch', () => {
      const v = peer();
      return v.lastError !== null && /2\/11 Role Mismatch/.test(v.lastError) ? v : null;
    }, 30_000, diagnostics);
    expect(refused.state).not.toBe('Established');
    expect(birdc('show', 'protocols', 'all', 'wgbgp')).toMatch(/role mismatch/i);
    // Retries on both sides keep failing the same way.
    await new Promise((r) => setTimeout(r, 5_000));
    expect(peer().state).not.toBe('Established');
  }, 45_000);
});
