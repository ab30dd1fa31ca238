/**
 * Multipath (ECMP) with BIRD 2 behind tunnel 1 and OpenBGPD 7.7 behind
 * tunnel 2 (wireguard-go), both AS 65002 announcing 10.2.0.0/24 (ORIGIN
 * IGP, AS_PATH 65002): the agent's kernel route has both next hops
 * (OpenBGPD's router id 192.0.2.2 is the lower: its path is the best).
 * OpenBGPD's own IPv6 network comes with next hop ::1 (docs/interop.md), an
 * unusable next hop (RFC 4271 §9.1.2): the IPv6 route is BIRD's alone.
 * `bgpctl neighbor … down` (a Cease) leaves BIRD's next hop alone, `up`
 * brings both back. OpenBGPD runs with `fib-update no`: its way back to A's
 * LAN is a static route.
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
  startOpenbgpd,
  startPeerTunnel,
  tail,
  teardownPeers,
  Timings,
  until,
  type Peers,
} from './helpers/site.js';
import { birdMultipathPeerConfig } from './helpers/bird.js';
import { OPENBGPD_PREREQUISITES, openbgpdConfig } from './helpers/openbgpd.js';
import { execIn } from '../lab/helpers/netns.js';

const skip = missingPrerequisite(['bird', 'birdc', ...OPENBGPD_PREREQUISITES]);
if (skip !== null) console.log(`interop/openbgpd-ecmp: skipped: ${skip}`);


const bgpdConfig = (sock: string): string =>
  openbgpdConfig(sock, {
    local: '10.255.2.1',
    local6: 'fd00:255:2::1',
    networks: [`network ${LAN_B.v4}`, `network ${LAN_B.v6}`],
    neighbor: '10.255.2.0',
    session: ['announce IPv4 unicast', 'announce IPv6 unicast'],
  });

describe.skipIf(skip !== null)('interop: multipath over two tunnels to BIRD 2 and OpenBGPD 7.7', () => {
  let lab: Peers | undefined;
  let bgpctl: ((...args: string[]) => string) | undefined;
  let birdLog = '';
  let obLog = '';
  const timings = new Timings();
  const why = (): string => (lab ? [tail(lab.agentLog), tail(birdLog, 15), tail(obLog, 15)].join('\n') : '');
  const ns = (): string => lab!.nsA;
  const ifA = (i: number): string => lab!.peers[i]!.ifA;

  beforeAll(async () => {
    lab = await createPeers('eo', 69, [
      { asn: ASN_B, lan: LAN_B },
      { asn: ASN_B, lan: LAN_B },
    ], { bgp: { multipath: { enabled: true } } });
    for (const s of lab.peers) await startPeerTunnel(s);
    ({ log: birdLog } = await startBird(lab.peers[0]!, birdMultipathPeerConfig));
    const b = await startOpenbgpd(lab.peers[1]!, bgpdConfig);
    bgpctl = b.bgpctl;
    obLog = b.log;
    await execIn(lab.peers[1]!.nsB, ['ip', 'route', 'add', LAN_A.v4, 'via', '10.255.2.0']);
    startAgent(lab);
    timings.mark('setup');
  }, 40_000);

  afterAll(async () => {
    timings.print('interop/openbgpd-ecmp');
    await teardownPeers(lab);
  }, 30_000);

  const both = (): { gateway: string; dev: string }[] => [
    { gateway: '10.255.1.1', dev: ifA(0) },
    { gateway: '10.255.2.1', dev: ifA(1) },
  ];

  it("both Established; the IPv4 route has a next hop through each tunnel, traffic flows; IPv6 is BIRD's alone (OpenBGPD's next hop ::1)", async () => {
    await until('both sessions Established', () => cli<{ state: string }[]>(lab!, 'neighbors').every((n) => n.state === 'Established'), 30_000, why);
    timings.mark('Established');
    await until('10.2.0.0/24 over both tunnels', () => JSON.stringify(kernelNextHops(ns(), '-4', LAN_B.v4)) === JSON.stringify(both()), 20_000, () => `${JSON.stringify(cli(lab!, 'routes', LAN_B.v4))}\n${why()}`);
    timings.mark('ECMP route');
    const [r] = cli<RouteJson[]>(lab!, 'routes', LAN_B.v4);
    expect(r?.paths?.map((p) => [p.neighbor?.name, p.best, p.multipath])).toEqual([
      ['b2', true, true],
      ['b1', false, true],
    ]);
    await execIn(ns(), ['ping', '-c2', '-W2', '-I', LAN_A.addr4, '10.2.0.1']);
    await until("OpenBGPD's IPv6 path received", () => (cli<RouteJson[]>(lab!, 'routes', LAN_B.v6)[0]?.paths?.length ?? 0) === 2, 15_000, why);
    const [six] = cli<RouteJson[]>(lab!, 'routes', LAN_B.v6);
    expect(six?.paths?.map((p) => [p.neighbor?.name, p.best, p.multipath, p.ineligibleReason])).toEqual([
      ['b1', true, false, null],
      ['b2', false, false, 'next-hop-unusable'],
    ]);
    expect(kernelNextHops(ns(), '-6', LAN_B.v6)).toEqual([{ gateway: 'fd00:255:1::1', dev: ifA(0) }]);
  }, 60_000);

  it("OpenBGPD's neighbor down (a Cease): BIRD's next hop alone; up: both again", async () => {
    const t0 = performance.now();
    bgpctl!('neighbor', '10.255.2.0', 'down');
    await until('10.2.0.0/24 over b1 only', () => JSON.stringify(kernelNextHops(ns(), '-4', LAN_B.v4)) === JSON.stringify([both()[0]]), 15_000, why);
    timings.mark(`OpenBGPD down, one next hop after ${Math.round(performance.now() - t0)} ms`);
    await execIn(ns(), ['ping', '-c2', '-W2', '-I', LAN_A.addr4, '10.2.0.1']);
    bgpctl!('neighbor', '10.255.2.0', 'up');
    await until('10.2.0.0/24 over both tunnels again', () => JSON.stringify(kernelNextHops(ns(), '-4', LAN_B.v4)) === JSON.stringify(both()), 45_000, why);
    timings.mark('OpenBGPD back, two next hops');
  }, 75_000);
});
