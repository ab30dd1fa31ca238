/**
 * Interop with FRR 8 (zebra + bgpd) over real WireGuard (wireguard-go) in two
 * namespaces: the wgbgp agent in A (AS 65001), FRR in B (AS 65002) behind a
 * tunnel set up with `wg` by hand. One IPv4 session carries IPv4 and IPv6
 * unicast. FRR 8.4 picks the tunnel's global IPv6 address as the IPv6 next hop
 * by itself (checked); the route-map NH6 only makes that explicit.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execIn } from '../lab/helpers/netns.js';
import {
  agentRoutes,
  ASN_A,
  ASN_B,
  createSite,
  hasRoute,
  HOLD_TIME,
  kernelRoutes,
  learnedRoutes,
  LAN_A,
  LAN_B,
  missingPrerequisite,
  neighbors,
  nextHopsOfA,
  pingFromA,
  startAgent,
  startPeerTunnel,
  tail,
  teardown,
  Timings,
  TUN_A,
  TUN_B,
  until,
  type Site,
} from './helpers/site.js';

const ZEBRA = '/usr/lib/frr/zebra';
const BGPD = '/usr/lib/frr/bgpd';
const skip = missingPrerequisite([ZEBRA, BGPD, 'vtysh']);
if (skip !== null) console.log(`interop/frr: skipped: ${skip}`);

function bgpdConfig(log: string): string {
  return `frr defaults datacenter
hostname b
log file ${log}
!
route-map NH6 permit 10
 set ipv6 next-hop global ${TUN_B.v6}
!
router bgp ${ASN_B}
 bgp router-id 192.0.2.2
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor ${TUN_A.v4} remote-as ${ASN_A}
 neighbor ${TUN_A.v4} timers ${HOLD_TIME / 3} ${HOLD_TIME}
 neighbor ${TUN_A.v4} timers connect 2
 neighbor ${TUN_A.v4} advertisement-interval 0
 neighbor ${TUN_A.v4} ttl-security hops 1
 !
 address-family ipv4 unicast
  network ${LAN_B.v4}
 exit-address-family
 !
 address-family ipv6 unicast
  network ${LAN_B.v6}
  neighbor ${TUN_A.v4} activate
  neighbor ${TUN_A.v4} route-map NH6 out
 exit-address-family
!
`;
}

interface FrrPath {
  aspath?: { string: string };
  nexthops?: { ip: string; scope?: string }[];
}

describe.skipIf(skip !== null)('interop: wgbgp agent and FRR (zebra + bgpd) over wireguard-go', () => {
  let site: Site | undefined;
  let frrDir = '';
  let runDir = '';
  const timings = new Timings();

  const vtysh = (...commands: string[]): string => {
    const ns = site!.nsB;
    const args = ['-N', ns, ...commands.flatMap((c) => ['-c', c])];
    return execFileSync('vtysh', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  };
  const vtyshJson = <T>(command: string): T => JSON.parse(vtysh(command)) as T;
  const peerState = (): string | undefined =>
    vtyshJson<{ ipv4Unicast?: { peers?: Record<string, { state: string }> } }>('show bgp summary json').ipv4Unicast?.peers?.[TUN_A.v4]
      ?.state;
  const paths = (afi: 'ipv4' | 'ipv6', prefix: string): FrrPath[] =>
    vtyshJson<{ paths?: FrrPath[] }>(`show bgp ${afi} unicast ${prefix} json`).paths ?? [];
  const diagnostics = (): string => {
    let summary = '';
    try {
      summary = vtysh('show bgp neighbors');
    } catch (e) {
      summary = String(e);
    }
    return [summary, tail(site!.agentLog), tail(join(frrDir, 'bgpd.log'))].join('\n');
  };

  beforeAll(async () => {
    site = await createSite('fr', 12);
    await startPeerTunnel(site);
    // FRR runs as user frr: its config dir and its pathspace in /var/run/frr are frr's.
    frrDir = join(site.dir, 'frr');
    runDir = `/var/run/frr/${site.nsB}`;
    const frr = execFileSync('id', ['-u', 'frr'], { encoding: 'utf8' }).trim();
    const frrGid = execFileSync('id', ['-g', 'frr'], { encoding: 'utf8' }).trim();
    for (const d of [frrDir, runDir]) {
      mkdirSync(d, { recursive: true });
      chownSync(d, Number(frr), Number(frrGid));
    }
    writeFileSync(join(frrDir, 'zebra.conf'), `hostname b\nlog file ${join(frrDir, 'zebra.log')}\n`);
    writeFileSync(join(frrDir, 'bgpd.conf'), bgpdConfig(join(frrDir, 'bgpd.log')));
    for (const f of ['zebra.conf', 'bgpd.conf']) chownSync(join(frrDir, f), Number(frr), Number(frrGid));
    // -d daemonizes (the namespace's pid list finds them at teardown); -P 0: no TCP vty.
    for (const [daemon, name] of [[ZEBRA, 'zebra'], [BGPD, 'bgpd']] as const) {
      await execIn(site.nsB, [daemon, '-d', '-N', site.nsB, '-P', '0', '-f', join(frrDir, `${name}.conf`), '-i', join(frrDir, `${name}.pid`)]);
    }
    startAgent(site);
    timings.mark('setup');
  }, 30_000);

  afterAll(async () => {
    timings.print('interop/frr');
    // zebra removes its kernel routes on stop; the namespaces go anyway.
    await teardown(site, () => {
      if (runDir !== '') rmSync(runDir, { recursive: true, force: true });
    });
  }, 30_000);

  it('the agent reaches Established with FRR; FRR sees the session Established too', async () => {
    const s = site!;
    await until('neighbor Established', () => neighbors(s)[0]?.state === 'Established', 20_000, diagnostics);
    timings.mark('Established');
    // Both sides are active: a resolved connection collision is routine, not a lastError.
    expect(neighbors(s)).toEqual([expect.objectContaining({ name: 'peer', state: 'Established' })]);
    expect(neighbors(s)[0]?.lastError, tail(s.agentLog, 80)).toBeNull();
    await until('FRR Established', () => peerState() === 'Established', 5_000, diagnostics);
  });

  it("A's kernel has FRR's prefixes via the peer's tunnel addresses, protocol 201", async () => {
    const s = site!;
    await until(`${LAN_B.v4} and ${LAN_B.v6} in A's kernel`, () =>
      hasRoute(agentRoutes(s, '-4'), LAN_B.v4, TUN_B.v4, s.ifA) && hasRoute(agentRoutes(s, '-6'), LAN_B.v6, TUN_B.v6, s.ifA),
      10_000, () => JSON.stringify([agentRoutes(s, '-4'), agentRoutes(s, '-6')]) + diagnostics());
    timings.mark('routes in A');
    expect(learnedRoutes(s)).toEqual([
      expect.objectContaining({ prefix: LAN_B.v4, neighbor: 'peer', asPath: [ASN_B], fib: true, nexthops: [{ address: TUN_B.v4, interface: s.ifA }] }),
      expect.objectContaining({ prefix: LAN_B.v6, neighbor: 'peer', asPath: [ASN_B], fib: true, nexthops: [{ address: TUN_B.v6, interface: s.ifA }] }),
    ]);
    // FRR also sends A's own prefixes back (AS path 65002 65001): the agent rejects them (AS loop, not in
    // the Loc-RIB above) but counts them in prefixesReceived (its Adj-RIB-In size), so this reads 4, not 2.
    expect(neighbors(s)[0]?.prefixesReceived).toBeGreaterThanOrEqual(2);
  });

  it('FRR received 10.1.0.0/24 (next hop 10.255.0.0) and 2001:db8:1::/48 (next hop fd00:255::), AS path 65001', async () => {
    await until('FRR has both prefixes from the agent', () => paths('ipv4', LAN_A.v4).length > 0 && paths('ipv6', LAN_A.v6).length > 0,
      10_000, diagnostics);
    const [v4] = paths('ipv4', LAN_A.v4);
    expect(v4?.aspath?.string).toBe(String(ASN_A));
    expect(v4?.nexthops?.map((n) => n.ip)).toEqual([TUN_A.v4]);
    const [v6] = paths('ipv6', LAN_A.v6);
    expect(v6?.aspath?.string).toBe(String(ASN_A));
    // The agent's own IPv6 tunnel address is the global next hop (a link-local may follow).
    expect(v6?.nexthops?.find((n) => n.scope === 'global')?.ip).toBe(TUN_A.v6);
  });

  it("zebra installed them into B's kernel via the tunnel", async () => {
    const s = site!;
    await until("A's prefixes in B's kernel", () =>
      hasRoute(kernelRoutes(s.nsB, '-4', LAN_A.v4), LAN_A.v4, TUN_A.v4, s.ifB) &&
      nextHopsOfA(s).some((gw) => hasRoute(kernelRoutes(s.nsB, '-6', LAN_A.v6), LAN_A.v6, gw, s.ifB)),
      10_000, () => JSON.stringify([kernelRoutes(s.nsB, '-4'), kernelRoutes(s.nsB, '-6')]) + diagnostics());
  });

  it('ping and ping6 between the LANs through the tunnel', async () => {
    const s = site!;
    await until('ping 10.2.0.1 from 10.1.0.1', () => pingFromA(s, LAN_A.addr4, LAN_B.addr4), 5_000);
    await until('ping6 2001:db8:2::1 from 2001:db8:1::1', () => pingFromA(s, LAN_A.addr6, LAN_B.addr6), 5_000);
  });

  it("FRR withdraws 10.2.0.0/24 (`no network`): it leaves A's kernel, 2001:db8:2::/48 stays", async () => {
    const s = site!;
    const received = neighbors(s)[0]?.prefixesReceived ?? 0;
    vtysh('configure terminal', `router bgp ${ASN_B}`, 'address-family ipv4 unicast', `no network ${LAN_B.v4}`);
    await timings.time(`withdrawal of ${LAN_B.v4} reached A's kernel`, () =>
      until(`${LAN_B.v4} gone from A's kernel`, () => !agentRoutes(s, '-4').some((r) => r.dst === LAN_B.v4), 5_000, diagnostics),
    );
    expect(hasRoute(agentRoutes(s, '-6'), LAN_B.v6, TUN_B.v6, s.ifA)).toBe(true);
    expect(learnedRoutes(s).map((r) => r.prefix)).toEqual([LAN_B.v6]);
    expect(neighbors(s)[0]).toMatchObject({ state: 'Established', prefixesReceived: received - 1 });
  });
});
