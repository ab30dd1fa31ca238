/**
 * RFC 7911 ADD-PATH send towards FRR's bgpd over real WireGuard
 * (wireguard-go): BIRD 2 behind tunnel 1 (AS 65002, `add paths tx`) has two
 * routes for 10.2.0.0/24 (MED 10 and 50) and sends both; the agent
 * (`add-path: { receive: true }` towards it) keeps both, and sends both to
 * FRR behind tunnel 2 (AS 65003; FRR advertises ADD-PATH receive by
 * default) with `add-path: { send: 2 }`: FRR lists two paths, each with the
 * Path Identifier it received. One of BIRD's paths withdrawn: FRR keeps one.
 * And receive from FRR (`addpath-tx-all-paths`): its two local paths for
 * 10.3.0.0/24 (`network` and `redistribute connected`) both reach the agent.
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
  startFrr,
  startPeerTunnel,
  tail,
  teardownPeers,
  Timings,
  until,
  type Frr,
  type Peers,
} from './helpers/site.js';
import { FRR_PREREQUISITES, frrBgpdConfig } from './helpers/frr.js';

const skip = missingPrerequisite(['bird', 'birdc', ...FRR_PREREQUISITES]);
if (skip !== null) console.log(`interop/frr-add-path: skipped: ${skip}`);

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

const bgpdConfig = (log: string): string =>
  frrBgpdConfig(log, {
    hostname: 'b2',
    asn: 65003,
    routerId: '192.0.2.12',
    importCheck: true,
    neighbor: '10.255.2.0',
    session: ['advertisement-interval 0', 'ttl-security hops 1'],
    ipv4: [`network ${LAN3.v4}`, 'redistribute connected', 'neighbor 10.255.2.0 addpath-tx-all-paths'],
  });

interface FrrPrefix {
  paths?: { aspath?: { string?: string }; addpathRxId?: number; bestpath?: { overall?: boolean } }[];
}

describe.skipIf(skip !== null)('interop: ADD-PATH (RFC 7911) send to FRR', () => {
  let lab: Peers | undefined;
  let frr: Frr | undefined;
  let birdCtl = '';
  let birdLog = '';
  const timings = new Timings();
  const why = (): string => (lab ? [tail(lab.agentLog), tail(birdLog, 15), frr ? tail(frr.log, 15) : ''].join('\n') : '');
  const frrPaths = (): NonNullable<FrrPrefix['paths']> => {
    const text = frr!.vtysh(`show bgp ipv4 unicast ${LAN_B.v4} json`).trim();
    return ((text === '' ? {} : JSON.parse(text)) as FrrPrefix).paths ?? [];
  };

  beforeAll(async () => {
    lab = await createPeers('fap', 75, [
      { asn: 65002, lan: LAN_B, bgp: { 'add-path': { receive: true } } },
      { asn: 65003, lan: LAN3, bgp: { 'add-path': { receive: true, send: 2 } } },
    ]);
    for (const s of lab.peers) await startPeerTunnel(s);
    const b = await startBird(lab.peers[0]!, birdConfig);
    birdCtl = b.ctl;
    birdLog = b.log;
    frr = await startFrr(lab.peers[1]!, bgpdConfig);
    startAgent(lab);
    timings.mark('setup');
  }, 40_000);

  afterAll(async () => {
    timings.print('interop/frr-add-path');
    await teardownPeers(lab);
    frr?.cleanup();
  }, 30_000);

  it('both up; with FRR we negotiated both ways (FRR receives by default), with BIRD receive', async () => {
    await until('both sessions Established', () => cli<NeighborJson[]>(lab!, 'neighbors').every((n) => n.state === 'Established'), 30_000, why);
    timings.mark('Established');
    const by = new Map(cli<NeighborJson[]>(lab!, 'neighbors').map((n) => [n.name, n.session?.addPath]));
    expect(by.get('b1')?.receive).toContain('ipv4-unicast');
    expect(by.get('b2')?.send).toContain('ipv4-unicast');
    expect(by.get('b2')?.receive).toContain('ipv4-unicast');
  }, 40_000);

  it('FRR lists both of the paths we send for 10.2.0.0/24, each with its own received Path Identifier; one withdrawn, one left', async () => {
    await until('two paths at FRR', () => frrPaths().length === 2, 20_000, () => `${frr!.vtysh(`show bgp ipv4 unicast ${LAN_B.v4}`)}\n${why()}`);
    timings.mark('two paths at FRR');
    console.log(`interop/frr-add-path: show bgp ipv4 unicast ${LAN_B.v4}:\n${frr!.vtysh(`show bgp ipv4 unicast ${LAN_B.v4}`).trim()}`);
    const p = frrPaths();
    expect(p.every((x) => x.aspath?.string === `${ASN_A} 65002`)).toBe(true);
    const ids = p.map((x) => x.addpathRxId);
    expect(ids.every((id) => typeof id === 'number' && id > 0)).toBe(true);
    expect(new Set(ids).size).toBe(2);
    execFileSync('birdc', ['-s', birdCtl, 'disable', 's2'], { stdio: 'ignore', timeout: 5_000 });
    await until('one path at FRR', () => frrPaths().length === 1, 15_000, why);
    timings.mark('one withdrawn by its id at FRR');
  }, 40_000);

  it('receive: FRR (addpath-tx-all-paths) sends its paths for 10.3.0.0/24 with their identifiers', async () => {
    const paths = () => cli<{ paths?: { neighbor: { name: string } | null; pathId?: number }[] }[]>(lab!, 'routes', LAN3.v4)[0]?.paths ?? [];
    await until('two paths for 10.3.0.0/24 from FRR', () => paths().length === 2, 15_000, () => `${JSON.stringify(paths())}\n${why()}`);
    timings.mark('two paths from FRR');
    const p = paths();
    console.log(`interop/frr-add-path: routes ${LAN3.v4}: ${JSON.stringify(p.map((x) => ({ neighbor: x.neighbor?.name, pathId: x.pathId })))}`);
    expect(p.every((x) => x.neighbor?.name === 'b2' && typeof x.pathId === 'number')).toBe(true);
    expect(new Set(p.map((x) => x.pathId)).size).toBe(2);
  }, 30_000);
});
