/**
 * FRR 8.4.4's show output (fixtures captured from ospfd/ospf6d in namespaces)
 * → the driver's stable shapes. ospfd and ospf6d name the same facts
 * differently; the shapes do not.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FrrOutputError } from '#ospf/frr-errors';
import {
  durationMs,
  neighborState,
  parseDaemons,
  parseJsonOutput,
  parseOspf6ExternalLsas,
  parseOspf6Neighbors,
  parseOspf6Routes,
  parseOspfExternalLsas,
  parseOspfNeighbors,
  parseOspfRoutes,
  parseRouterId,
  parseVersion,
  pointToPointInterfaces,
  zebraHasFpmModule,
} from '#ospf/frr-show';

const FIXTURES = new URL('../fixtures/frr/', import.meta.url).pathname;
const fixture = (name: string): string => readFileSync(`${FIXTURES}${name}`, 'utf8');
const PEER_LL = 'fe80::eca2:67ff:fe82:ef8c';

describe('neighbors', () => {
  it('ospfd: keyed by router ID, state "Full/-", ifaceName "<if>:<local address>", times in ms', () => {
    expect(parseOspfNeighbors(fixture('ospfd-neighbor.json'))).toEqual([
      {
        family: 'ipv4',
        routerId: '10.10.2.1',
        state: 'Full',
        interface: 'tun0',
        address: '10.255.0.1',
        deadTimeMs: 3934,
        uptimeMs: 11066,
      },
    ]);
  });

  it('ospf6d: a list with neighborId, "00:00:03" durations; the link-local address from the detail JSON', () => {
    expect(parseOspf6Neighbors(fixture('ospf6d-neighbor.json'), fixture('ospf6d-neighbor-detail.json'))).toEqual([
      {
        family: 'ipv6',
        routerId: '10.10.2.1',
        state: 'Full',
        interface: 'tun0',
        address: PEER_LL,
        deadTimeMs: 3000,
        uptimeMs: 6000,
      },
    ]);
    expect(parseOspf6Neighbors(fixture('ospf6d-neighbor.json'))[0]!.address).toBeNull();
  });

  it('no instance: ospfd prints {} and ospf6d nothing; both are no neighbors', () => {
    expect(parseOspfNeighbors('{\n}\n')).toEqual([]);
    expect(parseOspf6Neighbors('')).toEqual([]);
  });

  it('state names of both daemons map to RFC 2328 §10.1', () => {
    expect(['Full/DR', '2-Way/DROther', 'Init/-', 'ExStart/-'].map(neighborState)).toEqual(['Full', '2-Way', 'Init', 'ExStart']);
    expect(['Twoway', 'ExChange', 'Loading', 'Down', 'Attempt'].map(neighborState)).toEqual(['2-Way', 'Exchange', 'Loading', 'Down', 'Attempt']);
    expect(neighborState('Deleted')).toBe('Unknown');
  });

  it('ospf6d durations: hh:mm:ss and the day form', () => {
    expect(durationMs('01:02:03')).toBe(3_723_000);
    expect(durationMs('2d03h04m')).toBe((((2 * 24 + 3) * 60 + 4) * 60) * 1000);
    expect(durationMs('soon')).toBeNull();
    expect(durationMs('')).toBeNull();
  });
});

describe('routes', () => {
  it('ospfd: N / N IA / N E2 with type-2 metric and tag; router entries left out; attached next hops without address', () => {
    const routes = parseOspfRoutes(fixture('ospfd-route.json'));
    expect(routes.map((r) => `${r.prefix} ${r.type}`)).toEqual([
      '10.10.1.0/24 intra',
      '10.10.2.0/24 intra',
      '10.20.2.0/24 inter',
      '10.255.0.0/31 intra',
      '192.0.2.0/24 external2',
      '192.0.3.0/24 external2',
      '192.0.4.0/24 external2',
      '192.0.5.0/24 external2',
    ]);
    expect(routes.find((r) => r.prefix === '10.10.1.0/24')).toEqual({
      family: 'ipv4',
      prefix: '10.10.1.0/24',
      type: 'intra',
      cost: 10,
      type2Cost: null,
      tag: null,
      area: '0.0.0.0',
      nexthops: [{ address: null, interface: 'lan' }],
    });
    expect(routes.find((r) => r.prefix === '192.0.2.0/24')).toEqual({
      family: 'ipv4',
      prefix: '192.0.2.0/24',
      type: 'external2',
      cost: 10,
      type2Cost: 20,
      tag: 201,
      area: null,
      nexthops: [{ address: '10.255.0.1', interface: 'tun0' }],
    });
  });

  it('ospf6d (detail JSON): Intra-Area / Inter-Area / External-1, metricCost; "::" means attached', () => {
    const routes = parseOspf6Routes(fixture('ospf6d-route-detail.json'));
    expect(routes).toEqual([
      {
        family: 'ipv6',
        prefix: '2001:db8:9::/48',
        type: 'external1',
        cost: 40,
        type2Cost: null,
        tag: null,
        area: '0.0.0.0',
        nexthops: [{ address: PEER_LL, interface: 'tun0' }],
      },
      {
        family: 'ipv6',
        prefix: 'fd00:10:1::/64',
        type: 'intra',
        cost: 10,
        type2Cost: null,
        tag: null,
        area: '0.0.0.0',
        nexthops: [{ address: null, interface: 'lan' }],
      },
      {
        family: 'ipv6',
        prefix: 'fd00:10:2::/64',
        type: 'intra',
        cost: 20,
        type2Cost: null,
        tag: null,
        area: '0.0.0.0',
        nexthops: [{ address: PEER_LL, interface: 'tun0' }],
      },
      {
        family: 'ipv6',
        prefix: 'fd00:20:2::/64',
        type: 'inter',
        cost: 20,
        type2Cost: null,
        tag: null,
        area: '0.0.0.0',
        nexthops: [{ address: PEER_LL, interface: 'tun0' }],
      },
    ]);
  });

  it('ospf6d External-2: metricCost to the ASBR, metricCostE2 the external metric', () => {
    expect(parseOspf6Routes(fixture('ospf6d-route-detail-e2.json'))).toEqual([
      expect.objectContaining({ prefix: '2001:db8:9::/48', type: 'external2', cost: 10, type2Cost: 20 }),
    ]);
  });
});

describe('AS-external-LSAs (what A redistributed, read on B)', () => {
  const lsa = { advertisingRouter: '10.10.1.1', metricType: 2, metric: 20, tag: 201 } as const;

  it('ospfd: prefix from link state ID and mask, "E2 (…)" metric type, forward address 0.0.0.0 as none, tag', () => {
    expect(parseOspfExternalLsas(fixture('ospfd-database-external.json'))).toEqual([
      { family: 'ipv4', prefix: '10.20.0.0/24', ...lsa, forwardingAddress: '10.255.0.1' },
      { family: 'ipv4', prefix: '10.20.1.0/24', ...lsa, forwardingAddress: null },
    ]);
  });

  it('ospf6d: the tag its route JSON leaves out; bits "E-T": type 2 with a tag', () => {
    expect(parseOspf6ExternalLsas(fixture('ospf6d-database-as-external.json'))).toEqual([
      { family: 'ipv6', prefix: 'fd00:20:1::/48', ...lsa, forwardingAddress: null },
      { family: 'ipv6', prefix: 'fd00:20::/48', ...lsa, forwardingAddress: null },
      { family: 'ipv6', prefix: 'fd00:21:1::/48', ...lsa, forwardingAddress: null },
    ]);
  });

  it('RFC 2328 §14: an LSA at MaxAge is a withdrawal being flushed, not listed; type 1 and no tag read as such', () => {
    const v2 = JSON.parse(fixture('ospfd-database-external.json')) as { asExternalLinkStates: Record<string, unknown>[] };
    v2.asExternalLinkStates[0]!.lsaAge = 3600;
    Object.assign(v2.asExternalLinkStates[1]!, { metricType: 'E1', externalRouteTag: 0 });
    expect(parseOspfExternalLsas(JSON.stringify(v2))).toEqual([
      { family: 'ipv4', prefix: '10.20.1.0/24', ...lsa, metricType: 1, tag: null, forwardingAddress: null },
    ]);
    const v3 = JSON.parse(fixture('ospf6d-database-as-external.json')) as { asScopedLinkStateDb: { lsa: Record<string, unknown>[] }[] };
    const [first, second, third] = v3.asScopedLinkStateDb[0]!.lsa;
    first!.age = 3600;
    Object.assign(second!, { bits: '---', tagPresent: false });
    delete third!.tag;
    expect(parseOspf6ExternalLsas(JSON.stringify(v3)).map((l) => [l.prefix, l.metricType, l.tag])).toEqual([
      ['fd00:20:1::/48', 1, null],
      ['fd00:21:1::/48', 2, null],
    ]);
    expect(parseOspfExternalLsas('')).toEqual([]);
    expect(parseOspf6ExternalLsas('')).toEqual([]);
  });
});

describe('daemons, version, modules, interfaces', () => {
  it('show version / show daemons', () => {
    expect(parseVersion(fixture('show-version.txt'))).toBe('8.4.4');
    expect(parseDaemons(fixture('show-daemons.txt'))).toEqual(['zebra', 'ospfd', 'ospf6d']);
  });

  it('show modules: dplane_fpm_nl in zebra\'s section or not', () => {
    expect(zebraHasFpmModule(fixture('show-modules-fpm.txt'))).toBe(true);
    expect(zebraHasFpmModule(fixture('show-modules.txt'))).toBe(false);
  });

  it('show interface json: POINTOPOINT links (ospfd hides `ip ospf network point-to-point` there)', () => {
    expect([...pointToPointInterfaces(fixture('zebra-interface.json'))]).toEqual(['tunx']);
  });

  it('router IDs: null without an instance (empty output)', () => {
    expect(parseRouterId('{"routerId":"10.10.1.9","tosRoutesOnly":true}', 'x')).toBe('10.10.1.9');
    expect(parseRouterId('', 'x')).toBeNull();
  });

  it('output that is not JSON is a typed error naming the command', () => {
    expect(() => parseJsonOutput('% Unknown command: show x json', 'show x json')).toThrow(FrrOutputError);
    expect(() => parseJsonOutput('% Unknown command: show x json', 'show x json')).toThrow(/show x json: not JSON/);
  });
});
