/**
 * BFD failover time (issue 12), two paths between two sites on real kernels:
 * site A (an agent) reaches site B's LAN 10.2.0.0/24 through two routers of
 * B (agents B1 and B2), one wireguard-go tunnel each: to B1 numbered
 * (IPv4 BFD), to B2 unnumbered (BFD on the derived IPv6 link-locals). BGP
 * hold time 30 s, so only BFD (300 ms × 3, the defaults) can be fast. The
 * tunnel A's route uses is cut (nftables drops its WireGuard UDP both ways in
 * the B router's namespace) and the time until no route in A's kernel points
 * into that tunnel is measured, several times in turn; printed, and each
 * must be under 1.5 s (the target is 1 s).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { NeighborJson, TunnelJson } from '#api/types';
import { bfdSettled, missingPrerequisite } from '../interop/helpers/site.js';
import { CLI } from './helpers/agents.js';
import { cleanupPrefix, createNamespaces, execIn, spawnIn, uniqueName, withVethPair } from './helpers/netns.js';

const missing = missingPrerequisite(['nft']);
if (missing !== null) console.log(`lab/bfd-failover: skipped: ${missing}`);

const LAN_B = '10.2.0.0/24';
const CUTS = 6;

interface Node {
  ns: string;
  sock: string;
  config: string;
  log: string;
  key: string;
  pub: string;
}

function sh(cmd: string, args: readonly string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input }).trim();
}

/** Devices the kernel route for `prefix` in `ns` goes through (one, or each of a multipath route's). */
function routeDevs(ns: string, prefix: string): string[] {
  const out = execFileSync('ip', ['-n', ns, '-4', '-j', 'route', 'show', 'exact', prefix, 'proto', '201'], { encoding: 'utf8' });
  const routes = JSON.parse(out.trim() || '[]') as { dev?: string; nexthops?: { dev?: string }[] }[];
  return routes.flatMap((r) => (r.nexthops ? r.nexthops.map((n) => n.dev ?? '') : [r.dev ?? '']));
}

function cliTunnels(node: Node): TunnelJson[] {
  const r = spawnSync(process.execPath, [CLI, 'tunnels', '--json', '--socket', node.sock], { encoding: 'utf8', timeout: 5_000 });
  if (r.status !== 0) throw new Error(`tunnels: exit ${String(r.status)}`);
  return JSON.parse(r.stdout) as TunnelJson[];
}

/**
 * Established, and BFD Up on both ends at 300 ms × 3 (bfdSettled): right after
 * coming Up on the peer's Init, A's detection time is still 3 × 1 s until the
 * peer's answer, and a cut in that moment would take 3 s to detect.
 */
function settled(n: NeighborJson): boolean {
  return n.state === 'Established' && bfdSettled(n.bfd);
}

function neighbors(node: Node): NeighborJson[] {
  const r = spawnSync(process.execPath, [CLI, 'neighbors', '--json', '--socket', node.sock], { encoding: 'utf8', timeout: 5_000 });
  if (r.status !== 0) throw new Error(`neighbors: exit ${String(r.status)}`);
  return JSON.parse(r.stdout) as NeighborJson[];
}

async function until<T>(what: string, fn: () => T | undefined | null | false, timeoutMs: number, why: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = fn();
      if (v) return v;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${why()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Site A and B's two routers in namespaces, each an agent; BFD on or off, the
 * BGP hold time given. `cut(router)` drops the router's WireGuard UDP both ways.
 */
class TwoPaths {
  readonly prefix = uniqueName('bf');
  readonly dir = mkdtempSync(join(tmpdir(), `wgbgp-${this.prefix}-`));
  readonly nodes = {} as Record<'a' | 'b1' | 'b2', Node>;
  // Tunnel interfaces, unique on the host: A's to B1 and B2, and theirs to A.
  readonly ifs = { a1: `${this.prefix}a1`, a2: `${this.prefix}a2`, b1: `${this.prefix}b1`, b2: `${this.prefix}b2` };
  /** nftables: the B router's WireGuard UDP dropped both ways. */
  private readonly cutFile = join(this.dir, 'cut.nft');

  constructor(private readonly o: { bfd: boolean; holdTime: number; persistentKeepalive?: number }) {
    writeFileSync(
      this.cutFile,
      `table inet ${this.prefix} {\n  chain in { type filter hook input priority 0; udp dport 51820 drop; }\n  chain out { type filter hook output priority 0; udp sport 51820 drop; }\n}\n`,
    );
  }

  readonly why = (): string =>
    (['a', 'b1', 'b2'] as const)
      .map((n) => {
        let log = '';
        try {
          log = readFileSync(this.nodes[n].log, 'utf8').split('\n').slice(-12).join('\n');
        } catch {
          log = '(no log)';
        }
        return `--- ${n}\n${log}`;
      })
      .join('\n');

  async up(): Promise<void> {
    const { nodes, ifs } = this;
    const [nsA, nsB1, nsB2] = await createNamespaces(this.prefix, ['a', 'b1', 'b2']);
    for (const [name, ns] of [['a', nsA!], ['b1', nsB1!], ['b2', nsB2!]] as const) {
      const key = join(this.dir, `${name}.key`);
      writeFileSync(key, `${sh('wg', ['genkey'])}\n`, { mode: 0o600 });
      nodes[name] = { ns, key, pub: sh('wg', ['pubkey'], readFileSync(key, 'utf8')), sock: join(this.dir, `${name}.sock`), config: join(this.dir, `${name}.yaml`), log: join(this.dir, `${name}.log`) };
    }
    await withVethPair(nsA!, nsB1!, { nameA: 'eth1', addrA: '198.18.41.1/24', addrB: '198.18.41.2/24' });
    await withVethPair(nsA!, nsB2!, { nameA: 'eth2', addrA: '198.18.42.1/24', addrB: '198.18.42.2/24' });
    for (const [ns, lan] of [[nsA!, '10.1.0.1/24'], [nsB1!, '10.2.0.1/24'], [nsB2!, '10.2.0.2/24']] as const) {
      await execIn(ns, ['sh', '-c', `ip link add lan0 type bridge && ip link set lan0 up && ip addr add ${lan} dev lan0`]);
    }
    const agent = (name: keyof typeof nodes, asn: number, announce: string[], neighbors: Record<string, unknown>[]): void => {
      writeFileSync(
        nodes[name].config,
        stringify({
          router: { asn, 'router-id': `192.0.2.${asn - 65000}` },
          control: { socket: nodes[name].sock },
          dataplane: { wireguard: 'wireguard-go', fib: 'linux' },
          wireguard: { 'private-key-file': nodes[name].key },
          // The default timers, on for every neighbor (or off).
          bfd: { enabled: this.o.bfd },
          announce,
          neighbors,
        }),
      );
    };
    const bgp = (asn: number) => ({ asn, 'hold-time': this.o.holdTime });
    const keepalive = { 'persistent-keepalive': this.o.persistentKeepalive ?? 0 };
    agent('a', 65001, ['10.1.0.0/24'], [
      { name: 'b1', interface: ifs.a1, 'public-key': nodes.b1.pub, endpoint: '198.18.41.2:51820', 'listen-port': 51821, tunnel: { local: ['10.255.1.0/31'], remote: ['10.255.1.1'] }, bgp: bgp(65002), ...keepalive },
      { name: 'b2', interface: ifs.a2, 'public-key': nodes.b2.pub, endpoint: '198.18.42.2:51820', 'listen-port': 51822, bgp: bgp(65003), ...keepalive },
    ]);
    agent('b1', 65002, [LAN_B], [
      { name: 'a', interface: ifs.b1, 'public-key': nodes.a.pub, endpoint: '198.18.41.1:51821', 'listen-port': 51820, tunnel: { local: ['10.255.1.1/31'], remote: ['10.255.1.0'] }, bgp: bgp(65001) },
    ]);
    agent('b2', 65003, [LAN_B], [{ name: 'a', interface: ifs.b2, 'public-key': nodes.a.pub, endpoint: '198.18.42.1:51822', 'listen-port': 51820, bgp: bgp(65001) }]);
    for (const n of Object.values(nodes)) spawnIn(n.ns, [process.execPath, CLI, 'agent', '--config', n.config], { log: n.log });
    await until(`both of A's sessions Established${this.o.bfd ? ' with BFD Up at 300 ms × 3' : ''}`, () => this.bothUp(), 60_000, this.why);
    await until(`${LAN_B} in A's kernel`, () => routeDevs(nodes.a.ns, LAN_B).length > 0, 20_000, this.why);
  }

  /**
   * Both of A's neighbors (by name: A's control socket answers while the agent
   * is still starting, with no neighbors yet) Established, and with BFD on,
   * BFD settled on both paths.
   */
  bothUp(): boolean {
    const byName = new Map(neighbors(this.nodes.a).map((n) => [n.name, n]));
    return ['b1', 'b2'].every((name) => {
      const n = byName.get(name);
      return n !== undefined && (this.o.bfd ? settled(n) : n.state === 'Established');
    });
  }

  /** The router behind A's tunnel `dev`. */
  routerOf(dev: string): Node {
    return dev === this.ifs.a1 ? this.nodes.b1 : this.nodes.b2;
  }

  cut(router: Node): Promise<unknown> {
    return execIn(router.ns, ['nft', '-f', this.cutFile]);
  }

  heal(router: Node): Promise<unknown> {
    return execIn(router.ns, ['nft', 'delete', 'table', 'inet', this.prefix]);
  }

  /** Cuts the tunnel A's route uses; resolves with the ms until no route in A points into it. */
  async failover(limitMs: number): Promise<{ ms: number; dead: string; router: Node }> {
    const dead = routeDevs(this.nodes.a.ns, LAN_B)[0]!;
    const router = this.routerOf(dead);
    const t0 = performance.now();
    await this.cut(router);
    for (;;) {
      const now = routeDevs(this.nodes.a.ns, LAN_B);
      if (!now.includes(dead) && now.length > 0) break;
      if (performance.now() - t0 > limitMs) throw new Error(`route still through ${dead} after ${limitMs} ms: ${JSON.stringify(now)}\n${this.why()}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return { ms: Math.round(performance.now() - t0), dead, router };
  }

  async down(): Promise<void> {
    await cleanupPrefix(this.prefix);
    for (const f of Object.values(this.ifs)) rmSync(`/run/wgbgp/${f}.pid`, { force: true });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe.skipIf(missing !== null)('BFD failover: two paths between two sites', () => {
  const lab = new TwoPaths({ bfd: true, holdTime: 30 });
  const { nodes, ifs } = lab;
  const why = lab.why;
  const measured: number[] = [];

  beforeAll(() => lab.up(), 90_000);

  afterAll(async () => {
    if (measured.length > 0) {
      const sorted = [...measured].sort((x, y) => x - y);
      console.log(`lab/bfd-failover: tunnel cut -> no route into it, ${measured.length} cuts: ${measured.join(', ')} ms (min ${sorted[0]}, median ${sorted[Math.floor(sorted.length / 2)]}, max ${sorted[sorted.length - 1]})`);
    }
    await lab.down();
  }, 60_000);

  it('A has the route to B via one tunnel and BFD runs on both paths (IPv4, and IPv6 link-local for the unnumbered one)', () => {
    const devs = routeDevs(nodes.a.ns, LAN_B);
    expect(devs.length).toBeGreaterThan(0);
    expect(devs.every((d) => d === ifs.a1 || d === ifs.a2)).toBe(true);
    const byName = new Map(neighbors(nodes.a).map((n) => [n.name, n]));
    expect(byName.get('b1')).toMatchObject({ peerAddress: '10.255.1.1', bfd: { state: 'Up', detectionTimeMs: 900 } });
    expect(byName.get('b2')?.peerAddress).toMatch(/^fe80:/);
    expect(byName.get('b2')?.bfd).toMatchObject({ state: 'Up', detectionTimeMs: 900 });
  });

  it(`cutting the tunnel in use moves the route to the other one in < 1.5 s, ${CUTS} times`, async () => {
    for (let i = 0; i < CUTS; i++) {
      const { ms, dead, router } = await lab.failover(10_000);
      measured.push(ms);
      expect(ms, `cut ${i} of ${dead}`).toBeLessThan(1_500);
      const down = neighbors(nodes.a).find((n) => n.interface === dead)!;
      expect(down.bfd).toMatchObject({ lastDownReason: expect.stringMatching(/control detection time expired|neighbor signaled session down/) });
      await lab.heal(router);
      await until(
        `cut ${i}: both sessions back with BFD Up at 300 ms × 3`,
        () => lab.bothUp() && routeDevs(nodes.a.ns, LAN_B).length > 0,
        60_000,
        why,
      );
      // The best path may move back; either way the next cut takes the one in use.
      await new Promise((r) => setTimeout(r, 500));
    }
  }, 300_000);
});

/**
 * Issue 12's other figure: failover with the handshake age alone (BFD off,
 * hold time 600 s so the hold timer cannot be first, a persistent keepalive of
 * 25 s so the limit is 190 s). Minutes long: only with
 * WGBGP_HANDSHAKE_FAILOVER=1. The cut comes up to ~145 s after the last
 * handshake, so the failover takes 190 s less that, plus a tunnel poll.
 */
const slow = process.env.WGBGP_HANDSHAKE_FAILOVER === '1';
if (!slow) console.log('lab/bfd-failover: the handshake-age failover runs only with WGBGP_HANDSHAKE_FAILOVER=1 (minutes long; a measurement, not registered otherwise)');

// Not registered without the variable (a measurement like the benches, not a
// skipped test: under CI=true a skip counts as a failure). The handshake-age
// rule itself is tested with an injected clock in test/agent/bfd.test.ts.
if (slow) describe.skipIf(missing !== null)('failover by handshake age alone (no BFD)', () => {
  const lab = new TwoPaths({ bfd: false, holdTime: 600, persistentKeepalive: 25 });
  beforeAll(() => lab.up(), 90_000);
  afterAll(() => lab.down(), 60_000);

  it('the tunnel in use cut: the route moves within 190 s + a poll of the last handshake', async () => {
    const before = cliTunnels(lab.nodes.a);
    const { ms, dead } = await lab.failover(260_000);
    const t = before.find((x) => x.interface === dead)!;
    const sinceHandshake = Date.now() - ms - Date.parse(t.latestHandshake ?? '');
    console.log(`lab/bfd-failover: handshake age alone: route moved ${ms} ms after the cut; the last handshake was ${Math.round(sinceHandshake / 1000)} s before it`);
    expect(ms + sinceHandshake).toBeGreaterThan(190_000);
    expect(ms + sinceHandshake).toBeLessThan(200_000);
    const n = neighbors(lab.nodes.a).find((x) => x.interface === dead)!;
    expect(n.lastNotification).toMatchObject({ direction: 'sent', code: 6, subcode: 4, communication: expect.stringMatching(/^tunnel dead: latest handshake/) });
  }, 300_000);
});
