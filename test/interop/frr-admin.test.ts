/**
 * Shutdown communications (RFC 8203, RFC 9003) with FRR 8 over real WireGuard
 * (wireguard-go), set up as in frr.test.ts: FRR receives ours (`wgbgp
 * neighbor peer shutdown --message …`) and logs it with the communication
 * (`show bgp neighbors` names only the Cease), and FRR's own (`neighbor X
 * shutdown message …`) shows in our `neighbors`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execIn } from '../lab/helpers/netns.js';
import {
  ASN_A,
  ASN_B,
  CLI,
  HOLD_TIME,
  LAN_B,
  TUN_A,
  createSite,
  missingPrerequisite,
  startAgent,
  startPeerTunnel,
  tail,
  teardown,
  until,
  type Site,
} from './helpers/site.js';

const ZEBRA = '/usr/lib/frr/zebra';
const BGPD = '/usr/lib/frr/bgpd';
const skip = missingPrerequisite([ZEBRA, BGPD, 'vtysh']);
if (skip !== null) console.log(`interop/frr-admin: skipped: ${skip}`);

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
 neighbor ${TUN_A.v4} ttl-security hops 1
 !
 address-family ipv4 unicast
  network ${LAN_B.v4}
 exit-address-family
!
`;
}

interface NeighborView {
  state: string;
  lastError: string | null;
  adminShutdown: { message: string | null } | null;
  lastNotification: { direction: string; code: number; subcode: number; communication: string | null } | null;
}

describe.skipIf(skip !== null)('interop: shutdown communication (RFC 8203/9003) with FRR 8', () => {
  let site: Site | undefined;
  let frrDir = '';
  let runDir = '';

  const vtysh = (...commands: string[]): string =>
    execFileSync('vtysh', ['-N', site!.nsB, ...commands.flatMap((c) => ['-c', c])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  const frrState = (): string | undefined =>
    (JSON.parse(vtysh('show bgp summary json')) as { ipv4Unicast?: { peers?: Record<string, { state: string }> } }).ipv4Unicast?.peers?.[TUN_A.v4]?.state;
  const wgbgp = (...args: string[]): { code: number | null; stdout: string; stderr: string } => {
    const r = spawnSync(process.execPath, [CLI, ...args, '--socket', site!.sock], { encoding: 'utf8', timeout: 10_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const peer = (): NeighborView => JSON.parse(wgbgp('neighbors', 'peer', '--json').stdout) as NeighborView;
  const bgpdLog = (): string => readFileSync(join(frrDir, 'bgpd.log'), 'utf8');
  const diagnostics = (): string => {
    let neighbors = '';
    try {
      neighbors = vtysh(`show bgp neighbors ${TUN_A.v4}`);
    } catch (e) {
      neighbors = String(e);
    }
    return [neighbors, tail(site!.agentLog), tail(join(frrDir, 'bgpd.log'))].join('\n');
  };
  const established = (what: string): Promise<unknown> =>
    until(what, () => peer().state === 'Established' && frrState() === 'Established', 30_000, diagnostics);

  beforeAll(async () => {
    site = await createSite('fa', 43);
    await startPeerTunnel(site);
    frrDir = join(site.dir, 'frr');
    runDir = `/var/run/frr/${site.nsB}`;
    const frr = Number(execFileSync('id', ['-u', 'frr'], { encoding: 'utf8' }).trim());
    const frrGid = Number(execFileSync('id', ['-g', 'frr'], { encoding: 'utf8' }).trim());
    for (const d of [frrDir, runDir]) {
      mkdirSync(d, { recursive: true });
      chownSync(d, frr, frrGid);
    }
    writeFileSync(join(frrDir, 'zebra.conf'), `hostname b\nlog file ${join(frrDir, 'zebra.log')}\n`);
    writeFileSync(join(frrDir, 'bgpd.conf'), bgpdConfig(join(frrDir, 'bgpd.log')));
    for (const f of ['zebra.conf', 'bgpd.conf']) chownSync(join(frrDir, f), frr, frrGid);
    for (const [daemon, name] of [[ZEBRA, 'zebra'], [BGPD, 'bgpd']] as const) {
      await execIn(site.nsB, [daemon, '-d', '-N', site.nsB, '-P', '0', '-f', join(frrDir, `${name}.conf`), '-i', join(frrDir, `${name}.pid`)]);
    }
    startAgent(site);
  }, 30_000);

  afterAll(async () => {
    await teardown(site, () => {
      if (runDir !== '') rmSync(runDir, { recursive: true, force: true });
    });
  }, 30_000);

  it('the session comes up', async () => {
    await established('Established both sides');
  }, 40_000);

  it('FRR receives our Cease/Administrative Shutdown and logs the communication; we stay down until enable', async () => {
    const message = 'moving to new hardware ✓';
    expect(wgbgp('neighbor', 'peer', 'shutdown', '--message', message).code).toBe(0);
    // FRR 8.4 logs the communication with the octets past ASCII escaped (✓ is e2 9c 93 in UTF-8).
    const logged = '%NOTIFICATION: received from neighbor 10.255.0.0 6/2 (Cease/Administrative Shutdown) "moving to new hardware \\xe2\\x9c\\x93"';
    await until('FRR logged the shutdown with its communication', () => frrState() !== 'Established' && bgpdLog().includes(logged), 10_000, diagnostics);
    expect(vtysh(`show bgp neighbors ${TUN_A.v4}`)).toMatch(/Last reset .*Notification received \(Cease\/Administrative Shutdown\)/);
    // FRR retries every 2 s (timers connect 2); the agent refuses while shut down.
    await new Promise((r) => setTimeout(r, 5_000));
    expect(peer()).toMatchObject({ state: 'Idle', adminShutdown: { message } });
    expect(wgbgp('neighbor', 'peer', 'enable').code).toBe(0);
    await established('Established again after enable');
  }, 60_000);

  it("FRR's own shutdown communication (`neighbor X shutdown message …`) shows in our neighbors", async () => {
    vtysh('configure terminal', `router bgp ${ASN_B}`, `neighbor ${TUN_A.v4} shutdown message maintenance by FRR`);
    await until('the communication in neighbors', () => peer().lastNotification?.communication === 'maintenance by FRR', 10_000, diagnostics);
    expect(peer()).toMatchObject({ lastNotification: { direction: 'received', code: 6, subcode: 2 } });
    expect(wgbgp('neighbors').stdout).toContain('maintenance by FRR');
    vtysh('configure terminal', `router bgp ${ASN_B}`, `no neighbor ${TUN_A.v4} shutdown`);
    await established('Established after FRR enabled its side');
  }, 60_000);
});
