/**
 * The FIB write path alone (issue 10): FibManager and a backend, N routes
 * (18 % IPv6) set as the agent sets them (a neighbor's shared next-hop list,
 * a flush per 20 000 changes), then all deleted. Prints per phase the CPU of
 * this process (the kernel's work inside the netlink sends included), the
 * time spent in GC and the heap allocated between GCs (v8.GCProfiler).
 * BACKEND=null (pure CPU, default) or linux (a throw-away namespace over a
 * veth pair). Not a test and not `npm run bench`: run it alone,
 *   N=1000000 BACKEND=linux npx vitest run --config bench/scripts/vitest.config.ts bench/scripts/fib-path.run.ts
 * (node's default heap settings: the agent's --optimize-for-size, which GCs
 * more often, cannot be set through NODE_OPTIONS).
 *
 * SHAPE=dense (default): consecutive /24s from 16.0.0.0 and /48s from
 * 2001::; synthetic: the replay feeder's full-table shape (src/replay), IPv4
 * sorted ascending. Knobs: V6 (IPv6 share, 0.18), TABLE (kernel table, 3000), NHOBJ=0 (routes
 * carry gateway and device instead of naming a nexthop object), FLUSH (changes
 * per flush, 20 000), RULE=1 (an ip rule in the namespace), ORDER of the deletes: fwd (ascending, as added), rev,
 * shuffle, or peer-down (the agent's withdrawal of a neighbor's routes: the
 * order of Rib.removePeerSteps for a peer that announced them ascending).
 * Linux deletes dense IPv4 runs in ascending order in quadratic time (fwd:
 * 93.6 s of kernel CPU at 1 M, 2.8 s descending; docs/performance.md,
 * Installs): the agent's own deletes go descending.
 */
import { GCProfiler } from 'node:v8';
import { test } from 'vitest';
import { FibManager, LinuxFib, NullFib, type FibBackend, type FibNextHop } from '#fib/index';
import { Rtnetlink } from '#netlink/index';
import { Rib } from '#bgp/rib/index';
import { AsPathSegmentType, MessageType, Origin } from '#bgp/wire/types';
import { PrefixTable } from '#lib/prefix-table';
import { syntheticTable } from '#replay/synthetic';
import { TestNetns } from '../../test/netlink/netns.js';

const N = Number(process.env.N ?? 1_000_000);
const BACKEND = process.env.BACKEND ?? 'null';
/** Share of IPv6 prefixes (0.18: a full table's). */
const V6 = Number(process.env.V6 ?? 0.18);
/** Kernel table (linux backend). */
const TABLE = Number(process.env.TABLE ?? 3000);
/** NHOBJ=0: routes carry gateway and device instead of naming a nexthop object. */
const NHOBJ = process.env.NHOBJ !== '0';
/** Delete order: fwd (as added), rev, shuffle, peer-down. */
const ORDER = process.env.ORDER ?? 'fwd';
/** dense (consecutive /24s and /48s) or synthetic (src/replay's full-table shape, IPv4 sorted ascending). */
const SHAPE = process.env.SHAPE ?? 'dense';
/** Changes per flush. */
const FLUSH = Number(process.env.FLUSH ?? 20_000);

test(`FIB write path, ${N} ${SHAPE} routes (${V6 * 100} % IPv6, table ${TABLE}, ${NHOBJ ? 'nexthop objects' : 'inline next hops'}, delete order ${ORDER}, flush per ${FLUSH}), ${BACKEND} backend`, async () => {
  let ns: TestNetns | null = null;
  let nl: Rtnetlink | null = null;
  try {
    let backend: FibBackend;
    if (BACKEND === 'linux') {
      ns = TestNetns.create();
      ns.veth('fp-a', 'fp-b');
      ns.ip('addr', 'add', '10.255.0.0/31', 'dev', 'fp-a');
      ns.ip('addr', 'add', 'fd00:255::/127', 'dev', 'fp-a', 'nodad');
      // RULE=1: a policy rule of the operator's; the kernel then keeps main and local in separate tries (fib_unmerge).
      if (process.env.RULE === '1') ns.ip('rule', 'add', 'from', '192.0.2.99', 'table', '100');
      nl = await Rtnetlink.open({ netns: ns.name });
      backend = new LinuxFib(nl, { table: TABLE, protocol: 201, metric: 32 }, { nexthopObjects: NHOBJ });
    } else {
      backend = new NullFib();
    }
    const v4: readonly FibNextHop[] = Object.freeze([Object.freeze({ address: '10.255.0.1', interface: 'fp-a' })]);
    const v6: readonly FibNextHop[] = Object.freeze([Object.freeze({ address: 'fd00:255::1', interface: 'fp-a' })]);
    const n6 = Math.floor(N * V6);
    const prefixes: string[] = [];
    if (SHAPE === 'synthetic') {
      // The replay feeder's table (prefix lengths of today's table, addresses spread at random), sorted as a peer may send it.
      const t = syntheticTable({ ipv4: N - n6, ipv6: n6 });
      const key = (p: string): number => p.split('/')[0]!.split('.').reduce((a, o) => a * 256 + Number(o), 0);
      const v4s = t.groups.flatMap((g) => g.ipv4).sort((a, b) => key(a) - key(b));
      for (const p of v4s) prefixes.push(p);
      for (const g of t.groups) for (const p of g.ipv6) prefixes.push(p);
    } else {
      for (let i = 0; i < N - n6; i++) prefixes.push(`${16 + (i >>> 16)}.${(i >>> 8) & 255}.${i & 255}.0/24`);
      for (let i = 0; i < n6; i++) prefixes.push(`2001:${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}::/48`);
    }
    const table = new PrefixTable();
    const m = new FibManager(backend, table);
    if (BACKEND === 'linux') await m.reconcile();
    const burst = async (each: (i: number) => void): Promise<void> => {
      for (let i = 0; i < N; i++) {
        each(i);
        if (i % FLUSH === FLUSH - 1) await m.flush();
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
    const order = ORDER === 'peer-down' ? removalOrder(table, prefixes) : Int32Array.from({ length: N }, (_, i) => (ORDER === 'rev' ? N - 1 - i : i));
    if (ORDER === 'shuffle') {
      for (let i = N - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
    }
    await phase('delete', () => burst((i) => m.delete(prefixes[order[i]!]!)));
  } finally {
    await nl?.close();
    ns?.destroy();
  }
});

/** The order in which the agent deletes a neighbor's routes when its session ends: the RIB's (Rib.removePeerSteps), the peer having announced them in `prefixes` order. */
function removalOrder(table: PrefixTable, prefixes: readonly string[]): Int32Array {
  const rib = new Rib({ asn: 65001, routerId: '192.0.2.1', prefixes: table });
  const families = [
    { afi: 1, safi: 1 },
    { afi: 2, safi: 1 },
  ];
  rib.addPeer({ id: 'p', asn: 65002, routerId: '192.0.2.2', address: '10.255.0.1', localAddressV4: '10.255.0.0', localAddressV6: 'fd00:255::', localLinkLocal: null, families, extendedNextHop: false });
  const attributes = { origin: Origin.Igp, asPath: [{ type: AsPathSegmentType.AsSequence, asns: [65002] }] };
  for (let i = 0; i < prefixes.length; i += 500) {
    const list = prefixes.slice(i, i + 500);
    const v4 = list.filter((p) => !p.includes(':'));
    const v6 = list.filter((p) => p.includes(':'));
    if (v4.length > 0) rib.applyUpdate('p', { type: MessageType.Update, withdrawn: [], attributes: { ...attributes, nextHop: '10.255.0.1' }, nlri: v4 });
    if (v6.length > 0) rib.applyUpdate('p', { type: MessageType.Update, withdrawn: [], attributes, nlri: [], mpReach: { afi: 2, safi: 1, nextHops: ['fd00:255::1'], nlri: v6 } });
  }
  const index = new Map<string, number>();
  prefixes.forEach((p, i) => index.set(p, i));
  const out = new Int32Array(prefixes.length);
  let n = 0;
  const removal = rib.removePeerSteps('p')!;
  while (!removal.done) for (const c of removal.next(8192)) out[n++] = index.get(c.prefix)!;
  return out;
}
