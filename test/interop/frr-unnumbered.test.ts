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
import { LAN_A, LAN_B, cli, missingPrerequisite, until, type Frr, type Site } from './helpers/site.js';
import { FRR_PREREQUISITES, createFrrSite, frrBgpdConfig, frrDiagnostics, frrPaths, teardownFrrSite } from './helpers/frr.js';

const skip = missingPrerequisite(FRR_PREREQUISITES);
if (skip !== null) console.log(`interop/frr-unnumbered: skipped: ${skip}`);

/** FRR peers with the agent's derived link-local on its tunnel interface. */
function bgpdConfig(log: string, site: Site): string {
  const n = linkLocalPair(site.pubA, site.pubB).local.replace(/\/64$/, '');
  return frrBgpdConfig(log, {
    neighbor: n,
    session: [`interface ${site.ifB}`, 'capability extended-nexthop', 'ttl-security hops 1'],
    ipv4: [`network ${LAN_B.v4}`, `neighbor ${n} activate`],
    ipv6: [`network ${LAN_B.v6}`, `neighbor ${n} activate`],
  });
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
    frrPaths<{ nexthops?: { ip?: string; afi?: string; scope?: string }[] }>(frr!, prefix, afi)[0];
  const diagnostics = (): string => frrDiagnostics(site, frr, 'show bgp summary');

  beforeAll(async () => {
    ({ site, frr } = await createFrrSite('fu', 52, { unnumbered: true }, bgpdConfig));
    ll = linkLocalPair(site.pubA, site.pubB);
  }, 30_000);

  afterAll(async () => {
    await teardownFrrSite(site, frr);
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
