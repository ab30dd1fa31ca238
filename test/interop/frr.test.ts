/**
 * Interop with FRR 8 (zebra + bgpd) over real WireGuard (wireguard-go) in two
 * namespaces: the wgbgp agent in A (AS 65001), FRR in B (AS 65002) behind a
 * tunnel set up with `wg` by hand. One IPv4 session carries IPv4 and IPv6
 * unicast. FRR 8.4 picks the tunnel's global IPv6 address as the IPv6 next hop
 * by itself (checked); the route-map NH6 only makes that explicit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  agentRoutes,
  ASN_A,
  ASN_B,
  hasRoute,
  kernelRoutes,
  learnedRoutes,
  LAN_A,
  LAN_B,
  missingPrerequisite,
  neighbors,
  nextHopsOfA,
  pingFromA,
  tail,
  Timings,
  TUN_A,
  TUN_B,
  until,
  type Frr,
  type Site,
} from './helpers/site.js';
import { FRR_PREREQUISITES, createFrrSite, frrBgpdConfig, frrDiagnostics, frrPaths, frrPeerState, teardownFrrSite } from './helpers/frr.js';

const skip = missingPrerequisite(FRR_PREREQUISITES);
if (skip !== null) console.log(`interop/frr: skipped: ${skip}`);

const bgpdConfig = (log: string): string =>
  frrBgpdConfig(log, {
    before: ['route-map NH6 permit 10', ` set ipv6 next-hop global ${TUN_B.v6}`],
    session: ['advertisement-interval 0', 'ttl-security hops 1'],
    ipv6: [`network ${LAN_B.v6}`, `neighbor ${TUN_A.v4} activate`, `neighbor ${TUN_A.v4} route-map NH6 out`],
  });

interface FrrPath {
  aspath?: { string: string };
  nexthops?: { ip: string; scope?: string }[];
}

describe.skipIf(skip !== null)('interop: wgbgp agent and FRR (zebra + bgpd) over wireguard-go', () => {
  let site: Site | undefined;
  let frr: Frr | undefined;
  const timings = new Timings();

  const vtysh = (...commands: string[]): string => frr!.vtysh(...commands);
  const peerState = (): string | undefined => frrPeerState(frr!);
  const paths = (afi: 'ipv4' | 'ipv6', prefix: string): FrrPath[] => frrPaths<FrrPath>(frr!, prefix, afi);
  const diagnostics = (): string => frrDiagnostics(site, frr, 'show bgp neighbors');

  beforeAll(async () => {
    ({ site, frr } = await createFrrSite('fr', 12, {}, bgpdConfig));
    timings.mark('setup');
  }, 30_000);

  afterAll(async () => {
    timings.print('interop/frr');
    // zebra removes its kernel routes on stop; the namespaces go anyway.
    await teardownFrrSite(site, frr);
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
