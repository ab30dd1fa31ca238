import { describe, expect, it } from 'vitest';
import type { Config, NeighborConfig } from '#config/types';
import { decodeKey, generatePrivateKey, hostRoutes, isUnnumbered, linkLocalPair, publicKeyOf, tunnelSpecs } from '#wg/index';

const ourPriv = generatePrivateKey();
const ourPub = publicKeyOf(ourPriv);
const peerB = publicKeyOf(generatePrivateKey());
const peerC = publicKeyOf(generatePrivateKey());

function neighbor(over: Partial<NeighborConfig>): NeighborConfig {
  return {
    name: 'site-b',
    interface: 'wg-site-b',
    publicKey: peerB,
    endpoint: '198.51.100.2:51820',
    listenPort: 51821,
    persistentKeepalive: 25, mtu: 1420,
    tunnel: { local: ['10.255.0.0/31', 'fd00:255::/127'], remote: ['10.255.0.1', 'fd00:255::1'] },
    sourceAddress: null,
    bgp: { asn: 65002, holdTime: 90, passive: false, ttlSecurity: true, password: null, gracefulRestart: true, gracefulRestartTime: 120, advertiseOspf: null, maxPrefix: null },
    ospf: null,
    ...over,
  };
}

const config = (neighbors: NeighborConfig[]): Config => ({
  router: { asn: 65001, routerId: '192.0.2.1' },
  control: { socket: '/run/wgbgp/control.sock', group: null, adminGroup: null },
  metrics: { listen: null },
  ospf: null,
  dataplane: {
    wireguard: 'wireguard-go',
    fib: 'linux',
    keepOnStop: true,
    linux: { protocol: 201, table: 254, metric: 32 },
    vpp: { apiSocket: '/run/vpp/api.sock', linuxCp: true, linuxCpNetns: null, tableId: 0, controlInterface: null },
  },
  wireguard: { privateKeyFile: '/etc/wgbgp/private.key', sourceAddress: '198.51.100.1', reresolveAfter: 135 },
  announce: [],
  neighbors,
});

describe('tunnel specs from the config', () => {
  const specs = tunnelSpecs(
    config([
      neighbor({}),
      neighbor({ name: 'road', interface: 'wg-road', publicKey: peerC, endpoint: null, listenPort: null,
        persistentKeepalive: 0, mtu: 1420, tunnel: null, sourceAddress: '198.51.100.9' }),
    ]),
    decodeKey(ourPriv),
    ourPub,
  );

  it('numbered: configured addresses plus the derived link-local', () => {
    const ll = linkLocalPair(ourPub, peerB);
    const s = specs[0]!;
    expect(s).toMatchObject({
      name: 'site-b', interface: 'wg-site-b', peerPublicKey: peerB, endpoint: '198.51.100.2:51820',
      listenPort: 51821, persistentKeepalive: 25, mtu: 1420, sourceAddress: '198.51.100.1',
      addresses: ['10.255.0.0/31', 'fd00:255::/127', ll.local],
      peerAddresses: ['10.255.0.1', 'fd00:255::1', ll.remote],
    });
    expect(s.privateKey).toEqual(decodeKey(ourPriv));
    expect(isUnnumbered(s)).toBe(false);
  });

  it('unnumbered (tunnel omitted): only the link-local pair; neighbor source-address wins', () => {
    const ll = linkLocalPair(ourPub, peerC);
    const s = specs[1]!;
    expect(s.addresses).toEqual([ll.local]);
    expect(s.peerAddresses).toEqual([ll.remote]);
    expect(s.endpoint).toBeNull();
    expect(s.sourceAddress).toBe('198.51.100.9');
    expect(isUnnumbered(s)).toBe(true);
  });

  it('host routes: /32 and /128 of the peer tunnel addresses, none for link-local', () => {
    expect(hostRoutes(specs[0]!)).toEqual(['10.255.0.1/32', 'fd00:255::1/128']);
    expect(hostRoutes(specs[1]!)).toEqual([]);
  });
});
