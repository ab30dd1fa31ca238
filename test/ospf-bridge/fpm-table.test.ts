/**
 * FpmTable: zebra's FIB as the agent sees it. Driven with decoded messages
 * and a ManualClock: protocol filter, next-hop-group resolution, and the
 * resync and hold rules at the top of src/ospf-bridge/fpm-table.ts.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '#lib/clock';
import type { FpmMessage, FpmNexthop, FpmRoute } from '#ospf/fpm-codec';
import { FPM_HOLD_MS, FPM_MAX_RESYNC_MS, FPM_SETTLE_MS, FpmTable, type FpmRouteChange, type FpmTableEvent, type FpmTableOptions } from '#ospf/fpm-table';

function route(prefix: string, nexthops: FpmNexthop[] | number, extra: Partial<FpmRoute> = {}): FpmRoute {
  const r: FpmRoute = {
    family: prefix.includes(':') ? 6 : 4,
    prefix,
    table: 254,
    protocol: 188,
    type: 1,
    metric: 20,
    nexthops: typeof nexthops === 'number' ? [] : nexthops,
    ...extra,
  };
  if (typeof nexthops === 'number') r.nhId = nexthops;
  return r;
}

const add = (r: FpmRoute): FpmMessage => ({ kind: 'route', op: 'add', route: r });
/** RTM_DELROUTE as zebra sends it: prefix, protocol, metric, type 0, no next hop. */
const del = (prefix: string, protocol = 188, table = 254): FpmMessage => ({
  kind: 'route',
  op: 'delete',
  route: route(prefix, [], { protocol, table, type: 0 }),
});
const nh = (id: number, address: string, ifindex: number): FpmMessage => ({
  kind: 'nexthop',
  op: 'add',
  nexthop: { id, family: address.includes(':') ? 6 : 4, address, ifindex },
});
const group = (id: number, members: [number, number][]): FpmMessage => ({
  kind: 'nexthop',
  op: 'add',
  nexthop: { id, group: members.map(([m, weight]) => ({ id: m, weight })) },
});
const nhDel = (id: number): FpmMessage => ({ kind: 'nexthop', op: 'delete', nexthop: { id } });

const via = (address: string, ifindex: number, weight?: number): FpmNexthop => (weight === undefined ? { address, ifindex } : { address, ifindex, weight });

function setup(opts: Partial<FpmTableOptions> = {}) {
  const clock = new ManualClock();
  const table = new FpmTable({ clock, ...opts });
  const changes: FpmRouteChange[] = [];
  const batches: number[] = [];
  const events: FpmTableEvent[] = [];
  table.subscribe((cs) => {
    changes.push(...cs);
    batches.push(cs.length);
  });
  table.watch((e) => events.push(e));
  /** The changes since the last call, briefly: "add 10.1.0.0/24 10.255.0.1". */
  const taken = (): string[] =>
    changes.splice(0).map((c) => `${c.op} ${c.route.prefix}${c.route.nexthops.map((n) => ` ${n.address ?? `if${n.ifindex}`}${n.weight ? `w${n.weight}` : ''}`).join('')}`);
  return { clock, table, changes, batches, events, taken };
}

describe('FpmTable: what is passed on', () => {
  it('routes of protocol 188 (OSPFv2 and OSPFv3) are announced, connected routes (2) are not', () => {
    const { table, taken } = setup();
    table.connect();
    table.apply([
      add(route('10.255.0.0/31', [{ ifindex: 3 }], { protocol: 2 })),
      add(route('10.10.2.0/24', [via('10.255.0.1', 3)])),
      add(route('fd00:10:2::/64', [via('fe80::1', 3)])),
    ]);
    expect(taken()).toEqual(['add 10.10.2.0/24 10.255.0.1', 'add fd00:10:2::/64 fe80::1']);
    expect(table.routes()).toEqual([route('10.10.2.0/24', [via('10.255.0.1', 3)]), route('fd00:10:2::/64', [via('fe80::1', 3)])]);
    expect(table.counters).toMatchObject({ messages: 3, routeMessages: 3, nexthopMessages: 0 });
  });

  it('the protocol set is the caller\'s', () => {
    const { table, taken } = setup({ protocols: new Set([188, 196]) });
    table.connect();
    table.apply([add(route('10.9.0.0/16', [via('10.255.0.1', 3)], { protocol: 196 })), add(route('10.8.0.0/16', [via('10.255.0.1', 3)], { protocol: 2 }))]);
    expect(taken()).toEqual(['add 10.9.0.0/16 10.255.0.1']);
  });

  it('one selected route per (table, prefix): a route of another protocol that wins the prefix withdraws the OSPF one', () => {
    const { table, taken } = setup();
    table.connect();
    table.apply([add(route('10.255.0.2/31', [via('10.255.0.1', 3)])), add(route('10.255.0.2/31', [via('10.255.0.1', 3)], { table: 100 }))]);
    expect(taken()).toEqual(['add 10.255.0.2/31 10.255.0.1', 'add 10.255.0.2/31 10.255.0.1']);
    // As zebra sends it when the link comes back: DELROUTE (old protocol) + NEWROUTE (connected) in one frame.
    table.apply([del('10.255.0.2/31'), add(route('10.255.0.2/31', [{ ifindex: 4 }], { protocol: 2 }))]);
    expect(taken()).toEqual(['delete 10.255.0.2/31 10.255.0.1']);
    expect(table.routes().map((r) => r.table)).toEqual([100]);
  });

  it('an update (RTM_DELROUTE + RTM_NEWROUTE in one frame) is one replace, or nothing when nothing changed', () => {
    const { table, taken, batches } = setup();
    table.connect();
    table.apply([add(route('10.10.2.0/24', [via('10.255.0.1', 3)]))]);
    table.apply([del('10.10.2.0/24'), add(route('10.10.2.0/24', [via('10.255.0.1', 3)]))]);
    expect(taken()).toEqual(['add 10.10.2.0/24 10.255.0.1']);
    table.apply([del('10.10.2.0/24'), add(route('10.10.2.0/24', [via('10.255.0.3', 4, 1), via('10.255.0.1', 3, 1)]))]);
    expect(taken()).toEqual(['replace 10.10.2.0/24 10.255.0.1w1 10.255.0.3w1']);
    table.apply([add(route('10.10.2.0/24', [via('10.255.0.1', 3)], { metric: 30 }))]);
    expect(taken()).toEqual(['replace 10.10.2.0/24 10.255.0.1']);
    table.apply([del('10.10.2.0/24')]);
    expect(taken()).toEqual(['delete 10.10.2.0/24 10.255.0.1']);
    expect(batches).toEqual([1, 1, 1, 1]);
  });

  it('unknown messages are counted and change nothing', () => {
    const { table, taken } = setup();
    table.connect();
    table.apply([{ kind: 'unknown', type: 28 }]);
    table.noteDecodeError();
    expect(taken()).toEqual([]);
    expect(table.counters).toMatchObject({ messages: 1, unknownMessages: 1, decodeErrors: 1 });
  });

  it('applying without a connection is a programming error', () => {
    const { table } = setup();
    expect(() => table.apply([])).toThrow(/without a connection/);
  });
});

describe('FpmTable: next-hop groups (RTA_NH_ID)', () => {
  it('a route is announced with its group\'s members, weights included, once the group and its members are known', () => {
    const { table, taken } = setup();
    table.connect();
    table.apply([add(route('10.10.2.0/24', 28))]);
    expect(taken()).toEqual([]);
    expect(table.state().unresolved).toBe(1);
    // zebra's resend walks a hash: a group may come before its members.
    table.apply([group(28, [[29, 1], [30, 2]])]);
    table.apply([nh(29, '10.255.0.1', 3)]);
    expect(taken()).toEqual([]);
    table.apply([nh(30, '10.255.0.3', 4)]);
    expect(taken()).toEqual(['add 10.10.2.0/24 10.255.0.1w1 10.255.0.3w2']);
    expect(table.routes()[0]).toEqual(route('10.10.2.0/24', [via('10.255.0.1', 3, 1), via('10.255.0.3', 4, 2)]));
    expect(table.state()).toMatchObject({ unresolved: 0, nexthops: 3 });
  });

  it('a single next hop named directly carries no weight', () => {
    const { table, taken } = setup();
    table.connect();
    table.apply([nh(32, 'fe80::1', 3), add(route('fd00:10:2::/64', 32))]);
    expect(taken()).toEqual(['add fd00:10:2::/64 fe80::1']);
  });

  it('a next hop that changes replaces every route using it, also through a group', () => {
    const { table, taken, batches } = setup();
    table.connect();
    table.apply([nh(29, '10.255.0.1', 3), nh(30, '10.255.0.3', 4), group(28, [[29, 1], [30, 1]])]);
    table.apply([add(route('10.10.2.0/24', 28)), add(route('10.10.3.0/24', 28)), add(route('10.10.4.0/24', 30))]);
    taken();
    table.apply([nh(30, '10.255.0.5', 5)]);
    expect(taken()).toEqual(['replace 10.10.4.0/24 10.255.0.5', 'replace 10.10.2.0/24 10.255.0.1w1 10.255.0.5w1', 'replace 10.10.3.0/24 10.255.0.1w1 10.255.0.5w1']);
    expect(batches.at(-1)).toBe(3);
    table.apply([group(28, [[29, 1]])]);
    expect(taken()).toEqual(['replace 10.10.2.0/24 10.255.0.1w1', 'replace 10.10.3.0/24 10.255.0.1w1']);
  });

  it('a route moved to another group with the same next hops does not change', () => {
    const { table, taken } = setup();
    table.connect();
    table.apply([nh(29, '10.255.0.1', 3), nh(31, '10.255.0.1', 3), add(route('10.10.2.0/24', 29))]);
    taken();
    table.apply([del('10.10.2.0/24'), add(route('10.10.2.0/24', 31))]);
    expect(taken()).toEqual([]);
  });

  it('a deleted next hop withdraws the routes naming it', () => {
    const { table, taken } = setup();
    table.connect();
    table.apply([nh(29, '10.255.0.1', 3), group(28, [[29, 1]]), add(route('10.10.2.0/24', 28))]);
    taken();
    table.apply([nhDel(29)]);
    expect(taken()).toEqual(['delete 10.10.2.0/24 10.255.0.1w1']);
  });

  it('nested groups multiply weights; a blackhole next hop makes a blackhole route; a loop never resolves', () => {
    const { table, taken } = setup();
    table.connect();
    table.apply([
      nh(1, '10.255.0.1', 3),
      nh(2, '10.255.0.3', 4),
      group(10, [[1, 1], [2, 3]]),
      group(11, [[10, 2]]),
      add(route('10.10.2.0/24', 11)),
      { kind: 'nexthop', op: 'add', nexthop: { id: 5, blackhole: true } },
      add(route('10.10.9.0/24', 5)),
      group(20, [[21, 1]]),
      group(21, [[20, 1]]),
      add(route('10.10.7.0/24', 20)),
    ]);
    expect(taken()).toEqual(['add 10.10.2.0/24 10.255.0.1w2 10.255.0.3w6', 'add 10.10.9.0/24']);
    expect(table.routes()[1]).toMatchObject({ prefix: '10.10.9.0/24', type: 6, nexthops: [] });
    expect(table.state().unresolved).toBe(1);
  });
});

describe('FpmTable: resync on reconnect', () => {
  const v4a = route('10.10.2.0/24', [via('10.255.0.1', 3)]);
  const v4b = route('10.10.3.0/24', [via('10.255.0.1', 3)]);
  const v6a = route('fd00:10:2::/64', [via('fe80::1', 3)]);
  const v6b = route('fd00:10:3::/64', [via('fe80::1', 3)]);

  function synced() {
    const t = setup();
    t.table.connect();
    t.table.apply([add(v4a), add(v4b), add(v6a), add(v6b)]);
    t.clock.advance(FPM_SETTLE_MS);
    t.taken();
    t.events.splice(0);
    t.table.disconnect();
    t.clock.advance(5_000);
    return t;
  }

  it('defaults: settle 3 s, at most 60 s, hold 30 s', () => {
    expect([FPM_SETTLE_MS, FPM_MAX_RESYNC_MS, FPM_HOLD_MS]).toEqual([3_000, 60_000, 30_000]);
  });

  it('routes sent again do not flap; one not sent again is withdrawn settleMs after the last OSPF route of its family', () => {
    const { clock, table, taken, events } = synced();
    table.connect();
    expect(table.state()).toMatchObject({ phase: 'resync', stale: 4, announced: 4, routes: 0 });
    table.apply([add(route('10.10.1.0/24', [{ ifindex: 2 }], { protocol: 2 })), add(v4a), add(v6a), add(v6b)]);
    expect(taken()).toEqual([]);
    clock.advance(FPM_SETTLE_MS - 1);
    expect(taken()).toEqual([]);
    clock.advance(1);
    expect(taken()).toEqual(['delete 10.10.3.0/24 10.255.0.1']);
    expect(events).toEqual([{ kind: 'resync-done', reason: 'settled', ms: FPM_SETTLE_MS, routes: 3, withdrawn: 1, unresolved: 0 }]);
    expect(table.state()).toMatchObject({ phase: 'synced', stale: 0, announced: 3 });
    expect(table.counters).toMatchObject({ connects: 2, disconnects: 1, resyncs: 2, staleWithdrawn: 1 });
  });

  it('zebra restarted with ospfd: a resend of connected routes only keeps the OSPF routes until OSPF routes come back, per family', () => {
    const { clock, table, taken, events } = synced();
    table.connect();
    table.apply([add(route('10.10.1.0/24', [{ ifindex: 2 }], { protocol: 2 })), add(route('fd00:10:1::/64', [{ ifindex: 2 }], { protocol: 2 }))]);
    clock.advance(10_000);
    expect(taken()).toEqual([]);
    // ospf6d's routes come first (2.2 s after the resend in the capture), ospfd's later.
    table.apply([add(v6a)]);
    clock.advance(2_000);
    table.apply([add(v4a)]);
    clock.advance(1_000);
    expect(taken()).toEqual(['delete fd00:10:3::/64 fe80::1']);
    expect(table.state().phase).toBe('resync');
    clock.advance(2_000);
    expect(taken()).toEqual(['delete 10.10.3.0/24 10.255.0.1']);
    expect(events).toEqual([{ kind: 'resync-done', reason: 'settled', ms: 15_000, routes: 2, withdrawn: 2, unresolved: 0 }]);
  });

  it('every OSPF route of the family starts its quiet time again; the other family has its own', () => {
    const { clock, table, taken } = synced();
    table.connect();
    for (let i = 0; i < 5; i++) {
      table.apply([add(v4a)]);
      clock.advance(FPM_SETTLE_MS - 1);
      if (i === 0) table.apply([add(v6a)]);
    }
    expect(taken()).toEqual(['delete fd00:10:3::/64 fe80::1']);
    clock.advance(1);
    expect(taken()).toEqual(['delete 10.10.3.0/24 10.255.0.1']);
  });

  it('maxResyncMs after the connect, whatever is still stale goes (zebra came back without OSPF routes)', () => {
    const { clock, table, taken, events } = synced();
    table.connect();
    table.apply([add(route('10.10.1.0/24', [{ ifindex: 2 }], { protocol: 2 }))]);
    clock.advance(FPM_MAX_RESYNC_MS - 1);
    expect(taken()).toEqual([]);
    clock.advance(1);
    expect(taken().sort()).toEqual(['delete 10.10.2.0/24 10.255.0.1', 'delete 10.10.3.0/24 10.255.0.1', 'delete fd00:10:2::/64 fe80::1', 'delete fd00:10:3::/64 fe80::1']);
    expect(events).toEqual([{ kind: 'resync-done', reason: 'max-resync', ms: FPM_MAX_RESYNC_MS, routes: 0, withdrawn: 4, unresolved: 0 }]);
  });

  it('a route deleted on the new connection goes at once, stale or not', () => {
    const { table, taken } = synced();
    table.connect();
    table.apply([del('10.10.3.0/24')]);
    expect(taken()).toEqual(['delete 10.10.3.0/24 10.255.0.1']);
    expect(table.state().stale).toBe(3);
  });

  it('a route whose new copy names a group not sent yet stays as it was; zebra renumbering its groups changes nothing', () => {
    const { clock, table, taken } = synced();
    table.connect();
    table.apply([add(route('10.10.2.0/24', 71)), add(route('fd00:10:2::/64', 65))]);
    expect(taken()).toEqual([]);
    table.apply([nh(72, '10.255.0.1', 3), group(71, [[72, 1]]), nh(66, 'fe80::1', 3)]);
    expect(taken()).toEqual(['replace 10.10.2.0/24 10.255.0.1w1']);
    table.apply([add(route('fd00:10:2::/64', 66))]);
    expect(taken()).toEqual([]);
    clock.advance(FPM_SETTLE_MS);
    expect(taken()).toEqual(['delete 10.10.3.0/24 10.255.0.1', 'delete fd00:10:3::/64 fe80::1']);
  });

  it('a connection that replaces a live one resyncs the same way', () => {
    const { clock, table, taken } = setup();
    table.connect();
    table.apply([add(v4a), add(v4b)]);
    table.connect();
    expect(table.counters).toMatchObject({ connects: 2, disconnects: 1 });
    expect(table.state()).toMatchObject({ phase: 'resync', stale: 2 });
    table.apply([add(v4a)]);
    clock.advance(FPM_SETTLE_MS);
    expect(taken()).toEqual(['add 10.10.2.0/24 10.255.0.1', 'add 10.10.3.0/24 10.255.0.1', 'delete 10.10.3.0/24 10.255.0.1']);
  });

  it('the first connection has nothing stale: the resync ends settleMs after it', () => {
    const { clock, table, events } = setup();
    table.connect();
    clock.advance(FPM_SETTLE_MS);
    expect(events).toEqual([{ kind: 'resync-done', reason: 'settled', ms: FPM_SETTLE_MS, routes: 0, withdrawn: 0, unresolved: 0 }]);
    expect(clock.armed).toBe(0);
  });
});

describe('FpmTable: hold while zebra is away', () => {
  it('a disconnect withdraws nothing until holdMs passes without a reconnect; then everything goes', () => {
    const { clock, table, taken, events } = setup();
    table.connect();
    table.apply([add(route('10.10.2.0/24', [via('10.255.0.1', 3)])), add(route('fd00:10:2::/64', [via('fe80::1', 3)]))]);
    taken();
    clock.advance(1_000);
    table.disconnect();
    table.disconnect();
    expect(table.state()).toMatchObject({ phase: 'holding', connected: false, announced: 2 });
    clock.advance(FPM_HOLD_MS - 1);
    expect(taken()).toEqual([]);
    clock.advance(1);
    expect(taken()).toEqual(['delete 10.10.2.0/24 10.255.0.1', 'delete fd00:10:2::/64 fe80::1']);
    expect(events).toEqual([{ kind: 'hold-expired', withdrawn: 2 }]);
    expect(table.state()).toMatchObject({ phase: 'idle', routes: 0, nexthops: 0, announced: 0 });
    expect(table.counters.holdExpiries).toBe(1);
  });

  it('a reconnect within the hold cancels it', () => {
    const { clock, table, taken, events } = setup();
    table.connect();
    table.apply([add(route('10.10.2.0/24', [via('10.255.0.1', 3)]))]);
    taken();
    table.disconnect();
    clock.advance(FPM_HOLD_MS - 1);
    table.connect();
    table.apply([add(route('10.10.2.0/24', [via('10.255.0.1', 3)]))]);
    clock.advance(FPM_HOLD_MS);
    expect(taken()).toEqual([]);
    expect(events.map((e) => e.kind)).toEqual(['resync-done']);
  });

  it('state: connect and disconnect times from the clock; close cancels every timer', () => {
    const { clock, table } = setup();
    expect(table.state()).toMatchObject({ phase: 'idle', connected: false, lastConnect: null, lastDisconnect: null });
    clock.advance(1_500);
    table.connect();
    expect(table.connected).toBe(true);
    expect(table.state().lastConnect).toEqual(new Date('2026-01-01T00:00:01.500Z'));
    table.disconnect();
    expect(table.state().lastDisconnect).toEqual(new Date('2026-01-01T00:00:01.500Z'));
    expect(clock.armed).toBe(1);
    table.close();
    expect(clock.armed).toBe(0);
  });

  it('unsubscribed listeners hear nothing more', () => {
    const { clock } = setup();
    const table = new FpmTable({ clock });
    const heard: FpmRouteChange[] = [];
    const off = table.subscribe((cs) => heard.push(...cs));
    table.connect();
    table.apply([add(route('10.10.2.0/24', [via('10.255.0.1', 3)]))]);
    off();
    table.apply([del('10.10.2.0/24')]);
    expect(heard.map((c) => c.op)).toEqual(['add']);
  });
});
