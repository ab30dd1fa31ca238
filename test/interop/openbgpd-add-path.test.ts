/**
 * RFC 7911 ADD-PATH with OpenBGPD 7.7 over wireguard-go: BIRD 2 behind tunnel 1
 * (AS 65002, `add paths tx`) has two routes for 10.2.0.0/24 (MED 10 and 50)
 * and sends both to the agent (`add-path: { receive: true }`); OpenBGPD
 * behind tunnel 2 (AS 65003, `announce add-path recv yes` and `send all`) is
 * sent both by the agent (`add-path: { receive: true, send: 2 }`) and lists
 * them in its RIB with their Path Identifiers; one withdrawn, one left.
 * IPv4 only (OpenBGPD's own IPv6 networks come with next hop ::1,
 * docs/interop.md).
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NeighborJson } from '#api/types';
import {
  ASN_A,
  HOLD_TIME,
  LAN_B,
  cli,
  createPeers,
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

const skip = missingPrerequisite(['bird', 'birdc', ...OPENBGPD_PREREQUISITES]);
if (skip !== null) console.log(`interop/openbgpd-add-path: skipped: ${skip}`);

const LAN3 = { v4: '10.3.0.0/24', v6: '2001:db8:3::/48', addr4: '10.3.0.1', addr6: '2001:db8:3::1' };

const birdConfig = (log: string): string => `
log "${log}" all;
router id 192.0.2.11;
protocol device { scan time 2; }
protocol static s1 { ipv4 { import filter { bgp_med = 10; accept; }; }; route ${LAN_B.v4} via "lan0"; }
protocol static s2 { ipv4 { import filter { bgp_med = 50; accept; }; }; route ${LAN_B.v4} via "lan0"; }
protocol bgp wgbgp {
  local 10.255.1.1 as 65002;
  neighbor 10.255.1.0 as ${ASN_A};
  hold time ${HOLD_TIME};
  keepalive time ${HOLD_TIME / 3};
  ttl security yes;
  connect delay time 10;
  connect retry time 2;
  ipv4 { import all; export where source = RTS_STATIC; add paths tx; };
}
`;

const bgpdConfig = (sock: string): string =>
  openbgpdConfig(sock, {
    asn: 65003,
    routerId: '192.0.2.12',
    local: '10.255.2.1',
    networks: [`network ${LAN3.v4}`],
    neighbor: '10.255.2.0',
    descr: 'agent',
    session: ['announce IPv4 unicast', 'announce add-path recv yes', 'announce add-path send all'],
  });

describe.skipIf(skip !== null)('interop: ADD-PATH (RFC 7911) with OpenBGPD 7.7', () => {
  let lab: Peers | undefined;
  let bgpctl: ((...args: string[]) => string) | undefined;
  let birdCtl = '';
  let birdLog = '';
  let obLog = '';
  const timings = new Timings();
  const why = (): string => (lab ? [tail(lab.agentLog), tail(birdLog, 15), tail(obLog, 15)].join('\n') : '');
  const entries = (): number => (bgpctl!('show', 'rib', 'detail', LAN_B.v4).match(/BGP routing table entry for/g) ?? []).length;

  beforeAll(async () => {
    lab = await createPeers('oap', 77, [
      { asn: 65002, lan: LAN_B, bgp: { 'add-path': { receive: true } } },
      { asn: 65003, lan: LAN3, bgp: { 'add-path': { receive: true, send: 2 } } },
    ]);
    for (const s of lab.peers) await startPeerTunnel(s);
    const b = await startBird(lab.peers[0]!, birdConfig);
    birdCtl = b.ctl;
    birdLog = b.log;
    const o = await startOpenbgpd(lab.peers[1]!, bgpdConfig);
    bgpctl = o.bgpctl;
    obLog = o.log;
    startAgent(lab);
    timings.mark('setup');
  }, 40_000);

  afterAll(async () => {
    timings.print('interop/openbgpd-add-path');
    await teardownPeers(lab);
  }, 30_000);

  it('both up; with OpenBGPD ADD-PATH is negotiated both ways for IPv4 unicast', async () => {
    await until('both sessions Established', () => cli<NeighborJson[]>(lab!, 'neighbors').every((n) => n.state === 'Established'), 30_000, why);
    timings.mark('Established');
    const ob = cli<NeighborJson[]>(lab!, 'neighbors').find((n) => n.name === 'b2');
    expect(ob?.session?.addPath).toEqual({ receive: ['ipv4-unicast'], send: ['ipv4-unicast'] });
  }, 40_000);

  it("send: OpenBGPD's RIB has both paths for 10.2.0.0/24 with their Path Identifiers; one withdrawn, one left", async () => {
    await until('two entries at OpenBGPD', () => entries() === 2, 20_000, () => `${bgpctl!('show', 'rib', 'detail', LAN_B.v4)}\n${why()}`);
    timings.mark('two paths at OpenBGPD');
    const detail = bgpctl!('show', 'rib', 'detail', LAN_B.v4);
    console.log(`interop/openbgpd-add-path: bgpctl show rib detail ${LAN_B.v4}:\n${detail.trim()}`);
    const ids = [...detail.matchAll(/[Pp]ath[- ][Ii][Dd]:?\s*(\d+)/g)].map((m) => Number(m[1]));
    expect(new Set(ids).size).toBe(2);
    execFileSync('birdc', ['-s', birdCtl, 'disable', 's2'], { stdio: 'ignore', timeout: 5_000 });
    await until('one entry at OpenBGPD', () => entries() === 1, 15_000, why);
    timings.mark('one withdrawn by its id at OpenBGPD');
  }, 40_000);

  it('receive: OpenBGPD\'s own network comes with its Path Identifier', async () => {
    const paths = () => cli<{ paths?: { neighbor: { name: string } | null; pathId?: number }[] }[]>(lab!, 'routes', LAN3.v4)[0]?.paths ?? [];
    await until('10.3.0.0/24 from OpenBGPD', () => paths().length === 1, 15_000, why);
    console.log(`interop/openbgpd-add-path: routes ${LAN3.v4}: ${JSON.stringify(paths().map((x) => ({ neighbor: x.neighbor?.name, pathId: x.pathId })))}`);
    expect(typeof paths()[0]?.pathId).toBe('number');
  }, 30_000);
});
