/**
 * The two-sites lab with site-a on the VPP dataplane (`wireguard: vpp`,
 * `fib: vpp`), against the fake VPP API server realized in site-a's namespace.
 * The fake's own tables are the source of truth the assertions read: after
 * BGP converges its FIB holds exactly the expected routes via the right
 * interface and peer; withdraw, agent restart, VPP restart, neighbor removal
 * and an incompatible VPP are then played through.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labUp, readState } from '#lab/index';
import { FakeVpp, NO_INDEX } from '../fake-vpp/index.js';
import { allEstablished, cli, duplicateKeys, editYaml, processGone, reload, spawnDetachedAgent, until, type StatusJson } from './helpers/agents.js';
import { copyLab, removeLabCopy, REPO_LABS } from './helpers/labs.js';
import { uniqueName } from './helpers/netns.js';

describe.each([true, false])('two-sites with site-a on VPP (fake VPP API server), linux-cp %s', (linuxCp) => {
  const lab = uniqueName('tv');
  const ifA = uniqueName('va');
  const ifB = uniqueName('vb');
  const sockA = `/run/wgbgp/${lab}-site-a.sock`;
  const sockB = `/run/wgbgp/${lab}-site-b.sock`;
  const nsA = `wgbgp-${lab}-site-a`;
  const tmp = mkdtempSync(join(tmpdir(), 'wgbgp-vpp-lab-'));
  const apiSocket = join(tmp, 'api.sock');
  const dir = copyLab(join(REPO_LABS, 'two-sites'), lab, {
    'wg-a-b': ifA,
    'wg-b-a': ifB,
    '/run/wgbgp/two-sites-': `/run/wgbgp/${lab}-`,
  });
  editYaml(join(dir, 'site-a', 'wgbgp.yaml'), (doc) => {
    doc.dataplane = { wireguard: 'vpp', fib: 'vpp', vpp: { 'api-socket': apiSocket, 'linux-cp': linuxCp, 'table-id': 0 } };
    (doc.wireguard as Record<string, unknown>)['source-address'] = '198.18.0.1';
  });
  const quiet = { print: () => undefined };
  let fake = new FakeVpp({ socketPath: apiSocket, realize: { netns: nsA } });
  const nodeState = (name: string) => readState(join(dir, '.lab-run'))?.nodes[name];
  /** site-a's agent now: the lab's, until a test restarts it. */
  let pidA = 0;
  const agentPidA = (): number => pidA || (nodeState('site-a')?.pid ?? 0);

  /** The fake's table-0 routes that the agent added through the API, as "prefix via nh on tag". */
  const apiRoutes = (): string[] => {
    const out: string[] = [];
    for (const family of [4, 6] as const) {
      for (const [prefix, paths] of fake.state.apiRoutes(family, 0)) {
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
  const wireguardInterfaces = () => [...fake.state.interfaces.values()].filter((i) => i.kind === 'wireguard');
  const peersOf = (swIfIndex: number) => [...fake.state.peers.values()].filter((p) => p.swIfIndex === swIfIndex);
  const lcpPairs = () => [...fake.state.lcpPairs.values()];

  beforeAll(async () => {
    await labUp(dir, quiet);
    // VPP comes up after the agent: the agent must be waiting for it, saying so.
    const before = cli<StatusJson>('status', '--socket', sockA);
    expect(before.dataplane).toMatchObject({ wireguard: 'vpp', fib: 'vpp', state: 'down' });
    await fake.start();
    await until('site-a Established over VPP', () => allEstablished(sockA), 30_000).catch((err: Error) => {
      throw new Error(`${err.message}\n--- site-a log:\n${readFileSync(join(dir, '.lab-run', 'site-a.log'), 'utf8').slice(-4000)}`);
    });
  }, 90_000);

  afterAll(async () => {
    await labDown(dir, quiet);
    await fake.stop();
    removeLabCopy(dir);
    rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  it('one tagged VPP WireGuard interface with one peer (0.0.0.0/0, ::/0), its linux-cp pair, and exactly the expected FIB', async () => {
    expect(fake.errors).toEqual([]);
    const wg = wireguardInterfaces();
    expect(wg).toHaveLength(1);
    expect(wg[0]).toMatchObject({ tag: ifA, adminUp: true });
    const peers = peersOf(wg[0]!.swIfIndex);
    expect(peers).toHaveLength(1);
    expect(peers[0]!.allowedIps.sort()).toEqual(['0.0.0.0/0', '::/0']);
    if (linuxCp) {
      // A TUN pair (fact sheet §7.1: TAP is refused on WireGuard), named like the configured interface.
      expect(lcpPairs()).toEqual([expect.objectContaining({ phySwIfIndex: wg[0]!.swIfIndex, hostIfName: ifA, hostIfType: 1 })]);
    } else {
      // design.md: `linux-cp: false` leaves the control-plane path to the operator; no pair is made.
      expect(lcpPairs()).toEqual([]);
      expect(fake.requests.filter((r) => r.name.startsWith('lcp_'))).toEqual([]);
    }
    await until('FIB converged', () =>
      JSON.stringify(apiRoutes()) ===
      JSON.stringify(
        [
          `10.2.0.0/24 via 10.255.0.1 on ${ifA}`,
          `10.255.0.1/32 via 10.255.0.1 on ${ifA}`,
          `2001:db8:2::/48 via fd00:255::1 on ${ifA}`,
          `fd00:255::1/128 via fd00:255::1 on ${ifA}`,
        ].sort(),
      ),
    );
    const status = cli<StatusJson>('status', '--socket', sockA);
    expect(status.dataplane).toMatchObject({ state: 'ok', vppVersion: expect.any(String) });
    const tunnels = cli<{ interface: string; dataplaneInterface: string; endpoint: string | null }[]>('tunnels', '--socket', sockA);
    expect(tunnels[0]).toMatchObject({ interface: ifA, dataplaneInterface: wg[0]!.name });
  });

  it('traffic crosses the realized tunnel: ping LAN to LAN', () => {
    execFileSync('ip', ['netns', 'exec', nsA, 'ping', '-c1', '-W2', '-I', '10.1.0.1', '10.2.0.1'], { stdio: 'ignore' });
  });

  it('restarts on the VPP dataplane under a 10/s ping (3 × kill -9, 3 × SIGTERM): graceful restart loses no ping', async () => {
    const log = join(dir, '.lab-run', 'site-a.log');
    const config = nodeState('site-a')?.config ?? '';
    const completes = (): number => readFileSync(log, 'utf8').split('restart complete').length;
    let pid = agentPidA();
    expect(pid).toBeGreaterThan(0);
    const ping = spawn('ip', ['netns', 'exec', nsA, 'ping', '-q', '-i', '0.1', '-W', '1', '-I', '10.1.0.1', '10.2.0.1'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    ping.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await new Promise((r) => setTimeout(r, 1_000));
      for (const signal of ['SIGKILL', 'SIGKILL', 'SIGKILL', 'SIGTERM', 'SIGTERM', 'SIGTERM'] as const) {
        const before = completes();
        process.kill(pid, signal);
        await until('site-a agent gone', () => processGone(pid));
        pid = spawnDetachedAgent(nsA, config, log);
        pidA = pid;
        await until('site-a back and done restarting', () => allEstablished(sockA) && allEstablished(sockB) && completes() > before, 30_000);
        await new Promise((r) => setTimeout(r, 300));
      }
      await new Promise((r) => setTimeout(r, 1_000));
    } finally {
      ping.kill('SIGINT');
      await new Promise((r) => ping.once('exit', r));
    }
    const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
    expect(m, out).not.toBeNull();
    console.log(`vpp-two-sites (linux-cp ${linuxCp}): ${m![1]} pings over 6 restarts of the VPP agent, ${Number(m![1]) - Number(m![2])} lost`);
    expect(Number(m![1]) - Number(m![2])).toBe(0);
    expect(fake.errors).toEqual([]);
    for (const line of readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith('{'))) expect(duplicateKeys(line), line).toEqual([]);
  }, 120_000);

  it('a withdraw on site-b leaves the VPP FIB', async () => {
    const cfg = nodeState('site-b')?.config ?? '';
    editYaml(cfg, (doc) => {
      doc.announce = ['2001:db8:2::/48'];
    });
    await reload(sockB);
    await until('10.2.0.0/24 withdrawn from VPP', () => !apiRoutes().some((r) => r.startsWith('10.2.0.0/24')));
    expect(apiRoutes()).toContain(`2001:db8:2::/48 via fd00:255::1 on ${ifA}`);
  });

  it('agent restart adopts the VPP interface and peer: nothing is created again', async () => {
    const node = nodeState('site-a');
    const swIfIndex = wireguardInterfaces()[0]!.swIfIndex;
    const seen = fake.requests.length;
    const pid = agentPidA();
    process.kill(pid, 'SIGTERM');
    // While the agent is down: a route of ours that nobody will re-announce (stale), and an
    // operator's route through another interface (never ours to touch).
    const addRoute = (prefix: string, sw: number, nh: string) => {
      const [addr, len] = prefix.split('/');
      expect(
        fake.state.routeAddDel({
          isAdd: true,
          isMultipath: false,
          tableId: 0,
          family: 4,
          address: Uint8Array.from((addr ?? '').split('.').map(Number)),
          len: Number(len),
          paths: [{ swIfIndex: sw, tableId: 0, nh, proto: 0, weight: 1, preference: 0, type: 0, flags: 0 }],
        })[0],
      ).toBe(0);
    };
    addRoute('10.99.0.0/24', swIfIndex, '10.255.0.1');
    addRoute('10.98.0.0/24', 0, '198.18.0.254');
    await until('site-a agent exits', () => processGone(pid));
    pidA = spawnDetachedAgent(nsA, node?.config ?? '', join(dir, '.lab-run', 'site-a.log'));
    await until('site-a Established again', () => allEstablished(sockA),
    );
    const after = fake.requests.slice(seen).map((r) => r.name);
    expect(after).not.toContain('wireguard_interface_create');
    expect(after).not.toContain('wireguard_interface_delete');
    expect(after).not.toContain('wireguard_peer_remove');
    expect(wireguardInterfaces().map((i) => i.swIfIndex)).toEqual([swIfIndex]);
    // Reconcile after End-of-RIB: the stale route of ours goes, the operator's stays.
    await until('stale route removed', () => !fake.state.apiRoutes(4, 0).has('10.99.0.0/24'));
    expect(fake.state.apiRoutes(4, 0).has('10.98.0.0/24')).toBe(true);
    expect(fake.errors).toEqual([]);
  }, 60_000);

  it('VPP restart: status shows the dataplane down, then the agent rebuilds interface, peer and routes', async () => {
    await fake.stop();
    await until('dataplane down while VPP is away', () => cli<StatusJson>('status', '--socket', sockA).dataplane.state === 'down');
    await fake.start(); // a fresh VPP: no interfaces, peers or routes
    await until('rebuilt in VPP', () => wireguardInterfaces().length === 1 && apiRoutes().length === 3);
    const status = await until('dataplane ok again', () => {
      const s = cli<StatusJson>('status', '--socket', sockA);
      return s.dataplane.state === 'ok' ? s : undefined;
    });
    expect(status.dataplane.vppVersion).toEqual(expect.any(String));
    await until('site-a Established after the VPP restart', () => allEstablished(sockA),
      45_000,
    );
    expect(fake.errors).toEqual([]);
  }, 90_000);

  it('neighbor removal deletes the VPP interface, its peer, its pair and its routes', async () => {
    const cfg = nodeState('site-a')?.config ?? '';
    editYaml(cfg, (doc) => {
      doc.neighbors = [];
    });
    await reload(sockA);
    await until('VPP emptied', () => wireguardInterfaces().length === 0 && apiRoutes().length === 0);
    expect(lcpPairs()).toEqual([]);
  }, 30_000);

  it('a VPP whose message definitions differ is refused with the mismatched messages in status', async () => {
    await fake.stop();
    fake = new FakeVpp({ socketPath: apiSocket, crcOverrides: { ip_route_add_del: 'deadbeef' } });
    await fake.start();
    const status = await until('incompatible VPP reported', () => {
      const s = cli<StatusJson>('status', '--socket', sockA);
      return s.dataplane.state === 'down' && (s.dataplane.detail ?? '').includes('ip_route_add_del') ? s : undefined;
    });
    expect(status.dataplane.detail).toMatch(/deadbeef/);
    expect(fake.requests.filter((r) => r.name === 'ip_route_add_del')).toEqual([]);
  }, 45_000);
});
