import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { diffNeighbors, immutableChanges, ownKeyRotated } from '#agent/reload';
import { neighborAddressing, fibNextHopAddress } from '#agent/neighbor';
import { VERSION } from '#agent/version';
import { readOwnKey } from '#agent/own-key';
import { publicKeyOf } from '#wg/keys';
import type { Config, NeighborConfig } from '#config/types';
import type { TunnelSpec } from '#wg/types';

const neighbor = (name: string, over: Partial<NeighborConfig> = {}): NeighborConfig => ({
  name,
  interface: `wg-${name}`,
  publicKey: 'hIDvqXoi1MGOkMyEGyIOaxZZhw2vPWtwRsjfwPcPF3I=',
  endpoint: '198.51.100.2:51820',
  listenPort: 51821,
  persistentKeepalive: 25, mtu: 1420,
  tunnel: { local: ['10.255.0.0/31', 'fd00:255::/127'], remote: ['10.255.0.1', 'fd00:255::1'] },
  sourceAddress: null,
  bgp: { asn: 65002, holdTime: 90, passive: false, ttlSecurity: true, password: null, gracefulRestart: true, gracefulRestartTime: 120, advertiseOspf: null, maxPrefix: null },
  ospf: null,
  ...over,
});

const config = (neighbors: NeighborConfig[], over: Partial<Config> = {}): Config => ({
  router: { asn: 65001, routerId: '192.0.2.1' },
  control: { socket: '/run/wgbgp/control.sock', group: null, adminGroup: null },
  metrics: { listen: null },
  ospf: null,
  dataplane: {
    wireguard: 'auto',
    fib: 'linux',
    keepOnStop: true,
    linux: { protocol: 201, table: 254, metric: 32 },
    vpp: { apiSocket: '/run/vpp/api.sock', linuxCp: true, linuxCpNetns: null, tableId: 0, controlInterface: null },
  },
  wireguard: { privateKeyFile: '/etc/wgbgp/private.key', sourceAddress: null, reresolveAfter: 135 },
  announce: ['10.1.0.0/24'],
  neighbors,
  ...over,
});

describe('reload diff', () => {
  it('adds, removes and rebuilds neighbors by name, leaving the others alone', () => {
    const prev = config([neighbor('a'), neighbor('b'), neighbor('c')]);
    const next = config([neighbor('a'), neighbor('c', { listenPort: 51830 }), neighbor('d')]);
    expect(diffNeighbors(prev, next)).toEqual({ added: ['d'], removed: ['b'], changed: ['c'], ospf: [], export: [], tunnel: [] });
  });
  it('issue 12: MTU, keepalive and a numbered neighbor\'s public key change the tunnel in place; the session stays', () => {
    const newKey = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';
    const prev = config([neighbor('a'), neighbor('b'), neighbor('c'), neighbor('d')]);
    const next = config([neighbor('a', { mtu: 1380 }), neighbor('b', { publicKey: newKey }), neighbor('c', { persistentKeepalive: 10 }), neighbor('d', { publicKey: newKey, mtu: 1400, endpoint: '198.51.100.9:51820' })]);
    // d: its endpoint changes too, which is not in place (pins, passive or active): rebuilt.
    expect(diffNeighbors(prev, next)).toEqual({ added: [], removed: [], changed: ['d'], ospf: [], export: [], tunnel: ['a', 'b', 'c'] });
  });
  it('issue 12: an unnumbered neighbor\'s new public key moves its link-local addresses: its session restarts', () => {
    const newKey = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';
    const prev = config([neighbor('u', { tunnel: null })]);
    expect(diffNeighbors(prev, config([neighbor('u', { tunnel: null, publicKey: newKey })]))).toMatchObject({ changed: ['u'], tunnel: [] });
    expect(diffNeighbors(prev, config([neighbor('u', { tunnel: null, mtu: 1300 })]))).toMatchObject({ changed: [], tunnel: ['u'] });
  });
  it('issue 12: our own new private key reaches every tunnel: in place where numbered, a session restart where unnumbered', () => {
    const prev = config([neighbor('a'), neighbor('u', { tunnel: null }), neighbor('b')]);
    const next = config([neighbor('a', { mtu: 1400 }), neighbor('u', { tunnel: null }), neighbor('b'), neighbor('n')]);
    const diff = diffNeighbors(prev, next);
    ownKeyRotated(diff, next);
    expect(diff).toEqual({ added: ['n'], removed: [], changed: ['u'], ospf: [], export: [], tunnel: ['a', 'b'] });
  });
  it('refuses to change the speaker identity or the dataplane in place', () => {
    const prev = config([]);
    const next = config([], { router: { asn: 65009, routerId: '192.0.2.1' } });
    expect(immutableChanges(prev, next)).toEqual(['router.asn']);
    expect(immutableChanges(prev, config([]))).toEqual([]);
  });
});

describe('neighbor addressing (design.md: session on the first tunnel.remote, IPv4 when present)', () => {
  const spec = (addresses: string[], peerAddresses: string[]): TunnelSpec => ({
    name: 'x',
    interface: 'wg-x',
    privateKey: new Uint8Array(32),
    peerPublicKey: '',
    endpoint: null,
    listenPort: null,
    persistentKeepalive: 0, mtu: 1420,
    addresses,
    peerAddresses,
    sourceAddress: null,
  });
  it('uses the IPv4 tunnel address for the session and the family of each route for its next hop', () => {
    const n = neighbor('a', { tunnel: { local: ['fd00:255::/127', '10.255.0.0/31'], remote: ['fd00:255::1', '10.255.0.1'] } });
    const a = neighborAddressing(n, spec(['fd00:255::/127', '10.255.0.0/31', 'fe80::1/64'], ['fd00:255::1', '10.255.0.1', 'fe80::2']));
    expect(a.sessionPeer).toBe('10.255.0.1');
    expect(a.sessionLocal).toBe('10.255.0.0');
    expect(fibNextHopAddress(a, '10.2.0.0/24')).toBe('10.255.0.1');
    expect(fibNextHopAddress(a, '2001:db8:2::/48')).toBe('fd00:255::1');
  });
  it('RFC 8950: an unnumbered tunnel runs the session on link-local and routes IPv4 via the IPv6 next hop', () => {
    const n = neighbor('a', { tunnel: null });
    const a = neighborAddressing(n, spec(['fe80::1/64'], ['fe80::2']));
    expect(a.sessionPeer).toBe('fe80::2');
    expect(a.sessionLocal).toBe('fe80::1');
    expect(fibNextHopAddress(a, '10.2.0.0/24')).toBe('fe80::2');
  });
});

describe('version', () => {
  it('matches package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });
});

describe('own key at reload (issue 12)', () => {
  const key = (b: number): Uint8Array => new Uint8Array(32).fill(b);
  it('the same key is no rotation; a new one is, with its public key; an unreadable file rejects the reload', async () => {
    expect(await readOwnKey(async () => key(1), key(1))).toEqual({ ok: true, rotated: false });
    const r = await readOwnKey(async () => key(2), key(1));
    expect(r).toMatchObject({ ok: true, rotated: true, publicKey: publicKeyOf(key(2)) });
    expect(await readOwnKey(async () => Promise.reject(new Error('wireguard.private-key-file: cannot read /x: ENOENT')), key(1))).toEqual({
      ok: false,
      error: 'wireguard.private-key-file: cannot read /x: ENOENT',
    });
    expect(await readOwnKey(undefined, key(1))).toEqual({ ok: true, rotated: false });
  });
});
