/**
 * RFC 9234 roles and OTC against FRR 8.4 over real WireGuard (wireguard-go),
 * FRR set up as in frr.test.ts. The agent is FRR's provider (`bgp.role:
 * provider`), FRR its customer (`neighbor X local-role customer`): the
 * session comes up with both roles shown, FRR's LAN is accepted, and FRR gets
 * our LAN with OTC = our AS (RFC 9234 §5 egress to a customer). Then FRR
 * becomes a `peer`: provider-peer is no allowed pair (§4.2), refused with
 * Role Mismatch on both sides.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASN_A, ASN_B, LAN_A, LAN_B, TUN_A, agentRoutes, cli, missingPrerequisite, until, type Frr, type Site } from './helpers/site.js';
import { FRR_PREREQUISITES, createFrrSite, frrBgpdConfig, frrDiagnostics, teardownFrrSite } from './helpers/frr.js';

const skip = missingPrerequisite(FRR_PREREQUISITES);
if (skip !== null) console.log(`interop/frr-roles: skipped: ${skip}`);

const bgpdConfig = (log: string): string => frrBgpdConfig(log, { session: ['ttl-security hops 1', 'local-role customer'] });

interface NeighborView {
  state: string;
  lastError: string | null;
  prefixesAccepted: number;
  session: { roles?: { local: string; peer: string | null } } | null;
}

describe.skipIf(skip !== null)('interop: BGP roles and OTC (RFC 9234) with FRR 8', () => {
  let site: Site | undefined;
  let frr: Frr | undefined;

  const peer = (): NeighborView => cli<NeighborView>(site!, 'neighbors', 'peer');
  const diagnostics = (): string => frrDiagnostics(site, frr);

  beforeAll(async () => {
    ({ site, frr } = await createFrrSite('fo', 49, { bgp: { role: 'provider' } }, bgpdConfig));
  }, 30_000);

  afterAll(async () => {
    await teardownFrrSite(site, frr);
  }, 30_000);

  it('provider-customer comes up; FRR\'s LAN is accepted; FRR gets our LAN with OTC 65001', async () => {
    const p = await until('Established with FRR\'s LAN', () => {
      const v = peer();
      return v.state === 'Established' && v.prefixesAccepted >= 1 ? v : null;
    }, 30_000, diagnostics);
    expect(p.session?.roles).toEqual({ local: 'provider', peer: 'customer' });
    await until(`${LAN_B.v4} installed`, () => agentRoutes(site!, '-4').some((r) => r.dst === LAN_B.v4), 10_000, diagnostics);
    const path = await until('our LAN at FRR', () => {
      const j = JSON.parse(frr!.vtysh(`show bgp ipv4 unicast ${LAN_A.v4} json`)) as { paths?: { otc?: number }[] };
      return j.paths?.[0];
    }, 10_000, diagnostics);
    expect(path.otc).toBe(ASN_A);
  }, 45_000);

  it('provider-peer is no allowed pair (RFC 9234 §4.2): the session is refused with Role Mismatch', async () => {
    frr!.vtysh('configure terminal', `router bgp ${ASN_B}`, `neighbor ${TUN_A.v4} local-role peer`);
    frr!.vtysh(`clear bgp ${TUN_A.v4}`);
    const refused = await until('a Role Mismatch', () => {
      const v = peer();
      return v.lastError !== null && /2\/11 Role Mismatch/.test(v.lastError) ? v : null;
    }, 30_000, diagnostics);
    expect(refused.state).not.toBe('Established');
    await new Promise((r) => setTimeout(r, 5_000));
    expect(peer().state).not.toBe('Established');
  }, 45_000);
});
