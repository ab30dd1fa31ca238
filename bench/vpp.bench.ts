/**
 * BGP in, VPP FIB out, against a REAL VPP (WGBGP_VPP_PREFIX = the install
 * prefix of a VPP built as in /work/shared/reference/vpp-build.md; without it
 * this file is skipped, visibly). bench/lib/vpp-lab.ts draws the lab: the
 * replay feeder sends the table over a wireguard-go tunnel to VPP's own
 * WireGuard tunnel, whose session VPP punts to the receiver's veth.
 *
 * Per size, in a fresh VPP and fresh namespaces each:
 *   floor   BIRD 2 without a kernel protocol over the same tunnel and punt
 *           path: Established → all N routes in BIRD's RIB. The feeder's own
 *           delivery time through this path.
 *   wgbgp   the agent with `dataplane: { wireguard: vpp, fib: vpp }`:
 *           Established → all N routes in VPP's FIB (table 0, polled with
 *           `vppctl show ip[6] fib summary` every BENCH_POLL_MS; the completion
 *           is the first poll at the final count, checked afterwards by an
 *           exact ip_route_dump of the fed prefixes).
 * Also: when the receiver's TCP acknowledged the table (the feeder's report),
 * the agent's CPU and peak RSS, VPP's CPU.
 *
 *   WGBGP_VPP_PREFIX=/opt/vpp-26.06 npm run bench -- bench/vpp.bench.ts
 *   WGBGP_VPP_PREFIX=/opt/vpp-26.06 BENCH_VPP_SIZES=1000000 npm run bench -- bench/vpp.bench.ts
 *
 * Environment: BENCH_VPP_SIZES=100000 (default), BENCH_VPP_RECEIVERS=floor,wgbgp,
 * BENCH_TABLE=synthetic (synthetic:N, the realistic table) | static (IPv4 /24s
 * only: synthetic:N,0), BENCH_REPEAT=1, BENCH_POLL_MS=50, BENCH_VPP_HEAP
 * (VPP's main heap; default 1G, 3G from 500 000 routes), BENCH_CPU_PROF=DIR
 * (the agent runs with --cpu-prof into DIR), BENCH_AGENT_NODE_FLAGS="--no-optimize-for-size …"
 * (more node flags for the agent; its output lands in agent.log), BENCH_VPP_KEEP_ON_STOP=0 (the agent
 * stops with keep-on-stop false: it removes its tunnel, routes and PIC tables), BENCH_KEEP=1 (keep the folder with
 * the logs), BENCH_TRACE=1 (print the polled FIB counts with VPP's and the agent's CPU and wait for a CPU), BENCH_JSON=PATH. Needs root, bird, birdc, wireguard-go, wg, ethtool
 * and a built dist/ (npm run bench builds it).
 */
import { existsSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { bench, describe } from 'vitest';
import { SystemClock } from '#lib/clock';
import { silentLogger } from '#lib/log';
import { readRouteDetails } from '#fib/vpp-writes';
import { fromVppPrefix, VppClient } from '#vpp/index';
import { netnsSupported } from '../test/lab/helpers/netns.js';
import { machineNotes, writeBenchJson } from './lib/json-out.js';
import { CLI, FEEDER_CLI, loadFeed, tail, type Feed } from './lib/converge-lab.js';
import { VPP_PREFIX, VppLab, type VppReceiver } from './lib/vpp-lab.js';

const list = (v: string): string[] => v.split(',').map((x) => x.trim()).filter((x) => x !== '');
const SIZES = list(process.env.BENCH_VPP_SIZES ?? '100000').map(Number).filter((n) => Number.isInteger(n) && n > 0);
const RECEIVERS = list(process.env.BENCH_VPP_RECEIVERS ?? 'floor,wgbgp') as VppReceiver[];
const TABLE = process.env.BENCH_TABLE ?? 'synthetic';
const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT ?? 1));
const POLL_MS = Number(process.env.BENCH_POLL_MS ?? 50);
const CPU_PROF = process.env.BENCH_CPU_PROF;
const AGENT_NODE_FLAGS = (process.env.BENCH_AGENT_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '');
const KEEP = process.env.BENCH_KEEP === '1';
const SETTLE_MS = 2_000;
const TRACE = process.env.BENCH_TRACE === '1';
const KEEP_ON_STOP = process.env.BENCH_VPP_KEEP_ON_STOP !== '0';

function missing(): string | null {
  if (!VPP_PREFIX) return 'WGBGP_VPP_PREFIX not set (the install prefix of a real VPP)';
  if (!existsSync(join(VPP_PREFIX, 'bin/vpp'))) return `${VPP_PREFIX}/bin/vpp is missing`;
  if (!netnsSupported()) return 'needs root and `ip netns`';
  for (const bin of ['bird', 'birdc', 'wireguard-go', 'wg', 'ip', 'ethtool']) {
    if (!(process.env.PATH?.split(':').some((d) => existsSync(`${d}/${bin}`)) ?? false)) return `${bin} is not installed`;
  }
  if (!existsSync(CLI) || !existsSync(FEEDER_CLI)) return 'dist/ is missing: npm run build';
  for (const r of RECEIVERS) if (r !== 'floor' && r !== 'wgbgp') return `unknown receiver ${r} in BENCH_VPP_RECEIVERS (floor, wgbgp)`;
  if (TABLE !== 'synthetic' && TABLE !== 'static') return `BENCH_TABLE ${TABLE}: synthetic or static here`;
  return null;
}
const skip = missing();
if (skip !== null) console.log(`bench/vpp: skipped: ${skip}`);

interface Run {
  receiver: VppReceiver;
  n: number;
  /** From the feeder's Established: its last UPDATE written, the table acknowledged by the receiver's TCP. */
  writtenMs: number | null;
  ackedMs: number | null;
  /** From Established: all N in VPP's FIB (wgbgp) or in BIRD's RIB (floor), as the first poll that saw them answered. */
  doneMs: number | null;
  /** When the last poll that saw fewer was asked: the completion lies between this and doneMs. */
  doneAfterMs?: number;
  /** From the receiver's start: the feeder's Established. */
  establishedMs: number | null;
  /** Exact count of the fed prefixes in VPP's FIB afterwards (wgbgp). */
  exact: number | null;
  cpuMs: number | null;
  rssKb: number | null;
  vppCpuMs: number | null;
  /** VPP's main thread runnable but waiting for a CPU, over the same stretch as vppCpuMs. */
  vppWaitMs: number | null;
  feederRate: number | null;
  /** keep-on-stop off: SIGTERM → exit, VPP's table 0 prefixes left beyond those before the agent (up to 20), PIC tables left (of 4). */
  stop?: { ms: number; left: string[]; picTables: number };
  error?: string;
}

const runs: Run[] = [];

async function feedFor(n: number): Promise<Feed> {
  return loadFeed(TABLE === 'static' ? `synthetic:${n},0` : `synthetic:${n}`);
}

/**
 * The fed prefixes in VPP's table 0: one ip_route_dump per family through
 * the project's own client, read in place. Done once the agent has stopped
 * (keep-on-stop: the routes stay): a dump of a full table keeps VPP's main
 * thread from answering anyone else for seconds, the agent's liveness ping too.
 */
async function exactCount(lab: VppLab, feed: Feed): Promise<number> {
  const fed = new Set([...feed.v4, ...feed.v6]);
  const client = await VppClient.connect({ socketPath: join(lab.dir, 'api.sock'), clientName: 'vpp-bench', log: silentLogger(), required: ['ip_route_dump'], clock: new SystemClock(), timeoutMs: 60_000 });
  try {
    let n = 0;
    for (const isIp6 of [false, true]) {
      await client.dumpRaw('ip_route_dump', { table: { table_id: 0, is_ip6: isIp6, name: '' } }, (buf, start, length) => {
        const r = readRouteDetails(buf, start, length);
        if (r !== null && r.paths.length > 0 && fed.has(fromVppPrefix(r.prefix))) n++;
      });
    }
    return n;
  } finally {
    await client.close();
  }
}

async function runOne(receiver: VppReceiver, feed: Feed): Promise<Run> {
  const n = feed.v4.length + feed.v6.length;
  const heap = process.env.BENCH_VPP_HEAP ?? (n >= 500_000 ? '3G' : '1G');
  const nodeFlags = [...AGENT_NODE_FLAGS, ...(CPU_PROF === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', CPU_PROF])];
  const lab = new VppLab(receiver, feed, { heap, nodeFlags, keepOnStop: KEEP_ON_STOP });
  const out: Run = { receiver, n, writtenMs: null, ackedMs: null, doneMs: null, establishedMs: null, exact: null, cpuMs: null, rssKb: null, vppCpuMs: null, vppWaitMs: null, feederRate: null };
  const timeoutMs = 120_000 + n / 5;
  try {
    await lab.setUp();
    const vpp0 = lab.vppCpuMs() ?? 0;
    const vppWait0 = lab.vppWaitMs() ?? 0;
    const t0 = await lab.startReceiver();
    let doneAt: number | null = null;
    let notBefore: number | null = null;
    if (receiver === 'floor') {
      for (;;) {
        let got = 0;
        try {
          got = lab.birdImported();
        } catch {
          // BIRD not up yet
        }
        if (got >= n) {
          doneAt = Date.now();
          break;
        }
        if (Date.now() - t0 > timeoutMs) throw new Error(`BIRD imported ${got} of ${n} in ${timeoutMs} ms\n${tail(lab.logs.receiver)}\n${tail(lab.logs.feeder)}`);
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    } else {
      /** at: when the poll's answer came; asked: when it was asked (VPP may answer late: busy with a dump). */
      const samples: { asked: number; at: number; count: number; vpp: number; vppWait: number; agent: number; agentWait: number }[] = [];
      let lastChange = Date.now();
      for (;;) {
        const asked = Date.now();
        const count = lab.fibCount() - lab.baseline;
        const at = Date.now();
        if (samples.length === 0 || samples.at(-1)!.count !== count) lastChange = at;
        samples.push({ asked, at, count, vpp: lab.vppCpuMs() ?? 0, vppWait: lab.vppWaitMs() ?? 0, agent: lab.receiverCpuMs() ?? 0, agentWait: lab.receiverWaitMs() ?? 0 });
        if (count >= n && at - lastChange >= SETTLE_MS) break;
        if (at - t0 > timeoutMs) throw new Error(`VPP's FIB held ${count} more entries than before, of ${n}, after ${timeoutMs} ms\n${tail(lab.logs.receiver)}`);
        if (!lab.vppAlive()) throw new Error(`VPP died\n${tail(lab.logs.vpp)}`);
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
      const final = samples.at(-1)!.count;
      const k = samples.findIndex((s) => s.count >= final);
      doneAt = samples[k]!.at;
      // The last poll that saw fewer: the routes were not all in when it was asked.
      if (k > 0) notBefore = samples[k - 1]!.asked;
      if (TRACE) {
        const from = lab.feederAcked()?.establishedAt ?? t0;
        // Per stretch between two changes of the count: VPP's and the agent's CPU share of it, and how
        // long their main threads waited for a CPU (+wait): on a shared box, time lost to everyone else.
        let prev = samples[0]!;
        const shown: string[] = [];
        for (const x of samples.slice(1)) {
          if (x.count === prev.count && x !== samples.at(-1)) continue;
          const dt = Math.max(1, x.at - prev.at);
          const pct = (a: number, b: number): number => Math.round((100 * (a - b)) / dt);
          shown.push(`${Math.round(x.at - from)}:${x.count}(vpp ${pct(x.vpp, prev.vpp)}%+wait ${pct(x.vppWait, prev.vppWait)}% agent ${pct(x.agent, prev.agent)}%+wait ${pct(x.agentWait, prev.agentWait)}%)`);
          prev = x;
        }
        console.log(`bench/vpp: VPP FIB entries, ms since Established:count(CPU since the previous, +wait: main thread waiting for a CPU): ${shown.join(' ')}`);
      }
    }
    out.cpuMs = lab.receiverCpuMs();
    out.rssKb = lab.receiverPeakRssKb();
    out.vppCpuMs = (lab.vppCpuMs() ?? 0) - vpp0;
    out.vppWaitMs = (lab.vppWaitMs() ?? 0) - vppWait0;
    if (receiver === 'wgbgp') {
      // With the agent gone: a second dump of a full table beside it keeps VPP's main thread from
      // answering its liveness ping (it reconnects). SIGKILL: the agent's SIGTERM with keep-on-stop
      // still deletes FLUSH_THRESHOLD-sized batches of its routes while it withdraws the session's
      // paths (seen: 91 808 of 100 000 left); with BENCH_CPU_PROF it must be SIGTERM (the profile).
      if (KEEP_ON_STOP) {
        await lab.stopReceiver(CPU_PROF === undefined ? 'SIGKILL' : 'SIGTERM');
        out.exact = await exactCount(lab, feed);
        if (out.exact !== n) out.error = `${out.exact} of the ${n} fed prefixes in VPP's FIB`;
      } else {
        // keep-on-stop off: the exact count first (the agent's liveness may suffer), then the agent's
        // stop takes its tunnel, routes (purgeInterface, one bulk) and PIC tables away.
        out.exact = await exactCount(lab, feed);
        if (out.exact !== n) out.error = `${out.exact} of the ${n} fed prefixes in VPP's FIB`;
        const t = Date.now();
        await lab.stopReceiver('SIGTERM');
        const summary = lab.vppctl('show', 'ip', 'fib', 'summary') + lab.vppctl('show', 'ip6', 'fib', 'summary');
        const extra = [...lab.fibPrefixes()].filter((x) => !lab.baselinePrefixes.has(x));
        out.stop = { ms: Date.now() - t, left: extra.slice(0, 20), picTables: (summary.match(/^wgbgp-pic(?:-backup)?,/gm) ?? []).length };
      }
    }
    // The feeder reports once the last octet is acknowledged; BIRD may have it all in its RIB a moment before.
    let acked = lab.feederAcked();
    for (let i = 0; acked === null && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 50));
      acked = lab.feederAcked();
    }
    if (acked !== null) {
      out.establishedMs = acked.establishedAt - t0;
      out.writtenMs = acked.writtenAt - acked.establishedAt;
      out.ackedMs = acked.ackedAt - acked.establishedAt;
      out.feederRate = acked.routesPerSecond;
      out.doneMs = doneAt - acked.establishedAt;
      if (notBefore !== null) out.doneAfterMs = notBefore - acked.establishedAt;
    } else {
      out.error = `no "acked" report from the feeder (done ${doneAt - t0} ms after the receiver's start)\n${tail(lab.logs.feeder, 8)}`;
    }
  } catch (err) {
    out.error = err instanceof Error ? err.message : String(err);
  } finally {
    await lab.teardown(KEEP);
    if (KEEP) console.log(`bench/vpp: kept ${lab.dir}`);
  }
  return out;
}

const s = (ms: number | null | undefined): string => (ms === null || ms === undefined ? '—' : `${(ms / 1000).toFixed(2)} s`);
const mb = (kb: number | null | undefined): string => (kb === null || kb === undefined ? '—' : `${(kb / 1024).toFixed(0)} MB`);

function report(): string {
  const lines: string[] = [];
  lines.push(`\nmachine: ${cpus().length} CPUs, ${Math.round(totalmem() / 2 ** 30)} GB, node ${process.version}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}; VPP ${VPP_PREFIX}`);
  for (const n of SIZES) {
    const of = (r: VppReceiver): Run[] => runs.filter((x) => x.n === n && x.receiver === r);
    const floor = of('floor');
    const agent = of('wgbgp');
    const col = (rs: Run[], f: (r: Run) => string): string => rs.map(f).join(' / ') || '—';
    lines.push(`\nvpp N=${n} (${TABLE}), replay feeder → wireguard-go → VPP WireGuard → punt; ${REPEAT} run(s) each (all shown)`);
    lines.push(`  feeder-only (floor: BIRD RIB, no FIB): Established → all in RIB ${col(floor, (r) => s(r.doneMs))}; table acked ${col(floor, (r) => s(r.ackedMs))}`);
    lines.push(
      `  wgbgp → VPP FIB: Established → all in VPP FIB ${col(agent, (r) => (r.doneAfterMs === undefined ? s(r.doneMs) : `${s(r.doneAfterMs).replace(' s', '')}–${s(r.doneMs)}`))} (= ${col(agent, (r) => (r.doneMs ? `${Math.round(n / (r.doneMs / 1000))}/s` : '—'))}); ` +
        `table acked ${col(agent, (r) => s(r.ackedMs))}; exact ${col(agent, (r) => String(r.exact ?? '—'))}`,
    );
    lines.push(`  agent CPU ${col(agent, (r) => s(r.cpuMs))}, peak RSS ${col(agent, (r) => mb(r.rssKb))}; VPP CPU ${col(agent, (r) => s(r.vppCpuMs))} (waiting for a CPU ${col(agent, (r) => s(r.vppWaitMs))}); start → Established ${col(agent, (r) => s(r.establishedMs))}`);
    if (agent.some((r) => r.stop !== undefined)) {
      lines.push(
        `  agent stop without keep-on-stop: ${col(agent, (r) => (r.stop ? `${s(r.stop.ms)}, table 0 entries left beyond those before it: ${JSON.stringify(r.stop.left)}, ${r.stop.picTables} PIC tables left` : '—'))}`,
      );
    }
    const best = (rs: Run[]): number | null => {
      const v = rs.map((r) => r.doneMs).filter((x): x is number => x !== null);
      return v.length === 0 ? null : Math.min(...v);
    };
    const f = best(floor);
    const a = best(agent);
    if (f !== null && a !== null) lines.push(`  end to end / feeder-only (best of each): ${(a / f).toFixed(2)} (target ≤ 1.5)`);
    for (const r of [...floor, ...agent]) if (r.error) lines.push(`  ${r.receiver}: ${r.error.split('\n').slice(0, 12).join('\n    ')}`);
  }
  return lines.join('\n');
}

describe.skipIf(skip !== null)('BGP → VPP FIB (real VPP)', () => {
  for (const n of SIZES) {
    bench(
      `vpp N=${n}`,
      async () => {
        const feed = await feedFor(n);
        for (let i = 0; i < REPEAT; i++) for (const r of RECEIVERS) runs.push(await runOne(r, feed));
        console.log(report());
        writeBenchJson('vpp', { machine: machineNotes(), table: TABLE, runs });
      },
      { iterations: 1, warmupIterations: 0, time: 0, warmupTime: 0 },
    );
  }
});
