/**
 * The lab of bench/vpp.bench.ts: BGP in, VPP FIB out, against a real VPP
 * (WGBGP_VPP_PREFIX, built as in /work/shared/reference/vpp-build.md).
 *
 *   F (feeder, AS 65002)                         V (VPP and the receiver, AS 65001)
 *   replay feeder on 10.255.0.1                  VPP: host-<p>u 198.18.0.1/24, wg0 (the agent's tunnel,
 *   wireguard-go <p>f 10.255.0.1/31 ==== UDP ====     10.255.0.0/31, fd00:255::/127), host-<p>c 192.0.2.1/30
 *     fd00:255::1/127                                  ip punt redirect rx wg0 via 192.0.2.2 host-<p>c
 *   eth1 198.18.0.2/24 ──── veth ─── <p>u        Linux: <p>a 192.0.2.2/30 (the other end of <p>c),
 *                                                  10.255.0.0/32 on lo, 10.255.0.1/32 via 192.0.2.1 src 10.255.0.0
 *
 * The session crosses VPP's own WireGuard tunnel as in reference §6
 * (linux-cp needs /dev/vhost-net, absent here): the feeder's segments leave
 * the tunnel in VPP and are punted to the receiver's veth; the receiver's
 * go back through VPP's FIB into the tunnel. Receivers:
 *  - `wgbgp`: the agent, `dataplane: { wireguard: vpp, fib: vpp, vpp: { linux-cp: false,
 *    control-interface: <p>a } }`: it builds the tunnel in VPP and writes the routes into
 *    VPP's FIB (table 0).
 *  - `floor`: BIRD 2 without a kernel protocol over the same path (the tunnel
 *    in VPP then made with vppctl): the feeder's own delivery time through
 *    this tunnel, no FIB at all.
 *
 * Everything is named with one uniqueName() prefix; teardown (and a failed
 * setUp) kills VPP and the processes, and removes the namespaces.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { ControlClient } from '#api/client';
import { processAlive } from '#lab/netns';
import { cpuMs, peakRssKb, runQueueMs } from './procfs.js';
import { CLI, FEEDER_CLI, tail, type Feed } from './converge-lab.js';
import { cleanupPrefix, createNamespaces, execIn, spawnIn, uniqueName, withVethPair } from '../../test/lab/helpers/netns.js';

export const VPP_PREFIX = process.env.WGBGP_VPP_PREFIX || '';

const R = { asn: 65001, underlay: '198.18.0.1', port: 51821, v4: '10.255.0.0', v6: 'fd00:255::', punt: '192.0.2.1', host: '192.0.2.2' };
const F = { asn: 65002, underlay: '198.18.0.2', port: 51820, v4: '10.255.0.1', v6: 'fd00:255::1' };

export type VppReceiver = 'wgbgp' | 'floor';

/** A condition that will never hold: until() gives up at once. */
class FeederGone extends Error {}

function sh(cmd: string, args: readonly string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] }).trim();
}

async function until(what: string, fn: () => boolean | Promise<boolean>, timeoutMs: number, why: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await fn()) return;
    } catch (err) {
      if (err instanceof FeederGone) throw err;
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why() ? `\n${why()}` : ''}`);
    await sleep(50);
  }
}

/** Entries of one FIB table in `show ip fib summary` / `show ip6 fib summary` (sum of the per-length counts). */
export function fibSummaryCount(text: string, tableId: number): number {
  let n = 0;
  let inTable = false;
  for (const line of text.replace(/\r/g, '').split('\n')) {
    const head = /^ipv[46]-VRF:(\d+),/.exec(line);
    if (head) {
      inTable = Number(head[1]) === tableId;
      continue;
    }
    const m = /^\s+(\d+)\s+(\d+)\s*$/.exec(line);
    if (inTable && m) n += Number(m[2]);
  }
  return n;
}

export interface VppLabOptions {
  /** VPP's main heap (default 1G; 1 M routes with PIC take ~1.3 G: 3G). */
  heap?: string;
  /** The agent's dataplane.keep-on-stop (default true: at teardown the agent leaves the routes to VPP, which goes anyway). */
  keepOnStop?: boolean;
  /** Extra node flags for the agent (--cpu-prof …). */
  nodeFlags?: readonly string[];
}

export class VppLab {
  readonly prefix = uniqueName('vb');
  readonly nsV = `${this.prefix}-v`;
  readonly nsF = `${this.prefix}-f`;
  /** VPP's underlay veth (af_packet), the punt veth's VPP end and its Linux end, F's tunnel. */
  readonly ifU = `${this.prefix}u`;
  readonly ifC = `${this.prefix}c`;
  readonly ifA = `${this.prefix}a`;
  readonly ifF = `${this.prefix}f`;
  /** The agent's tunnel (its interface name, VPP's tag). */
  readonly ifR = `${this.prefix}r`;
  readonly dir: string;
  readonly sock: string;
  readonly logs: { feeder: string; receiver: string; vpp: string };
  private keyR = '';
  private pubR = '';
  private keyF = '';
  private pubF = '';
  vpp: ChildProcess | null = null;
  vppPid = 0;
  receiverPid: number | null = null;
  feederPid = 0;
  private children: ChildProcess[] = [];
  /** VPP's FIB entries (table 0, both families) before the receiver ran, and their prefixes. */
  baseline = 0;
  baselinePrefixes: ReadonlySet<string> = new Set();

  constructor(
    readonly receiver: VppReceiver,
    readonly feed: Feed,
    private readonly opts: VppLabOptions = {},
  ) {
    if (!VPP_PREFIX) throw new Error('WGBGP_VPP_PREFIX is not set');
    this.dir = mkdtempSync(join(tmpdir(), `wgbgp-vbench-${this.prefix}-`));
    chmodSync(this.dir, 0o755);
    this.sock = join(this.dir, 'agent.sock');
    this.logs = { feeder: join(this.dir, 'feeder.log'), receiver: join(this.dir, receiver === 'wgbgp' ? 'agent.log' : 'bird.log'), vpp: join(this.dir, 'vpp.out') };
  }

  get total(): number {
    return this.feed.v4.length + this.feed.v6.length;
  }

  vppctl(...args: string[]): string {
    return execFileSync(join(VPP_PREFIX, 'bin/vppctl'), ['-s', join(this.dir, 'cli.sock'), ...args], { encoding: 'utf8', timeout: 30_000, maxBuffer: 64 << 20 }).replace(/\r/g, '');
  }

  /** Entries of VPP's table 0, both families (two vppctl round trips, a few ms). */
  fibCount(): number {
    return fibSummaryCount(this.vppctl('show', 'ip', 'fib', 'summary'), 0) + fibSummaryCount(this.vppctl('show', 'ip6', 'fib', 'summary'), 0);
  }

  /** The prefixes of VPP's table 0, both families (a full `show ip fib`: only for small tables). */
  fibPrefixes(): Set<string> {
    const out = new Set<string>();
    for (const cmd of ['ip', 'ip6']) {
      for (const m of this.vppctl('show', cmd, 'fib', 'table', '0').matchAll(/^([0-9a-f:.]+\/\d+)$/gm)) out.add(m[1]!);
    }
    return out;
  }

  vppAlive(): boolean {
    return this.vpp !== null && this.vpp.exitCode === null && this.vpp.signalCode === null;
  }

  /** Namespaces, VPP, the underlay and the punt path, F's tunnel, the feeder with the table encoded. */
  async setUp(): Promise<void> {
    this.keyR = join(this.dir, 'r.key');
    this.keyF = join(this.dir, 'f.key');
    for (const file of [this.keyR, this.keyF]) writeFileSync(file, `${sh('wg', ['genkey'])}\n`, { mode: 0o600 });
    this.pubR = sh('wg', ['pubkey'], readFileSync(this.keyR, 'utf8'));
    this.pubF = sh('wg', ['pubkey'], readFileSync(this.keyF, 'utf8'));
    await createNamespaces(this.prefix, ['v', 'f']);
    await this.startVpp();
    // The underlay: VPP's end is an af_packet interface (no Linux address), F's a plain veth.
    await withVethPair(this.nsV, this.nsF, { nameA: this.ifU, nameB: 'eth1', addrB: `${F.underlay}/24` });
    // The punt veth, both ends in V: VPP takes one, the receiver the other.
    await execIn(this.nsV, ['ip', 'link', 'add', this.ifC, 'type', 'veth', 'peer', 'name', this.ifA]);
    await execIn(this.nsV, [
      'sh', '-c',
      // Reference §6: no partial checksums into af_packet; ARP never from the tunnel address on lo; MTU on the routes.
      `ip link set ${this.ifC} up && ip link set ${this.ifA} up && ethtool -K ${this.ifA} tx off >/dev/null && ` +
        `ip addr add ${R.host}/30 dev ${this.ifA} && ip addr add ${R.v4}/32 dev lo && ` +
        `sysctl -q -w net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.${this.ifA}.arp_announce=2 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.${this.ifA}.rp_filter=0 && ` +
        `ip route add ${F.v4}/32 via ${R.punt} dev ${this.ifA} src ${R.v4} mtu 1400`,
    ]);
    await execIn(this.nsF, ['ethtool', '-K', 'eth1', 'tx', 'off']);
    this.vppctl('create', 'host-interface', 'name', this.ifU);
    this.vppctl('set', 'int', 'state', `host-${this.ifU}`, 'up');
    this.vppctl('set', 'int', 'ip', 'address', `host-${this.ifU}`, `${R.underlay}/24`);
    this.vppctl('create', 'host-interface', 'name', this.ifC);
    this.vppctl('set', 'int', 'state', `host-${this.ifC}`, 'up');
    this.vppctl('set', 'int', 'ip', 'address', `host-${this.ifC}`, `${R.punt}/30`);
    await this.feederTunnel();
    await this.startFeeder();
  }

  private async startVpp(): Promise<void> {
    const dir = this.dir;
    writeFileSync(
      join(dir, 'startup.conf'),
      `unix { nodaemon cli-listen ${dir}/cli.sock }
api-segment { prefix ${this.nsV} }
socksvr { socket-name ${dir}/api.sock }
cpu { main-core 0 }
buffers { buffers-per-numa 16384 page-size 4k }
memory { main-heap-size ${this.opts.heap ?? '1G'} main-heap-page-size 4k }
statseg { socket-name ${dir}/stats.sock size 256M page-size 4k }
plugins { plugin default { disable } plugin af_packet_plugin.so { enable }
  plugin wireguard_plugin.so { enable } plugin ping_plugin.so { enable } }
`,
    );
    const out = openSync(this.logs.vpp, 'w');
    // `ip netns exec` execs VPP: the child's pid is VPP's.
    const child = spawn('ip', ['netns', 'exec', this.nsV, join(VPP_PREFIX, 'bin/vpp'), '-c', join(dir, 'startup.conf')], { stdio: ['ignore', out, out] });
    closeSync(out);
    this.vpp = child;
    this.vppPid = child.pid ?? 0;
    await until(
      'VPP to answer on its CLI',
      () => {
        if (!this.vppAlive()) throw new Error('VPP exited');
        return existsSync(join(dir, 'api.sock')) && this.vppctl('show', 'version').startsWith('vpp v');
      },
      30_000,
      () => tail(this.logs.vpp),
    );
    if (!this.vppAlive()) throw new Error(`VPP exited at start:\n${tail(this.logs.vpp)}`);
  }

  /** F's end: wireguard-go, its peer VPP's tunnel (the receiver's key) at 198.18.0.1:51821. */
  private async feederTunnel(): Promise<void> {
    const child = spawnIn(this.nsF, ['wireguard-go', '-f', this.ifF], { log: join(this.dir, 'wireguard-go-f.log') });
    this.children.push(child);
    await until(`wireguard-go UAPI socket of ${this.ifF}`, () => existsSync(`/var/run/wireguard/${this.ifF}.sock`), 10_000);
    await execIn(this.nsF, [
      'wg', 'set', this.ifF,
      'private-key', this.keyF,
      'listen-port', String(F.port),
      'peer', this.pubR,
      'endpoint', `${R.underlay}:${R.port}`,
      'allowed-ips', '0.0.0.0/0,::/0',
      'persistent-keepalive', '5',
    ]);
    await execIn(this.nsF, [
      'sh', '-c',
      `ip link set ${this.ifF} addrgenmode none && ip addr add ${F.v4}/31 dev ${this.ifF} && ` +
        `ip addr add ${F.v6}/127 dev ${this.ifF} nodad && ip link set ${this.ifF} up && ` +
        'sysctl -q -w net.ipv4.ip_default_ttl=255 net.ipv6.conf.all.hop_limit=255 net.ipv6.conf.default.hop_limit=255',
    ]);
  }

  private async startFeeder(): Promise<void> {
    const table = this.feed.table;
    if (table === undefined) throw new Error('the VPP bench feeds a table spec (synthetic:N or mrt:PATH)');
    const child = spawnIn(
      this.nsF,
      [process.execPath, FEEDER_CLI, '--table', table, '--listen', F.v4, '--next-hop6', F.v6, '--local-asn', String(F.asn), '--asn', String(R.asn), '--json'],
      { log: this.logs.feeder },
    );
    this.children.push(child);
    this.feederPid = child.pid ?? 0;
    await until(
      'the replay feeder listening',
      () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new FeederGone(`the replay feeder exited (${child.exitCode ?? child.signalCode})\n${tail(this.logs.feeder)}`);
        return this.feederEvents().some((e) => e.event === 'listening');
      },
      120_000 + this.total / 5,
      () => tail(this.logs.feeder),
    );
  }

  feederEvents(): { event: string; [k: string]: unknown }[] {
    let text = '';
    try {
      text = readFileSync(this.logs.feeder, 'utf8');
    } catch {
      return [];
    }
    const out: { event: string; [k: string]: unknown }[] = [];
    for (const l of text.split('\n')) {
      if (!l.startsWith('{')) continue;
      try {
        out.push(JSON.parse(l) as { event: string });
      } catch {
        // partial line
      }
    }
    return out;
  }

  /**
   * The feeder's report once the receiver's TCP acknowledged the whole table:
   * Established, the last UPDATE written, the last octet acknowledged, as
   * epoch ms, and its own rate. Null before.
   */
  feederAcked(): { establishedAt: number; writtenAt: number; ackedAt: number; routesPerSecond: number } | null {
    const e = this.feederEvents().find((x) => x.event === 'acked') as
      | { connectedAt?: number; established?: number; written?: number; acked?: number; routesPerSecond?: number }
      | undefined;
    if (e?.connectedAt === undefined || e.acked === undefined) return null;
    return {
      establishedAt: e.connectedAt + (e.established ?? 0),
      writtenAt: e.connectedAt + (e.written ?? 0),
      ackedAt: e.connectedAt + e.acked,
      routesPerSecond: e.routesPerSecond ?? 0,
    };
  }

  /** The tunnel in VPP the way an operator makes it (the floor: BIRD does not build tunnels); returns VPP's name. */
  private operatorVppTunnel(): string {
    const key = readFileSync(this.keyR, 'utf8').trim();
    const created = this.vppctl('wireguard', 'create', 'listen-port', String(R.port), 'private-key', key, 'src', R.underlay).trim();
    const name = /(wg\d+)/.exec(created)?.[1] ?? 'wg0';
    this.vppctl('set', 'int', 'state', name, 'up');
    this.vppctl('set', 'int', 'ip', 'address', name, `${R.v4}/31`);
    this.vppctl('wireguard', 'peer', 'add', name, 'public-key', this.pubF, 'endpoint', F.underlay, 'dst-port', String(F.port), 'allowed-ip', '0.0.0.0/0', 'persistent-keepalive', '5');
    this.vppctl('ip', 'route', 'add', `${F.v4}/32`, 'via', F.v4, name);
    return name;
  }

  /** `ip punt redirect` of what the tunnel delivers to VPP itself (the session) into the receiver's veth. */
  private punt(wg: string): void {
    this.vppctl('ip', 'punt', 'redirect', 'add', 'rx', wg, 'via', R.host, `host-${this.ifC}`);
  }

  private agentConfig(): string {
    const config = join(this.dir, 'wgbgp.yaml');
    writeFileSync(
      config,
      stringify({
        router: { asn: R.asn, 'router-id': '192.0.2.129' },
        control: { socket: this.sock },
        dataplane: {
          wireguard: 'vpp',
          fib: 'vpp',
          'keep-on-stop': this.opts.keepOnStop ?? true,
          vpp: { 'api-socket': join(this.dir, 'api.sock'), 'linux-cp': false, 'control-interface': this.ifA, 'table-id': 0 },
        },
        wireguard: { 'private-key-file': this.keyR, 'source-address': R.underlay },
        neighbors: [
          {
            name: 'feeder',
            interface: this.ifR,
            'public-key': this.pubF,
            endpoint: `${F.underlay}:${F.port}`,
            'listen-port': R.port,
            tunnel: { local: [`${R.v4}/31`, `${R.v6}/127`], remote: [F.v4, F.v6] },
            // Ours reach the feeder with TTL 254 (one hop through VPP); the replay feeder does not check.
            bgp: { asn: F.asn },
          },
        ],
      }),
    );
    return config;
  }

  private birdConfig(): string {
    const conf = join(this.dir, 'bird.conf');
    writeFileSync(
      conf,
      `log "${this.logs.receiver}" all;
timeformat log "%F %T.%3f";
router id 192.0.2.129;
protocol device { }
protocol bgp feed {
  local ${R.v4} as ${R.asn};
  neighbor ${F.v4} as ${F.asn};
  multihop 2;             # the feeder is behind VPP, not on a Linux link of ours
  connect delay time 0;
  ipv4 { import all; export none; };
  ipv6 { import all; export none; };
}
`,
    );
    return conf;
  }

  /**
   * Starts the receiver (the clock's start) and returns its start time (epoch
   * ms). For the agent, the punt redirect is added as soon as its tunnel
   * exists in VPP (it cannot be before).
   */
  async startReceiver(): Promise<number> {
    this.baseline = this.fibCount();
    this.baselinePrefixes = this.fibPrefixes();
    if (this.receiver === 'floor') {
      this.punt(this.operatorVppTunnel());
      const conf = this.birdConfig();
      const t0 = Date.now();
      const child = spawnIn(this.nsV, ['bird', '-f', '-c', conf, '-s', join(this.dir, 'bird.ctl'), '-P', join(this.dir, 'bird.pid')], { log: join(this.dir, 'bird.out') });
      this.children.push(child);
      this.receiverPid = child.pid ?? null;
      return t0;
    }
    const config = this.agentConfig();
    const t0 = Date.now();
    const child = spawnIn(this.nsV, [process.execPath, '--optimize-for-size', ...(this.opts.nodeFlags ?? []), CLI, 'agent', '--config', config], {
      log: this.logs.receiver,
    });
    this.children.push(child);
    this.receiverPid = child.pid ?? null;
    let wg = '';
    await until(
      "the agent's tunnel in VPP",
      () => {
        const m = new RegExp(`^(wg\\d+)\\s`, 'm').exec(this.vppctl('show', 'interface'));
        if (m) wg = m[1]!;
        return wg !== '';
      },
      30_000,
      () => tail(this.logs.receiver),
    );
    this.punt(wg);
    return t0;
  }

  /** Paths BIRD imported (the floor). */
  birdImported(): number {
    const text = execFileSync('birdc', ['-s', join(this.dir, 'bird.ctl'), 'show', 'protocols', 'all', 'feed'], { encoding: 'utf8', timeout: 30_000 });
    let sum = 0;
    for (const m of text.matchAll(/^\s+Routes:\s+(\d+) imported/gm)) sum += Number(m[1]);
    return sum;
  }

  /** The agent's status (routes.rib, routes.fib, dataplane), or null while it cannot answer. */
  async agentStatus(): Promise<{ routes?: { rib?: number; fib?: number }; dataplane?: unknown } | null> {
    let c: ControlClient | null = null;
    try {
      c = await ControlClient.connect(this.sock, 2_000);
      return (await c.request({ command: 'status' }, 30_000)) as { routes?: { rib?: number; fib?: number } };
    } catch {
      return null;
    } finally {
      c?.close();
    }
  }

  receiverCpuMs(): number | null {
    return cpuMs(this.receiverPid);
  }

  receiverPeakRssKb(): number | null {
    return peakRssKb(this.receiverPid);
  }

  vppCpuMs(): number | null {
    return cpuMs(this.vppPid);
  }

  /** Time VPP's main thread waited for a CPU (runnable, not running). */
  vppWaitMs(): number | null {
    return runQueueMs(this.vppPid);
  }

  receiverWaitMs(): number | null {
    return runQueueMs(this.receiverPid);
  }

  /** SIGTERM (or `signal`) to the receiver, and waits for it (--cpu-prof is written at SIGTERM). */
  async stopReceiver(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.receiverPid === null || !processAlive(this.receiverPid)) return;
    try {
      process.kill(this.receiverPid, signal);
    } catch {
      // gone
    }
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && processAlive(this.receiverPid)) await sleep(50);
  }

  /** The receiver stops, then VPP, the processes and the namespaces go. */
  async teardown(keep = false): Promise<void> {
    try {
      await this.stopReceiver();
    } finally {
      try {
        if (this.vppAlive()) {
          this.vpp!.kill('SIGTERM');
          const deadline = Date.now() + 5_000;
          while (Date.now() < deadline && this.vppAlive()) await sleep(50);
          if (this.vppAlive()) this.vpp!.kill('SIGKILL');
        }
      } finally {
        for (const c of this.children) c.unref();
        this.vpp?.unref();
        await cleanupPrefix(this.prefix);
        if (!keep) rmSync(this.dir, { recursive: true, force: true });
      }
    }
  }
}
