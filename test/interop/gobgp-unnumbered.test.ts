/**
 * BGP unnumbered (RFC 8950) with GoBGP 3.10 over real WireGuard
 * (wireguard-go): the agent's neighbor has no `tunnel`, both ends use the
 * link-locals derived from the two public keys (B's set by hand, as in
 * bird-unnumbered.test.ts); gobgpd peers with our link-local, scoped to its
 * tunnel interface (`neighbor-address = "LL%IF"`). One session carries both
 * families; GoBGP negotiates extended next hop by itself there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkLocalPair } from '#wg/linklocal';
import { LAN_B, cli, agentRoutes, learnedRoutes, missingPrerequisite, teardown, until, type Site } from './helpers/site.js';
import { GOBGP_PREREQUISITES, createGobgpSite, gobgpDiagnostics, gobgpdConfig, type Gobgp } from './helpers/gobgp.js';

const skip = missingPrerequisite(GOBGP_PREREQUISITES);
if (skip !== null) console.log(`interop/gobgp-unnumbered: skipped: ${skip}`);

/** GoBGP peers with the agent's derived link-local on its tunnel interface. */
const config = (site: Site): string =>
  gobgpdConfig({ neighbor: `${linkLocalPair(site.pubA, site.pubB).local.replace(/\/64$/, '')}%${site.ifB}`, families: ['ipv4-unicast', 'ipv6-unicast'] });

describe.skipIf(skip !== null)('interop: BGP unnumbered (RFC 8950) with GoBGP 3', () => {
  let site: Site | undefined;
  let b: Gobgp | undefined;
  let ll = { local: '', remote: '' };

  const peer = (): { state: string; peerAddress: string; session: { families: string[]; extendedNextHop: boolean } | null } => cli(site!, 'neighbors', 'peer');
  const diagnostics = (): string => gobgpDiagnostics(site, b, ['neighbor']);

  beforeAll(async () => {
    ({ site, b } = await createGobgpSite('gu', 53, { unnumbered: true }, config, {
      setup: (g, s) => {
        g.gobgp('global', 'rib', '-a', 'ipv4', 'add', LAN_B.v4);
        g.gobgp('global', 'rib', '-a', 'ipv6', 'add', LAN_B.v6, 'nexthop', linkLocalPair(s.pubA, s.pubB).remote);
      },
    }));
    ll = linkLocalPair(site.pubA, site.pubB);
  }, 30_000);

  afterAll(async () => {
    await teardown(site);
  }, 30_000);

  it('one session between the derived link-locals, both families', async () => {
    await until('Established', () => peer().state === 'Established', 30_000, diagnostics);
    expect(peer()).toMatchObject({ peerAddress: ll.remote, session: { families: ['ipv4-unicast', 'ipv6-unicast'], extendedNextHop: true } });
  }, 40_000);

  it("GoBGP's routes reach us; its IPv4 route in A's kernel via its link-local", async () => {
    await until('both routes', () => learnedRoutes(site!).filter((r) => r.prefix === LAN_B.v4 || r.prefix === LAN_B.v6).length === 2, 15_000, diagnostics);
    // RFC 8950: GoBGP's IPv4 route via its link-local (RTA_VIA inet6).
    expect(agentRoutes(site!, '-4').find((r) => r.dst === LAN_B.v4)).toMatchObject({ dev: site!.ifA, via: { family: 'inet6', host: ll.remote } });
  }, 30_000);

  it('GoBGP took both of ours (received 2, accepted 2)', async () => {
    await until('our routes at GoBGP', () => /Establ\s+\|\s+2\s+2/.test(b!.gobgp('neighbor')), 15_000, diagnostics);
  }, 30_000);
});
