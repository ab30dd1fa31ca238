/**
 * End to end, on real kernels: labs/ospf-triangle in network namespaces. Three
 * agents, each with FRR (zebra + FPM, ospfd, ospf6d) started by the lab runner
 * in a pathspace of its own, wireguard-go tunnels A-B, B-C, C-A with OSPF
 * (hello 1 / dead 4) on all of them and BGP on A-B, site-d, BIRD 2 behind
 * its own wireguard-go as site-c's OSPF neighbor (interop), and site-e, an
 * agent without FRR behind site-a, BGP only: site-a redistributes between the
 * two (ospf.redistribute-bgp: site-e's LAN becomes a type-2 external tagged
 * 201; bgp.advertise-ospf towards site-e: OSPF's internal routes as its own),
 * and site-b has advertise-ospf towards site-a (loop safety: OSPF externals
 * never go back to BGP). Then: adjacencies, routes in the kernels and in
 * `wgbgp routes`, pings, both directions of the redistribution, a failover of
 * the A-B tunnel timed under a 10/s ping (after a reload that changes that
 * tunnel's cost without touching its BGP session: the cut may end the
 * session), and `lab down` leaving no FRR behind.
 *
 * Needs root, wireguard-go, FRR 8.4 (/usr/lib/frr), BIRD 2 and nft: skipped
 * without them, except under CI=true, where a missing prerequisite fails.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labTest, labUp, readState, type LabState } from '#lab/index';
import { FRR_RUN, findFrrDaemons } from '#lab/frr';
import type { NeighborJson, OspfNeighborJson, OspfRouteJson, RouteJson, StatusJson } from '#api/types';
import { missingPrerequisite } from '../interop/helpers/site.js';
import { frrMissing } from '../ospf-bridge/helpers/frr-netns.js';
import { CLI, cli, editYaml, reload } from './helpers/agents.js';
import { copyLab, removeLabCopy, REPO_LABS } from './helpers/labs.js';
import { uniqueName } from './helpers/netns.js';
import { eventually, ipRoutes, ospfDevs, ospfExternalLsas, pingFlow, pingOnce as ping, routeGet, vtyshJson } from './helpers/ospf.js';

const CI = process.env.CI === 'true';
const missing = missingPrerequisite(['bird', 'birdc', 'nft']) ?? frrMissing();
if (missing !== null && !CI) console.log(`lab/ospf-triangle: skipped: ${missing}`);

/** Dead interval of every tunnel in the lab: failover must take no longer than this and a second. */
const DEAD_S = 4;

describe.skipIf(missing !== null && !CI)('ospf-triangle lab: agents with FRR, OSPF on every tunnel, BGP on one, BIRD on a fourth site', () => {
  const lab = uniqueName('ot');
  // One short tag keeps the ten tunnel names unique on the host (wireguard-go's sockets are global).
  const tag = uniqueName('o');
  const ifs = {
    ab: `${tag}ab`, ac: `${tag}ac`, ae: `${tag}ae`, ba: `${tag}ba`, bc: `${tag}bc`,
    ca: `${tag}ca`, cb: `${tag}cb`, cd: `${tag}cd`, dc: `${tag}dc`, ea: `${tag}ea`,
  };
  const ns = (site: string): string => `wgbgp-${lab}-site-${site}`;
  const sock = (site: string): string => `/run/wgbgp/${lab}-site-${site}.sock`;
  const birdCtl = `/run/${lab}-site-d.bird.ctl`;
  const dir = copyLab(join(REPO_LABS, 'ospf-triangle'), lab, {
    'wgo-a-b': ifs.ab, 'wgo-a-c': ifs.ac, 'wgo-b-a': ifs.ba, 'wgo-b-c': ifs.bc,
    'wgo-c-a': ifs.ca, 'wgo-c-b': ifs.cb, 'wgo-c-d': ifs.cd, 'wgo-d-c': ifs.dc,
    'wgo-a-e': ifs.ae, 'wgo-e-a': ifs.ea,
    '/run/wgbgp/ospf-triangle-': `/run/wgbgp/${lab}-`,
    '/run/ospf-triangle-': `/run/${lab}-`,
  });
  // FRR's daemons run as user frr: they must reach .lab-run (mkdtemp makes the copy 0700).
  chmodSync(dir, 0o755);
  const birdConf = join(dir, 'site-d', 'bird.conf');
  writeFileSync(birdConf, readFileSync(birdConf, 'utf8').replaceAll('wgo-d-c', ifs.dc));
  const quiet = { print: () => undefined };
  let state: LabState | null = null;
  const timings: string[] = [];

  const ospfNeighbors = (site: string): OspfNeighborJson[] => cli<OspfNeighborJson[]>('ospf', 'neighbors', '--socket', sock(site));
  const fullWith = (site: string, neighbor: string): boolean =>
    ['ipv4', 'ipv6'].every((f) => ospfNeighbors(site).some((n) => n.neighbor === neighbor && n.family === f && n.state === 'Full'));
  const diagnostics = (): string =>
    ['a', 'b', 'c', 'e'].map((s) => `--- site-${s} log:\n${readFileSync(join(dir, '.lab-run', `site-${s}.log`), 'utf8').split('\n').slice(-15).join('\n')}`).join('\n');

  beforeAll(async () => {
    if (missing !== null) throw new Error(`lab/ospf-triangle needs ${missing}`);
    const t0 = performance.now();
    const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
    await labUp(dir, quiet);
    const up = performance.now() - t0;
    timings.push(`lab up (FRR, then the agents) ${secs(up)}`);
    state = readState(join(dir, '.lab-run'));
    try {
      // The first OSPF route in a kernel, watched closely (ip, not the CLI).
      const firstRoute = eventually("site-a's first OSPF route in its kernel", async () => (await ospfDevs(ns('a'), '10.2.0.0/24')).length > 0 && performance.now(), 30_000);
      firstRoute.catch(() => undefined);
      // Both ways across site-a's redistribution, watched closely: site-c's LAN at BGP-only site-e
      // (OSPF -> BGP, the agent's kernel route), site-e's LAN at site-c (BGP -> OSPF, zebra's).
      const eHasC = eventually("site-c's LAN in site-e's kernel", async () => (await ipRoutes(ns('e'), '-4', '10.3.0.0/24', 'proto', '201')).length > 0 && performance.now(), 45_000);
      const cHasE = eventually("site-e's LAN in site-c's kernel", async () => (await ospfDevs(ns('c'), '10.5.0.0/24')).length > 0 && performance.now(), 45_000);
      eHasC.catch(() => undefined);
      cHasE.catch(() => undefined);
      await eventually('every tunnel Full in OSPFv2 and OSPFv3', () =>
        fullWith('a', 'site-b') && fullWith('a', 'site-c') && fullWith('b', 'site-c') && fullWith('c', 'site-d'), 30_000);
      // When each adjacency became Full, from FRR's own uptime (OSPFv2: in ms).
      const now = performance.now();
      const fullAt = ['a', 'b', 'c'].flatMap((site) => ospfNeighbors(site).filter((n) => n.family === 'ipv4' && n.uptimeMs !== null).map((n) => now - n.uptimeMs! - t0));
      timings.push(`OSPFv2 Full ${secs(Math.min(...fullAt))} (first) to ${secs(Math.max(...fullAt))} (last)`);
      timings.push(`first OSPF route in site-a's kernel ${secs((await firstRoute) - t0)}`);
      // (site-a has C's and D's LANs from site-b's BGP, see below: the kernel holds the agent's route, not OSPF's.)
      await eventually('all LANs in every kernel over OSPF', async () => {
        for (const [site, prefixes] of [['a', ['10.2.0.0/24', '2001:db8:2::/64']], ['b', ['10.1.0.0/24', '10.3.0.0/24', '2001:db8:1::/64']], ['c', ['10.1.0.0/24', '10.2.0.0/24', '2001:db8:2::/64']]] as const) {
          for (const p of prefixes) if ((await ospfDevs(ns(site), p)).length === 0) return false;
        }
        return true;
      }, 30_000);
      timings.push(`every LAN everywhere ${secs(performance.now() - t0)}`);
      const eReady = await eHasC;
      const cReady = await cHasE;
      timings.push(`site-e has site-c's LAN (BGP from site-a) ${secs(eReady - t0)}, site-c has site-e's LAN (OSPF external) ${secs(cReady - t0)}, both ${secs(Math.max(eReady, cReady) - t0)}`);
      // Settled: site-b's internal routes reached site-a over BGP (never site-a's own LAN: split horizon).
      await eventually('site-e has the LANs of the OSPF area over BGP', async () => {
        for (const p of ['10.2.0.0/24', '10.3.0.0/24', '10.4.0.0/24']) if ((await ipRoutes(ns('e'), '-4', p, 'proto', '201')).length === 0) return false;
        for (const p of ['2001:db8:2::/64', '2001:db8:3::/64', '2001:db8:4::/64']) if ((await ipRoutes(ns('e'), '-6', p, 'proto', '201')).length === 0) return false;
        return (await ipRoutes(ns('a'), '-4', '10.3.0.0/24', 'proto', '201')).length > 0;
      }, 30_000);
      timings.push(`settled ${secs(performance.now() - t0)}, all after \`lab up\` began`);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${diagnostics()}`);
    }
  }, 90_000);

  afterAll(async () => {
    console.log(`ospf-triangle: ${timings.join(', ')}`);
    await labDown(dir, quiet).catch(() => undefined);
    removeLabCopy(dir);
  }, 60_000);

  it('lab test: adjacencies, routes over OSPF (and BGP beside them), vtysh in the pathspace, BIRD, pings: every assertion holds', async () => {
    const lines: string[] = [];
    const ok = await labTest(dir, { print: (l) => lines.push(l) });
    expect(lines.filter((l) => !l.startsWith('PASS'))).toEqual([expect.stringMatching(/assertions hold$/)]);
    expect(ok).toBe(true);
  }, 60_000);

  it('the runner gave each node its FRR: a pathspace, its pid files, the agent config pointing at it', () => {
    for (const site of ['a', 'b', 'c']) {
      const node = state!.nodes[`site-${site}`]!;
      expect(node.frr?.pathspace).toBe(ns(site));
      expect(node.frr?.daemons.map((d) => d.name)).toEqual(['zebra', 'ospfd', 'ospf6d']);
      for (const d of node.frr!.daemons) expect(Number(readFileSync(d.pidFile, 'utf8'))).toBe(d.pid);
      expect(existsSync(join(FRR_RUN, ns(site), 'zebra.vty'))).toBe(true);
      expect(readFileSync(node.config!, 'utf8')).toMatch(new RegExp(`pathspace: ${ns(site)}`));
    }
    expect(state!.nodes['site-d']!.frr ?? null).toBeNull();
    // site-e: an agent without FRR and without ospf: (BGP only).
    expect(state!.nodes['site-e']!.frr ?? null).toBeNull();
    expect(readFileSync(state!.nodes['site-e']!.config!, 'utf8')).not.toMatch(/^ospf:/m);
  });

  it('OSPFv2 and OSPFv3 Full on every tunnel, each adjacency named after its neighbor', () => {
    const expected: Record<string, [string, string, string][]> = {
      a: [['site-b', ifs.ab, '192.0.2.2'], ['site-c', ifs.ac, '192.0.2.3']],
      b: [['site-a', ifs.ba, '192.0.2.1'], ['site-c', ifs.bc, '192.0.2.3']],
      c: [['site-a', ifs.ca, '192.0.2.1'], ['site-b', ifs.cb, '192.0.2.2'], ['site-d', ifs.cd, '192.0.2.4']],
    };
    for (const [site, list] of Object.entries(expected)) {
      const got = ospfNeighbors(site);
      expect(got).toHaveLength(list.length * 2);
      for (const [neighbor, iface, routerId] of list) {
        for (const family of ['ipv4', 'ipv6'] as const) {
          expect(got).toContainEqual(expect.objectContaining({ family, neighbor, interface: iface, routerId, state: 'Full' }));
        }
      }
    }
  });

  it("each site has the others' LANs from OSPF in its kernel (proto ospf) and in `wgbgp routes` (source ospf)", async () => {
    // site-a: only B's LAN. C's and D's come from site-b over BGP as well (advertise-ospf), and on
    // Linux zebra prefers the agent's kernel route: see "what forwards at site-a" below.
    const lans: Record<string, [string, string][]> = {
      a: [['10.2.0.0/24', ifs.ab], ['2001:db8:2::/64', ifs.ab]],
      b: [['10.1.0.0/24', ifs.ba], ['2001:db8:1::/64', ifs.ba], ['10.3.0.0/24', ifs.bc], ['2001:db8:3::/64', ifs.bc]],
      c: [['10.1.0.0/24', ifs.ca], ['2001:db8:1::/64', ifs.ca], ['10.2.0.0/24', ifs.cb], ['2001:db8:2::/64', ifs.cb], ['10.4.0.0/24', ifs.cd]],
    };
    for (const [site, list] of Object.entries(lans)) {
      const routes = cli<RouteJson[]>('routes', '--socket', sock(site));
      for (const [prefix, dev] of list) {
        expect(await ospfDevs(ns(site), prefix), `site-${site} kernel ${prefix}`).toEqual([dev]);
        expect(routes, `site-${site} wgbgp routes ${prefix}`).toContainEqual(
          expect.objectContaining({ prefix, source: 'ospf', fib: true, nexthops: [expect.objectContaining({ interface: dev })] }),
        );
      }
    }
    // Longest match over OSPF's routes too; the neighbor is the tunnel's.
    expect(cli<RouteJson[]>('routes', '10.3.0.77', '--socket', sock('b'))).toEqual([
      expect.objectContaining({ prefix: '10.3.0.0/24', source: 'ospf', neighbor: 'site-c', nexthops: [{ address: '10.255.23.1', interface: ifs.bc }] }),
    ]);
  });

  it('status: the OSPF bridge is ok, zebra connected over FPM, the tunnels listed', () => {
    for (const [site, tunnels] of [['a', [ifs.ab, ifs.ac]], ['b', [ifs.ba, ifs.bc]], ['c', [ifs.ca, ifs.cb, ifs.cd]]] as const) {
      const s = cli<StatusJson>('status', '--socket', sock(site));
      expect(s.ospf, `site-${site}`).toMatchObject({ state: 'ok', detail: null, frrVersion: expect.stringMatching(/^\d+\.\d+/), fpm: { connected: true } });
      expect([...(s.ospf?.interfaces ?? [])].sort()).toEqual([...tunnels].sort());
      expect(s.ospf?.fpm.routes).toBeGreaterThan(0);
    }
    // site-e has no bridge at all.
    expect(cli<StatusJson>('status', '--socket', sock('e')).ospf ?? null).toBeNull();
  });

  it("pings between every pair of LANs, IPv4 and IPv6, BIRD's site and the BGP-only site included (not A's LAN and E's: site-a does not announce its LAN over BGP)", () => {
    const lan = (n: number, v6: boolean): string => (v6 ? `2001:db8:${n}::1` : `10.${n}.0.1`);
    for (const [from, site] of [[1, 'a'], [2, 'b'], [3, 'c'], [4, 'd'], [5, 'e']] as const) {
      for (const to of [1, 2, 3, 4, 5]) {
        if (to === from || (from === 1 && to === 5) || (from === 5 && to === 1)) continue;
        for (const v6 of [false, true]) expect(ping(ns(site), lan(from, v6), lan(to, v6)), `${lan(from, v6)} -> ${lan(to, v6)}`).toBe(true);
      }
    }
  });

  it('interop: BIRD on site-d is Full with site-c in OSPFv2 and OSPFv3, and routes flow both ways', async () => {
    const birdc = (...args: string[]): string => spawnSync('birdc', ['-s', birdCtl, ...args], { encoding: 'utf8' }).stdout;
    expect(birdc('show', 'ospf', 'neighbors', 'o4')).toMatch(/192\.0\.2\.3\s+1\s+Full\/PtP/);
    expect(birdc('show', 'ospf', 'neighbors', 'o6')).toMatch(/192\.0\.2\.3\s+1\s+Full\/PtP/);
    // FRR (driven by site-c's agent) -> BIRD: every other LAN in site-d's kernel, via the tunnel.
    const dRoutes = await ipRoutes(ns('d'), '-4', 'proto', 'bird');
    for (const p of ['10.1.0.0/24', '10.2.0.0/24', '10.3.0.0/24']) {
      expect(dRoutes).toContainEqual(expect.objectContaining({ dst: p, gateway: '10.255.34.0', dev: ifs.dc }));
    }
    // BIRD -> FRR: site-d's LAN at site-c (next hop BIRD's tunnel address and its fixed link-local).
    expect(await ipRoutes(ns('c'), '-4', '10.4.0.0/24', 'proto', 'ospf')).toEqual([expect.objectContaining({ gateway: '10.255.34.1', dev: ifs.cd })]);
    expect(await ipRoutes(ns('c'), '-6', '2001:db8:4::/64', 'proto', 'ospf')).toEqual([expect.objectContaining({ gateway: 'fe80::34:1', dev: ifs.cd })]);
    // FRR's type-2 externals (site-e's LAN, from site-a's BGP) reach BIRD with their tag, OSPFv3's too.
    for (const [table, prefix] of [['master4', '10.5.0.0/24'], ['master6', '2001:db8:5::/48']] as const) {
      const shown = birdc('show', 'route', 'table', table, prefix, 'all');
      expect(shown, prefix).toMatch(/Type: OSPF-E2/);
      expect(shown, prefix).toMatch(/OSPF\.tag: 0x000000c9/);
      expect(shown, prefix).toMatch(/OSPF\.router_id: 192\.0\.2\.1/);
    }
    expect(dRoutes).toContainEqual(expect.objectContaining({ dst: '10.5.0.0/24', gateway: '10.255.34.0', dev: ifs.dc }));
  });

  it("OSPF -> BGP: BGP-only site-e learns the area's LANs from site-a (source bgp, in its kernel, proto 201); not site-a's own LAN (split horizon at site-b)", async () => {
    const routes = cli<RouteJson[]>('routes', '--socket', sock('e'));
    const route = (prefix: string): RouteJson | undefined => routes.find((r) => r.prefix === prefix);
    const viaA = (prefix: string): RouteJson => {
      const r = route(prefix);
      expect(r, `site-e ${prefix}`).toMatchObject({ source: 'bgp', neighbor: 'site-a', fib: true, nexthops: [{ interface: ifs.ea }] });
      return r!;
    };
    // site-b's LAN: OSPF's internal route at site-a, sent as site-a's own (site-b sends no route for its own LAN).
    for (const p of ['10.2.0.0/24', '2001:db8:2::/64']) expect(viaA(p).asPath, p).toEqual([65001]);
    // site-c's and BIRD's LANs (intra-area everywhere, BIRD's `stub` LAN too): site-a's best is the BGP
    // path site-b sends (advertise-ospf), which wins over OSPF's route there, so it goes on with AS 65002.
    for (const p of ['10.3.0.0/24', '10.4.0.0/24', '10.255.34.0/31']) expect(viaA(p).asPath, p).toEqual([65001, 65002]);
    // IPv6: the same (OSPFv3's route types are read from the intra-/inter-area tables: no flapping).
    for (const p of ['2001:db8:3::/64', '2001:db8:4::/64', 'fd00:255:34::/127']) expect(viaA(p).asPath, p).toEqual([65001, 65002]);
    // site-a's own LAN: connected at site-a, so no OSPF route there and advertise-ospf does not send it,
    // and site-b does not send it back to site-a (split horizon): a border router announces its own LANs.
    for (const p of ['10.1.0.0/24', '2001:db8:1::/64']) expect(routes.some((r) => r.prefix === p), p).toBe(false);
    // What site-a announces and what site-b announces over BGP.
    expect(viaA('10.10.0.0/24').asPath).toEqual([65001]);
    expect(viaA('10.20.0.0/24').asPath).toEqual([65001, 65002]);
    // Nothing of the tunnels' own plumbing: no host routes, no endpoint pins, not its own tunnel.
    expect(routes.filter((r) => r.source === 'bgp' && /\/(32|128)$/.test(r.prefix))).toEqual([]);
    expect(routes.filter((r) => r.source === 'bgp' && (r.prefix.startsWith('198.18.') || r.prefix === '10.255.15.0/31'))).toEqual([]);
    // In site-e's kernel: the agent's routes via site-a's tunnel address.
    for (const p of ['10.2.0.0/24', '10.3.0.0/24', '10.4.0.0/24']) {
      expect(await ipRoutes(ns('e'), '-4', p, 'proto', '201'), p).toEqual([expect.objectContaining({ gateway: '10.255.15.0', dev: ifs.ea })]);
    }
    for (const p of ['2001:db8:2::/64', '2001:db8:3::/64', '2001:db8:4::/64']) {
      expect(await ipRoutes(ns('e'), '-6', p, 'proto', '201'), p).toEqual([expect.objectContaining({ gateway: 'fd00:255:15::', dev: ifs.ea })]);
    }
    // site-e <-> site-c both ways (the way back needs BGP -> OSPF at site-a), v4 and v6.
    for (const [site, from, to] of [['e', '10.5.0.1', '10.3.0.1'], ['e', '2001:db8:5::1', '2001:db8:3::1'], ['c', '10.3.0.1', '10.5.0.1'], ['c', '2001:db8:3::1', '2001:db8:5::1']] as const) {
      expect(ping(ns(site), from, to), `${from} -> ${to}`).toBe(true);
    }
  });

  it("BGP -> OSPF: site-e's LAN is a type-2 external tagged 201 at site-b and site-c; site-c forwards with it, site-b with its own BGP route", async () => {
    const ext = (site: string): OspfRouteJson[] => cli<OspfRouteJson[]>('ospf', 'routes', '--socket', sock(site));
    for (const [site, dev, via] of [['c', ifs.ca, '10.255.13.0'], ['b', ifs.ba, '10.255.12.0']] as const) {
      const routes = ext(site);
      expect(routes.find((r) => r.prefix === '10.5.0.0/24'), `site-${site}`).toMatchObject({ family: 'ipv4', type: 'external2', tag: 201, nexthops: [{ address: via, interface: dev }] });
      // OSPFv3: FRR's route table carries no tag (the LSA has it: BIRD reads 0xc9, see interop).
      expect(routes.find((r) => r.prefix === '2001:db8:5::/48'), `site-${site}`).toMatchObject({ family: 'ipv6', type: 'external2', tag: null, nexthops: [{ interface: dev }] });
    }
    // site-c: zebra installs OSPF's external (proto ospf) and `wgbgp routes` shows it.
    expect(await ospfDevs(ns('c'), '10.5.0.0/24')).toEqual([ifs.ca]);
    expect(await ospfDevs(ns('c'), '2001:db8:5::/48')).toEqual([ifs.ca]);
    expect(cli<RouteJson[]>('routes', '10.5.0.0/24', '--socket', sock('c'))).toEqual([expect.objectContaining({ source: 'ospf', neighbor: 'site-a' })]);
    // site-b: BGP from site-a has it too ([65001, 65005]); zebra prefers the agent's kernel route, so
    // site-b's kernel has proto 201 and no proto ospf route (the external stays in OSPF's table).
    expect(await ipRoutes(ns('b'), '-4', '10.5.0.0/24')).toEqual([expect.objectContaining({ protocol: '201', gateway: '10.255.12.0', dev: ifs.ba })]);
    expect(await ipRoutes(ns('b'), '-6', '2001:db8:5::/48')).toEqual([expect.objectContaining({ protocol: '201', dev: ifs.ba })]);
    expect(cli<RouteJson[]>('routes', '10.5.0.0/24', '--socket', sock('b'))).toEqual([expect.objectContaining({ source: 'bgp', neighbor: 'site-a', asPath: [65001, 65005] })]);

    // Every external in the area is site-a's, tagged 201 (v4), and none is a host route: no tunnel
    // host route (10.255.x.y/32, fd00:...:/128), no pinned underlay endpoint (198.18.x.y/32).
    for (const site of ['b', 'c']) {
      const lsas = ospfExternalLsas(ns(site));
      const live = lsas.filter((l) => l.age < 3600);
      expect(live.map((l) => l.prefix), `site-${site}`).toEqual(expect.arrayContaining(['10.5.0.0/24', '2001:db8:5::/48', '10.20.0.0/24', '2001:db8:20::/48']));
      for (const l of lsas) {
        expect(l.advRouter, `${l.prefix} at site-${site}`).toBe('192.0.2.1');
        expect(l.prefix, `site-${site}`).not.toMatch(/\/(32|128)$/);
        expect(l.prefix, `site-${site}`).not.toMatch(/^198\.1[89]\./);
        if (!l.prefix.includes(':')) expect(l.tag, l.prefix).toBe(201);
      }
      // Also: what site-a has from site-b over BGP (C's and D's LANs, tunnel subnets) is in OSPF as
      // externals as well, beside the intra-area routes that win; see the loop-safety test.
      expect(live.map((l) => l.prefix), `site-${site}`).toEqual(expect.arrayContaining(['10.3.0.0/24', '10.4.0.0/24']));
    }
    // site-a's kernel routes that OSPF must not take are there (so their absence above means something).
    expect(await ipRoutes(ns('a'), '-4', '10.255.15.1', 'proto', '201')).toHaveLength(1);
    expect(await ipRoutes(ns('a'), '-4', '198.18.15.5', 'proto', '201')).toHaveLength(1);
    expect(await ipRoutes(ns('a'), '-6', 'fd00:255:15::1', 'proto', '201')).toHaveLength(1);
    expect(await ipRoutes(ns('a'), '-6', 'fd00:255:12::1', 'proto', '201')).toHaveLength(1);
  });

  it("loop safety: site-b sends site-a OSPF's internal routes, never site-e's LAN (an external there); what then forwards at site-a", async () => {
    // site-a's best paths to site-e's LAN come from site-e.
    expect(cli<RouteJson[]>('routes', '10.5.0.0/24', '--socket', sock('a'))).toEqual([expect.objectContaining({ source: 'bgp', neighbor: 'site-e', asPath: [65005], nexthops: [{ address: '10.255.15.1', interface: ifs.ae }] })]);
    expect(cli<RouteJson[]>('routes', '2001:db8:5::/48', '--socket', sock('a'))).toEqual([expect.objectContaining({ source: 'bgp', neighbor: 'site-e', asPath: [65005] })]);
    // And site-b sent no path for it at all: every prefix site-a received from site-b is either a best
    // path from site-b or one of the A-C tunnel subnets site-a has connected (site-b has them from
    // OSPF). A path for site-e's LAN (losing to site-e's on ORIGIN) would be one more.
    const shadowed = ['10.255.13.0/31', 'fd00:255:13::/127'];
    const count = await eventually('a consistent look at what site-a has from site-b', () => {
      const before = cli<NeighborJson>('neighbors', 'site-b', '--socket', sock('a')).prefixesReceived;
      const routes = cli<RouteJson[]>('routes', '--socket', sock('a'));
      const after = cli<NeighborJson>('neighbors', 'site-b', '--socket', sock('a')).prefixesReceived;
      if (before !== after) return undefined;
      const fromB = routes.filter((r) => r.source === 'bgp' && r.neighbor === 'site-b').map((r) => r.prefix);
      const connected = routes.filter((r) => r.source === 'connected' && shadowed.includes(r.prefix));
      return { received: after, fromB, connected: connected.length };
    }, 10_000);
    expect(count.connected).toBe(shadowed.length);
    expect(count.received, `site-b's paths at site-a: ${count.fromB.join(' ')} + ${shadowed.join(' ')}`).toBe(count.fromB.length + shadowed.length);
    expect(count.fromB).not.toContain('10.5.0.0/24');
    expect(count.fromB).not.toContain('2001:db8:5::/48');
    // site-b does send what is internal in OSPF: site-c's and BIRD's LANs; never site-a's own LAN,
    // which OSPF reaches at site-b through site-a's tunnel (split horizon).
    expect(count.fromB).toEqual(expect.arrayContaining(['10.3.0.0/24', '10.4.0.0/24', '10.20.0.0/24']));
    expect(count.fromB).not.toContain('10.1.0.0/24');
    expect(count.fromB).not.toContain('2001:db8:1::/64');
    expect(cli<RouteJson[]>('routes', '10.3.0.0/24', '--socket', sock('a'))).toEqual([expect.objectContaining({ source: 'bgp', neighbor: 'site-b', asPath: [65002] })]);

    // What forwards at site-a: zebra selects the agent's kernel route (distance 0) over OSPF's
    // (110), so the kernel holds only the BGP route via site-b, and site-a reaches site-c's LAN
    // through site-b although its own tunnel to site-c is up and OSPF's best path takes it.
    expect(await ipRoutes(ns('a'), '-4', '10.3.0.0/24')).toEqual([expect.objectContaining({ protocol: '201', gateway: '10.255.12.1', dev: ifs.ab, metric: 32 })]);
    expect(await routeGet(ns('a'), '10.3.0.1', '10.1.0.1')).toMatchObject({ gateway: '10.255.12.1', dev: ifs.ab });
    const zebra = vtyshJson<Record<string, { protocol: string; selected?: boolean; distance: number; nexthops: { ip?: string; interfaceName?: string }[] }[]>>(ns('a'), 'show ip route 10.3.0.0/24 json')['10.3.0.0/24']!;
    expect(zebra.map((r) => [r.protocol, r.selected === true, r.distance, r.nexthops[0]?.interfaceName])).toEqual(
      expect.arrayContaining([['kernel', true, 0, ifs.ab], ['ospf', false, 110, ifs.ac]]),
    );
    expect(await routeGet(ns('a'), '10.1.0.99')).toMatchObject({ dev: 'lan0' });
  });

  // Found here and fixed: site-b sent site-a's own IPv6 LAN back to it (advertise-ospf), and the
  // agent's route (metric 32) beat the connected IPv6 route (metric 256): a forwarding loop. Now
  // OSPF → BGP does not send a route back into the tunnel OSPF reaches it through (split horizon),
  // and the agent never installs a learned route for a prefix zebra has as connected.
  it("site-a's own IPv6 LAN stays on lan0: no learned route over a connected prefix, no OSPF route sent back where it came from", async () => {
    expect(await routeGet(ns('a'), '2001:db8:1::99')).toMatchObject({ dev: 'lan0' });
    // site-b does not send it back at all (a lookup that finds nothing exits 1).
    const r = spawnSync('node', [CLI, 'routes', '2001:db8:1::/64', '--json', '--socket', sock('a')], { encoding: 'utf8' });
    const back = r.status === 0 ? (JSON.parse(r.stdout) as RouteJson[]) : [];
    expect(back.filter((x) => x.neighbor === 'site-b')).toEqual([]);
  });

  it("a reload with a new OSPF cost on the A-B tunnel: FRR runs it (and saved it), the BGP session is not touched, traffic takes the cheaper way", async () => {
    await eventually('site-a Established with site-b', () => cli<NeighborJson[]>('neighbors', '--socket', sock('a'))[0]?.state === 'Established', 30_000);
    const before = cli<NeighborJson[]>('neighbors', '--socket', sock('a'))[0]!;
    const config = state!.nodes['site-a']!.config!;
    editYaml(config, (doc) => {
      const n = (doc.neighbors as { name: string; ospf: Record<string, unknown> }[]).find((x) => x.name === 'site-b')!;
      n.ospf.cost = 50;
    });
    await reload(sock('a'));
    const running = await eventually('FRR runs the new cost', () => {
      const r = spawnSync('vtysh', ['-N', ns('a'), '-c', 'show running-config'], { encoding: 'utf8' });
      const stanza = /^interface (\S+)\n((?: .*\n)*)/gm;
      for (const m of r.stdout.matchAll(stanza)) if (m[1] === ifs.ab && m[2]!.includes(' ip ospf cost 50\n') && m[2]!.includes(' ipv6 ospf6 cost 50\n')) return r.stdout;
      return undefined;
    }, 15_000);
    expect(running).toContain(`interface ${ifs.ab}`);
    // `write memory`: into the node's copy in .lab-run, never the lab folder.
    expect(readFileSync(join(dir, '.lab-run', 'frr', 'site-a', 'ospfd.conf'), 'utf8')).toContain('ip ospf cost 50');
    expect(readFileSync(join(dir, 'site-a', 'frr', 'ospfd.conf'), 'utf8')).not.toContain('cost');
    // 50 direct against 10 + 10 through C: site-a now sends B's traffic through C.
    await eventually("site-a's route to B's LAN via C", async () => (await ospfDevs(ns('a'), '10.2.0.0/24')).join() === ifs.ac, 20_000);
    const untouched = (): void => {
      const after = cli<NeighborJson[]>('neighbors', '--socket', sock('a'))[0]!;
      expect(after).toMatchObject({ name: 'site-b', state: 'Established', flaps: before.flaps, established: before.established });
      // stateSince is worked out at each query (wall clock minus monotonic age): it may move by a millisecond.
      expect(Math.abs(Date.parse(after.stateSince!) - Date.parse(before.stateSince!))).toBeLessThanOrEqual(2);
    };
    untouched();

    // And back: the default cost again, the direct way again, the session still the same.
    editYaml(config, (doc) => {
      const n = (doc.neighbors as { name: string; ospf: Record<string, unknown> }[]).find((x) => x.name === 'site-b')!;
      delete n.ospf.cost;
    });
    await reload(sock('a'));
    await eventually("site-a's route to B's LAN direct again", async () => (await ospfDevs(ns('a'), '10.2.0.0/24')).join() === ifs.ab, 20_000);
    expect(spawnSync('vtysh', ['-N', ns('a'), '-c', 'show running-config'], { encoding: 'utf8' }).stdout).not.toContain('ospf cost');
    untouched();
  }, 60_000);

  it(`failover: with the A-B tunnel cut, the route to B's LAN moves to the tunnel via C within dead interval + 1 s, and comes back`, async () => {
    const flows = [pingFlow(ns('a'), '10.1.0.1', '10.2.0.1'), pingFlow(ns('a'), '2001:db8:1::1', '2001:db8:2::1')];
    // site-c's LAN, which site-a reaches over site-b's BGP route (see loop safety): OSPF's failover
    // does not move it; it moves when the BGP session's hold timer (9 s) ends it, or the cut is lifted.
    const viaB = pingFlow(ns('a'), '10.1.0.1', '10.3.0.1');
    await new Promise((r) => setTimeout(r, 1_000));
    // Cut the tunnel in the underlay: site-a drops B's WireGuard packets both ways, so hellos stop
    // arriving on both sides and the dead interval has to expire (the tunnel interfaces stay up).
    const cut = `table inet ${tag}cut {
      chain in { type filter hook input priority 0; ip saddr 198.18.12.2 udp sport 51821 drop; }
      chain out { type filter hook output priority 0; ip daddr 198.18.12.2 udp dport 51821 drop; }
    }`;
    const t0 = performance.now();
    const nft = spawnSync('ip', ['netns', 'exec', ns('a'), 'nft', '-f', '-'], { input: cut, encoding: 'utf8' });
    expect(nft.status, nft.stderr).toBe(0);
    const movedAfter: Record<string, number> = {};
    await eventually('both routes to B\'s LAN via C', async () => {
      for (const p of ['10.2.0.0/24', '2001:db8:2::/64']) {
        if (movedAfter[p] === undefined && (await ospfDevs(ns('a'), p)).join() === ifs.ac) movedAfter[p] = performance.now() - t0;
      }
      return Object.keys(movedAfter).length === 2;
    }, 15_000, 50);
    await new Promise((r) => setTimeout(r, 1_000));
    const lost = await Promise.all(flows.map((f) => f.stop()));
    const cutMs = performance.now() - t0;
    const lostC = await viaB.stop();
    // The path through C carries the traffic.
    expect(ping(ns('a'), '10.1.0.1', '10.2.0.1')).toBe(true);
    expect(ping(ns('a'), '2001:db8:1::1', '2001:db8:2::1')).toBe(true);

    spawnSync('ip', ['netns', 'exec', ns('a'), 'nft', 'delete', 'table', 'inet', `${tag}cut`]);
    const t1 = performance.now();
    await eventually('routes to B\'s LAN back on the A-B tunnel', async () =>
      (await ospfDevs(ns('a'), '10.2.0.0/24')).join() === ifs.ab && (await ospfDevs(ns('a'), '2001:db8:2::/64')).join() === ifs.ab, 30_000, 50);
    const back = performance.now() - t1;
    const v4 = movedAfter['10.2.0.0/24']!;
    const v6 = movedAfter['2001:db8:2::/64']!;
    console.log(
      `ospf-triangle failover (hello 1 s, dead ${DEAD_S} s): route to B's LAN via C after ${Math.round(v4)} ms (IPv4), ${Math.round(v6)} ms (IPv6); ` +
        `pings lost at 10/s: ${lost[0]!.sent - lost[0]!.received}/${lost[0]!.sent} (IPv4), ${lost[1]!.sent - lost[1]!.received}/${lost[1]!.sent} (IPv6); ` +
        `back on the A-B tunnel ${Math.round(back)} ms after the cut was lifted; ` +
        `pings to site-c's LAN (site-b's BGP route at site-a) lost ${lostC.sent - lostC.received}/${lostC.sent} (1 s before the cut, then ${Math.round(cutMs)} ms of cut)`,
    );
    expect(v4).toBeLessThanOrEqual((DEAD_S + 1) * 1000);
    expect(v6).toBeLessThanOrEqual((DEAD_S + 1) * 1000);
  }, 60_000);

  it('lab down stops every FRR daemon (pid files and pathspace) and removes the pathspaces', async () => {
    const spaces = ['a', 'b', 'c'].map(ns);
    const pids = Object.values(state!.nodes).flatMap((n) => n.frr?.daemons.map((d) => d.pid) ?? []);
    expect(findFrrDaemons(spaces).map((d) => d.pid).sort()).toEqual([...pids].sort());
    await labDown(dir, quiet);
    expect(findFrrDaemons(spaces)).toEqual([]);
    for (const s of spaces) expect(existsSync(join(FRR_RUN, s))).toBe(false);
    expect(existsSync(`/var/run/wireguard/${ifs.dc}.sock`)).toBe(false);
    expect(existsSync(birdCtl)).toBe(false);
    expect(existsSync(sock('e'))).toBe(false);
  }, 30_000);
});
