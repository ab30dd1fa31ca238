/** `neighbors NAME` and `routes PREFIX` as text: RFC 9494 long-lived graceful restart. */
import { describe, expect, it } from 'vitest';
import { formatNeighborDetail, formatRoutes } from '#cli/format';
import type { PathJson, RouteJson } from '#api/types';
import { neighborFixture } from '../fixtures/api/index.js';

const NOW = new Date('2025-01-01T12:00:00Z');

describe('neighbors NAME: long-lived graceful restart', () => {
  it('the capability with each family\'s stale time and F, and the routes kept long-lived stale with the seconds left', () => {
    const n = neighborFixture({ staleRoutes: { routes: 5, longLived: [{ family: 'ipv4-unicast', routes: 3, secondsLeft: 3540 }] } });
    n.session = {
      ...n.session!,
      longLivedGracefulRestart: {
        families: [
          { family: 'ipv4-unicast', staleTime: 86400, forwardingState: true },
          { family: 'ipv6-unicast', staleTime: 3600, forwardingState: false },
        ],
      },
    };
    const text = formatNeighborDetail(n, NOW);
    expect(text).toMatch(/capabilities: +.*long-lived graceful restart \(ipv4-unicast 86400 s F, ipv6-unicast 3600 s\)/);
    expect(text).toMatch(/stale routes: +5 \(ipv4-unicast 3 long-lived stale, 3540 s left\)\n/);
  });

  it('stale routes during the restart time only, and none', () => {
    expect(formatNeighborDetail(neighborFixture({ staleRoutes: { routes: 2, longLived: [] } }), NOW)).toMatch(/stale routes: +2 \(graceful restart\)\n/);
    expect(formatNeighborDetail(neighborFixture({ staleRoutes: null }), NOW)).not.toMatch(/stale routes/);
  });
});

describe('routes PREFIX: a long-lived stale path', () => {
  it('is marked, with LLGR_STALE among its communities', () => {
    const path: PathJson = {
      neighbor: { name: 'a', address: '10.255.1.1', asn: 65002, routerId: '192.0.2.2' },
      source: 'bgp',
      origin: 'igp',
      asPath: [65002],
      asPathLength: 1,
      nexthops: ['10.255.1.1'],
      localPref: null,
      med: null,
      communities: ['65535:6'],
      extendedCommunities: [],
      largeCommunities: [],
      otc: null,
      stale: 'long-lived',
      best: true,
      eligible: true,
      ineligibleReason: null,
    };
    const route: RouteJson = {
      prefix: '10.9.0.0/24',
      source: 'bgp',
      neighbor: 'a',
      stale: 'long-lived',
      asPath: [65002],
      nexthops: [{ address: '10.255.1.1', interface: 'wg-a' }],
      fib: true,
      fibDetail: null,
      paths: [path],
      decision: { step: 'only-path', against: null },
    };
    const text = formatRoutes([route]);
    expect(text).toMatch(/\* a +10\.255\.1\.1 +AS 65002 +best, long-lived stale\n/);
    expect(text).toContain('communities 65535:6');
  });
});
