/**
 * Interop with BIRD 2 over real WireGuard (wireguard-go) in two namespaces:
 * the wgbgp agent in A (AS 65001), BIRD in B (AS 65002) behind a tunnel set up
 * with `wg` by hand. One IPv4 session carries IPv4 and IPv6 unicast.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execIn } from '../lab/helpers/netns.js';
import {
  agentRoutes,
  cli,
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
  PORT_A,
  tail,
  teardown,
  Timings,
  TUN_A,
  TUN_B,
  until,
  type Site,
} from './helpers/site.js';
import { BIRD_PREREQUISITES, birdBgpConfig, birdcAt, birdDiagnostics, createBirdSite, type Bird } from './helpers/bird.js';

const skip = missingPrerequisite(BIRD_PREREQUISITES);
if (skip !== null) console.log(`interop/bird: skipped: ${skip}`);

/** The TCP MD5 key both sides share (RFC 2385); BIRD's `password`. */
const MD5_KEY = 'wgbgp interop md5';

function birdConfig(log: string, site: Site): string {
  return birdBgpConfig(log, {
    protocols: [
      '# One static protocol per prefix, so one can be withdrawn with `birdc disable`.',
      `protocol static lan4 { ipv4; route ${LAN_B.v4} via "lan0"; }`,
      `protocol static lan6 { ipv6; route ${LAN_B.v6} via "lan0"; }`,
      '# Enabled by the ownership test: a default route, and the agent\'s own tunnel host route.',
      'protocol static default4 { disabled; ipv4; route 0.0.0.0/0 via "lan0"; }',
      `protocol static ownhost { disabled; ipv4; route ${TUN_B.v4}/32 via "lan0"; }`,
      '# Enabled by the recursion test: routes covering B\'s own tunnel endpoint, as a hub hands out.',
      `protocol static endpoint4 { disabled; ipv4; route ${site.underlayB.replace(/\.\d+$/, '.0')}/24 via "lan0"; route ${site.underlayB}/32 via "lan0"; }`,
      'protocol kernel k4 { ipv4 { import none; export where source = RTS_BGP; }; }',
      'protocol kernel k6 { ipv6 { import none; export where source = RTS_BGP; }; }',
    ],
    // GTSM (RFC 5082) and TCP MD5 (RFC 2385), as the agent has them for this neighbor.
    session: [`password "${MD5_KEY}";`],
    // The agent connects first (connect delay 10 s). When BIRD connects at the same moment (`connect delay
    // time 1`), the collision sometimes resolves differently on the two sides (the agent, already
    // Established, keeps its connection; BIRD, still in OpenConfirm, keeps its own by router id): both
    // close, the session flaps and lastError reads "TCP: write EPIPE". A known agent issue, kept out of this test.
    connectDelay: 10,
    ipv6: `import all; export where source = RTS_STATIC; next hop address ${TUN_B.v6};`,
  });
}

describe.skipIf(skip !== null)('interop: wgbgp agent and BIRD 2 over wireguard-go', () => {
  let site: Site | undefined;
  let bird: Bird | undefined;
  const timings = new Timings();

  const birdc = (...args: string[]): string => birdcAt(bird!.ctl, ...args);
  const diagnostics = (): string => birdDiagnostics(site, bird);

  beforeAll(async () => {
    ({ site, bird } = await createBirdSite('bi', 11, { bgp: { password: MD5_KEY } }, birdConfig));
    timings.mark('setup');
  }, 30_000);

  afterAll(async () => {
    timings.print('interop/bird');
    await teardown(site);
  }, 30_000);

  it('the agent reaches Established with BIRD; BIRD sees the session Established too', async () => {
    const s = site!;
    await until('neighbor Established', () => neighbors(s)[0]?.state === 'Established', 20_000, diagnostics);
    timings.mark('Established');
    // Both sides are active: a resolved connection collision is routine, not a lastError.
    expect(neighbors(s)).toEqual([expect.objectContaining({ name: 'peer', state: 'Established' })]);
    expect(neighbors(s)[0]?.lastError, tail(s.agentLog, 80)).toBeNull();
    expect(birdc('show', 'protocols', 'wgbgp')).toMatch(/wgbgp\s+BGP\s+---\s+up\s+.*Established/);
  });

  it("A's kernel has BIRD's prefixes via the peer's tunnel addresses, protocol 201", async () => {
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

  it('BIRD received 10.1.0.0/24 (next hop 10.255.0.0) and 2001:db8:1::/48 (next hop fd00:255::), AS path 65001', async () => {
    await until('BIRD has both prefixes from the agent', () =>
      /BGP\.as_path/.test(birdc('show', 'route', LAN_A.v4, 'all')) && /BGP\.as_path/.test(birdc('show', 'route', LAN_A.v6, 'all')),
      10_000, diagnostics);
    const v4 = birdc('show', 'route', LAN_A.v4, 'all');
    expect(v4).toMatch(/BGP\.as_path: 65001\s*\n/);
    expect(v4).toMatch(new RegExp(`BGP\\.next_hop: ${TUN_A.v4.replaceAll('.', '\\.')}\\s*\\n`));
    const v6 = birdc('show', 'route', LAN_A.v6, 'all');
    expect(v6).toMatch(/BGP\.as_path: 65001\s*\n/);
    // The agent's own IPv6 tunnel address is the (global) IPv6 next hop; a link-local may follow.
    expect(v6).toMatch(/BGP\.next_hop: fd00:255::(\s|$)/);
    expect(birdc('show', 'protocols', 'all', 'wgbgp')).toMatch(/Channel ipv6[\s\S]*Routes:\s+1 imported/);
  });

  it("BIRD exported them into B's kernel via the tunnel", async () => {
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

  it("BIRD withdraws 10.2.0.0/24: it leaves A's kernel, 2001:db8:2::/48 stays", async () => {
    const s = site!;
    const received = neighbors(s)[0]?.prefixesReceived ?? 0;
    expect(birdc('disable', 'lan4')).toMatch(/lan4: disabled/);
    await timings.time(`withdrawal of ${LAN_B.v4} reached A's kernel`, () =>
      until(`${LAN_B.v4} gone from A's kernel`, () => !agentRoutes(s, '-4').some((r) => r.dst === LAN_B.v4), 5_000, diagnostics),
    );
    expect(hasRoute(agentRoutes(s, '-6'), LAN_B.v6, TUN_B.v6, s.ifA)).toBe(true);
    expect(learnedRoutes(s).map((r) => r.prefix)).toEqual([LAN_B.v6]);
    expect(neighbors(s)[0]).toMatchObject({ state: 'Established', prefixesReceived: received - 1 });
  });

  it("ownership: BIRD's default route goes in beside the operator's (metric 32 vs 0) and its withdraw leaves the operator's; its announcement of our tunnel /32 never replaces the host route", async () => {
    const s = site!;
    // The operator's default route in A, as a router has one (proto boot, metric 0).
    await execIn(s.nsA, ['ip', 'route', 'add', 'default', 'via', s.underlayB]);
    const defaults = (): string[] =>
      kernelRoutes(s.nsA, '-4', 'exact', '0.0.0.0/0').map((r) => `${String(r.protocol ?? 'boot')}/${(r as { metric?: number }).metric ?? 0}`).sort();
    const hostRoute = (): unknown[] => kernelRoutes(s.nsA, '-4', 'exact', `${TUN_B.v4}/32`, 'proto', '201');
    expect(hostRoute()).toEqual([expect.objectContaining({ dst: TUN_B.v4, dev: s.ifA })]);
    expect(birdc('enable', 'default4')).toMatch(/enabled/);
    expect(birdc('enable', 'ownhost')).toMatch(/enabled/);
    await until('the learned default route beside the operator\'s', () => defaults().includes('201/32'), 5_000, diagnostics);
    expect(defaults()).toEqual(['201/32', 'boot/0']);
    await until(`${TUN_B.v4}/32 learned`, () => learnedRoutes(s).some((r) => r.prefix === `${TUN_B.v4}/32`), 5_000, diagnostics);
    // Ours wins: still the device route through the tunnel, not a route via the address itself.
    expect(hostRoute()).toEqual([expect.objectContaining({ dst: TUN_B.v4, dev: s.ifA })]);
    expect((hostRoute()[0] as { gateway?: string }).gateway).toBeUndefined();
    const [own] = cli<{ prefix: string; fib: boolean; fibDetail: string | null }[]>(s, 'routes', `${TUN_B.v4}/32`);
    expect(own).toMatchObject({ fib: false, fibDetail: expect.stringMatching(/tunnel host route/) });
    // Which one forwards is the operator's choice by metric, and `routes` says so.
    const [def] = cli<{ prefix: string; fib: boolean; fibDetail: string | null }[]>(s, 'routes', '0.0.0.0/0');
    expect(def).toMatchObject({ prefix: '0.0.0.0/0', fib: true, fibDetail: expect.stringMatching(/another route for this prefix forwards \(protocol boot, metric 0\)/) });
    const [lan] = cli<{ fib: boolean; fibDetail: string | null }[]>(s, 'routes', LAN_B.v6);
    expect(lan).toMatchObject({ fib: true, fibDetail: null });
    expect(await pingFromA(s, LAN_A.addr4, LAN_B.addr4)).toBe(true);

    expect(birdc('disable', 'default4')).toMatch(/disabled/);
    expect(birdc('disable', 'ownhost')).toMatch(/disabled/);
    await until('the learned default route withdrawn', () => !defaults().includes('201/32'), 5_000, diagnostics);
    await until(`${TUN_B.v4}/32 withdrawn`, () => !learnedRoutes(s).some((r) => r.prefix === `${TUN_B.v4}/32`), 5_000, diagnostics);
    expect(defaults()).toEqual(['boot/0']);
    expect(hostRoute()).toEqual([expect.objectContaining({ dst: TUN_B.v4, dev: s.ifA })]);
    expect(await pingFromA(s, LAN_A.addr4, LAN_B.addr4)).toBe(true);
  });

  it("recursion guard: BIRD's 0/0, its endpoint's /24 and /32 never carry the tunnel's own packets (pinned underlay route); the tunnel survives a forced re-handshake", async () => {
    const s = site!;
    expect(birdc('enable', 'default4')).toMatch(/enabled/);
    expect(birdc('enable', 'endpoint4')).toMatch(/enabled/);
    const net24 = `${s.underlayB.replace(/\.\d+$/, '.0')}/24`;
    await until('0/0, the endpoint /24 and /32 learned', () => {
      const learned = learnedRoutes(s).map((r) => r.prefix);
      return learned.includes('0.0.0.0/0') && learned.includes(net24) && learned.includes(`${s.underlayB}/32`);
    }, 5_000, diagnostics);
    // The mechanism itself: the endpoint's /32 is the agent's pinned route on the underlay, and the kernel
    // sends the endpoint's packets there, whatever covers it from BGP.
    const pinned = kernelRoutes(s.nsA, '-4', 'exact', `${s.underlayB}/32`, 'proto', '201');
    expect(pinned).toEqual([expect.objectContaining({ dst: s.underlayB, dev: 'eth1' })]);
    const get = JSON.parse(execFileSync('ip', ['-n', s.nsA, '-j', 'route', 'get', s.underlayB], { encoding: 'utf8' })) as { dev: string }[];
    expect(get[0]?.dev).toBe('eth1');
    // The learned /24 is in the kernel beside the connected one, for ordinary traffic.
    expect(kernelRoutes(s.nsA, '-4', 'exact', net24, 'proto', '201')).toEqual([expect.objectContaining({ dev: s.ifA })]);
    const [own] = cli<{ fib: boolean; fibDetail: string | null }[]>(s, 'routes', `${s.underlayB}/32`);
    expect(own).toMatchObject({ fib: false, fibDetail: expect.stringMatching(/tunnel/) });

    // A forced re-handshake: B forgets the peer and learns it again.
    await execIn(s.nsB, ['wg', 'set', s.ifB, 'peer', s.pubA, 'remove']);
    await execIn(s.nsB, ['wg', 'set', s.ifB, 'peer', s.pubA, 'endpoint', `${s.underlayA}:${PORT_A}`, 'allowed-ips', '0.0.0.0/0,::/0']);
    const handshake = (): number => {
      const out = execFileSync('ip', ['netns', 'exec', s.nsB, 'wg', 'show', s.ifB, 'latest-handshakes'], { encoding: 'utf8' }).trim();
      return Number(out.split(/\s+/)[1] ?? 0);
    };
    const before = Math.floor(Date.now() / 1000) - 1;
    await until('a new handshake', async () => {
      await pingFromA(s, LAN_A.addr4, LAN_B.addr4);
      return handshake() >= before;
    }, 20_000, diagnostics);
    await until('ping across again', () => pingFromA(s, LAN_A.addr4, LAN_B.addr4), 10_000, diagnostics);
    expect(neighbors(s)[0]?.state).toBe('Established');
    expect(birdc('disable', 'endpoint4')).toMatch(/disabled/);
    expect(birdc('disable', 'default4')).toMatch(/disabled/);
  });
});
