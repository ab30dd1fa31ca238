/**
 * LinuxFib with nexthop objects, in a namespace of its own: one object per
 * next-hop set (a group for ECMP) with our protocol in our id range,
 * reference-counted by the routes that name it; adopted across a restart
 * without rewriting; an operator's objects and routes are never touched; and
 * without nexthop objects (an older kernel, a refused RTM_NEWNEXTHOP) the
 * routes carry their next hops as before. Each test uses its own protocol:
 * objects live per namespace, and one protocol is one agent's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Rtnetlink } from '#netlink/index';
import type { NexthopObject, NexthopWrite, RouteOpResult, RouteOps, RouteTag, RouteWrite } from '#netlink/index';
import { FibManager, LinuxFib, NH_ID_FIRST, NH_ID_LAST } from '#fib/index';
import type { FibRoute } from '#fib/index';
import { closeNetns, netnsWithLinks, WG_LINK, type TestNetns } from '../netlink/netns.js';

let ns: TestNetns;
let nl: Rtnetlink;

beforeAll(async () => ({ ns, nl } = await netnsWithLinks([WG_LINK, { name: 'wg-c', peer: 'wg-d', addresses: ['10.255.1.0/31'] }])));
afterAll(async () => {
  // Every test deletes its routes: none may leave an object in our range (a leak shows here).
  const left = ns?.json<{ id: number }[]>('nexthop', 'show').filter((o) => o.id >= NH_ID_FIRST && o.id <= NH_ID_LAST);
  await closeNetns(ns, nl);
  expect(left ?? []).toEqual([]);
});

interface IpNexthop {
  id: number;
  gateway?: string;
  dev?: string;
  group?: { id: number; weight?: number }[];
  protocol?: string;
}

const nexthops = (protocol: number): IpNexthop[] => ns.json<IpNexthop[]>('nexthop', 'show').filter((n) => n.protocol === String(protocol));
const routes = (table: number, family: '-4' | '-6' = '-4'): { dst: string; nhid?: number; gateway?: string }[] =>
  ns.json(family, 'route', 'show', 'table', String(table));

const viaA = Object.freeze([Object.freeze({ address: '10.255.0.1', interface: 'wg-a' })]);
const viaA6 = Object.freeze([Object.freeze({ address: 'fd00:255::1', interface: 'wg-a' })]);
const viaC = Object.freeze([Object.freeze({ address: '10.255.1.1', interface: 'wg-c' })]);
const ecmp = Object.freeze([viaA[0]!, viaC[0]!]);
const v4 = (i: number): string => `10.${64 + (i >> 8)}.${i & 255}.0/24`;

/** Counts what goes to the kernel; `refuse` makes RTM_NEWNEXTHOP or RTM_GETNEXTHOP fail as an older kernel would. */
class Recording implements RouteOps {
  routeOps = 0;
  nexthopOps: NexthopWrite[] = [];
  constructor(
    private readonly inner: Rtnetlink,
    private readonly refuse: 'none' | 'write' | 'dump' = 'none',
  ) {}
  routes(table: number, protocol: number, metric?: number) {
    return this.inner.routes(table, protocol, metric);
  }
  routesEach(table: number, protocol: number, metric: number | undefined, visit: Parameters<Rtnetlink['routesEach']>[3], restart: () => void) {
    return this.inner.routesEach(table, protocol, metric, visit, restart);
  }
  routeBatch(ops: Parameters<Rtnetlink['routeBatch']>[0]) {
    return this.inner.routeBatch(ops);
  }
  routeLookup(address: string) {
    return this.inner.routeLookup(address);
  }
  routesOf(prefix: string, table: number) {
    return this.inner.routesOf(prefix, table);
  }
  routeWrite(tag: RouteTag, ops: readonly RouteWrite[], nhIds?: ArrayLike<number>): Promise<RouteOpResult[]> {
    this.routeOps += ops.length;
    return this.inner.routeWrite(tag, ops, nhIds);
  }
  async nexthopObjects(protocol?: number): Promise<NexthopObject[]> {
    if (this.refuse === 'dump') throw new Error('nexthop dump: EOPNOTSUPP (operation not supported)');
    return this.inner.nexthopObjects(protocol);
  }
  async nexthopWrite(ops: readonly NexthopWrite[]): Promise<RouteOpResult[]> {
    this.nexthopOps.push(...ops);
    if (this.refuse === 'write') return ops.map((_, index) => ({ index, errno: -95 }));
    return this.inner.nexthopWrite(ops);
  }
}

function logger(): { lines: string[]; log: { info(o: object, m: string): void; warn(o: object, m: string): void } } {
  const lines: string[] = [];
  return { lines, log: { info: (o, m) => lines.push(`info ${m} ${JSON.stringify(o)}`), warn: (o, m) => lines.push(`warn ${m} ${JSON.stringify(o)}`) } };
}

describe('LinuxFib with nexthop objects', () => {
  it('10 000 routes over one next hop make exactly one object in our range; deleting them all deletes it', async () => {
    const protocol = 210;
    const table = 3000;
    const { lines, log } = logger();
    const fib = new LinuxFib(nl, { table, protocol, metric: 32 }, { log });
    const m = new FibManager(fib);
    for (let i = 0; i < 10_000; i++) m.set({ prefix: v4(i), nexthops: viaA as FibRoute['nexthops'] });
    m.set({ prefix: '2001:db8:1::/48', nexthops: viaA6 as FibRoute['nexthops'] });
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    expect(await fib.nexthopMode()).toBe('objects');
    expect(lines.some((l) => l.startsWith('info routes name nexthop objects'))).toBe(true);
    const objs = nexthops(protocol);
    expect(objs).toHaveLength(2);
    const v4obj = objs.find((o) => o.gateway === '10.255.0.1')!;
    expect(v4obj).toMatchObject({ dev: 'wg-a' });
    expect(v4obj.id).toBeGreaterThanOrEqual(NH_ID_FIRST);
    expect(v4obj.id).toBeLessThanOrEqual(NH_ID_LAST);
    const shown = routes(table);
    expect(shown).toHaveLength(10_000);
    expect(shown.every((r) => r.nhid === v4obj.id)).toBe(true);
    expect(routes(table, '-6')[0]?.nhid).toBe(objs.find((o) => o.gateway === 'fd00:255::1')!.id);
    // The dump resolves the objects: what the manager compares is real next hops.
    expect(await m.reconcile()).toEqual({ removed: 0, added: 0, kept: 10_001 });

    for (let i = 0; i < 10_000; i++) m.delete(v4(i));
    await m.flush();
    expect(nexthops(protocol)).toHaveLength(1); // the IPv6 route still names its own
    m.delete('2001:db8:1::/48');
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    expect(nexthops(protocol)).toEqual([]);
    expect(routes(table)).toEqual([]);
  });

  it('ECMP names a group of single next-hop objects; a route over one of them shares it; a changed set moves routes', async () => {
    const protocol = 211;
    const table = 3100;
    const fib = new LinuxFib(nl, { table, protocol, metric: 32 });
    const m = new FibManager(fib);
    m.set({ prefix: '10.1.0.0/24', nexthops: ecmp as FibRoute['nexthops'] });
    m.set({ prefix: '10.2.0.0/24', nexthops: ecmp as FibRoute['nexthops'] });
    // Another order of the same set is the same object.
    m.set({ prefix: '10.3.0.0/24', nexthops: [viaC[0]!, viaA[0]!] });
    m.set({ prefix: '10.4.0.0/24', nexthops: viaA as FibRoute['nexthops'] });
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    const objs = nexthops(protocol);
    expect(objs).toHaveLength(3);
    const group = objs.find((o) => o.group !== undefined)!;
    const a = objs.find((o) => o.gateway === '10.255.0.1')!;
    const c = objs.find((o) => o.gateway === '10.255.1.1')!;
    expect(group.group!.map((g) => g.id).sort()).toEqual([a.id, c.id].sort());
    const byDst = new Map(routes(table).map((r) => [r.dst, r.nhid]));
    expect([byDst.get('10.1.0.0/24'), byDst.get('10.2.0.0/24'), byDst.get('10.3.0.0/24')]).toEqual([group.id, group.id, group.id]);
    expect(byDst.get('10.4.0.0/24')).toBe(a.id);
    expect(await m.reconcile()).toEqual({ removed: 0, added: 0, kept: 4 });

    // The group goes with its last route; the member a route still names stays.
    m.set({ prefix: '10.1.0.0/24', nexthops: viaC as FibRoute['nexthops'] });
    m.delete('10.2.0.0/24');
    m.delete('10.3.0.0/24');
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    expect(nexthops(protocol).map((o) => o.id).sort()).toEqual([a.id, c.id].sort());
    m.delete('10.1.0.0/24');
    m.delete('10.4.0.0/24');
    await m.flush();
    expect(nexthops(protocol)).toEqual([]);
  });

  it.each([
    { compat: 1, protocol: 212, table: 3200 },
    // net.ipv4.nexthop_compat_mode=0: dumped routes carry only RTA_NH_ID, their next hops come from the objects.
    { compat: 0, protocol: 213, table: 3201 },
  ])('a restart adopts routes and objects without rewriting; the counts are right again afterwards (nexthop_compat_mode=$compat)', async ({ compat, protocol, table }) => {
    ns.exec('sysctl', '-qw', `net.ipv4.nexthop_compat_mode=${compat}`);
    try {
      await restartAdopts(protocol, table);
    } finally {
      ns.exec('sysctl', '-qw', 'net.ipv4.nexthop_compat_mode=1');
    }
  });

  async function restartAdopts(protocol: number, table: number): Promise<void> {
    const first = new FibManager(new LinuxFib(nl, { table, protocol, metric: 32 }));
    const want = (m: FibManager): void => {
      for (let i = 0; i < 500; i++) m.set({ prefix: v4(i), nexthops: (i % 2 === 0 ? viaA : ecmp) as FibRoute['nexthops'] });
    };
    want(first);
    await first.flush();
    const before = nexthops(protocol).sort((x, y) => x.id - y.id);
    expect(before).toHaveLength(3); // viaA, viaC and the group of both

    const rec = new Recording(nl);
    const fib = new LinuxFib(rec, { table, protocol, metric: 32 });
    const m = new FibManager(fib);
    expect(await m.adopt()).toBe(500);
    want(m);
    expect(await m.reconcile()).toEqual({ removed: 0, added: 0, kept: 500 });
    await m.flush();
    expect(rec.routeOps).toBe(0);
    // Only the start-up probe (a blackhole object made and deleted) went to the kernel.
    expect(rec.nexthopOps.map((o) => o.op)).toEqual(['add', 'delete']);
    expect(nexthops(protocol).sort((x, y) => x.id - y.id)).toEqual(before);

    for (let i = 0; i < 500; i++) if (i % 2 === 1) m.delete(v4(i));
    await m.flush();
    expect(nexthops(protocol).map((o) => o.gateway)).toEqual(['10.255.0.1']);
    for (let i = 0; i < 500; i++) m.delete(v4(i));
    await m.flush();
    expect(nexthops(protocol)).toEqual([]);
  }

  it('routes of an older run (gateway + oif) are adopted as they are, replaced onto an object, and deleted without touching objects others use', async () => {
    const protocol = 213;
    const table = 3300;
    const t = String(table);
    ns.ip('route', 'add', '10.1.0.0/24', 'via', '10.255.0.1', 'dev', 'wg-a', 'proto', String(protocol), 'metric', '32', 'table', t);
    ns.ip('route', 'add', '10.2.0.0/24', 'via', '10.255.0.1', 'dev', 'wg-a', 'proto', String(protocol), 'metric', '32', 'table', t);
    ns.ip('route', 'add', '10.3.0.0/24', 'via', '10.255.0.1', 'dev', 'wg-a', 'proto', String(protocol), 'metric', '32', 'table', t);
    const rec = new Recording(nl);
    const m = new FibManager(new LinuxFib(rec, { table, protocol, metric: 32 }));
    expect(await m.adopt()).toBe(3);
    m.set({ prefix: '10.1.0.0/24', nexthops: viaA as FibRoute['nexthops'] });
    m.set({ prefix: '10.2.0.0/24', nexthops: viaC as FibRoute['nexthops'] });
    m.set({ prefix: '10.3.0.0/24', nexthops: viaA as FibRoute['nexthops'] });
    m.set({ prefix: '10.4.0.0/24', nexthops: viaA as FibRoute['nexthops'] });
    expect(await m.reconcile()).toEqual({ removed: 0, added: 2, kept: 2 });
    expect(rec.routeOps).toBe(2);
    const byDst = (): Map<string, number | undefined> => new Map(routes(table).map((r) => [r.dst, r.nhid]));
    const a = nexthops(protocol).find((o) => o.gateway === '10.255.0.1')!;
    const c = nexthops(protocol).find((o) => o.gateway === '10.255.1.1')!;
    expect(byDst()).toEqual(
      new Map([
        ['10.1.0.0/24', undefined],
        ['10.2.0.0/24', c.id],
        ['10.3.0.0/24', undefined],
        ['10.4.0.0/24', a.id],
      ]),
    );
    // The old routes over A name no object: deleting them must not release A, which 10.4 names.
    m.delete('10.1.0.0/24');
    m.delete('10.3.0.0/24');
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    expect(byDst()).toEqual(
      new Map([
        ['10.2.0.0/24', c.id],
        ['10.4.0.0/24', a.id],
      ]),
    );
    expect(nexthops(protocol).map((o) => o.id).sort()).toEqual([a.id, c.id].sort());
    m.delete('10.2.0.0/24');
    m.delete('10.4.0.0/24');
    await m.flush();
    expect(nexthops(protocol)).toEqual([]);
    expect(routes(table)).toEqual([]);
  });

  it('duplicate objects of ours (a crash between two writes): the one more routes name is kept; the other goes with the last route naming it', async () => {
    const protocol = 222;
    const table = 3600;
    const t = String(table);
    // The lower id is the duplicate: the streamed dump's first guess (no counts yet) takes it, the counts take the other.
    const dup = NH_ID_FIRST + 0x600;
    const used = NH_ID_FIRST + 0x601;
    for (const id of [dup, used]) ns.ip('nexthop', 'add', 'id', String(id), 'via', '10.255.0.1', 'dev', 'wg-a', 'proto', String(protocol));
    ns.ip('route', 'add', '10.1.0.0/24', 'nhid', String(dup), 'proto', String(protocol), 'metric', '32', 'table', t);
    for (const p of ['10.2.0.0/24', '10.3.0.0/24', '10.4.0.0/24']) ns.ip('route', 'add', p, 'nhid', String(used), 'proto', String(protocol), 'metric', '32', 'table', t);
    const m = new FibManager(new LinuxFib(new Recording(nl), { table, protocol, metric: 32 }));
    expect(await m.adopt()).toBe(4);
    for (const p of ['10.1.0.0/24', '10.2.0.0/24', '10.3.0.0/24', '10.4.0.0/24']) m.set({ prefix: p, nexthops: viaA as FibRoute['nexthops'] });
    expect(await m.reconcile()).toEqual({ removed: 0, added: 0, kept: 4 });
    // Withdrawn one by one: the object the three name goes with the last of them, not before and not never.
    m.delete('10.2.0.0/24');
    m.delete('10.3.0.0/24');
    await m.flush();
    expect(nexthops(protocol).map((o) => o.id).sort()).toEqual([dup, used]);
    m.delete('10.4.0.0/24');
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    expect(nexthops(protocol).map((o) => o.id)).toEqual([dup]);
    expect(routes(table).map((r) => r.dst)).toEqual(['10.1.0.0/24']);
    // The duplicate's last route withdrawn: the duplicate goes too (it was left behind, and the next
    // LinuxFib of this protocol, finding an object of ours, deleted nothing until a dump counted users).
    m.delete('10.1.0.0/24');
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    expect(routes(table)).toEqual([]);
    expect(nexthops(protocol)).toEqual([]);
  });

  it("an operator's objects and routes are left alone: another protocol, our protocol outside our range, another protocol inside it", async () => {
    const protocol = 214;
    const table = 3400;
    const t = String(table);
    ns.ip('nexthop', 'add', 'id', '7', 'via', '10.255.0.1', 'dev', 'wg-a', 'proto', 'static');
    ns.ip('nexthop', 'add', 'id', '8', 'via', '10.255.0.1', 'dev', 'wg-a', 'proto', String(protocol));
    ns.ip('nexthop', 'add', 'id', String(NH_ID_FIRST), 'via', '10.255.0.1', 'dev', 'wg-a', 'proto', 'static');
    ns.ip('route', 'add', '10.1.0.0/24', 'nhid', '7', 'proto', 'static', 'table', t);
    ns.ip('route', 'add', '10.2.0.0/24', 'nhid', '8', 'proto', String(protocol), 'metric', '32', 'table', t);
    const fib = new LinuxFib(nl, { table, protocol, metric: 32 });
    const m = new FibManager(fib);
    // The route with our tag is ours even though its object is not: adopted and swept, the object stays.
    expect(await m.adopt()).toBe(1);
    m.set({ prefix: '10.1.0.0/24', nexthops: viaA as FibRoute['nexthops'] });
    m.set({ prefix: '10.3.0.0/24', nexthops: viaA as FibRoute['nexthops'] });
    expect(await m.reconcile()).toEqual({ removed: 1, added: 2, kept: 0 });
    const ours = nexthops(protocol).filter((o) => o.id !== 8);
    expect(ours).toHaveLength(1);
    expect(ours[0]!.id).not.toBe(NH_ID_FIRST);
    const shown = routes(table).map((r) => `${r.dst} ${r.nhid}`).sort();
    expect(shown).toEqual([`10.1.0.0/24 ${ours[0]!.id}`, `10.1.0.0/24 7`, `10.3.0.0/24 ${ours[0]!.id}`].sort());

    // An id taken by somebody after our start is skipped (EEXIST) and the next one used.
    const next = ours[0]!.id + 1;
    ns.ip('nexthop', 'add', 'id', String(next), 'via', '10.255.1.1', 'dev', 'wg-c', 'proto', 'static');
    m.set({ prefix: '10.4.0.0/24', nexthops: viaC as FibRoute['nexthops'] });
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    const c = nexthops(protocol).find((o) => o.gateway === '10.255.1.1')!;
    expect(c.id).not.toBe(next);
    expect(routes(table).find((r) => r.dst === '10.4.0.0/24')?.nhid).toBe(c.id);

    for (const p of ['10.1.0.0/24', '10.3.0.0/24', '10.4.0.0/24']) m.delete(p);
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    const left = ns.json<IpNexthop[]>('nexthop', 'show').map((o) => o.id).sort((x, y) => x - y);
    expect(left).toEqual(expect.arrayContaining([7, 8, NH_ID_FIRST, next]));
    expect(nexthops(protocol).map((o) => o.id)).toEqual([8]);
    expect(routes(table)).toEqual([expect.objectContaining({ dst: '10.1.0.0/24', nhid: 7 })]);
    for (const id of [7, 8, NH_ID_FIRST, next]) ns.ip('nexthop', 'del', 'id', String(id));
  });

  it('an object the kernel removed with its device is made again when a route needs it', async () => {
    const protocol = 215;
    const table = 3500;
    ns.veth('wg-e', 'wg-f');
    ns.ip('addr', 'add', '10.255.2.0/31', 'dev', 'wg-e');
    const viaE = [{ address: '10.255.2.1', interface: 'wg-e' }];
    const m = new FibManager(new LinuxFib(nl, { table, protocol, metric: 32 }));
    m.set({ prefix: '10.1.0.0/24', nexthops: viaE });
    await m.flush();
    expect(nexthops(protocol)).toHaveLength(1);
    // The tunnel goes and comes back: the kernel took the object and the route with it.
    ns.ip('link', 'del', 'wg-e');
    expect(nexthops(protocol)).toEqual([]);
    ns.veth('wg-e', 'wg-f');
    ns.ip('addr', 'add', '10.255.2.0/31', 'dev', 'wg-e');
    m.set({ prefix: '10.2.0.0/24', nexthops: viaE });
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    expect(nexthops(protocol)).toHaveLength(1);
    expect(routes(table).map((r) => r.dst)).toEqual(['10.2.0.0/24']);
    ns.ip('link', 'del', 'wg-e');
  });
});

describe("LinuxFib failover (PIC): a dead tunnel's routes move to their backups by one write per shared object", () => {
  it('100 000 routes over wg-a, half with a backup over wg-c: failover moves those in one replace, deletes the rest in one delete; the manager catching up writes nothing wrong', async () => {
    const protocol = 220;
    const table = 4000;
    const fib = new LinuxFib(nl, { table, protocol, metric: 32 });
    const m = new FibManager(fib);
    const N = 100_000;
    const prefix = (i: number): string => `${16 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`;
    for (let i = 0; i < N; i++) {
      m.set(i % 2 === 0 ? { prefix: prefix(i), nexthops: viaA as FibRoute['nexthops'], backup: viaC } : { prefix: prefix(i), nexthops: viaA as FibRoute['nexthops'] });
    }
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    // Two objects over wg-a: one with the backup over wg-c, one without.
    expect(nexthops(protocol).filter((o) => o.dev === 'wg-a')).toHaveLength(2);

    const t0 = performance.now();
    const r = await m.between(() => fib.failover(['wg-a']));
    const ms = performance.now() - t0;
    expect(r).toEqual({ moved: 1, removed: 1, rewrite: true });
    // Nothing of ours points into wg-a any more; the routes with a backup go over wg-c.
    expect(nexthops(protocol).filter((o) => o.dev === 'wg-a')).toEqual([]);
    const shown = routes(table);
    expect(shown).toHaveLength(N / 2);
    const moved = nexthops(protocol).find((o) => o.dev === 'wg-c')!;
    expect(moved.gateway).toBe('10.255.1.1');
    expect(shown.every((x) => x.nhid === moved.id)).toBe(true);
    console.log(`linux failover: ${N} routes over one tunnel, ${N / 2} moved to their backup and ${N / 2} removed in ${ms.toFixed(1)} ms (2 nexthop writes)`);

    // The RIB catches up: the routes with a backup now want wg-c plainly, the others are withdrawn.
    for (let i = 0; i < N; i++) {
      if (i % 2 === 0) m.set({ prefix: prefix(i), nexthops: viaC as FibRoute['nexthops'] });
      else m.delete(prefix(i));
    }
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    expect(m.size).toBe(N / 2);
    const after = routes(table);
    expect(after).toHaveLength(N / 2);
    // One plain object over wg-c names them all; the retired one is gone.
    const objs = nexthops(protocol);
    expect(objs).toHaveLength(1);
    expect(objs[0]).toMatchObject({ gateway: '10.255.1.1', dev: 'wg-c' });
    expect(after.every((x) => x.nhid === objs[0]!.id)).toBe(true);
    // A new route over wg-a with a backup gets a fresh object (the retired one is never named again).
    m.set({ prefix: '10.9.0.0/24', nexthops: viaA as FibRoute['nexthops'], backup: viaC });
    await m.flush();
    expect(nexthops(protocol).filter((o) => o.dev === 'wg-a')).toHaveLength(1);
    for (let i = 0; i < N; i += 2) m.delete(prefix(i));
    m.delete('10.9.0.0/24');
    await m.flush();
    expect(nexthops(protocol)).toEqual([]);
    expect(routes(table)).toEqual([]);
  }, 120_000);

  it('the neighbor back before its withdrawal was flushed (the RIB wants its routes as they were): rewriteThrough writes them again', async () => {
    // Seen in bird-bfd: a forged BFD Down took the session down, BIRD was Established again 3 ms
    // after the failover, and the withdrawal and the same route again met in one flush.
    const protocol = 224;
    const table = 4200;
    const fib = new LinuxFib(nl, { table, protocol, metric: 32 });
    const m = new FibManager(fib);
    const routeA = { prefix: '10.2.0.0/24', nexthops: viaA as FibRoute['nexthops'] };
    const routeB = { prefix: '10.3.0.0/24', nexthops: viaA as FibRoute['nexthops'], backup: viaC };
    m.set(routeA);
    m.set(routeB);
    m.set({ prefix: '10.4.0.0/24', nexthops: viaC as FibRoute['nexthops'] });
    await m.flush();
    const r = await m.between(() => fib.failover(['wg-a']));
    expect(r).toEqual({ moved: 1, removed: 1, rewrite: true });
    expect(routes(table).map((x) => x.dst).sort()).toEqual(['10.3.0.0/24', '10.4.0.0/24']);
    // Only the routes through the dead tunnel are marked.
    expect(m.rewriteThrough(new Set(['wg-a']))).toBe(2);
    m.delete(routeA.prefix);
    m.delete(routeB.prefix);
    m.set(routeA);
    m.set(routeB);
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    const shown = routes(table);
    expect(shown.map((x) => x.dst).sort()).toEqual(['10.2.0.0/24', '10.3.0.0/24', '10.4.0.0/24']);
    // Both name live objects over wg-a again, not the retired ones.
    const overA = new Set(nexthops(protocol).filter((o) => o.dev === 'wg-a').map((o) => o.id));
    expect(shown.filter((x) => x.dst !== '10.4.0.0/24').every((x) => overA.has(x.nhid!))).toBe(true);
    for (const p of ['10.2.0.0/24', '10.3.0.0/24', '10.4.0.0/24']) m.delete(p);
    await m.flush();
    expect(routes(table)).toEqual([]);
  });

  it('after the failover, a flush before the RIB reached the routes (it withdraws in steps) leaves them on their backups; FibManager.restore (the session back) writes the ones wanted as they were', async () => {
    // The agent withdraws a dead neighbor's paths from the RIB in steps of 8192, each flushed on its own:
    // a flush in between must not write the routes the RIB still wants through the dead tunnel (fresh
    // objects over wg-a would send them into it again, one write per route).
    const protocol = 223;
    const table = 4300;
    const fib = new LinuxFib(nl, { table, protocol, metric: 32 });
    const m = new FibManager(fib);
    const routeA = { prefix: '10.2.0.0/24', nexthops: viaA as FibRoute['nexthops'] };
    const routeB = { prefix: '10.3.0.0/24', nexthops: viaA as FibRoute['nexthops'], backup: viaC };
    const routeC = { prefix: '10.4.0.0/24', nexthops: viaA as FibRoute['nexthops'], backup: viaC };
    m.set(routeA);
    m.set(routeB);
    m.set(routeC);
    await m.flush();
    expect(await m.failover(['wg-a'])).toEqual({ moved: 1, removed: 1 });
    const moved = nexthops(protocol).find((o) => o.dev === 'wg-c')!;
    // The RIB's first step: routeA withdrawn; routeB and routeC not reached yet.
    m.delete(routeA.prefix);
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    expect(nexthops(protocol).filter((o) => o.dev === 'wg-a')).toEqual([]);
    expect(routes(table).map((x) => [x.dst, x.nhid])).toEqual([
      ['10.3.0.0/24', moved.id],
      ['10.4.0.0/24', moved.id],
    ]);
    // The neighbor is back before the rest was written: routeB withdrawn, sent again, in one flush with the restore.
    expect(await m.restore(['wg-a'])).toEqual({ restored: 0 });
    m.delete(routeB.prefix);
    m.set(routeB);
    m.set(routeA);
    m.delete(routeC.prefix);
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    const overA = new Set(nexthops(protocol).filter((o) => o.dev === 'wg-a').map((o) => o.id));
    const shown = routes(table);
    expect(shown.map((x) => x.dst)).toEqual(['10.2.0.0/24', '10.3.0.0/24']);
    expect(shown.every((x) => overA.has(x.nhid!))).toBe(true);
    for (const p of ['10.2.0.0/24', '10.3.0.0/24']) m.delete(p);
    await m.flush();
    expect(routes(table)).toEqual([]);
  });

  it("the tunnel's own host route (no backup) stays in the kernel after a failover, without waiting for the session to come back", async () => {
    // The failover deletes the interface-only object of wg-a (no backup), and the kernel the tunnel's
    // host route with it; the session can be down for good (its peer gone), so the route is written
    // again at the next flush, not at restore(): it is the tunnel's, not a path through the dead neighbor.
    const protocol = 222;
    const table = 4400;
    const fib = new LinuxFib(nl, { table, protocol, metric: 32 });
    const m = new FibManager(fib);
    const host = { prefix: '10.255.0.1/32', nexthops: [{ interface: 'wg-a' }] };
    const learned = { prefix: '10.2.0.0/24', nexthops: viaA as FibRoute['nexthops'], backup: viaC };
    m.set(host, 'tunnel');
    m.set(learned);
    await m.flush();
    expect(await m.failover(['wg-a'])).toEqual({ moved: 1, removed: 1 });
    // The RIB withdraws the dead neighbor's path; its flush is the first write after the failover.
    m.delete(learned.prefix);
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    const shown = routes(table);
    expect(shown.map((x) => x.dst)).toEqual(['10.255.0.1']);
    const overA = nexthops(protocol).filter((o) => o.dev === 'wg-a' && o.gateway === undefined);
    expect(overA.map((o) => o.id)).toEqual([shown[0]!.nhid]);
    m.delete(host.prefix, 'tunnel');
    await m.flush();
    expect(routes(table)).toEqual([]);
  });

  it('an ECMP group loses its dead member and keeps forwarding over the other', async () => {
    const protocol = 221;
    const table = 4100;
    const fib = new LinuxFib(nl, { table, protocol, metric: 32 });
    const m = new FibManager(fib);
    m.set({ prefix: '10.1.0.0/24', nexthops: ecmp as FibRoute['nexthops'] });
    await m.flush();
    expect(await fib.failover(['wg-a'])).toEqual({ moved: 1, removed: 1, rewrite: true });
    const group = nexthops(protocol).find((o) => o.group !== undefined)!;
    expect(group.group).toHaveLength(1);
    expect(routes(table)).toEqual([expect.objectContaining({ dst: '10.1.0.0/24', nhid: group.id })]);
    m.set({ prefix: '10.1.0.0/24', nexthops: viaC as FibRoute['nexthops'] });
    await m.flush();
    m.delete('10.1.0.0/24');
    await m.flush();
    expect(nexthops(protocol)).toEqual([]);
  });
});

describe('LinuxFib without nexthop objects', () => {
  for (const refuse of ['write', 'dump'] as const) {
    it(`${refuse === 'write' ? 'RTM_NEWNEXTHOP refused' : 'a kernel without them (RTM_GETNEXTHOP fails)'}: detected once, logged, routes carry gateway + oif`, async () => {
      const protocol = refuse === 'write' ? 216 : 217;
      const table = refuse === 'write' ? 3600 : 3700;
      const rec = new Recording(nl, refuse);
      const { lines, log } = logger();
      const fib = new LinuxFib(rec, { table, protocol, metric: 32 }, { log });
      const m = new FibManager(fib);
      expect(await m.adopt()).toBe(0);
      m.set({ prefix: '10.1.0.0/24', nexthops: viaA as FibRoute['nexthops'] });
      m.set({ prefix: '10.2.0.0/24', nexthops: ecmp as FibRoute['nexthops'] });
      await m.flush();
      m.set({ prefix: '10.3.0.0/24', nexthops: viaC as FibRoute['nexthops'] });
      await m.flush();
      expect(m.lastErrors).toEqual([]);
      expect(await fib.nexthopMode()).toBe('routes');
      expect(lines.filter((l) => l.startsWith('warn routes carry their own next hops'))).toHaveLength(1);
      expect(lines[0]).toContain(refuse === 'write' ? 'EOPNOTSUPP' : 'Linux 5.3');
      // Only the probe was tried.
      expect(rec.nexthopOps.length).toBe(refuse === 'write' ? 2 : 0);
      const shown = routes(table);
      expect(shown.map((r) => r.nhid)).toEqual([undefined, undefined, undefined]);
      expect(shown.find((r) => r.dst === '10.1.0.0/24')?.gateway).toBe('10.255.0.1');
      expect(nexthops(protocol)).toEqual([]);
      expect(await m.reconcile()).toEqual({ removed: 0, added: 0, kept: 3 });
      for (const p of ['10.1.0.0/24', '10.2.0.0/24', '10.3.0.0/24']) m.delete(p);
      await m.flush();
      expect(routes(table)).toEqual([]);
    });
  }

  it('an agent that ran with nexthop objects, restarted without them (OSPF bridge): its routes are rewritten with their own next hops, its objects go', async () => {
    const protocol = 220;
    const table = 4000;
    const want = (m: FibManager): void => {
      for (let i = 0; i < 100; i++) m.set({ prefix: v4(i), nexthops: (i % 2 === 0 ? viaA : ecmp) as FibRoute['nexthops'] });
    };
    const first = new FibManager(new LinuxFib(nl, { table, protocol, metric: 32 }));
    want(first);
    await first.flush();
    expect(nexthops(protocol)).toHaveLength(3);
    const { lines, log } = logger();
    const m = new FibManager(new LinuxFib(nl, { table, protocol, metric: 32 }, { nexthopObjects: false, log }));
    expect(await m.adopt()).toBe(100);
    want(m);
    m.delete(v4(98));
    m.delete(v4(99));
    expect(await m.reconcile()).toEqual({ removed: 2, added: 98, kept: 0 });
    expect(m.lastErrors).toEqual([]);
    expect(lines.some((l) => l.includes('rewritten with their own next hops'))).toBe(true);
    expect(routes(table).every((r) => r.nhid === undefined)).toBe(true);
    expect(routes(table)).toHaveLength(98);
    expect(nexthops(protocol)).toEqual([]);
    for (let i = 0; i < 98; i++) m.delete(v4(i));
    await m.flush();
  });

  it('a loopback still down at start is no refusal (the probe is a blackhole object, which wants it up)', async () => {
    ns.ip('link', 'set', 'lo', 'down');
    const fib = new LinuxFib(nl, { table: 3900, protocol: 219, metric: 32 });
    try {
      expect(await fib.nexthopMode()).toBe('objects');
    } finally {
      ns.ip('link', 'set', 'lo', 'up');
    }
    const m = new FibManager(fib);
    m.set({ prefix: '10.1.0.0/24', nexthops: viaA as FibRoute['nexthops'] });
    await m.flush();
    expect(routes(3900)[0]?.nhid).toBe(nexthops(219)[0]?.id);
    m.delete('10.1.0.0/24');
    await m.flush();
    expect(nexthops(219)).toEqual([]);
  });

  it('nexthopObjects: false keeps routes as they were, without asking the kernel', async () => {
    const rec = new Recording(nl);
    const m = new FibManager(new LinuxFib(rec, { table: 3800, protocol: 218, metric: 32 }, { nexthopObjects: false }));
    m.set({ prefix: '10.1.0.0/24', nexthops: viaA as FibRoute['nexthops'] });
    await m.flush();
    expect(rec.nexthopOps).toEqual([]);
    expect(routes(3800)[0]).toMatchObject({ dst: '10.1.0.0/24', gateway: '10.255.0.1' });
    m.delete('10.1.0.0/24');
    await m.flush();
  });
});
