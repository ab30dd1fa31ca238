/**
 * The agent as a hub relaying between two BIRD 2 spokes (issue 11: "a hub
 * reflecting between spokes"; decision: no route reflection, the hub is an
 * eBGP speaker in the middle and sets next hop self, which it does on every
 * session). Spoke 1 (AS 65101, LAN 10.11.0.0/24, 2001:db8:11::/48) and
 * spoke 2 (AS 65102, LAN 10.12.0.0/24, 2001:db8:12::/48) each have one
 * wireguard-go tunnel to the hub (AS 65001). Spoke 2's kernel gets spoke 1's
 * LAN with the hub's tunnel address as next hop and AS path 65001 65101
 * (RFC 4271 §5.1.2, §5.1.3); a ping from spoke 1's LAN to spoke 2's goes
 * through the hub, which a TTL of 1 shows (Time to live exceeded from the
 * hub's tunnel address). Each spoke tags its LAN with a community, a large
 * community and a route target: the other spoke sees them unchanged.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteJson } from '#api/types';
import {
  ASN_A,
  cli,
  createPeers,
  kernelRoutes,
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
if (skip !== null) console.log(`interop/bird-hub: skipped: ${skip}`);

const SPOKES = [
  { asn: 65101, lan: { v4: '10.11.0.0/24', v6: '2001:db8:11::/48', addr4: '10.11.0.1', addr6: '2001:db8:11::1' } },
  { asn: 65102, lan: { v4: '10.12.0.0/24', v6: '2001:db8:12::/48', addr4: '10.12.0.1', addr6: '2001:db8:12::1' } },
] as const;

function birdConfig(site: Site, k: number, log: string): string {
  const { asn, lan } = SPOKES[k]!;
  return birdBgpConfig(log, {
    routerId: `192.0.2.${21 + k}`,
    name: 'hub',
    protocols: [
      `protocol static lan4 { ipv4; route ${lan.v4} via "lan0"; }`,
      `protocol static lan6 { ipv6; route ${lan.v6} via "lan0"; }`,
      'protocol kernel k4 { ipv4 { import none; export where source = RTS_BGP; }; }',
      'protocol kernel k6 { ipv6 { import none; export where source = RTS_BGP; }; }',
    ],
    local: `local ${site.tunB!.v4} as ${asn}`,
    neighbor: site.tunB!.v4.replace(/\.1$/, '.0'),
    errorWait: false,
    // Communities of the three kinds on the spoke's own routes: the hub passes them on unchanged (issue 11).
    ipv4: `import all; export filter { if source != RTS_STATIC then reject; bgp_community.add((${asn}, 7)); bgp_large_community.add((${asn}, 0, 7)); bgp_ext_community.add((rt, ${asn}, 7)); accept; };`,
    ipv6: `import all; export filter { if source != RTS_STATIC then reject; bgp_community.add((${asn}, 7)); bgp_large_community.add((${asn}, 0, 7)); accept; }; next hop address ${site.tunB!.v6};`,
  });
}

describe.skipIf(skip !== null)('interop: the agent as a hub relaying between two BIRD 2 spokes', () => {
  let lab: Peers | undefined;
  const ctl: string[] = [];
  const logs: string[] = [];
  const timings = new Timings();
  const why = (): string => (lab ? [tail(lab.agentLog), ...logs.map((l) => tail(l, 15))].join('\n') : '');
  const spoke = (k: number): Site => lab!.peers[k]!;
  const birdc = (k: number, ...args: string[]): string =>
    execFileSync('birdc', ['-s', ctl[k]!, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5_000 });

  beforeAll(async () => {
    lab = await createPeers('hb', 65, [...SPOKES]);
    // The hub forwards between its tunnels.
    await execIn(lab.nsA, ['sh', '-c', 'sysctl -qw net.ipv4.ip_forward=1 && sysctl -qw net.ipv6.conf.all.forwarding=1']);
    for (const [k, s] of lab.peers.entries()) {
      await startPeerTunnel(s);
      const b = await startBird(s, (log) => birdConfig(s, k, log));
      ctl.push(b.ctl);
      logs.push(b.log);
    }
    startAgent(lab);
    timings.mark('setup');
  }, 40_000);

  afterAll(async () => {
    timings.print('interop/bird-hub');
    await teardownPeers(lab);
  }, 30_000);

  it("spoke 2's kernel has spoke 1's LAN via the hub's tunnel address, AS path 65001 65101; and the other way round", async () => {
    await until('both spokes Established at the hub', () => cli<{ state: string }[]>(lab!, 'neighbors').every((n) => n.state === 'Established'), 30_000, why);
    timings.mark('Established');
    for (const [to, from] of [[1, 0], [0, 1]] as const) {
      const s = spoke(to);
      const hubV4 = s.tunB!.v4.replace(/\.1$/, '.0');
      const want = SPOKES[from]!.lan;
      await until(`${want.v4} in spoke ${to + 1}'s kernel via the hub`, () =>
        kernelRoutes(s.nsB, '-4').some((r) => r.dst === want.v4 && r.gateway === hubV4 && r.dev === s.ifB), 15_000, why);
      await until(`${want.v6} in spoke ${to + 1}'s kernel over its tunnel`, () => kernelRoutes(s.nsB, '-6').some((r) => r.dst === want.v6 && r.dev === s.ifB), 15_000, why);
      // BIRD's own view: the path the hub relayed, next hop the hub's address, the hub's AS prepended.
      const shown = birdc(to, 'show', 'route', want.v4, 'all');
      expect(shown).toContain(`BGP.next_hop: ${hubV4}`);
      expect(shown).toMatch(new RegExp(`BGP.as_path: ${ASN_A} ${SPOKES[from]!.asn}\\b`));
      // Communities (RFC 1997), large (RFC 8092) and transitive extended (RFC 4360) ones through the hub unchanged.
      const origin = SPOKES[from]!.asn;
      expect(shown).toContain(`BGP.community: (${origin},7)`);
      expect(shown).toContain(`BGP.large_community: (${origin}, 0, 7)`);
      expect(shown).toContain(`BGP.ext_community: (rt, ${origin}, 7)`);
      expect(birdc(to, 'show', 'route', want.v6, 'all')).toContain(`BGP.large_community: (${origin}, 0, 7)`);
    }
    timings.mark('relayed');
    // The hub's view: each spoke's LAN from that spoke, over its tunnel.
    const [r] = cli<RouteJson[]>(lab!, 'routes', SPOKES[0].lan.v4);
    expect(r).toMatchObject({ neighbor: 'b1', nexthops: [{ address: '10.255.1.1', interface: spoke(0).ifA }], fib: true });
  }, 60_000);

  it('traffic from spoke 1 LAN to spoke 2 LAN goes through the hub (IPv4 and IPv6); TTL 1 expires at the hub', async () => {
    const [s1] = [spoke(0)];
    await execIn(s1.nsB, ['ping', '-c2', '-W2', '-I', SPOKES[0].lan.addr4, SPOKES[1].lan.addr4]);
    await execIn(s1.nsB, ['ping', '-6', '-c2', '-W2', '-I', SPOKES[0].lan.addr6, SPOKES[1].lan.addr6]);
    const r = await execIn(s1.nsB, ['ping', '-c1', '-W2', '-t', '1', '-I', SPOKES[0].lan.addr4, SPOKES[1].lan.addr4], { check: false });
    expect(r.stdout).toMatch(/From 10\.255\.1\.0 .*Time to live exceeded/);
  }, 30_000);
});
