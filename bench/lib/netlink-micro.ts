/**
 * The netlink micro-benchmark of bench/netlink.bench.ts in small: the same N
 * IPv4 routes installed by wgbgp's batched rtnetlink path (Rtnetlink.routeBatch)
 * and by `ip -batch` (one process), each into a fresh table of a scratch
 * namespace, each checked afterwards. Only the two numbers and their ratio.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runOk } from '#lab/netns';
import { Rtnetlink, type RouteOp } from '#netlink/index';
import { cleanupPrefix, createNamespaces, uniqueName } from '../../test/lab/helpers/netns.js';

export interface MicroResult {
  n: number;
  netlinkMs: number;
  ipBatchMs: number;
  ok: boolean;
  detail: string;
}

async function countRoutes(ns: string, table: number): Promise<number> {
  const r = await runOk(['ip', '-n', ns, 'route', 'show', 'table', String(table)]);
  return r.stdout.split('\n').filter((l) => l !== '').length;
}

export async function netlinkVsIpBatch(prefixes: readonly string[]): Promise<MicroResult> {
  const prefix = uniqueName('nm');
  const n = prefixes.length;
  const dir = mkdtempSync(join(tmpdir(), `wgbgp-bench-${prefix}-`));
  try {
    const [ns] = await createNamespaces(prefix, ['m']);
    const nsName = ns!;
    // A portless bridge is up with carrier (no `dummy` here): a next hop to route via.
    await runOk(['ip', '-n', nsName, 'link', 'add', 'br0', 'type', 'bridge']);
    await runOk(['ip', '-n', nsName, 'link', 'set', 'br0', 'up']);
    await runOk(['ip', '-n', nsName, 'addr', 'add', '10.0.0.1/24', 'dev', 'br0']);

    const nl = await Rtnetlink.open({ netns: nsName });
    let netlinkMs = 0;
    let failed = 0;
    try {
      const ops: RouteOp[] = prefixes.map((p) => ({
        op: 'replace',
        route: { prefix: p, table: 5000, protocol: 201, nexthops: [{ address: '10.0.0.2', interface: 'br0' }] },
      }));
      const t0 = performance.now();
      const res = await nl.routeBatch(ops);
      netlinkMs = performance.now() - t0;
      failed = res.filter((r) => r.errno !== 0).length;
    } finally {
      await nl.close();
    }

    const file = join(dir, `ip-batch-${n}`);
    writeFileSync(file, prefixes.map((p) => `route replace ${p} via 10.0.0.2 dev br0 table 5001 proto 201\n`).join(''));
    const t1 = performance.now();
    const r = spawnSync('ip', ['-n', nsName, '-batch', file], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    const ipBatchMs = performance.now() - t1;
    if (r.status !== 0) throw new Error(`ip -batch exited ${r.status}: ${r.stderr.slice(0, 500)}`);

    const [a, b] = [await countRoutes(nsName, 5000), await countRoutes(nsName, 5001)];
    const ok = a === n && b === n && failed === 0;
    return { n, netlinkMs, ipBatchMs, ok, detail: ok ? '' : `tables hold ${a} (netlink, ${failed} failed) and ${b} (ip -batch) of ${n}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await cleanupPrefix(prefix);
  }
}
