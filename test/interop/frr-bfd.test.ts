/**
 * BFD (RFC 5880/5881) with FRR's bfdd over real WireGuard (wireguard-go):
 * the agent in A with `bfd: true`, FRR in B (zebra, bgpd with
 * `neighbor X bfd`, bfdd at its 300 ms × 3 defaults). Both sides see the
 * session Up; B's tunnel cut takes BFD, the BGP session and the route down in
 * A within the detection time (timed); the tunnel back brings all back.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execIn } from '../lab/helpers/netns.js';
import {
  ASN_A,
  ASN_B,
  HOLD_TIME,
  LAN_B,
  TUN_A,
  TUN_B,
  agentRoutes,
  bfdSettled,
  cli,
  createSite,
  missingPrerequisite,
  startAgent,
  startPeerTunnel,
  tail,
  teardown,
  Timings,
  until,
  type Site,
} from './helpers/site.js';
import type { NeighborJson } from '../../src/api/types.js';

const ZEBRA = '/usr/lib/frr/zebra';
const BGPD = '/usr/lib/frr/bgpd';
const BFDD = '/usr/lib/frr/bfdd';
const skip = missingPrerequisite([ZEBRA, BGPD, BFDD, 'vtysh']);
if (skip !== null) console.log(`interop/frr-bfd: skipped: ${skip}`);

function bgpdConfig(log: string): string {
  return `frr defaults datacenter
hostname b
log file ${log}
!
router bgp ${ASN_B}
 bgp router-id 192.0.2.2
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor ${TUN_A.v4} remote-as ${ASN_A}
 neighbor ${TUN_A.v4} timers ${HOLD_TIME / 3} ${HOLD_TIME}
 neighbor ${TUN_A.v4} timers connect 2
 neighbor ${TUN_A.v4} advertisement-interval 0
 neighbor ${TUN_A.v4} bfd
 !
 address-family ipv4 unicast
  network ${LAN_B.v4}
 exit-address-family
!
`;
}

interface FrrBfdPeer {
  peer: string;
  status: string;
  id: number;
  'remote-id': number;
  'receive-interval': number;
  'transmit-interval': number;
  'detect-multiplier': number;
}

describe.skipIf(skip !== null)('interop: BFD with FRR bfdd over wireguard-go', () => {
  let site: Site | undefined;
  let frrDir = '';
  let runDir = '';
  const timings = new Timings();

  const vtysh = (...commands: string[]): string =>
    execFileSync('vtysh', ['-N', site!.nsB, ...commands.flatMap((c) => ['-c', c])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  const frrPeer = (): FrrBfdPeer | undefined => (JSON.parse(vtysh('show bfd peers json')) as FrrBfdPeer[]).find((p) => p.peer === TUN_A.v4);
  const peer = (): NeighborJson => cli<NeighborJson[]>(site!, 'neighbors')[0]!;
  const routeInA = (): boolean => agentRoutes(site!, '-4').some((r) => r.dst === LAN_B.v4);
  const diagnostics = (): string => {
    let frr = '';
    try {
      frr = vtysh('show bfd peers') + vtysh('show bgp neighbors');
    } catch (e) {
      frr = String(e);
    }
    return [frr, JSON.stringify(peer()), tail(site!.agentLog), tail(join(frrDir, 'bfdd.log'))].join('\n');
  };

  beforeAll(async () => {
    // No GTSM on this session: FRR 8 counts a neighbor with ttl-security as multihop and asks bfdd
    // for a multihop session (RFC 5883, port 4784), which is not what a tunnel is.
    site = await createSite('fb', 32, { neighbor: { bfd: true }, bgp: { 'ttl-security': false } });
    await startPeerTunnel(site);
    frrDir = join(site.dir, 'frr');
    runDir = `/var/run/frr/${site.nsB}`;
    const uid = Number(execFileSync('id', ['-u', 'frr'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'frr'], { encoding: 'utf8' }).trim());
    for (const d of [frrDir, runDir]) {
      mkdirSync(d, { recursive: true });
      chownSync(d, uid, gid);
    }
    writeFileSync(join(frrDir, 'zebra.conf'), `hostname b\nlog file ${join(frrDir, 'zebra.log')}\n`);
    writeFileSync(join(frrDir, 'bgpd.conf'), bgpdConfig(join(frrDir, 'bgpd.log')));
    writeFileSync(join(frrDir, 'bfdd.conf'), `hostname b\nlog file ${join(frrDir, 'bfdd.log')}\n`);
    for (const f of ['zebra.conf', 'bgpd.conf', 'bfdd.conf']) chownSync(join(frrDir, f), uid, gid);
    for (const [daemon, name] of [[ZEBRA, 'zebra'], [BFDD, 'bfdd'], [BGPD, 'bgpd']] as const) {
      await execIn(site.nsB, [daemon, '-d', '-N', site.nsB, '-P', '0', '-f', join(frrDir, `${name}.conf`), '-i', join(frrDir, `${name}.pid`)]);
    }
    startAgent(site);
    timings.mark('setup');
  }, 30_000);

  afterAll(async () => {
    timings.print('interop/frr-bfd');
    await teardown(site, () => {
      if (runDir !== '') rmSync(runDir, { recursive: true, force: true });
    });
  }, 30_000);

  it('BGP Established, BFD Up on both sides with 300 ms × 3', async () => {
    await until('BGP Established and BFD Up', () => peer().state === 'Established' && peer().bfd?.state === 'Up', 30_000, diagnostics);
    await until('FRR: BFD peer up', () => frrPeer()?.status === 'up', 10_000, diagnostics);
    timings.mark('BFD Up');
    await until('both ends Up at 300 ms × 3', () => bfdSettled(peer().bfd), 5_000, diagnostics);
    const ours = peer().bfd!;
    const theirs = frrPeer()!;
    expect(ours).toMatchObject({ state: 'Up', remoteState: 'Up', detectionTimeMs: 900, error: null });
    // Each side knows the other's discriminator.
    expect(theirs['remote-id']).toBe(ours.localDiscriminator);
    expect(ours.remoteDiscriminator).toBe(theirs.id);
    expect(theirs).toMatchObject({ 'receive-interval': 300, 'transmit-interval': 300, 'detect-multiplier': 3 });
    await until(`${LAN_B.v4} in A's kernel`, routeInA, 10_000, diagnostics);
  });

  it("the tunnel's traffic cut: BFD, the session (Cease/BFD Down) and the route go in < 1.5 s", async () => {
    const s = site!;
    const t0 = performance.now();
    await execIn(s.nsB, ['ip', 'link', 'set', s.ifB, 'down']);
    for (;;) {
      if (!routeInA()) break;
      if (performance.now() - t0 > 10_000) throw new Error(`route still in A after 10 s\n${diagnostics()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const ms = Math.round(performance.now() - t0);
    console.log(`interop/frr-bfd: tunnel cut -> route gone from A's kernel in ${ms} ms (BFD 300 ms x 3)`);
    expect(ms).toBeLessThan(1_500);
    expect(peer()).toMatchObject({ bfd: { state: 'Down', lastDownReason: 'control detection time expired' }, lastNotification: { direction: 'sent', code: 6, subcode: 10 } });
  });

  it('the tunnel back: BFD Up on both sides, BGP Established again', async () => {
    const s = site!;
    await execIn(s.nsB, ['ip', 'link', 'set', s.ifB, 'up']);
    await until('BGP and BFD back', () => peer().state === 'Established' && peer().bfd?.state === 'Up', 40_000, diagnostics);
    await until('FRR: BFD peer up', () => frrPeer()?.status === 'up', 10_000, diagnostics);
    timings.mark('back');
  }, 60_000);
});
