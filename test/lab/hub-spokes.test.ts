/**
 * End to end, on real kernels: labs/hub-spokes in network namespaces — a hub
 * that is a remote-access server towards two spokes (no endpoint configured,
 * BGP passive until the first handshake), spokes that are remote-access clients
 * (endpoint + persistent keepalive), and the hub relaying each spoke's routes
 * to the other (eBGP: AS path prepended, the spoke's own routes never sent back).
 * Then one spoke is removed from the hub by reload: the other spoke loses its
 * routes while its own session never leaves Established.
 */
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ControlClient } from '#api/client';
import { labDown, labTest, labUp, readState } from '#lab/index';
import {
  CLI,
  cli,
  kernelRoutes,
  until,
  type NeighborJson,
  type RouteJson,
  type TunnelJson,
} from './helpers/agents.js';
import { copyLab, removeLabCopy, REPO_LABS } from './helpers/labs.js';
import { uniqueName } from './helpers/netns.js';

const execFileAsync = promisify(execFile);

async function untilAsync(what: string, fn: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('hub-spokes lab: a remote-access hub relaying between two spokes', () => {
  const lab = uniqueName('hs');
  const ifHubS1 = uniqueName('hs1');
  const ifHubS2 = uniqueName('hs2');
  const ifS1 = uniqueName('s1h');
  const ifS2 = uniqueName('s2h');
  const sock = (node: string): string => `/run/wgbgp/${lab}-${node}.sock`;
  const ns = (node: string): string => `wgbgp-${lab}-${node}`;
  const dir = copyLab(join(REPO_LABS, 'hub-spokes'), lab, {
    'wg-h-s1': ifHubS1,
    'wg-h-s2': ifHubS2,
    'wg-s1-h': ifS1,
    'wg-s2-h': ifS2,
    '/run/wgbgp/hub-spokes-': `/run/wgbgp/${lab}-`,
  });
  const quiet = { print: () => undefined };
  let upMs = 0;

  beforeAll(async () => {
    const t0 = performance.now();
    await labUp(dir, quiet);
    upMs = performance.now() - t0;
  }, 60_000);

  afterAll(async () => {
    await labDown(dir, quiet);
    removeLabCopy(dir);
    // labDown leaves wireguard-go's per-interface log (/run/wgbgp/<if>.log) behind; these names are ours alone.
    for (const ifname of [ifHubS1, ifHubS2, ifS1, ifS2]) rmSync(`/run/wgbgp/${ifname}.log`, { force: true });
  }, 60_000);

  it('lab test: three sessions Established, relayed routes via the hub, pings between the spokes through the hub', async () => {
    const t0 = performance.now();
    const lines: string[] = [];
    const ok = await labTest(dir, { print: (l) => lines.push(l) });
    expect(lines.join('\n')).not.toContain('FAIL');
    expect(ok).toBe(true);
    console.log(`hub-spokes: lab up ${Math.round(upMs)} ms, lab test passed after ${Math.round(performance.now() - t0)} ms`);
  }, 70_000);

  it("the hub relays spoke-2's routes to spoke-1 with AS path [65000, 65102] and the hub's tunnel address as next hop", () => {
    const v4 = cli<RouteJson[]>('routes', '10.2.0.0/24', '--socket', sock('spoke-1'));
    expect(v4).toEqual([
      expect.objectContaining({
        prefix: '10.2.0.0/24',
        source: 'bgp',
        neighbor: 'hub',
        asPath: [65000, 65102],
        nexthops: [{ address: '10.255.1.0', interface: ifS1 }],
        fib: true,
      }),
    ]);
    const v6 = cli<RouteJson[]>('routes', '2001:db8:2::/48', '--socket', sock('spoke-1'));
    expect(v6).toEqual([
      expect.objectContaining({
        source: 'bgp',
        asPath: [65000, 65102],
        nexthops: [{ address: 'fd00:255:1::', interface: ifS1 }],
        fib: true,
      }),
    ]);
    // The hub's own LAN: one AS only.
    expect(cli<RouteJson[]>('routes', '10.0.0.0/24', '--socket', sock('spoke-1'))).toEqual([
      expect.objectContaining({ source: 'bgp', asPath: [65000] }),
    ]);
  });

  it("split horizon / loop prevention: the hub never sends a spoke its own routes", () => {
    const all = cli<RouteJson[]>('routes', '--socket', sock('spoke-1'));
    const own = all.filter((r) => r.prefix === '10.1.0.0/24' || r.prefix === '2001:db8:1::/48');
    expect(own.map((r) => r.source)).toEqual(['static', 'static']);
    expect(all.filter((r) => r.source === 'bgp').every((r) => r.asPath[r.asPath.length - 1] !== 65101)).toBe(true);
    // Not merely rejected on import (as-path loop): never sent. The Adj-RIB-In
    // counts ineligible paths too, so 4 = the hub's 2 + spoke-2's 2.
    const [hubSeenBySpoke1] = cli<NeighborJson[]>('neighbors', '--socket', sock('spoke-1'));
    expect(hubSeenBySpoke1).toMatchObject({ name: 'hub', state: 'Established', prefixesReceived: 4 });
    const hubNeighbors = cli<NeighborJson[]>('neighbors', '--socket', sock('hub'));
    expect(hubNeighbors).toEqual([
      expect.objectContaining({ name: 'spoke-1', state: 'Established', prefixesReceived: 2, prefixesAdvertised: 4 }),
      expect.objectContaining({ name: 'spoke-2', state: 'Established', prefixesReceived: 2, prefixesAdvertised: 4 }),
    ]);
  });

  it("the hub (no endpoint configured) reports each spoke's endpoint learned from the handshake", () => {
    const hubConfig = parse(readFileSync(join(dir, '.lab-run', 'hub.yaml'), 'utf8')) as {
      neighbors: { name: string; endpoint?: string }[];
    };
    expect(hubConfig.neighbors.map((n) => n.endpoint)).toEqual([undefined, undefined]);
    const tunnels = cli<TunnelJson[]>('tunnels', '--socket', sock('hub'));
    expect(tunnels).toEqual([
      expect.objectContaining({ name: 'spoke-1', interface: ifHubS1, endpoint: '198.18.1.2:51821' }),
      expect.objectContaining({ name: 'spoke-2', interface: ifHubS2, endpoint: '198.18.2.2:51822' }),
    ]);
    for (const t of tunnels) expect(Date.parse(t.latestHandshake ?? '')).toBeGreaterThan(0);
  });

  it('reload without spoke-2 on the hub: spoke-1 loses its routes within seconds, its own session stays Established', async () => {
    const c1 = await ControlClient.connect(sock('spoke-1'));
    const ch = await ControlClient.connect(sock('hub'));
    const spoke1Hub = async (): Promise<NeighborJson> =>
      ((await c1.request({ command: 'neighbors' })) as NeighborJson[])[0]!;
    const hubSpoke1 = async (): Promise<NeighborJson> =>
      ((await ch.request({ command: 'neighbors' })) as NeighborJson[]).find((n) => n.name === 'spoke-1')!;
    let sampling = true;
    const states: string[] = [];
    let sampler: Promise<void> = Promise.resolve();
    try {
      const before = { spoke1: await spoke1Hub(), hub: await hubSpoke1() };
      expect(before.spoke1.state).toBe('Established');
      expect(before.hub.state).toBe('Established');

      // The untouched neighbor, seen from both ends every 50 ms from before the reload until the end.
      sampler = (async () => {
        while (sampling) {
          const [a, b] = await Promise.all([spoke1Hub(), hubSpoke1()]);
          states.push(a.state, b?.state ?? 'missing');
          await new Promise((r) => setTimeout(r, 50));
        }
      })();

      const configFile = readState(join(dir, '.lab-run'))?.nodes['hub']?.config ?? '';
      const config = parse(readFileSync(configFile, 'utf8')) as { neighbors: { name: string }[] };
      config.neighbors = config.neighbors.filter((n) => n.name !== 'spoke-2');
      writeFileSync(configFile, stringify(config));

      const t0 = performance.now();
      const { stdout } = await execFileAsync('node', [CLI, 'reload', '--socket', sock('hub')], { encoding: 'utf8' });
      expect(stdout).toMatch(/spoke-2/);

      await untilAsync('spoke-1 withdraws 10.2.0.0/24 and 2001:db8:2::/48 (Loc-RIB and kernel)', async () => {
        const rib = ((await c1.request({ command: 'routes' })) as RouteJson[]).map((r) => r.prefix);
        const kernel = [...kernelRoutes(ns('spoke-1'), '-4'), ...kernelRoutes(ns('spoke-1'), '-6')].map((r) => r.dst);
        return (
          !rib.includes('10.2.0.0/24') &&
          !rib.includes('2001:db8:2::/48') &&
          !kernel.includes('10.2.0.0/24') &&
          !kernel.includes('2001:db8:2::/48')
        );
      });
      const withdrawMs = performance.now() - t0;
      // Keep sampling a little past the withdrawal (a late flap would show here).
      await new Promise((r) => setTimeout(r, 1_000));
      sampling = false;
      await sampler;
      console.log(
        `hub-spokes: spoke-1 lost spoke-2's routes ${Math.round(withdrawMs)} ms after the hub's reload; ` +
          `spoke-1 <-> hub session sampled ${states.length / 2} times, always Established`,
      );
      expect(withdrawMs).toBeLessThan(5_000);

      expect(states.length).toBeGreaterThanOrEqual(20);
      expect(new Set(states)).toEqual(new Set(['Established']));
      // ... and never re-established between two samples.
      const after = { spoke1: await spoke1Hub(), hub: await hubSpoke1() };
      expect(Math.abs(Date.parse(after.spoke1.stateSince ?? '') - Date.parse(before.spoke1.stateSince ?? ''))).toBeLessThan(1_000);
      expect(Math.abs(Date.parse(after.hub.stateSince ?? '') - Date.parse(before.hub.stateSince ?? ''))).toBeLessThan(1_000);
      expect(after.spoke1.prefixesReceived).toBe(2);
    } finally {
      sampling = false;
      await sampler.catch(() => undefined);
      c1.close();
      ch.close();
    }

    // What spoke-1 learned from the hub itself stays, and the path to it works.
    expect(kernelRoutes(ns('spoke-1'), '-4')).toContainEqual(
      expect.objectContaining({ dst: '10.0.0.0/24', gateway: '10.255.1.0', dev: ifS1 }),
    );
    execFileSync('ip', ['netns', 'exec', ns('spoke-1'), 'ping', '-c1', '-W1', '-I', '10.1.0.1', '10.0.0.1'], { stdio: 'ignore' });

    // The other side: the hub dropped spoke-2's routes, and spoke-2 lost spoke-1's.
    expect(cli<NeighborJson[]>('neighbors', '--socket', sock('hub')).map((n) => n.name)).toEqual(['spoke-1']);
    expect(kernelRoutes(ns('hub'), '-4').some((r) => r.dst === '10.2.0.0/24')).toBe(false);
    await until('spoke-2 withdraws 10.1.0.0/24', () => !kernelRoutes(ns('spoke-2'), '-4').some((r) => r.dst === '10.1.0.0/24'));
  }, 30_000);
});
