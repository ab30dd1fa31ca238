/**
 * OspfDesired → FRR configuration text, pinned by golden files under
 * test/fixtures/frr (render-*.conf for desired-*.json). The goldens are
 * spelled as FRR 8.4.4's `show running-config` prints the same lines (the
 * live test checks that against a running FRR). To refresh them after a
 * deliberate change: WGBGP_UPDATE_GOLDEN=1 npx vitest run test/ospf-bridge/frr-render
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  MANAGED_PREFIX_LIST_PREFIX,
  MANAGED_ROUTE_MAP_PREFIX,
  secretsOf,
  validateOspfDesired,
  type OspfDesired,
  type OspfInterface,
  type OspfRouteMapEntry,
  type OspfRouteMapMatch,
} from '#ospf/frr-model';
import { renderFrrConfig, renderOwned, renderText } from '#ospf/frr-render';

const FIXTURES = new URL('../fixtures/frr/', import.meta.url).pathname;
const UPDATE = process.env.WGBGP_UPDATE_GOLDEN === '1';

function desired(name: string): OspfDesired {
  return JSON.parse(readFileSync(`${FIXTURES}desired-${name}.json`, 'utf8')) as OspfDesired;
}

function iface(over: Partial<OspfInterface> = {}): OspfInterface {
  return {
    name: 'wg0',
    area: '0.0.0.0',
    cost: null,
    helloInterval: 10,
    deadInterval: 40,
    passive: false,
    network: 'point-to-point',
    v4: true,
    v6: true,
    auth: null,
    ...over,
  };
}

function base(over: Partial<OspfDesired> = {}): OspfDesired {
  return {
    routerId: '192.0.2.1',
    referenceBandwidth: null,
    v4: true,
    v6: true,
    redistribute: { kernel: null, static: null },
    fpm: null,
    interfaces: [iface()],
    ...over,
  };
}

describe('render: golden files', () => {
  for (const name of ['full', 'minimal', 'v6-static', 'redistribute']) {
    it(`desired-${name}.json renders exactly render-${name}.conf`, () => {
      const d = desired(name);
      expect(validateOspfDesired(d)).toEqual([]);
      const text = renderFrrConfig(d);
      const golden = `${FIXTURES}render-${name}.conf`;
      if (UPDATE) writeFileSync(golden, text);
      expect(text).toBe(readFileSync(golden, 'utf8'));
    });
  }
});

describe('render: what each setting becomes', () => {
  it('interface lines come in the byte order vtysh prints them, interfaces by name', () => {
    const owned = renderOwned(base({ interfaces: [iface({ name: 'wg1', cost: 5, passive: true }), iface({ name: 'wg0' })] }));
    expect([...owned.interfaces.keys()]).toEqual(['wg0', 'wg1']);
    const lines = owned.interfaces.get('wg1')!;
    expect(lines).toEqual([...lines].sort());
    expect(lines).toEqual([
      'ip ospf area 0.0.0.0',
      'ip ospf cost 5',
      'ip ospf network point-to-point',
      'ip ospf passive',
      'ipv6 ospf6 area 0.0.0.0',
      'ipv6 ospf6 cost 5',
      'ipv6 ospf6 network point-to-point',
      'ipv6 ospf6 passive',
    ]);
  });

  it('timers at FRR 8.4 defaults (hello 10, dead 40) are left out: FRR would not print them back', () => {
    const lines = renderOwned(base()).interfaces.get('wg0')!;
    expect(lines.some((l) => l.includes('interval'))).toBe(false);
    const fast = renderOwned(base({ interfaces: [iface({ helloInterval: 1, deadInterval: 40 })] })).interfaces.get('wg0')!;
    expect(fast).toContain('ip ospf hello-interval 1');
    expect(fast).toContain('ipv6 ospf6 hello-interval 1');
    expect(fast.some((l) => l.includes('dead-interval'))).toBe(false);
  });

  it('the interface form of the area only: never `network … area …` in router ospf', () => {
    const text = renderFrrConfig(desired('full'));
    expect(text).toMatch(/^ ip ospf area 0\.0\.0\.0$/m);
    expect(text).not.toMatch(/^ network /m);
  });

  it('a family off on an interface has no lines of that family; off on the router, no router stanza', () => {
    const owned = renderOwned(base({ v6: false, interfaces: [iface({ v6: false })] }));
    expect(owned.interfaces.get('wg0')!.every((l) => l.startsWith('ip ospf '))).toBe(true);
    expect(owned.routerOspf6).toBeNull();
    expect(owned.routerOspf).toEqual(['ospf router-id 192.0.2.1']);
  });

  it('an interface with neither family renders no stanza', () => {
    const owned = renderOwned(base({ interfaces: [iface({ v4: false, v6: false })] }));
    expect(owned.interfaces.get('wg0')).toEqual([]);
    expect(renderText(owned)).not.toContain('interface wg0');
  });

  it('BGP → OSPF: redistribute with the route-map in both routers, and the route-map setting tag and metric type', () => {
    const d = base({ redistribute: { kernel: { routeMap: 'WGBGP-TO-OSPF', tag: 4242, metricType: 2, metric: null }, static: null } });
    const owned = renderOwned(d);
    expect(owned.routerOspf).toContain('redistribute kernel route-map WGBGP-TO-OSPF');
    expect(owned.routerOspf6).toContain('redistribute kernel route-map WGBGP-TO-OSPF');
    expect(owned.routeMaps).toEqual(new Map([['route-map WGBGP-TO-OSPF permit 10', ['set metric-type type-2', 'set tag 4242']]]));
  });

  it('kernel and static may share one route-map; both families off renders no route-map', () => {
    const r = { routeMap: 'WGBGP-X', tag: 201, metricType: 1 as const, metric: 7 };
    const d = base({ redistribute: { kernel: r, static: { ...r } } });
    expect(validateOspfDesired(d)).toEqual([]);
    const owned = renderOwned(d);
    expect([...owned.routeMaps.keys()]).toEqual(['route-map WGBGP-X permit 10']);
    expect(owned.routerOspf).toEqual(['ospf router-id 192.0.2.1', 'redistribute kernel route-map WGBGP-X', 'redistribute static route-map WGBGP-X']);
    const off = renderOwned({ ...d, v4: false, v6: false, interfaces: [] });
    expect(off.routeMaps.size).toBe(0);
  });

  it('BGP → OSPF per family: redistribute.ospf6 is router ospf6\'s, kernel/static then router ospf\'s only', () => {
    const v4 = { routeMap: 'WGBGP-TO-OSPF', tag: 201, metricType: 2 as const, metric: null };
    const d = base({ redistribute: { kernel: v4, static: null, ospf6: { kernel: { ...v4, routeMap: 'WGBGP-TO-OSPF6' }, static: null } } });
    const owned = renderOwned(d);
    expect(owned.routerOspf).toContain('redistribute kernel route-map WGBGP-TO-OSPF');
    expect(owned.routerOspf6).toContain('redistribute kernel route-map WGBGP-TO-OSPF6');
    expect([...owned.routeMaps.keys()]).toEqual(['route-map WGBGP-TO-OSPF permit 10', 'route-map WGBGP-TO-OSPF6 permit 10']);
    // A family off: its router's route-map is not rendered (nothing would use it).
    expect([...renderOwned({ ...d, v6: false, interfaces: [iface({ v6: false })] }).routeMaps.keys()]).toEqual(['route-map WGBGP-TO-OSPF permit 10']);
    expect([...renderOwned({ ...d, v4: false, interfaces: [iface({ v4: false })] }).routeMaps.keys()]).toEqual(['route-map WGBGP-TO-OSPF6 permit 10']);
    // ospf6 with nothing: router ospf6 redistributes nothing even though router ospf does.
    expect(renderOwned(base({ redistribute: { kernel: v4, static: null, ospf6: { kernel: null, static: null } } })).routerOspf6).toEqual([
      'ospf6 router-id 192.0.2.1',
    ]);
  });

  it('route-map entries: one stanza each, by seq; match lines, and the set lines only where set is true', () => {
    const owned = renderOwned(desired('redistribute'));
    expect([...owned.routeMaps]).toEqual([
      ['route-map WGBGP-TO-OSPF permit 10', ['match ip next-hop prefix-list WGBGP-PEERS4', 'set metric-type type-2', 'set tag 201']],
      ['route-map WGBGP-TO-OSPF6 deny 5', ['match ipv6 address prefix-list WGBGP-TUNNEL-HOSTS6']],
      ['route-map WGBGP-TO-OSPF6 permit 10', ['match interface wgt0', 'set metric-type type-2', 'set tag 201']],
      ['route-map WGBGP-TO-OSPF6 permit 20', ['match interface wgt1', 'set metric-type type-2', 'set tag 201']],
    ]);
    const r = {
      routeMap: 'WGBGP-X',
      tag: null,
      metricType: 1 as const,
      metric: 5,
      entries: [
        { seq: 100, action: 'permit' as const, match: [], set: false },
        {
          seq: 20,
          action: 'permit' as const,
          match: [
            { kind: 'ip-next-hop-prefix-list' as const, list: 'WGBGP-N' },
            { kind: 'interface' as const, name: 'wg0' },
            { kind: 'ip-address-prefix-list' as const, list: 'WGBGP-A' },
          ],
          set: true,
        },
      ],
    };
    expect([...renderOwned(base({ v6: false, interfaces: [iface({ v6: false })], redistribute: { kernel: r, static: null } })).routeMaps]).toEqual([
      // vtysh prints an entry's lines in byte order; entries by seq as a number (20 before 100).
      [
        'route-map WGBGP-X permit 20',
        ['match interface wg0', 'match ip address prefix-list WGBGP-A', 'match ip next-hop prefix-list WGBGP-N', 'set metric 5', 'set metric-type type-1'],
      ],
      ['route-map WGBGP-X permit 100', []],
    ]);
  });

  it('prefix-lists: FRR\'s spelling (canonical prefix, ge before le), IPv4 lists first, then by name and seq as a number', () => {
    const owned = renderOwned(
      base({
        prefixLists: [
          { name: 'WGBGP-B6', family: 'ipv6', entries: [{ seq: 5, action: 'permit', prefix: 'FD00:255:0:0::1/128' }] },
          {
            name: 'WGBGP-B',
            family: 'ipv4',
            entries: [
              { seq: 100, action: 'deny', prefix: '0.0.0.0/0', le: 32 },
              { seq: 20, action: 'permit', prefix: '10.0.0.0/8', le: 32, ge: 24 },
            ],
          },
          { name: 'WGBGP-A', family: 'ipv4', entries: [{ seq: 7, action: 'permit', prefix: '10.255.0.1/32' }] },
          { name: 'WGBGP-EMPTY', family: 'ipv4', entries: [] },
        ],
      }),
    );
    expect(owned.prefixLists).toEqual([
      'ip prefix-list WGBGP-A seq 7 permit 10.255.0.1/32',
      'ip prefix-list WGBGP-B seq 20 permit 10.0.0.0/8 ge 24 le 32',
      'ip prefix-list WGBGP-B seq 100 deny 0.0.0.0/0 le 32',
      'ipv6 prefix-list WGBGP-B6 seq 5 permit fd00:255::1/128',
    ]);
    expect(renderText(owned)).toContain(
      'ip prefix-list WGBGP-B seq 100 deny 0.0.0.0/0 le 32\n!\nipv6 prefix-list WGBGP-B6 seq 5 permit fd00:255::1/128\n!\n',
    );
  });

  it('fpm: zebra leaves the default port out; IPv6 addresses in inet_ntop spelling', () => {
    expect(renderOwned(base({ fpm: { address: '127.0.0.1', port: 2620 } })).fpm).toEqual([
      'fpm address 127.0.0.1',
      'no fpm use-next-hop-groups',
    ]);
    expect(renderOwned(base({ fpm: { address: '2001:DB8:0::1', port: 9999 } })).fpm[0]).toBe('fpm address 2001:db8::1 port 9999');
  });

  it('nothing desired renders nothing', () => {
    expect(renderFrrConfig(base({ v4: false, v6: false, interfaces: [] }))).toBe('');
  });
});

describe('validateOspfDesired', () => {
  it('accepts the fixtures', () => {
    for (const name of ['full', 'minimal', 'v6-static', 'redistribute']) expect(validateOspfDesired(desired(name))).toEqual([]);
  });

  it('names the key path and the reason of every problem', () => {
    const d = base({
      routerId: '1.2.3',
      referenceBandwidth: 0,
      redistribute: { kernel: { routeMap: 'OTHER', tag: 0, metricType: 2, metric: null }, static: null },
      fpm: { address: 'localhost', port: 0 },
      interfaces: [
        iface({ name: 'wg 0', area: '0', cost: 0, helloInterval: 10, deadInterval: 10 }),
        iface({ name: 'wg1', auth: { v2: { type: 'md5', keyId: 0, key: 'seventeen-bytes!!' }, v3: { keyId: 1, key: 'a b', algorithm: 'hmac-sha-256' } } }),
        iface({ name: 'wg1' }),
      ],
    });
    expect(validateOspfDesired(d)).toEqual([
      'routerId: must be a dotted quad, got "1.2.3"',
      'referenceBandwidth: must be 1..4294967 (Mbit/s) or null',
      `redistribute.kernel.routeMap: must start with ${MANAGED_ROUTE_MAP_PREFIX} and use only letters, digits, '_', '.', '-'`,
      'redistribute.kernel.tag: must be 1..4294967295 or null',
      'fpm.address: must be an IP address',
      'fpm.port: must be 1..65535',
      'interfaces[0].name: not an interface name FRR and Linux both take: "wg 0"',
      'interfaces[0].area: must be a dotted quad, got "0"',
      'interfaces[0].cost: must be 1..65535 or null',
      'interfaces[0].deadInterval: must be longer than helloInterval',
      'interfaces[1].auth.v2.keyId: must be 1..255',
      'interfaces[1].auth.v2.key: must be 1..16 printable ASCII characters without blanks',
      'interfaces[1].auth.v3.key: must be 1..64 printable ASCII characters without blanks',
      'interfaces[2].name: wg1 is listed twice',
    ]);
  });

  it('refuses a newline anywhere it would reach vtysh (one -c argument must stay one command)', () => {
    expect(validateOspfDesired(base({ interfaces: [iface({ name: 'wg0\nno router ospf' })] }))).toHaveLength(1);
    const auth = { v2: { type: 'md5' as const, keyId: 1, key: 'k\nend' }, v3: null };
    expect(validateOspfDesired(base({ interfaces: [iface({ auth })] }))).toEqual([
      'interfaces[0].auth.v2.key: must be 1..16 printable ASCII characters without blanks',
    ]);
  });

  it('an interface family needs the router family; one route-map name cannot carry two settings', () => {
    const r = { routeMap: 'WGBGP-X', tag: 201, metricType: 2 as const, metric: null };
    expect(
      validateOspfDesired(base({ v6: false, interfaces: [iface()], redistribute: { kernel: r, static: { ...r, tag: 202 } } })),
    ).toEqual(['redistribute.static.routeMap: WGBGP-X is also used with other settings', 'interfaces[0].v6: OSPFv3 on the interface needs v6 on']);
  });

  it('prefix-lists: owned names, one list per family and name, FRR\'s ranges; an entry FRR would silently drop is refused', () => {
    const d = base({
      prefixLists: [
        { name: 'PEERS', family: 'ipv4', entries: [] },
        {
          name: 'WGBGP-P',
          family: 'ipv4',
          entries: [
            { seq: 0, action: 'permit', prefix: '10.0.0.0/8' },
            { seq: 5, action: 'permit', prefix: '10.0.0.1/8' },
            { seq: 5, action: 'permit', prefix: 'fd00::/8' },
            { seq: 6, action: 'permit', prefix: '10.0.0.0/8', ge: 7, le: 33 },
            { seq: 7, action: 'permit', prefix: '10.0.0.0/8', ge: 24, le: 16 },
            { seq: 8, action: 'permit', prefix: '10.0.0.0/8', ge: 8, le: 8 },
            { seq: 9, action: 'permit', prefix: '10.0.0.0/8', ge: 8, le: 8 },
            { seq: 10, action: 'deny', prefix: '10.0.0.0/8', ge: 8, le: 8 },
          ],
        },
        { name: 'WGBGP-P', family: 'ipv4', entries: [] },
        { name: 'WGBGP-P', family: 'ipv6', entries: [{ seq: 4294967295, action: 'permit', prefix: 'fd00::/8', le: 128 }] },
      ],
    });
    expect(validateOspfDesired(d)).toEqual([
      `prefixLists[0].name: must start with ${MANAGED_PREFIX_LIST_PREFIX} and use only letters, digits, '_', '.', '-'`,
      'prefixLists[1].entries[0].seq: must be 1..4294967295',
      'prefixLists[1].entries[1].prefix: must be an ipv4 prefix with its host bits zero, got "10.0.0.1/8"',
      'prefixLists[1].entries[2].seq: seq 5 is used twice',
      'prefixLists[1].entries[2].prefix: must be an ipv4 prefix with its host bits zero, got "fd00::/8"',
      'prefixLists[1].entries[3].ge: must be 8..32',
      'prefixLists[1].entries[3].le: must be 8..32',
      'prefixLists[1].entries[4].le: must be 24..32',
      'prefixLists[1].entries[6]: repeats another entry of the list (FRR would silently drop it)',
      'prefixLists[2].name: ipv4 prefix-list WGBGP-P is listed twice',
    ]);
  });

  it('route-map entries: seqs, deny sets nothing, one match per kind, lists that exist in the right family', () => {
    const entries = [
      { seq: 0, action: 'deny' as const, match: [{ kind: 'interface' as const, name: 'wg 0' }], set: true },
      { seq: 10, action: 'permit' as const, match: [{ kind: 'ip-next-hop-prefix-list' as const, list: 'WGBGP-NONE' }], set: true },
      { seq: 10, action: 'permit' as const, match: [{ kind: 'ip-next-hop-prefix-list' as const, list: 'WGBGP-H6' }], set: true },
      {
        seq: 20,
        action: 'permit' as const,
        match: [
          { kind: 'interface' as const, name: 'wg0' },
          { kind: 'interface' as const, name: 'wg1' },
        ],
        set: true,
      },
    ];
    const d = base({
      v6: false,
      interfaces: [iface({ v6: false })],
      prefixLists: [{ name: 'WGBGP-H6', family: 'ipv6', entries: [] }],
      redistribute: { kernel: { routeMap: 'WGBGP-X', tag: 201, metricType: 2, metric: null, entries }, static: null },
    });
    expect(validateOspfDesired(d)).toEqual([
      'redistribute.kernel.entries[0].seq: must be 1..65535',
      'redistribute.kernel.entries[0].set: only a permit entry sets anything',
      'redistribute.kernel.entries[0].match[0].name: not an interface name: "wg 0"',
      'redistribute.kernel.entries[1].match[0].list: names no ipv4 prefix-list in prefixLists: "WGBGP-NONE"',
      'redistribute.kernel.entries[2].seq: seq 10 is used twice',
      'redistribute.kernel.entries[2].match[0].list: names no ipv4 prefix-list in prefixLists: "WGBGP-H6"',
      'redistribute.kernel.entries[3].match[1]: a second interface match (FRR keeps one per kind: it would replace the first)',
    ]);
    const none = { routeMap: 'WGBGP-X', tag: 201, metricType: 2 as const, metric: null, entries: [] };
    expect(validateOspfDesired(base({ redistribute: { kernel: none, static: null } }))).toEqual([
      'redistribute.kernel.entries: must have at least one entry (no redistribution: null)',
    ]);
  });

  it('a match the daemon does not implement is refused: FRR would store it, ignore it, and redistribute every route', () => {
    const d = desired('redistribute');
    expect(validateOspfDesired(d)).toEqual([]);
    // The v4 route-map for both daemons (no ospf6 of its own): ospf6d has no next-hop match.
    const shared = { ...d, redistribute: { kernel: d.redistribute.kernel, static: null } };
    expect(validateOspfDesired(shared)).toEqual([
      'redistribute.kernel.entries[0].match[0]: ospf6d does not implement ip-next-hop-prefix-list: it would ignore the line and the entry would match every route',
    ]);
    // Without OSPFv3 nothing uses it in ospf6d.
    expect(validateOspfDesired({ ...shared, v6: false, interfaces: d.interfaces.map((i) => ({ ...i, v6: false })) })).toEqual([]);
    // And the other way round: ospfd has no IPv6 match.
    const swapped = { ...d, redistribute: { kernel: d.redistribute.ospf6!.kernel, static: null, ospf6: { kernel: null, static: null } } };
    expect(validateOspfDesired(swapped)).toEqual([
      'redistribute.kernel.entries[0].match[0]: ospfd does not implement ipv6-address-prefix-list: it would ignore the line and the entry would match every route',
    ]);
    // `match interface` is in both: one route-map may serve both routers.
    const both = {
      routeMap: 'WGBGP-X',
      tag: 201,
      metricType: 2 as const,
      metric: null,
      entries: [{ seq: 10, action: 'permit' as const, match: [{ kind: 'interface' as const, name: 'wg0' }], set: true }],
    };
    expect(validateOspfDesired(base({ redistribute: { kernel: both, static: null } }))).toEqual([]);
  });

  it('one route-map name, two redistributions: the same entries in any spelling, or refused', () => {
    const entries = (...match: OspfRouteMapMatch[]): OspfRouteMapEntry[] => [{ seq: 10, action: 'permit', match, set: true }];
    const r = { routeMap: 'WGBGP-X', tag: 201, metricType: 2 as const, metric: null };
    const ifs: OspfRouteMapMatch[] = [
      { kind: 'interface', name: 'wg0' },
      { kind: 'ip-next-hop-prefix-list', list: 'WGBGP-P' },
    ];
    const lists = [{ name: 'WGBGP-P', family: 'ipv4' as const, entries: [] }];
    const v4only = { v6: false, interfaces: [iface({ v6: false })], prefixLists: lists };
    const sameEntries = base({ ...v4only, redistribute: { kernel: { ...r, entries: entries(...ifs) }, static: { ...r, entries: entries(ifs[1]!, ifs[0]!) } } });
    expect(validateOspfDesired(sameEntries)).toEqual([]);
    const other = base({ ...v4only, redistribute: { kernel: { ...r, entries: entries(...ifs) }, static: { ...r, entries: entries(ifs[0]!) } } });
    expect(validateOspfDesired(other)).toEqual(['redistribute.static.routeMap: WGBGP-X is also used with other settings']);
    // Absent entries are the default entry: the same as writing it out.
    const spelled = base({ redistribute: { kernel: r, static: { ...r, entries: [{ seq: 10, action: 'permit', match: [], set: true }] } } });
    expect(validateOspfDesired(spelled)).toEqual([]);
  });

  it('secretsOf lists every key, for redaction', () => {
    expect(secretsOf(desired('full'))).toEqual(['s3cr3t-md5', 's3cr3t-sha']);
  });
});
