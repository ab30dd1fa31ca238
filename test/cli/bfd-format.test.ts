/** `wgbgp neighbors` and `tunnels` text with BFD and the handshake age (issue 12). */
import { describe, expect, it } from 'vitest';
import type { NeighborBfdJson, TunnelJson } from '#api/types';
import { formatEvent, formatNeighborDetail, formatNeighbors, formatTunnels } from '#cli/format';
import { neighborFixture } from '../fixtures/api/index.js';

const NOW = new Date('2025-01-01T12:00:00Z');
const T: TunnelJson = {
  name: 'site-b',
  interface: 'wg-site-b',
  dataplaneInterface: 'wg-site-b',
  publicKey: 'hIDvqXoi1MGOkMyEGyIOaxZZhw2vPWtwRsjfwPcPF3I=',
  endpoint: '198.51.100.2:51820',
  latestHandshake: '2025-01-01T11:56:00Z',
  up: true,
  rxBytes: null,
  txBytes: null,
  endpointName: null,
  endpointError: null,
  alive: false,
  aliveReason: 'latest handshake 240 s ago (more than 190 s)',
  bfd: 'Down',
};

const cells = (line: string): string[] => line.trim().split(/\s{2,}/);

describe('tunnels: ALIVE and BFD', () => {
  it('a dead tunnel: ✗ under ALIVE, its BFD state, and the reason under the table', () => {
    const lines = formatTunnels([T, { ...T, name: 'site-c', alive: true, aliveReason: null, bfd: null }], NOW).trimEnd().split('\n');
    expect(cells(lines[0]!)).toEqual(['NAME', 'INTERFACE', 'DATAPLANE IF', 'ENDPOINT', 'LATEST HANDSHAKE', 'UP', 'ALIVE', 'BFD']);
    expect(cells(lines[1]!).slice(5)).toEqual(['✓', '✗', 'Down']);
    expect(cells(lines[2]!).slice(5)).toEqual(['✓', '✓', '-']);
    expect(lines[3]).toBe('site-b: not alive: latest handshake 240 s ago (more than 190 s)');
  });

  it('an agent without the fields (older) prints the old table', () => {
    const { alive: _a, aliveReason: _r, bfd: _b, ...old } = T;
    expect(cells(formatTunnels([old], NOW).split('\n')[0]!)).toEqual(['NAME', 'INTERFACE', 'DATAPLANE IF', 'ENDPOINT', 'LATEST HANDSHAKE', 'UP']);
  });
});

const UP: NeighborBfdJson = {
  state: 'Up',
  remoteState: 'Up',
  localDiscriminator: 7,
  remoteDiscriminator: 9,
  txIntervalMs: 300,
  detectionTimeMs: 900,
  since: '2025-01-01T11:59:00Z',
  lastDownReason: 'control detection time expired',
  error: null,
};

describe('neighbors: BFD', () => {
  it('a BFD column only when some neighbor runs BFD; "-" for the one that does not', () => {
    const out = formatNeighbors([neighborFixture({ name: 'b', bfd: UP }), neighborFixture({ name: 'c', bfd: null })], NOW).split('\n');
    const head = cells(out[0]!);
    const at = head.indexOf('BFD');
    expect(head[at - 1]).toBe('SINCE');
    expect(cells(out[1]!)[at]).toBe('Up');
    expect(cells(out[2]!)[at]).toBe('-');
    expect(formatNeighbors([neighborFixture({ bfd: null })], NOW)).not.toContain('BFD');
  });

  it('the detail view: state, timers, discriminators and the last down reason', () => {
    expect(formatNeighborDetail(neighborFixture({ bfd: UP }), NOW)).toMatch(
      /^bfd: +Up 1m00s ago \(peer Up\), tx 300 ms, detection 900 ms, discriminators 7\/9, last down: control detection time expired$/m,
    );
  });
});

describe('watch: BFD events', () => {
  it('a line per state change, with the reason when not Up', () => {
    const e = { type: 'bfd', time: '2025-01-01T12:00:05.000Z', neighbor: 'site-b', from: 'Up', to: 'Down', reason: 'control detection time expired', remoteState: 'Up' } as const;
    expect(formatEvent(e)).toBe('12:00:05 bfd      site-b: Up -> Down (control detection time expired)\n');
    expect(formatEvent({ ...e, reason: 'neighbor signaled session down', remoteState: 'AdminDown' })).toBe('12:00:05 bfd      site-b: Up -> Down (neighbor signaled session down, peer AdminDown)\n');
    expect(formatEvent({ ...e, from: 'Init', to: 'Up', reason: 'no diagnostic' })).toBe('12:00:05 bfd      site-b: Init -> Up\n');
  });
});
