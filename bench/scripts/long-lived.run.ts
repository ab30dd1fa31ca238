/**
 * In-process cost of RFC 9494 long-lived graceful restart for a full table
 * (issue 11): 1 M IPv4 prefixes from one peer (100 per UPDATE, 4 000
 * attribute sets), its session gone (Rib.retainStale), then the restart time
 * over (Rib.longLivedStale: LLGR_STALE on every path), then the long-lived
 * stale time over (Rib.sweepStale). Prints the time of each step, the
 * attribute sets and path records before and after (the long-lived twins
 * replace the sets: no object per route), and the heap growth of the marking.
 * Not a test and not `npm run bench`: run it alone on a quiet box,
 *   node --expose-gc node_modules/.bin/vitest run --config bench/scripts/vitest.config.ts bench/scripts/long-lived.run.ts
 */
import { test } from 'vitest';
import { Rib } from '#bgp/rib/index';
import { AFI_IPV4, AsPathSegmentType, MessageType, Origin } from '#bgp/wire/types';

const N = Number(process.env.PREFIXES ?? 1_000_000);
const PER_UPDATE = 100;
const gc = (globalThis as { gc?: () => void }).gc;

test('long-lived stale marking of a full table', () => {
  const rib = new Rib({ asn: 65001, routerId: '192.0.2.1' });
  rib.addPeer({ id: 'a', asn: 65002, routerId: '10.0.0.2', address: '10.255.2.1', localAddressV4: '10.255.2.0', localAddressV6: null, localLinkLocal: null, families: [{ afi: 1, safi: 1 }], extendedNextHop: false });
  for (let u = 0; u < N / PER_UPDATE; u++) {
    const nlri: string[] = [];
    for (let k = 0; k < PER_UPDATE; k++) {
      const i = u * PER_UPDATE + k;
      nlri.push(`${1 + (i >>> 16)}.${(i >>> 8) & 255}.${i & 255}.0/24`);
    }
    const set = u % 4000;
    rib.applyUpdate('a', {
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
  const before = { sets: rib.attributes.size, records: rib.pathRecords.size };
  let t = performance.now();
  rib.retainStale('a');
  const retainMs = performance.now() - t;
  gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  t = performance.now();
  const out = rib.longLivedStale('a', AFI_IPV4);
  const markMs = performance.now() - t;
  const changes = out.changes.length;
  out.changes.length = 0;
  gc?.();
  const heap1 = process.memoryUsage().heapUsed;
  const after = { sets: rib.attributes.size, records: rib.pathRecords.size };
  t = performance.now();
  const swept = rib.sweepStale('a').length;
  const sweepMs = performance.now() - t;
  console.log(
    `long-lived: ${N} prefixes; retainStale ${Math.round(retainMs)} ms; longLivedStale ${Math.round(markMs)} ms (${out.kept} kept, ${changes} Loc-RIB changes); ` +
      `attribute sets ${before.sets} -> ${after.sets}, path records ${before.records} -> ${after.records}; heap after marking ${gc ? `${((heap1 - heap0) / 1e6).toFixed(1)} MB` : 'n/a (no --expose-gc in the worker)'}; ` +
      `sweepStale ${Math.round(sweepMs)} ms (${swept} withdrawn)`,
  );
});
