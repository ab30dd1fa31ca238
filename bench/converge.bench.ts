/**
 * Routes from BGP peers into the kernel FIB: wgbgp against BIRD 2, same
 * feeder, same table, same run (bench/lib/converge-lab.ts draws the lab).
 *
 * Feeders in namespace F send the table over eBGP through wireguard-go tunnels
 * to the receiver in namespace R: the wgbgp agent (which builds its tunnels
 * itself), BIRD 2 with `protocol kernel` behind the same wireguard-go + `wg`
 * setup, and the floor: BIRD 2 without a kernel protocol (its own receive
 * into its RIB, the time set by the feeder and the tunnel). Per scenario
 * (N prefixes, P peers) and receiver, in a fresh pair of namespaces:
 *
 *   start        receiver process spawned -> all N routes in R's kernel (floor: P × N paths in BIRD's RIB)
 *   withdraw     every feeder withdraws the whole table (session stays up) -> none left
 *   re-announce  every feeder announces it again -> all N back
 *   session down every feeder ends its session (Cease) -> none left
 *
 * The feeder (BENCH_FEEDER) is the replay feeder by default (dist/replay/
 * feeder-cli.js: the table pre-encoded, written as fast as TCP takes it;
 * SIGUSR1/SIGUSR2 withdraw and re-announce, SIGTERM ends the session), or
 * BIRD 2 with the table as static routes (`birdc disable/enable "s*"`,
 * `disable "to_r*"`). The replay feeder is the default because BIRD as a
 * feeder was the bottleneck: 100 000 routes take BIRD ~3 s to send, the
 * replay feeder ~0.1 s, so with BIRD every receiver's time was mostly BIRD's.
 *
 * The table (BENCH_TABLE): `synthetic` (default: synthetic:N, the realistic
 * table of src/replay/synthetic.ts, prefix lengths everywhere in the address
 * space, 17.7 % IPv6, AS paths, shared attribute sets, communities), `static`
 * (the old feed: IPv4 /24s in 16.0.0.0/4, 10 % IPv6 /48s), or
 * `mrt:PATH[#PEER_INDEX]` (a TABLE_DUMP_V2 file; its size replaces
 * BENCH_SIZES). With P peers every feeder sends the same table with its own
 * AS (65002 + i) and next hop (its tunnel address).
 *
 * R's FIB is polled through /proc/<pid>/net (fib_triestat, rt6_stats: a few ms
 * at 100k routes) every BENCH_POLL_MS, minus an offset for the routes that are
 * not fed (connected, local, the agent's host routes), calibrated by exact
 * counts: a dump of `ip route show proto P` with each destination looked up
 * among the fed prefixes. The completion time is the first poll from which
 * the count stays at the target. The floor's RIB is polled through
 * `birdc show protocols all` (per-protocol import counters; they drop to 0
 * as soon as a session is down, so the floor's "session down" is when BIRD
 * noticed, not when its RIB was flushed). With several peers every peer
 * sends the same prefixes, so the FIB holds all N once one table is in: the
 * report adds when the receiver held all P tables (peers × N paths). Also the receiver's CPU
 * time (utime+stime) and peak RSS (VmHWM), with and without its
 * wireguard-go processes; and with the replay feeder, when R's TCP had
 * acknowledged the last feeder's last octet.
 *
 *   npm run bench                                   # build, then every bench/*.bench.ts
 *   BENCH_SIZES=10000 npm run bench -- bench/converge.bench.ts    # this file only, one size
 *   BENCH_SIZES=1000000 BENCH_PEERS=1 BENCH_REPEAT=1 BENCH_JSON=/tmp/bench.json npm run bench -- bench/converge.bench.ts
 *
 * Every number is the median of BENCH_REPEAT runs (default 3; receivers take
 * turns going first), the start times of every run are printed too.
 *
 * Environment: BENCH_SIZES=10000,100000 (default), BENCH_PEERS=1,10 (default;
 * a scenario with more than one peer runs at the largest size only, all sizes
 * with BENCH_PEERS_ALL_SIZES=1), BENCH_RECEIVERS=wgbgp,bird,floor,
 * BENCH_FEEDER=replay|bird, BENCH_TABLE=synthetic|static|mrt:PATH[#I],
 * BENCH_JSON=PATH (every result as JSON, with the machine notes), BENCH_PHASES=start,withdraw,reannounce,failover,down
 * (failover: with two peers or more, the one whose tunnel carries the most routes goes down; until none goes through it)
 * (a subset, in that order: `start` alone for a quick full-table figure),
 * BENCH_REPEAT=3, BENCH_POLL_MS=50, BENCH_CPU_PROF=DIR (agent runs with --cpu-prof into DIR),
 * BENCH_AGENT_NODE_FLAGS="--trace-gc …" (more node flags for the agent; its output lands in agent.log),
 * BENCH_TRACE=1 (print every phase's polled FIB counts, "ms:routes"),
 * BENCH_KEEP=1 (keep configs and logs under /tmp/wgbgp-bench-*), BENCH_MICRO=0
 * (skip the netlink-vs-ip-batch micro-benchmark). Needs root, bird, birdc,
 * wireguard-go, wg, and a built dist/ (npm run bench builds it).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { bench, describe } from 'vitest';
import { netnsSupported } from '../test/lab/helpers/netns.js';
import { machineNotes, writeBenchJson } from './lib/json-out.js';
import { CLI, ConvergeLab, FEEDER_CLI, loadFeed, makeFeed, RECEIVER_KINDS, type Feed, type FeederKind, type Receiver } from './lib/converge-lab.js';
import { PHASE_LABEL, PHASES, runOne as runPhases, type Phase, type RunResult } from './lib/converge-run.js';
import { netlinkVsIpBatch, type MicroResult } from './lib/netlink-micro.js';

const list = (v: string): string[] => v.split(',').map((x) => x.trim()).filter((x) => x !== '');
const TABLE = process.env.BENCH_TABLE ?? 'synthetic';
const MRT = TABLE !== 'synthetic' && TABLE !== 'static' ? TABLE : null;
const SIZES = list(process.env.BENCH_SIZES ?? '10000,100000').map(Number).filter((n) => Number.isInteger(n) && n > 0);
const PEERS = list(process.env.BENCH_PEERS ?? '1,10').map(Number).filter((n) => Number.isInteger(n) && n > 0);
const PEERS_ALL_SIZES = process.env.BENCH_PEERS_ALL_SIZES === '1';
const RECEIVERS = list(process.env.BENCH_RECEIVERS ?? 'wgbgp,bird,floor') as Receiver[];
const FEEDER = (process.env.BENCH_FEEDER ?? 'replay') as FeederKind;
const POLL_MS = Number(process.env.BENCH_POLL_MS ?? 50);
const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT ?? 3));
const CPU_PROF = process.env.BENCH_CPU_PROF;
const AGENT_NODE_FLAGS = (process.env.BENCH_AGENT_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '');
const TRACE = process.env.BENCH_TRACE === '1';
const KEEP = process.env.BENCH_KEEP === '1';
const MICRO = process.env.BENCH_MICRO !== '0';
const ONLY = list(process.env.BENCH_PHASES ?? PHASES.join(',')) as Phase[];

function missing(): string | null {
  if (!netnsSupported()) return 'needs root and `ip netns`';
  for (const bin of ['bird', 'birdc', 'wireguard-go', 'wg', 'ip']) {
    const found = process.env.PATH?.split(':').some((d) => existsSync(`${d}/${bin}`)) ?? false;
    if (!found) return `${bin} is not installed (scripts/setup.sh installs it)`;
  }
  if (!existsSync(CLI)) return `${CLI} is missing: npm run build`;
  if (FEEDER === 'replay' && !existsSync(FEEDER_CLI)) return `${FEEDER_CLI} is missing: npm run build`;
  if (FEEDER !== 'replay' && FEEDER !== 'bird') return `unknown feeder ${FEEDER} in BENCH_FEEDER (replay or bird)`;
  for (const r of RECEIVERS) if (!RECEIVER_KINDS.includes(r)) return `unknown receiver ${r} in BENCH_RECEIVERS (${RECEIVER_KINDS.join(', ')})`;
  for (const p of ONLY) if (!PHASES.includes(p)) return `unknown phase ${p} in BENCH_PHASES (${PHASES.join(', ')})`;
  return null;
}
const skip = missing();
if (skip !== null) console.log(`bench/converge: skipped: ${skip}`);

/** The scenarios: every size with one peer; more peers at the largest size (or all with BENCH_PEERS_ALL_SIZES=1). */
const SCENARIOS: { n: number; peers: number }[] = [];
for (const peers of PEERS) {
  for (const n of MRT !== null ? [0] : SIZES) {
    if (peers > 1 && !PEERS_ALL_SIZES && n !== Math.max(...SIZES)) continue;
    SCENARIOS.push({ n, peers });
  }
}

/** The feed of a scenario (n = 0: the MRT file's whole table). */
async function feedFor(n: number): Promise<Feed> {
  if (MRT !== null) return loadFeed(MRT);
  if (TABLE === 'static') return makeFeed(n, 0.1);
  return loadFeed(`synthetic:${n}`);
}

function machine(): Record<string, unknown> {
  let bird = 'unknown';
  try {
    bird = execFileSync('sh', ['-c', 'bird --version 2>&1'], { encoding: 'utf8' }).trim();
  } catch {
    // not installed: the bench is skipped anyway
  }
  const { loadavg: loadavgAtStart, ...notes } = machineNotes();
  return { ...notes, bird, loadavgAtStart };
}

// ---------------------------------------------------------------- report

const active = new Set<ConvergeLab>();
interface Scenario {
  /** Prefixes per peer. */
  n: number;
  v4: number;
  v6: number;
  peers: number;
  table: string;
  /** The median result per receiver (`runs`), every single run (`all`), the micro-benchmark. */
  runs: RunResult[];
  all: RunResult[];
  micro: MicroResult | null;
  microError?: string;
}
const results: Scenario[] = [];
const MACHINE = machine();

function median(xs: readonly (number | null | undefined)[]): number | null {
  const v = xs.filter((x): x is number => typeof x === 'number').sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 === 1 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

/** Medians over the runs that completed (all runs when none did); errors are kept. */
function aggregate(rs: RunResult[]): RunResult {
  const ok = rs.filter((r) => r.error === undefined);
  const src = ok.length > 0 ? ok : rs;
  const med = (f: (r: RunResult) => number | null | undefined): number | null => median(src.map(f));
  const phases: RunResult['phases'] = {};
  for (const p of PHASES) {
    if (!src.some((r) => r.phases[p] !== undefined)) continue;
    phases[p] = {
      ms: med((r) => r.phases[p]?.ms),
      firstMs: med((r) => r.phases[p]?.firstMs),
      p99Ms: med((r) => r.phases[p]?.p99Ms),
      cpuRx: med((r) => r.phases[p]?.cpuRx),
      cpuWg: med((r) => r.phases[p]?.cpuWg),
      hwmRx: med((r) => r.phases[p]?.hwmRx),
      residentRx: ((anon, file) => (anon === null || file === null ? null : { anon, file }))(
        med((r) => r.phases[p]?.residentRx?.anon),
        med((r) => r.phases[p]?.residentRx?.file),
      ),
      kernelMs: med((r) => r.phases[p]?.kernelMs),
      exactChecks: src.reduce((a, r) => a + (r.phases[p]?.exactChecks ?? 0), 0),
    };
  }
  const errors = rs.filter((r) => r.error !== undefined).map((r) => r.error!.split('\n')[0]);
  return {
    receiver: rs[0]!.receiver,
    n: rs[0]!.n,
    peers: rs[0]!.peers,
    feeder: rs[0]!.feeder,
    feederAckedMs: med((r) => r.feederAckedMs),
    feederRate: med((r) => r.feederRate),
    feederRssKb: med((r) => r.feederRssKb),
    allPathsMs: med((r) => r.allPathsMs),
    phases,
    tunnelSetupMs: med((r) => r.tunnelSetupMs) ?? 0,
    establishedMs: med((r) => r.establishedMs),
    rssRx: med((r) => r.rssRx),
    rssWg: med((r) => r.rssWg),
    cpuTotalRx: med((r) => r.cpuTotalRx),
    cpuTotalWg: med((r) => r.cpuTotalWg),
    sample: src[0]!.sample,
    ...(errors.length > 0 ? { error: `${errors.length} of ${rs.length} runs failed: ${errors.join('; ')}` } : {}),
  };
}

// Interrupted (Ctrl-C, SIGTERM) or orphaned (vitest's main process gone: the IPC channel closes):
// remove the namespaces and processes of the run in progress, then stop.
const abort = (code: number): void => {
  void Promise.allSettled([...active].map((l) => l.teardown(KEEP))).then(() => process.exit(code));
};
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => abort(130));
process.once('disconnect', () => {
  if (active.size > 0) abort(1);
});

type N = number | null | undefined;
const s = (ms: N): string => (ms === null || ms === undefined ? '—' : `${(ms / 1000).toFixed(2)} s`);
const cpu = s;
const mb = (kb: N): string => (kb === null || kb === undefined ? '—' : `${(kb / 1024).toFixed(1)} MB`);
const add = (a: N, b: N): number | null => (a === null || a === undefined || b === null || b === undefined ? null : a + b);
const ratio = (a: N, b: N): string => (a === null || a === undefined || b === null || b === undefined || b === 0 ? '—' : `${(a / b).toFixed(2)}`);

/** "16.1.95.0/24 via 10.255.0.1 dev cv-…r proto 201" from a sampled `ip -j route` entry. */
function route(sample: unknown, family: 'v4' | 'v6'): string {
  const r = (sample as Record<string, { dst?: string; gateway?: string; dev?: string; protocol?: string | number } | null> | null)?.[family];
  return r ? `${r.dst} via ${r.gateway ?? '-'} dev ${r.dev ?? '-'} proto ${r.protocol ?? '-'}` : '(none)';
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const LABEL: Record<Receiver, string> = { wgbgp: 'wgbgp', bird: 'BIRD', floor: 'floor (BIRD RIB)' };

function report(): string {
  const out: string[] = [];
  const m = MACHINE;
  out.push(`\nmachine: ${String(m.cpus)} CPUs (${String(m.cpuModel)}), ${String(m.memoryGB)} GB, kernel ${String(m.kernel)}, ${String(m.bird)}, node ${String(m.node)}; load average at start ${(m.loadavgAtStart as number[]).join(' ')}`);
  for (const sc of results) {
    const { n, peers, runs, all, micro, microError } = sc;
    const by = (r: Receiver): RunResult | undefined => runs.find((x) => x.receiver === r);
    const w = by('wgbgp');
    const b = by('bird');
    const f = by('floor');
    const feeder = runs[0]?.feeder ?? FEEDER;
    out.push(
      `\nconverge N=${n} (${sc.v4} IPv4 + ${sc.v6} IPv6, ${sc.table}) × ${peers} peer${peers > 1 ? 's' : ''}, ${feeder} feeder over wireguard-go; median of ${REPEAT}, poll ${POLL_MS} ms`,
    );
    const rows: string[][] = [];
    const row = (label: string, g: (r: RunResult | undefined) => N, fmt: (x: N) => string, floorToo = true): void => {
      rows.push([label, fmt(g(w)), fmt(g(b)), ratio(g(w), g(b)), floorToo ? fmt(g(f)) : '', floorToo ? ratio(g(w), g(f)) : '', floorToo ? ratio(g(b), g(f)) : '']);
    };
    for (const p of PHASES.filter((x) => ONLY.includes(x))) {
      // The failover phase runs only with two peers or more.
      if (!runs.some((r) => r.phases[p] !== undefined)) continue;
      row(PHASE_LABEL[p], (r) => r?.phases[p]?.ms, s);
      if (p === 'start') {
        row('  BGP Established (log)', (r) => r?.establishedMs, s);
        row('  first route in FIB (floor: RIB)', (r) => r?.phases[p]?.firstMs, s);
        if (feeder === 'replay') row('  table acknowledged by R (feeders)', (r) => r?.feederAckedMs, s);
        if (peers > 1) row(`  all ${peers} tables in the RIB (floor: start)`, (r) => (r?.receiver === 'floor' ? r.phases.start?.ms : r?.allPathsMs), s);
      } else {
        row('  first change', (r) => r?.phases[p]?.firstMs, s);
      }
      row('  99 % of the change', (r) => r?.phases[p]?.p99Ms, s);
      if (p === 'failover') row('  nexthop objects moved (kernel events)', (r) => r?.phases[p]?.kernelMs, s);
      row('  CPU in phase (receiver)', (r) => r?.phases[p]?.cpuRx, cpu);
      row('  CPU in phase (+ wireguard-go)', (r) => add(r?.phases[p]?.cpuRx, r?.phases[p]?.cpuWg), cpu);
      row('  peak RSS at its end (receiver)', (r) => r?.phases[p]?.hwmRx, mb);
      row('  resident at its end: private', (r) => r?.phases[p]?.residentRx?.anon, mb);
      row('  resident at its end: executable, libraries', (r) => r?.phases[p]?.residentRx?.file, mb);
    }
    row('peak RSS (receiver)', (r) => r?.rssRx, mb);
    row('peak RSS (+ wireguard-go)', (r) => add(r?.rssRx, r?.rssWg), mb);
    row('CPU total (receiver)', (r) => r?.cpuTotalRx, cpu);
    row('CPU total (+ wireguard-go)', (r) => add(r?.cpuTotalRx, r?.cpuTotalWg), cpu);
    if (feeder === 'replay') {
      const any = runs.find((r) => r.feederRate !== null);
      rows.push([`(replay feeder: ${any?.feederRate ?? '—'} routes/s per feeder, peak RSS ${mb(any?.feederRssKb)} each)`, '', '', '', '', '', '']);
    }
    if (b !== undefined) rows.push(['(BIRD: operator tunnel setup before start)', '', s(b.tunnelSetupMs), '', s(f?.tunnelSetupMs), '', '']);
    out.push(table(['', 'wgbgp', 'BIRD', 'wgbgp/BIRD', 'floor', 'wgbgp/floor', 'BIRD/floor'], rows));
    for (const r of runs) {
      const each = (p: Phase): string => all.filter((x) => x.receiver === r.receiver).map((x) => s(x.phases[p]?.ms).replace(' s', '')).join(' ');
      out.push(`  ${LABEL[r.receiver]} per run (s): start ${each('start')} | withdraw ${each('withdraw')} | re-announce ${each('reannounce')} | down ${each('down')}`);
      if (r.error) out.push(`  ${LABEL[r.receiver]}: FAILED: ${r.error}`);
      if (r.receiver !== 'floor') out.push(`  ${LABEL[r.receiver]} installed e.g. ${route(r.sample, 'v4')}, ${route(r.sample, 'v6')}`);
    }
    if (micro) {
      out.push(
        `netlink micro (${micro.n} IPv4 routes into an empty table, median of ${REPEAT}): routeBatch ${s(micro.netlinkMs)}, ip -batch ${s(micro.ipBatchMs)}, ` +
          `ratio ${ratio(micro.netlinkMs, micro.ipBatchMs)}${micro.ok ? '' : `  CHECK FAILED: ${micro.detail}`}`,
      );
    } else if (microError) {
      out.push(`netlink micro: failed: ${microError}`);
    }
  }
  // One line per scenario.
  const rows = results.map(({ n, peers, runs, micro }) => {
    const w = runs.find((r) => r.receiver === 'wgbgp');
    const b = runs.find((r) => r.receiver === 'bird');
    const f = runs.find((r) => r.receiver === 'floor');
    return [
      String(n), String(peers),
      s(f?.phases.start?.ms), s(w?.phases.start?.ms), s(b?.phases.start?.ms),
      ratio(w?.phases.start?.ms, f?.phases.start?.ms), ratio(b?.phases.start?.ms, f?.phases.start?.ms), ratio(w?.phases.start?.ms, b?.phases.start?.ms),
      peers > 1 ? s(w?.allPathsMs) : '', peers > 1 ? s(b?.allPathsMs) : '',
      s(w?.phases.withdraw?.ms), s(b?.phases.withdraw?.ms),
      `${mb(w?.rssRx)} / ${mb(add(w?.rssRx, w?.rssWg))}`, `${mb(b?.rssRx)} / ${mb(add(b?.rssRx, b?.rssWg))}`, mb(f?.rssRx),
      `${cpu(w?.cpuTotalRx)} / ${cpu(add(w?.cpuTotalRx, w?.cpuTotalWg))}`, `${cpu(b?.cpuTotalRx)} / ${cpu(add(b?.cpuTotalRx, b?.cpuTotalWg))}`,
      micro ? ratio(micro.netlinkMs, micro.ipBatchMs) : '—',
    ];
  });
  out.push('\nsummary (start: receiver spawned -> all N in the FIB, floor: in BIRD\'s RIB; RSS and CPU: receiver / with its wireguard-go; CPU over all four phases)');
  out.push(
    table(
      ['N', 'peers', 'floor start', 'wgbgp start', 'BIRD start', 'wgbgp/floor', 'BIRD/floor', 'wgbgp/BIRD', 'wgbgp all tables', 'BIRD all tables', 'wgbgp withdraw', 'BIRD withdraw', 'wgbgp RSS', 'BIRD RSS', 'floor RSS', 'wgbgp CPU', 'BIRD CPU', 'netlink/ip-batch'],
      rows,
    ),
  );
  return out.join('\n');
}

/** The results as JSON when asked for (bench/lib/json-out.ts); the path written, or undefined. */
function writeJson(): string | undefined {
  return writeBenchJson('converge', {
    machine: MACHINE,
    config: { feeder: FEEDER, table: TABLE, sizes: SIZES, peers: PEERS, receivers: RECEIVERS, phases: ONLY, repeat: REPEAT, pollMs: POLL_MS },
    scenarios: results.map((sc) => ({
      ...sc,
      ratios: {
        wgbgpToFloor: num(sc.runs, 'wgbgp', 'floor'),
        birdToFloor: num(sc.runs, 'bird', 'floor'),
        wgbgpToBird: num(sc.runs, 'wgbgp', 'bird'),
      },
    })),
  });
}

/** Start-time ratio of two receivers' medians, or null. */
function num(runs: RunResult[], a: Receiver, b: Receiver): number | null {
  const x = runs.find((r) => r.receiver === a)?.phases.start?.ms;
  const y = runs.find((r) => r.receiver === b)?.phases.start?.ms;
  return x === null || x === undefined || y === null || y === undefined || y === 0 ? null : Math.round((x / y) * 1000) / 1000;
}

const once = { iterations: 1, warmupIterations: 0, time: 0, warmupTime: 0 };

describe.skipIf(skip !== null)('routes from BGP peers into the kernel FIB: wgbgp vs BIRD 2, against the feeder-only floor', () => {
  let cached: { n: number; feed: Feed } | null = null;
  for (const [k, { n, peers }] of SCENARIOS.entries()) {
    bench(`converge ${n === 0 ? TABLE : n} × ${peers} peer${peers > 1 ? 's' : ''}`, async () => {
      if (cached?.n !== n) cached = { n, feed: await feedFor(n) };
      const feed = cached.feed;
      const all: RunResult[] = [];
      for (let i = 0; i < REPEAT; i++) {
        // Take turns going first: a warm page cache or a busy neighbor should not favor one receiver.
        for (const receiver of i % 2 === 0 ? RECEIVERS : [...RECEIVERS].reverse()) {
          all.push(
            await runPhases(receiver, feed, {
              feeder: FEEDER, peers, phases: ONLY, pollMs: POLL_MS, trace: TRACE, keep: KEEP, nodeFlags: AGENT_NODE_FLAGS, active,
              ...(CPU_PROF !== undefined ? { cpuProfDir: CPU_PROF } : {}),
            }),
          );
        }
      }
      const runs = RECEIVERS.map((r) => aggregate(all.filter((x) => x.receiver === r)));
      const size = feed.v4.length + feed.v6.length;
      const entry: Scenario = {
        n: size, v4: feed.v4.length, v6: feed.v6.length, peers,
        table: feed.table ?? 'static /24 + /48', runs, all, micro: null,
      };
      if (MICRO && peers === 1) {
        try {
          const micro: MicroResult[] = [];
          for (let i = 0; i < REPEAT; i++) micro.push(await netlinkVsIpBatch(makeFeed(Math.min(size, 1 << 20), 0).v4));
          const bad = micro.find((m) => !m.ok);
          entry.micro = {
            n: Math.min(size, 1 << 20),
            netlinkMs: median(micro.map((m) => m.netlinkMs)) ?? 0,
            ipBatchMs: median(micro.map((m) => m.ipBatchMs)) ?? 0,
            ok: bad === undefined,
            detail: bad?.detail ?? '',
          };
        } catch (e) {
          entry.microError = e instanceof Error ? e.message : String(e);
        }
      }
      results.push(entry);
      const written = writeJson();
      // Printed from the bench itself: vitest's bench mode does not show console output of afterAll.
      if (k === SCENARIOS.length - 1) {
        console.log(report());
        if (written !== undefined) console.log(`bench/converge: results written to ${written}`);
      }
    }, once);
  }
});
