/**
 * Interop with GoBGP (gobgpd + the gobgp CLI) over real WireGuard (wireguard-go)
 * in two namespaces: the wgbgp agent in A (AS 65001), gobgpd in B (AS 65002)
 * behind a tunnel set up with `wg` by hand. One IPv4 session carries IPv4 and
 * IPv6 unicast. gobgpd keeps routes in its own RIB (no kernel), so this file
 * checks GoBGP's RIB, not B's kernel, and does not ping.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  agentRoutes,
  ASN_A,
  ASN_B,
  hasRoute,
  LAN_A,
  LAN_B,
  learnedRoutes,
  missingPrerequisite,
  neighbors,
  tail,
  teardown,
  Timings,
  TUN_A,
  TUN_B,
  until,
  type Site,
} from './helpers/site.js';
import { GOBGP_PREREQUISITES, createGobgpSite, gobgpDiagnostics, gobgpdConfig, gobgpSessionState, type Gobgp } from './helpers/gobgp.js';

const skip = missingPrerequisite(GOBGP_PREREQUISITES);
if (skip !== null) console.log(`interop/gobgp: skipped: ${skip}`);

const config = gobgpdConfig({ timers: ['minimum-advertisement-interval = 0'], families: ['ipv4-unicast', 'ipv6-unicast'] });

/** One path of `gobgp -j … rib` / `adj-in` output (attrs are typed by `type`). */
interface GobgpPath {
  nlri: { prefix: string };
  attrs: { type: number; as_paths?: { segment_type: number; asns: number[] }[]; nexthop?: string; value?: { nexthop?: string } }[];
}

const AS_PATH = 2;
const NEXT_HOP = 3;
const MP_REACH = 14;

describe.skipIf(skip !== null)('interop: wgbgp agent and GoBGP over wireguard-go', () => {
  let site: Site | undefined;
  let b: Gobgp | undefined;
  const timings = new Timings();

  const gobgp = (...args: string[]): string => b!.gobgp(...args);
  /** Paths by prefix, from a `-j` RIB listing (a map prefix → paths). */
  const rib = (...args: string[]): Map<string, GobgpPath[]> => {
    const text = gobgp('-j', ...args).trim();
    const parsed = (text === '' || text === 'null' ? {} : JSON.parse(text)) as Record<string, GobgpPath[]> | GobgpPath[];
    const out = new Map<string, GobgpPath[]>();
    if (Array.isArray(parsed)) for (const p of parsed) out.set(p.nlri.prefix, [...(out.get(p.nlri.prefix) ?? []), p]);
    else for (const [prefix, paths] of Object.entries(parsed)) out.set(prefix, paths);
    return out;
  };
  const sessionState = (): string => gobgpSessionState(b!);
  const diagnostics = (): string => gobgpDiagnostics(site, b);

  beforeAll(async () => {
    // GTSM off on both sides: the opt-out path (GoBGP sends TTL 1 to a directly connected peer).
    ({ site, b } = await createGobgpSite('gb', 13, { bgp: { 'ttl-security': false } }, config, {
      setup: (g) => {
        g.gobgp('global', 'rib', '-a', 'ipv4', 'add', LAN_B.v4);
        g.gobgp('global', 'rib', '-a', 'ipv6', 'add', LAN_B.v6, 'nexthop', TUN_B.v6);
      },
    }));
    timings.mark('setup');
  }, 30_000);

  afterAll(async () => {
    timings.print('interop/gobgp');
    await teardown(site);
  }, 30_000);

  it('the agent reaches Established with GoBGP; GoBGP sees the session Established too', async () => {
    const s = site!;
    await until('neighbor Established', () => neighbors(s)[0]?.state === 'Established', 20_000, diagnostics);
    timings.mark('Established');
    // Both sides are active: a resolved connection collision is routine, not a lastError.
    expect(neighbors(s)).toEqual([expect.objectContaining({ name: 'peer', state: 'Established' })]);
    expect(neighbors(s)[0]?.lastError, tail(s.agentLog, 80)).toBeNull();
    await until('GoBGP Established', () => /established|^6$/i.test(sessionState()), 5_000, diagnostics);
  });

  it("A's kernel has GoBGP's prefixes via the peer's tunnel addresses, protocol 201", async () => {
    const s = site!;
    await until(`${LAN_B.v4} and ${LAN_B.v6} in A's kernel`, () =>
      hasRoute(agentRoutes(s, '-4'), LAN_B.v4, TUN_B.v4, s.ifA) && hasRoute(agentRoutes(s, '-6'), LAN_B.v6, TUN_B.v6, s.ifA),
      10_000, () => JSON.stringify([agentRoutes(s, '-4'), agentRoutes(s, '-6')]) + diagnostics());
    timings.mark('routes in A');
    expect(learnedRoutes(s)).toEqual([
      expect.objectContaining({ prefix: LAN_B.v4, neighbor: 'peer', asPath: [ASN_B], fib: true, nexthops: [{ address: TUN_B.v4, interface: s.ifA }] }),
      expect.objectContaining({ prefix: LAN_B.v6, neighbor: 'peer', asPath: [ASN_B], fib: true, nexthops: [{ address: TUN_B.v6, interface: s.ifA }] }),
    ]);
    expect(neighbors(s)[0]?.prefixesReceived).toBeGreaterThanOrEqual(2);
  });

  it("GoBGP's adj-in has 10.1.0.0/24 (next hop 10.255.0.0) and 2001:db8:1::/48 (next hop fd00:255::), AS path 65001", async () => {
    const adjIn = (family: 'ipv4' | 'ipv6', prefix: string): GobgpPath | undefined =>
      rib('neighbor', TUN_A.v4, 'adj-in', '-a', family).get(prefix)?.[0];
    await until('GoBGP has both prefixes from the agent', () => adjIn('ipv4', LAN_A.v4) && adjIn('ipv6', LAN_A.v6), 10_000, diagnostics);
    for (const [family, prefix, nextHop] of [['ipv4', LAN_A.v4, TUN_A.v4], ['ipv6', LAN_A.v6, TUN_A.v6]] as const) {
      const path = adjIn(family, prefix)!;
      const asPath = path.attrs.find((a) => a.type === AS_PATH)?.as_paths?.flatMap((seg) => seg.asns);
      expect(asPath, `${prefix} AS path`).toEqual([ASN_A]);
      const nh = path.attrs.find((a) => a.type === NEXT_HOP)?.nexthop ?? path.attrs.find((a) => a.type === MP_REACH)?.nexthop;
      expect(nh, `${prefix} next hop`).toBe(nextHop);
    }
    // Accepted into GoBGP's global RIB too.
    expect(rib('global', 'rib', '-a', 'ipv4').has(LAN_A.v4)).toBe(true);
    expect(rib('global', 'rib', '-a', 'ipv6').has(LAN_A.v6)).toBe(true);
  });

  it("GoBGP withdraws 10.2.0.0/24 (`global rib del`): it leaves A's kernel, 2001:db8:2::/48 stays", async () => {
    const s = site!;
    const received = neighbors(s)[0]?.prefixesReceived ?? 0;
    gobgp('global', 'rib', '-a', 'ipv4', 'del', LAN_B.v4);
    await timings.time(`withdrawal of ${LAN_B.v4} reached A's kernel`, () =>
      until(`${LAN_B.v4} gone from A's kernel`, () => !agentRoutes(s, '-4').some((r) => r.dst === LAN_B.v4), 5_000, diagnostics),
    );
    expect(hasRoute(agentRoutes(s, '-6'), LAN_B.v6, TUN_B.v6, s.ifA)).toBe(true);
    expect(learnedRoutes(s).map((r) => r.prefix)).toEqual([LAN_B.v6]);
    expect(neighbors(s)[0]).toMatchObject({ state: 'Established', prefixesReceived: received - 1 });
  });
});
