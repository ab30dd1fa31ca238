/**
 * The Prometheus endpoint (issue 8): names, labels and values from the
 * agent's own figures, one snapshot per scrape, served over HTTP on the
 * configured address; the documented list is the list served.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { buildRegistry, MetricsServer, type MetricsRegistry, type MetricsSource } from '#agent/metrics';
import type { TunnelJson } from '#api/types';
import { silentLogger } from '#lib/log';
import { neighborFixture, statusFixture } from '../fixtures/api/index.js';

const NOW = new Date('2026-01-01T12:00:00Z');

function source(over: Partial<MetricsSource> = {}): MetricsSource {
  const tunnel: TunnelJson = {
    name: 'site-b',
    interface: 'wg-site-b',
    dataplaneInterface: 'wg-site-b',
    publicKey: 'hIDvqXoi1MGOkMyEGyIOaxZZhw2vPWtwRsjfwPcPF3I=',
    endpoint: '198.51.100.2:51820',
    latestHandshake: '2026-01-01T11:59:30Z',
    up: true,
    rxBytes: 1234,
    txBytes: 5678,
    endpointName: null,
    endpointError: null,
  };
  return {
    status: () => statusFixture({ routes: { rib: 812, fib: 810 }, neighbors: { total: 2, established: 1, down: 1 } }),
    neighbors: () => [
      neighborFixture({ prefixesReceived: 800, prefixesAccepted: 799, updatesReceived: 40, flaps: 3, uptimeSeconds: 3600, sendQueue: { octets: 1_100_000, behind: true, owedPrefixes: 250, timesBehind: 2 } }),
      neighborFixture({
        name: 'site-c',
        interface: 'wg-site-c',
        state: 'Active',
        uptimeSeconds: null,
        session: null,
        staleRoutes: { routes: 7, longLived: [{ family: 'ipv4-unicast', routes: 5, secondsLeft: 60 }, { family: 'ipv6-unicast', routes: 2, secondsLeft: 60 }] },
      }),
    ],
    tunnelsSeen: () => [tunnel, { ...tunnel, name: 'site-c', interface: 'wg-site-c', latestHandshake: null, up: false, rxBytes: null, txBytes: null }],
    fibStats: () => ({ counters: { add: 900, replace: 12, delete: 90, failed: 2, batches: 7, batchErrors: 1 }, pending: 4, lagSeconds: 0.25 }),
    now: () => NOW,
    ...over,
  };
}

async function scrape(src: MetricsSource): Promise<string> {
  return (buildRegistry(src) as MetricsRegistry).scrape();
}

/** "name{labels} value" lines, without comments. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

describe('metrics', () => {
  it('per neighbor: state (RFC 4273 numbering), uptime, prefixes, updates, flaps', async () => {
    const s = samples(await scrape(source()));
    expect(s.get('wgbgp_bgp_session_state{neighbor="site-b"}')).toBe(6);
    expect(s.get('wgbgp_bgp_session_state{neighbor="site-c"}')).toBe(3);
    expect(s.get('wgbgp_bgp_session_established{neighbor="site-c"}')).toBe(0);
    expect(s.get('wgbgp_bgp_session_uptime_seconds{neighbor="site-b"}')).toBe(3600);
    expect(s.get('wgbgp_bgp_prefixes_received{neighbor="site-b"}')).toBe(800);
    expect(s.get('wgbgp_bgp_prefixes_accepted{neighbor="site-b"}')).toBe(799);
    expect(s.get('wgbgp_bgp_prefixes_advertised{neighbor="site-b"}')).toBe(2);
    expect(s.get('wgbgp_bgp_updates_received_total{neighbor="site-b"}')).toBe(40);
    expect(s.get('wgbgp_bgp_updates_sent_total{neighbor="site-b"}')).toBe(4);
    expect(s.get('wgbgp_bgp_session_flaps_total{neighbor="site-b"}')).toBe(3);
    expect(s.get('wgbgp_bgp_neighbors_down')).toBe(1);
    // RFC 9494: site-c is away with its routes kept, all of them long-lived stale by now.
    expect(s.get('wgbgp_bgp_prefixes_stale{neighbor="site-c"}')).toBe(7);
    expect(s.get('wgbgp_bgp_prefixes_long_lived_stale{neighbor="site-c"}')).toBe(7);
    expect(s.get('wgbgp_bgp_prefixes_stale{neighbor="site-b"}')).toBe(0);
    // RFC 4271 §9.2: site-b reads slower than the changes come.
    expect(s.get('wgbgp_bgp_send_queue_bytes{neighbor="site-b"}')).toBe(1_100_000);
    expect(s.get('wgbgp_bgp_prefixes_owed{neighbor="site-b"}')).toBe(250);
    expect(s.get('wgbgp_bgp_send_behind_total{neighbor="site-b"}')).toBe(2);
    expect(s.has('wgbgp_bgp_prefixes_owed{neighbor="site-c"}')).toBe(false);
  });

  it('per tunnel: up, handshake age, bytes (absent where unknown)', async () => {
    const s = samples(await scrape(source()));
    expect(s.get('wgbgp_tunnel_up{neighbor="site-b",interface="wg-site-b"}')).toBe(1);
    expect(s.get('wgbgp_tunnel_handshake_age_seconds{neighbor="site-b",interface="wg-site-b"}')).toBe(30);
    expect(s.has('wgbgp_tunnel_handshake_age_seconds{neighbor="site-c",interface="wg-site-c"}')).toBe(false);
    expect(s.get('wgbgp_tunnel_receive_bytes_total{neighbor="site-b",interface="wg-site-b"}')).toBe(1234);
    expect(s.get('wgbgp_tunnel_transmit_bytes_total{neighbor="site-b",interface="wg-site-b"}')).toBe(5678);
    expect(s.has('wgbgp_tunnel_receive_bytes_total{neighbor="site-c",interface="wg-site-c"}')).toBe(false);
  });

  it('the FIB: routes, operations by kind, failures, pending work and lag; the dataplane state as a state set', async () => {
    const s = samples(await scrape(source()));
    expect(s.get('wgbgp_rib_routes')).toBe(812);
    expect(s.get('wgbgp_fib_routes')).toBe(810);
    expect(s.get('wgbgp_fib_operations_total{op="add"}')).toBe(900);
    expect(s.get('wgbgp_fib_operations_total{op="replace"}')).toBe(12);
    expect(s.get('wgbgp_fib_operations_total{op="delete"}')).toBe(90);
    expect(s.get('wgbgp_fib_operation_failures_total')).toBe(2);
    expect(s.get('wgbgp_fib_batch_errors_total')).toBe(1);
    expect(s.get('wgbgp_fib_pending_operations')).toBe(4);
    expect(s.get('wgbgp_fib_lag_seconds')).toBe(0.25);
    expect(s.get('wgbgp_dataplane_state{state="ok"}')).toBe(1);
    expect(s.get('wgbgp_dataplane_state{state="down"}')).toBe(0);
    expect(s.get('wgbgp_info{version="0.1.0",asn="65001",router_id="192.0.2.1"}')).toBe(1);
  });

  it('VPP: connection state and API errors, only where the dataplane is VPP', async () => {
    expect(await scrape(source())).not.toContain('wgbgp_vpp_');
    const s = samples(await scrape(source({ vpp: () => ({ connected: true, errors: 5, timeouts: 1, connects: 2 }) })));
    expect(s.get('wgbgp_vpp_connected')).toBe(1);
    expect(s.get('wgbgp_vpp_api_errors_total')).toBe(5);
    expect(s.get('wgbgp_vpp_api_timeouts_total')).toBe(1);
    expect(s.get('wgbgp_vpp_connects_total')).toBe(2);
  });

  it('a neighbor removed by reload disappears from the next scrape; counters follow the agent, not the scrapes', async () => {
    let ns = [neighborFixture({ flaps: 3 }), neighborFixture({ name: 'site-c' })];
    const reg = buildRegistry(source({ neighbors: () => ns })) as MetricsRegistry;
    expect(await reg.scrape()).toContain('neighbor="site-c"');
    ns = [neighborFixture({ flaps: 3 })];
    const second = samples(await reg.scrape());
    expect([...second.keys()].some((k) => k.includes('site-c') && k.startsWith('wgbgp_bgp'))).toBe(false);
    expect(second.get('wgbgp_bgp_session_flaps_total{neighbor="site-b"}')).toBe(3);
  });

  it('every metric served is in docs/metrics.md, and every documented wgbgp_ metric is served', async () => {
    const text = await scrape(source({ vpp: () => ({ connected: true, errors: 0, timeouts: 0, connects: 1 }) }));
    const served = new Set([...text.matchAll(/^# HELP (wgbgp_\w+)/gm)].map((m) => m[1]));
    const doc = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
    const documented = new Set([...doc.matchAll(/`(wgbgp_[a-z_]+)`/g)].map((m) => m[1]));
    expect([...served].sort()).toEqual([...documented].sort());
  });
});

describe('the metrics endpoint', () => {
  let server: MetricsServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  async function freePort(): Promise<number> {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const port = (s.address() as { port: number }).port;
    await new Promise<void>((r) => s.close(() => r()));
    return port;
  }

  it('GET /metrics in the Prometheus text format; other paths 404; other methods 405', async () => {
    const port = await freePort();
    server = new MetricsServer(source(), `127.0.0.1:${port}`, silentLogger());
    await server.start();
    const r = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await r.text()).toContain('wgbgp_bgp_session_state{neighbor="site-b"} 6');
    expect((await fetch(`http://127.0.0.1:${port}/nope`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('an address in use is a start error naming the key', async () => {
    const port = await freePort();
    const squatter = createServer();
    await new Promise<void>((r) => squatter.listen(port, '127.0.0.1', () => r()));
    try {
      server = new MetricsServer(source(), `127.0.0.1:${port}`, silentLogger());
      await expect(server.start()).rejects.toThrow(`metrics.listen: 127.0.0.1:${port} is in use by another process`);
      server = null;
    } finally {
      await new Promise<void>((r) => squatter.close(() => r()));
    }
  });
});

describe('metrics while the dataplane is down', () => {
  it('tunnels are not reported up while the dataplane cannot vouch for them (VPP restarting)', async () => {
    const src = source({ status: () => statusFixture({ dataplane: { wireguard: 'vpp', fib: 'vpp', state: 'down', detail: 'connect ECONNREFUSED' } }) });
    const s = samples(await scrape(src));
    expect(s.get('wgbgp_tunnel_up{neighbor="site-b",interface="wg-site-b"}')).toBe(0);
    expect(s.get('wgbgp_dataplane_state{state="down"}')).toBe(1);
  });
});
