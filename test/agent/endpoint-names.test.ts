/**
 * The agent with endpoints given as DNS names (issue 12), on fake tunnels, an
 * injected resolver and the manual clock: what reaches the backend at start,
 * on the retry of a name that did not resolve, and on re-resolution; and that
 * no other tunnel is touched.
 */
import { describe, expect, it } from 'vitest';
import type { ResolvedAddress } from '#agent/endpoints';
import { silentLogger } from '#lib/log';
import type { TunnelSpec, TunnelStatus, WireguardBackend } from '#wg/types';
import { config, harness, neighbor, type Harness } from './harness.js';

interface EnsureCall {
  interface: string;
  endpoint: string | null;
  previous: string | null | undefined;
}

/** Tunnels that record every ensure and hold an endpoint as a dataplane would (set when configured or changed). */
class RecordingWireguard implements WireguardBackend {
  readonly calls: EnsureCall[] = [];
  readonly endpoints = new Map<string, string | null>();
  readonly handshakes = new Map<string, Date | null>();
  constructor(readonly kind: 'wireguard-go' | 'vpp' = 'wireguard-go') {}
  async list(): Promise<string[]> {
    return [...this.endpoints.keys()];
  }
  async ensure(spec: TunnelSpec, previous: TunnelSpec | null): Promise<'created' | 'updated' | 'unchanged'> {
    this.calls.push({ interface: spec.interface, endpoint: spec.endpoint, previous: previous?.endpoint });
    const had = this.endpoints.has(spec.interface);
    const current = this.endpoints.get(spec.interface) ?? null;
    if (!had || current === null || (previous !== null && previous.endpoint !== spec.endpoint)) {
      if (spec.endpoint !== null) this.endpoints.set(spec.interface, spec.endpoint);
      else if (!had) this.endpoints.set(spec.interface, null);
    }
    return had ? 'updated' : 'created';
  }
  async remove(ifname: string): Promise<void> {
    this.endpoints.delete(ifname);
  }
  async status(spec: TunnelSpec): Promise<TunnelStatus | null> {
    if (!this.endpoints.has(spec.interface)) return null;
    return {
      name: spec.name,
      interface: spec.interface,
      dataplaneInterface: spec.interface,
      publicKey: spec.peerPublicKey,
      endpoint: this.endpoints.get(spec.interface) ?? null,
      latestHandshake: this.handshakes.get(spec.interface) ?? null,
      up: true,
      rxBytes: null,
      txBytes: null,
    };
  }
  async close(): Promise<void> {}
  callsFor(ifname: string): EnsureCall[] {
    return this.calls.filter((c) => c.interface === ifname);
  }
}

const dns = new Map<string, string>();
const resolve = (host: string): Promise<ResolvedAddress[]> => {
  const a = dns.get(host);
  return a ? Promise.resolve([{ address: a, family: 4 }]) : Promise.reject(new Error(`getaddrinfo ENOTFOUND ${host}`));
};

async function start(kind: 'wireguard-go' | 'vpp' = 'wireguard-go'): Promise<{ h: Harness; wg: RecordingWireguard }> {
  const b = { ...neighbor('b', 1), endpoint: 'b.vpn.example:51820' };
  const c = neighbor('c', 2);
  const wg = new RecordingWireguard(kind);
  const h = await harness(config([b, c]), silentLogger(), { wireguard: wg, resolve });
  return { h, wg };
}

/** Tunnel polls (every 2 s) for `seconds`; `each` runs before every one. */
async function polls(h: Harness, seconds: number, each: () => void = () => undefined): Promise<void> {
  for (let t = 0; t < seconds; t += 2) {
    each();
    await h.tick(2_000);
  }
}

describe('the agent with an endpoint given as a DNS name', () => {
  it('does not resolve at start: the tunnel is made without endpoint, shown in tunnels, and set once the name resolves', async () => {
    dns.clear();
    const { h, wg } = await start();
    expect(wg.callsFor('wg-b')).toEqual([{ interface: 'wg-b', endpoint: null, previous: undefined }]);
    const [tb] = (await h.agent.tunnels()).filter((t) => t.name === 'b');
    expect(tb).toMatchObject({ endpoint: null, endpointName: 'b.vpn.example:51820', endpointError: 'getaddrinfo ENOTFOUND b.vpn.example' });
    expect((await h.agent.tunnels()).find((t) => t.name === 'c')).toMatchObject({ endpoint: '198.51.100.12:51820', endpointName: null, endpointError: null });

    dns.set('b.vpn.example', '198.51.100.21');
    await polls(h, 10);
    expect(wg.callsFor('wg-b').at(-1)).toEqual({ interface: 'wg-b', endpoint: '198.51.100.21:51820', previous: null });
    expect((await h.agent.tunnels()).find((t) => t.name === 'b')).toMatchObject({ endpoint: '198.51.100.21:51820', endpointError: null });
    expect(wg.callsFor('wg-c')).toHaveLength(1);
  });

  it('re-resolves after reresolve-after seconds without a handshake, and sets the new address on that tunnel only', async () => {
    dns.clear();
    dns.set('b.vpn.example', '198.51.100.21');
    const { h, wg } = await start();
    expect(wg.callsFor('wg-b')).toEqual([{ interface: 'wg-b', endpoint: '198.51.100.21:51820', previous: undefined }]);
    dns.set('b.vpn.example', '198.51.100.22');
    // Handshakes keep coming: DNS is not even asked to overrule the working endpoint.
    await polls(h, 300, () => {
      wg.handshakes.set('wg-b', h.clock.wallNow());
      wg.handshakes.set('wg-c', h.clock.wallNow());
    });
    expect(wg.callsFor('wg-b')).toHaveLength(1);
    // They stop: after 135 s the name is looked up again and the new address set, on wg-b only.
    await polls(h, 128);
    expect(wg.callsFor('wg-b')).toHaveLength(1);
    await polls(h, 40);
    expect(wg.callsFor('wg-b').slice(1)).toEqual([{ interface: 'wg-b', endpoint: '198.51.100.22:51820', previous: '198.51.100.21:51820' }]);
    expect(wg.callsFor('wg-c')).toHaveLength(1);
  });

  it('a roamed endpoint with a recent handshake is kept although DNS answers otherwise', async () => {
    dns.clear();
    dns.set('b.vpn.example', '198.51.100.21');
    const { h, wg } = await start();
    wg.endpoints.set('wg-b', '203.0.113.7:40001');
    dns.set('b.vpn.example', '198.51.100.22');
    await polls(h, 400, () => wg.handshakes.set('wg-b', new Date(h.clock.wallNow().getTime() - 100_000)));
    expect(wg.callsFor('wg-b')).toHaveLength(1);
    expect((await h.agent.tunnels()).find((t) => t.name === 'b')?.endpoint).toBe('203.0.113.7:40001');
  });

  it('VPP: an established peer counts as a recent handshake (VPP reports no handshake time)', async () => {
    dns.clear();
    dns.set('b.vpn.example', '198.51.100.21');
    const { h, wg } = await start('vpp');
    // The agent's record of when it first saw the peer established: old, but the peer is still established.
    wg.handshakes.set('wg-b', h.clock.wallNow());
    dns.set('b.vpn.example', '198.51.100.22');
    await polls(h, 400);
    expect(wg.callsFor('wg-b')).toHaveLength(1);
    wg.handshakes.set('wg-b', null);
    await polls(h, 40);
    expect(wg.callsFor('wg-b').at(-1)?.endpoint).toBe('198.51.100.22:51820');
  });
  it('reload: the same name keeps its address without a lookup; another name is resolved and set at once', async () => {
    dns.clear();
    dns.set('b.vpn.example', '198.51.100.21');
    dns.set('b2.vpn.example', '198.51.100.23');
    const { h, wg } = await start();
    const [b, c] = h.next.config.neighbors;
    dns.set('b.vpn.example', '198.51.100.22');
    // A listen-port change rebuilds the tunnel (a keepalive or MTU change is applied in place and sets no endpoint).
    h.next.config = { ...h.next.config, neighbors: [{ ...b!, listenPort: (b!.listenPort ?? 51820) + 1 }, c!] };
    expect((await h.agent.reload()).changed).toEqual(['b']);
    expect(wg.callsFor('wg-b').at(-1)).toEqual({ interface: 'wg-b', endpoint: '198.51.100.21:51820', previous: '198.51.100.21:51820' });
    h.next.config = { ...h.next.config, neighbors: [{ ...b!, endpoint: 'b2.vpn.example:51820' }, c!] };
    await h.agent.reload();
    expect(wg.callsFor('wg-b').at(-1)).toEqual({ interface: 'wg-b', endpoint: '198.51.100.23:51820', previous: '198.51.100.21:51820' });
    expect((await h.agent.tunnels()).find((t) => t.name === 'b')).toMatchObject({ endpoint: '198.51.100.23:51820', endpointName: 'b2.vpn.example:51820' });
    expect(wg.callsFor('wg-c')).toHaveLength(1);
  });
});
