/**
 * Multipath (ECMP) with BIRD 2 behind tunnel 1 and GoBGP behind tunnel 2
 * (wireguard-go), both AS 65002 announcing 10.2.0.0/24 and 2001:db8:2::/48
 * with ORIGIN IGP (GoBGP's `global rib add` says INCOMPLETE unless told) and AS_PATH 65002: the agent's kernel route has both next
 * hops (GoBGP's router id 192.0.2.2 is the lower: its path is the best);
 * `gobgp neighbor … disable` (a Cease) leaves BIRD's next hop alone, and
 * `enable` brings both back. GoBGP installs nothing in its kernel: its way
 * back to A's LAN is a static route.
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
  startGobgp,
  startPeerTunnel,
  tail,
  teardownPeers,
  Timings,
  until,
  type Peers,
} from './helpers/site.js';
import { birdMultipathPeerConfig } from './helpers/bird.js';
import { GOBGP_PREREQUISITES, gobgpdConfig } from './helpers/gobgp.js';
import { execIn } from '../lab/helpers/netns.js';

const skip = missingPrerequisite(['bird', 'birdc', ...GOBGP_PREREQUISITES]);
if (skip !== null) console.log(`interop/gobgp-ecmp: skipped: ${skip}`);


const gobgpConfig = gobgpdConfig({ neighbor: '10.255.2.0', timers: ['minimum-advertisement-interval = 0'], families: ['ipv4-unicast', 'ipv6-unicast'] });

describe.skipIf(skip !== null)('interop: multipath over two tunnels to BIRD 2 and GoBGP', () => {
  let lab: Peers | undefined;
  let gobgp: ((...args: string[]) => string) | undefined;
  let birdLog = '';
  let gobgpLog = '';
  const timings = new Timings();
  const why = (): string => (lab ? [tail(lab.agentLog), tail(birdLog, 15), tail(gobgpLog, 15)].join('\n') : '');
  const ns = (): string => lab!.nsA;
  const ifA = (i: number): string => lab!.peers[i]!.ifA;

  beforeAll(async () => {
    lab = await createPeers('eg', 67, [
      { asn: ASN_B, lan: LAN_B },
      // GoBGP sends TTL 1 to a directly connected peer: GTSM off for it (as in gobgp.test.ts).
      { asn: ASN_B, lan: LAN_B, bgp: { 'ttl-security': false } },
    ], { bgp: { multipath: { enabled: true } } });
    for (const s of lab.peers) await startPeerTunnel(s);
    ({ log: birdLog } = await startBird(lab.peers[0]!, birdMultipathPeerConfig));
    const g = await startGobgp(lab.peers[1]!, gobgpConfig);
    gobgp = g.gobgp;
    gobgpLog = g.log;
    // `gobgp global rib add` originates with ORIGIN INCOMPLETE unless told: a path that loses to BIRD's
    // (ORIGIN IGP) at §9.1.2.2 b and is not used for multipath (found by this test). IGP like BIRD's.
    gobgp('global', 'rib', '-a', 'ipv4', 'add', LAN_B.v4, 'origin', 'igp');
    gobgp('global', 'rib', '-a', 'ipv6', 'add', LAN_B.v6, 'nexthop', 'fd00:255:2::1', 'origin', 'igp');
    await execIn(lab.peers[1]!.nsB, ['sh', '-c', `ip route add ${LAN_A.v4} via 10.255.2.0 && ip -6 route add ${LAN_A.v6} via fd00:255:2::`]);
    startAgent(lab);
    timings.mark('setup');
  }, 40_000);

  afterAll(async () => {
    timings.print('interop/gobgp-ecmp');
    await teardownPeers(lab);
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
    expect(r?.paths?.map((p) => [p.neighbor?.name, p.best, p.multipath])).toEqual([
      ['b2', true, true],
      ['b1', false, true],
    ]);
    expect(r?.decision?.step).toBe('router-id');
    await execIn(ns(), ['ping', '-c2', '-W2', '-I', LAN_A.addr4, '10.2.0.1']);
  }, 60_000);

  it("GoBGP's neighbor disable (a Cease): BIRD's next hop alone; enable: both again", async () => {
    const t0 = performance.now();
    gobgp!('neighbor', '10.255.2.0', 'disable');
    await until('10.2.0.0/24 over b1 only', () => JSON.stringify(kernelNextHops(ns(), '-4', LAN_B.v4)) === JSON.stringify([both()[0]]), 15_000, why);
    timings.mark(`GoBGP down, one next hop after ${Math.round(performance.now() - t0)} ms`);
    await until('2001:db8:2::/48 over b1 only', () => kernelNextHops(ns(), '-6', LAN_B.v6).length === 1, 15_000, why);
    expect(kernelNextHops(ns(), '-6', LAN_B.v6)).toEqual([{ gateway: 'fd00:255:1::1', dev: ifA(0) }]);
    await execIn(ns(), ['ping', '-c2', '-W2', '-I', LAN_A.addr4, '10.2.0.1']);
    gobgp!('neighbor', '10.255.2.0', 'enable');
    await until('10.2.0.0/24 over both tunnels again', () => JSON.stringify(kernelNextHops(ns(), '-4', LAN_B.v4)) === JSON.stringify(both()), 30_000, why);
    timings.mark('GoBGP back, two next hops');
  }, 60_000);
});
