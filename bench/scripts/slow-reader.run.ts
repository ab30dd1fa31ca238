/**
 * Memory of the agent's export side while changes flow towards a neighbor
 * that does not read (issue 10): CHANGES Loc-RIB changes (PREFIXES prefixes,
 * each changed CHANGES / PREFIXES times, one UPDATE per change with its own
 * communities, ~120 octets) exported to a loopback TCP receiver that never
 * reads. PACING=off is the export path before pacing (every change made
 * into UPDATEs and written: Rib.exportToPeers + sendMany); PACING=on (default) is
 * ChangeSender (src/agent/table-send.ts). Prints the socket's user-space
 * backlog at the end and at most, and RSS / heap / ArrayBuffer growth
 * after a GC. Not a test and not `npm run bench`: run it alone,
 *   NODE_OPTIONS=--expose-gc PACING=off npx vitest run --config bench/scripts/vitest.config.ts bench/scripts/slow-reader.run.ts
 */
import { createServer, connect, type Socket } from 'node:net';
import { test } from 'vitest';
import { Connection } from '#bgp/session/connection';
import { SystemClock } from '#lib/clock';
import { Rib } from '#bgp/rib/index';
import type { LocRibChange } from '#bgp/rib/index';
import { AsPathSegmentType, MessageType, Origin } from '#bgp/wire/types';
import type { UpdateMessage } from '#bgp/wire/types';
import type { AgentSession } from '#agent/bgp';
import { ChangeSender } from '#agent/table-send';

const MODE = process.env.PACING === 'off' ? 'unpaced' : 'paced';
const CHANGES = Number(process.env.CHANGES ?? 100_000);
const PREFIXES = Number(process.env.PREFIXES ?? 20_000);
const BATCH = 1000;
const gc = (globalThis as { gc?: () => void }).gc;
const mb = (n: number): string => (n / 1e6).toFixed(1);

function peerInfo(id: string, asn: number, n: number) {
  return { id, asn, routerId: `10.0.0.${n}`, address: `10.255.${n}.1`, localAddressV4: `10.255.${n}.0`, localAddressV6: null, localLinkLocal: null, families: [{ afi: 1, safi: 1 }], extendedNextHop: false };
}

function change(i: number, round: number): UpdateMessage {
  return {
    type: MessageType.Update,
    withdrawn: [],
    nlri: [`${10 + (i >>> 16)}.${(i >>> 8) & 255}.${i & 255}.0/24`],
    attributes: {
      origin: Origin.Igp,
      nextHop: '10.255.2.1',
      asPath: [{ type: AsPathSegmentType.AsSequence, asns: [65002] }],
      communities: Array.from({ length: 16 }, (_, k) => round * 65536 + k * 4096 + (i & 4095)),
    },
  };
}

test(`changes towards a receiver that does not read (${MODE})`, async () => {
  let receiver: Socket | null = null;
  const server = createServer((s) => {
    receiver = s;
    s.pause();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const sock = connect((server.address() as { port: number }).port, '127.0.0.1');
  const conn = new Connection(sock, true, new SystemClock(), { connected: () => undefined, data: () => undefined, closed: () => undefined });
  await new Promise<void>((r) => sock.once('connect', r));
  const session = {
    sendMany: (us: UpdateMessage[]) => {
      for (const u of us) conn.send(u);
    },
    get sendBacklog() {
      return conn.backlog;
    },
    whenDrained: (fn: () => void) => conn.whenDrained(fn),
  } as unknown as AgentSession;
  const rib = new Rib({ asn: 65001, routerId: '192.0.2.1' });
  rib.addPeer(peerInfo('a', 65002, 2));
  rib.addPeer(peerInfo('b', 65003, 3));
  const sender = new ChangeSender({ log: { info: () => undefined }, defer: (fn) => setImmediate(fn), now: () => performance.now() }, rib);
  gc?.();
  const m0 = process.memoryUsage();
  let most = 0;
  const started = performance.now();
  for (let n = 0; n < CHANGES; n += BATCH) {
    const changes: LocRibChange[] = [];
    for (let k = n; k < n + BATCH && k < CHANGES; k++) for (const c of rib.applyUpdate('a', change(k % PREFIXES, Math.floor(k / PREFIXES)))) changes.push(c);
    if (MODE === 'unpaced') {
      const out = rib.exportToPeers(['b'], changes)[0]!;
      if (out.length > 0) session.sendMany(out);
    } else sender.send([{ name: 'b', session, epoch: session, current: () => true }], changes);
    most = Math.max(most, conn.backlog);
    await new Promise((r) => setImmediate(r));
  }
  const ms = performance.now() - started;
  gc?.();
  const m1 = process.memoryUsage();
  console.log(
    `slow reader, ${MODE}: ${CHANGES} changes over ${PREFIXES} prefixes in ${Math.round(ms)} ms; socket backlog ${mb(conn.backlog)} MB at the end, ${mb(most)} MB at most; ` +
      `owed prefixes ${rib.owedCount('b')}; growth after GC: RSS ${mb(m1.rss - m0.rss)} MB, heap ${mb(m1.heapUsed - m0.heapUsed)} MB, ArrayBuffers ${mb(m1.arrayBuffers - m0.arrayBuffers)} MB` +
      (gc ? '' : ' (no --expose-gc: figures without a GC)'),
  );
  sock.destroy();
  (receiver as Socket | null)?.destroy();
  server.close();
});
