/**
 * The agent as a hub relaying between an FRR spoke and a GoBGP spoke over
 * wireguard-go (issue 11's "hub reflecting between spokes": no route
 * reflection; the hub is the eBGP speaker in the middle with next hop self).
 * Spoke 1 is FRR (AS 65101, LAN 10.11.0.0/24, 2001:db8:11::/48), spoke 2
 * GoBGP (AS 65102, LAN 10.12.0.0/24, 2001:db8:12::/48). FRR's zebra puts
 * GoBGP's LAN into spoke 1's kernel via the hub's tunnel address; GoBGP's RIB
 * has FRR's LAN with next hop the hub's address and AS path 65001 65101. A
 * ping between the LANs goes through the hub (TTL 1 expires there). GoBGP
 * installs nothing in its kernel: its way back is a static route to the hub.
 * Each spoke tags its IPv4 LAN with a community, a large community and a route
 * target (FRR by an outbound route-map, GoBGP on the route it originates): the
 * other spoke shows them unchanged after the hub (RFC 1997, RFC 8092, RFC 4360).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ASN_A,
  cli,
  createPeers,
  kernelRoutes,
  missingPrerequisite,
  startAgent,
  startFrr,
  startGobgp,
  startPeerTunnel,
  tail,
  teardownPeers,
  Timings,
  until,
  type Frr,
  type Peers,
} from './helpers/site.js';
import { FRR_PREREQUISITES, frrBgpdConfig } from './helpers/frr.js';
import { GOBGP_PREREQUISITES, gobgpdConfig } from './helpers/gobgp.js';
import { execIn } from '../lab/helpers/netns.js';

const skip = missingPrerequisite([...FRR_PREREQUISITES, ...GOBGP_PREREQUISITES]);
if (skip !== null) console.log(`interop/frr-gobgp-hub: skipped: ${skip}`);

const SPOKES = [
  { asn: 65101, lan: { v4: '10.11.0.0/24', v6: '2001:db8:11::/48', addr4: '10.11.0.1', addr6: '2001:db8:11::1' } },
  // GoBGP sends TTL 1 to a directly connected peer: GTSM off for it (as in gobgp.test.ts).
  { asn: 65102, lan: { v4: '10.12.0.0/24', v6: '2001:db8:12::/48', addr4: '10.12.0.1', addr6: '2001:db8:12::1' }, bgp: { 'ttl-security': false } },
] as const;

const bgpdConfig = (log: string): string =>
  frrBgpdConfig(log, {
    hostname: 'spoke1',
    before: [
      'route-map NH6 permit 10',
      ' set ipv6 next-hop global fd00:255:1::1',
      '!',
      // Communities of the three kinds on the spoke's own route: the hub passes them on unchanged (issue 11).
      'route-map TAGS permit 10',
      ` set community ${SPOKES[0].asn}:7 additive`,
      ` set large-community ${SPOKES[0].asn}:0:7 additive`,
      ` set extcommunity rt ${SPOKES[0].asn}:7`,
    ],
    asn: SPOKES[0].asn,
    routerId: '192.0.2.21',
    neighbor: '10.255.1.0',
    session: ['advertisement-interval 0', 'ttl-security hops 1'],
    ipv4: [`network ${SPOKES[0].lan.v4}`, 'neighbor 10.255.1.0 route-map TAGS out'],
    ipv6: [`network ${SPOKES[0].lan.v6}`, 'neighbor 10.255.1.0 activate', 'neighbor 10.255.1.0 route-map NH6 out'],
  });

const gobgpConfig = gobgpdConfig({
  asn: SPOKES[1].asn,
  neighbor: '10.255.2.0',
  timers: ['minimum-advertisement-interval = 0'],
  families: ['ipv4-unicast', 'ipv6-unicast'],
});

/** One path of `gobgp -j global rib` (a map prefix → paths; attrs typed by `type`). */
interface GobgpPath {
  attrs: {
    type: number;
    as_paths?: { asns: number[] }[];
    nexthop?: string;
    communities?: number[];
    /** MP_REACH's `{ nexthop }`, or the list of extended / large communities. */
    value?: unknown;
  }[];
}

describe.skipIf(skip !== null)('interop: the agent as a hub relaying between an FRR spoke and a GoBGP spoke', () => {
  let lab: Peers | undefined;
  let frr: Frr | undefined;
  let gobgp: ((...args: string[]) => string) | undefined;
  let gobgpLog = '';
  const timings = new Timings();
  const why = (): string => (lab ? [tail(lab.agentLog), frr ? tail(frr.log, 15) : '', tail(gobgpLog, 15)].join('\n') : '');
  const gobgpRib = (family: 'ipv4' | 'ipv6'): Record<string, GobgpPath[]> => {
    const text = gobgp!('-j', 'global', 'rib', '-a', family).trim();
    return (text === '' || text === 'null' ? {} : JSON.parse(text)) as Record<string, GobgpPath[]>;
  };

  beforeAll(async () => {
    lab = await createPeers('hf', 71, [...SPOKES]);
    await execIn(lab.nsA, ['sh', '-c', 'sysctl -qw net.ipv4.ip_forward=1 && sysctl -qw net.ipv6.conf.all.forwarding=1']);
    for (const s of lab.peers) await startPeerTunnel(s);
    frr = await startFrr(lab.peers[0]!, bgpdConfig);
    const g = await startGobgp(lab.peers[1]!, gobgpConfig);
    gobgp = g.gobgp;
    gobgpLog = g.log;
    const tag = SPOKES[1].asn;
    gobgp('global', 'rib', '-a', 'ipv4', 'add', SPOKES[1].lan.v4, 'origin', 'igp', 'community', `${tag}:7`, 'large-community', `${tag}:0:7`, 'rt', `${tag}:7`);
    gobgp('global', 'rib', '-a', 'ipv6', 'add', SPOKES[1].lan.v6, 'nexthop', 'fd00:255:2::1', 'origin', 'igp');
    await execIn(lab.peers[1]!.nsB, ['sh', '-c', `ip route add ${SPOKES[0].lan.v4} via 10.255.2.0 && ip -6 route add ${SPOKES[0].lan.v6} via fd00:255:2::`]);
    startAgent(lab);
    timings.mark('setup');
  }, 40_000);

  afterAll(async () => {
    timings.print('interop/frr-gobgp-hub');
    await teardownPeers(lab);
    frr?.cleanup();
  }, 30_000);

  it("FRR's kernel has GoBGP's LAN via the hub; GoBGP's RIB has FRR's LAN with the hub's address as next hop and AS path 65001 65101; each spoke's communities, large communities and route target arrive unchanged", async () => {
    await until('both spokes Established at the hub', () => cli<{ state: string }[]>(lab!, 'neighbors').every((n) => n.state === 'Established'), 30_000, why);
    timings.mark('Established');
    const s1 = lab!.peers[0]!;
    await until(`${SPOKES[1].lan.v4} in FRR's kernel via 10.255.1.0`, () =>
      kernelRoutes(s1.nsB, '-4').some((r) => r.dst === SPOKES[1].lan.v4 && r.gateway === '10.255.1.0' && r.dev === s1.ifB), 20_000, why);
    await until(`${SPOKES[1].lan.v6} in FRR's kernel over its tunnel`, () => kernelRoutes(s1.nsB, '-6').some((r) => r.dst === SPOKES[1].lan.v6 && r.dev === s1.ifB), 20_000, why);
    await until(`${SPOKES[0].lan.v4} in GoBGP's RIB`, () => gobgpRib('ipv4')[SPOKES[0].lan.v4] !== undefined, 20_000, why);
    const [path] = gobgpRib('ipv4')[SPOKES[0].lan.v4]!;
    expect(path!.attrs.find((a) => a.type === 3)?.nexthop).toBe('10.255.2.0');
    expect(path!.attrs.find((a) => a.type === 2)?.as_paths?.flatMap((s) => s.asns)).toEqual([ASN_A, SPOKES[0].asn]);
    // FRR's tags through the hub unchanged: COMMUNITIES (type 8, RFC 1997), EXTENDED COMMUNITIES
    // (type 16: route target, two-octet AS specific 0x00/0x02, RFC 4360 §4), LARGE_COMMUNITY (type 32, RFC 8092).
    const frrAsn = SPOKES[0].asn;
    expect(path!.attrs.find((a) => a.type === 8)?.communities).toEqual([frrAsn * 65536 + 7]);
    expect(path!.attrs.find((a) => a.type === 16)?.value).toEqual([{ type: 0, subtype: 2, value: `${frrAsn}:7` }]);
    expect(path!.attrs.find((a) => a.type === 32)?.value).toEqual([{ ASN: frrAsn, LocalData1: 0, LocalData2: 7 }]);
    await until(`${SPOKES[0].lan.v6} in GoBGP's RIB`, () => gobgpRib('ipv6')[SPOKES[0].lan.v6] !== undefined, 20_000, why);
    const [six] = gobgpRib('ipv6')[SPOKES[0].lan.v6]!;
    expect((six!.attrs.find((a) => a.type === 14)?.value as { nexthop?: string } | undefined)?.nexthop ?? six!.attrs.find((a) => a.type === 14)?.nexthop).toBe('fd00:255:2::');
    // GoBGP's tags as FRR shows them after the hub.
    const shown = frr!.vtysh(`show bgp ipv4 unicast ${SPOKES[1].lan.v4}`);
    const gobgpAsn = SPOKES[1].asn;
    expect(shown).toMatch(new RegExp(`${ASN_A} ${gobgpAsn}\\b`));
    expect(shown).toMatch(new RegExp(`^\\s*Community: ${gobgpAsn}:7$`, 'm'));
    expect(shown).toMatch(new RegExp(`^\\s*Large Community: ${gobgpAsn}:0:7$`, 'm'));
    expect(shown).toMatch(new RegExp(`^\\s*Extended Community: RT:${gobgpAsn}:7$`, 'm'));
    timings.mark('relayed');
  }, 60_000);

  it('a ping from the FRR spoke LAN to the GoBGP spoke LAN goes through the hub (IPv4 and IPv6); TTL 1 expires at the hub', async () => {
    const s1 = lab!.peers[0]!;
    await execIn(s1.nsB, ['ping', '-c2', '-W2', '-I', SPOKES[0].lan.addr4, SPOKES[1].lan.addr4]);
    await execIn(s1.nsB, ['ping', '-6', '-c2', '-W2', '-I', SPOKES[0].lan.addr6, SPOKES[1].lan.addr6]);
    const r = await execIn(s1.nsB, ['ping', '-c1', '-W2', '-t', '1', '-I', SPOKES[0].lan.addr4, SPOKES[1].lan.addr4], { check: false });
    expect(r.stdout).toMatch(/From 10\.255\.1\.0 .*Time to live exceeded/);
  }, 30_000);
});
