/**
 * The agent's nexthop objects do not leak (design.md, ownership: what the
 * agent made it deletes once nothing uses it, and it touches nothing else).
 * One LinuxFib churns in a namespace of its own through what a production
 * agent goes through: routes over several tunnels, ECMP sets that change,
 * PIC backup pairs, a tunnel's failover, the RIB's withdrawal in steps, the
 * neighbor back (restore), a second failover before the first withdrawal was
 * flushed, a neighbor removed for good (its tunnel deleted), and a restart
 * (a new LinuxFib adopting and reconciling the kernel's state). After every
 * stage each object of ours in the kernel must be named by one of our routes
 * or be a member of a group that is; at the end, with no routes, none is left,
 * and the objects and routes of others are as they were. And PIC holds: no
 * route of ours forwards through a tunnel failed over and not restored (a
 * backup's tunnel dying too; a session up and down again before a flush).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Rtnetlink } from '#netlink/index';
import { FibManager, LinuxFib, NH_ID_FIRST, NH_ID_LAST } from '#fib/index';
import type { FibNextHop, FibRoute } from '#fib/index';
import { closeNetns, netnsWithLinks, type TestNetns } from '../netlink/netns.js';

let ns: TestNetns;
let nl: Rtnetlink;

const LINKS = [
  { name: 'wg-a', peer: 'wg-a-p', addresses: ['10.255.0.0/31', 'fd00:255::/127'] },
  { name: 'wg-c', peer: 'wg-c-p', addresses: ['10.255.1.0/31'] },
  { name: 'wg-e', peer: 'wg-e-p', addresses: ['10.255.2.0/31'] },
  { name: 'wg-g', peer: 'wg-g-p', addresses: ['10.255.3.0/31'] },
];

beforeAll(async () => ({ ns, nl } = await netnsWithLinks(LINKS)));
afterAll(() => closeNetns(ns, nl));

interface IpNexthop {
  id: number;
  gateway?: string;
  dev?: string;
  group?: { id: number; weight?: number }[];
  protocol?: string;
}

const hop = (address: string, iface: string): readonly FibNextHop[] => Object.freeze([Object.freeze({ address, interface: iface })]);
const A = hop('10.255.0.1', 'wg-a');
const A6 = hop('fd00:255::1', 'wg-a');
const C = hop('10.255.1.1', 'wg-c');
const E = hop('10.255.2.1', 'wg-e');
const G = hop('10.255.3.1', 'wg-g');
const set = (...hs: (readonly FibNextHop[])[]): readonly FibNextHop[] => Object.freeze(hs.map((h) => h[0]!));

const protocol = 231;
const table = 5100;
const metric = 32;

/**
 * The kernel's objects of ours that no route of ours names, directly or as a
 * member of a group a route names; and how many of ours there are.
 */
function orphans(proto = protocol, tbl = table, all = ns.json<IpNexthop[]>('nexthop', 'show')): { orphans: IpNexthop[]; ours: number } {
  const ours = all.filter((o) => o.protocol === String(proto) && o.id >= NH_ID_FIRST && o.id <= NH_ID_LAST);
  const named = new Set<number>();
  for (const family of ['-4', '-6']) {
    for (const r of ns.json<{ nhid?: number }[]>(family, 'route', 'show', 'table', String(tbl))) {
      if (r.nhid !== undefined) named.add(r.nhid);
    }
  }
  for (const o of all) if (named.has(o.id)) for (const m of o.group ?? []) named.add(m.id);
  return { orphans: ours.filter((o) => !named.has(o.id)), ours: ours.length };
}

/** Routes of ours whose object (or a member of their group) goes through a dead tunnel. */
function deadNamed(dead: ReadonlySet<string>, proto = protocol, tbl = table, objects = ns.json<IpNexthop[]>('nexthop', 'show')): string[] {
  if (dead.size === 0) return [];
  const all = new Map(objects.map((o) => [o.id, o]));
  const out: string[] = [];
  for (const r of ns.json<{ dst: string; nhid?: number }[]>('-4', 'route', 'show', 'table', String(tbl), 'proto', String(proto))) {
    const o = r.nhid === undefined ? undefined : all.get(r.nhid);
    if (o === undefined) continue;
    const hops = o.group === undefined ? [o] : o.group.map((g) => all.get(g.id)!);
    if (hops.some((h) => h.dev !== undefined && dead.has(h.dev))) out.push(r.dst);
  }
  return out;
}

/** Others' state: every object but ours, and the routes of other protocols in our table. */
function others(): string {
  const objs = ns
    .json<IpNexthop[]>('nexthop', 'show')
    .filter((o) => !(o.protocol === String(protocol) && o.id >= NH_ID_FIRST && o.id <= NH_ID_LAST))
    .sort((x, y) => x.id - y.id);
  const rs = ns.json<{ dst: string; protocol?: string }[]>('-4', 'route', 'show', 'table', String(table)).filter((r) => r.protocol !== String(protocol));
  return JSON.stringify({ objs, rs });
}

/** The wanted routes, applied to a manager as a RIB would: changed ones set, dropped ones deleted. */
class Wanted {
  readonly routes = new Map<string, FibRoute>();
  constructor(public m: FibManager) {}
  put(prefix: string, nexthops: readonly FibNextHop[], backup?: readonly FibNextHop[]): void {
    const r: FibRoute = backup === undefined ? { prefix, nexthops: nexthops as FibNextHop[] } : { prefix, nexthops: nexthops as FibNextHop[], backup };
    this.routes.set(prefix, r);
    this.m.set(r);
  }
  drop(prefix: string): void {
    if (this.routes.delete(prefix)) this.m.delete(prefix);
  }
  /** Prefixes whose next hops or backup go through `iface`. */
  through(iface: string, backupToo = false): string[] {
    const hit = (hs: readonly FibNextHop[] | undefined): boolean => hs?.some((h) => h.interface === iface) ?? false;
    return [...this.routes.values()].filter((r) => hit(r.nexthops) || (backupToo && hit(r.backup))).map((r) => r.prefix);
  }
}

const p4 = (block: number, i: number): string => `10.${block}.${i}.0/24`;

describe('LinuxFib nexthop objects under churn: none of ours is left unnamed, none of others is touched', () => {
  it('routes, ECMP changes, backups, failover, restore, a second failover, a tunnel deleted, a restart: after each stage every object of ours is named', async () => {
    // Others' objects: another protocol, ours outside our range, another protocol inside it; a route naming one.
    ns.ip('nexthop', 'add', 'id', '7', 'via', '10.255.0.1', 'dev', 'wg-a', 'proto', 'static');
    ns.ip('nexthop', 'add', 'id', '8', 'via', '10.255.1.1', 'dev', 'wg-c', 'proto', String(protocol));
    ns.ip('nexthop', 'add', 'id', String(NH_ID_FIRST + 0x40), 'via', '10.255.2.1', 'dev', 'wg-e', 'proto', 'static');
    ns.ip('nexthop', 'add', 'id', '9', 'group', '7/8', 'proto', 'static');
    ns.ip('route', 'add', '10.200.0.0/24', 'nhid', '9', 'proto', 'static', 'table', String(table));
    const othersBefore = others();

    const stages: { stage: string; ours: number; orphans: IpNexthop[] }[] = [];
    // Tunnels failed over and not restored: PIC must have taken every route of ours off them.
    const dead = new Set<string>();
    // Routes the RIB wrote through a dead tunnel itself (it has not withdrawn them yet): not PIC's to move.
    const window = new Set<string>();
    const check = (stage: string): void => {
      const r = orphans();
      stages.push({ stage, ...r });
      expect(others(), stage).toBe(othersBefore);
      expect(
        deadNamed(dead).filter((p) => !window.has(p)),
        `${stage}: routes into ${[...dead].join(' ')}`,
      ).toEqual([]);
    };
    const failover = async (iface: string): Promise<void> => {
      dead.add(iface);
      await w.m.failover([iface]);
    };
    const restore = async (...ifaces: string[]): Promise<void> => {
      for (const i of ifaces) dead.delete(i);
      window.clear();
      await w.m.restore(ifaces);
    };

    let m = new FibManager(new LinuxFib(nl, { table, protocol, metric }));
    const w = new Wanted(m);
    const flush = async (): Promise<void> => {
      await w.m.flush();
      expect(w.m.lastErrors).toEqual([]);
    };

    // 1. Routes over several tunnels: single next hops, ECMP sets, backup pairs, an IPv6 route.
    for (let i = 0; i < 20; i++) {
      w.put(p4(1, i), A);
      w.put(p4(2, i), C);
      w.put(p4(3, i), set(A, C));
      w.put(p4(4, i), set(A, C, E));
      w.put(p4(5, i), A, C);
      w.put(p4(6, i), A, E);
      w.put(p4(7, i), E, C);
      w.put(p4(8, i), G, A);
      w.put(p4(9, i), set(C, G));
    }
    w.put('2001:db8:1::/48', A6);
    await flush();
    check('1 installed');

    // 2. ECMP sets change: members join and leave, whole sets go, a set moves to a single next hop.
    for (let i = 0; i < 20; i++) {
      if (i % 4 === 0) w.put(p4(3, i), set(A, E));
      if (i % 4 === 1) w.put(p4(3, i), set(A, C, E));
      if (i % 4 === 2) w.drop(p4(3, i));
      w.put(p4(4, i), i % 2 === 0 ? set(C, E) : E);
    }
    await flush();
    check('2 ECMP changed');
    // Every route of set (A, C) gone: its group goes, its members stay for the routes naming them.
    for (let i = 0; i < 20; i++) if (i % 4 === 3) w.drop(p4(3, i));
    await flush();
    check('2b a group without routes');

    // 3. wg-a's neighbor is down: failover, then the RIB withdraws its paths in steps, each flushed.
    await failover('wg-a');
    check('3 failover wg-a');
    const overA = w.through('wg-a');
    const half = overA.slice(0, overA.length >> 1);
    for (const p of half) {
      const r = w.routes.get(p)!;
      // With a backup the RIB's next best path is the backup; without, the route is withdrawn (ECMP keeps the rest).
      if (r.backup !== undefined) w.put(p, r.backup);
      else if (r.nexthops.length > 1) w.put(p, set(...r.nexthops.filter((h) => h.interface !== 'wg-a').map((h) => [h])));
      else w.drop(p);
    }
    await flush();
    check('3b first withdrawal step');
    // 3b2. A route the RIB has not reached yet changes its backup twice (other neighbors' paths changed):
    // written through the dead tunnel, as the RIB asks, beside routes still naming the objects failover moved.
    const late = p4(5, 19);
    expect(half).not.toContain(late);
    window.add(late);
    w.put(late, A, E);
    await flush();
    check('3b2 a backup changed in the window');
    w.put(late, A, C);
    await flush();
    check('3b3 and changed back');

    // 3c. A flap: the session up (restore marks the routes through wg-a) and down again before a flush.
    await restore('wg-a');
    await failover('wg-a');
    await flush();
    check('3c flap: restore and failover before a flush');

    // 4. The neighbor is back before the rest was withdrawn: restore, and the RIB sends its routes again.
    await restore('wg-a');
    for (let i = 0; i < 20; i++) {
      w.put(p4(1, i), A);
      w.put(p4(5, i), A, C);
      w.put(p4(6, i), A, E);
      if (i % 4 === 0) w.put(p4(3, i), set(A, E));
    }
    await flush();
    check('4 restored');

    // 5. A second failover before the first withdrawal was flushed: wg-a dies again, then wg-e.
    await failover('wg-a');
    check('5 failover wg-a again');
    await failover('wg-e');
    check('5b failover wg-e before any flush');
    for (const p of w.through('wg-a')) w.drop(p);
    await flush();
    check('5c wg-a withdrawn');
    for (const p of w.through('wg-e')) w.drop(p);
    await flush();
    check('5d wg-e withdrawn');
    await restore('wg-a', 'wg-e');
    for (let i = 0; i < 20; i++) {
      w.put(p4(5, i), A, C);
      w.put(p4(6, i), A, E);
      w.put(p4(7, i), E, C);
      w.put(p4(10, i), set(A, E));
    }
    await flush();
    check('5e both back');

    // 6. wg-g's neighbor removed for good: failover, its tunnel deleted before the withdrawal is flushed.
    await failover('wg-g');
    check('6 failover wg-g');
    ns.ip('link', 'del', 'wg-g');
    check('6b wg-g deleted');
    for (const p of w.through('wg-g', true)) {
      const r = w.routes.get(p)!;
      if (r.backup?.some((h) => h.interface === 'wg-g')) w.put(p, r.nexthops);
      else if (r.backup !== undefined) w.put(p, r.backup);
      else if (r.nexthops.length > 1) w.put(p, set(...r.nexthops.filter((h) => h.interface !== 'wg-g').map((h) => [h])));
      else w.drop(p);
    }
    await flush();
    check('6c wg-g withdrawn');

    // 7. A restart: a new LinuxFib adopts the kernel's routes and objects, the RIB wants what it wanted, reconcile.
    m = new FibManager(new LinuxFib(nl, { table, protocol, metric }));
    w.m = m;
    expect(await m.adopt()).toBeGreaterThan(0);
    for (const r of w.routes.values()) m.set(r);
    // The kernel's objects hold no backup: the routes with one are rewritten once (onto objects that know it), the rest kept.
    const withBackup = [...w.routes.values()].filter((r) => r.backup !== undefined).length;
    expect(await m.reconcile()).toEqual({ removed: 0, added: withBackup, kept: w.routes.size - withBackup });
    expect(m.lastErrors).toEqual([]);
    check('7 restart reconciled');
    // Churn after the restart: routes without a backup over a next hop that others use with one go, then the rest move.
    for (let i = 0; i < 20; i++) {
      w.drop(p4(1, i));
      w.put(p4(2, i), set(C, E));
    }
    await flush();
    check('7b churn after restart');
    await failover('wg-a');
    for (const p of w.through('wg-a')) w.drop(p);
    await flush();
    check('7c failover and withdrawal after restart');

    // 8. Everything withdrawn: nothing of ours is left.
    for (const p of [...w.routes.keys()]) w.drop(p);
    await flush();
    check('8 all withdrawn');
    expect(ns.json('-4', 'route', 'show', 'table', String(table), 'proto', String(protocol))).toEqual([]);
    expect(ns.json('-6', 'route', 'show', 'table', String(table), 'proto', String(protocol))).toEqual([]);

    const leaks = stages.filter((s) => s.orphans.length > 0).map((s) => `${s.stage}: ${s.orphans.map((o) => o.id.toString(16)).join(' ')} (of ${s.ours})`);
    expect(leaks).toEqual([]);
    expect(stages.at(-1)).toEqual({ stage: '8 all withdrawn', ours: 0, orphans: [] });
    expect(others()).toBe(othersBefore);
  }, 60_000);

  // Seed 424242 (step 77): with two tunnels of an ECMP set failed over and one restored, restore()'s rewrite
  // wrote the set as the RIB still had it, the dead member included, until the RIB's withdrawal reached the
  // route; now the set's object leaves that member out until its own tunnel is restored.
  it.each([
    { start: 0x2545f491, proto: 232, tbl: 5200 },
    { start: 424242, proto: 235, tbl: 5500 },
  ])('random churn (seed $start): 120 steps of route changes, failovers, withdrawals, restores and restarts leave no object of ours unnamed', async ({ start, proto, tbl }) => {
    // Somebody else's IPv6 route, so that the table exists for the check's dump.
    ns.ip('-6', 'route', 'add', 'blackhole', '2001:db8:ff::/48', 'proto', 'static', 'table', String(tbl));
    // xorshift32, fixed seed: the same run every time.
    let seed = start;
    const rnd = (n: number): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const tunnels = [A, C, E];
    const name = (h: readonly FibNextHop[]): string => h[0]!.interface!;
    const dead = new Set<string>();
    const window = new Set<string>();
    let m = new FibManager(new LinuxFib(nl, { table: tbl, protocol: proto, metric }));
    const w = new Wanted(m);
    const live = (): (readonly FibNextHop[])[] => tunnels.filter((t) => !dead.has(name(t)));
    const randomRoute = (prefix: string): void => {
      const pool = live();
      if (pool.length === 0) return;
      const first = pool[rnd(pool.length)]!;
      const others = pool.filter((t) => t !== first);
      const kind = rnd(4);
      if (kind === 0 && others.length > 0) w.put(prefix, set(first, ...others.slice(0, 1 + rnd(others.length))));
      else if (kind === 1 && others.length > 0) w.put(prefix, first, others[rnd(others.length)]);
      else w.put(prefix, first);
    };
    const failures: string[] = [];
    const check = (step: string): void => {
      const objects = ns.json<IpNexthop[]>('nexthop', 'show');
      const r = orphans(proto, tbl, objects);
      if (r.orphans.length > 0) failures.push(`${step}: orphans ${r.orphans.map((o) => o.id.toString(16)).join(' ')}`);
      const into = deadNamed(dead, proto, tbl, objects).filter((p) => !window.has(p));
      if (into.length > 0) failures.push(`${step}: routes into ${[...dead].join(' ')}: ${into.join(' ')}`);
    };
    const prefixes = Array.from({ length: 120 }, (_, i) => p4(100 + (i >> 6), i & 63));
    const events = { failover: 0, restore: 0, restart: 0 };
    for (let step = 0; step < 120; step++) {
      const event = rnd(20);
      if (event === 0 && live().length > 1) {
        // A neighbor goes down: failover, then the RIB withdraws its paths over the next steps.
        const t = name(live()[rnd(live().length)]!);
        dead.add(t);
        await m.failover([t]);
        events.failover++;
      } else if (event === 1 && dead.size > 0) {
        // Back: restore, and the neighbor sends its routes again.
        const t = [...dead][rnd(dead.size)]!;
        dead.delete(t);
        await m.restore([t]);
        events.restore++;
        for (const p of window) if (!(w.routes.get(p)?.nexthops.some((h) => dead.has(h.interface!)) ?? false)) window.delete(p);
        for (let k = 0; k < 10; k++) randomRoute(prefixes[rnd(prefixes.length)]!);
      } else if (event === 2 && dead.size === 0) {
        // A restart (with every neighbor up): adopt and reconcile what the RIB wants.
        m = new FibManager(new LinuxFib(nl, { table: tbl, protocol: proto, metric }));
        w.m = m;
        await m.adopt();
        events.restart++;
        for (const r of w.routes.values()) m.set(r);
        await m.reconcile();
        expect(m.lastErrors).toEqual([]);
        check(`${step} restart`);
        continue;
      } else {
        for (let k = 0, n = 1 + rnd(12); k < n; k++) {
          const p = prefixes[rnd(prefixes.length)]!;
          if (rnd(3) === 0) w.drop(p);
          else randomRoute(p);
        }
        // The RIB's withdrawal step for the dead: a few routes through them move to their next best path or go.
        for (const t of dead) {
          for (const p of w.through(t).slice(0, 1 + rnd(8))) {
            const r = w.routes.get(p)!;
            const rest = r.nexthops.filter((h) => !dead.has(h.interface!));
            if (r.backup !== undefined && !dead.has(r.backup[0]!.interface!)) w.put(p, r.backup);
            else if (rest.length > 0) w.put(p, set(...rest.map((h) => [h])));
            else w.drop(p);
          }
        }
        // A route the RIB has not reached yet changes its backup (another neighbor's path changed) in the window.
        if (dead.size > 0 && rnd(3) === 0) {
          const candidates = [...w.routes.values()].filter((r) => r.backup !== undefined && r.nexthops.some((h) => dead.has(h.interface!)));
          const r = candidates[rnd(Math.max(candidates.length, 1))];
          const alt = live().filter((t) => t[0]!.interface !== r?.backup?.[0]?.interface);
          if (r !== undefined && alt.length > 0) {
            window.add(r.prefix);
            w.put(r.prefix, r.nexthops, alt[rnd(alt.length)]);
          }
        }
      }
      await w.m.flush();
      expect(w.m.lastErrors).toEqual([]);
      check(String(step));
    }
    for (const t of [...dead]) await m.restore([t]);
    dead.clear();
    for (const p of [...w.routes.keys()]) w.drop(p);
    await m.flush();
    check('end');
    expect(failures).toEqual([]);
    expect(orphans(proto, tbl).ours).toBe(0);
    // The seed exercises every kind of event, more than once.
    expect(events.failover).toBeGreaterThanOrEqual(3);
    expect(events.restore).toBeGreaterThanOrEqual(3);
    expect(events.restart).toBeGreaterThanOrEqual(2);
    console.log(`random churn: ${JSON.stringify(events)}, ${failures.length} failed checks`);
  }, 120_000);
});
