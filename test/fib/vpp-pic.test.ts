/**
 * PIC failover in the VPP FIB backend (src/fib/vpp.ts, vpp-pic.ts) against
 * the fake VPP, which resolves recursive paths and path preference as VPP
 * does (FakeState.forwarding): a route with a backup is written with both
 * paths; failover() makes 100 000 routes stop forwarding into the dead tunnel
 * (those with a backup forward by it, the others drop) with a constant number
 * of API writes; the RIB's later rewrite converges to single paths; a restart
 * adopts the routes and the indirection tables; an operator's routes and
 * paths are never touched; PIC is off where the tables cannot be ours.
 */
import { describe, expect, it } from 'vitest';
import { FibManager, type FibNextHop, type FibRoute } from '#fib/index';
import { PIC_BACKUP, PIC_PRIMARY } from '#fib/vpp-pic';
import type { VppConnection } from '#vpp/index';
import type { VppDataplane } from '#vpp/dataplane';
import { fakeVppHarness, operatorLoopback, pathVia, recursive, tunnelSpecs, until } from '../fake-vpp/harness.js';
import type { FakeState, FakeVpp, FibPath } from '../fake-vpp/index.js';

const harness = fakeVppHarness('fib-vpp-pic-');
const spec = tunnelSpecs('wgp-');
const SPECS = [spec(1), spec(2), spec(3)];

type FakeSetup = NonNullable<ConstructorParameters<typeof FakeVpp>[0]['setup']>;

interface Agent {
  dp: VppDataplane;
  connection: VppConnection;
}

/** An agent's VPP dataplane on `fake` (a fresh connection), its tunnels ensured. */
async function agent(fake: FakeVpp): Promise<Agent> {
  const { connection, dp } = harness.dataplane(fake.socketPath);
  dp.start();
  await until(() => dp.health().state !== 'down');
  for (const sp of SPECS) await dp.wireguard.ensure(sp, null);
  return { dp, connection };
}

async function setup(opts: { setupFake?: FakeSetup } = {}): Promise<{ fake: FakeVpp; dp: VppDataplane; sw: (i: number) => number }> {
  const fake = await harness.startFake(opts.setupFake ? { setup: opts.setupFake } : {});
  const { dp } = await agent(fake);
  const sw = (i: number): number => [...fake.state.interfaces.values()].find((x) => x.tag === `wgp-${i}`)!.swIfIndex;
  return { fake, dp, sw };
}

/** One frozen next-hop list per tunnel and family, as the agent hands them (FibManager interns by identity). */
const hop = (i: number, six = false): readonly FibNextHop[] =>
  Object.freeze([Object.freeze({ address: six ? `fd00:255:${i}::1` : `10.255.${i}.1`, interface: `wgp-${i}` })]);
const P1 = hop(1);
const P2 = hop(2);
const P3 = hop(3);

const route = (prefix: string, nexthops: readonly FibNextHop[], backup?: readonly FibNextHop[]): FibRoute =>
  backup === undefined ? { prefix, nexthops: nexthops as FibNextHop[] } : { prefix, nexthops: nexthops as FibNextHop[], backup };

/** n /24s from 20.0.0.0 on. */
const prefixes = (n: number, base = 20): string[] => Array.from({ length: n }, (_, i) => `${base + (i >> 16)}.${(i >> 8) & 0xff}.${i & 0xff}.0/24`);

/** A PIC table's host route's one path: `nh` on tunnel `sw`. */
const hostRoute = (sw: number, nh: string): FibPath => pathVia(nh, { sw });

/** ip_route_add_del requests since `from`, as "+/- TABLE PREFIX". */
function writes(fake: FakeVpp, from: number): string[] {
  return fake.requests.slice(from).filter((r) => r.name === 'ip_route_add_del').map((r) => {
    const route = r.values.route as { table_id: number; prefix: { len: number } };
    return `${r.values.is_add ? '+' : '-'} ${route.table_id}`;
  });
}

/** How many of `ps` forward through each interface, and how many drop. */
function census(state: FakeState, ps: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of ps) {
    const key = state.forwardingInterfaces(p).join(',') || 'drop';
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}

describe('VPP PIC: a route with a backup', () => {
  it('is written with both paths: its next hop through the primary PIC table (preference 0), the backup through the backup table (preference 1)', async () => {
    const { fake, dp, sw } = await setup();
    expect(dp.fib.picEnabled).toBe(true);
    const r = route('192.0.2.0/24', P1, P2);
    const six = route('2001:db8:1::/48', hop(1, true), hop(2, true));
    expect(await dp.fib.apply([{ op: 'add', route: r }, { op: 'add', route: six }])).toEqual([]);
    expect(fake.state.apiRoutes(4, 0).get('192.0.2.0/24')).toEqual([recursive('10.255.1.1'), recursive('10.255.2.1', PIC_BACKUP)]);
    expect(fake.state.apiRoutes(6, 0).get('2001:db8:1::/48')).toEqual([recursive('fd00:255:1::1'), recursive('fd00:255:2::1', PIC_BACKUP)]);
    // The tables are the agent's, named, for both families; each holds the same host routes.
    for (const t of [PIC_PRIMARY, PIC_BACKUP]) {
      expect(fake.state.table(4, t.id)?.name).toBe(t.name);
      expect(fake.state.table(6, t.id)?.name).toBe(t.name);
      expect(fake.state.apiRoutes(4, t.id)).toEqual(new Map([['10.255.1.1/32', [hostRoute(sw(1), '10.255.1.1')]], ['10.255.2.1/32', [hostRoute(sw(2), '10.255.2.1')]]]));
      expect([...fake.state.apiRoutes(6, t.id).keys()].sort()).toEqual(['fd00:255:1::1/128', 'fd00:255:2::1/128']);
    }
    // The best path forwards; the backup stands by.
    expect(fake.state.forwarding('192.0.2.0/24')).toEqual({ kind: 'forward', via: [{ swIfIndex: sw(1), nh: '10.255.1.1', weight: 1 }] });
    expect(fake.state.forwardingInterfaces('2001:db8:1::/48')).toEqual([sw(1)]);
    // The dump gives the route back as written, backup included; the PIC tables' host routes are not in it.
    const dumped = (await dp.fib.dump()).sort((a, b) => a.prefix.localeCompare(b.prefix));
    expect(dumped).toEqual([
      { prefix: '192.0.2.0/24', nexthops: [...P1], backup: [...P2] },
      { prefix: '2001:db8:1::/48', nexthops: [...hop(1, true)], backup: [...hop(2, true)] },
    ]);
    // A FibManager that wants them finds them installed.
    const m = new FibManager(dp.fib);
    m.set(r);
    m.set(six);
    expect(await m.reconcile()).toEqual({ removed: 0, added: 0, kept: 2 });
  });

  it('swapping best and backup (and losing the backup) never leaves the prefix without a path of ours: the new paths go in first', async () => {
    const { fake, dp, sw } = await setup();
    const m = new FibManager(dp.fib);
    m.set(route('192.0.2.0/24', P1, P2));
    await m.flush();
    let from = fake.requests.length;
    m.set(route('192.0.2.0/24', P2, P1));
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    expect(fake.state.apiRoutes(4, 0).get('192.0.2.0/24')).toEqual([recursive('10.255.2.1'), recursive('10.255.1.1', PIC_BACKUP)]);
    expect(fake.state.forwardingInterfaces('192.0.2.0/24')).toEqual([sw(2)]);
    // One add with the two new paths, then one removal of the two old ones.
    expect(writes(fake, from)).toEqual(['+ 0', '- 0']);
    from = fake.requests.length;
    m.set(route('192.0.2.0/24', P1));
    await m.flush();
    expect(fake.state.apiRoutes(4, 0).get('192.0.2.0/24')).toEqual([recursive('10.255.1.1')]);
    expect(writes(fake, from)).toEqual(['+ 0', '- 0']);
    // VPP's path identity leaves preference out: written in place, the same next hop at another preference would be lost.
    const sent = fake.requests.slice(from).filter((r) => r.name === 'ip_route_add_del').map((r) => (r.values.route as { paths: { table_id: number }[] }).paths.map((p) => p.table_id));
    expect(sent).toEqual([[PIC_PRIMARY.id], [PIC_PRIMARY.id, PIC_BACKUP.id]]);
  });
});

describe('VPP PIC: failover', () => {
  it('multipath (ECMP): a route over two tunnels forwards over both; one tunnel dies: the other alone, at once; the set shrinking and growing again never leaves it without a path', async () => {
    const { fake, dp, sw } = await setup();
    const both = Object.freeze([...P1, ...P2]) as readonly FibNextHop[];
    const m = new FibManager(dp.fib);
    m.set(route('192.0.2.0/24', both));
    m.set(route('2001:db8:9::/48', Object.freeze([...hop(1, true), ...hop(2, true)])));
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    // Two primary paths (preference 0), each recursing through its next hop's host route.
    expect(fake.state.apiRoutes(4, 0).get('192.0.2.0/24')).toEqual([recursive('10.255.1.1'), recursive('10.255.2.1')]);
    expect(fake.state.forwardingInterfaces('192.0.2.0/24').sort()).toEqual([sw(1), sw(2)].sort());
    expect(fake.state.forwardingInterfaces('2001:db8:9::/48').sort()).toEqual([sw(1), sw(2)].sort());
    const dumped = await dp.fib.dump();
    expect(dumped.find((x) => x.prefix === '192.0.2.0/24')).toEqual({ prefix: '192.0.2.0/24', nexthops: [...both] });

    fake.requests.length = 0;
    // One host route per family out of the PIC tables.
    expect(await dp.fib.failover(['wgp-1'])).toEqual({ moved: 2, removed: 0 });
    // The remaining next hop carries it: the backup of a multipath route is its other paths.
    expect(fake.state.forwardingInterfaces('192.0.2.0/24')).toEqual([sw(2)]);
    expect(fake.state.forwardingInterfaces('2001:db8:9::/48')).toEqual([sw(2)]);

    // The RIB catches up (one next hop left), then the session comes back (two again).
    m.set(route('192.0.2.0/24', P2));
    await m.flush();
    expect(fake.state.apiRoutes(4, 0).get('192.0.2.0/24')).toEqual([recursive('10.255.2.1')]);
    expect(await m.restore(['wgp-1'])).toEqual({ restored: 2 });
    m.set(route('192.0.2.0/24', both));
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    expect(fake.state.forwardingInterfaces('192.0.2.0/24').sort()).toEqual([sw(1), sw(2)].sort());
    // The IPv6 route, never rewritten, over both again since the restore.
    expect(fake.state.forwardingInterfaces('2001:db8:9::/48').sort()).toEqual([sw(1), sw(2)].sort());
  });

  it('100 000 routes through a dead tunnel (half with a backup via a second tunnel, half without): none forwards into it after a constant number of writes; the RIB\'s rewrite converges to single paths', async () => {
    const N = 100_000;
    const { fake, dp, sw } = await setup();
    const all = prefixes(N);
    const withBackup = all.filter((_, i) => i % 2 === 0);
    const without = all.filter((_, i) => i % 2 === 1);
    // A bystander: a route through the third tunnel only.
    const other = route('198.18.0.0/15', P3);
    const m = new FibManager(dp.fib);
    for (const p of withBackup) m.set(route(p, P1, P2));
    for (const p of without) m.set(route(p, P1));
    m.set(other);
    const t0 = performance.now();
    await m.flush();
    const writeMs = performance.now() - t0;
    expect(m.lastErrors).toEqual([]);
    expect(census(fake.state, all)).toEqual(new Map([[String(sw(1)), N]]));
    fake.requests.length = 0;

    const t1 = performance.now();
    const r = await dp.fib.failover(['wgp-1']);
    const failoverMs = performance.now() - t1;
    expect(r).toEqual({ moved: 1, removed: 0 });
    // Constant: the one next hop's host route out of the two PIC tables, whatever the number of routes.
    expect(writes(fake, 0)).toEqual([`- ${PIC_PRIMARY.id}`, `- ${PIC_BACKUP.id}`]);
    const t2 = performance.now();
    const after = census(fake.state, all);
    const checkMs = performance.now() - t2;
    // Nothing into the dead tunnel: with a backup by it, without one dropped (unresolved).
    expect(after).toEqual(new Map([[String(sw(2)), N / 2], ['drop', N / 2]]));
    for (const p of withBackup.slice(0, 100)) expect(fake.state.forwardingInterfaces(p)).toEqual([sw(2)]);
    for (const p of without.slice(0, 100)) expect(fake.state.forwarding(p)).toEqual({ kind: 'drop' });
    expect(fake.state.forwardingInterfaces(other.prefix)).toEqual([sw(3)]);
    // VPP's entry for the withdrawn next hop (recursive resolution) now takes its cover's drop.
    expect(fake.state.routes(4, PIC_PRIMARY.id).find((x) => x.prefix === '10.255.1.1/32')).toMatchObject({ source: 'recursive-resolution', paths: [{ type: 2 }] });
    // A second failover of the same tunnel: nothing left to write.
    expect(await dp.fib.failover(['wgp-1'])).toEqual({ moved: 0, removed: 0 });
    console.log(
      `VPP PIC failover in the fake: ${N} routes (${N / 2} with a backup) written in ${writeMs.toFixed(0)} ms; failover ${failoverMs.toFixed(1)} ms ` +
        `(2 writes); every route resolved again in ${checkMs.toFixed(0)} ms: none via the dead tunnel`,
    );

    // The RIB catches up: the best path of the backed-up routes is the former backup, the others are withdrawn.
    fake.requests.length = 0;
    for (const p of withBackup) m.set(route(p, P2));
    for (const p of without) m.delete(p);
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    // The next hop's host route stays out: nothing was written through it.
    expect(fake.state.apiRoutes(4, PIC_PRIMARY.id).has('10.255.1.1/32')).toBe(false);
    const api = fake.state.apiRoutes(4, 0);
    expect(api.size).toBe(N / 2 + 1);
    for (const p of withBackup) expect(api.get(p)).toEqual([recursive('10.255.2.1')]);
    expect(census(fake.state, withBackup)).toEqual(new Map([[String(sw(2)), N / 2]]));
    const dumped = await dp.fib.dump();
    expect(dumped.filter((x) => x.backup !== undefined)).toEqual([]);
    const m2 = new FibManager(dp.fib);
    for (const p of withBackup) m2.set(route(p, P2));
    m2.set(other);
    expect(await m2.reconcile()).toEqual({ removed: 0, added: 0, kept: N / 2 + 1 });

    // The session comes back: restore() puts the host route back (two writes), a route through it again forwards there.
    fake.requests.length = 0;
    expect(await m.restore(['wgp-1'])).toEqual({ restored: 1 });
    m.set(route(withBackup[0]!, P1, P2));
    await m.flush();
    expect(writes(fake, 0)).toEqual([`+ ${PIC_PRIMARY.id}`, `+ ${PIC_BACKUP.id}`, '+ 0', '- 0']);
    expect(fake.state.forwardingInterfaces(withBackup[0]!)).toEqual([sw(1)]);
    expect(fake.state.forwardingInterfaces(withBackup[1]!)).toEqual([sw(2)]);
  }, 120_000);

  it('the number of writes does not grow with the routes: 10 and 10 000 routes, two next hops (IPv4 and IPv6) through the dead tunnel, 4 writes each', async () => {
    for (const n of [10, 10_000]) {
      const { fake, dp, sw } = await setup();
      const m = new FibManager(dp.fib);
      const v4 = prefixes(n);
      const v6 = Array.from({ length: n }, (_, i) => `2001:db8:${(i >> 8).toString(16)}:${(i & 0xff).toString(16)}00::/56`);
      for (const p of v4) m.set(route(p, P1, P2));
      for (const p of v6) m.set(route(p, hop(1, true), hop(2, true)));
      await m.flush();
      expect(m.lastErrors).toEqual([]);
      fake.requests.length = 0;
      expect(await dp.fib.failover(['wgp-1'])).toEqual({ moved: 2, removed: 0 });
      expect(writes(fake, 0)).toHaveLength(4);
      expect(census(fake.state, [...v4, ...v6])).toEqual(new Map([[String(sw(2)), 2 * n]]));
      await harness.cleanupNow();
    }
  }, 60_000);
});

describe('VPP PIC: the neighbor back before its withdrawal was written (issue 10)', () => {
  // The race (seen on Linux in bird-bfd: BIRD Established again 3 ms after the failover): the RIB's
  // withdrawal and the same routes sent again meet in one flush, the FibManager finds them wanted as
  // installed and writes nothing, so nothing would put back the host route the failover withdrew.
  it('failover, then the same routes wanted again in one flush: nothing is written; restore() puts the host routes back (2 writes per next hop) and every route through them forwards again', async () => {
    const N = 10_000;
    const { fake, dp, sw } = await setup();
    const all = prefixes(N);
    const withBackup = all.filter((_, i) => i % 2 === 0);
    const without = all.filter((_, i) => i % 2 === 1);
    const six = route('2001:db8:1::/48', hop(1, true), hop(2, true));
    const m = new FibManager(dp.fib);
    const want = (): void => {
      for (const p of withBackup) m.set(route(p, P1, P2));
      for (const p of without) m.set(route(p, P1));
      m.set(six);
    };
    want();
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    expect(await m.failover(['wgp-1'])).toEqual({ moved: 2, removed: 0 });
    expect(census(fake.state, all)).toEqual(new Map([[String(sw(2)), N / 2], ['drop', N / 2]]));

    // The session is back: the RIB's withdrawal and the re-sent routes in one flush.
    fake.requests.length = 0;
    for (const p of all) m.delete(p);
    m.delete(six.prefix);
    want();
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    expect(writes(fake, 0)).toEqual([]);
    // Without the host routes the routes stay on their backups or dropped: the race.
    expect(census(fake.state, all)).toEqual(new Map([[String(sw(2)), N / 2], ['drop', N / 2]]));

    const t0 = performance.now();
    expect(await m.restore(['wgp-1'])).toEqual({ restored: 2 });
    const restoreMs = performance.now() - t0;
    // One host route per family back into the two PIC tables; no route written.
    expect(writes(fake, 0).sort()).toEqual([`+ ${PIC_PRIMARY.id}`, `+ ${PIC_PRIMARY.id}`, `+ ${PIC_BACKUP.id}`, `+ ${PIC_BACKUP.id}`].sort());
    expect(census(fake.state, all)).toEqual(new Map([[String(sw(1)), N]]));
    expect(fake.state.forwardingInterfaces(six.prefix)).toEqual([sw(1)]);
    for (const t of [PIC_PRIMARY, PIC_BACKUP]) expect(fake.state.apiRoutes(4, t.id).get('10.255.1.1/32')).toEqual([hostRoute(sw(1), '10.255.1.1')]);
    console.log(`VPP PIC restore in the fake: ${N} routes through the tunnel forward again after ${restoreMs.toFixed(1)} ms (4 writes, none per route)`);

    // Nothing left to restore; a tunnel that did not fail over has nothing either.
    fake.requests.length = 0;
    expect(await m.restore(['wgp-1'])).toEqual({ restored: 0 });
    expect(await m.restore(['wgp-2', 'wgp-3'])).toEqual({ restored: 0 });
    expect(writes(fake, 0)).toEqual([]);
    // The manager and VPP agree: a reconcile keeps every route.
    expect(await m.reconcile()).toEqual({ removed: 0, added: 0, kept: N + 1 });
  }, 60_000);

  it('while the tunnel is dead, a write of a route still through it (the RIB not there yet, its backup changed) leaves the host route out: the other routes stay off the dead tunnel until restore()', async () => {
    // The RIB withdraws a dead neighbor's paths in steps (8192 per turn): until it reaches a route,
    // the route is still best through the dead next hop, and another neighbor's update can change
    // its backup. Writing that route must not put the next hop's host route back: every route
    // recursing through it would forward into the dead tunnel again.
    const { fake, dp, sw } = await setup();
    const m = new FibManager(dp.fib);
    const ps = prefixes(100);
    for (const p of ps) m.set(route(p, P1, P2));
    await m.flush();
    expect(await m.failover(['wgp-1'])).toEqual({ moved: 1, removed: 0 });
    expect(census(fake.state, ps)).toEqual(new Map([[String(sw(2)), 100]]));
    fake.requests.length = 0;
    m.set(route(ps[0]!, P1, P3));
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    // The route itself was written (its new backup added, the old one removed); into the PIC tables only its
    // new backup's host route (the first route through wgp-3), not the dead next hop's.
    expect(writes(fake, 0)).toEqual([`+ ${PIC_PRIMARY.id}`, `+ ${PIC_BACKUP.id}`, '+ 0', '- 0']);
    expect(fake.state.apiRoutes(4, PIC_PRIMARY.id).has('10.255.1.1/32')).toBe(false);
    expect(fake.state.apiRoutes(4, 0).get(ps[0]!)).toEqual([recursive('10.255.1.1'), recursive('10.255.3.1', PIC_BACKUP)]);
    expect(fake.state.forwardingInterfaces(ps[0]!)).toEqual([sw(3)]);
    expect(census(fake.state, ps.slice(1))).toEqual(new Map([[String(sw(2)), 99]]));
    // A route new through the dead next hop does not put it back either (it waits, unresolved).
    m.set(route('198.18.0.0/24', P1));
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    expect(fake.state.forwarding('198.18.0.0/24')).toEqual({ kind: 'drop' });
    expect(census(fake.state, ps.slice(1))).toEqual(new Map([[String(sw(2)), 99]]));
    // The session is back: every route through it forwards there again.
    expect(await m.restore(['wgp-1'])).toEqual({ restored: 1 });
    expect(census(fake.state, [...ps, '198.18.0.0/24'])).toEqual(new Map([[String(sw(1)), 101]]));
  });

  it('VPP refuses a host route at restore: the routes through the tunnel are written again at the next flush, and that write puts it back', async () => {
    const { fake, dp, sw } = await setup();
    const m = new FibManager(dp.fib);
    const r1 = route('192.0.2.0/24', P1, P2);
    const r2 = route('198.51.100.0/24', P1);
    m.set(r1);
    m.set(r2);
    m.set(route('203.0.113.0/24', P3));
    await m.flush();
    expect(await m.failover(['wgp-1'])).toEqual({ moved: 1, removed: 0 });
    m.delete(r1.prefix);
    m.delete(r2.prefix);
    m.set(r1);
    m.set(r2);
    await m.flush();
    // The next add into the primary PIC table is refused (VNET_API_ERROR_NO_SUCH_FIB, -6).
    const state = fake.state;
    const real = state.routeAddDel.bind(state);
    let refuse = 1;
    state.routeAddDel = (req) => (req.isAdd && req.tableId === PIC_PRIMARY.id && refuse-- > 0 ? [-6, 0] : real(req));
    expect(await m.restore(['wgp-1'])).toEqual({ restored: 0 });
    expect(state.forwardingInterfaces(r1.prefix)).toEqual([sw(2)]);
    expect(state.forwarding(r2.prefix)).toEqual({ kind: 'drop' });
    // The two routes through wgp-1 are marked; the bystander is not.
    fake.requests.length = 0;
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    expect(writes(fake, 0).filter((w) => w === '+ 0')).toHaveLength(2);
    expect(state.forwardingInterfaces(r1.prefix)).toEqual([sw(1)]);
    expect(state.forwardingInterfaces(r2.prefix)).toEqual([sw(1)]);
    expect(state.forwardingInterfaces('203.0.113.0/24')).toEqual([sw(3)]);
  });
});

describe('VPP PIC: restart and ownership', () => {
  it('a restarted agent adopts the routes and the indirection tables: no table or host route written again, reconcile keeps the routes, failover still works', async () => {
    const { fake, dp, sw } = await setup();
    const rs = [...prefixes(50).map((p) => route(p, P1, P2)), ...prefixes(50, 30).map((p) => route(p, P2)), route('2001:db8:9::/48', hop(1, true), hop(2, true))];
    const m1 = new FibManager(dp.fib);
    for (const r of rs) m1.set(r);
    await m1.flush();
    expect(m1.lastErrors).toEqual([]);
    const hostsBefore = fake.state.apiRoutes(4, PIC_PRIMARY.id);

    // "Restart" (keep-on-stop): the dataplane goes, a new one comes on a new connection.
    await dp.close();
    fake.requests.length = 0;
    const again = await agent(fake);
    const m2 = new FibManager(again.dp.fib);
    for (const r of rs) m2.set(r);
    expect(await m2.adopt()).toBe(rs.length);
    expect(await m2.reconcile()).toEqual({ removed: 0, added: 0, kept: rs.length });
    // Adopted, not duplicated: the tables exist and are ours (not created again), their host routes were read back.
    expect(fake.requests.filter((r) => r.name === 'ip_table_add_del')).toEqual([]);
    expect(fake.requests.filter((r) => r.name === 'ip_route_add_del')).toEqual([]);
    expect(fake.state.apiRoutes(4, PIC_PRIMARY.id)).toEqual(hostsBefore);
    expect(fake.state.fib.size).toBe(6);

    // The adopted host routes serve the failover of the new run.
    expect(await again.dp.fib.failover(['wgp-2'])).toEqual({ moved: 2, removed: 0 });
    expect(census(fake.state, prefixes(50))).toEqual(new Map([[String(sw(1)), 50]]));
    expect(census(fake.state, prefixes(50, 30))).toEqual(new Map([['drop', 50]]));
  });

  it("an operator's routes and paths (another API client's, in table 0 and in a table of its own) are untouched by writes, failover, rewrite and reconcile", async () => {
    let loop = -1;
    const { fake, dp, sw } = await setup({
      setupFake: (s) => {
        loop = operatorLoopback(s);
        s.tableAddDel(true, 4, 77, 'operator');
        s.routeAddDel({ isAdd: true, isMultipath: false, tableId: 77, family: 4, address: Buffer.from([10, 99, 0, 1]), len: 32, paths: [{ ...hostRoute(loop, '192.0.2.254') }] });
      },
    });
    const opPath = hostRoute(loop, '192.0.2.254');
    const opRecursive: FibPath = { ...recursive('10.99.0.1'), tableId: 77, preference: 0 };
    const operator = (prefix: string, paths: FibPath[]): void => {
      const p = prefix.split('/');
      const [rv] = fake.state.routeAddDel({ isAdd: true, isMultipath: true, tableId: 0, family: 4, address: Buffer.from(p[0]!.split('.').map(Number)), len: Number(p[1]), paths });
      expect(rv).toBe(0);
    };
    // Its own prefixes, and a path of its own on a prefix we use too.
    operator('203.0.113.0/24', [opPath]);
    operator('198.51.100.0/24', [opRecursive]);
    operator('192.0.2.128/25', [opPath]);
    const m = new FibManager(dp.fib);
    m.set(route('192.0.2.128/25', P1, P2));
    m.set(route('20.0.0.0/24', P1));
    await m.flush();
    expect(fake.state.apiRoutes(4, 0).get('192.0.2.128/25')).toEqual([opPath, recursive('10.255.1.1'), recursive('10.255.2.1', PIC_BACKUP)]);
    // Both preference-0 paths forward (ECMP with the operator's), the backup stands by.
    expect(fake.state.forwardingInterfaces('192.0.2.128/25')).toEqual([sw(1), loop].sort((a, b) => a - b));
    expect(await dp.fib.failover(['wgp-1'])).toEqual({ moved: 1, removed: 0 });
    // The operator's path is resolved and of the best preference: it alone forwards now.
    expect(fake.state.forwardingInterfaces('192.0.2.128/25')).toEqual([loop]);
    m.set(route('192.0.2.128/25', P2));
    m.delete('20.0.0.0/24');
    await m.flush();
    expect(await m.reconcile()).toEqual({ removed: 0, added: 0, kept: 1 });
    m.delete('192.0.2.128/25');
    await m.flush();
    expect(await m.reconcile()).toEqual({ removed: 0, added: 0, kept: 0 });
    const api = fake.state.apiRoutes(4, 0);
    expect([...api.keys()].sort()).toEqual(['192.0.2.128/25', '198.51.100.0/24', '203.0.113.0/24']);
    expect(api.get('192.0.2.128/25')).toEqual([opPath]);
    expect(api.get('198.51.100.0/24')).toEqual([opRecursive]);
    expect(api.get('203.0.113.0/24')).toEqual([opPath]);
    expect(fake.state.apiRoutes(4, 77)).toEqual(new Map([['10.99.0.1/32', [opPath]]]));
    expect(fake.state.forwardingInterfaces('198.51.100.0/24')).toEqual([loop]);
  });

  it('a table of another owner with the PIC id: PIC is off (reported), routes go in with direct paths, failover does nothing; that table is left alone', async () => {
    const { fake, dp, sw } = await setup({ setupFake: (s) => void s.tableAddDel(true, 6, PIC_BACKUP.id, 'vrf-customer') });
    expect(dp.fib.picEnabled).toBe(false);
    expect(dp.health()).toMatchObject({ state: 'degraded', detail: expect.stringMatching(/PIC failover off: VPP table 1790179002 \(IPv6\) exists as "vrf-customer"/) });
    expect(await dp.fib.apply([{ op: 'add', route: route('192.0.2.0/24', P1, P2) }])).toEqual([]);
    expect(fake.state.apiRoutes(4, 0).get('192.0.2.0/24')).toEqual([hostRoute(sw(1), '10.255.1.1')]);
    expect(await dp.fib.failover(['wgp-1'])).toEqual({ moved: 0, removed: 0 });
    expect(fake.state.table(6, PIC_BACKUP.id)?.name).toBe('vrf-customer');
    expect(fake.state.table(4, PIC_PRIMARY.id)).toBeUndefined();
    expect(await dp.fib.dump()).toEqual([route('192.0.2.0/24', P1)].map((r) => ({ ...r, nexthops: [...r.nexthops] })));
  });

  it('routes an earlier version wrote with direct paths: adopted, and their direct path goes with their next write', async () => {
    const { fake, dp, sw } = await setup();
    // What an agent without PIC left behind.
    for (const p of ['20.0.0.0/24', '20.0.1.0/24']) {
      fake.state.routeAddDel({ isAdd: true, isMultipath: true, tableId: 0, family: 4, address: Buffer.from(p.split('/')[0]!.split('.').map(Number)), len: 24, paths: [hostRoute(sw(1), '10.255.1.1')] });
    }
    const m = new FibManager(dp.fib);
    m.set(route('20.0.0.0/24', P1));
    m.set(route('20.0.1.0/24', P2, P1));
    expect(await m.reconcile()).toEqual({ removed: 0, added: 1, kept: 1 });
    expect(fake.state.apiRoutes(4, 0).get('20.0.1.0/24')).toEqual([recursive('10.255.2.1'), recursive('10.255.1.1', PIC_BACKUP)]);
    // The kept one is as it was until it changes; then it is recursive only.
    expect(fake.state.apiRoutes(4, 0).get('20.0.0.0/24')).toEqual([hostRoute(sw(1), '10.255.1.1')]);
    m.set(route('20.0.0.0/24', P1, P3));
    await m.flush();
    expect(fake.state.apiRoutes(4, 0).get('20.0.0.0/24')).toEqual([recursive('10.255.1.1'), recursive('10.255.3.1', PIC_BACKUP)]);
  });

  it('removing a tunnel takes its next hops out of the PIC tables and the routes recursing through them', async () => {
    const { fake, dp, sw } = await setup();
    await dp.fib.apply([
      { op: 'add', route: route('20.0.0.0/24', P1, P2) },
      { op: 'add', route: route('20.0.1.0/24', P1) },
      { op: 'add', route: route('20.0.2.0/24', P2, P1) },
    ]);
    const sw1 = sw(1);
    await dp.wireguard.remove('wgp-1');
    const api = fake.state.apiRoutes(4, 0);
    expect([...api.keys()].sort()).toEqual(['20.0.0.0/24', '20.0.2.0/24']);
    expect(api.get('20.0.0.0/24')).toEqual([recursive('10.255.2.1', PIC_BACKUP)]);
    expect(api.get('20.0.2.0/24')).toEqual([recursive('10.255.2.1')]);
    for (const t of [PIC_PRIMARY, PIC_BACKUP]) {
      expect([...fake.state.apiRoutes(4, t.id).values()].flat().some((p) => p.swIfIndex === sw1)).toBe(false);
      expect(fake.state.apiRoutes(4, t.id).has('10.255.2.1/32')).toBe(true);
    }
  });
});

describe('VPP PIC: dump() of runs of routes with the same paths', () => {
  it('gives every prefix its own paths back when runs of the same paths alternate, with host routes and a dumped extra path among them', async () => {
    const { fake, dp, sw } = await setup();
    const rs: FibRoute[] = [];
    prefixes(300).forEach((p, i) => rs.push(i % 7 < 3 ? route(p, P1, P2) : i % 7 < 5 ? route(p, P2) : i % 7 === 5 ? route(p, P3, P1) : route(p, P1)));
    rs.push(route('20.0.1.77/32', P2, P1), route('20.0.1.78/32', P2, P1));
    expect(await dp.fib.apply(rs.map((r) => ({ op: 'add' as const, route: r })))).toEqual([]);
    // A direct path of an earlier version beside the recursive one (the dump reports it as the same hop, removed with the next write).
    const [rv] = fake.state.routeAddDel({ isAdd: true, isMultipath: true, tableId: 0, family: 4, address: Buffer.from([20, 0, 0, 9]), len: 24, paths: [hostRoute(sw(1), '10.255.1.1')] });
    expect(rv).toBe(0);
    const byPrefix = new Map((await dp.fib.dump()).map((r) => [r.prefix, r]));
    for (const r of rs) expect(byPrefix.get(r.prefix)).toEqual(r.backup === undefined ? { prefix: r.prefix, nexthops: [...r.nexthops] } : { prefix: r.prefix, nexthops: [...r.nexthops], backup: [...r.backup] });
    expect(byPrefix.size).toBe(rs.length);
    // The extra direct path goes with the next write of that prefix only.
    const m = new FibManager(dp.fib);
    for (const r of rs) m.set(r);
    expect(await m.reconcile()).toMatchObject({ removed: 0 });
    m.set(route('20.0.0.0/24', P2));
    m.set(route('20.0.1.0/24', P2));
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    expect(fake.state.apiRoutes(4, 0).get('20.0.0.0/24')).toEqual([recursive('10.255.2.1')]);
    expect(fake.state.apiRoutes(4, 0).get('20.0.1.0/24')).toEqual([recursive('10.255.2.1')]);
    expect(fake.state.apiRoutes(4, 0).get('20.0.2.0/24')).toEqual([recursive('10.255.1.1'), recursive('10.255.2.1', PIC_BACKUP)]);
    expect(fake.errors).toEqual([]);
  });
});

describe('VPP PIC: the tables at stop (VppFib.close)', () => {
  const picTables = (state: FakeState): string[] =>
    [PIC_PRIMARY, PIC_BACKUP].flatMap((t) => [4, 6].filter((f) => state.table(f as 4 | 6, t.id) !== undefined).map((f) => `${t.id}/${f}`));
  const all = [`${PIC_PRIMARY.id}/4`, `${PIC_PRIMARY.id}/6`, `${PIC_BACKUP.id}/4`, `${PIC_BACKUP.id}/6`];

  it('keep-on-stop off: once the tunnels (and with them the routes and host routes) are gone, close() deletes both tables in both families', async () => {
    const { fake, dp } = await setup();
    const m = new FibManager(dp.fib);
    for (const p of prefixes(20)) m.set(route(p, P1, P2));
    m.set(route('2001:db8:9::/48', hop(1, true), hop(2, true)));
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    expect(picTables(fake.state)).toEqual(all);
    // The agent's stop without keep-on-stop: tunnels removed (purgeInterface), the rest of its routes deleted, then close().
    for (const sp of SPECS) await dp.wireguard.remove(sp.interface);
    for (const p of [...prefixes(20), '2001:db8:9::/48']) m.delete(p);
    await m.flush();
    expect(fake.state.apiRoutes(4, 0).size + fake.state.apiRoutes(6, 0).size).toBe(0);
    await dp.fib.close();
    expect(picTables(fake.state)).toEqual([]);
    expect(fake.errors).toEqual([]);
    await dp.close();
  });

  it('keep-on-stop on: the routes and host routes stay, and so do the tables; a restart adopts them', async () => {
    const { fake, dp } = await setup();
    const m = new FibManager(dp.fib);
    for (const p of prefixes(20)) m.set(route(p, P1, P2));
    await m.flush();
    const from = fake.requests.length;
    await dp.fib.close();
    await dp.close();
    expect(picTables(fake.state)).toEqual(all);
    // Decided from what the agent knows (host routes of its own in them): nothing asked of VPP.
    expect(fake.requests.slice(from).filter((r) => r.name === 'ip_table_add_del' || r.name === 'ip_route_dump')).toEqual([]);
    expect(fake.state.apiRoutes(4, 0).size).toBe(20);
  });

  it("a table with anything else in it stays: an operator's route in it, or a route (ours after a failover, or anyone's) still resolving through it", async () => {
    const { fake, dp, sw } = await setup();
    const m = new FibManager(dp.fib);
    for (const p of prefixes(5)) m.set(route(p, P1));
    await m.flush();
    // After a failover our host routes are out of the tables, but the routes still resolve through them (recursive-resolution entries).
    expect(await dp.fib.failover(['wgp-1'])).toEqual({ moved: 1, removed: 0 });
    await dp.fib.close();
    expect(picTables(fake.state)).toEqual(all);
    // Our routes go; an operator's route in our backup table keeps both tables.
    for (const p of prefixes(5)) m.delete(p);
    await m.flush();
    const [rv] = fake.state.routeAddDel({ isAdd: true, isMultipath: false, tableId: PIC_BACKUP.id, family: 4, address: Buffer.from([10, 99, 0, 1]), len: 32, paths: [hostRoute(sw(3), '10.99.0.1')] });
    expect(rv).toBe(0);
    await dp.fib.close();
    expect(picTables(fake.state)).toEqual(all);
    expect(fake.state.apiRoutes(4, PIC_BACKUP.id).has('10.99.0.1/32')).toBe(true);
    // Gone too: now the tables go.
    fake.state.routeAddDel({ isAdd: false, isMultipath: false, tableId: PIC_BACKUP.id, family: 4, address: Buffer.from([10, 99, 0, 1]), len: 32, paths: [] });
    await dp.fib.close();
    expect(picTables(fake.state)).toEqual([]);
    expect(fake.errors).toEqual([]);
    await dp.close();
  });
});
