/**
 * Endpoints given as DNS names (issue 12, src/agent/endpoints.ts), driven with
 * an injected resolver and clock: resolved at setup (the source address's
 * family preferred), an unresolvable name retried with a back-off, re-resolved
 * after `reresolve-after` seconds without a handshake, and a roamed endpoint
 * with a recent handshake never overwritten.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '#lib/clock';
import { silentLogger } from '#lib/log';
import { EndpointNames, LOOKUP_TIMEOUT_MS, RERESOLVE_INTERVAL_MS, RETRY_FIRST_MS, RETRY_MAX_MS, type ResolvedAddress } from '#agent/endpoints';
import type { TunnelSpec } from '#wg/types';

const AFTER = 135;

function spec(over: Partial<TunnelSpec> = {}): TunnelSpec {
  return {
    name: 'site-b',
    interface: 'wg-site-b',
    privateKey: new Uint8Array(32),
    peerPublicKey: 'hIDvqXoi1MGOkMyEGyIOaxZZhw2vPWtwRsjfwPcPF3I=',
    endpoint: 'site-b.vpn.example:51820',
    listenPort: null,
    persistentKeepalive: 25, mtu: 1420,
    addresses: [],
    peerAddresses: [],
    sourceAddress: null,
    ...over,
  };
}

/** A resolver whose answers the test changes; counts the lookups. */
class FakeDns {
  records = new Map<string, ResolvedAddress[]>();
  lookups = 0;
  set(host: string, ...addresses: string[]): void {
    this.records.set(host, addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
  }
  resolve = (host: string): Promise<ResolvedAddress[]> => {
    this.lookups += 1;
    const r = this.records.get(host);
    return r ? Promise.resolve(r) : Promise.reject(new Error(`getaddrinfo ENOTFOUND ${host}`));
  };
}

function setup(): { clock: ManualClock; dns: FakeDns; names: EndpointNames } {
  const clock = new ManualClock();
  const dns = new FakeDns();
  const names = new EndpointNames({ clock, log: silentLogger(), resolve: dns.resolve });
  return { clock, dns, names };
}

const ago = (clock: ManualClock, sec: number): Date => new Date(clock.wallNow().getTime() - sec * 1000);

describe('at tunnel setup', () => {
  it('the backend gets the address, the name stays in the view', async () => {
    const { dns, names } = setup();
    dns.set('site-b.vpn.example', '198.51.100.2');
    expect((await names.apply(spec())).endpoint).toBe('198.51.100.2:51820');
    expect(names.view('site-b')).toEqual({ endpointName: 'site-b.vpn.example:51820', endpointError: null });
  });

  it('IP literals and no endpoint pass through untouched, with no lookup', async () => {
    const { dns, names } = setup();
    expect((await names.apply(spec({ endpoint: '198.51.100.9:51820' }))).endpoint).toBe('198.51.100.9:51820');
    expect((await names.apply(spec({ endpoint: '[2001:db8::9]:51820' }))).endpoint).toBe('[2001:db8::9]:51820');
    expect((await names.apply(spec({ endpoint: null }))).endpoint).toBeNull();
    expect(dns.lookups).toBe(0);
    expect(names.view('site-b')).toEqual({ endpointName: null, endpointError: null });
  });

  it("prefers the source address's family, else the resolver's first answer", async () => {
    const { dns, names } = setup();
    dns.set('site-b.vpn.example', '2001:db8::2', '198.51.100.2');
    expect((await names.apply(spec({ name: 'a' }))).endpoint).toBe('[2001:db8::2]:51820');
    expect((await names.apply(spec({ name: 'b', sourceAddress: '198.51.100.1' }))).endpoint).toBe('198.51.100.2:51820');
    expect((await names.apply(spec({ name: 'c', sourceAddress: '2001:db8::1' }))).endpoint).toBe('[2001:db8::2]:51820');
  });

  it('a name without an address of the source family is an error that says so', async () => {
    const { dns, names } = setup();
    dns.set('site-b.vpn.example', '2001:db8::2');
    expect((await names.apply(spec({ sourceAddress: '198.51.100.1' }))).endpoint).toBeNull();
    expect(names.view('site-b').endpointError).toMatch(/no IPv4 address .* only 2001:db8::2/);
  });

  it('a reload with the same name keeps the address; `previous` shows the backend what it had', async () => {
    const { dns, names } = setup();
    dns.set('site-b.vpn.example', '198.51.100.2');
    const first = await names.apply(spec());
    dns.set('site-b.vpn.example', '198.51.100.3');
    const prev = names.previous(spec());
    const next = await names.apply(spec({ persistentKeepalive: 10 }));
    expect(prev?.endpoint).toBe(first.endpoint);
    expect(next.endpoint).toBe(first.endpoint);
    expect(dns.lookups).toBe(1);
  });

  it('a reload to another name resolves it at once, and the change is seen as configured', async () => {
    const { dns, names } = setup();
    dns.set('site-b.vpn.example', '198.51.100.2');
    dns.set('site-b2.vpn.example', '198.51.100.7');
    await names.apply(spec());
    const prev = names.previous(spec());
    const next = await names.apply(spec({ endpoint: 'site-b2.vpn.example:51820' }));
    expect(prev?.endpoint).toBe('198.51.100.2:51820');
    expect(next.endpoint).toBe('198.51.100.7:51820');
  });
});

describe('a name that does not resolve', () => {
  it('leaves the tunnel without endpoint, shows the error, and is tried with a back-off', async () => {
    const { clock, dns, names } = setup();
    const s = spec();
    expect((await names.apply(s)).endpoint).toBeNull();
    expect(names.view('site-b')).toEqual({ endpointName: 'site-b.vpn.example:51820', endpointError: 'getaddrinfo ENOTFOUND site-b.vpn.example' });
    const seen = { endpoint: null, latestHandshake: null };
    const tries: number[] = [];
    for (let t = 0; t < 400_000; t += 1000) {
      const before = dns.lookups;
      await names.poll(s, seen, AFTER);
      if (dns.lookups > before) tries.push(clock.now());
      clock.advance(1000);
    }
    const gaps = tries.map((t, i) => t - (i === 0 ? 0 : tries[i - 1]!));
    expect(gaps.slice(0, 6)).toEqual([5_000, 10_000, 20_000, 40_000, 80_000, 160_000]);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(RETRY_MAX_MS);
    expect(RETRY_FIRST_MS).toBe(5_000);
  });

  it('the retry of a failed tunnel setup does not bypass the back-off', async () => {
    const { dns, names } = setup();
    await names.apply(spec());
    await names.apply(spec());
    expect(dns.lookups).toBe(1);
  });

  it('once it resolves, the endpoint is set (the tunnel had none) and the error clears', async () => {
    const { clock, dns, names } = setup();
    const s = spec();
    await names.apply(s);
    dns.set('site-b.vpn.example', '198.51.100.2');
    clock.advance(RETRY_FIRST_MS);
    const change = await names.poll(s, { endpoint: null, latestHandshake: null }, AFTER);
    expect(change?.previous.endpoint).toBeNull();
    expect(change?.next.endpoint).toBe('198.51.100.2:51820');
    expect(change?.next.interface).toBe('wg-site-b');
    expect(names.view('site-b').endpointError).toBeNull();
  });

  it('but a peer that connected to us meanwhile (recent handshake) keeps its endpoint', async () => {
    const { clock, dns, names } = setup();
    const s = spec();
    await names.apply(s);
    dns.set('site-b.vpn.example', '198.51.100.2');
    clock.advance(RETRY_FIRST_MS);
    const roamed = { endpoint: '203.0.113.50:40000', latestHandshake: ago(clock, 10) };
    expect(await names.poll(s, roamed, AFTER)).toBeNull();
    expect(names.view('site-b').endpointError).toBeNull();
  });
});

describe('re-resolution (no handshake for reresolve-after seconds)', () => {
  async function resolved(): Promise<ReturnType<typeof setup> & { s: TunnelSpec }> {
    const env = setup();
    env.dns.set('site-b.vpn.example', '198.51.100.2');
    const s = spec();
    await env.names.apply(s);
    return { ...env, s };
  }

  it('a recent handshake: no lookup at all, whatever DNS says', async () => {
    const { clock, dns, names, s } = await resolved();
    dns.set('site-b.vpn.example', '198.51.100.3');
    for (let i = 0; i < 300; i++) {
      clock.advance(2_000);
      const seen = { endpoint: '198.51.100.2:51820', latestHandshake: ago(clock, (i * 2) % 120) };
      expect(await names.poll(s, seen, AFTER)).toBeNull();
    }
    expect(dns.lookups).toBe(1);
  });

  it('a roamed endpoint with a recent handshake is never overwritten', async () => {
    const { clock, dns, names, s } = await resolved();
    clock.advance(600_000);
    dns.set('site-b.vpn.example', '198.51.100.3');
    const roamed = { endpoint: '203.0.113.50:40000', latestHandshake: ago(clock, AFTER) };
    expect(await names.poll(s, roamed, AFTER)).toBeNull();
  });

  it('135 s without a handshake and a new address: the new endpoint for this tunnel', async () => {
    const { clock, dns, names, s } = await resolved();
    clock.advance(200_000);
    dns.set('site-b.vpn.example', '198.51.100.3');
    const stale = { endpoint: '198.51.100.2:51820', latestHandshake: ago(clock, AFTER + 1) };
    const change = await names.poll(s, stale, AFTER);
    expect(change?.previous).toEqual({ ...s, endpoint: '198.51.100.2:51820' });
    expect(change?.next).toEqual({ ...s, endpoint: '198.51.100.3:51820' });
    // Set once: the next look-up finds the dataplane where DNS points.
    clock.advance(RERESOLVE_INTERVAL_MS);
    expect(await names.poll(s, { ...stale, endpoint: '198.51.100.3:51820' }, AFTER)).toBeNull();
  });

  it('stale, but DNS still says where the dataplane points: nothing to do, looked up at most every 30 s', async () => {
    const { clock, dns, names, s } = await resolved();
    clock.advance(200_000);
    const stale = { endpoint: '198.51.100.2:51820', latestHandshake: null };
    for (let i = 0; i < 30; i++) {
      expect(await names.poll(s, stale, AFTER)).toBeNull();
      clock.advance(2_000);
    }
    expect(dns.lookups).toBe(1 + 2);
  });

  it('an address just set gets reresolve-after seconds to bring its first handshake', async () => {
    const { clock, dns, names, s } = await resolved();
    dns.set('site-b.vpn.example', '198.51.100.3');
    const never = { endpoint: '198.51.100.2:51820', latestHandshake: null };
    clock.advance(AFTER * 1000 - 1);
    expect(await names.poll(s, never, AFTER)).toBeNull();
    clock.advance(1);
    expect((await names.poll(s, never, AFTER))?.next.endpoint).toBe('198.51.100.3:51820');
  });

  it('a stale endpoint that roamed away is brought back to what DNS says', async () => {
    const { clock, names, s } = await resolved();
    clock.advance(200_000);
    const roamedThenDead = { endpoint: '203.0.113.50:40000', latestHandshake: ago(clock, 500) };
    const change = await names.poll(s, roamedThenDead, AFTER);
    expect(change?.previous.endpoint).toBe('203.0.113.50:40000');
    expect(change?.next.endpoint).toBe('198.51.100.2:51820');
  });

  it('the threshold is the configured one', async () => {
    const { clock, dns, names, s } = await resolved();
    clock.advance(60_000);
    dns.set('site-b.vpn.example', '198.51.100.3');
    const seen = { endpoint: '198.51.100.2:51820', latestHandshake: ago(clock, 31) };
    expect(await names.poll(s, seen, 135)).toBeNull();
    expect((await names.poll(s, seen, 30))?.next.endpoint).toBe('198.51.100.3:51820');
  });

  it('the dataplane spelling of an IPv6 endpoint compares equal to ours', async () => {
    const { clock, dns, names } = setup();
    dns.set('v6.vpn.example', '2001:db8:0:0::2');
    const s = spec({ endpoint: 'v6.vpn.example:51820' });
    expect((await names.apply(s)).endpoint).toBe('[2001:db8::2]:51820');
    clock.advance(200_000);
    expect(await names.poll(s, { endpoint: '[2001:db8::2]:51820', latestHandshake: null }, AFTER)).toBeNull();
  });

  it('a neighbor forgotten (removed) has no state left', async () => {
    const { names } = await resolved();
    names.forget('site-b');
    expect(names.view('site-b')).toEqual({ endpointName: null, endpointError: null });
  });
});

describe('a resolver that does not answer', () => {
  it('counts as a failure after 5 s and is retried with the back-off', async () => {
    const clock = new ManualClock();
    const names = new EndpointNames({ clock, log: silentLogger(), resolve: () => new Promise<ResolvedAddress[]>(() => undefined) });
    const pending = names.apply(spec());
    await Promise.resolve();
    clock.advance(LOOKUP_TIMEOUT_MS);
    expect((await pending).endpoint).toBeNull();
    expect(names.view('site-b').endpointError).toMatch(/no answer from the resolver in 5 s/);
  });
});

describe('a name that resolves only after the peer roamed in', () => {
  it('a reload (apply again) does not set it over the working roamed endpoint; poll sets it once that goes stale', async () => {
    const { clock, dns, names } = setup();
    const s = spec();
    expect((await names.apply(s)).endpoint).toBeNull();
    dns.set('site-b.vpn.example', '198.51.100.2');
    clock.advance(RETRY_FIRST_MS);
    const prev = names.previous(s);
    const again = await names.apply({ ...s, persistentKeepalive: 10 });
    expect(again.endpoint).toBe(prev?.endpoint);
    expect(await names.poll(s, { endpoint: '203.0.113.50:40000', latestHandshake: ago(clock, 5) }, AFTER)).toBeNull();
    clock.advance(AFTER * 1000);
    const change = await names.poll(s, { endpoint: '203.0.113.50:40000', latestHandshake: ago(clock, AFTER + 5) }, AFTER);
    expect(change?.next.endpoint).toBe('198.51.100.2:51820');
  });
});

describe('two polls at once (the poll loop and `wgbgp tunnels`)', () => {
  it('one lookup, one change', async () => {
    const { clock, dns, names } = setup();
    dns.set('site-b.vpn.example', '198.51.100.2');
    const s = spec();
    await names.apply(s);
    clock.advance(200_000);
    dns.set('site-b.vpn.example', '198.51.100.3');
    const stale = { endpoint: '198.51.100.2:51820', latestHandshake: null };
    const [x, y] = await Promise.all([names.poll(s, stale, AFTER), names.poll(s, stale, AFTER)]);
    expect([x, y].filter((c) => c !== null)).toHaveLength(1);
    expect(dns.lookups).toBe(2);
  });
});
