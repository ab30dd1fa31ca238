/**
 * Route install throughput in a throw-away namespace: the batched netlink path
 * (Rtnetlink.routeBatch, and FibManager.flush on top of it) against `ip -batch`
 * (one process for all routes) and one `ip route replace` process per route;
 * routes that name a nexthop object (RTA_NH_ID) against routes that carry
 * gateway + oif, and the move of every route by replacing that one object.
 * Every run goes to a fresh table and is checked with `ip route show`.
 *
 *   npm run bench -- bench/netlink.bench.ts
 *   BENCH_NETLINK_SIZES=1000,5000 npm run bench -- --json=r.json bench/netlink.bench.ts
 *
 * BENCH_NETLINK_SIZES=SMALL,LARGE (default 10000,100000): the two table sizes.
 * With JSON asked for (bench/lib/json-out.ts) every measurement line is also
 * a record of `results`.
 *
 * Prints one line per measurement; the vitest table below it is not the point
 * (each case runs once: installing 100 000 routes is not a micro-benchmark).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, bench, describe } from 'vitest';
import { Rtnetlink } from '#netlink/index';
import type { RouteOp, RouteWrite } from '#netlink/index';
import { FibManager, LinuxFib } from '#fib/index';
import { machineNotes, writeBenchJson } from './lib/json-out.js';

const PROTO = 201;
const ns = `wgbgp-b-${randomBytes(4).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'wgbgp-bench-'));
const ip = (...args: string[]): string =>
  execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });

execFileSync('ip', ['netns', 'add', ns]);
ip('link', 'set', 'lo', 'up');
ip('link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb');
ip('link', 'set', 'va', 'up');
ip('link', 'set', 'vb', 'up');
ip('addr', 'add', '10.0.0.1/24', 'dev', 'va');
const nl = await Rtnetlink.open({ netns: ns });
let nextTable = 5000;

const sizes = (process.env.BENCH_NETLINK_SIZES ?? '10000,100000').split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0);
const SMALL = sizes[0] ?? 10_000;
const LARGE = sizes[1] ?? sizes[0] ?? 100_000;

interface Measured {
  what: string;
  routes: number;
  ms: number;
  routesPerSecond: number | null;
  /** The table holds exactly the routes written (checked with `ip route show`); null: not a write. */
  ok: boolean | null;
  detail: string;
}
const results: Measured[] = [];

afterAll(async () => {
  writeBenchJson('netlink', { machine: machineNotes(), sizes: { small: SMALL, large: LARGE }, results });
  await nl.close();
  execFileSync('ip', ['netns', 'del', ns]);
  rmSync(dir, { recursive: true, force: true });
});

const prefix = (i: number): string => `${16 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`;

function count(table: number, protocol = PROTO): number {
  return ip('route', 'show', 'table', String(table), 'proto', String(protocol)).split('\n').filter((l) => l !== '').length;
}

function report(what: string, n: number, ms: number, table: number, extra = '', protocol = PROTO): void {
  const got = count(table, protocol);
  const ok = got === n ? 'ok' : `MISMATCH: ${got} in table`;
  results.push({ what, routes: n, ms: Math.round(ms * 10) / 10, routesPerSecond: Math.round(n / (ms / 1000)), ok: got === n, detail: `${got === n ? '' : ok}${extra}`.replace(/^, /, '') });
  console.log(`${what.padEnd(44)} ${String(n).padStart(6)} routes ${ms.toFixed(0).padStart(6)} ms ${String(Math.round(n / (ms / 1000))).padStart(7)} routes/s  ${ok}${extra}`);
}

async function netlinkBatch(n: number): Promise<void> {
  const table = nextTable++;
  const ops: RouteOp[] = [];
  for (let i = 0; i < n; i++) {
    ops.push({ op: 'replace', route: { prefix: prefix(i), table, protocol: PROTO, nexthops: [{ address: '10.0.0.2', interface: 'va' }] } });
  }
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const t0 = performance.now();
  const res = await nl.routeBatch(ops);
  const ms = performance.now() - t0;
  loop.disable();
  const failed = res.filter((r) => r.errno !== 0).length;
  report('netlink routeBatch', n, ms, table, `, max event-loop delay ${(loop.max / 1e6).toFixed(1)} ms${failed ? `, ${failed} failed` : ''}`);
  const d0 = performance.now();
  const dumped = await nl.routes(table, PROTO);
  const dumpMs = performance.now() - d0;
  results.push({ what: 'dump (routes())', routes: dumped.length, ms: Math.round(dumpMs * 10) / 10, routesPerSecond: Math.round(dumped.length / (dumpMs / 1000)), ok: null, detail: '' });
  console.log(`${'  dump (routes())'.padEnd(44)} ${String(dumped.length).padStart(6)} routes ${dumpMs.toFixed(0).padStart(6)} ms`);
}

async function managerFlush(n: number, nexthopObjects: boolean): Promise<void> {
  const table = nextTable++;
  // Each run its own protocol: nexthop objects live per namespace, and one protocol is one agent's.
  const protocol = PROTO + (table % 40);
  const fib = new LinuxFib(nl, { table, protocol, metric: 32 }, { nexthopObjects });
  const m = new FibManager(fib);
  const hops = Object.freeze([Object.freeze({ address: '10.0.0.2', interface: 'va' })]);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) m.set({ prefix: prefix(i), nexthops: hops as { address: string; interface: string }[] });
  await m.flush();
  const ms = performance.now() - t0;
  const objects = (await nl.nexthopObjects(protocol)).length;
  report(`FibManager.set ×n + flush (${nexthopObjects ? 'RTA_NH_ID' : 'gateway+oif'})`, n, ms, table, `, ${objects} nexthop objects`, protocol);
  // The table goes again, so that the objects do too.
  for (let i = 0; i < n; i++) m.delete(prefix(i));
  await m.flush();
}

/** routeWrite straight, one tag: every route naming one object, or carrying gateway + oif; then one object replace moves them all. */
async function routeWrite(n: number, nhid: boolean): Promise<void> {
  const table = nextTable++;
  const protocol = PROTO + (table % 40);
  const tag = { table, protocol, metric: 32 };
  const id = 0x77ff0000 + (table % 1000);
  if (nhid) await nl.nexthopWrite([{ op: 'add', nexthop: { id, protocol, address: '10.0.0.2', interface: 'va' } }]);
  const ops: RouteWrite[] = [];
  const hops = [{ address: '10.0.0.2', interface: 'va' }];
  for (let i = 0; i < n; i++) ops.push({ op: 'add', route: { prefix: prefix(i), nexthops: hops } });
  const ids = nhid ? new Uint32Array(n).fill(id) : undefined;
  const t0 = performance.now();
  const failed = await nl.routeWrite(tag, ops, ids);
  const ms = performance.now() - t0;
  report(`netlink routeWrite (${nhid ? 'RTA_NH_ID' : 'gateway+oif'})`, n, ms, table, failed.length ? `, ${failed.length} failed` : '', protocol);
  if (nhid) {
    const r0 = performance.now();
    await nl.nexthopWrite([{ op: 'replace', nexthop: { id, protocol, address: '10.0.0.3', interface: 'va' } }]);
    const replaceMs = performance.now() - r0;
    const moved = (await nl.routes(table, protocol, 32)).filter((r) => r.nexthops[0]?.address === '10.0.0.3').length;
    results.push({ what: 'one nexthop object replaced', routes: moved, ms: Math.round(replaceMs * 10) / 10, routesPerSecond: null, ok: moved === n, detail: 'the time to move every route naming it' });
    console.log(`${'  one nexthop object replaced'.padEnd(44)} ${String(moved).padStart(6)} routes ${replaceMs.toFixed(1).padStart(6)} ms to move them all`);
    await nl.nexthopWrite([{ op: 'delete', id }]);
  } else {
    await nl.routeWrite(tag, ops.map((op): RouteWrite => ({ op: 'delete', prefix: op.op === 'delete' ? op.prefix : op.route.prefix })));
  }
}

function ipBatch(n: number): void {
  const table = nextTable++;
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(`route replace ${prefix(i)} via 10.0.0.2 dev va table ${table} proto ${PROTO}`);
  const file = join(dir, `batch-${table}`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  const t0 = performance.now();
  const r = spawnSync('ip', ['-n', ns, '-batch', file], { stdio: 'inherit' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`ip -batch exited ${r.status}`);
  report('ip -batch (one process)', n, ms, table);
}

function ipPerRoute(n: number): void {
  const table = nextTable++;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    execFileSync('ip', ['-n', ns, 'route', 'replace', prefix(i), 'via', '10.0.0.2', 'dev', 'va', 'table', String(table), 'proto', String(PROTO)]);
  }
  report('ip route replace, one process per route', n, performance.now() - t0, table);
}

const once = { iterations: 1, warmupIterations: 0, time: 0, warmupTime: 0 };

describe('IPv4 route install', () => {
  bench(`netlink ${SMALL}`, () => netlinkBatch(SMALL), once);
  bench(`netlink ${LARGE}`, () => netlinkBatch(LARGE), once);
  bench(`FibManager ${SMALL}`, () => managerFlush(SMALL, true), once);
  bench(`FibManager ${LARGE} gateway+oif`, () => managerFlush(LARGE, false), once);
  bench(`FibManager ${LARGE} RTA_NH_ID`, () => managerFlush(LARGE, true), once);
  bench(`routeWrite ${LARGE} gateway+oif`, () => routeWrite(LARGE, false), once);
  bench(`routeWrite ${LARGE} RTA_NH_ID`, () => routeWrite(LARGE, true), once);
  bench(`ip -batch ${SMALL}`, () => ipBatch(SMALL), once);
  bench(`ip -batch ${LARGE}`, () => ipBatch(LARGE), once);
  bench(`ip per route ${Math.min(1000, SMALL)}`, () => ipPerRoute(Math.min(1000, SMALL)), once);
});
