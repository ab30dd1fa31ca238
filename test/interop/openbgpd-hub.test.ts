/**
 * The agent as a hub relaying between a BIRD 2 spoke and an OpenBGPD 7.7
 * spoke over wireguard-go (no route reflection: eBGP with next hop self).
 * Spoke 1 BIRD (AS 65101, LAN 10.11.0.0/24), spoke 2 OpenBGPD (AS 65102, LAN
 * 10.12.0.0/24), IPv4 (OpenBGPD's own IPv6 networks come with next hop ::1,
 * docs/interop.md). OpenBGPD's RIB has BIRD's LAN with the hub's tunnel
 * address as next hop and AS path 65001 65101; BIRD's kernel has
 * OpenBGPD's LAN via the hub; a ping between the LANs goes through the hub
 * (TTL 1 expires there). OpenBGPD runs with `fib-update no`: its way back
 * is a static route to the hub. Each spoke tags its LAN with a community, a
 * large community and a route target (BIRD's export filter, OpenBGPD's
 * `network … set { … }`): the other spoke shows them unchanged after the hub
 * (RFC 1997, RFC 8092, RFC 4360).
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ASN_A,
  cli,
  createPeers,
  HOLD_TIME,
  kernelRoutes,
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
import { OPENBGPD_PREREQUISITES, openbgpdConfig } from './helpers/openbgpd.js';
import { execIn } from '../lab/helpers/netns.js';

const skip = missingPrerequisite(['bird', 'birdc', ...OPENBGPD_PREREQUISITES]);
if (skip !== null) console.log(`interop/openbgpd-hub: skipped: ${skip}`);

const SPOKES = [
  { asn: 65101, lan: { v4: '10.11.0.0/24', v6: '2001:db8:11::/48', addr4: '10.11.0.1', addr6: '2001:db8:11::1' } },
  { asn: 65102, lan: { v4: '10.12.0.0/24', v6: '2001:db8:12::/48', addr4: '10.12.0.1', addr6: '2001:db8:12::1' } },
] as const;

const birdConfig = (log: string): string => `
log "${log}" all;
router id 192.0.2.21;
protocol device { scan time 2; }
protocol static lan4 { ipv4; route ${SPOKES[0].lan.v4} via "lan0"; }
protocol kernel k4 { ipv4 { import none; export where source = RTS_BGP; }; }
protocol bgp hub {
  local 10.255.1.1 as ${SPOKES[0].asn};
  neighbor 10.255.1.0 as ${ASN_A};
  hold time ${HOLD_TIME};
  keepalive time ${HOLD_TIME / 3};
  ttl security yes;
  connect delay time 10;
  connect retry time 2;
  # Communities of the three kinds on the spoke's own route: the hub passes them on unchanged (issue 11).
  ipv4 { import all; export filter { if source != RTS_STATIC then reject; bgp_community.add((${SPOKES[0].asn}, 7)); bgp_large_community.add((${SPOKES[0].asn}, 0, 7)); bgp_ext_community.add((rt, ${SPOKES[0].asn}, 7)); accept; }; };
}
`;

const bgpdConfig = (sock: string): string =>
  openbgpdConfig(sock, {
    asn: SPOKES[1].asn,
    local: '10.255.2.1',
    networks: [`network ${SPOKES[1].lan.v4} set { community ${SPOKES[1].asn}:7 large-community ${SPOKES[1].asn}:0:7 ext-community rt ${SPOKES[1].asn}:7 }`],
    neighbor: '10.255.2.0',
    descr: 'hub',
  });

describe.skipIf(skip !== null)('interop: the agent as a hub relaying between a BIRD spoke and an OpenBGPD spoke', () => {
  let lab: Peers | undefined;
  let bgpctl: ((...args: string[]) => string) | undefined;
  let birdLog = '';
  let birdCtl = '';
  let obLog = '';
  const timings = new Timings();
  const why = (): string => (lab ? [tail(lab.agentLog), tail(birdLog, 15), tail(obLog, 15)].join('\n') : '');

  beforeAll(async () => {
    lab = await createPeers('ho', 73, [...SPOKES]);
    await execIn(lab.nsA, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    for (const s of lab.peers) await startPeerTunnel(s);
    ({ log: birdLog, ctl: birdCtl } = await startBird(lab.peers[0]!, birdConfig));
    const b = await startOpenbgpd(lab.peers[1]!, bgpdConfig);
    bgpctl = b.bgpctl;
    obLog = b.log;
    await execIn(lab.peers[1]!.nsB, ['ip', 'route', 'add', SPOKES[0].lan.v4, 'via', '10.255.2.0']);
    startAgent(lab);
    timings.mark('setup');
  }, 40_000);

  afterAll(async () => {
    timings.print('interop/openbgpd-hub');
    await teardownPeers(lab);
  }, 30_000);

  it("OpenBGPD's RIB has BIRD's LAN via the hub's address, AS path 65001 65101; BIRD's kernel has OpenBGPD's LAN via the hub; each spoke's communities, large communities and route target arrive unchanged", async () => {
    await until('both spokes Established at the hub', () => cli<{ state: string }[]>(lab!, 'neighbors').every((n) => n.state === 'Established'), 30_000, why);
    timings.mark('Established');
    const detail = await until(`${SPOKES[0].lan.v4} in OpenBGPD's RIB`, () => {
      const out = bgpctl!('show', 'rib', 'detail', SPOKES[0].lan.v4);
      return out.includes(SPOKES[0].lan.v4) ? out : null;
    }, 20_000, why);
    expect(detail).toMatch(/Nexthop 10\.255\.2\.0\b/);
    expect(detail).toMatch(new RegExp(`\\b${ASN_A} ${SPOKES[0].asn}\\b`));
    // BIRD's tags through the hub unchanged (RFC 1997, RFC 8092, RFC 4360 transitive route target).
    const birdAsn = SPOKES[0].asn;
    expect(detail).toMatch(new RegExp(`Communities: ${birdAsn}:7\\s*$`, 'm'));
    expect(detail).toMatch(new RegExp(`Large Communities: ${birdAsn}:0:7\\s*$`, 'm'));
    expect(detail).toMatch(new RegExp(`Ext\\. Communities: rt ${birdAsn}:7\\s*$`, 'm'));
    const s1 = lab!.peers[0]!;
    await until(`${SPOKES[1].lan.v4} in BIRD's kernel via 10.255.1.0`, () =>
      kernelRoutes(s1.nsB, '-4').some((r) => r.dst === SPOKES[1].lan.v4 && r.gateway === '10.255.1.0' && r.dev === s1.ifB), 20_000, why);
    // OpenBGPD's tags as BIRD shows them after the hub.
    const shown = execFileSync('birdc', ['-s', birdCtl, 'show', 'route', SPOKES[1].lan.v4, 'all'], { encoding: 'utf8', timeout: 5_000 });
    const obAsn = SPOKES[1].asn;
    expect(shown).toMatch(new RegExp(`BGP.as_path: ${ASN_A} ${obAsn}\\b`));
    expect(shown).toContain(`BGP.community: (${obAsn},7)`);
    expect(shown).toContain(`BGP.large_community: (${obAsn}, 0, 7)`);
    expect(shown).toContain(`BGP.ext_community: (rt, ${obAsn}, 7)`);
    timings.mark('relayed');
  }, 60_000);

  it('a ping from the BIRD spoke LAN to the OpenBGPD spoke LAN goes through the hub; TTL 1 expires at the hub', async () => {
    const s1 = lab!.peers[0]!;
    await execIn(s1.nsB, ['ping', '-c2', '-W2', '-I', SPOKES[0].lan.addr4, SPOKES[1].lan.addr4]);
    const r = await execIn(s1.nsB, ['ping', '-c1', '-W2', '-t', '1', '-I', SPOKES[0].lan.addr4, SPOKES[1].lan.addr4], { check: false });
    expect(r.stdout).toMatch(/From 10\.255\.1\.0 .*Time to live exceeded/);
  }, 30_000);
});
