/** The BFD metrics (issue 12): session up per neighbor, the BFD thread's delay and its drops by reason. */
import { describe, expect, it } from 'vitest';
import { buildRegistry, type MetricsRegistry } from '#agent/metrics';
import { neighborFixture, statusFixture } from '../fixtures/api/index.js';
import type { NeighborBfdJson } from '#api/types';

const UP: NeighborBfdJson = {
  state: 'Up',
  remoteState: 'Up',
  localDiscriminator: 7,
  remoteDiscriminator: 9,
  txIntervalMs: 300,
  detectionTimeMs: 900,
  since: '2026-01-01T11:00:00Z',
  lastDownReason: null,
  error: null,
};

async function samples(bfd: { maxDelayMs: number; dropped: Record<string, number> } | null): Promise<Map<string, number>> {
  const reg = buildRegistry({
    status: () => statusFixture(),
    neighbors: () => [
      neighborFixture({ name: 'b', bfd: UP }),
      neighborFixture({ name: 'c', bfd: { ...UP, state: 'Down' } }),
      neighborFixture({ name: 'd', bfd: null }),
    ],
    tunnelsSeen: () => [],
    fibStats: () => ({ counters: { add: 0, replace: 0, delete: 0, failed: 0, batches: 0, batchErrors: 0 }, pending: 0, lagSeconds: 0 }),
    now: () => new Date('2026-01-01T12:00:00Z'),
    bfdStats: async () => bfd,
  }) as MetricsRegistry;
  const out = new Map<string, number>();
  for (const line of (await reg.scrape()).split('\n')) {
    if (!line.startsWith('wgbgp_bfd')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

describe('BFD metrics', () => {
  it('1 for an Up session, 0 for a Down one, nothing for a neighbor without BFD; the thread delay in seconds; drops by reason', async () => {
    const s = await samples({ maxDelayMs: 39, dropped: { ttl: 2, 'wrong-path': 1 } });
    expect(Object.fromEntries(s)).toEqual({
      'wgbgp_bfd_session_up{neighbor="b"}': 1,
      'wgbgp_bfd_session_up{neighbor="c"}': 0,
      wgbgp_bfd_thread_event_loop_delay_max_seconds: 0.039,
      'wgbgp_bfd_packets_dropped_total{reason="ttl"}': 2,
      'wgbgp_bfd_packets_dropped_total{reason="wrong-path"}': 1,
    });
  });

  it('without BFD sessions: the delay reads 0 and there are no drops', async () => {
    const s = await samples(null);
    expect(s.get('wgbgp_bfd_thread_event_loop_delay_max_seconds')).toBe(0);
    expect([...s.keys()].some((k) => k.startsWith('wgbgp_bfd_packets_dropped_total'))).toBe(false);
  });
});
