/**
 * Multipath (ECMP) with two different peers over two wireguard-go tunnels:
 * BIRD 2 behind tunnel 1, FRR's bgpd behind tunnel 2, both in AS 65002
 * announcing 10.2.0.0/24 and 2001:db8:2::/48 with the same attributes
 * (ORIGIN IGP, no MED from BIRD and MED 0 from FRR, which the decision
 * counts alike: RFC 4271 §9.1.2.2 c), router ids 192.0.2.11 and .12. The
 * agent's kernel route has both next hops; FRR's `neighbor … shutdown`
 * (a Cease) leaves BIRD's alone, and its return brings both back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteJson } from '#api/types';
import {
  ASN_B,
  cli,
  createPeers,
  kernelNextHops,
  LAN_A,
  LAN_B,
  missingPrerequisite,
  startAgent,
  startBird,
  startFrr,
  startPeerTunnel,
  tail,
  teardownPeers,
  Timings,
  until,
  type Frr,
  type Peers,
} from './helpers/site.js';
import { birdMultipathPeerConfig } from './helpers/bird.js';
import { FRR_PREREQUISITES, frrBgpdConfig } from './helpers/frr.js';
import { execIn } from '../lab/helpers/netns.js';

const skip = missingPrerequisite(['bird', 'birdc', ...FRR_PREREQUISITES]);
if (skip !== null) console.log(`interop/frr-ecmp: skipped: ${skip}`);


const bgpdConfig = (log: string): string =>
  frrBgpdConfig(log, {
    hostname: 'b2',
    before: ['route-map NH6 permit 10', ' set ipv6 next-hop global fd00:255:2::1'],
    routerId: '192.0.2.12',
    neighbor: '10.255.2.0',
    session: ['advertisement-interval 0', 'ttl-security hops 1'],
    ipv6: [`network ${LAN_B.v6}`, 'neighbor 10.255.2.0 activate', 'neighbor 10.255.2.0 route-map NH6 out'],
  });

describe.skipIf(skip !== null)('interop: multipath over two tunnels to BIRD 2 and FRR', () => {
  let lab: Peers | undefined;
  let frr: Frr | undefined;
  let birdLog = '';
  const timings = new Timings();
  const why = (): string => (lab ? [tail(lab.agentLog), tail(birdLog, 15), frr ? tail(frr.log, 15) : ''].join('\n') : '');
  const ns = (): string => lab!.nsA;
  const ifA = (i: number): string => lab!.peers[i]!.ifA;
  const bgpd = (...lines: string[]): string => frr!.vtysh('configure terminal', `router bgp ${ASN_B}`, ...lines);

  beforeAll(async () => {
    lab = await createPeers('ef', 63, [
      { asn: ASN_B, lan: LAN_B },
      { asn: ASN_B, lan: LAN_B },
    ], { bgp: { multipath: { enabled: true } } });
    for (const s of lab.peers) await startPeerTunnel(s);
    ({ log: birdLog } = await startBird(lab.peers[0]!, birdMultipathPeerConfig));
    frr = await startFrr(lab.peers[1]!, bgpdConfig);
    startAgent(lab);
    timings.mark('setup');
  }, 40_000);

  afterAll(async () => {
    timings.print('interop/frr-ecmp');
    await teardownPeers(lab);
    frr?.cleanup();
  }, 30_000);

  const both = (): { gateway: string; dev: string }[] => [
    { gateway: '10.255.1.1', dev: ifA(0) },
    { gateway: '10.255.2.1', dev: ifA(1) },
  ];

  it('both Established; the kernel route has a next hop through each tunnel (IPv4 and IPv6); traffic flows', async () => {
    await until('both sessions Established', () => cli<{ state: string }[]>(lab!, 'neighbors').every((n) => n.state === 'Established'), 30_000, why);
    timings.mark('Established');
    await until('10.2.0.0/24 over both tunnels', () => JSON.stringify(kernelNextHops(ns(), '-4', LAN_B.v4)) === JSON.stringify(both()), 15_000, () => `${JSON.stringify(cli(lab!, 'routes', LAN_B.v4))}\n${why()}`);
    await until('2001:db8:2::/48 over both tunnels', () => kernelNextHops(ns(), '-6', LAN_B.v6).length === 2, 15_000, why);
    expect(kernelNextHops(ns(), '-6', LAN_B.v6)).toEqual([
      { gateway: 'fd00:255:1::1', dev: ifA(0) },
      { gateway: 'fd00:255:2::1', dev: ifA(1) },
    ]);
    timings.mark('ECMP route');
    const [r] = cli<RouteJson[]>(lab!, 'routes', LAN_B.v4);
    expect(r?.paths?.map((p) => [p.neighbor?.name, p.best, p.multipath, p.origin])).toEqual([
      ['b1', true, true, 'igp'],
      ['b2', false, true, 'igp'],
    ]);
    await execIn(ns(), ['ping', '-c2', '-W2', '-I', LAN_A.addr4, '10.2.0.1']);
  }, 60_000);

  it("FRR's neighbor shutdown (a Cease): BIRD's next hop alone, none through FRR's tunnel; no shutdown: both again", async () => {
    const t0 = performance.now();
    bgpd('neighbor 10.255.2.0 shutdown');
    await until('10.2.0.0/24 over b1 only', () => JSON.stringify(kernelNextHops(ns(), '-4', LAN_B.v4)) === JSON.stringify([both()[0]]), 15_000, why);
    timings.mark(`FRR down, one next hop after ${Math.round(performance.now() - t0)} ms`);
    await until('2001:db8:2::/48 over b1 only', () => kernelNextHops(ns(), '-6', LAN_B.v6).length === 1, 15_000, why);
    expect(kernelNextHops(ns(), '-6', LAN_B.v6)).toEqual([{ gateway: 'fd00:255:1::1', dev: ifA(0) }]);
    await execIn(ns(), ['ping', '-c2', '-W2', '-I', LAN_A.addr4, '10.2.0.1']);
    bgpd('no neighbor 10.255.2.0 shutdown');
    await until('10.2.0.0/24 over both tunnels again', () => JSON.stringify(kernelNextHops(ns(), '-4', LAN_B.v4)) === JSON.stringify(both()), 30_000, why);
    timings.mark('FRR back, two next hops');
  }, 60_000);
});
