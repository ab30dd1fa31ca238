/**
 * The two-namespace lab of bench/converge.bench.ts:
 *
 *   F (feeders, AS 65002 + i)                     R (receiver under test, AS 65001)
 *   the table ──eBGP (F listens)──┐               wgbgp agent, or wireguard-go + BIRD 2
 *   <prefix>f 10.255.0.1/31 fd00:255::1/127 ===== <prefix>r 10.255.0.0/31 fd00:255::/127
 *   …one tunnel per peer i: 10.255.i.1/31, fd00:255:i::1/127 (interface <prefix>f<i>, <prefix>r<i>)
 *   eth1 198.18.0.2/24 ───────────────── veth ───────────────── eth1 198.18.0.1/24
 *
 * The feeder (LabOptions.feeder) is either BIRD 2 with the table as static
 * routes (one BIRD, one `protocol bgp` per peer), or the replay feeder
 * (dist/replay/feeder-cli.js, one process per peer, each the whole table with
 * its own AS and next hop; the table as synthetic:N… or an MRT file). Both
 * listen; the receiver connects, so its start is the clock's start.
 *
 * Receivers: `wgbgp` (the agent, one neighbor per peer), `bird` (BIRD 2 with
 * `protocol kernel`), and `floor`: BIRD 2 without a kernel protocol, whose
 * own receive into its RIB is the floor set by the feeder and the tunnel.
 *
 * F's tunnels are set up the operator's way (wireguard-go -f, wg set, ip). R's are
 * built by the agent itself, or for BIRD the same way as F's. Everything is
 * named with one uniqueName() prefix, so teardown (cleanupPrefix) also removes
 * what a failed run left behind.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { ControlClient } from '#api/client';
import { Origin } from '#bgp/wire/types';
import { canonicalPrefix } from '#lib/prefix';
import { processAlive, run } from '#lab/netns';
import { encodeTableDump } from '#replay/mrt-write';
import { parseSyntheticSpec, syntheticTable } from '#replay/synthetic';
import { tableFromMrt, type RouteTable } from '#replay/table';
import { cpuMs, peakRssKb } from './procfs.js';
import { cleanupPrefix, createNamespaces, execIn, spawnIn, uniqueName, withVethPair } from '../../test/lab/helpers/netns.js';

export const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const CLI = join(REPO, 'dist', 'cli', 'main.js');
export const FEEDER_CLI = join(REPO, 'dist', 'replay', 'feeder-cli.js');

export const R = { asn: 65001, underlay: '198.18.0.1', port: 51821, v4: '10.255.0.0', v6: 'fd00:255::' };
export const F = { asn: 65002, underlay: '198.18.0.2', port: 51820, v4: '10.255.0.1', v6: 'fd00:255::1' };
/** Where makeFeed's prefixes live. */
export const FEED_ROOT = { v4: '16.0.0.0/4', v6: '2001:db8::/29' };
/** Kernel route protocol of each receiver's routes: wgbgp's 201, BIRD's RTPROT_BIRD. */
export const PROTO = { wgbgp: 201, bird: 12 } as const;

/** A receiver writing the kernel FIB, or `floor`: BIRD without a kernel protocol (its RIB only). */
export type Receiver = keyof typeof PROTO | 'floor';
export const RECEIVER_KINDS: readonly Receiver[] = ['wgbgp', 'bird', 'floor'];
export type FeederKind = 'bird' | 'replay';

export interface Feed {
  v4: string[];
  v6: string[];
  /**
   * The replay feeder's --table (synthetic:…, mrt:PATH[#PEER]) these prefixes
   * came from; without it the replay feeder gets them from an MRT file the lab
   * writes (origin IGP, empty AS path).
   */
  table?: string;
}

export interface LabOptions {
  /** Default 'bird'. */
  feeder?: FeederKind;
  /** Feeders, each over its own tunnel, each the whole table (default 1). */
  peers?: number;
}

/** One tunnel between F and R, peer i. */
export interface Tunnel {
  i: number;
  ifF: string;
  ifR: string;
  portF: number;
  portR: number;
  f4: string;
  f6: string;
  r4: string;
  r6: string;
  asnF: number;
  keyF: string;
  pubF: string;
}

/**
 * A feed from a table spec: synthetic:N | synthetic:N4,N6[@SEED] (the
 * realistic synthetic table, src/replay/synthetic.ts) or mrt:PATH[#PEER_INDEX].
 */
export async function loadFeed(spec: string): Promise<Feed> {
  const synthetic = parseSyntheticSpec(spec);
  let table: RouteTable;
  if (synthetic !== null) {
    table = syntheticTable(synthetic);
  } else {
    const m = /^(?:mrt:)?(.+?)(?:#(\d+))?$/.exec(spec);
    if (m === null) throw new Error(`not a table: ${spec}`);
    table = (await tableFromMrt(m[1]!, { peerIndex: m[2] === undefined ? 0 : Number(m[2]) })).table;
  }
  const v4: string[] = [];
  const v6: string[] = [];
  for (const g of table.groups) {
    for (const p of g.ipv4) v4.push(p);
    for (const p of g.ipv6) v6.push(p);
  }
  return { v4, v6, table: spec };
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
  // Canonical text (RFC 5952: "2001:db8::/48", not "2001:db8:0::/48"): fed routes are looked up by the kernel's.
  const v6 = Array.from({ length: n6 }, (_, i) => canonicalPrefix(`2001:${(0xdb8 + (i >> 16)).toString(16)}:${(i & 0xffff).toString(16)}::/48`)!);
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

/** Routes imported by BGP protocols, from `birdc show protocols all` ("Routes: 1234 imported, 0 exported, …" per channel). */
function birdImported(text: string): number {
  let sum = 0;
  for (const m of text.matchAll(/^\s+Routes:\s+(\d+) imported/gm)) sum += Number(m[1]);
  return sum;
}

/** Words `ip route show` may print before the destination. */
const ROUTE_TYPES = new Set(['unicast', 'local', 'broadcast', 'multicast', 'throw', 'unreachable', 'prohibit', 'blackhole', 'nat', 'anycast']);

/**
 * Counts the routes of `ip -n NS FAMILY route show proto P` whose destination
 * is in `fed`, reading the dump as a stream (a million lines at full table).
 */
function countFed(ns: string, family: '-4' | '-6', proto: number, fed: ReadonlySet<string>): Promise<number> {
  const host = family === '-4' ? '/32' : '/128';
  return new Promise((resolvePromise, reject) => {
    const child = spawn('ip', ['-n', ns, family, 'route', 'show', 'proto', String(proto)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let n = 0;
    let rest = '';
    let err = '';
    const line = (l: string): void => {
      const c = l.charCodeAt(0);
      if (l.length === 0 || c === 32 || c === 9) return; // multipath "nexthop" lines
      let sp = l.indexOf(' ');
      let dst = sp === -1 ? l : l.slice(0, sp);
      if (ROUTE_TYPES.has(dst)) {
        const from = sp + 1;
        sp = l.indexOf(' ', from);
        dst = sp === -1 ? l.slice(from) : l.slice(from, sp);
      }
      if (fed.has(dst.includes('/') ? dst : dst + host)) n++;
    };
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      const text = rest + d;
      let start = 0;
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', start)) {
        line(text.slice(start, i));
        start = i + 1;
      }
      rest = text.slice(start);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (rest !== '') line(rest);
      if (code === 0) resolvePromise(n);
      else reject(new Error(`ip -n ${ns} ${family} route show proto ${proto}: exit ${code}: ${err.trim()}`));
    });
  });
}

export class ConvergeLab {
  readonly prefix = uniqueName('cv');
  readonly nsF = `${this.prefix}-f`;
  readonly nsR = `${this.prefix}-r`;
  /** Peer 0's interfaces (the only ones with one peer). */
  readonly ifF = `${this.prefix}f`;
  readonly ifR = `${this.prefix}r`;
  readonly dir: string;
  readonly ctlF: string;
  readonly ctlR: string;
  readonly sock: string;
  readonly logs: { feeder: string; receiver: string; wgR: string };
  readonly feeder: FeederKind;
  readonly peers: number;
  readonly tunnels: Tunnel[];
  private keyR = '';
  private pubR = '';
  /** A `sleep` in R: /proc/<pid>/net shows R's FIB before and after the receiver runs. */
  anchorPid = 0;
  receiverPid: number | null = null;
  /** The receiver's wireguard-go (the agent's own, or the ones set up for BIRD), one per tunnel. */
  wgPid: number | null = null;
  private wgPids: number[] = [];
  /** Replay feeders, one per tunnel. */
  feederPids: number[] = [];
  private children: ChildProcess[] = [];
  private fed: Set<string> | null = null;

  constructor(
    readonly receiver: Receiver,
    readonly feed: Feed,
    opts: LabOptions = {},
  ) {
    this.feeder = opts.feeder ?? 'bird';
    this.peers = Math.max(1, opts.peers ?? 1);
    if (this.peers > 200) throw new Error('at most 200 peers (10.255.i.0/31)');
    this.dir = mkdtempSync(join(tmpdir(), `wgbgp-bench-${this.prefix}-`));
    chmodSync(this.dir, 0o755);
    this.ctlF = join(this.dir, 'bird-f.ctl');
    this.ctlR = join(this.dir, 'bird-r.ctl');
    this.sock = join(this.dir, 'agent.sock');
    this.logs = {
      feeder: join(this.dir, this.feeder === 'bird' ? 'bird-f.log' : 'feeder-0.log'),
      receiver: join(this.dir, receiver === 'wgbgp' ? 'agent.log' : 'bird-r.log'),
      wgR: receiver === 'wgbgp' ? `/run/wgbgp/${this.ifR}.log` : join(this.dir, 'wireguard-go-r0.log'),
    };
    this.tunnels = Array.from({ length: this.peers }, (_, i) => ({
      i,
      ifF: i === 0 ? this.ifF : `${this.ifF}${i}`,
      ifR: i === 0 ? this.ifR : `${this.ifR}${i}`,
      portF: F.port + i,
      portR: i === 0 ? R.port : 51900 + i,
      f4: `10.255.${i}.1`,
      f6: i === 0 ? F.v6 : `fd00:255:${i.toString(16)}::1`,
      r4: `10.255.${i}.0`,
      r6: i === 0 ? R.v6 : `fd00:255:${i.toString(16)}::`,
      asnF: F.asn + i,
      keyF: join(this.dir, `f${i}.key`),
      pubF: '',
    }));
  }

  /** Prefixes per peer. */
  get total(): number {
    return this.feed.v4.length + this.feed.v6.length;
  }

  birdc(ctl: string, ...args: string[]): string {
    return execFileSync('birdc', ['-s', ctl, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000, maxBuffer: 64 << 20 });
  }

  /** Namespaces, underlay, keys, F's tunnels, the feeders with the whole table loaded (not yet connected). */
  async setUp(): Promise<void> {
    this.keyR = join(this.dir, 'r.key');
    for (const file of [this.keyR, ...this.tunnels.map((t) => t.keyF)]) writeFileSync(file, `${sh('wg', ['genkey'])}\n`, { mode: 0o600 });
    this.pubR = sh('wg', ['pubkey'], readFileSync(this.keyR, 'utf8'));
    for (const t of this.tunnels) t.pubF = sh('wg', ['pubkey'], readFileSync(t.keyF, 'utf8'));

    await createNamespaces(this.prefix, ['f', 'r']);
    // BENCH_NH_COMPAT=0: R's kernel without nexthop compat mode (no per-route notification when an object changes).
    const compat = process.env.BENCH_NH_COMPAT;
    if (compat === '0' || compat === '1') execFileSync('ip', ['netns', 'exec', this.nsR, 'sysctl', '-qw', `net.ipv4.nexthop_compat_mode=${compat}`]);
    await withVethPair(this.nsR, this.nsF, { addrA: `${R.underlay}/24`, addrB: `${F.underlay}/24` });
    const anchor = spawnIn(this.nsR, ['sleep', '86400']);
    this.children.push(anchor);
    this.anchorPid = anchor.pid ?? 0;
    // `ip netns exec` execs sleep in R: wait until the pid is sleep, not still ip.
    await until('the anchor process in R', () => readFileSync(`/proc/${this.anchorPid}/comm`, 'utf8').trim() === 'sleep', 5_000);

    for (const t of this.tunnels) await this.operatorTunnel('f', t);
    if (this.feeder === 'bird') await this.startBirdFeeder();
    else await this.startReplayFeeders();
  }

  private async startBirdFeeder(): Promise<void> {
    const conf = join(this.dir, 'bird-f.conf');
    writeFileSync(conf, this.feederConfig());
    this.checkBirdConfig(conf);
    this.children.push(spawnIn(this.nsF, ['bird', '-f', '-c', conf, '-s', this.ctlF, '-P', join(this.dir, 'bird-f.pid')], { log: join(this.dir, 'bird-f.out') }));
    await until(
      `F's BIRD holding all ${this.total} routes`,
      () => existsSync(this.ctlF) && birdRouteCount(this.birdc(this.ctlF, 'show', 'route', 'count')) === this.total,
      60_000 + this.total / 10,
      () => tail(join(this.dir, 'bird-f.out')) + tail(this.logs.feeder),
    );
  }

  /** The table the replay feeders send: the feed's own spec, or an MRT file of its prefixes. */
  private replayTable(): string {
    if (this.feed.table !== undefined) return this.feed.table;
    const file = join(this.dir, 'feed.mrt');
    const now = Math.floor(Date.now() / 1000);
    const dump = encodeTableDump({
      timestamp: now,
      collectorBgpId: '192.0.2.2',
      viewName: 'converge-bench',
      peers: [
        {
          peer: { bgpId: '192.0.2.2', address: F.v4, asn: F.asn },
          table: { groups: [{ attributes: { origin: Origin.Igp, asPath: [] }, ipv4: this.feed.v4, ipv6: this.feed.v6 }] },
          nextHop4: F.v4,
          nextHop6: [F.v6],
          originatedTime: now,
        },
      ],
    });
    writeFileSync(file, Buffer.concat(dump));
    return `mrt:${file}#0`;
  }

  private async startReplayFeeders(): Promise<void> {
    // GTSM (RFC 5082): both receivers accept only TTL 255; BIRD sets it per socket, the replay feeder takes F's default.
    await execIn(this.nsF, ['sysctl', '-q', '-w', 'net.ipv4.ip_default_ttl=255', 'net.ipv6.conf.all.hop_limit=255', 'net.ipv6.conf.default.hop_limit=255']);
    const table = this.replayTable();
    for (const t of this.tunnels) {
      const child = spawnIn(
        this.nsF,
        [
          process.execPath, FEEDER_CLI,
          '--table', table,
          '--listen', t.f4, '--next-hop6', t.f6,
          '--local-asn', String(t.asnF), '--asn', String(R.asn),
          '--json',
        ],
        { log: this.feederLog(t.i) },
      );
      this.children.push(child);
      this.feederPids.push(child.pid ?? 0);
    }
    // One after another would be slower at 1 M × 10: they encode in parallel, then all must listen.
    for (const t of this.tunnels) {
      await until(
        `replay feeder ${t.i} listening on ${t.f4}`,
        () => this.feederEvents(t.i).some((e) => e.event === 'listening'),
        120_000 + this.total / 5,
        () => tail(this.feederLog(t.i)),
      );
    }
  }

  feederLog(i: number): string {
    return join(this.dir, this.feeder === 'bird' ? 'bird-f.log' : `feeder-${i}.log`);
  }

  /** The replay feeder's JSON lines (events "encoded", "listening", "acked", "withdrawn", "announced", "closed"). */
  feederEvents(i: number): { event: string; [k: string]: unknown }[] {
    let text = '';
    try {
      text = readFileSync(this.feederLog(i), 'utf8');
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
   * When the replay feeders' last octet of the table was acknowledged, in ms
   * since `epochMs` (the latest of all feeders), and the feeders' own rate;
   * null with the BIRD feeder or before every feeder has sent it.
   */
  feederAcked(epochMs: number): { ackedMs: number; routesPerSecond: number } | null {
    if (this.feeder !== 'replay') return null;
    let latest = -Infinity;
    let rate = 0;
    for (const t of this.tunnels) {
      const e = this.feederEvents(t.i).find((x) => x.event === 'acked') as { connectedAt?: number; acked?: number; routesPerSecond?: number } | undefined;
      if (e?.connectedAt === undefined || e.acked === undefined) return null;
      latest = Math.max(latest, e.connectedAt + e.acked - epochMs);
      rate += e.routesPerSecond ?? 0;
    }
    return { ackedMs: latest, routesPerSecond: Math.round(rate / this.tunnels.length) };
  }

  /** Withdraws the whole table on every peer (the session stays up). */
  withdrawAll(): void {
    if (this.feeder === 'bird') this.birdc(this.ctlF, 'disable', '"s*"');
    else this.signalFeeders('SIGUSR1');
  }

  /** Announces the whole table again on every peer. */
  announceAll(): void {
    if (this.feeder === 'bird') this.birdc(this.ctlF, 'enable', '"s*"');
    else this.signalFeeders('SIGUSR2');
  }

  /** Ends the session of peer `i` alone (a replay feeder exits after its Cease); the others keep theirs. */
  sessionDown(i: number): void {
    if (this.feeder === 'bird') {
      this.birdc(this.ctlF, 'disable', `"to_r${i}"`);
      return;
    }
    try {
      process.kill(this.feederPids[i]!, 'SIGTERM');
    } catch (e) {
      console.log(`converge: replay feeder ${i} is gone, SIGTERM not delivered: ${(e as Error).message}`);
    }
  }

  /**
   * The receiver's routes (its kernel protocol) through tunnel `i`, both
   * families: a dump the kernel filters by device, so a route naming a
   * nexthop object counts by that object's device. The tunnel's own host
   * routes to the peer are not fed routes and are left out.
   */
  routesVia(i: number): number {
    const t = this.tunnels[i]!;
    if (this.receiver === 'floor') return 0;
    const proto = String(PROTO[this.receiver]);
    let n = 0;
    for (const [fam, host] of [['-4', `${t.f4} `], ['-6', `${t.f6} `]] as const) {
      const r = spawnSync('ip', ['-n', this.nsR, fam, 'route', 'show', 'table', 'main', 'dev', t.ifR, 'proto', proto], { encoding: 'utf8', maxBuffer: 1 << 30 });
      if (r.status !== 0) throw new Error(`ip route show dev ${t.ifR}: ${r.stderr.trim()}`);
      let at = 0;
      while (at < r.stdout.length) {
        const end = r.stdout.indexOf('\n', at);
        const stop = end < 0 ? r.stdout.length : end;
        if (stop > at && !r.stdout.startsWith(host, at)) n++;
        at = stop + 1;
      }
    }
    // Without nexthop compat mode (BENCH_NH_COMPAT=0) a route naming an object lists no device, and the
    // kernel's device filter passes it by: count the routes naming an object on the tunnel here.
    if (process.env.BENCH_NH_COMPAT === '0') n += this.routesNamingObjectsVia(t.ifR, proto);
    return n;
  }

  private routesNamingObjectsVia(dev: string, proto: string): number {
    const r = spawnSync('ip', ['-n', this.nsR, '-j', 'nexthop', 'show'], { encoding: 'utf8', maxBuffer: 1 << 28 });
    if (r.status !== 0 || r.stdout.trim() === '') return 0;
    const objects = JSON.parse(r.stdout) as { id: number; dev?: string; group?: { id: number }[] }[];
    const onDev = new Set(objects.filter((o) => o.dev === dev).map((o) => o.id));
    for (const o of objects) if (o.group?.some((m) => onDev.has(m.id))) onDev.add(o.id);
    if (onDev.size === 0) return 0;
    let n = 0;
    for (const fam of ['-4', '-6']) {
      const out = spawnSync('ip', ['-n', this.nsR, fam, 'route', 'show', 'table', 'main', 'proto', proto], { encoding: 'utf8', maxBuffer: 1 << 30 }).stdout;
      for (const m of out.matchAll(/ nhid (\d+)(?![^\n]* dev )/g)) if (onDev.has(Number(m[1]))) n++;
    }
    return n;
  }

  /** The ids of the nexthop objects on tunnel `i`'s device now (empty for a receiver that names none, as BIRD). */
  nexthopIdsVia(i: number): number[] {
    const t = this.tunnels[i]!;
    const r = spawnSync('ip', ['-n', this.nsR, '-j', 'nexthop', 'show', 'dev', t.ifR], { encoding: 'utf8', maxBuffer: 1 << 28 });
    if (r.status !== 0 || r.stdout.trim() === '') return [];
    return (JSON.parse(r.stdout) as { id: number }[]).map((o) => o.id);
  }

  /**
   * Records the kernel's nexthop events in R's namespace (`ip -ts monitor
   * nexthop`) until stop(): each object id with the wall-clock ms at which
   * the kernel announced its change (replaced or deleted).
   */
  monitorNexthops(): { ready: Promise<void>; stop: () => Promise<{ at: number; id: number }[]> } {
    const child = spawn('ip', ['-n', this.nsR, '-ts', 'monitor', 'nexthop'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      out += d;
    });
    const ready = new Promise<void>((resolve) => {
      child.once('spawn', () => setTimeout(resolve, 200));
      child.once('error', () => resolve());
    });
    const stop = async (): Promise<{ at: number; id: number }[]> => {
      // Events written just before the stop still arrive: give the pipe a moment.
      await new Promise((r) => setTimeout(r, 100));
      const done = new Promise((r) => child.once('close', r));
      child.kill('SIGTERM');
      await done;
      const events: { at: number; id: number }[] = [];
      for (const line of out.split('\n')) {
        // "[2026-12-06T14:25:43.519339] id 5 dev d1 scope host" (local time, µs), or "... Deleted id 5 ..."
        const m = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)\] (?:Deleted )?id (\d+)/.exec(line);
        if (m !== null) events.push({ at: Date.parse(m[1]!.slice(0, 23)), id: Number(m[2]) });
      }
      return events;
    };
    return { ready, stop };
  }

  /** Ends every session with a Cease (the replay feeders exit after it). */
  sessionsDown(): void {
    if (this.feeder === 'bird') this.birdc(this.ctlF, 'disable', '"to_r*"');
    else this.signalFeeders('SIGTERM');
  }

  /** Signals every replay feeder; one that is gone is reported, not thrown (the phase then times out with its count). */
  private signalFeeders(sig: NodeJS.Signals): void {
    for (const [i, pid] of this.feederPids.entries()) {
      try {
        process.kill(pid, sig);
      } catch (e) {
        console.log(`converge: replay feeder ${i} (pid ${pid}) is gone, ${sig} not delivered: ${(e as Error).message}\n${tail(this.feederLog(i), 5)}`);
      }
    }
  }

  /**
   * Paths the receiver holds from all its peers: wgbgp's Adj-RIB-In sizes
   * (prefixesReceived of every neighbor, over the control socket), BIRD's
   * imported-route counters. Null while the receiver cannot answer.
   */
  async ribPaths(): Promise<number | null> {
    if (this.receiver !== 'wgbgp') {
      try {
        return this.ribCount();
      } catch {
        return null;
      }
    }
    let c: ControlClient | null = null;
    try {
      c = await ControlClient.connect(this.sock, 2_000);
      const ns = (await c.request({ command: 'neighbors' }, 30_000)) as { prefixesReceived?: number }[];
      return ns.reduce((a, x) => a + (x.prefixesReceived ?? 0), 0);
    } catch {
      return null;
    } finally {
      c?.close();
    }
  }

  /** One side's tunnel the way an operator sets it up: wireguard-go -f, wg set, addresses, up. */
  private async operatorTunnel(side: 'f' | 'r', t: Tunnel): Promise<number> {
    const [ns, ifname, key, port, peerPort, peerUnderlay, peerPub, v4, v6] =
      side === 'f'
        ? [this.nsF, t.ifF, t.keyF, t.portF, t.portR, R.underlay, this.pubR, t.f4, t.f6]
        : [this.nsR, t.ifR, this.keyR, t.portR, t.portF, F.underlay, t.pubF, t.r4, t.r6];
    const child = spawnIn(ns, ['wireguard-go', '-f', ifname], { log: join(this.dir, `wireguard-go-${side}${t.i}.log`) });
    this.children.push(child);
    await until(`wireguard-go UAPI socket of ${ifname}`, () => existsSync(`/var/run/wireguard/${ifname}.sock`), 10_000);
    await execIn(ns, [
      'wg', 'set', ifname,
      'private-key', key,
      'listen-port', String(port),
      'peer', peerPub,
      'endpoint', `${peerUnderlay}:${peerPort}`,
      'allowed-ips', '0.0.0.0/0,::/0',
    ]);
    await execIn(ns, [
      'sh',
      '-c',
      `ip link set ${ifname} addrgenmode none && ip addr add ${v4}/31 dev ${ifname} && ` +
        `ip addr add ${v6}/127 dev ${ifname} nodad && ip link set ${ifname} up`,
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
    const peers = this.tunnels
      .map(
        (t) => `protocol bgp to_r${t.i} {
  local ${t.f4} as ${t.asnF};
  neighbor ${t.r4} as ${R.asn};
  passive on;             # the receiver connects: its start is the clock's start
  ttl security yes;       # GTSM (RFC 5082), as wgbgp has it by default; the BIRD receiver too
  error wait time 1, 5;
  ipv4 { import none; export all; };
  ipv6 { import none; export all; next hop address ${t.f6}; };
}
`,
      )
      .join('');
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
${peers}`;
  }

  private receiverBirdConfig(): string {
    const kernel = this.receiver === 'floor' ? '# floor: no kernel protocol, BIRD\'s own RIB only\n' : `protocol kernel k4 { ipv4 { import none; export all; }; }
protocol kernel k6 { ipv6 { import none; export all; }; }
`;
    // BIRD as receiver sends each peer the best routes of the others, as the agent
    // does (neither sends a route back to the peer it came from): with ten peers the
    // same Adj-RIB-Out work on both sides. The floor only receives.
    const exports = (t: Tunnel): string =>
      this.receiver === 'floor'
        ? '  ipv4 { import all; export none; };\n  ipv6 { import all; export none; };\n'
        : `  ipv4 { import all; export all; };\n  ipv6 { import all; export all; next hop address ${t.r6}; };\n`;
    const peers = this.tunnels
      .map(
        (t) => `protocol bgp feed${t.i} {
  local ${t.r4} as ${R.asn};
  neighbor ${t.f4} as ${t.asnF};
  connect delay time 0;   # default 5 s; wgbgp connects at once too
  ttl security yes;
  debug { states };
${exports(t)}}
`,
      )
      .join('');
    return `log "${this.logs.receiver}" all;
timeformat log "%F %T.%3f";
router id 192.0.2.1;
protocol device { }
${kernel}${peers}`;
  }

  /**
   * Prepares what must exist before the receiver's clock starts (BIRD: its
   * tunnels, set up by the operator; wgbgp: only its config file) and returns how
   * long that took plus a function that starts the receiver process.
   */
  async prepareReceiver(opts: { cpuProfDir?: string; nodeFlags?: readonly string[] } = {}): Promise<{ setupMs: number; start: () => number }> {
    if (this.receiver === 'bird' || this.receiver === 'floor') {
      const t = performance.now();
      for (const tunnel of this.tunnels) this.wgPids.push(await this.operatorTunnel('r', tunnel));
      this.wgPid = this.wgPids[0] ?? null;
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
        neighbors: this.tunnels.map((t) => ({
          name: this.peers === 1 ? 'feeder' : `feeder${t.i}`,
          interface: t.ifR,
          'public-key': t.pubF,
          endpoint: `${F.underlay}:${t.portF}`,
          'listen-port': t.portR,
          tunnel: { local: [`${t.r4}/31`, `${t.r6}/127`], remote: [t.f4, t.f6] },
          bgp: { asn: t.asnF },
        })),
      }),
    );
    const prof = [...(opts.nodeFlags ?? []), ...(opts.cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir])];
    return {
      setupMs: 0,
      start: () => {
        // As bin/wgbgp runs it (its #! line): --optimize-for-size; and as the unit does (contrib/wgbgp.service): MALLOC_ARENA_MAX=2.
        const child = spawnIn(this.nsR, [process.execPath, '--optimize-for-size', ...prof, CLI, 'agent', '--config', config], {
          log: this.logs.receiver,
          env: { MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2' },
        });
        this.children.push(child);
        this.receiverPid = child.pid ?? null;
        return this.receiverPid ?? 0;
      },
    };
  }

  /** The agent's wireguard-go processes, once the agent has started them (pid files in /run/wgbgp). */
  findWgPids(): number[] {
    if (this.receiver !== 'wgbgp' || this.wgPids.length === this.peers) return this.wgPids;
    const found: number[] = [];
    for (const t of this.tunnels) {
      try {
        const pid = Number(readFileSync(`/run/wgbgp/${t.ifR}.pid`, 'utf8').trim());
        if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) found.push(pid);
      } catch {
        // not yet
      }
    }
    if (found.length === this.peers) this.wgPids = found;
    this.wgPid = found[0] ?? null;
    return found;
  }

  /** The first of the receiver's wireguard-go processes (the only one with one peer). */
  findWgPid(): number | null {
    return this.findWgPids()[0] ?? null;
  }

  /** CPU ms of all the receiver's wireguard-go processes, null before any runs. */
  wgCpuMs(): number | null {
    const pids = this.findWgPids();
    if (pids.length === 0) return null;
    return pids.reduce((a, p) => a + (cpuMs(p) ?? 0), 0);
  }

  /** Sum of the peak RSS (kB) of the receiver's wireguard-go processes. */
  wgPeakRssKb(): number | null {
    const pids = this.findWgPids();
    if (pids.length === 0) return null;
    return pids.reduce((a, p) => a + (peakRssKb(p) ?? 0), 0);
  }

  /**
   * Exact count of the fed prefixes in R's kernel with the receiver's protocol:
   * a route dump by protocol, each destination looked up among the fed
   * prefixes (so the receiver's own routes, e.g. the agent's host routes to its
   * peers, never count; slow at full table: about a second per million routes).
   */
  async exactCount(): Promise<{ v4: number; v6: number }> {
    if (this.receiver === 'floor') throw new Error('the floor receiver writes no FIB');
    const proto = PROTO[this.receiver];
    this.fed ??= new Set([...this.feed.v4, ...this.feed.v6]);
    const [v4, v6] = await Promise.all([countFed(this.nsR, '-4', proto, this.fed), countFed(this.nsR, '-6', proto, this.fed)]);
    return { v4, v6 };
  }

  /** Routes (paths) in the receiving BIRD's RIB, imported over all its BGP sessions (cheap: per-protocol counters). */
  ribCount(): number {
    return birdImported(this.birdc(this.ctlR, 'show', 'protocols', 'all', '"feed*"'));
  }

  /** One fed route of each family, as the kernel holds it (for a sanity check of next hops). */
  async sampleRoutes(): Promise<{ v4: unknown; v6: unknown }> {
    if (this.receiver === 'floor') return { v4: null, v6: null };
    const show = async (family: '-4' | '-6', prefix: string | undefined): Promise<unknown> => {
      if (prefix === undefined) return null;
      const r = await run(['ip', '-n', this.nsR, '-j', family, 'route', 'show', prefix]);
      return (JSON.parse(r.stdout.trim() || '[]') as unknown[])[0] ?? null;
    };
    return { v4: await show('-4', this.feed.v4.at(-1)), v6: await show('-6', this.feed.v6.at(-1)) };
  }

  /** Milliseconds since `epochMs` at which the receiver logged its first BGP session Established, or null. */
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
        // "2026-11-26 10:00:00.123 <TRACE> feed0: State changed to up"
        const m = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) .*feed\d*: State changed to up/.exec(line);
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
      for (const t of this.tunnels) for (const f of [`${t.ifR}.pid`, `${t.ifR}.log`]) rmSync(join('/run/wgbgp', f), { force: true });
      if (!keep) rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
