/**
 * The FIB write path alone (issue 10): FibManager and a backend, N routes
 * (18 % IPv6) set as the agent sets them (a neighbor's shared next-hop list,
 * a flush per 20 000 changes), then all deleted. Prints per phase the CPU of
 * this process (the kernel's work inside the netlink sends included), the
 * time spent in GC and the heap allocated between GCs (v8.GCProfiler).
 * BACKEND=null (pure CPU, default) or linux (a throw-away namespace over a
 * veth pair; deleting 1 M routes there is ~100 s of the kernel's CPU). Not a
 * test and not `npm run bench`: run it alone,
 *   N=1000000 BACKEND=linux npx vitest run --config bench/scripts/vitest.config.ts bench/scripts/fib-path.run.ts
 * (node's default heap settings: the agent's --optimize-for-size, which GCs
 * more often, cannot be set through NODE_OPTIONS).
 */
import { GCProfiler } from 'node:v8';
import { test } from 'vitest';
import { FibManager, LinuxFib, NullFib, type FibBackend, type FibNextHop } from '#fib/index';
import { Rtnetlink } from '#netlink/index';
import { TestNetns } from '../../test/netlink/netns.js';

const N = Number(process.env.N ?? 1_000_000);
const BACKEND = process.env.BACKEND ?? 'null';

test(`FIB write path, ${N} routes, ${BACKEND} backend`, async () => {
  let ns: TestNetns | null = null;
  let nl: Rtnetlink | null = null;
  try {
    let backend: FibBackend;
    if (BACKEND === 'linux') {
      ns = TestNetns.create();
      ns.veth('fp-a', 'fp-b');
      ns.ip('addr', 'add', '10.255.0.0/31', 'dev', 'fp-a');
      ns.ip('addr', 'add', 'fd00:255::/127', 'dev', 'fp-a', 'nodad');
      nl = await Rtnetlink.open({ netns: ns.name });
      backend = new LinuxFib(nl, { table: 3000, protocol: 201, metric: 32 });
    } else {
      backend = new NullFib();
    }
    const v4: readonly FibNextHop[] = Object.freeze([Object.freeze({ address: '10.255.0.1', interface: 'fp-a' })]);
    const v6: readonly FibNextHop[] = Object.freeze([Object.freeze({ address: 'fd00:255::1', interface: 'fp-a' })]);
    const n6 = Math.floor(N * 0.18);
    const prefixes: string[] = [];
    for (let i = 0; i < N - n6; i++) prefixes.push(`${16 + (i >>> 16)}.${(i >>> 8) & 255}.${i & 255}.0/24`);
    for (let i = 0; i < n6; i++) prefixes.push(`2001:${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}::/48`);
    const m = new FibManager(backend);
    if (BACKEND === 'linux') await m.reconcile();
    const burst = async (each: (i: number) => void): Promise<void> => {
      for (let i = 0; i < N; i++) {
        each(i);
        if (i % 20_000 === 19_999) await m.flush();
      }
      await m.flush();
    };
    const phase = async (name: string, run: () => Promise<void>): Promise<void> => {
      const prof = new GCProfiler();
      prof.start();
      const cpu = process.cpuUsage();
      const t0 = performance.now();
      await run();
      const used = process.cpuUsage(cpu);
      const wall = performance.now() - t0;
      const stats = prof.stop().statistics;
      let gcUs = 0;
      let allocated = 0;
      let after: number | null = null;
      for (const g of stats) {
        gcUs += g.cost;
        if (after !== null) allocated += Math.max(0, g.beforeGC.heapStatistics.usedHeapSize - after);
        after = g.afterGC.heapStatistics.usedHeapSize;
      }
      console.log(
        `${name}: wall ${(wall / 1000).toFixed(2)} s, CPU ${((used.user + used.system) / 1e6).toFixed(2)} s (user ${(used.user / 1e6).toFixed(2)}, system ${(used.system / 1e6).toFixed(2)}: the kernel's own work), GC ${(gcUs / 1e6).toFixed(2)} s in ${stats.length}, ` +
          `${(allocated / 1e6).toFixed(0)} MB allocated between them; installed ${m.size}, errors ${m.lastErrors.length}`,
      );
    };
    await phase('add', () => burst((i) => m.setHops(prefixes[i]!, i < N - n6 ? v4 : v6, null)));
    await phase('delete', () => burst((i) => m.delete(prefixes[i]!)));
  } finally {
    await nl?.close();
    ns?.destroy();
  }
});
