/** `wgbgp routes PREFIX` as text: the route, then every path with its attributes, the best marked, and why it won. */
import { describe, expect, it } from 'vitest';
import { formatRoutes } from '#cli/format';
import type { PathJson, RouteJson } from '#api/types';

function path(name: string, n: number, over: Partial<PathJson> = {}): PathJson {
  return {
    neighbor: { name, address: `10.255.${n}.1`, asn: 65002 + n, routerId: `192.0.2.${n}` },
    source: 'bgp',
    origin: 'igp',
    asPath: [65002 + n],
    asPathLength: 1,
    nexthops: [`10.255.${n}.1`],
    localPref: null,
    med: null,
    communities: [],
    extendedCommunities: [],
    largeCommunities: [],
    otc: null,
    stale: null,
    best: false,
    eligible: true,
    ineligibleReason: null,
    ...over,
  };
}

const ROUTE: RouteJson = {
  prefix: '10.9.0.0/24',
  source: 'bgp',
  neighbor: 'b',
  asPath: [65004],
  nexthops: [{ address: '10.255.2.1', interface: 'wg-b' }],
  fib: true,
  fibDetail: null,
};

describe('routes PREFIX (text)', () => {
  it('lists every path under the table: the best (*) by as-path-length over a, a candidate, one not eligible with its reason', () => {
    const out = formatRoutes(
      [
        {
          ...ROUTE,
          paths: [
            path('b', 2, { best: true, communities: ['65004:100'], largeCommunities: ['65004:1:2'], extendedCommunities: ['rt:65004:7'] }),
            path('a', 1, { asPath: [65003, 65010, 65020], asPathLength: 3, med: 5 }),
            path('c', 3, { nexthops: ['fd00:255:3::1', 'fe80::3'], otc: 65099, eligible: false, ineligibleReason: 'role-leak' }),
          ],
          decision: { step: 'as-path-length', against: { neighbor: 'a', source: 'bgp' } },
        },
      ],
      '10.9.0.0/24',
    );
    expect(out.split('\n')).toEqual([
      'PREFIX       SOURCE   VIA         INTERFACE  AS PATH  FIB',
      '10.9.0.0/24  bgp (b)  10.255.2.1  wg-b       65004    ✓',
      '',
      '10.9.0.0/24: 3 paths; best from b, by as-path-length over a',
      '* b  10.255.2.1  AS 65004  best',
      '    origin igp, as-path 65004, next hop 10.255.2.1',
      '    communities 65004:100',
      '    extended communities rt:65004:7',
      '    large communities 65004:1:2',
      '  a  10.255.1.1  AS 65003  eligible',
      '    origin igp, as-path 65003 65010 65020, next hop 10.255.1.1, med 5',
      '  c  10.255.3.1  AS 65005  not eligible: role-leak',
      '    origin igp, as-path 65005, next hop fd00:255:3::1 fe80::3, otc 65099',
      '',
    ]);
  });

  it('our own route as the only path, and a prefix whose only received path is not eligible', () => {
    const local = formatRoutes(
      [
        {
          prefix: '10.1.0.0/24',
          source: 'static',
          neighbor: null,
          asPath: [],
          nexthops: [],
          fib: false,
          fibDetail: null,
          paths: [path('x', 0, { neighbor: null, source: 'static', asPath: [], asPathLength: 0, nexthops: [], best: true, localPref: 100 })],
          decision: { step: 'only-path', against: null },
        },
      ],
      '10.1.0.0/24',
    );
    expect(local.split('\n').slice(-4)).toEqual([
      '10.1.0.0/24: 1 path; best from static (the only path)',
      '* static (local)  best',
      '    origin igp, as-path -, next hop -, local-pref 100',
      '',
    ]);
    const none = formatRoutes(
      [{ ...ROUTE, source: 'ospf', paths: [path('c', 3, { eligible: false, ineligibleReason: 'next-hop-unusable' })], decision: null }],
      '10.9.0.0/24',
    );
    expect(none.split('\n').slice(-4)).toEqual(['10.9.0.0/24: 1 path; none eligible', '  c  10.255.3.1  AS 65005  not eligible: next-hop-unusable', '    origin igp, as-path 65005, next hop 10.255.3.1', '']);
  });

  it('the whole table (no PREFIX) shows no paths', () => {
    expect(formatRoutes([ROUTE]).split('\n')).toHaveLength(3);
  });

  it('multipath: the paths forwarding with the best are marked = and named in the head line; both next hops in the table', () => {
    const out = formatRoutes(
      [
        {
          ...ROUTE,
          nexthops: [
            { address: '10.255.2.1', interface: 'wg-b' },
            { address: '10.255.1.1', interface: 'wg-a' },
          ],
          paths: [
            path('b', 2, { best: true, multipath: true, asPath: [65010] }),
            path('a', 1, { multipath: true, asPath: [65010] }),
            path('c', 3, { asPath: [65005, 65010], asPathLength: 2, multipath: false }),
          ],
          decision: { step: 'router-id', against: { neighbor: 'a', source: 'bgp' } },
        },
      ],
      '10.9.0.0/24',
    );
    const lines = out.split('\n');
    expect(lines.slice(1, 3)).toEqual(['10.9.0.0/24  bgp (b)  10.255.2.1  wg-b       65004    ✓', '                      10.255.1.1  wg-a']);
    expect(lines).toContain('10.9.0.0/24: 3 paths; best from b, by router-id over a; multipath over 2: b, a');
    expect(lines).toContain('* b  10.255.2.1  AS 65004  best, multipath');
    expect(lines).toContain('= a  10.255.1.1  AS 65003  eligible, multipath');
    expect(lines).toContain('  c  10.255.3.1  AS 65005  eligible');
  });
});
