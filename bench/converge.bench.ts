/**
 * Routes from a BGP peer into the kernel FIB: wgbgp against BIRD 2, same input,
 * same run (bench/lib/converge-lab.ts draws the lab).
 *
 * A feeder BIRD in namespace F holds N static routes (90 % IPv4 /24, 10 % IPv6
 * /48) and exports them over eBGP through a wireguard-go tunnel to the receiver
 * in namespace R: the wgbgp agent (which builds its tunnel itself), or BIRD 2
 * with `protocol kernel` behind the same wireguard-go + `wg` setup. Per
 * receiver and N, in a fresh pair of namespaces:
 *
 *   start       receiver process spawned -> all N routes in R's kernel
 *   withdraw    `birdc disable "s*"` on F (N withdrawals in UPDATEs) -> none left
 *   re-announce `birdc enable "s*"` on F (session stays up) -> all N back
 *   session down `birdc disable to_r` on F (Cease, session drop) -> none left
 *
 * R's FIB is polled through /proc/<pid>/net (fib_triestat, rt6_stats: a few ms
 * at 100k routes) every BENCH_POLL_MS, and every result is confirmed by an exact
 * `ip route show proto P root …` count; the completion time is the first poll
 * from which the count stays at the target. Also the receiver's CPU time
 * (utime+stime) and peak RSS (VmHWM), with and without its wireguard-go.
 *
 *   npm run bench                                   # build, then every bench/*.bench.ts
 *   BENCH_SIZES=10000 npm run bench -- bench/converge.bench.ts    # this file only, one size
 *
 * Every number is the median of BENCH_REPEAT runs (default 3; receivers take
 * turns going first), the start times of every run are printed too.
 *
 * Environment: BENCH_SIZES=10000,100000 (default), BENCH_RECEIVERS=wgbgp,bird,
 * BENCH_REPEAT=3, BENCH_POLL_MS=50, BENCH_CPU_PROF=DIR (agent runs with --cpu-prof into DIR),
 * BENCH_AGENT_NODE_FLAGS="--trace-gc …" (more node flags for the agent; its output lands in agent.log),
 * BENCH_TRACE=1 (print every phase's polled FIB counts, "ms:routes"),
 * BENCH_KEEP=1 (keep configs and logs under /tmp/wgbgp-bench-*), BENCH_MICRO=0
 * (skip the netlink-vs-ip-batch micro-benchmark). Needs root, bird, birdc,
 * wireguard-go, wg, and a built dist/ (npm run bench builds it).
 */
import { existsSync } from 'node:fs';
import { bench, describe } from 'vitest';
import { netnsSupported } from '../test/lab/helpers/netns.js';
import { CLI, ConvergeLab, makeFeed, PROTO, type Receiver } from './lib/converge-lab.js';
import { PHASE_LABEL, PHASES, runOne as runPhases, type Phase, type RunResult } from './lib/converge-run.js';
import { netlinkVsIpBatch, type MicroResult } from './lib/netlink-micro.js';

const SIZES = (process.env.BENCH_SIZES ?? '10000,100000').split(',').map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n > 0);
const RECEIVERS = (process.env.BENCH_RECEIVERS ?? 'wgbgp,bird').split(',').map((s) => s.trim()) as Receiver[];
const POLL_MS = Number(process.env.BENCH_POLL_MS ?? 50);
const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT ?? 3));
const CPU_PROF = process.env.BENCH_CPU_PROF;
const AGENT_NODE_FLAGS = (process.env.BENCH_AGENT_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '');
const TRACE = process.env.BENCH_TRACE === '1';
const KEEP = process.env.BENCH_KEEP === '1';
const MICRO = process.env.BENCH_MICRO !== '0';
const V6_SHARE = 0.1;

function missing(): string | null {
  if (!netnsSupported()) return 'needs root and `ip netns`';
  for (const bin of ['bird', 'birdc', 'wireguard-go', 'wg', 'ip']) {
    const found = process.env.PATH?.split(':').some((d) => existsSync(`${d}/${bin}`)) ?? false;
    if (!found) return `${bin} is not installed (scripts/setup.sh installs it)`;
  }
  if (!existsSync(CLI)) return `${CLI} is missing: npm run build`;
  for (const r of RECEIVERS) if (!(r in PROTO)) return `unknown receiver ${r} in BENCH_RECEIVERS`;
  return null;
}
const skip = missing();
if (skip !== null) console.log(`bench/converge: skipped: ${skip}`);

// ---------------------------------------------------------------- report

const active = new Set<ConvergeLab>();
/** Per N: the median result per receiver (`runs`), every single run (`all`), the micro-benchmark. */
const results: { n: number; runs: RunResult[]; all: RunResult[]; micro: MicroResult | null; microError?: string }[] = [];

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
      exactChecks: src.reduce((a, r) => a + (r.phases[p]?.exactChecks ?? 0), 0),
    };
  }
  const errors = rs.filter((r) => r.error !== undefined).map((r) => r.error!.split('\n')[0]);
  return {
    receiver: rs[0]!.receiver,
    n: rs[0]!.n,
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

const s = (ms: number | null | undefined): string => (ms === null || ms === undefined ? '—' : `${(ms / 1000).toFixed(2)} s`);
const cpu = (ms: number | null | undefined): string => (ms === null || ms === undefined ? '—' : `${(ms / 1000).toFixed(2)} s`);
const mb = (kb: number | null | undefined): string => (kb === null || kb === undefined ? '—' : `${(kb / 1024).toFixed(1)} MB`);
const add = (a: number | null | undefined, b: number | null | undefined): number | null =>
  a === null || a === undefined || b === null || b === undefined ? null : a + b;
const ratio = (a: number | null | undefined, b: number | null | undefined): string =>
  a === null || a === undefined || b === null || b === undefined || b === 0 ? '—' : `${(a / b).toFixed(2)}`;

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

function report(): string {
  const out: string[] = [];
  for (const { n, runs, all, micro, microError } of results) {
    const w = runs.find((r) => r.receiver === 'wgbgp');
    const b = runs.find((r) => r.receiver === 'bird');
    const n6 = Math.round(n * V6_SHARE);
    out.push(`\nconverge N=${n} (${n - n6} IPv4 /24 + ${n6} IPv6 /48) from BIRD over wireguard-go; median of ${REPEAT}, poll ${POLL_MS} ms`);
    const rows: string[][] = [];
    for (const p of PHASES) {
      const pw = w?.phases[p];
      const pb = b?.phases[p];
      rows.push([PHASE_LABEL[p], s(pw?.ms), s(pb?.ms), ratio(pw?.ms, pb?.ms)]);
      if (p === 'start') {
        rows.push(['  BGP Established (log)', s(w?.establishedMs), s(b?.establishedMs), '']);
        rows.push(['  first route in FIB', s(pw?.firstMs), s(pb?.firstMs), '']);
      } else {
        rows.push(['  first change in FIB', s(pw?.firstMs), s(pb?.firstMs), '']);
      }
      rows.push(['  99 % of the change in FIB', s(pw?.p99Ms), s(pb?.p99Ms), ratio(pw?.p99Ms, pb?.p99Ms)]);
      rows.push([`  CPU in phase (receiver)`, cpu(pw?.cpuRx), cpu(pb?.cpuRx), ratio(pw?.cpuRx, pb?.cpuRx)]);
      rows.push([`  CPU in phase (+ wireguard-go)`, cpu(add(pw?.cpuRx, pw?.cpuWg)), cpu(add(pb?.cpuRx, pb?.cpuWg)), ratio(add(pw?.cpuRx, pw?.cpuWg), add(pb?.cpuRx, pb?.cpuWg))]);
      rows.push([`  peak RSS at its end (receiver)`, mb(pw?.hwmRx), mb(pb?.hwmRx), ratio(pw?.hwmRx, pb?.hwmRx)]);
    }
    rows.push(['peak RSS (receiver)', mb(w?.rssRx), mb(b?.rssRx), ratio(w?.rssRx, b?.rssRx)]);
    rows.push(['peak RSS (+ wireguard-go)', mb(add(w?.rssRx, w?.rssWg)), mb(add(b?.rssRx, b?.rssWg)), ratio(add(w?.rssRx, w?.rssWg), add(b?.rssRx, b?.rssWg))]);
    rows.push(['CPU total (receiver)', cpu(w?.cpuTotalRx), cpu(b?.cpuTotalRx), ratio(w?.cpuTotalRx, b?.cpuTotalRx)]);
    rows.push(['CPU total (+ wireguard-go)', cpu(add(w?.cpuTotalRx, w?.cpuTotalWg)), cpu(add(b?.cpuTotalRx, b?.cpuTotalWg)), ratio(add(w?.cpuTotalRx, w?.cpuTotalWg), add(b?.cpuTotalRx, b?.cpuTotalWg))]);
    if (b !== undefined) rows.push(['(BIRD: operator tunnel setup before start)', '', s(b.tunnelSetupMs), '']);
    out.push(table(['', 'wgbgp', 'BIRD', 'wgbgp/BIRD'], rows));
    for (const r of runs) {
      const each = (p: Phase): string => all.filter((x) => x.receiver === r.receiver).map((x) => s(x.phases[p]?.ms).replace(' s', '')).join(' ');
      out.push(`  ${r.receiver} per run (s): start ${each('start')} | withdraw ${each('withdraw')} | re-announce ${each('reannounce')} | down ${each('down')}`);
      if (r.error) out.push(`  ${r.receiver}: FAILED: ${r.error}`);
      out.push(`  ${r.receiver} installed e.g. ${route(r.sample, 'v4')}, ${route(r.sample, 'v6')}`);
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
  // One line per N: the brief's summary.
  const rows = results.map(({ n, runs, micro }) => {
    const w = runs.find((r) => r.receiver === 'wgbgp');
    const b = runs.find((r) => r.receiver === 'bird');
    return [
      String(n),
      s(w?.phases.start?.ms), s(b?.phases.start?.ms), ratio(w?.phases.start?.ms, b?.phases.start?.ms),
      s(w?.phases.withdraw?.ms), s(b?.phases.withdraw?.ms), ratio(w?.phases.withdraw?.ms, b?.phases.withdraw?.ms),
      `${mb(w?.rssRx)} / ${mb(add(w?.rssRx, w?.rssWg))}`, `${mb(b?.rssRx)} / ${mb(add(b?.rssRx, b?.rssWg))}`,
      `${cpu(w?.cpuTotalRx)} / ${cpu(add(w?.cpuTotalRx, w?.cpuTotalWg))}`, `${cpu(b?.cpuTotalRx)} / ${cpu(add(b?.cpuTotalRx, b?.cpuTotalWg))}`,
      micro ? ratio(micro.netlinkMs, micro.ipBatchMs) : '—',
    ];
  });
  out.push('\nsummary (RSS and CPU: receiver / with its wireguard-go; CPU over all four phases)');
  out.push(
    table(
      ['N', 'wgbgp start', 'BIRD start', 'ratio', 'wgbgp withdraw', 'BIRD withdraw', 'ratio', 'wgbgp RSS', 'BIRD RSS', 'wgbgp CPU', 'BIRD CPU', 'netlink/ip-batch'],
      rows,
    ),
  );
  return out.join('\n');
}

const once = { iterations: 1, warmupIterations: 0, time: 0, warmupTime: 0 };

describe.skipIf(skip !== null)('routes from a BGP peer into the kernel FIB: wgbgp vs BIRD 2', () => {
  for (const n of SIZES) {
    bench(`converge ${n}`, async () => {
      const feed = makeFeed(n, V6_SHARE);
      const all: RunResult[] = [];
      for (let i = 0; i < REPEAT; i++) {
        // Take turns going first: a warm page cache or a busy neighbor should not favor one receiver.
        for (const receiver of i % 2 === 0 ? RECEIVERS : [...RECEIVERS].reverse()) all.push(await runPhases(receiver, feed, { pollMs: POLL_MS, trace: TRACE, keep: KEEP, nodeFlags: AGENT_NODE_FLAGS, active, ...(CPU_PROF !== undefined ? { cpuProfDir: CPU_PROF } : {}) }));
      }
      const runs = RECEIVERS.map((r) => aggregate(all.filter((x) => x.receiver === r)));
      const entry: (typeof results)[number] = { n, runs, all, micro: null };
      if (MICRO) {
        try {
          const micro: MicroResult[] = [];
          for (let i = 0; i < REPEAT; i++) micro.push(await netlinkVsIpBatch(makeFeed(n, 0).v4));
          const bad = micro.find((m) => !m.ok);
          entry.micro = {
            n,
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
      // Printed from the bench itself: vitest's bench mode does not show console output of afterAll.
      if (n === SIZES.at(-1)) console.log(report());
    }, once);
  }
});
