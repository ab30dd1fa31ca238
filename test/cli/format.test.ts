import { describe, expect, it } from 'vitest';
import type { NeighborJson, RouteJson, StatusJson, TunnelJson } from '#api/types';
import { neighborFixture, statusFixture } from '../fixtures/api/index.js';
import { useColor } from '#cli/main';
import {
  formatAge,
  formatDuration,
  formatEvent,
  formatLogLevels,
  formatNeighborDetail,
  formatNeighbors,
  formatReload,
  formatRoutes,
  formatStatus,
  formatTunnels,
  table,
} from '#cli/format';

const NOW = new Date('2025-01-01T12:00:00Z');

describe('durations and ages', () => {
  it('compact units', () => {
    expect([0, 12, 60, 312, 3600, 11_520, 86_400, 183_600].map(formatDuration)).toEqual([
      '0s',
      '12s',
      '1m00s',
      '5m12s',
      '1h00m',
      '3h12m',
      '1d0h',
      '2d3h',
    ]);
  });
  it('a handshake age, or never', () => {
    expect(formatAge('2025-01-01T11:59:48Z', NOW)).toBe('12s ago');
    expect(formatAge(null, NOW)).toBe('never');
    expect(formatAge('garbage', NOW)).toBe('never');
  });
});

describe('table', () => {
  it('aligned columns without borders or trailing blanks', () => {
    expect(table(['A', 'LONGER'], [['xyz', '1'], ['q', '22']])).toBe('A    LONGER\nxyz  1\nq    22\n');
  });
});

describe('status', () => {
  const s: StatusJson = {
    version: '0.1.0',
    asn: 65001,
    routerId: '192.0.2.1',
    uptimeSeconds: 3725,
    dataplane: { wireguard: 'vpp', fib: 'vpp', state: 'degraded', detail: 'linux-cp plugin not loaded', vppVersion: '24.10' },
    neighbors: { total: 3, established: 2, down: 1 },
    routes: { rib: 12, fib: 11 },
    bgp: { port: 179, refused: { total: 0, notThroughTunnel: 0, wrongSource: 0, lastSource: null }, kernelDrops: null },
  };
  it('a key: value block', () => {
    expect(formatStatus(s)).toBe(
      [
        'version:   0.1.0',
        'asn:       65001',
        'router id: 192.0.2.1',
        'uptime:    1h02m',
        'dataplane: degraded (wireguard vpp, fib vpp)',
        'detail:    linux-cp plugin not loaded',
        'vpp:       24.10',
        'neighbors: 2 of 3 established',
        'routes:    12 in RIB, 11 in FIB',
        '',
      ].join('\n'),
    );
  });
  it("memory: resident, the agent's own part, heap and tables, attribute sets (BIRD's show memory)", () => {
    const out = formatStatus({ ...s, memory: { resident: 171_100_000, private: 112_500_000, heap: 40_200_000, tables: 46_100_000, attributeSets: 20_001 } });
    expect(out).toContain("memory:    171.1 MB resident, 112.5 MB of it the agent's own (heap 40.2 MB, tables 46.1 MB); 20001 attribute set(s)\n");
    expect(formatStatus({ ...s, memory: { resident: 900_000, private: null, heap: 512, tables: 0, attributeSets: 0 } })).toContain('memory:    900 kB resident (heap 512 B, tables 0 B); 0 attribute set(s)');
  });
  it('leaves out what the dataplane does not have', () => {
    const out = formatStatus({ ...s, dataplane: { wireguard: 'kernel', fib: 'linux', state: 'ok', detail: null } });
    expect(out).not.toMatch(/detail|vpp:/);
  });
});

describe('neighbors', () => {
  const n: NeighborJson = neighborFixture({ stateSince: '2025-01-01T08:48:00Z', prefixesAccepted: 10, prefixesReceived: 12 });
  it('one row per neighbor', () => {
    const out = formatNeighbors(
      [n, { ...n, name: 'site-c', interface: 'wg-site-c', peerAddress: null, state: 'Active', stateSince: null, prefixesReceived: 0, prefixesAccepted: 0, lastError: 'Hold Timer Expired' }],
      NOW,
    );
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+INTERFACE\s+PEER\s+ASN\s+STATE\s+SINCE\s+RECEIVED\s+ACCEPTED\s+ADVERTISED\s+LAST ERROR$/);
    expect(lines[1]!.split(/\s{2,}/)).toEqual(['site-b', 'wg-site-b', '10.255.0.1', '65002', 'Established', '3h12m', '12', '10', '2', '-']);
    expect(lines[2]!.split(/\s{2,}/)).toEqual(['site-c', 'wg-site-c', '-', '65002', 'Active', '-', '0', '0', '2', 'Hold Timer Expired']);
  });
  it('says so when there are none', () => {
    expect(formatNeighbors([], NOW)).toBe('no neighbors configured\n');
  });
});

describe('routes', () => {
  const ecmp: RouteJson = {
    prefix: '10.2.0.0/16',
    source: 'bgp',
    neighbor: 'site-b',
    asPath: [65002, 65010],
    nexthops: [
      { address: '10.255.0.1', interface: 'wg-site-b' },
      { address: '10.255.0.3', interface: 'wg-site-c' },
    ],
    fib: true,
    fibDetail: null,
  };
  const local: RouteJson = { prefix: '10.1.0.0/24', source: 'static', neighbor: null, asPath: [], nexthops: [], fib: false, fibDetail: null };
  it('one line per next hop, FIB as ✓/✗', () => {
    const lines = formatRoutes([ecmp, local]).trimEnd().split('\n');
    expect(lines[0]).toMatch(/^PREFIX\s+SOURCE\s+VIA\s+INTERFACE\s+AS PATH\s+FIB$/);
    expect(lines[1]!.split(/\s{2,}/)).toEqual(['10.2.0.0/16', 'bgp (site-b)', '10.255.0.1', 'wg-site-b', '65002 65010', '✓']);
    expect(lines[2]!.trim().split(/\s{2,}/)).toEqual(['10.255.0.3', 'wg-site-c']);
    expect(lines[3]!.split(/\s{2,}/)).toEqual(['10.1.0.0/24', 'static', '-', '-', '-', '✗']);
  });
  it('says what did not match', () => {
    expect(formatRoutes([], '10.9.0.1')).toBe('no route matches 10.9.0.1\n');
    expect(formatRoutes([])).toBe('no routes\n');
  });
});

describe('tunnels', () => {
  const t: TunnelJson = {
    name: 'site-b',
    interface: 'wg-site-b',
    dataplaneInterface: 'wg3',
    publicKey: 'hIDvqXoi1MGOkMyEGyIOaxZZhw2vPWtwRsjfwPcPF3I=',
    endpoint: '198.51.100.2:51820',
    latestHandshake: '2025-01-01T11:59:48Z',
    up: true,
    rxBytes: null,
    txBytes: null,
    endpointName: null,
    endpointError: null,
  };
  it('handshake as an age, unknown endpoint said so', () => {
    const lines = formatTunnels([t, { ...t, name: 'roamer', endpoint: null, latestHandshake: null, up: false }], NOW)
      .trimEnd()
      .split('\n');
    expect(lines[0]).toMatch(/^NAME\s+INTERFACE\s+DATAPLANE IF\s+ENDPOINT\s+LATEST HANDSHAKE\s+UP$/);
    expect(lines[1]!.split(/\s{2,}/)).toEqual(['site-b', 'wg-site-b', 'wg3', '198.51.100.2:51820', '12s ago', '✓']);
    expect(lines[2]!.split(/\s{2,}/)).toEqual(['roamer', 'wg-site-b', 'wg3', '(unknown)', 'never', '✗']);
  });
});

describe('reload', () => {
  it('summarizes the changes', () => {
    expect(formatReload({ ok: true, errors: [], added: ['site-d'], removed: [], changed: ['site-b', 'site-c'] })).toBe(
      'reloaded: added site-d; changed site-b, site-c\n',
    );
    expect(formatReload({ ok: true, errors: [], added: [], removed: [], changed: [] })).toBe('reloaded: no changes\n');
  });
  it('issue 12: tunnels changed in place are named, with the sessions kept', () => {
    expect(formatReload({ ok: true, errors: [], added: [], removed: [], changed: [], tunnels: ['site-b'] })).toBe(
      'reloaded: tunnel settings of site-b applied in place (sessions kept)\n',
    );
  });
  it('a rejection lists the errors, one per line', () => {
    expect(formatReload({ ok: false, errors: ['a: b: c', 'd: e: f'], added: [], removed: [], changed: [] })).toBe(
      'reload rejected; the running configuration is unchanged\na: b: c\nd: e: f\n',
    );
  });
});

describe('what the operator must know shows in the tables too', () => {
  it('status: refused connections and kernel drops, when there are any', () => {
    const s: StatusJson = statusFixture({
      uptimeSeconds: 5,
      routes: { rib: 2, fib: 3 },
      bgp: { port: 179, refused: { total: 30, notThroughTunnel: 30, wrongSource: 0, lastSource: '10.255.0.1' }, kernelDrops: { ttlSecurity: 2, md5: 0 } },
    });
    const out = formatStatus(s);
    expect(out).toContain("bgp refused:  30 connection(s) not through a neighbor's tunnel or not from it, last from 10.255.0.1\n");
    expect(out).toContain('kernel drops: 2 below the GTSM TTL, 0 with a missing or wrong TCP MD5 signature\n');
  });

  it('routes: why a route is not in the FIB as wanted, under the table', () => {
    const out = formatRoutes([
      { prefix: '10.255.0.1/32', source: 'bgp', neighbor: 'b', asPath: [65002], nexthops: [{ address: '10.255.0.1', interface: 'wg-b' }], fib: false, fibDetail: 'a tunnel host route holds this prefix; it wins over learned routes' },
      { prefix: '10.2.0.0/24', source: 'bgp', neighbor: 'b', asPath: [65002], nexthops: [{ address: '10.255.0.1', interface: 'wg-b' }], fib: true, fibDetail: null },
    ]);
    expect(out.trimEnd().split('\n').at(-1)).toBe('10.255.0.1/32: a tunnel host route holds this prefix; it wins over learned routes');
    expect(out).not.toContain('10.2.0.0/24: ');
  });
});

describe('neighbors NAME', () => {
  it('one neighbor in full: state, flaps, timers, session, capabilities, counters, last error with its age', () => {
    const n = neighborFixture({ lastError: 'Hold Timer Expired', lastErrorAt: '2025-01-01T11:58:00Z' });
    expect(formatNeighborDetail(n, NOW)).toBe(
      [
        'neighbor:     site-b (AS 65002)',
        'interface:    wg-site-b',
        'peer:         10.255.0.1',
        'state:        Established for 1h00m',
        'up/down:      2 time(s) established, 1 flap(s)',
        'hold time:    90 s configured, keepalive 30 s; negotiated 90 s, keepalive 30 s',
        'session:      10.255.0.0 -> 10.255.0.1, peer router id 192.0.2.2',
        'families:     ipv4-unicast, ipv6-unicast',
        'capabilities: 4-octet AS, route refresh, graceful restart (120 s, forwarding kept: ipv4-unicast)',
        'prefixes:     1 received, 0 accepted, 2 advertised',
        'updates:      5 received, 4 sent',
        'messages:     130 received, 128 sent',
        'last error:   Hold Timer Expired (2m00s ago)',
        '',
      ].join('\n'),
    );
  });
  it('a neighbor that is not up has no session lines', () => {
    const out = formatNeighborDetail(neighborFixture({ state: 'Active', session: null, timers: { holdTime: 9, keepalive: 3, negotiatedHoldTime: null, negotiatedKeepalive: null } }), NOW);
    expect(out).toMatch(/^hold time: +9 s configured, keepalive 3 s$/m);
    expect(out).not.toMatch(/session:|families:|capabilities:/);
  });
});

describe('watch lines and log levels', () => {
  it('one line per event, its time first', () => {
    const t = '2025-01-01T12:00:05.123Z';
    expect(formatEvent({ type: 'session', time: t, neighbor: 'site-b', from: 'Established', to: 'Idle', lastError: 'Hold Timer Expired' })).toBe(
      '12:00:05 session  site-b: Established -> Idle (Hold Timer Expired)\n',
    );
    expect(formatEvent({ type: 'routes', time: t, rib: 812_004, fib: 812_000, pending: 4 })).toBe('12:00:05 routes   812004 in RIB, 812000 in FIB, 4 pending\n');
    expect(formatEvent({ type: 'handshake', time: t, neighbor: 'site-b', interface: 'wg-site-b', endpoint: '198.51.100.2:51820' })).toBe(
      '12:00:05 tunnel   site-b: handshake on wg-site-b from 198.51.100.2:51820\n',
    );
    expect(formatEvent({ type: 'dataplane', time: t, state: 'down', detail: 'VPP API connection lost' })).toBe('12:00:05 dataplane down: VPP API connection lost\n');
    expect(formatEvent({ type: 'reload', time: t, ok: true, added: ['site-c'], removed: [], changed: [], errors: [] })).toBe('12:00:05 reload   reloaded: added site-c\n');
    expect(formatEvent({ type: 'reload', time: t, ok: false, added: [], removed: [], changed: [], errors: ['f: router.asn: cannot change'] })).toBe(
      '12:00:05 reload   rejected: f: router.asn: cannot change\n',
    );
  });
  it('levels as key: value lines', () => {
    expect(formatLogLevels({ levels: { agent: 'info', bgp: 'debug' } })).toBe('agent: info\nbgp:   debug\n');
  });
});

describe('colour', () => {
  it('only on a terminal, never with NO_COLOR or TERM=dumb', () => {
    expect(useColor({}, true)).toBe(true);
    expect(useColor({}, false)).toBe(false);
    expect(useColor({ NO_COLOR: '1' }, true)).toBe(false);
    expect(useColor({ TERM: 'dumb' }, true)).toBe(false);
  });
  it('states and marks in colour when asked, the same text otherwise; table columns stay aligned', () => {
    const ns = [neighborFixture(), neighborFixture({ name: 'site-c', state: 'Idle' })];
    const plain = formatNeighbors(ns, NOW);
    const colour = formatNeighbors(ns, NOW, { color: true });
    expect(plain).not.toContain('\u001b[');
    expect(colour).toContain('\u001b[32mEstablished\u001b[0m');
    expect(colour).toContain('\u001b[31mIdle\u001b[0m');
    // eslint-disable-next-line no-control-regex
    expect(colour.replace(/\u001b\[\d+m/g, '')).toBe(plain);
  });
});
