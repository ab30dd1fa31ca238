/**
 * RFC 9234 roles and OTC against OpenBGPD 7.7 over real WireGuard
 * (wireguard-go), bgpd set up as in openbgpd.test.ts. The agent is the
 * provider (`bgp.role: provider`), OpenBGPD its customer (`announce policy
 * customer`): the session comes up with both roles, OpenBGPD's route is
 * accepted, and OpenBGPD gets ours with OTC = our AS (RFC 9234 §5 egress to
 * a customer). Then OpenBGPD announces `peer` with `enforce`: provider-peer is
 * no allowed pair (§4.2), the session is refused with Role Mismatch.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASN_A, LAN_A, LAN_B, TUN_A, cli, learnedRoutes, missingPrerequisite, teardown, until, type Site } from './helpers/site.js';
import { OPENBGPD_PREREQUISITES, createOpenbgpdSite, openbgpdConfig, openbgpdDiagnostics, type Openbgpd } from './helpers/openbgpd.js';

const skip = missingPrerequisite(OPENBGPD_PREREQUISITES);
if (skip !== null) console.log(`interop/openbgpd-roles: skipped: ${skip}`);

const bgpdConfig = (role: string) => (sock: string): string => openbgpdConfig(sock, { session: ['announce IPv4 unicast', `announce policy ${role}`] });

interface NeighborView {
  state: string;
  lastError: string | null;
  session: { roles?: { local: string; peer: string | null } } | null;
}

describe.skipIf(skip !== null)('interop: BGP roles and OTC (RFC 9234) with OpenBGPD 7.7', () => {
  let site: Site | undefined;
  let b: Openbgpd | undefined;

  const peer = (): NeighborView => cli<NeighborView>(site!, 'neighbors', 'peer');
  const diagnostics = (): string => openbgpdDiagnostics(site, b, ['show', 'neighbor', TUN_A.v4], ['show', 'rib', 'in', 'detail'], ['show', 'rib', 'detail']);

  beforeAll(async () => {
    ({ site, b } = await createOpenbgpdSite('or', 55, { bgp: { role: 'provider' } }, bgpdConfig('customer')));
  }, 30_000);

  afterAll(async () => {
    await teardown(site);
  }, 30_000);

  it('provider-customer comes up; its route is accepted; it gets ours with OTC 65001', async () => {
    await until('Established with its route', () => peer().state === 'Established' && learnedRoutes(site!).some((r) => r.prefix === LAN_B.v4), 30_000, diagnostics);
    expect(peer().session?.roles).toEqual({ local: 'provider', peer: 'customer' });
    const detail = await until('our route at OpenBGPD', () => {
      const out = b!.bgpctl('show', 'rib', 'detail', LAN_A.v4);
      return out.includes(LAN_A.v4) ? out : null;
    }, 15_000, diagnostics);
    expect(detail).toMatch(new RegExp(`OTC:? ${ASN_A}\\b`));
  }, 45_000);

  it('provider-peer is no allowed pair (RFC 9234 §4.2): refused with Role Mismatch', async () => {
    writeFileSync(b!.conf, bgpdConfig('peer enforce')(`${site!.dir}/bgpd.sock`), { mode: 0o600 });
    b!.bgpctl('reload');
    b!.bgpctl('neighbor', TUN_A.v4, 'clear');
    const refused = await until('a Role Mismatch', () => {
      const v = peer();
      return v.lastError !== null && /2\/11 Role Mismatch/.test(v.lastError) ? v : null;
    }, 30_000, diagnostics);
    expect(refused.state).not.toBe('Established');
    await new Promise((r) => setTimeout(r, 5_000));
    expect(peer().state).not.toBe('Established');
  }, 45_000);
});
