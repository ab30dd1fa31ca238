/**
 * BGP unnumbered (RFC 8950) with FRR 8.4 over real WireGuard (wireguard-go):
 * the agent's neighbor has no `tunnel`, both ends use the link-locals derived
 * from the two public keys (B's set by hand, as in bird-unnumbered.test.ts);
 * FRR peers with our link-local on its tunnel interface with the extended
 * next hop capability. One session carries both families; IPv4 routes go
 * with IPv6 next hops both ways.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkLocalPair } from '#wg/linklocal';
import {
  ASN_A,
  ASN_B,
  FRR_BGPD,
  FRR_ZEBRA,
  HOLD_TIME,
  LAN_A,
  LAN_B,
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
if (skip !== null) console.log(`interop/frr-unnumbered: skipped: ${skip}`);

function bgpdConfig(site: Site, peerLinkLocal: string): (log: string) => string {
  const n = peerLinkLocal;
  return (log) => `frr defaults datacenter
hostname b
log file ${log}
!
router bgp ${ASN_B}
 bgp router-id 192.0.2.2
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor ${n} remote-as ${ASN_A}
 neighbor ${n} interface ${site.ifB}
 neighbor ${n} capability extended-nexthop
 neighbor ${n} timers ${HOLD_TIME / 3} ${HOLD_TIME}
 neighbor ${n} timers connect 2
 neighbor ${n} ttl-security hops 1
 !
 address-family ipv4 unicast
  network ${LAN_B.v4}
  neighbor ${n} activate
 exit-address-family
 address-family ipv6 unicast
  network ${LAN_B.v6}
  neighbor ${n} activate
 exit-address-family
!
`;
}

interface IpRoute {
  dst: string;
  dev?: string;
  gateway?: string;
  via?: { family: string; host: string };
}

describe.skipIf(skip !== null)('interop: BGP unnumbered (RFC 8950) with FRR 8', () => {
  let site: Site | undefined;
  let frr: Frr | undefined;
  let ll = { local: '', remote: '' };

  const peer = (): { state: string; peerAddress: string; session: { families: string[]; extendedNextHop: boolean } | null } => cli(site!, 'neighbors', 'peer');
  const routes = (family: '-4' | '-6'): IpRoute[] =>
    JSON.parse(execFileSync('ip', ['-n', site!.nsA, family, '-j', 'route', 'show', 'proto', '201'], { encoding: 'utf8' }).trim() || '[]') as IpRoute[];
  const frrPath = (afi: 'ipv4' | 'ipv6', prefix: string): { nexthops?: { ip?: string; afi?: string; scope?: string }[] } | undefined =>
    (JSON.parse(frr!.vtysh(`show bgp ${afi} unicast ${prefix} json`)) as { paths?: { nexthops?: { ip?: string; afi?: string; scope?: string }[] }[] }).paths?.[0];
  const diagnostics = (): string => {
    let n = '';
    try {
      n = frr!.vtysh('show bgp summary');
    } catch (e) {
      n = String(e);
    }
    return [n, tail(site!.agentLog), frr ? tail(frr.log) : ''].join('\n');
  };

  beforeAll(async () => {
    site = await createSite('fu', 52, { unnumbered: true });
    ll = linkLocalPair(site.pubA, site.pubB);
    await startPeerTunnel(site, { unnumbered: true });
    frr = await startFrr(site, bgpdConfig(site, ll.local.replace(/\/64$/, '')));
    startAgent(site);
  }, 30_000);

  afterAll(async () => {
    await teardown(site, () => frr?.cleanup());
  }, 30_000);

  it('one session between the derived link-locals, both families, extended next hop negotiated', async () => {
    await until('Established', () => peer().state === 'Established', 30_000, diagnostics);
    expect(peer()).toMatchObject({ peerAddress: ll.remote, session: { families: ['ipv4-unicast', 'ipv6-unicast'], extendedNextHop: true } });
  }, 40_000);

  it("RFC 8950: FRR's IPv4 route is in A's kernel via FRR's link-local (RTA_VIA inet6), its IPv6 route via the same", async () => {
    await until('both routes in the kernel', () => routes('-4').some((r) => r.dst === LAN_B.v4) && routes('-6').some((r) => r.dst === LAN_B.v6), 15_000, diagnostics);
    expect(routes('-4').find((r) => r.dst === LAN_B.v4)).toMatchObject({ dev: site!.ifA, via: { family: 'inet6', host: ll.remote } });
    expect(routes('-6').find((r) => r.dst === LAN_B.v6)).toMatchObject({ dev: site!.ifA, gateway: ll.remote });
  }, 30_000);

  it('RFC 8950: FRR takes our IPv4 route with our link-local as its IPv6 next hop, and the IPv6 one', async () => {
    const ours = ll.local.replace(/\/64$/, '');
    const v4 = await until('our IPv4 route at FRR', () => frrPath('ipv4', LAN_A.v4), 15_000, diagnostics);
    expect(v4.nexthops?.some((h) => h.afi === 'ipv6' && h.ip === ours)).toBe(true);
    const v6 = await until('our IPv6 route at FRR', () => frrPath('ipv6', LAN_A.v6), 15_000, diagnostics);
    expect(v6.nexthops?.some((h) => h.ip === ours)).toBe(true);
  }, 30_000);
});
