#!/usr/bin/env node
/**
 * node dist/replay/feeder-cli.js --table synthetic:1000000 --peer 198.18.0.1 \
 *   --local-address 198.18.0.2 --local-asn 65002 --asn 65001 [--json] [--exit]
 *
 * Tables: synthetic:N | synthetic:N4,N6[@SEED] (see synthetic.ts), or an MRT
 * TABLE_DUMP_V2 file, plain or gzip (mrt:PATH[#PEER_INDEX], or just PATH).
 * Prints one line when the table is encoded and one when the peer has
 * acknowledged it (JSON with --json); then keeps the session up until SIGTERM
 * or SIGINT (or exits at once with --exit); with --listen, a session the
 * receiver ends is followed by the next (the table again, to whoever connects
 * next) until SIGTERM or SIGINT. While it is up, SIGUSR1 withdraws
 * every route of the table and SIGUSR2 announces the whole table again (one
 * line each when acknowledged: "withdrawn", "announced"). With --listen, a
 * "listening" line says when the receiver may connect.
 */
import { Command, InvalidArgumentError } from 'commander';
import { isIPv4, isIPv6 } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeTable, feed } from './feeder.js';
import type { EncodeOptions, FeedReport, FeedSession } from './feeder.js';
import { parseSyntheticSpec, syntheticTable } from './synthetic.js';
import { tableFromMrt, tableSize } from './table.js';
import type { RouteTable } from './table.js';

interface Options {
  table: string;
  peer?: string;
  listen?: string;
  port: number;
  localAddress?: string;
  localAsn: number;
  asn?: number;
  routerId?: string;
  nextHop?: string;
  nextHop6?: string;
  holdTime: number;
  json?: boolean;
  exit?: boolean;
}

function integer(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('not a non-negative integer');
  return n;
}

async function loadTable(spec: string): Promise<{ table: RouteTable; source: string }> {
  const synthetic = parseSyntheticSpec(spec);
  if (synthetic !== null) return { table: syntheticTable(synthetic), source: spec };
  const m = /^(?:mrt:)?(.+?)(?:#(\d+))?$/.exec(spec);
  const path = m![1]!;
  const peerIndex = m![2] === undefined ? 0 : Number(m![2]);
  const t = await tableFromMrt(path, { peerIndex });
  const who = t.peer === undefined ? '' : ` (peer ${peerIndex}: ${t.peer.address} AS ${t.peer.asn})`;
  return { table: t.table, source: `${path}${who}` };
}

function print(json: boolean, event: string, fields: Record<string, unknown>, text: string): void {
  process.stdout.write(json ? `${JSON.stringify({ event, ...fields })}\n` : `${text}\n`);
}

async function main(argv: string[]): Promise<number> {
  const cmd = new Command('feeder')
    .description('Send a whole route table to one BGP peer as fast as TCP takes it (the feeder-only floor)')
    .requiredOption('--table <spec>', 'synthetic:N, synthetic:N4,N6[@SEED], or an MRT file (mrt:PATH[#PEER_INDEX])')
    .option('--peer <address>', 'connect to this BGP peer')
    .option('--listen <address>', 'or accept one connection on this address')
    .option('--port <port>', 'TCP port', integer, 179)
    .option('--local-address <address>', 'source address of the session (and the default next hop)')
    .requiredOption('--local-asn <asn>', "the feeder's AS", integer)
    .option('--asn <asn>', "the peer's AS, checked against its OPEN", integer)
    .option('--router-id <id>', 'BGP Identifier (default: the IPv4 local address, else 192.0.2.254)')
    .option('--next-hop <address>', 'IPv4 next hop of IPv4 routes (default: --local-address when IPv4)')
    .option('--next-hop6 <address>', 'IPv6 next hop of IPv6 routes (default: --local-address when IPv6)')
    .option('--hold-time <seconds>', 'hold time to offer', integer, 90)
    .option('--json', 'one JSON object per line')
    .option('--exit', 'close the session (Cease) once the table is acknowledged');
  cmd.parse(argv);
  const o = cmd.opts<Options>();
  if ((o.peer === undefined) === (o.listen === undefined)) throw new InvalidArgumentError('give exactly one of --peer and --listen');
  const local = o.localAddress ?? o.listen;
  const nextHop4 = o.nextHop ?? (local !== undefined && isIPv4(local) ? local : undefined);
  const nextHop6 = o.nextHop6 ?? (local !== undefined && isIPv6(local) ? local : undefined);
  const routerId = o.routerId ?? (local !== undefined && isIPv4(local) ? local : '192.0.2.254');
  const json = o.json === true;
  // Installed first: SIGUSR1/2 would otherwise end the process.
  let onSignal: ((what: 'withdraw' | 'announce') => void) | null = null;
  for (const [sig, what] of [['SIGUSR1', 'withdraw'], ['SIGUSR2', 'announce']] as const) {
    process.on(sig, () => {
      if (onSignal === null) print(json, 'ignored', { signal: sig, reason: 'no session yet' }, `${sig} ignored: the table is not out yet`);
      else onSignal(what);
    });
  }

  const t0 = performance.now();
  const { table, source } = await loadTable(o.table);
  const tLoaded = performance.now();
  const enc: EncodeOptions = { localAsn: o.localAsn };
  if (nextHop4 !== undefined) enc.nextHop4 = nextHop4;
  if (nextHop6 !== undefined) enc.nextHop6 = nextHop6;
  const encoded = encodeTable(table, enc);
  const tEncoded = performance.now();
  const size = tableSize(table);
  print(
    json,
    'encoded',
    {
      source,
      routes: size,
      attributeSets: table.groups.length,
      updates: encoded.updates,
      withdrawUpdates: encoded.withdrawUpdates,
      bytes: encoded.bytes,
      loadMs: tLoaded - t0,
      encodeMs: tEncoded - tLoaded,
    },
    `${source}: ${size.ipv4} IPv4 + ${size.ipv6} IPv6 routes, ${table.groups.length} attribute sets -> ${encoded.updates} UPDATEs, ${encoded.bytes} octets ` +
      `(loaded in ${(tLoaded - t0).toFixed(0)} ms, encoded in ${(tEncoded - tLoaded).toFixed(0)} ms)`,
  );

  // With --listen the feeder serves one session at a time until SIGTERM/SIGINT: when the
  // receiver ends a session (or drops its connection and reconnects), the next one gets the table again.
  let stopping = false;
  let current: FeedSession | null = null;
  const stop = (): void => {
    stopping = true;
    if (current === null) process.exit(0); // waiting for a connection: nothing to close
    current.close();
  };
  if (o.exit !== true) {
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  }
  let listening = false;
  for (;;) {
    let session: FeedSession;
    try {
      session = await feed(encoded, {
        ...(o.peer === undefined ? {} : { peer: o.peer }),
        ...(o.listen === undefined ? {} : { listen: o.listen }),
        ...(o.localAddress === undefined ? {} : { localAddress: o.localAddress }),
        ...(o.asn === undefined ? {} : { peerAsn: o.asn }),
        port: o.port,
        localAsn: o.localAsn,
        routerId,
        holdTime: o.holdTime,
        onListening: () => {
          listening = true;
          print(json, 'listening', { address: o.listen, port: o.port }, `listening on ${o.listen} port ${o.port}`);
        },
        reencode: (fourOctetAs) => encodeTable(table, { ...enc, fourOctetAs }),
      });
    } catch (e) {
      // Connecting, or a listener that never came up: the caller's error. A session that failed after a connection was accepted: listen again.
      if (o.listen === undefined || !listening || stopping || o.exit === true) throw e;
      print(json, 'error', { what: 'session', message: e instanceof Error ? e.message : String(e) }, `session failed: ${e instanceof Error ? e.message : String(e)}; listening again`);
      await sleep(100);
      continue;
    }
    current = session;
    const r: FeedReport = session.report;
    print(
      json,
      'acked',
      { ...r },
      `Established at ${r.established.toFixed(1)} ms; ${r.routes.ipv4 + r.routes.ipv6} routes written by ${r.written.toFixed(1)} ms, ` +
        `acknowledged by ${r.acked.toFixed(1)} ms (${r.routesPerSecond} routes/s from the first UPDATE)`,
    );
    onSignal = (what) => {
      const t = Date.now();
      const event = what === 'withdraw' ? 'withdrawn' : 'announced';
      session[what]().then(
        (x) => print(json, event, { at: t, ...x }, `${event}: ${x.updates} UPDATEs written in ${x.written.toFixed(1)} ms, acknowledged in ${x.acked.toFixed(1)} ms`),
        (e: unknown) => print(json, 'error', { what, message: e instanceof Error ? e.message : String(e) }, `${what} failed: ${e instanceof Error ? e.message : String(e)}`),
      );
    };
    if (o.exit === true || stopping) session.close();
    const why = await session.closed;
    current = null;
    onSignal = null;
    print(json, 'closed', { reason: why }, `session closed: ${why}`);
    if (o.exit === true || stopping || o.listen === undefined) return 0;
  }
}

main(process.argv).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`feeder: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
