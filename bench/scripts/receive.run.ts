/**
 * In-process cost of the receive path with many full-table peers (issue 10):
 * UPDATEs are encoded once (not measured), then each is decoded from its
 * bytes, asked whether it is an End-of-RIB and applied to the RIB, as
 * Connection -> Session -> Agent.onUpdate -> Rib.applyUpdate do. P peers
 * send the same N prefixes, 500 per UPDATE. ORDER=win: every later peer
 * wins (a Loc-RIB change per prefix and peer); lose: later peers have longer
 * AS paths (their paths are decided against the best, nothing changes).
 * V6=1: IPv6 /56s in MP_REACH_NLRI; POLICY=1: an import policy with a
 * prefix-list term. Not a test: prints the CPU time of the loop, the GC
 * time in it and the heap allocated during it (v8.GCProfiler: the growth
 * between one GC's end and the next one's start, plus the growth to the end).
 *
 *   ORDER=lose N=100000 P=10 node --expose-gc node_modules/.bin/vitest run --config bench/scripts/vitest.config.ts bench/scripts/receive.run.ts
 */
import { GCProfiler, getHeapStatistics } from 'node:v8';
import { it } from 'vitest';
import { decodeMessage, encodeMessage } from '#bgp/wire/index';
import type { CodecContext, UpdateMessage } from '#bgp/wire/index';
import { AsPathSegmentType, MessageType, Origin } from '#bgp/wire/types';
import { Rib, isEndOfRib } from '#bgp/rib/index';
import { compileChain } from '#bgp/policy/engine';
import type { PolicyDefinitions } from '#config/types';

const N = Number(process.env['N'] ?? 100_000);
const P = Number(process.env['P'] ?? 10);
const V6 = process.env['V6'] === '1';
const POLICY = process.env['POLICY'] === '1';
const LOSE = process.env['ORDER'] === 'lose';
const PER_UPDATE = 500;
const CTX: CodecContext = { fourOctetAs: true, extendedMessages: true };

const DEFS: PolicyDefinitions = {
  prefixLists: { bogons: [{ prefix: '10.0.0.0/8', ge: 8, le: 32 }, { prefix: '192.168.0.0/16', ge: 16, le: 32 }, { prefix: 'fc00::/7', ge: 7, le: 128 }] },
  asPathLists: {},
  asSets: {},
  communityLists: {},
  policies: { in: { terms: [{ name: 'no-bogons', match: { prefixList: ['bogons'] }, set: {}, action: 'reject' }], default: 'accept' } },
};

function prefix(i: number): string {
  return V6 ? `2001:db8:${(i >>> 8).toString(16)}:${(i & 255).toString(16)}00::/56` : `${(i >>> 16) + 1}.${(i >>> 8) & 255}.${i & 255}.0/24`;
}

it(`receive: ${P} peers x ${N} ${V6 ? 'IPv6' : 'IPv4'} prefixes, later peers ${LOSE ? 'lose' : 'win'}${POLICY ? ', prefix-list import policy' : ''}`, () => {
  const rib = new Rib({ asn: 65001, routerId: '192.0.2.1', backups: true });
  for (let p = 0; p < P; p++) {
    const info = { id: `p${p}`, asn: 65100 + p, routerId: `192.0.2.${100 - p}`, address: `10.255.${p}.1`, localAddressV4: `10.255.${p}.0`, localAddressV6: `fd00:${p}::`, localLinkLocal: null, families: [{ afi: 1, safi: 1 }, { afi: 2, safi: 1 }], extendedNextHop: false };
    rib.addPeer(info, POLICY ? { import: compileChain(DEFS, ['in'], 65001, false, 'import'), export: null, softReconfiguration: false } : undefined);
  }
  const frames: [string, Buffer][] = [];
  for (let p = 0; p < P; p++) {
    for (let i = 0; i < N; i += PER_UPDATE) {
      const list: string[] = [];
      for (let k = i; k < Math.min(i + PER_UPDATE, N); k++) list.push(prefix(k));
      const asns = [65100 + p, ...(LOSE ? Array<number>(p).fill(64000) : []), 64512 + (i % 2000)];
      const attributes = { origin: Origin.Igp, asPath: [{ type: AsPathSegmentType.AsSequence, asns }] };
      const m: UpdateMessage = V6
        ? { type: MessageType.Update, withdrawn: [], attributes, nlri: [], mpReach: { afi: 2, safi: 1, nextHops: [`fd00:${p}::1`], nlri: list } }
        : { type: MessageType.Update, withdrawn: [], attributes: { ...attributes, nextHop: `10.255.${p}.1` }, nlri: list };
      frames.push([`p${p}`, encodeMessage(m, CTX)]);
    }
  }
  (globalThis as { gc?: () => void }).gc?.();
  const prof = new GCProfiler();
  const h0 = getHeapStatistics().used_heap_size;
  prof.start();
  const c0 = process.cpuUsage();
  let changes = 0;
  for (const [peer, frame] of frames) {
    const u = decodeMessage(frame, CTX).message as UpdateMessage;
    if (isEndOfRib(u) === null) changes += rib.applyUpdate(peer, u).length;
  }
  const cpu = process.cpuUsage(c0);
  const h1 = getHeapStatistics().used_heap_size;
  const stats = prof.stop().statistics;
  let gcUs = 0;
  let allocated = 0;
  let after = h0;
  for (const g of stats) {
    gcUs += g.cost;
    allocated += Math.max(0, g.beforeGC.heapStatistics.usedHeapSize - after);
    after = g.afterGC.heapStatistics.usedHeapSize;
  }
  allocated += Math.max(0, h1 - after);
  console.log(
    `decode + apply: ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s CPU, GC ${(gcUs / 1e6).toFixed(2)} s in ${stats.length}, ${(allocated / 1e6).toFixed(0)} MB allocated; ` +
      `${changes} Loc-RIB changes, ${rib.size} prefixes`,
  );
});
