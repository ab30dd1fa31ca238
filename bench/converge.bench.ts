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
import { existsSync, mkdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { bench, describe } from 'vitest';
import { processAlive } from '#lab/netns';
import { netnsSupported } from '../test/lab/helpers/netns.js';
import { CLI, ConvergeLab, makeFeed, PROTO, tail, type Feed, type Receiver } from './lib/converge-lab.js';
import { netlinkVsIpBatch, type MicroResult } from './lib/netlink-micro.js';
import { cpuMs, fibSize, peakRssKb, type FibSize } from './lib/procfs.js';

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

// ---------------------------------------------------------------- phases

type Count = FibSize;
const PHASES = ['start', 'withdraw', 'reannounce', 'down'] as const;
type Phase = (typeof PHASES)[number];
const PHASE_LABEL: Record<Phase, string> = {
  start: 'start -> N routes in FIB',
  withdraw: 'withdraw (static off) -> 0',
  reannounce: 're-announce (static on) -> N',
  down: 'session down -> 0',
};

interface Sample {
  t: number;
  v4: number;
  v6: number;
  rx: number | null;
  wg: number | null;
}

interface PhaseResult {
  /** ms from the phase's trigger to the first poll from which R held the target; null: not reached. */
  ms: number | null;
  /** ms to the first poll that saw any of the change. */
  firstMs: number | null;
  /**
   * ms to the first poll that saw 99 % of the change. In most start phases the
   * last 144 of 100 000 routes reach either receiver's FIB 1.5–2 s after the
   * rest (F's TCP had no retransmission timeout: it is F's pace), which
   * makes `ms` bimodal; this one is not.
   */
  p99Ms: number | null;
  /** CPU ms spent in the phase (to completion) by the receiver and its wireguard-go. */
  cpuRx: number | null;
  cpuWg: number | null;
  /** The receiver's peak RSS (VmHWM, kB) when the phase completed: which phase set the peak. */
  hwmRx: number | null;
  exactChecks: number;
  error?: string;
}

const sum = (c: Count): number => c.v4 + c.v6;
const eq = (a: Count, b: Count): boolean => a.v4 === b.v4 && a.v6 === b.v6;

/**
 * Polls R's FIB size until the fed routes in it (size minus an offset of
 * other routes, calibrated by exact counts) equal `target`, and reports when
 * that first held for good. The clock starts when `trigger` is called, right
 * after the baseline is read.
 */
async function waitPhase(lab: ConvergeLab, from: Count, target: Count, timeoutMs: number, trigger: () => void): Promise<PhaseResult> {
  const up = sum(target) > sum(from);
  const base = fibSize(lab.anchorPid);
  let offset: Count = { v4: base.v4 - from.v4, v6: base.v6 - from.v6 };
  const cpu0 = { rx: cpuMs(lab.receiverPid) ?? 0, wg: cpuMs(lab.findWgPid()) ?? 0 };
  const t0 = performance.now();
  trigger();
  const samples: Sample[] = [];
  let exactChecks = 0;
  let lastExact = { at: 0, count: from };
  let lastChange = performance.now();
  for (;;) {
    const s = fibSize(lab.anchorPid);
    const t = performance.now();
    const prev = samples.at(-1);
    if (prev === undefined || prev.v4 !== s.v4 || prev.v6 !== s.v6) lastChange = t;
    samples.push({ t, ...s, rx: cpuMs(lab.receiverPid), wg: cpuMs(lab.findWgPid()) });
    const est = { v4: s.v4 - offset.v4, v6: s.v6 - offset.v6 };
    const reached = up ? est.v4 >= target.v4 && est.v6 >= target.v6 : est.v4 <= target.v4 && est.v6 <= target.v6;
    // A stall with the estimate short of the target: the offset may have moved (the agent adds its own routes).
    const stalled = t - lastChange > 1_000 && t - lastExact.at > 3_000;
    if (reached || stalled) {
      const exact = await lab.exactCount();
      const after = fibSize(lab.anchorPid);
      exactChecks++;
      lastExact = { at: performance.now(), count: exact };
      if (eq(exact, target) && eq(after, s)) {
        offset = { v4: s.v4 - exact.v4, v6: s.v6 - exact.v6 };
        break;
      }
      // Recalibrate (a lower bound when routes were still arriving: at worst one more check).
      offset = { v4: s.v4 - exact.v4, v6: s.v6 - exact.v6 };
    }
    const dead = lab.receiverPid !== null && !processAlive(lab.receiverPid);
    if (t - t0 > timeoutMs || dead) {
      return {
        ms: null,
        firstMs: null,
        p99Ms: null,
        cpuRx: null,
        cpuWg: null,
        hwmRx: null,
        exactChecks,
        error: `${dead ? `the receiver (pid ${lab.receiverPid}) exited after ${Math.round(t - t0)} ms` : `not reached in ${timeoutMs} ms`}: last exact count ${lastExact.count.v4} IPv4 + ${lastExact.count.v6} IPv6, want ${target.v4} + ${target.v6}`,
      };
    }
    await sleep(POLL_MS);
  }
  // With the verified offset: the first sample from which the fed count stayed at the target.
  const fed = (x: Sample): Count => ({ v4: x.v4 - offset.v4, v6: x.v6 - offset.v6 });
  let i = samples.length - 1;
  while (i > 0 && eq(fed(samples[i - 1]!), target)) i--;
  const done = samples[i]!;
  const first = samples.find((x) => {
    const c = fed(x);
    return up ? c.v4 > from.v4 || c.v6 > from.v6 : c.v4 < from.v4 || c.v6 < from.v6;
  });
  const most = samples.find((x) => Math.abs(sum(fed(x)) - sum(from)) >= 0.99 * Math.abs(sum(target) - sum(from)));
  if (TRACE) console.log(`trace ${lab.receiver} (ms:routes) ${samples.map((x) => `${Math.round(x.t - t0)}:${sum(fed(x))}`).join(' ')}`);
  return {
    ms: done.t - t0,
    firstMs: first === undefined ? null : first.t - t0,
    p99Ms: most === undefined ? null : most.t - t0,
    cpuRx: done.rx === null ? null : done.rx - cpu0.rx,
    cpuWg: done.wg === null ? null : done.wg - cpu0.wg,
    hwmRx: peakRssKb(lab.receiverPid),
    exactChecks,
  };
}

// ---------------------------------------------------------------- one receiver, one N

interface RunResult {
  receiver: Receiver;
  n: number;
  phases: Partial<Record<Phase, PhaseResult>>;
  /** Operator's tunnel setup before the clock starts (BIRD only; the agent's is inside its start time). */
  tunnelSetupMs: number;
  establishedMs: number | null;
  rssRx: number | null;
  rssWg: number | null;
  cpuTotalRx: number | null;
  cpuTotalWg: number | null;
  sample: unknown;
  error?: string;
}

async function runOne(receiver: Receiver, feed: Feed): Promise<RunResult> {
  const n = feed.v4.length + feed.v6.length;
  const all: Count = { v4: feed.v4.length, v6: feed.v6.length };
  const none: Count = { v4: 0, v6: 0 };
  const lab = new ConvergeLab(receiver, feed);
  active.add(lab);
  const result: RunResult = {
    receiver, n, phases: {}, tunnelSetupMs: 0, establishedMs: null,
    rssRx: null, rssWg: null, cpuTotalRx: null, cpuTotalWg: null, sample: null,
  };
  const timeout = 30_000 + n; // 1 ms per route on top of 30 s
  let failed = false;
  try {
    await lab.setUp();
    if (CPU_PROF !== undefined) mkdirSync(CPU_PROF, { recursive: true });
    const prep = await lab.prepareReceiver({ nodeFlags: AGENT_NODE_FLAGS, ...(CPU_PROF !== undefined ? { cpuProfDir: CPU_PROF } : {}) });
    result.tunnelSetupMs = prep.setupMs;

    const steps: { phase: Phase; from: Count; to: Count; trigger: () => void }[] = [
      { phase: 'start', from: none, to: all, trigger: () => void prep.start() },
      { phase: 'withdraw', from: all, to: none, trigger: () => void lab.birdc(lab.ctlF, 'disable', '"s*"') },
      { phase: 'reannounce', from: none, to: all, trigger: () => void lab.birdc(lab.ctlF, 'enable', '"s*"') },
      { phase: 'down', from: all, to: none, trigger: () => void lab.birdc(lab.ctlF, 'disable', 'to_r') },
    ];
    let epoch0 = 0;
    for (const step of steps) {
      // Let the previous phase settle (BIRD's kernel sync, the agent's batches) before the next trigger.
      await sleep(500);
      if (step.phase === 'start') epoch0 = Date.now();
      const r = await waitPhase(lab, step.from, step.to, timeout, step.trigger);
      result.phases[step.phase] = r;
      if (r.ms === null) {
        failed = true;
        result.error = `${step.phase}: ${r.error ?? 'failed'}`;
        break;
      }
      if (step.phase === 'start') {
        result.establishedMs = lab.establishedAt(epoch0);
        result.sample = await lab.sampleRoutes();
      }
    }
    result.rssRx = peakRssKb(lab.receiverPid);
    result.rssWg = peakRssKb(lab.findWgPid());
    result.cpuTotalRx = cpuMs(lab.receiverPid);
    result.cpuTotalWg = cpuMs(lab.findWgPid());
  } catch (e) {
    failed = true;
    result.error = e instanceof Error ? e.message : String(e);
  } finally {
    if (failed) {
      console.log(`converge ${receiver} N=${n}: ${result.error}\n${tail(lab.logs.receiver)}\n${tail(lab.logs.feeder)}\n${tail(lab.logs.wgR, 5)}`);
    }
    await lab.teardown(KEEP);
    active.delete(lab);
    if (KEEP) console.log(`converge ${receiver} N=${n}: files kept in ${lab.dir}`);
  }
  return result;
}


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
        for (const receiver of i % 2 === 0 ? RECEIVERS : [...RECEIVERS].reverse()) all.push(await runOne(receiver, feed));
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
