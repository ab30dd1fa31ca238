/**
 * One receiver, one feed, through the phases of bench/converge.bench.ts:
 * start (receiver spawned -> all N in its kernel FIB), withdraw, re-announce,
 * session down. Shared by the bench and the CI regression guard
 * (test/bench/guard.test.ts).
 *
 * The `floor` receiver (BIRD without a kernel protocol) goes through the same
 * phases with its RIB counted instead of a FIB: peers × N paths imported.
 */
import { mkdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { processAlive } from '#lab/netns';
import { ConvergeLab, tail, type Feed, type FeederKind, type Receiver } from './converge-lab.js';
import { cpuMs, fibSize, peakRssKb, residentKb, type FibSize } from './procfs.js';

export interface RunOptions {
  /** FIB poll interval (BENCH_POLL_MS). */
  pollMs?: number;
  /** Print every phase's polled FIB counts. */
  trace?: boolean;
  /** Keep configs and logs. */
  keep?: boolean;
  /** More node flags for the agent. */
  nodeFlags?: readonly string[];
  /** The agent runs with --cpu-prof into this folder. */
  cpuProfDir?: string;
  /** The phases to run, in their order (default: all four). */
  phases?: readonly Phase[];
  /** Labs in progress, for an interrupted run's cleanup. */
  active?: Set<ConvergeLab>;
  /** The feeder: BIRD with static routes (default) or the replay feeder. */
  feeder?: FeederKind;
  /** Feeders, each over its own tunnel with the whole table (default 1). */
  peers?: number;
}

// ---------------------------------------------------------------- phases

export type Count = FibSize;
export const PHASES = ['start', 'withdraw', 'reannounce', 'failover', 'down'] as const;
export type Phase = (typeof PHASES)[number];
export const PHASE_LABEL: Record<Phase, string> = {
  start: 'start -> N routes in FIB',
  withdraw: 'withdraw all -> 0',
  reannounce: 're-announce all -> N',
  failover: 'one peer down -> none via its tunnel',
  down: 'session down -> 0',
};

/**
 * The failover phase (two peers or more carrying the same table): the
 * session of the peer whose tunnel carries the most routes ends, and the
 * clock runs until no route of the receiver goes through that tunnel
 * (issue 10's failover clock: from the session declared down until no FIB
 * entry points at it). The other peers' paths take over; the FIB keeps N.
 */
export async function waitFailover(lab: ConvergeLab, timeoutMs: number, opts: RunOptions = {}): Promise<PhaseResult> {
  const POLL_MS = opts.pollMs ?? 50;
  const counts = lab.tunnels.map((_t, i) => lab.routesVia(i));
  const dead = counts.indexOf(Math.max(...counts));
  const before = counts[dead]!;
  const fail = (error: string): PhaseResult => ({ ms: null, firstMs: null, p99Ms: null, cpuRx: null, cpuWg: null, hwmRx: null, exactChecks: 0, error });
  if (before === 0) return fail(`no route goes through any tunnel (counts ${counts.join(', ')}): nothing to fail over`);
  // A receiver that routes through nexthop objects (the agent) moves its routes by replacing
  // the objects on the dead tunnel: the kernel's own timestamps of those replaces give the
  // failover time, where a poll (a walk over every route, ~1 s at 1 M) cannot resolve it.
  const ids = new Set(lab.nexthopIdsVia(dead));
  const monitor = ids.size > 0 ? lab.monitorNexthops() : null;
  if (monitor !== null) await monitor.ready;
  const cpu0 = { rx: cpuMs(lab.receiverPid) ?? 0, wg: lab.wgCpuMs() ?? 0 };
  const wall0 = Date.now();
  const t0 = performance.now();
  lab.sessionDown(dead);
  let firstMs: number | null = null;
  let p99Ms: number | null = null;
  const trace: string[] = [];
  for (;;) {
    const left = lab.routesVia(dead);
    const t = performance.now() - t0;
    if (opts.trace) trace.push(`${Math.round(t)}:${left}`);
    if (firstMs === null && left < before) firstMs = t;
    if (p99Ms === null && left <= before * 0.01) p99Ms = t;
    if (left === 0) {
      if (opts.trace) console.log(`trace ${lab.receiver} failover of tunnel ${dead} (ms:routes via it) ${trace.join(' ')}`);
      const cpu = { rx: cpuMs(lab.receiverPid), wg: lab.wgCpuMs() };
      let kernelMs: number | null = null;
      if (monitor !== null) {
        // Every object that was on the dead tunnel replaced or deleted: the last of them is the moment.
        const waiting = new Set(ids);
        let last = wall0;
        for (const e of await monitor.stop()) if (e.at >= wall0 && waiting.delete(e.id)) last = e.at;
        kernelMs = waiting.size === 0 ? last - wall0 : null;
        if (opts.trace) console.log(`trace ${lab.receiver} failover: ${ids.size - waiting.size} of ${ids.size} nexthop objects on the dead tunnel changed, the last at ${last - wall0} ms`);
      }
      return { ms: t, firstMs, p99Ms, cpuRx: cpu.rx === null ? null : cpu.rx - cpu0.rx, cpuWg: cpu.wg === null ? null : cpu.wg - cpu0.wg, hwmRx: peakRssKb(lab.receiverPid), residentRx: residentKb(lab.receiverPid), exactChecks: 0, kernelMs };
    }
    if (t > timeoutMs) {
      await monitor?.stop();
      return fail(`${left} of ${before} routes still through tunnel ${dead} after ${timeoutMs} ms`);
    }
    await sleep(POLL_MS);
  }
}

interface Sample {
  t: number;
  v4: number;
  v6: number;
  rx: number | null;
  wg: number | null;
}

export interface PhaseResult {
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
  /** What the receiver had resident when the phase completed: private (anonymous) and file-backed (its executable, libraries). */
  residentRx?: { anon: number; file: number } | null;
  exactChecks: number;
  /**
   * Failover only, for a receiver with nexthop objects: ms until the kernel
   * had replaced (or deleted) the last object on the dead tunnel, from its own
   * event timestamps (`ip monitor nexthop`); the poll then confirms that no
   * route goes through the tunnel. Null: not known (no objects, or not all seen).
   */
  kernelMs?: number | null;
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
export async function waitPhase(lab: ConvergeLab, from: Count, target: Count, timeoutMs: number, trigger: () => void, opts: RunOptions = {}): Promise<PhaseResult> {
  const POLL_MS = opts.pollMs ?? 50;
  const TRACE = opts.trace ?? false;
  const up = sum(target) > sum(from);
  const base = fibSize(lab.anchorPid);
  let offset: Count = { v4: base.v4 - from.v4, v6: base.v6 - from.v6 };
  const cpu0 = { rx: cpuMs(lab.receiverPid) ?? 0, wg: lab.wgCpuMs() ?? 0 };
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
    samples.push({ t, ...s, rx: cpuMs(lab.receiverPid), wg: lab.wgCpuMs() });
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
    residentRx: residentKb(lab.receiverPid),
    exactChecks,
  };
}

/**
 * The floor's phase: polls the receiving BIRD's imported-route counters (no
 * kernel protocol) until they equal `target` paths.
 */
export async function waitRib(lab: ConvergeLab, target: number, timeoutMs: number, trigger: () => void, opts: RunOptions = {}): Promise<PhaseResult> {
  const POLL_MS = Math.max(opts.pollMs ?? 50, 20);
  const cpu0 = { rx: cpuMs(lab.receiverPid) ?? 0, wg: lab.wgCpuMs() ?? 0 };
  const t0 = performance.now();
  trigger();
  const samples: { t: number; n: number }[] = [];
  let from: number | null = null;
  for (;;) {
    let n: number | null = null;
    try {
      n = lab.ribCount();
    } catch {
      // BIRD still starting: no control socket yet
    }
    const t = performance.now();
    if (n !== null) {
      from ??= n;
      samples.push({ t, n });
      if (n === target) break;
    }
    const dead = lab.receiverPid !== null && !processAlive(lab.receiverPid);
    if (t - t0 > timeoutMs || dead) {
      return {
        ms: null, firstMs: null, p99Ms: null, cpuRx: null, cpuWg: null, hwmRx: null, exactChecks: 0,
        error: `${dead ? `the receiver (pid ${lab.receiverPid}) exited` : `not reached in ${timeoutMs} ms`}: BIRD's RIB holds ${samples.at(-1)?.n ?? '?'} routes, want ${target}`,
      };
    }
    await sleep(POLL_MS);
  }
  const done = samples.at(-1)!;
  const start = from ?? 0;
  const first = samples.find((x) => x.n !== start);
  const most = samples.find((x) => Math.abs(x.n - start) >= 0.99 * Math.abs(target - start));
  if (opts.trace === true) console.log(`trace ${lab.receiver} (ms:routes) ${samples.map((x) => `${Math.round(x.t - t0)}:${x.n}`).join(' ')}`);
  const rx = cpuMs(lab.receiverPid);
  const wg = lab.wgCpuMs();
  return {
    ms: done.t - t0,
    firstMs: first === undefined ? null : first.t - t0,
    p99Ms: most === undefined ? null : most.t - t0,
    cpuRx: rx === null ? null : rx - cpu0.rx,
    cpuWg: wg === null ? null : wg - cpu0.wg,
    hwmRx: peakRssKb(lab.receiverPid),
    residentRx: residentKb(lab.receiverPid),
    exactChecks: 0,
  };
}

/** Polls the receiver's paths from all peers until `target`; ms since `epochMs`, or null at the timeout. */
async function allPaths(lab: ConvergeLab, target: number, epochMs: number, timeoutMs: number): Promise<number | null> {
  for (;;) {
    const t = Date.now();
    if ((await lab.ribPaths()) === target) return t - epochMs;
    if (t - epochMs > timeoutMs || (lab.receiverPid !== null && !processAlive(lab.receiverPid))) return null;
    await sleep(250);
  }
}

// ---------------------------------------------------------------- one receiver, one N

export interface RunResult {
  receiver: Receiver;
  /** Prefixes per peer. */
  n: number;
  peers: number;
  feeder: FeederKind;
  /**
   * Replay feeder: when the last feeder's table was acknowledged by R's TCP,
   * ms after the receiver was spawned (the start phase's clock), and the
   * feeders' mean routes/s from first UPDATE to acknowledgement.
   */
  feederAckedMs: number | null;
  feederRate: number | null;
  /**
   * More than one peer: ms from the receiver's spawn until it held every
   * peer's whole table (peers × N paths: wgbgp's Adj-RIB-In over its control
   * socket, BIRD's import counters), polled every 250 ms during the start
   * phase. With the same prefixes from every peer, the FIB holds all N as soon
   * as one peer's table is in: this is the time the rest took.
   */
  allPathsMs: number | null;
  /** Replay feeder: the largest peak RSS (kB) of one feeder process (each holds and encodes the whole table). */
  feederRssKb: number | null;
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

export async function runOne(receiver: Receiver, feed: Feed, opts: RunOptions = {}): Promise<RunResult> {
  const KEEP = opts.keep ?? false;
  const CPU_PROF = opts.cpuProfDir;
  const wanted = new Set<Phase>(opts.phases ?? PHASES);
  const n = feed.v4.length + feed.v6.length;
  const all: Count = { v4: feed.v4.length, v6: feed.v6.length };
  const none: Count = { v4: 0, v6: 0 };
  const feeder = opts.feeder ?? 'bird';
  const peers = Math.max(1, opts.peers ?? 1);
  const lab = new ConvergeLab(receiver, feed, { feeder, peers });
  opts.active?.add(lab);
  const result: RunResult = {
    receiver, n, peers, feeder, feederAckedMs: null, feederRate: null, feederRssKb: null, allPathsMs: null, phases: {}, tunnelSetupMs: 0, establishedMs: null,
    rssRx: null, rssWg: null, cpuTotalRx: null, cpuTotalWg: null, sample: null,
  };
  const timeout = 30_000 + n * peers; // 1 ms per route on top of 30 s
  let failed = false;
  try {
    await lab.setUp();
    if (CPU_PROF !== undefined) mkdirSync(CPU_PROF, { recursive: true });
    const prep = await lab.prepareReceiver({ nodeFlags: opts.nodeFlags ?? [], ...(CPU_PROF !== undefined ? { cpuProfDir: CPU_PROF } : {}) });
    result.tunnelSetupMs = prep.setupMs;

    const steps: { phase: Phase; from: Count; to: Count; trigger: () => void }[] = [
      { phase: 'start', from: none, to: all, trigger: () => void prep.start() },
      { phase: 'withdraw', from: all, to: none, trigger: () => lab.withdrawAll() },
      { phase: 'reannounce', from: none, to: all, trigger: () => lab.announceAll() },
      // Only where another peer has the same table (and a kernel FIB to look at).
      ...(peers > 1 && receiver !== 'floor' ? [{ phase: 'failover' as const, from: all, to: all, trigger: () => undefined }] : []),
      { phase: 'down', from: all, to: none, trigger: () => lab.sessionsDown() },
    ];
    let epoch0 = 0;
    for (const step of steps.filter((x) => wanted.has(x.phase))) {
      // Let the previous phase settle (BIRD's kernel sync, the agent's batches) before the next trigger.
      await sleep(500);
      if (step.phase === 'start') epoch0 = Date.now();
      let paths: Promise<number | null> | null = null;
      if (step.phase === 'start' && peers > 1 && receiver !== 'floor') paths = allPaths(lab, n * peers, epoch0, timeout);
      const r =
        step.phase === 'failover'
          ? await waitFailover(lab, timeout, opts)
          : receiver === 'floor'
            ? await waitRib(lab, (step.to.v4 + step.to.v6) * peers, timeout, step.trigger, opts)
            : await waitPhase(lab, step.from, step.to, timeout, step.trigger, opts);
      result.phases[step.phase] = r;
      if (paths !== null) result.allPathsMs = r.ms === null ? null : await paths;
      if (r.ms === null) {
        failed = true;
        result.error = `${step.phase}: ${r.error ?? 'failed'}`;
        break;
      }
      if (step.phase === 'start') {
        result.establishedMs = lab.establishedAt(epoch0);
        result.sample = await lab.sampleRoutes();
        if (feeder === 'replay') {
          // The feeders log "acked" once R's TCP acknowledged their last octet: by now, or very soon after.
          for (let k = 0; k < 100 && lab.feederAcked(epoch0) === null; k++) await sleep(50);
          const acked = lab.feederAcked(epoch0);
          result.feederAckedMs = acked?.ackedMs ?? null;
          result.feederRate = acked?.routesPerSecond ?? null;
          const rss = lab.feederPids.map((p) => peakRssKb(p)).filter((x): x is number => x !== null);
          result.feederRssKb = rss.length === 0 ? null : Math.max(...rss);
        }
      }
    }
    result.rssRx = peakRssKb(lab.receiverPid);
    result.rssWg = lab.wgPeakRssKb();
    result.cpuTotalRx = cpuMs(lab.receiverPid);
    result.cpuTotalWg = lab.wgCpuMs();
  } catch (e) {
    failed = true;
    result.error = e instanceof Error ? e.message : String(e);
  } finally {
    if (failed) {
      console.log(`converge ${receiver} N=${n} peers=${peers} feeder=${feeder}: ${result.error}\n${tail(lab.logs.receiver)}\n${tail(lab.logs.feeder)}\n${tail(lab.logs.wgR, 5)}`);
    }
    await lab.teardown(KEEP);
    opts.active?.delete(lab);
    if (KEEP) console.log(`converge ${receiver} N=${n}: files kept in ${lab.dir}`);
  }
  return result;
}


