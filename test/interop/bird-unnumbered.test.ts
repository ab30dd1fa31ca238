/**
 * BGP unnumbered (RFC 8950) with BIRD 2 over real WireGuard (wireguard-go):
 * the agent's neighbor has no `tunnel`, so both ends use the IPv6 link-locals
 * derived from the two public keys (design.md "Tunnel addressing"); B's
 * tunnel carries only its derived link-local, set by hand. One BGP session
 * between the link-locals carries IPv4 and IPv6 unicast; IPv4 routes go with
 * IPv6 next hops both ways (BIRD's `extended next hop`).
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkLocalPair } from '#wg/linklocal';
import { ASN_B, LAN_A, LAN_B, cli, missingPrerequisite, pingFromA, tail, teardown, until, type Site } from './helpers/site.js';
import { BIRD_PREREQUISITES, birdBgpConfig, birdcAt, createBirdSite, type Bird } from './helpers/bird.js';

const skip = missingPrerequisite(BIRD_PREREQUISITES);
if (skip !== null) console.log(`interop/bird-unnumbered: skipped: ${skip}`);

/** BIRD peers with the agent's derived link-local on its tunnel interface. */
const birdConfig = (log: string, site: Site): string =>
  birdBgpConfig(log, {
    protocols: [
      `protocol static lan4 { ipv4; route ${LAN_B.v4} via "lan0"; }`,
      `protocol static lan6 { ipv6; route ${LAN_B.v6} via "lan0"; }`,
      'protocol kernel k4 { ipv4 { import none; export where source = RTS_BGP; }; }',
      'protocol kernel k6 { ipv6 { import none; export where source = RTS_BGP; }; }',
    ],
    local: `local as ${ASN_B}`,
    neighbor: linkLocalPair(site.pubA, site.pubB).local.replace(/\/64$/, ''),
    peer: [`interface "${site.ifB}";`],
    ipv4: 'extended next hop on; import all; export where source = RTS_STATIC;',
    ipv6: 'import all; export where source = RTS_STATIC;',
  });

interface IpRoute {
  dst: string;
  dev?: string;
  gateway?: string;
  via?: { family: string; host: string };
}

describe.skipIf(skip !== null)('interop: BGP unnumbered (RFC 8950) with BIRD 2', () => {
  let site: Site | undefined;
  let bird: Bird | undefined;
  let ll = { local: '', remote: '' };

  const birdc = (...args: string[]): string => birdcAt(bird!.ctl, ...args);
  const peer = (): { state: string; peerAddress: string; prefixesAccepted: number; session: { families: string[]; extendedNextHop: boolean } | null } =>
    cli(site!, 'neighbors', 'peer');
  const routes = (family: '-4' | '-6'): IpRoute[] =>
    JSON.parse(execFileSync('ip', ['-n', site!.nsA, family, '-j', 'route', 'show', 'proto', '201'], { encoding: 'utf8' }).trim() || '[]') as IpRoute[];
  const diagnostics = (): string => {
    let protocols = '';
    try {
      protocols = birdc('show', 'protocols', 'all', 'wgbgp');
    } catch (e) {
      protocols = String(e);
    }
    let ours = '';
    try {
      ours = `${JSON.stringify(cli(site!, 'routes'))}\n${JSON.stringify(routes('-4'))}\n${JSON.stringify(routes('-6'))}`;
    } catch (e) {
      ours = String(e);
    }
    return [protocols, ours, site ? tail(site.agentLog) : '', (bird ? tail(bird.log) : '')].join('\n');
  };

  beforeAll(async () => {
    ({ site, bird } = await createBirdSite('bu', 50, { unnumbered: true }, birdConfig));
    // A's end of the pair is B's peer; B's end is what A calls the remote.
    ll = linkLocalPair(site.pubA, site.pubB);
  }, 30_000);

  afterAll(async () => {
    await teardown(site);
  }, 30_000);

  it('one session between the derived link-locals, both families, extended next hop negotiated', async () => {
    await until('Established both sides', () => peer().state === 'Established' && /Established/.test(birdc('show', 'protocols', 'wgbgp')), 30_000, diagnostics);
    expect(peer()).toMatchObject({ peerAddress: ll.remote, session: { families: ['ipv4-unicast', 'ipv6-unicast'], extendedNextHop: true } });
  }, 40_000);

  it("RFC 8950: BIRD's IPv4 route is in A's kernel via BIRD's link-local (RTA_VIA inet6), its IPv6 route via the same", async () => {
    await until('both routes in the kernel', () => routes('-4').some((r) => r.dst === LAN_B.v4) && routes('-6').some((r) => r.dst === LAN_B.v6), 15_000, diagnostics);
    const v4 = routes('-4').find((r) => r.dst === LAN_B.v4)!;
    expect(v4).toMatchObject({ dev: site!.ifA, via: { family: 'inet6', host: ll.remote } });
    expect(routes('-6').find((r) => r.dst === LAN_B.v6)).toMatchObject({ dev: site!.ifA, gateway: ll.remote });
  }, 30_000);

  it('RFC 8950: BIRD takes our IPv4 route with our link-local as next hop, and the IPv6 one', async () => {
    const v4 = await until('our IPv4 route at BIRD', () => {
      const out = birdc('show', 'route', 'for', LAN_A.v4, 'all');
      return out.includes(LAN_A.v4) ? out : null;
    }, 15_000, diagnostics);
    expect(v4).toContain(ll.local.replace(/\/64$/, ''));
    expect(birdc('show', 'route', 'for', LAN_A.v6)).toContain(LAN_A.v6);
  }, 30_000);

  it('ping and ping6 between the LANs through the unnumbered tunnel', async () => {
    await until('ping', () => pingFromA(site!, LAN_A.addr4, LAN_B.addr4), 10_000, diagnostics);
    await until('ping6', () => pingFromA(site!, LAN_A.addr6, LAN_B.addr6), 10_000, diagnostics);
  }, 30_000);
});
