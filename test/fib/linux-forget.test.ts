/**
 * A neighbor removed from the configuration (reload): its tunnel fails over,
 * the RIB withdraws its routes, the tunnel is deleted, and the FIB forgets
 * it (FibManager.forget). No down or parked state of the removed interface
 * may remain: it would make every later write scan every nexthop object
 * (NexthopTable.parked), and a new neighbor on the same interface name would
 * be left out of its ECMP sets until its session came up and restored it.
 * Real kernel objects in a namespace of its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Rtnetlink } from '#netlink/index';
import { FibManager, LinuxFib } from '#fib/index';
import type { FibNextHop } from '#fib/index';
import { closeNetns, netnsWithLinks, type TestNetns } from '../netlink/netns.js';

let ns: TestNetns;
let nl: Rtnetlink;

beforeAll(
  async () =>
    ({ ns, nl } = await netnsWithLinks([
      { name: 'wg-a', peer: 'wg-a-p', addresses: ['10.255.0.0/31'] },
      { name: 'wg-b', peer: 'wg-b-p', addresses: ['10.255.1.0/31'] },
    ])),
);
afterAll(() => closeNetns(ns, nl));

const A: FibNextHop = Object.freeze({ address: '10.255.0.1', interface: 'wg-a' });
const B: FibNextHop = Object.freeze({ address: '10.255.1.1', interface: 'wg-b' });
const protocol = 235;
const table = 5500;

/** The devices of `dst`'s route of ours, through its nexthop object. */
function devices(dst: string): string[] {
  const all = ns.json<{ id: number; dev?: string; group?: { id: number }[] }[]>('nexthop', 'show');
  const byId = new Map(all.map((o) => [o.id, o]));
  const r = ns.json<{ dst: string; nhid?: number }[]>('-4', 'route', 'show', 'table', String(table), 'proto', String(protocol)).find((x) => x.dst === dst);
  const o = r?.nhid === undefined ? undefined : byId.get(r.nhid);
  if (o === undefined) return [];
  return (o.group === undefined ? [o] : o.group.map((g) => byId.get(g.id)!)).map((h) => h.dev!).sort();
}

/** LinuxFib's private state of failed-over tunnels. */
const downOf = (fib: LinuxFib): ReadonlySet<string> => (fib as unknown as { down: Set<string> }).down;
const rewriteAtRestoreOf = (m: FibManager): ReadonlySet<string> => (m as unknown as { rewriteAtRestore: Set<string> }).rewriteAtRestore;

describe('Linux FIB: a removed neighbor leaves no failover state behind', () => {
  it('failover, withdrawal, tunnel deleted, forget: nothing down; a new neighbor on the same interface name is in its ECMP sets at once', async () => {
    const fib = new LinuxFib(nl, { table, protocol, metric: 33 });
    const m = new FibManager(fib);
    for (let i = 0; i < 8; i++) {
      m.set({ prefix: `10.1.${i}.0/24`, nexthops: [A, B] });
      m.set({ prefix: `10.2.${i}.0/24`, nexthops: [B], backup: [A] });
    }
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    expect(devices('10.1.0.0/24')).toEqual(['wg-a', 'wg-b']);

    // b is removed: failover first, then the RIB's withdrawal of its paths (here in one flush).
    await m.failover(['wg-b']);
    expect(devices('10.2.0.0/24')).toEqual(['wg-a']);
    for (let i = 0; i < 8; i++) {
      m.set({ prefix: `10.1.${i}.0/24`, nexthops: [A] });
      m.set({ prefix: `10.2.${i}.0/24`, nexthops: [A] });
    }
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    // Its tunnel goes, and the FIB forgets it.
    ns.ip('link', 'del', 'wg-b');
    await m.forget(['wg-b']);
    expect([...downOf(fib)]).toEqual([]);
    expect([...rewriteAtRestoreOf(m)]).toEqual([]);

    // A new neighbor gets the same interface name; its routes are written before its session is Established
    // in the sense that nothing restores it: they must name it (it was never failed over).
    ns.veth('wg-b', 'wg-b-p');
    ns.ip('addr', 'add', '10.255.1.0/31', 'dev', 'wg-b');
    m.set({ prefix: '10.1.0.0/24', nexthops: [A, B] });
    m.set({ prefix: '10.3.0.0/24', nexthops: [B] });
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    expect(devices('10.1.0.0/24')).toEqual(['wg-a', 'wg-b']);
    expect(devices('10.3.0.0/24')).toEqual(['wg-b']);

    for (let i = 0; i < 8; i++) {
      m.delete(`10.1.${i}.0/24`);
      m.delete(`10.2.${i}.0/24`);
    }
    m.delete('10.3.0.0/24');
    await m.flush();
    expect(m.lastErrors).toEqual([]);
  }, 30_000);

  it('forget while routes through the tunnel are still installed (the tunnel deleted under them) does not put them back in groups', async () => {
    const p = 236;
    const t = 5600;
    const fib = new LinuxFib(nl, { table: t, protocol: p, metric: 33 });
    const m = new FibManager(fib);
    ns.veth('wg-c', 'wg-c-p');
    ns.ip('addr', 'add', '10.255.2.0/31', 'dev', 'wg-c');
    const C: FibNextHop = { address: '10.255.2.1', interface: 'wg-c' };
    m.set({ prefix: '10.4.0.0/24', nexthops: [A, C] });
    await m.flush();
    await m.failover(['wg-c']);
    ns.ip('link', 'del', 'wg-c');
    await m.forget(['wg-c']);
    // Another neighbor's restore finds no group to give wg-c back to.
    expect(await m.restore(['wg-a'])).toEqual({ restored: 0 });
    expect(downOf(fib).has('wg-c')).toBe(true);
    // Once the route is gone (and the objects through wg-c with it), nothing of wg-c stays.
    m.delete('10.4.0.0/24');
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    expect([...downOf(fib)]).toEqual([]);
  }, 30_000);
});
