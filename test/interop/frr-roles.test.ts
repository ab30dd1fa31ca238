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
import {
  ASN_A,
  ASN_B,
  FRR_BGPD,
  FRR_ZEBRA,
  HOLD_TIME,
  LAN_A,
  LAN_B,
  TUN_A,
  agentRoutes,
  cli,
  createSite,
  missingPrerequisite,
  startAgent,
  startFrr,
  startPeerTunnel,
  tail,
  teardown,
  until,
  type Frr,
  type Site,
} from './helpers/site.js';

const skip = missingPrerequisite([FRR_ZEBRA, FRR_BGPD, 'vtysh']);
if (skip !== null) console.log(`interop/frr-roles: skipped: ${skip}`);

function bgpdConfig(log: string): string {
  return `frr defaults datacenter
hostname b
log file ${log}
!
router bgp ${ASN_B}
 bgp router-id 192.0.2.2
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor ${TUN_A.v4} remote-as ${ASN_A}
 neighbor ${TUN_A.v4} timers ${HOLD_TIME / 3} ${HOLD_TIME}
 neighbor ${TUN_A.v4} timers connect 2
 neighbor ${TUN_A.v4} ttl-security hops 1
 neighbor ${TUN_A.v4} local-role customer
 !
 address-family ipv4 unicast
  network ${LAN_B.v4}
 exit-address-family
!
`;
}

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
  const diagnostics = (): string => {
    let n = '';
    try {
      n = frr!.vtysh(`show bgp neighbors ${TUN_A.v4}`);
    } catch (e) {
      n = String(e);
    }
    return [n, tail(site!.agentLog), frr ? tail(frr.log) : ''].join('\n');
  };

  beforeAll(async () => {
    site = await createSite('fo', 49, { bgp: { role: 'provider' } });
    await startPeerTunnel(site);
    frr = await startFrr(site, bgpdConfig);
    startAgent(site);
  }, 30_000);

  afterAll(async () => {
    await teardown(site, () => frr?.cleanup());
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
