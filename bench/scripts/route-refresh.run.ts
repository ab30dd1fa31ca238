/**
 * In-process cost of answering a ROUTE-REFRESH for a full table (issue 11):
 * 1 M IPv4 prefixes from one peer (100 per UPDATE, a few thousand attribute
 * sets), exported to a second peer (Rib.exportFull, the initial
 * advertisement), then that peer's Adj-RIB-Out sent again through
 * Rib.resendSteps in bursts of RESEND_STEP, as src/agent/refresh.ts does
 * (the UPDATEs are encoded and dropped: no socket). Prints the time of the
 * whole re-advertisement, its longest burst (what the event loop waits), the
 * UPDATE count against the initial advertisement's, and the heap growth.
 * Not a test and not `npm run bench`: run it alone on a quiet box,
 *   node --expose-gc node_modules/.bin/vitest run --config bench/scripts/vitest.config.ts bench/scripts/route-refresh.run.ts
 */
import { test } from 'vitest';
import { Rib } from '#bgp/rib/index';
import { RESEND_STEP } from '#agent/refresh';
import { encodeMessage } from '#bgp/wire/index';
import { AsPathSegmentType, MessageType, Origin } from '#bgp/wire/types';
import type { UpdateMessage } from '#bgp/wire/types';

const N = Number(process.env.PREFIXES ?? 1_000_000);
const PER_UPDATE = 100;

function feed(): UpdateMessage[] {
  const out: UpdateMessage[] = [];
  for (let u = 0; u < N / PER_UPDATE; u++) {
    const nlri: string[] = [];
    for (let k = 0; k < PER_UPDATE; k++) {
      const i = u * PER_UPDATE + k;
      nlri.push(`${1 + (i >>> 16)}.${(i >>> 8) & 255}.${i & 255}.0/24`);
    }
    const set = u % 4000;
    out.push({
      type: MessageType.Update,
      withdrawn: [],
      nlri,
      attributes: {
        origin: Origin.Igp,
        nextHop: '10.255.2.1',
        asPath: [{ type: AsPathSegmentType.AsSequence, asns: [65002, 3000 + (set % 500), 10000 + set] }],
        communities: [65002 * 65536 + (set % 3)],
      },
    });
  }
  return out;
}

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const heapMb = (): number => {
  gc();
  return Math.round(process.memoryUsage().heapUsed / 1e6);
};

test(`answering a ROUTE-REFRESH for ${N} prefixes`, () => {
  const rib = new Rib({ asn: 65001, routerId: '192.0.2.1' });
  const peer = (id: string, asn: number, n: number) => ({
    id,
    asn,
    routerId: `192.0.2.${n}`,
    address: `10.255.${n}.1`,
    localAddressV4: `10.255.${n}.0`,
    localAddressV6: null,
    localLinkLocal: null,
    families: [{ afi: 1, safi: 1 }],
    extendedNextHop: false,
  });
  rib.addPeer(peer('b', 65002, 2));
  rib.addPeer(peer('a', 65003, 3));
  for (const u of feed()) rib.applyUpdate('b', u);
  const ctx = { fourOctetAs: true };
  let t = performance.now();
  const initial = rib.exportFull('a');
  for (const u of initial) encodeMessage(u, ctx);
  const initialMs = performance.now() - t;
  const initialCount = initial.length;
  initial.length = 0;
  const before = heapMb();
  t = performance.now();
  const steps = rib.resendSteps('a', 1)!;
  let updates = 0;
  let longest = 0;
  let bursts = 0;
  let peakMb = 0;
  while (!steps.done) {
    const s = performance.now();
    const burst = steps.next(RESEND_STEP);
    for (const u of burst) encodeMessage(u, ctx);
    updates += burst.length;
    bursts++;
    longest = Math.max(longest, performance.now() - s);
    if (bursts % 16 === 0) peakMb = Math.max(peakMb, Math.round(process.memoryUsage().heapUsed / 1e6));
  }
  const resendMs = performance.now() - t;
  console.log(
    `route refresh of ${N} prefixes: initial advertisement ${Math.round(initialMs)} ms / ${initialCount} UPDATEs; ` +
      `re-advertisement ${Math.round(resendMs)} ms / ${updates} UPDATEs / ${steps.sent} prefixes in ${bursts} bursts, longest ${longest.toFixed(1)} ms; ` +
      `heap ${before} MB before, ${heapMb()} MB after (sampled peak ${peakMb} MB)`,
  );
});
