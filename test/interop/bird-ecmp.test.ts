/**
 * Multipath (ECMP) against two BIRD 2 instances over real WireGuard
 * (wireguard-go), each in a namespace of its own behind its own tunnel:
 * both announce 10.2.0.0/24 and 2001:db8:2::/48 from AS 65002 with the same
 * attributes (router ids 192.0.2.11 and .12). With `bgp.multipath` on, the
 * agent's kernel route has two next hops, one per tunnel (RFC 4271 §9.1.2.2
 * ties up to f, the router id), and traffic to the LAN (an anycast
 * 10.2.0.1 present behind both) flows. When one session goes (BIRD's
 * `disable`, which sends a Cease) the route keeps the other tunnel only,
 * and nothing is left through the dead one; back up, both again.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteJson } from '#api/types';
import {
  ASN_B,
  cli,
  createPeers,
  HOLD_TIME,
  kernelNextHops,
  kernelRoutes,
  LAN_A,
  LAN_B,
  missingPrerequisite,
  startAgent,
  startBird,
  startPeerTunnel,
  tail,
  teardownPeers,
  Timings,
  until,
  type Peers,
  type Site,
} from './helpers/site.js';
import { BIRD_PREREQUISITES, birdBgpConfig } from './helpers/bird.js';
import { execIn } from '../lab/helpers/netns.js';

const skip = missingPrerequisite(BIRD_PREREQUISITES);
if (skip !== null) console.log(`interop/bird-ecmp: skipped: ${skip}`);

function birdConfig(site: Site, i: number, log: string): string {
  return birdBgpConfig(log, {
    routerId: `192.0.2.${10 + i}`,
    protocols: [
      `protocol static lan4 { ipv4; route ${LAN_B.v4} via "lan0"; }`,
      `protocol static lan6 { ipv6; route ${LAN_B.v6} via "lan0"; }`,
      'protocol kernel k4 { ipv4 { import none; export where source = RTS_BGP; }; }',
      'protocol kernel k6 { ipv6 { import none; export where source = RTS_BGP; }; }',
    ],
    local: `local ${site.tunB!.v4} as ${ASN_B}`,
    neighbor: site.tunB!.v4.replace(/\.1$/, '.0'),
    ipv6: `import all; export where source = RTS_STATIC; next hop address ${site.tunB!.v6};`,
  });
}

type Hop = { gateway?: string; dev?: string };

describe.skipIf(skip !== null)('interop: multipath over two tunnels to two BIRD 2 instances', () => {
  let lab: Peers | undefined;
  const ctl: string[] = [];
  const logs: string[] = [];
  const timings = new Timings();
  const birdc = (i: number, ...args: string[]): string =>
    execFileSync('birdc', ['-s', ctl[i]!, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5_000 });
  const why = (): string => (lab ? [tail(lab.agentLog), ...logs.map((l) => tail(l, 15))].join('\n') : '');
  const a = (): Peers => lab!;
  const site = (i: number): Site => lab!.peers[i]!;

  beforeAll(async () => {
    lab = await createPeers('ec', 61, [
      { asn: ASN_B, lan: LAN_B },
      // The same LAN behind both (10.2.0.1 anycast): traffic reaches it over whichever tunnel the hash picks.
      { asn: ASN_B, lan: LAN_B },
    ], { bgp: { multipath: { enabled: true } } });
    for (const [k, s] of lab.peers.entries()) {
      await startPeerTunnel(s);
      const b = await startBird(s, (log) => birdConfig(s, k + 1, log));
      ctl.push(b.ctl);
      logs.push(b.log);
    }
    startAgent(lab);
    timings.mark('setup');
  }, 40_000);

  afterAll(async () => {
    timings.print('interop/bird-ecmp');
    await teardownPeers(lab);
  }, 30_000);

  const both = (): Hop[] => [
    { gateway: '10.255.1.1', dev: site(0).ifA },
    { gateway: '10.255.2.1', dev: site(1).ifA },
  ];

  it('both sessions Established; the kernel route to the LAN has two next hops, one per tunnel (IPv4 and IPv6)', async () => {
    await until('both sessions Established', () => cli<{ state: string }[]>(a(), 'neighbors').every((n) => n.state === 'Established'), 30_000, why);
    timings.mark('Established');
    await until('10.2.0.0/24 over both tunnels', () => JSON.stringify(kernelNextHops(a().nsA, '-4', LAN_B.v4)) === JSON.stringify(both()), 15_000, why);
    timings.mark('ECMP route');
    await until('2001:db8:2::/48 over both tunnels', () => kernelNextHops(a().nsA, '-6', LAN_B.v6).length === 2, 15_000, why);
    expect(kernelNextHops(a().nsA, '-6', LAN_B.v6)).toEqual([
      { gateway: 'fd00:255:1::1', dev: site(0).ifA },
      { gateway: 'fd00:255:2::1', dev: site(1).ifA },
    ]);
    console.log(`interop/bird-ecmp: ip route show ${LAN_B.v4}:\n${execFileSync('ip', ['-n', a().nsA, 'route', 'show', LAN_B.v4], { encoding: 'utf8' }).trim()}`);

    // routes PREFIX: both paths marked, the best by router id (§9.1.2.2 f).
    const [r] = cli<RouteJson[]>(a(), 'routes', LAN_B.v4);
    expect(r?.nexthops.map((h) => h.interface).sort()).toEqual([site(0).ifA, site(1).ifA].sort());
    expect(r?.paths?.map((p) => [p.neighbor?.name, p.best, p.multipath])).toEqual([
      ['b1', true, true],
      ['b2', false, true],
    ]);
    expect(r?.decision?.step).toBe('router-id');
    // Traffic flows from A's LAN to the anycast address behind both.
    await execIn(a().nsA, ['ping', '-c2', '-W2', '-I', LAN_A.addr4, '10.2.0.1']);
  }, 60_000);

  it("one session down (BIRD b1's disable: a Cease): the route keeps b2's tunnel, nothing is left through b1's; back up, both again", async () => {
    const t0 = performance.now();
    birdc(0, 'disable', 'wgbgp');
    const only2 = [{ gateway: '10.255.2.1', dev: site(1).ifA }];
    await until('10.2.0.0/24 over b2 only', () => JSON.stringify(kernelNextHops(a().nsA, '-4', LAN_B.v4)) === JSON.stringify(only2), 15_000, why);
    const ms = Math.round(performance.now() - t0);
    timings.mark(`b1 down, one next hop after ${ms} ms`);
    await until('2001:db8:2::/48 over b2 only', () => kernelNextHops(a().nsA, '-6', LAN_B.v6).length === 1, 15_000, why);
    expect(kernelNextHops(a().nsA, '-6', LAN_B.v6)).toEqual([{ gateway: 'fd00:255:2::1', dev: site(1).ifA }]);
    // No route of ours points into b1's tunnel any more (its own host routes are the tunnel's, not learned).
    for (const fam of ['-4', '-6'] as const) {
      const learned = kernelRoutes(a().nsA, fam, 'proto', '201').filter((x) => x.dst === LAN_B.v4 || x.dst === LAN_B.v6);
      expect(JSON.stringify(learned)).not.toContain(site(0).ifA);
    }
    await execIn(a().nsA, ['ping', '-c2', '-W2', '-I', LAN_A.addr4, '10.2.0.1']);
    const [r] = cli<RouteJson[]>(a(), 'routes', LAN_B.v4);
    expect(r?.paths?.map((p) => [p.neighbor?.name, p.best, p.multipath])).toEqual([['b2', true, false]]);

    birdc(0, 'enable', 'wgbgp');
    await until('10.2.0.0/24 over both tunnels again', () => JSON.stringify(kernelNextHops(a().nsA, '-4', LAN_B.v4)) === JSON.stringify(both()), 30_000, why);
    timings.mark('b1 back, two next hops');
  }, 60_000);

  it('BIRD b2 killed (SIGKILL: its kernel closes the TCP connection, no NOTIFICATION): the route keeps b1 alone', async () => {
    const pid = Number(readFileSync(join(site(1).dir, 'bird.pid'), 'utf8').trim());
    const t0 = performance.now();
    process.kill(pid, 'SIGKILL');
    const only1 = [{ gateway: '10.255.1.1', dev: site(0).ifA }];
    await until('10.2.0.0/24 over b1 only', () => JSON.stringify(kernelNextHops(a().nsA, '-4', LAN_B.v4)) === JSON.stringify(only1), 20_000, why);
    timings.mark(`b2 killed, one next hop after ${Math.round(performance.now() - t0)} ms`);
    await until('2001:db8:2::/48 over b1 only', () => kernelNextHops(a().nsA, '-6', LAN_B.v6).length === 1, 15_000, why);
    expect(kernelNextHops(a().nsA, '-6', LAN_B.v6)).toEqual([{ gateway: 'fd00:255:1::1', dev: site(0).ifA }]);
    await execIn(a().nsA, ['ping', '-c2', '-W2', '-I', LAN_A.addr4, '10.2.0.1']);
  }, 40_000);

  it("b2 back; then b1's tunnel dies silently (its interface deleted in b1's namespace): at hold-time expiry the agent's failover drops b1's next hop from the group at once, before the RIB catches up", async () => {
    const s2 = site(1);
    await startBird(s2, (log) => birdConfig(s2, 2, log));
    await until('10.2.0.0/24 over both tunnels again', () => JSON.stringify(kernelNextHops(a().nsA, '-4', LAN_B.v4)) === JSON.stringify(both()), 30_000, why);
    const t0 = performance.now();
    await execIn(site(0).nsB, ['ip', 'link', 'del', site(0).ifB]);
    const only2 = [{ gateway: '10.255.2.1', dev: site(1).ifA }];
    await until('10.2.0.0/24 over b2 only', () => JSON.stringify(kernelNextHops(a().nsA, '-4', LAN_B.v4)) === JSON.stringify(only2), (HOLD_TIME + 10) * 1000, why);
    const ms = Math.round(performance.now() - t0);
    timings.mark(`b1's tunnel gone, one next hop after ${ms} ms (hold time ${HOLD_TIME} s)`);
    expect(ms).toBeLessThan((HOLD_TIME + 5) * 1000);
    // PIC: the group object lost its member in the failover (the RIB's rewrite came after).
    const failover = readFileSync(a().agentLog, 'utf8').split('\n').filter((l) => l.includes('failover: routes through the tunnel moved') && l.includes('"b1"'));
    expect(failover.length).toBeGreaterThan(0);
    await execIn(a().nsA, ['ping', '-c2', '-W2', '-I', LAN_A.addr4, '10.2.0.1']);
  }, 60_000);
});
