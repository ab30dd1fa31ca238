/**
 * In-process cost of the ten-peer start (issue 10, bench "ten peers × 100 k"):
 * P peers each send the same synthetic table (src/replay/synthetic.ts, the
 * bench's; each peer its own AS and next hop, encoded as the replay feeder
 * encodes it), their UPDATEs arriving interleaved a 64 KiB chunk per peer in
 * turn, as the sessions hand them over. Each UPDATE is decoded and applied
 * (Rib.applyUpdate); once 2 048 Loc-RIB changes wait (the agent's flush
 * threshold) they are exported to every peer at once (Rib.exportToPeers, as
 * ChangeSender does) and every UPDATE is encoded (Session.sendMany). The FIB
 * is not in it (bench/scripts/fib-path.run.ts). Not a test: prints the CPU
 * of each stage, the GC time and the heap allocated (v8.GCProfiler: growth
 * between one GC's end and the next one's start, plus the growth to the end),
 * and what went out. Run alone:
 *
 *   N=100000 P=10 node --expose-gc node_modules/.bin/vitest run --config bench/scripts/vitest.config.ts bench/scripts/ten-peers.run.ts
 *
 * PROFILE=file.cpuprofile writes a CPU profile of the loop, HEAP_PROFILE=file.heapprofile
 * a sampled allocation profile (collected objects included).
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session as Inspector } from 'node:inspector';
import { GCProfiler, getHeapStatistics } from 'node:v8';
import { it } from 'vitest';
import { decodeMessage, encodeMessage } from '#bgp/wire/index';
import type { CodecContext, UpdateMessage } from '#bgp/wire/index';
import { Rib, isEndOfRib, type LocRibChange } from '#bgp/rib/index';
import { encodeTable } from '#replay/feeder';
import { Random, parseSyntheticSpec, syntheticTable } from '#replay/synthetic';

const N = Number(process.env['N'] ?? 100_000);
const P = Number(process.env['P'] ?? 10);
const PROFILE = process.env['PROFILE'];
const HEAP_PROFILE = process.env['HEAP_PROFILE'];
/** Peers take turns in a new random order each round (as ten feeders' segments arrive), or always 0 to P-1 (ORDER=fixed: the first always wins). */
const FIXED = process.env['ORDER'] === 'fixed';
/** Changes that start a flush (the agent's threshold; its 10 ms debounce makes smaller ones when the receive is slow). */
const FLUSH = Number(process.env['FLUSH'] ?? 2048);
/** Octets of a peer's UPDATEs handed over per turn (a full 64 KiB read by default; CHUNK_KB=4: a slower stream, finer interleaving). */
const CHUNK = Number(process.env['CHUNK_KB'] ?? 64) * 1024;
const CHANGE_STEP = 1 << 16;
const CTX: CodecContext = { fourOctetAs: true, extendedMessages: false };

/** A peer's UPDATEs as the socket hands them over: whole messages in chunks of about 64 KiB. */
function chunksOf(writes: readonly Buffer[]): Buffer[][] {
  const out: Buffer[][] = [];
  let chunk: Buffer[] = [];
  let size = 0;
  for (const w of writes) {
    for (let o = 0; o < w.length; ) {
      const len = w.readUInt16BE(o + 16);
      chunk.push(w.subarray(o, o + len));
      size += len;
      o += len;
      if (size >= CHUNK) {
        out.push(chunk);
        chunk = [];
        size = 0;
      }
    }
  }
  if (chunk.length > 0) out.push(chunk);
  return out;
}

/** PROFILE: a CPU profile of the loop; HEAP_PROFILE: a sampled allocation profile, collected objects included (.heapprofile). */
async function profiler(): Promise<{ stop(): Promise<void> }> {
  if (PROFILE === undefined && HEAP_PROFILE === undefined) return { stop: async () => {} };
  const s = new Inspector();
  s.connect();
  const post = (method: string, params?: object): Promise<unknown> =>
    new Promise((resolve, reject) => s.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
  if (PROFILE !== undefined) {
    await post('Profiler.enable');
    await post('Profiler.start');
  }
  if (HEAP_PROFILE !== undefined) {
    await post('HeapProfiler.enable');
    await post('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  }
  return {
    stop: async () => {
      if (PROFILE !== undefined) writeFileSync(PROFILE, JSON.stringify(((await post('Profiler.stop')) as { profile: unknown }).profile));
      if (HEAP_PROFILE !== undefined) writeFileSync(HEAP_PROFILE, JSON.stringify(((await post('HeapProfiler.stopSampling')) as { profile: unknown }).profile));
      s.disconnect();
    },
  };
}

it(`ten-peer start: ${P} peers x ${N} synthetic prefixes, exported to every peer`, async () => {
  const spec = parseSyntheticSpec(`synthetic:${N}`)!;
  const table = syntheticTable(spec);
  const rib = new Rib({ asn: 65001, routerId: '10.255.255.1', backups: true });
  const names: string[] = [];
  const chunks: Buffer[][][] = [];
  for (let p = 0; p < P; p++) {
    const name = `n${p}`;
    names.push(name);
    rib.addPeer({
      id: name,
      asn: 65002 + p,
      routerId: `10.254.${p}.1`,
      address: `10.255.${p}.1`,
      localAddressV4: `10.255.${p}.0`,
      localAddressV6: `fd00:255:${p}::`,
      localLinkLocal: null,
      families: [
        { afi: 1, safi: 1 },
        { afi: 2, safi: 1 },
      ],
      extendedNextHop: false,
    });
    chunks.push(chunksOf(encodeTable(table, { localAsn: 65002 + p, nextHop4: `10.255.${p}.1`, nextHop6: `fd00:255:${p}::1` }).writes));
  }
  (globalThis as { gc?: () => void }).gc?.();
  const cpu = { receive: 0, export: 0, encode: 0 };
  const sent = { updates: 0, octets: 0, flushes: 0, changes: 0 };
  // DIGEST=1: a digest of what each peer was sent, to compare two versions of the code (not for timing).
  const digests = process.env['DIGEST'] === '1' ? names.map(() => createHash('sha256')) : null;
  let pending: LocRibChange[] = [];
  const usage = (): number => {
    const u = process.cpuUsage();
    return u.user + u.system;
  };
  const flush = (): void => {
    const t0 = usage();
    const changes = pending;
    pending = [];
    const updates = rib.exportToPeers(names, changes, CHANGE_STEP);
    const t1 = usage();
    updates.forEach((list, k) => {
      for (const u of list) {
        const bytes = encodeMessage(u, CTX);
        sent.octets += bytes.length;
        sent.updates++;
        digests?.[k]!.update(bytes);
      }
    });
    cpu.export += t1 - t0;
    cpu.encode += usage() - t1;
    sent.flushes++;
    sent.changes += changes.length;
  };
  const prof = await profiler();
  const gc = new GCProfiler();
  const h0 = getHeapStatistics().used_heap_size;
  gc.start();
  const c0 = usage();
  const turns = Math.max(...chunks.map((c) => c.length));
  const order = names.map((_, p) => p);
  const random = new Random(7);
  for (let t = 0; t < turns; t++) {
    if (!FIXED) {
      for (let i = order.length - 1; i > 0; i--) {
        const j = random.int(i + 1);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
    }
    for (const p of order) {
      const chunk = chunks[p]![t];
      if (chunk === undefined) continue;
      const r0 = usage();
      for (const frame of chunk) {
        const u = decodeMessage(frame, CTX).message as UpdateMessage;
        if (isEndOfRib(u) !== null) continue;
        // As ChangeQueue.push queues them (an index loop).
        const changes = rib.applyUpdate(names[p]!, u);
        for (let i = 0; i < changes.length; i++) pending.push(changes[i]!);
      }
      cpu.receive += usage() - r0;
      if (pending.length >= FLUSH) flush();
    }
  }
  if (pending.length > 0) flush();
  const total = usage() - c0;
  const h1 = getHeapStatistics().used_heap_size;
  const stats = gc.stop().statistics;
  await prof.stop();
  let gcUs = 0;
  let allocated = 0;
  let after = h0;
  for (const g of stats) {
    gcUs += g.cost;
    allocated += Math.max(0, g.beforeGC.heapStatistics.usedHeapSize - after);
    after = g.afterGC.heapStatistics.usedHeapSize;
  }
  allocated += Math.max(0, h1 - after);
  const s = (us: number): string => `${(us / 1e6).toFixed(2)} s`;
  console.log(
    `CPU ${s(total)} (receive ${s(cpu.receive)}, export ${s(cpu.export)}, encode ${s(cpu.encode)}), GC ${s(gcUs)} in ${stats.length}, ` +
      `${(allocated / 1e6).toFixed(0)} MB allocated; ${sent.changes} Loc-RIB changes in ${sent.flushes} flushes, ` +
      `${sent.updates} UPDATEs (${(sent.octets / 1e6).toFixed(1)} MB) sent, ${rib.size} prefixes`,
  );
  if (digests !== null) console.log(`sent to each peer, sha256: ${createHash('sha256').update(digests.map((d) => d.digest('hex')).join()).digest('hex')}`);
});
