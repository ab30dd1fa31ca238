/** RFC 7911 in the text views: the negotiated directions in `neighbors NAME`, each path's identifier in `routes PREFIX`. */
import { describe, expect, it } from 'vitest';
import { formatNeighborDetail, formatRoutes } from '#cli/format';
import type { PathJson } from '#api/types';
import { neighborFixture } from '../fixtures/api/index.js';

const NOW = new Date('2025-01-01T12:00:00Z');

function path(pathId: number | undefined, best: boolean, med: number): PathJson {
  return {
    neighbor: { name: 'b', address: '10.255.2.1', asn: 65002, routerId: '192.0.2.2' },
    source: 'bgp',
    origin: 'igp',
    asPath: [65002],
    asPathLength: 1,
    nexthops: ['10.255.2.1'],
    localPref: null,
    med,
    communities: [],
    extendedCommunities: [],
    largeCommunities: [],
    otc: null,
    stale: null,
    best,
    eligible: true,
    ineligibleReason: null,
    ...(pathId !== undefined ? { pathId } : {}),
  };
}

describe('ADD-PATH in the text views', () => {
  it('neighbors NAME: an add-path line with the families per direction, only when negotiated', () => {
    const base = neighborFixture();
    const withAddPath = neighborFixture({ session: { ...base.session!, addPath: { receive: ['ipv4-unicast', 'ipv6-unicast'], send: [] } } });
    expect(formatNeighborDetail(withAddPath, NOW)).toContain('add-path:     receive ipv4-unicast ipv6-unicast; send - (RFC 7911)\n');
    expect(formatNeighborDetail(base, NOW)).not.toContain('add-path');
  });

  it('routes PREFIX: two paths of one neighbor, each with its path id, one best', () => {
    const out = formatRoutes(
      [
        {
          prefix: '10.2.0.0/24',
          source: 'bgp',
          neighbor: 'b',
          asPath: [65002],
          nexthops: [{ address: '10.255.2.1', interface: 'wg-b' }],
          fib: true,
          fibDetail: null,
          paths: [path(1, true, 10), path(7, false, 50)],
          decision: { step: 'med', against: { neighbor: 'b', source: 'bgp' } },
        },
      ],
      '10.2.0.0/24',
    );
    expect(out).toContain('* b  10.255.2.1  AS 65002  path id 1  best\n');
    expect(out).toContain('  b  10.255.2.1  AS 65002  path id 7  eligible\n');
  });
});
