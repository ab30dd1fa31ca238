/**
 * The two-namespace lab of bench/converge.bench.ts:
 *
 *   F (feeder, BIRD 2, AS 65002)                 R (receiver under test, AS 65001)
 *   N static routes ──eBGP (passive)──┐           wgbgp agent, or wireguard-go + BIRD 2
 *   <prefix>f 10.255.0.1/31 fd00:255::1/127 ==== <prefix>r 10.255.0.0/31 fd00:255::/127
 *   eth1 198.18.0.2/24 ───────────────── veth ───────────────── eth1 198.18.0.1/24
 *
 * F's tunnel is set up the operator's way (wireguard-go -f, wg set, ip). R's is
 * built by the agent itself, or for BIRD the same way as F's. Everything is
 * named with one uniqueName() prefix, so teardown (cleanupPrefix) also removes
 * what a failed run left behind.
 */
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { processAlive, run, runOk } from '#lab/netns';
import { cleanupPrefix, createNamespaces, execIn, spawnIn, uniqueName, withVethPair } from '../../test/lab/helpers/netns.js';

export const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const CLI = join(REPO, 'dist', 'cli', 'main.js');

export const R = { asn: 65001, underlay: '198.18.0.1', port: 51821, v4: '10.255.0.0', v6: 'fd00:255::' };
export const F = { asn: 65002, underlay: '198.18.0.2', port: 51820, v4: '10.255.0.1', v6: 'fd00:255::1' };
/** Where the fed prefixes live (for exact counts with `ip route show root …`). */
export const FEED_ROOT = { v4: '16.0.0.0/4', v6: '2001:db8::/29' };
/** Kernel route protocol of each receiver's routes: wgbgp's 201, BIRD's RTPROT_BIRD. */
export const PROTO = { wgbgp: 201, bird: 12 } as const;

export type Receiver = keyof typeof PROTO;

export interface Feed {
  v4: string[];
  v6: string[];
}

/**
 * n distinct prefixes: IPv4 /24s in 16.0.0.0/4 and (a share of n) IPv6 /48s
 * in 2001:db8::/29 (2001:db8::/32 first, the next /32s for full tables).
 */
export function makeFeed(n: number, v6Share: number): Feed {
  const n6 = Math.round(n * v6Share);
  const n4 = n - n6;
  if (n4 > 1 << 20 || n6 > 1 << 19) throw new Error(`feed of ${n} does not fit 16.0.0.0/4 and 2001:db8::/29`);
  const v4 = Array.from({ length: n4 }, (_, i) => `${16 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`);
  const v6 = Array.from({ length: n6 }, (_, i) => `2001:${(0xdb8 + (i >> 16)).toString(16)}:${(i & 0xffff).toString(16)}::/48`);
  return { v4, v6 };
}

function sh(cmd: string, args: readonly string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] }).trim();
}

async function until(what: string, fn: () => boolean | Promise<boolean>, timeoutMs: number, why: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await fn()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why() ? `\n${why()}` : ''}`);
    await sleep(50);
  }
}

export function tail(file: string, lines = 20): string {
  try {
    return `--- ${file}\n${readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n')}`;
  } catch {
    return `--- ${file}: (none)`;
  }
}

/** Routes in all tables of a `birdc show route count` answer ("1234 of 1234 routes for 1234 networks in table master4"). */
function birdRouteCount(text: string): number {
  let sum = 0;
  for (const m of text.matchAll(/^(\d+) of \d+ routes for \d+ networks in table /gm)) sum += Number(m[1]);
  return sum;
}

export class ConvergeLab {
  readonly prefix = uniqueName('cv');
  readonly nsF = `${this.prefix}-f`;
  readonly nsR = `${this.prefix}-r`;
  readonly ifF = `${this.prefix}f`;
  readonly ifR = `${this.prefix}r`;
  readonly dir: string;
  readonly ctlF: string;
  readonly ctlR: string;
  readonly sock: string;
  readonly logs: { feeder: string; receiver: string; wgR: string };
  private keyF = '';
  private keyR = '';
  private pubF = '';
  private pubR = '';
  /** A `sleep` in R: /proc/<pid>/net shows R's FIB before and after the receiver runs. */
  anchorPid = 0;
  receiverPid: number | null = null;
  /** The receiver's wireguard-go (the agent's own, or the one set up for BIRD). */
  wgPid: number | null = null;
  private children: ChildProcess[] = [];

  constructor(
    readonly receiver: Receiver,
    readonly feed: Feed,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), `wgbgp-bench-${this.prefix}-`));
    chmodSync(this.dir, 0o755);
    this.ctlF = join(this.dir, 'bird-f.ctl');
    this.ctlR = join(this.dir, 'bird-r.ctl');
    this.sock = join(this.dir, 'agent.sock');
    this.logs = {
      feeder: join(this.dir, 'bird-f.log'),
      receiver: join(this.dir, receiver === 'wgbgp' ? 'agent.log' : 'bird-r.log'),
      wgR: receiver === 'wgbgp' ? `/run/wgbgp/${this.ifR}.log` : join(this.dir, 'wireguard-go-r.log'),
    };
  }

  get total(): number {
    return this.feed.v4.length + this.feed.v6.length;
  }

  birdc(ctl: string, ...args: string[]): string {
    return execFileSync('birdc', ['-s', ctl, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  }

  /** Namespaces, underlay, keys, F's tunnel, F's BIRD with the whole feed loaded (not yet connected). */
  async setUp(): Promise<void> {
    this.keyF = join(this.dir, 'f.key');
    this.keyR = join(this.dir, 'r.key');
    for (const file of [this.keyF, this.keyR]) writeFileSync(file, `${sh('wg', ['genkey'])}\n`, { mode: 0o600 });
    this.pubF = sh('wg', ['pubkey'], readFileSync(this.keyF, 'utf8'));
    this.pubR = sh('wg', ['pubkey'], readFileSync(this.keyR, 'utf8'));

    await createNamespaces(this.prefix, ['f', 'r']);
    await withVethPair(this.nsR, this.nsF, { addrA: `${R.underlay}/24`, addrB: `${F.underlay}/24` });
    const anchor = spawnIn(this.nsR, ['sleep', '86400']);
    this.children.push(anchor);
    this.anchorPid = anchor.pid ?? 0;
    // `ip netns exec` execs sleep in R: wait until the pid is sleep, not still ip.
    await until('the anchor process in R', () => readFileSync(`/proc/${this.anchorPid}/comm`, 'utf8').trim() === 'sleep', 5_000);

    await this.operatorTunnel('f');
    const conf = join(this.dir, 'bird-f.conf');
    writeFileSync(conf, this.feederConfig());
    this.checkBirdConfig(conf);
    this.children.push(spawnIn(this.nsF, ['bird', '-f', '-c', conf, '-s', this.ctlF, '-P', join(this.dir, 'bird-f.pid')], { log: join(this.dir, 'bird-f.out') }));
    await until(
      `F's BIRD holding all ${this.total} routes`,
      () => existsSync(this.ctlF) && birdRouteCount(this.birdc(this.ctlF, 'show', 'route', 'count')) === this.total,
      60_000,
      () => tail(join(this.dir, 'bird-f.out')) + tail(this.logs.feeder),
    );
  }

  /** One side's tunnel the way an operator sets it up: wireguard-go -f, wg set, addresses, up. */
  private async operatorTunnel(side: 'f' | 'r'): Promise<number> {
    const [ns, ifname, key, self, peer, peerPub] =
      side === 'f' ? [this.nsF, this.ifF, this.keyF, F, R, this.pubR] : [this.nsR, this.ifR, this.keyR, R, F, this.pubF];
    const child = spawnIn(ns, ['wireguard-go', '-f', ifname], { log: join(this.dir, `wireguard-go-${side}.log`) });
    this.children.push(child);
    await until(`wireguard-go UAPI socket of ${ifname}`, () => existsSync(`/var/run/wireguard/${ifname}.sock`), 10_000);
    await execIn(ns, [
      'wg', 'set', ifname,
      'private-key', key,
      'listen-port', String(self.port),
      'peer', peerPub,
      'endpoint', `${peer.underlay}:${peer.port}`,
      'allowed-ips', '0.0.0.0/0,::/0',
    ]);
    await execIn(ns, [
      'sh',
      '-c',
      `ip link set ${ifname} addrgenmode none && ip addr add ${self.v4}/31 dev ${ifname} && ` +
        `ip addr add ${self.v6}/127 dev ${ifname} nodad && ip link set ${ifname} up`,
    ]);
    return child.pid ?? 0;
  }

  private checkBirdConfig(conf: string): void {
    const parse = spawnSync('bird', ['-p', '-c', conf], { encoding: 'utf8' });
    if (parse.status !== 0) throw new Error(`bird -p -c ${conf}: ${parse.stderr}`);
  }

  private feederConfig(): string {
    const s4 = this.feed.v4.map((p) => `  route ${p} blackhole;\n`).join('');
    const s6 = this.feed.v6.map((p) => `  route ${p} blackhole;\n`).join('');
    return `log "${this.logs.feeder}" { info, warning, error, fatal };
router id 192.0.2.2;
protocol device { }
# Two static protocols (one per family): \`disable "s*"\` withdraws the whole feed.
protocol static s4 {
  ipv4;
${s4}}
protocol static s6 {
  ipv6;
${s6}}
protocol bgp to_r {
  local ${F.v4} as ${F.asn};
  neighbor ${R.v4} as ${R.asn};
  passive on;             # the receiver connects: its start is the clock's start
  ttl security yes;       # GTSM (RFC 5082), as wgbgp has it by default; the BIRD receiver too
  error wait time 1, 5;
  ipv4 { import none; export all; };
  ipv6 { import none; export all; next hop address ${F.v6}; };
}
`;
  }

  private receiverBirdConfig(): string {
    return `log "${this.logs.receiver}" all;
timeformat log "%F %T.%3f";
router id 192.0.2.1;
protocol device { }
protocol kernel k4 { ipv4 { import none; export all; }; }
protocol kernel k6 { ipv6 { import none; export all; }; }
protocol bgp feed {
  local ${R.v4} as ${R.asn};
  neighbor ${F.v4} as ${F.asn};
  connect delay time 0;   # default 5 s; wgbgp connects at once too
  ttl security yes;
  debug { states };
  ipv4 { import all; export none; };
  ipv6 { import all; export none; };
}
`;
  }

  /**
   * Prepares what must exist before the receiver's clock starts (BIRD: its
   * tunnel, set up by the operator; wgbgp: only its config file) and returns how
   * long that took plus a function that starts the receiver process.
   */
  async prepareReceiver(opts: { cpuProfDir?: string; nodeFlags?: readonly string[] } = {}): Promise<{ setupMs: number; start: () => number }> {
    if (this.receiver === 'bird') {
      const t = performance.now();
      this.wgPid = await this.operatorTunnel('r');
      const setupMs = performance.now() - t;
      const conf = join(this.dir, 'bird-r.conf');
      writeFileSync(conf, this.receiverBirdConfig());
      this.checkBirdConfig(conf);
      return {
        setupMs,
        start: () => {
          const child = spawnIn(this.nsR, ['bird', '-f', '-c', conf, '-s', this.ctlR, '-P', join(this.dir, 'bird-r.pid')], {
            log: join(this.dir, 'bird-r.out'),
          });
          this.children.push(child);
          this.receiverPid = child.pid ?? null;
          return this.receiverPid ?? 0;
        },
      };
    }
    const config = join(this.dir, 'wgbgp.yaml');
    writeFileSync(
      config,
      stringify({
        router: { asn: R.asn, 'router-id': '192.0.2.1' },
        control: { socket: this.sock },
        dataplane: { wireguard: 'wireguard-go', fib: 'linux', linux: { protocol: PROTO.wgbgp } },
        wireguard: { 'private-key-file': this.keyR },
        neighbors: [
          {
            name: 'feeder',
            interface: this.ifR,
            'public-key': this.pubF,
            endpoint: `${F.underlay}:${F.port}`,
            'listen-port': R.port,
            tunnel: { local: [`${R.v4}/31`, `${R.v6}/127`], remote: [F.v4, F.v6] },
            bgp: { asn: F.asn },
          },
        ],
      }),
    );
    const prof = [...(opts.nodeFlags ?? []), ...(opts.cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir])];
    return {
      setupMs: 0,
      start: () => {
        // As bin/wgbgp runs it (its #! line): --optimize-for-size.
        const child = spawnIn(this.nsR, [process.execPath, '--optimize-for-size', ...prof, CLI, 'agent', '--config', config], { log: this.logs.receiver });
        this.children.push(child);
        this.receiverPid = child.pid ?? null;
        return this.receiverPid ?? 0;
      },
    };
  }

  /** The agent's wireguard-go, once the agent has started it (its pid file in /run/wgbgp). */
  findWgPid(): number | null {
    if (this.wgPid !== null || this.receiver !== 'wgbgp') return this.wgPid;
    try {
      const pid = Number(readFileSync(`/run/wgbgp/${this.ifR}.pid`, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) this.wgPid = pid;
    } catch {
      // not yet
    }
    return this.wgPid;
  }

  /** Exact count of the fed prefixes in R's kernel with the receiver's protocol (a route dump: slow at 100k). */
  async exactCount(): Promise<{ v4: number; v6: number }> {
    const proto = String(PROTO[this.receiver]);
    const lines = async (family: '-4' | '-6', root: string): Promise<number> => {
      const r = await runOk(['ip', '-n', this.nsR, family, 'route', 'show', 'proto', proto, 'root', root]);
      let n = 0;
      for (let i = r.stdout.indexOf('\n'); i !== -1; i = r.stdout.indexOf('\n', i + 1)) n++;
      return n;
    };
    const [v4, v6] = await Promise.all([lines('-4', FEED_ROOT.v4), lines('-6', FEED_ROOT.v6)]);
    return { v4, v6 };
  }

  /** One fed route of each family, as the kernel holds it (for a sanity check of next hops). */
  async sampleRoutes(): Promise<{ v4: unknown; v6: unknown }> {
    const show = async (family: '-4' | '-6', prefix: string | undefined): Promise<unknown> => {
      if (prefix === undefined) return null;
      const r = await run(['ip', '-n', this.nsR, '-j', family, 'route', 'show', prefix]);
      return (JSON.parse(r.stdout.trim() || '[]') as unknown[])[0] ?? null;
    };
    return { v4: await show('-4', this.feed.v4.at(-1)), v6: await show('-6', this.feed.v6.at(-1)) };
  }

  /** Milliseconds since `epochMs` at which the receiver logged its BGP session Established, or null. */
  establishedAt(epochMs: number): number | null {
    let text = '';
    try {
      text = readFileSync(this.logs.receiver, 'utf8');
    } catch {
      return null;
    }
    for (const line of text.split('\n')) {
      if (this.receiver === 'wgbgp') {
        if (!line.startsWith('{') || !line.includes('Established')) continue;
        try {
          const rec = JSON.parse(line) as { time?: number; to?: string; msg?: string };
          if ((rec.to === 'Established' || /-> Established/.test(rec.msg ?? '')) && rec.time) return rec.time - epochMs;
        } catch {
          // not JSON
        }
      } else {
        // "2026-11-26 10:00:00.123 <TRACE> feed: State changed to up"
        const m = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) .*feed: State changed to up/.exec(line);
        if (m) return new Date(m[1]!.replace(' ', 'T')).getTime() - epochMs;
      }
    }
    return null;
  }

  /** SIGTERM the receiver and wait for it (so --cpu-prof gets written), then remove everything. */
  async teardown(keep = false): Promise<void> {
    try {
      if (this.receiverPid !== null && processAlive(this.receiverPid)) {
        try {
          process.kill(this.receiverPid, 'SIGTERM');
        } catch {
          // gone
        }
        const deadline = Date.now() + 10_000;
        while (Date.now() < deadline && processAlive(this.receiverPid)) await sleep(50);
      }
    } finally {
      for (const c of this.children) c.unref();
      await cleanupPrefix(this.prefix);
      for (const f of [`${this.ifR}.pid`, `${this.ifR}.log`]) rmSync(join('/run/wgbgp', f), { force: true });
      if (!keep) rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
