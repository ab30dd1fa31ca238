/**
 * PIC on Linux (issue 10: a failed-over tunnel stays out of the FIB "until no
 * FIB entry points at it"): when one tunnel of an ECMP set is back while
 * another member's tunnel is still failed over, the restore's rewrite must not
 * put the dead member back. The RIB still wants the whole set (it withdraws a
 * dead neighbor's paths in steps), so the set's object holds only the members
 * whose tunnels are up, and gets the others back, in place, when their
 * tunnels are restored. Real kernel objects in a namespace of its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Rtnetlink } from '#netlink/index';
import type { NexthopWrite, RouteOps } from '#netlink/types';
import { FibManager, LinuxFib, NH_ID_FIRST, NH_ID_LAST } from '#fib/index';
import type { FibNextHop, FibRoute } from '#fib/index';
import { closeNetns, netnsWithLinks, type TestNetns } from '../netlink/netns.js';

let ns: TestNetns;
let nl: Rtnetlink;

beforeAll(
  async () =>
    ({ ns, nl } = await netnsWithLinks([
      { name: 'wg-a', peer: 'wg-a-p', addresses: ['10.255.0.0/31'] },
      { name: 'wg-b', peer: 'wg-b-p', addresses: ['10.255.1.0/31'] },
      { name: 'wg-c', peer: 'wg-c-p', addresses: ['10.255.2.0/31'] },
    ])),
);
afterAll(() => closeNetns(ns, nl));

interface IpNexthop {
  id: number;
  dev?: string;
  group?: { id: number }[];
  protocol?: string;
}

const A: FibNextHop = Object.freeze({ address: '10.255.0.1', interface: 'wg-a' });
const B: FibNextHop = Object.freeze({ address: '10.255.1.1', interface: 'wg-b' });
const C: FibNextHop = Object.freeze({ address: '10.255.2.1', interface: 'wg-c' });
const AB: FibNextHop[] = [A, B];
const ABC: FibNextHop[] = [A, B, C];
const onlyB: FibNextHop[] = [B];
const onlyC: FibNextHop[] = [C];
const metric = 33;

/** What the kernel holds of ours: each route's devices (through its object), our objects, and those no route names. */
function kernel(protocol: number, table: number): { routes: Map<string, string[]>; objects: IpNexthop[]; orphans: number[] } {
  const all = ns.json<IpNexthop[]>('nexthop', 'show');
  const byId = new Map(all.map((o) => [o.id, o]));
  const objects = all.filter((o) => o.protocol === String(protocol) && o.id >= NH_ID_FIRST && o.id <= NH_ID_LAST);
  const routes = new Map<string, string[]>();
  const named = new Set<number>();
  for (const r of ns.json<{ dst: string; nhid?: number }[]>('-4', 'route', 'show', 'table', String(table), 'proto', String(protocol))) {
    const o = r.nhid === undefined ? undefined : byId.get(r.nhid);
    if (o === undefined) continue;
    named.add(o.id);
    const hops = o.group === undefined ? [o] : o.group.map((g) => byId.get(g.id)!);
    for (const h of hops) named.add(h.id);
    routes.set(r.dst, hops.map((h) => h.dev!).sort());
  }
  return { routes, objects, orphans: objects.filter((o) => !named.has(o.id)).map((o) => o.id) };
}

/** Our objects (a group, or a single next hop) that name `dev`: a group by a member through it. */
function objectsThrough(objects: readonly IpNexthop[], dev: string): number[] {
  const byId = new Map(objects.map((o) => [o.id, o]));
  return objects.filter((o) => o.dev === dev || (o.group?.some((g) => byId.get(g.id)?.dev === dev) ?? false)).map((o) => o.id);
}

const prefix = (block: number, i: number): string => `10.${block}.${i}.0/24`;
const BULK = 10_000;

/** LinuxFib's routes found by prefix rather than by their next hops (a text per route): none is expected here. */
const byPrefix = (fib: LinuxFib): number => (fib as unknown as { legacy: Map<string, number> }).legacy.size;

async function setup(protocol: number, table: number, netlink: RouteOps = nl): Promise<{ m: FibManager; fib: LinuxFib; want: Map<string, FibRoute> }> {
  const fib = new LinuxFib(netlink, { table, protocol, metric });
  const m = new FibManager(fib);
  const want = new Map<string, FibRoute>();
  const put = (r: FibRoute): void => {
    want.set(r.prefix, r);
    m.set(r);
  };
  for (let i = 0; i < 16; i++) {
    put({ prefix: prefix(1, i), nexthops: AB }); // ECMP over a and b
    put({ prefix: prefix(2, i), nexthops: ABC }); // ECMP over a, b and c
    put({ prefix: prefix(3, i), nexthops: onlyB, backup: onlyC }); // b with backup c (PIC moves it)
  }
  // More sets over a and b than one flush chunk (8192) holds: the restore's rewrite spans several batches.
  for (let i = 0; i < BULK; i++) put({ prefix: `10.${64 + (i >> 8)}.${i & 255}.0/24`, nexthops: AB });
  await m.flush();
  expect(m.lastErrors).toEqual([]);
  const k = kernel(protocol, table);
  expect(k.routes.get(prefix(1, 0))).toEqual(['wg-a', 'wg-b']);
  expect(k.routes.get(prefix(2, 0))).toEqual(['wg-a', 'wg-b', 'wg-c']);
  expect(k.routes.get(prefix(3, 0))).toEqual(['wg-b']);
  return { m, fib, want };
}

/** After a restore of a with b still failed over: every route of ours stays, none and no object of ours names wg-b. */
function expectBOut(protocol: number, table: number, stage: string): void {
  const k = kernel(protocol, table);
  expect(objectsThrough(k.objects, 'wg-b'), `${stage}: objects of ours through wg-b`).toEqual([]);
  for (let i = 0; i < 16; i++) {
    expect(k.routes.get(prefix(1, i)), `${stage}: ${prefix(1, i)}`).toEqual(['wg-a']);
    expect(k.routes.get(prefix(2, i)), `${stage}: ${prefix(2, i)}`).toEqual(['wg-a', 'wg-c']);
    expect(k.routes.get(prefix(3, i)), `${stage}: ${prefix(3, i)}`).toEqual(['wg-c']);
  }
  expect(k.orphans, `${stage}: objects of ours no route names`).toEqual([]);
}

/** Both back: the sets are whole again, on one group each, nothing left over. */
function expectWhole(protocol: number, table: number): void {
  const k = kernel(protocol, table);
  expect(k.routes.get('10.102.15.0/24')).toEqual(['wg-a', 'wg-b']);
  for (let i = 0; i < 16; i++) {
    expect(k.routes.get(prefix(1, i))).toEqual(['wg-a', 'wg-b']);
    expect(k.routes.get(prefix(2, i))).toEqual(['wg-a', 'wg-b', 'wg-c']);
    expect(k.routes.get(prefix(3, i))).toEqual(['wg-b']);
  }
  expect(k.orphans).toEqual([]);
  // One group per set, one object per next hop and one for "b with backup c".
  expect(k.objects.filter((o) => o.group !== undefined)).toHaveLength(2);
  expect(k.objects).toHaveLength(6);
}

const EPERM = 1;

/** The real netlink client, except that while `refuse.on` group replaces are not sent and come back refused (EPERM). */
function refusingGroupReplaces(refuse: { on: boolean }): RouteOps {
  return new Proxy(nl, {
    get(target, key) {
      if (key === 'nexthopWrite') {
        return async (ops: readonly NexthopWrite[]) => {
          if (!refuse.on) return target.nexthopWrite(ops);
          const sent = ops.map((op, index) => ({ op, index })).filter(({ op }) => !(op.op === 'replace' && op.nexthop.group !== undefined));
          const failed = (await target.nexthopWrite(sent.map((s) => s.op))).map((f) => ({ index: sent[f.index]!.index, errno: f.errno }));
          for (let i = 0; i < ops.length; i++) if (!sent.some((s) => s.index === i)) failed.push({ index: i, errno: -EPERM });
          return failed.sort((x, y) => x.index - y.index);
        };
      }
      const v: unknown = Reflect.get(target, key, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

async function withdrawAll(m: FibManager, want: Map<string, FibRoute>, protocol: number, table: number): Promise<void> {
  for (const p of want.keys()) m.delete(p);
  await m.flush();
  expect(m.lastErrors).toEqual([]);
  expect(kernel(protocol, table).objects).toEqual([]);
}

describe('PIC restore on Linux: a member whose tunnel is still failed over stays out of the ECMP set', () => {
  it('a then b failed over, a restored: no route or group of ours names wg-b; b restored: both members back (issue 10)', async () => {
    const protocol = 233;
    const table = 5300;
    const { m, fib, want } = await setup(protocol, table);
    await m.failover(['wg-a']);
    await m.failover(['wg-b']);
    // b's routes with a backup are on c; the sets over a and b are gone with both members; (a, b, c) keeps c.
    expect(objectsThrough(kernel(protocol, table).objects, 'wg-b')).toEqual([]);
    // a's neighbor is back and re-sends its routes; the RIB has not withdrawn b's paths yet: it still wants every set whole.
    await m.restore(['wg-a']);
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    expectBOut(protocol, table, 'a restored');
    // The restore's rewrite moves every route off the retired objects in one flush, whatever its batches: none is
    // found by prefix (a text per route) meanwhile.
    expect(byPrefix(fib)).toBe(0);
    expect(kernel(protocol, table).routes.get('10.102.15.0/24')).toEqual(['wg-a']);
    // A later write of a set with the dead member (another prefix, the RIB's own) does not name it either.
    m.set({ prefix: prefix(4, 0), nexthops: AB });
    want.set(prefix(4, 0), { prefix: prefix(4, 0), nexthops: AB });
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    expect(kernel(protocol, table).routes.get(prefix(4, 0))).toEqual(['wg-a']);
    expectBOut(protocol, table, 'a set written while b is down');
    // b is back: its member returns to the sets (the two groups replaced in place), its routes with a backup to wg-b.
    expect(await m.restore(['wg-b'])).toEqual({ restored: 2 });
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    expect(kernel(protocol, table).routes.get(prefix(4, 0))).toEqual(['wg-a', 'wg-b']);
    m.delete(prefix(4, 0));
    want.delete(prefix(4, 0));
    await m.flush();
    expectWhole(protocol, table);
    await withdrawAll(m, want, protocol, table);
  }, 30_000);

  it('a and b failed over in one call, a restored, then the RIB withdraws b in steps, then b restored', async () => {
    const protocol = 234;
    const table = 5400;
    const { m, fib, want } = await setup(protocol, table);
    await m.failover(['wg-a', 'wg-b']);
    await m.restore(['wg-a']);
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    expectBOut(protocol, table, 'a restored');
    // The restore's rewrite moves every route off the retired objects in one flush, whatever its batches: none is
    // found by prefix (a text per route) meanwhile.
    expect(byPrefix(fib)).toBe(0);
    expect(kernel(protocol, table).routes.get('10.102.15.0/24')).toEqual(['wg-a']);
    // The RIB's first withdrawal step for b: half of the sets lose b (their next best path: the rest of the set).
    for (let i = 0; i < 8; i++) {
      m.set({ prefix: prefix(1, i), nexthops: [A] });
      m.set({ prefix: prefix(2, i), nexthops: [A, C] });
      m.set({ prefix: prefix(3, i), nexthops: [C] });
    }
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    expectBOut(protocol, table, 'first withdrawal step');
    // b back before the rest was withdrawn: the RIB wants every route as at the start.
    expect(await m.restore(['wg-b'])).toEqual({ restored: 2 });
    for (const r of want.values()) m.set(r);
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    expectWhole(protocol, table);
    await withdrawAll(m, want, protocol, table);
  }, 30_000);

  it('b restored but the kernel refuses to give a group its member back: the group is retired and its routes written on a whole one', async () => {
    const protocol = 236;
    const table = 5600;
    const refuse = { on: false };
    const { m, want } = await setup(protocol, table, refusingGroupReplaces(refuse));
    await m.failover(['wg-a', 'wg-b']);
    await m.restore(['wg-a']);
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    expectBOut(protocol, table, 'a restored');
    refuse.on = true;
    expect(await m.restore(['wg-b'])).toEqual({ restored: 0 });
    refuse.on = false;
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    expectWhole(protocol, table);
    await withdrawAll(m, want, protocol, table);
  }, 30_000);

  it('b failed over; the RIB writes b alone and a set over a and b, then withdraws b alone: no object of ours over wg-b is left unnamed; b restored: the set is whole', async () => {
    const protocol = 238;
    const table = 5800;
    const { m, want } = await setup(protocol, table);
    await m.failover(['wg-b']);
    // In the window (the RIB has not withdrawn b's paths): a route via b alone (the RIB's own write through the
    // dead tunnel), and a new set over a and b, which leaves b out and shares b's object with the first.
    const alone = '10.9.0.0/24';
    const pair = '10.9.1.0/24';
    m.set({ prefix: alone, nexthops: onlyB });
    m.set({ prefix: pair, nexthops: AB });
    want.set(pair, { prefix: pair, nexthops: AB });
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    expect(kernel(protocol, table).routes.get(alone)).toEqual(['wg-b']);
    expect(kernel(protocol, table).routes.get(pair)).toEqual(['wg-a']);
    // The RIB withdraws the route via b alone: b's object, held only by the set's group that leaves it out, goes.
    m.delete(alone);
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    const k = kernel(protocol, table);
    expect(objectsThrough(k.objects, 'wg-b')).toEqual([]);
    expect(k.orphans).toEqual([]);
    expect(k.routes.get(pair)).toEqual(['wg-a']);
    // b back: its object is made again and the sets take it back.
    await m.restore(['wg-b']);
    expect(kernel(protocol, table).routes.get(pair)).toEqual(['wg-a', 'wg-b']);
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    expectWhole(protocol, table);
    await withdrawAll(m, want, protocol, table);
  }, 30_000);
});
