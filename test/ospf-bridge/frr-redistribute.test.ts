/**
 * BGP → OSPF in the differ: WGBGP- prefix-lists and route-map entries with
 * match lines are owned entry by entry, created before what uses them and
 * removed after it, and spelled as FRR 8.4.4 prints them (the running-config
 * fixture was captured from ospfd/ospf6d after applying desired-redistribute).
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { diffPrefixLists, isEmptyPlan, negate, ownedPart, parseRunningConfig, planApply, planChanges, type PlanContext } from '#ospf/frr-config';
import type { OspfDesired, OspfPrefixList, OspfPrefixListEntry, OspfRedistribution, OspfRouteMapEntry } from '#ospf/frr-model';
import { renderFrrConfig, renderOwned, renderText, type OwnedConfig } from '#ospf/frr-render';

const FIXTURES = new URL('../fixtures/frr/', import.meta.url).pathname;
const fixture = (name: string): string => readFileSync(`${FIXTURES}${name}`, 'utf8');
const REDISTRIBUTE = JSON.parse(fixture('desired-redistribute.json')) as OspfDesired;
const ctx: PlanContext = { pointToPoint: new Set(), effectiveRouterId: { v4: '10.10.1.1', v6: '10.10.1.1' } };

function runningOf(d: OspfDesired, extra = ''): string {
  return `Building configuration...\n\nCurrent configuration:\n!\nfrr version 8.4.4\nhostname r1\n!\n${extra}${renderFrrConfig(d)}end\n`;
}

/** REDISTRIBUTE for these peers (index into the tunnels wgt0, wgt1, wgt2: 10.255.N.1, fd00:255:N::1). */
function forPeers(...peers: number[]): OspfDesired {
  const v4 = REDISTRIBUTE.redistribute.kernel!;
  const v6 = REDISTRIBUTE.redistribute.ospf6!.kernel!;
  const lists: OspfPrefixList[] = [
    { name: 'WGBGP-PEERS4', family: 'ipv4', entries: peers.map((n) => ({ seq: 5 * (n + 1), action: 'permit', prefix: `10.255.${n}.1/32` })) },
    {
      name: 'WGBGP-TUNNEL-HOSTS6',
      family: 'ipv6',
      entries: peers.map((n) => ({ seq: 5 * (n + 1), action: 'permit', prefix: `fd00:255:${n === 0 ? '' : `${n}:`}:1/128` })),
    },
  ];
  const entries: OspfRouteMapEntry[] = [
    v6.entries![0]!,
    ...peers.map((n) => ({ seq: 10 * (n + 1), action: 'permit' as const, match: [{ kind: 'interface' as const, name: `wgt${n}` }], set: true })),
  ];
  return { ...REDISTRIBUTE, prefixLists: lists, redistribute: { kernel: v4, static: null, ospf6: { kernel: { ...v6, entries }, static: null } } };
}

const OFF: OspfDesired = { ...REDISTRIBUTE, redistribute: { kernel: null, static: null }, prefixLists: [] };

describe('prefix-lists and route-map entries: what is owned, as FRR prints it', () => {
  it('FRR 8.4.4\'s running-config after applying desired-redistribute plans nothing, and its owned part is the golden rendering', () => {
    const running = fixture('running-config-redistribute.txt');
    expect(planApply(running, REDISTRIBUTE, ['wgt0'], ctx)).toEqual({ config: [], exec: [] });
    expect(renderText(ownedPart(parseRunningConfig(running), ['wgt0']))).toBe(fixture('render-redistribute.conf'));
  });

  it('owned: WGBGP- lists of both families, entries and description, in renderOwned\'s order; other lists never', () => {
    const text = [
      'Current configuration:',
      '!',
      'ip prefix-list WGBGP-Z seq 5 permit 10.0.0.0/8',
      'ip prefix-list OPERATOR seq 5 permit 10.0.0.0/8',
      'ip prefix-list WGBGP-A description peers',
      'ip prefix-list WGBGP-A seq 100 permit 10.255.1.1/32',
      'ip prefix-list WGBGP-A seq 20 permit 10.255.0.1/32',
      '!',
      'ipv6 prefix-list WGBGP-A seq 5 permit fd00:255::1/128',
      'ipv6 prefix-list OPERATOR6 seq 5 permit ::/0 le 128',
      '!',
      'end',
    ].join('\n');
    expect(ownedPart(parseRunningConfig(text), []).prefixLists).toEqual([
      'ip prefix-list WGBGP-A description peers',
      'ip prefix-list WGBGP-A seq 20 permit 10.255.0.1/32',
      'ip prefix-list WGBGP-A seq 100 permit 10.255.1.1/32',
      'ip prefix-list WGBGP-Z seq 5 permit 10.0.0.0/8',
      'ipv6 prefix-list WGBGP-A seq 5 permit fd00:255::1/128',
    ]);
  });

  it('an entry goes by its seq: `no ip prefix-list P seq N` (FRR 8.4 takes the short form)', () => {
    expect(negate('ip prefix-list WGBGP-P seq 5 permit 10.0.0.0/8 ge 24 le 32')).toBe('no ip prefix-list WGBGP-P seq 5');
    expect(negate('ipv6 prefix-list WGBGP-P seq 10 deny fd00::/8')).toBe('no ipv6 prefix-list WGBGP-P seq 10');
    expect(negate('match interface wgt1')).toBe('no match interface wgt1');
  });
});

describe('plan: order and granularity', () => {
  it('from nothing: prefix-lists, then the route-maps that match them, then `redistribute` that uses those', () => {
    const plan = planApply(runningOf(OFF), REDISTRIBUTE, ['wgt0'], ctx).config;
    expect(plan).toEqual([
      'ip prefix-list WGBGP-PEERS4 seq 5 permit 10.255.0.1/32',
      'ip prefix-list WGBGP-PEERS4 seq 10 permit 10.255.1.1/32',
      'ipv6 prefix-list WGBGP-TUNNEL-HOSTS6 seq 5 permit fd00:255::1/128',
      'ipv6 prefix-list WGBGP-TUNNEL-HOSTS6 seq 10 permit fd00:255:1::1/128',
      'route-map WGBGP-TO-OSPF permit 10',
      'match ip next-hop prefix-list WGBGP-PEERS4',
      'set metric-type type-2',
      'set tag 201',
      'exit',
      'route-map WGBGP-TO-OSPF6 deny 5',
      'match ipv6 address prefix-list WGBGP-TUNNEL-HOSTS6',
      'exit',
      'route-map WGBGP-TO-OSPF6 permit 10',
      'match interface wgt0',
      'set metric-type type-2',
      'set tag 201',
      'exit',
      'route-map WGBGP-TO-OSPF6 permit 20',
      'match interface wgt1',
      'set metric-type type-2',
      'set tag 201',
      'exit',
      'router ospf',
      'redistribute kernel route-map WGBGP-TO-OSPF',
      'exit',
      'router ospf6',
      'redistribute kernel route-map WGBGP-TO-OSPF6',
      'exit',
    ]);
  });

  it('to nothing, the reverse: `redistribute` first, then the route-map entries, then the prefix-lists', () => {
    expect(planApply(runningOf(REDISTRIBUTE), OFF, ['wgt0'], ctx).config).toEqual([
      'router ospf',
      'no redistribute kernel route-map WGBGP-TO-OSPF',
      'exit',
      'router ospf6',
      'no redistribute kernel route-map WGBGP-TO-OSPF6',
      'exit',
      'no route-map WGBGP-TO-OSPF permit 10',
      'no route-map WGBGP-TO-OSPF6 deny 5',
      'no route-map WGBGP-TO-OSPF6 permit 10',
      'no route-map WGBGP-TO-OSPF6 permit 20',
      'no ip prefix-list WGBGP-PEERS4 seq 5',
      'no ip prefix-list WGBGP-PEERS4 seq 10',
      'no ipv6 prefix-list WGBGP-TUNNEL-HOSTS6 seq 5',
      'no ipv6 prefix-list WGBGP-TUNNEL-HOSTS6 seq 10',
    ]);
  });

  it('IPv6 turned off: `no router ospf6` before the route-map it used', () => {
    const v4only = { ...REDISTRIBUTE, v6: false, interfaces: REDISTRIBUTE.interfaces.map((i) => ({ ...i, v6: false })) };
    const plan = planApply(runningOf(REDISTRIBUTE), v4only, ['wgt0'], ctx).config;
    expect(plan.indexOf('no router ospf6')).toBeLessThan(plan.indexOf('no route-map WGBGP-TO-OSPF6 deny 5'));
    expect(plan.filter((c) => c.startsWith('no ') && !c.startsWith('no ipv6 ospf6 '))).toEqual([
      'no router ospf6',
      'no route-map WGBGP-TO-OSPF6 deny 5',
      'no route-map WGBGP-TO-OSPF6 permit 10',
      'no route-map WGBGP-TO-OSPF6 permit 20',
    ]);
  });

  it('a peer added: its prefix-list entries, then its route-map entry; nothing else', () => {
    expect(planApply(runningOf(forPeers(0, 1)), forPeers(0, 1, 2), ['wgt0'], ctx).config).toEqual([
      'ip prefix-list WGBGP-PEERS4 seq 15 permit 10.255.2.1/32',
      'ipv6 prefix-list WGBGP-TUNNEL-HOSTS6 seq 15 permit fd00:255:2::1/128',
      'route-map WGBGP-TO-OSPF6 permit 30',
      'match interface wgt2',
      'set metric-type type-2',
      'set tag 201',
      'exit',
    ]);
  });

  it('a peer removed: its route-map entry, then its prefix-list entries (its host /128 is never let through in between)', () => {
    expect(planApply(runningOf(forPeers(0, 1, 2)), forPeers(0, 2), ['wgt0'], ctx).config).toEqual([
      'no route-map WGBGP-TO-OSPF6 permit 20',
      'no ip prefix-list WGBGP-PEERS4 seq 10',
      'no ipv6 prefix-list WGBGP-TUNNEL-HOSTS6 seq 10',
    ]);
  });

  it('in place: a new prefix at a seq, a new list or interface in a match line, a new tag: one command each', () => {
    const before = forPeers(0, 1);
    const after = structuredClone(before);
    after.prefixLists![0]!.entries[1]!.prefix = '10.255.9.1/32';
    after.redistribute.kernel!.entries![0]!.match = [{ kind: 'ip-next-hop-prefix-list', list: 'WGBGP-OTHER4' }];
    after.redistribute.ospf6!.kernel!.entries![2]!.match = [{ kind: 'interface', name: 'wgt9' }];
    after.redistribute.ospf6!.kernel!.tag = 202;
    expect(planApply(runningOf(before), after, ['wgt0'], ctx).config).toEqual([
      'ip prefix-list WGBGP-PEERS4 seq 10 permit 10.255.9.1/32',
      'route-map WGBGP-TO-OSPF permit 10',
      'match ip next-hop prefix-list WGBGP-OTHER4',
      'exit',
      'route-map WGBGP-TO-OSPF6 permit 10',
      'set tag 202',
      'exit',
      'route-map WGBGP-TO-OSPF6 permit 20',
      'match interface wgt9',
      'set tag 202',
      'exit',
    ]);
  });

  it('a new action for a seq: FRR changes it in place and keeps the lines, so no `no route-map`', () => {
    const before = forPeers(0, 1);
    const after = structuredClone(before);
    const entry = after.redistribute.ospf6!.kernel!.entries![2]!;
    Object.assign(entry, { action: 'deny', set: false });
    expect(planApply(runningOf(before), after, ['wgt0'], ctx).config).toEqual([
      'route-map WGBGP-TO-OSPF6 deny 20',
      'no set metric-type type-2',
      'no set tag 201',
      'exit',
    ]);
  });

  it('an entry without lines still gets its header (FRR prints it with `exit`)', () => {
    const r: OspfRedistribution = {
      ...REDISTRIBUTE.redistribute.kernel!,
      entries: [...REDISTRIBUTE.redistribute.kernel!.entries!, { seq: 100, action: 'deny', match: [], set: false }],
    };
    const d = { ...REDISTRIBUTE, redistribute: { ...REDISTRIBUTE.redistribute, kernel: r } };
    expect(planApply(runningOf(REDISTRIBUTE), d, ['wgt0'], ctx).config).toEqual(['route-map WGBGP-TO-OSPF deny 100', 'exit']);
    expect(planApply(runningOf(d), d, ['wgt0'], ctx)).toEqual({ config: [], exec: [] });
  });

  it('FRR silently drops an entry equal to another but for its seq: a moved or swapped entry is removed before it is set again', () => {
    const p = (seq: number, prefix: string): string => `ip prefix-list WGBGP-P seq ${seq} permit ${prefix}`;
    // Renumbered: 5 → 7.
    expect(diffPrefixLists([p(5, '10.0.0.0/8')], [p(7, '10.0.0.0/8')])).toEqual({
      early: ['no ip prefix-list WGBGP-P seq 5', p(7, '10.0.0.0/8')],
      late: [],
    });
    // Swapped: 5 and 10 exchange their prefixes.
    expect(diffPrefixLists([p(5, '10.0.0.0/8'), p(10, '11.0.0.0/8')], [p(5, '11.0.0.0/8'), p(10, '10.0.0.0/8')])).toEqual({
      early: ['no ip prefix-list WGBGP-P seq 5', 'no ip prefix-list WGBGP-P seq 10', p(5, '11.0.0.0/8'), p(10, '10.0.0.0/8')],
      late: [],
    });
    // Another list's equal entry is no conflict.
    expect(diffPrefixLists([p(5, '10.0.0.0/8')], [p(5, '10.0.0.0/8'), 'ip prefix-list WGBGP-Q seq 5 permit 10.0.0.0/8']).early).toEqual([
      'ip prefix-list WGBGP-Q seq 5 permit 10.0.0.0/8',
    ]);
  });

  it('an operator\'s prefix-lists and route-maps are never touched', () => {
    const extra = 'ip prefix-list OPERATOR seq 5 permit 10.0.0.0/8\n!\nroute-map OPERATOR deny 5\n match interface wgt0\nexit\n!\n';
    const plan = planApply(runningOf(REDISTRIBUTE, extra), OFF, ['wgt0'], ctx).config;
    expect(plan.length).toBeGreaterThan(0);
    expect(plan.filter((c) => c.includes('OPERATOR'))).toEqual([]);
    expect(isEmptyPlan(planApply(runningOf(REDISTRIBUTE, extra), REDISTRIBUTE, ['wgt0'], ctx))).toBe(true);
  });
});

/**
 * FRR 8.4's handling of the owned top-level lines and route-map stanzas, as
 * checked in a namespace: prefix-list entries keyed by seq and set in place,
 * an entry equal to another but for its seq silently dropped; route-map
 * entries keyed by name and seq (a new action in place, lines kept), one
 * line per match condition / set action.
 */
function applyToFrr(owned: OwnedConfig, commands: readonly string[]): { prefixLists: string[]; routeMaps: Map<string, string[]> } {
  const lists = new Map(owned.prefixLists.map((l) => [entryKey(l), l]));
  const maps = new Map([...owned.routeMaps].map(([h, lines]) => [h, [...lines]]));
  let open: string | null = null;
  for (const c of commands) {
    if (c === 'exit') {
      open = null;
      continue;
    }
    if (open !== null) {
      const lines = maps.get(open)!;
      const key = (l: string): string => l.replace(/ \S+$/, '');
      const line = c.replace(/^no /, '');
      const kept = lines.filter((l) => key(l) !== key(line));
      maps.set(open, c.startsWith('no ') ? kept : [...kept, line]);
      continue;
    }
    const header = /^route-map (\S+) (permit|deny) (\d+)$/.exec(c);
    if (header !== null) {
      const same = [...maps.keys()].find((h) => h.startsWith(`route-map ${header[1]} `) && h.endsWith(` ${header[3]}`));
      const lines = same === undefined ? [] : maps.get(same)!;
      if (same !== undefined) maps.delete(same);
      maps.set(c, lines);
      open = c;
      continue;
    }
    if (c.startsWith('no route-map ')) {
      maps.delete(c.slice(3));
      continue;
    }
    if (/^no (ip|ipv6) prefix-list /.test(c)) {
      lists.delete(c.slice(3));
      continue;
    }
    if (/^(ip|ipv6) prefix-list /.test(c)) {
      const content = c.replace(/ seq \d+ /, ' ');
      const duplicate = [...lists.values()].some((l) => l.replace(/ seq \d+ /, ' ') === content && entryKey(l) !== entryKey(c));
      if (!duplicate) lists.set(entryKey(c), c);
    }
  }
  const sortLines = (m: Map<string, string[]>): Map<string, string[]> => new Map([...m].map(([h, l]) => [h, [...l].sort()]));
  return { prefixLists: [...lists.values()].sort(), routeMaps: sortLines(maps) };
}

function entryKey(line: string): string {
  return /^((ip|ipv6) prefix-list \S+ seq \d+)/.exec(line)?.[1] ?? line;
}

describe('plan: properties against a model of FRR', () => {
  const prefix4 = fc.constantFrom('10.255.0.1/32', '10.255.1.1/32', '10.0.0.0/8');
  const prefix6 = fc.constantFrom('fd00:255::1/128', 'fd00:255:1::1/128', 'fd00::/8');
  const entriesOf = (prefix: fc.Arbitrary<string>): fc.Arbitrary<OspfPrefixListEntry[]> =>
    fc
      .uniqueArray(fc.record({ seq: fc.constantFrom(5, 10, 15, 20), action: fc.constantFrom('permit' as const, 'deny' as const), prefix }), {
        selector: (e) => e.seq,
        maxLength: 4,
      })
      .map((es) => es.filter((e, i) => es.findIndex((o) => o.action === e.action && o.prefix === e.prefix) === i));
  const lists: fc.Arbitrary<OspfPrefixList[]> = fc
    .tuple(fc.option(entriesOf(prefix4)), fc.option(entriesOf(prefix4)), fc.option(entriesOf(prefix6)))
    .map(([a, b, c]) => [
      ...(a === null ? [] : [{ name: 'WGBGP-A', family: 'ipv4' as const, entries: a }]),
      ...(b === null ? [] : [{ name: 'WGBGP-B', family: 'ipv4' as const, entries: b }]),
      ...(c === null ? [] : [{ name: 'WGBGP-A', family: 'ipv6' as const, entries: c }]),
    ]);
  const entries = (matches: fc.Arbitrary<OspfRouteMapEntry['match']>): fc.Arbitrary<OspfRouteMapEntry[]> =>
    fc
      .uniqueArray(fc.record({ seq: fc.constantFrom(5, 10, 20, 30), action: fc.constantFrom('permit' as const, 'deny' as const), match: matches }), {
        selector: (e) => e.seq,
        minLength: 1,
        maxLength: 3,
      })
      .map((es) => es.map((e) => ({ ...e, set: e.action === 'permit' })));
  const map = (name: string, matches: fc.Arbitrary<OspfRouteMapEntry['match']>): fc.Arbitrary<OspfRedistribution | null> =>
    fc.option(
      fc.record({
        routeMap: fc.constant(name),
        tag: fc.option(fc.constantFrom(201, 202)),
        metricType: fc.constantFrom(1 as const, 2 as const),
        metric: fc.option(fc.constantFrom(0, 20)),
        entries: entries(matches),
      }),
    );
  const v4Match = fc.subarray([
    { kind: 'ip-next-hop-prefix-list' as const, list: 'WGBGP-A' },
    { kind: 'interface' as const, name: 'wgt0' },
  ]);
  const v6Match = fc.subarray([{ kind: 'ipv6-address-prefix-list' as const, list: 'WGBGP-A' }]).chain((m) =>
    fc.constantFrom('wgt0', 'wgt1').map((name) => [...m, { kind: 'interface' as const, name }]),
  );
  const desiredArb: fc.Arbitrary<OspfDesired> = fc
    .record({ v4: map('WGBGP-TO-OSPF', v4Match), v6: map('WGBGP-TO-OSPF6', v6Match), prefixLists: lists, v6on: fc.boolean() })
    .map(({ v4, v6, prefixLists, v6on }) => ({
      ...REDISTRIBUTE,
      v6: v6on,
      interfaces: REDISTRIBUTE.interfaces.map((i) => ({ ...i, v6: v6on })),
      prefixLists,
      redistribute: { kernel: v4, static: null, ospf6: { kernel: v6, static: null } },
    }));

  it('from any state to any other, the plan run through the model of FRR ends at the target', () => {
    fc.assert(
      fc.property(desiredArb, desiredArb, (a, b) => {
        const target = renderOwned(b);
        const result = applyToFrr(renderOwned(a), planChanges(renderOwned(a), target, ctx).config);
        expect(result.prefixLists).toEqual([...target.prefixLists].sort());
        expect(result.routeMaps).toEqual(new Map([...target.routeMaps].map(([h, l]) => [h, [...l].sort()])));
      }),
    );
  });

  it('prefix-list commands come first (new entries, and removals that clear a seq collision) or last (removals): never in between', () => {
    fc.assert(
      fc.property(desiredArb, desiredArb, (a, b) => {
        const plan = planApply(runningOf(a), b, ['wgt0'], ctx).config;
        const isList = (c: string): boolean => /^(no )?(ip|ipv6) prefix-list /.test(c);
        let first = 0;
        while (first < plan.length && isList(plan[first]!)) first++;
        let last = plan.length;
        while (last > first && /^no (ip|ipv6) prefix-list /.test(plan[last - 1]!)) last--;
        expect(plan.slice(first, last).filter(isList)).toEqual([]);
      }),
    );
  });

  it('a running configuration equal to the rendering plans nothing', () => {
    fc.assert(
      fc.property(desiredArb, (d) => {
        expect(planApply(runningOf(d), d, ['wgt0'], ctx)).toEqual({ config: [], exec: [] });
      }),
    );
  });
});
