/**
 * labs/ospf-triangle with site-a on the VPP dataplane (`wireguard: vpp`,
 * `fib: vpp`, linux-cp), against the fake VPP API server realized in
 * site-a's namespace (test/fake-vpp): FRR runs on the linux-cp host
 * interfaces (the realized wireguard-go tunnels), zebra installs OSPF's routes
 * in the namespace's kernel, and the agent programs them from FPM into the
 * VPP FIB, choosing per prefix between OSPF and BGP by distance. The fake's
 * FIB is what the assertions read.
 *
 * site-a's VPP routes go to table 100 (realized as kernel table 100, looked
 * up after main by the lab's ip rule): the fake mirrors every VPP route into
 * Linux, the agent's /32 host routes to its peers included, and zebra must
 * not see those in main (labs/README.md, "OSPF and the agent's host routes").
 *
 * Needs root, wireguard-go and FRR 8.4: skipped without them, except under
 * CI=true, where a missing prerequisite fails.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labUp } from '#lab/index';
import type { OspfNeighborJson, OspfRouteJson, RouteJson, StatusJson } from '#api/types';
import { FakeVpp, NO_INDEX } from '../fake-vpp/index.js';
import { missingPrerequisite } from '../interop/helpers/site.js';
import { frrMissing } from '../ospf-bridge/helpers/frr-netns.js';
import { CLI, cli, editYaml } from './helpers/agents.js';
import { copyLab, removeLabCopy, REPO_LABS } from './helpers/labs.js';
import { uniqueName } from './helpers/netns.js';
import { eventually, ipRoutes, ospfDevs, pingOnce } from './helpers/ospf.js';

const CI = process.env.CI === 'true';
const missing = missingPrerequisite([]) ?? frrMissing();
if (missing !== null && !CI) console.log(`lab/ospf-vpp: skipped: ${missing}`);

const TABLE = 100;

describe.skipIf(missing !== null && !CI)('ospf-triangle with site-a on VPP (fake VPP API server, linux-cp): OSPF routes reach the VPP FIB through the agent', () => {
  const lab = uniqueName('ov');
  const tag = uniqueName('v');
  const ifs = { ab: `${tag}ab`, ac: `${tag}ac`, ba: `${tag}ba`, bc: `${tag}bc`, ca: `${tag}ca`, cb: `${tag}cb`, cd: `${tag}cd`, dc: `${tag}dc` };
  const ns = (site: string): string => `wgbgp-${lab}-site-${site}`;
  const sock = (site: string): string => `/run/wgbgp/${lab}-site-${site}.sock`;
  const tmp = mkdtempSync(join(tmpdir(), 'wgbgp-ospf-vpp-'));
  const apiSocket = join(tmp, 'api.sock');
  const dir = copyLab(join(REPO_LABS, 'ospf-triangle'), lab, {
    'wgo-a-b': ifs.ab, 'wgo-a-c': ifs.ac, 'wgo-b-a': ifs.ba, 'wgo-b-c': ifs.bc,
    'wgo-c-a': ifs.ca, 'wgo-c-b': ifs.cb, 'wgo-c-d': ifs.cd, 'wgo-d-c': ifs.dc,
    '/run/wgbgp/ospf-triangle-': `/run/wgbgp/${lab}-`,
    '/run/ospf-triangle-': `/run/${lab}-`,
  });
  chmodSync(dir, 0o755);
  // site-d (BIRD) plays no part here: its node stays, without BIRD (so no 10.4.0.0/24).
  editYaml(join(dir, 'topology.clab.yml'), (doc) => {
    const nodes = (doc.topology as { nodes: Record<string, Record<string, unknown>> }).nodes;
    delete nodes['site-d']!.cmd;
  });
  // site-b announces its LAN over BGP too, so BGP and OSPF both have 10.2.0.0/24 (distance decides on VPP).
  // Not OSPF → BGP from site-b here: its eBGP copies of OSPF routes (distance 20) would win at site-a.
  editYaml(join(dir, 'site-b', 'wgbgp.yaml'), (doc) => {
    doc.announce = ['10.2.0.0/24', '2001:db8:2::/48'];
    for (const n of doc.neighbors as { bgp?: Record<string, unknown> }[]) if (n.bgp) delete n.bgp['advertise-ospf'];
  });
  editYaml(join(dir, 'site-a', 'wgbgp.yaml'), (doc) => {
    doc.dataplane = { wireguard: 'vpp', fib: 'vpp', vpp: { 'api-socket': apiSocket, 'linux-cp': true, 'table-id': TABLE } };
    // redistribute-bgp stays: BGP → OSPF on VPP goes through the agent's kernel mirror (main table, protocol 201).
    const sources: Record<string, string> = { 'site-b': '198.18.12.1', 'site-c': '198.18.13.1', 'site-e': '198.18.15.1' };
    for (const n of doc.neighbors as Record<string, unknown>[]) n['source-address'] = sources[n.name as string];
  });
  const quiet = { print: () => undefined };
  const fake = new FakeVpp({ socketPath: apiSocket, realize: { netns: ns('a') } });
  const timings: string[] = [];

  /** The fake's table-100 routes that the agent added, as "prefix via nh on interface". */
  const vppRoutes = (): string[] => {
    const out: string[] = [];
    for (const family of [4, 6] as const) {
      for (const [prefix, paths] of fake.state.apiRoutes(family, TABLE)) {
        for (const p of paths) {
          // A learned route's path is recursive (PIC: through the agent's table); it leaves by the interface it resolves to.
          const f = p.swIfIndex === NO_INDEX ? fake.state.forwardingOfPaths(family, [p]) : null;
          const sw = f === null ? p.swIfIndex : f.kind === 'forward' ? f.via[0]!.swIfIndex : -1;
          out.push(`${prefix} via ${p.nh} on ${fake.state.interfaces.get(sw)?.tag ?? sw}`);
        }
      }
    }
    return out.sort();
  };
  const vppRoute = (prefix: string): string[] => vppRoutes().filter((r) => r.startsWith(`${prefix} `));
  const full = (site: string, neighbor: string): boolean =>
    ['ipv4', 'ipv6'].every((f) => cli<OspfNeighborJson[]>('ospf', 'neighbors', '--socket', sock(site)).some((n) => n.neighbor === neighbor && n.family === f && n.state === 'Full'));

  beforeAll(async () => {
    if (missing !== null) throw new Error(`lab/ospf-vpp needs ${missing}`);
    const t0 = performance.now();
    await labUp(dir, quiet);
    await fake.start();
    try {
      await eventually('site-a Full with site-b and site-c over the VPP tunnels', () => full('a', 'site-b') && full('a', 'site-c'), 45_000);
      timings.push(`Full ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      await eventually("site-c's LAN in site-a's VPP FIB", () => vppRoute('10.3.0.0/24').length > 0 && vppRoute('2001:db8:3::/64').length > 0, 30_000);
      timings.push(`first OSPF routes in the VPP FIB ${((performance.now() - t0) / 1000).toFixed(1)} s after \`lab up\` began`);
    } catch (e) {
      const log = readFileSync(join(dir, '.lab-run', 'site-a.log'), 'utf8').split('\n').slice(-30).join('\n');
      throw new Error(`${(e as Error).message}\nVPP routes: ${vppRoutes().join('; ')}\nfake errors: ${fake.errors.map((x) => x.detail).join('; ')} ${fake.realizeErrors.join('; ')}\n--- site-a log:\n${log}`);
    }
  }, 90_000);

  afterAll(async () => {
    console.log(`ospf-vpp: ${timings.join(', ')}`);
    await labDown(dir, quiet).catch(() => undefined);
    await fake.stop();
    removeLabCopy(dir);
    rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  it('OSPF-only prefixes are in the VPP FIB via the right tunnel and peer; BGP wins where it has the prefix (distance 20 < 110)', { timeout: 60_000 }, async () => {
    const expected: [string, RegExp][] = [
      ['10.3.0.0/24', new RegExp(`^10\\.3\\.0\\.0/24 via 10\\.255\\.13\\.1 on ${ifs.ac}$`)],
      ['10.255.34.0/31', new RegExp(`^10\\.255\\.34\\.0/31 via 10\\.255\\.13\\.1 on ${ifs.ac}$`)],
      ['2001:db8:3::/64', new RegExp(`^2001:db8:3::/64 via fe80:[0-9a-f:]+ on ${ifs.ac}$`)],
      ['2001:db8:2::/64', new RegExp(`^2001:db8:2::/64 via fe80:[0-9a-f:]+ on ${ifs.ab}$`)],
      // BGP (eBGP, 20) and OSPF (110) both have 10.2.0.0/24: the VPP FIB takes BGP's.
      ['10.2.0.0/24', new RegExp(`^10\\.2\\.0\\.0/24 via 10\\.255\\.12\\.1 on ${ifs.ab}$`)],
    ];
    // Equal-cost paths (through B and through C) arrive as one multipath route.
    const ecmp = [`10.255.23.0/31 via 10.255.12.1 on ${ifs.ab}`, `10.255.23.0/31 via 10.255.13.1 on ${ifs.ac}`];
    const converged = (): boolean =>
      expected.every(([p, re]) => vppRoute(p).length === 1 && re.test(vppRoute(p)[0]!)) && vppRoute('10.255.23.0/31').join() === ecmp.join();
    await eventually('the VPP FIB converged', converged, 30_000).catch((e: Error) => {
      throw new Error(`${e.message}\nVPP table ${TABLE}: ${vppRoutes().join('; ')}`);
    });
    for (const [p, re] of expected) expect(vppRoute(p)).toEqual([expect.stringMatching(re)]);
    expect(vppRoute('10.255.23.0/31')).toEqual(ecmp);
    const routes = cli<RouteJson[]>('routes', '--socket', sock('a'));
    expect(routes).toContainEqual(expect.objectContaining({ prefix: '10.3.0.0/24', source: 'ospf', fib: true, neighbor: 'site-c' }));
    expect(routes).toContainEqual(expect.objectContaining({ prefix: '2001:db8:3::/64', source: 'ospf', fib: true }));
    expect(routes).toContainEqual(expect.objectContaining({ prefix: '10.2.0.0/24', source: 'bgp', fib: true }));
    expect(fake.errors).toEqual([]);
  });

  it('status: VPP ok, the OSPF bridge ok with zebra connected', () => {
    const s = cli<StatusJson>('status', '--socket', sock('a'));
    expect(s.dataplane).toMatchObject({ wireguard: 'vpp', fib: 'vpp', state: 'ok' });
    expect(s.ospf).toMatchObject({ state: 'ok', fpm: { connected: true } });
  });

  it("traffic from site-a's LAN reaches site-c's LAN over the realized tunnels", async () => {
    // site-a's VPP FIB has converged; site-c's way back (its own OSPF routes) may still be on its way.
    await eventually('10.1.0.1 -> 10.3.0.1', () => pingOnce(ns('a'), '10.1.0.1', '10.3.0.1'), 20_000);
    await eventually('2001:db8:1::1 -> 2001:db8:3::1', () => pingOnce(ns('a'), '2001:db8:1::1', '2001:db8:3::1'), 20_000);
  }, 45_000);

  it("the other sites learn site-a's LAN over OSPF across site-a's VPP tunnels", async () => {
    await eventually('site-c has 10.1.0.0/24 from OSPF', async () => (await ospfDevs(ns('c'), '10.1.0.0/24')).join() === ifs.ca, 30_000);
    // OSPFv3 converges on its own clock: site-b may reach it through site-c until its adjacency with site-a is Full.
    await eventually('site-b has 2001:db8:1::/64 from OSPF over the A-B tunnel', async () => (await ospfDevs(ns('b'), '2001:db8:1::/64')).join() === ifs.ba, 30_000);
  });

  it("BGP -> OSPF on VPP: site-e's LAN (BGP at site-a, in the VPP FIB) is mirrored into site-a's kernel and reaches site-c as a type-2 external tagged 201", async () => {
    // The mirror: main table, protocol 201, via the tunnel (the linux-cp host side), beside the VPP FIB's copy.
    await eventually("site-e's LAN mirrored into site-a's kernel", async () => (await ipRoutes(ns('a'), '-4', '10.5.0.0/24', 'table', 'main', 'proto', '201')).length > 0, 30_000);
    expect(await ipRoutes(ns('a'), '-4', '10.5.0.0/24', 'table', 'main')).toEqual([expect.objectContaining({ protocol: '201', gateway: '10.255.15.1' })]);
    expect(vppRoute('10.5.0.0/24')).toHaveLength(1);
    // OSPF's own routes are in the VPP FIB only, never mirrored (they would go back into OSPF).
    expect(await ipRoutes(ns('a'), '-4', '10.3.0.0/24', 'table', 'main', 'proto', '201')).toEqual([]);
    const external = async (prefix: string): Promise<OspfRouteJson | undefined> =>
      cli<OspfRouteJson[]>('ospf', 'routes', '--socket', sock('c')).find((r) => r.prefix === prefix && r.type === 'external2');
    // Through the direct tunnel once SPF has settled (right after the external appears it may still go through site-b).
    const v4 = await eventually("site-e's LAN an OSPF external at site-c, through the C-A tunnel", async () => {
      const r = await external('10.5.0.0/24');
      return r?.nexthops[0]?.address === '10.255.13.0' ? r : undefined;
    }, 30_000);
    expect(v4).toMatchObject({ tag: 201, nexthops: [{ address: '10.255.13.0', interface: ifs.ca }] });
    await eventually("site-e's IPv6 LAN an OSPFv3 external at site-c", () => external('2001:db8:5::/48'), 30_000);
    // site-c forwards with it: its LAN reaches site-e's through site-a's VPP tunnels (site-e has site-c's LAN from site-a's advertise-ospf).
    await eventually('site-c -> site-e LAN ping', () => pingOnce(ns('c'), '10.3.0.1', '10.5.0.1'), 30_000);
  }, 90_000);

  it('an OSPF withdraw leaves the VPP FIB, and the route comes back: site-c takes its LAN out of OSPF, then in again', async () => {
    // lan0's OSPF lines are the node's own (ospfd.conf), not the agent's: changing them is the operator's business.
    const vtysh = (...commands: string[]): void => {
      const r = spawnSync('vtysh', ['-N', ns('c'), ...['configure terminal', 'interface lan0', ...commands].flatMap((c) => ['-c', c])], { encoding: 'utf8' });
      expect(r.status, r.stdout + r.stderr).toBe(0);
    };
    vtysh('no ip ospf area 0');
    await eventually('10.3.0.0/24 gone from the VPP FIB', () => vppRoute('10.3.0.0/24').length === 0, 20_000);
    // `wgbgp routes PREFIX` finds nothing any more (exit 1).
    expect(spawnSync('node', [CLI, 'routes', '10.3.0.0/24', '--json', '--socket', sock('a')]).status).toBe(1);
    vtysh('ip ospf area 0');
    await eventually('10.3.0.0/24 back in the VPP FIB', () => vppRoute('10.3.0.0/24').join() === `10.3.0.0/24 via 10.255.13.1 on ${ifs.ac}`, 30_000);
    expect(fake.errors).toEqual([]);
  }, 60_000);
});
