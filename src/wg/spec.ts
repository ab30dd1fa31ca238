/**
 * Config → desired tunnels. Every tunnel carries the derived IPv6 link-local
 * pair, numbered or not, so IPv6 link-local exists deterministically on every
 * WireGuard interface (the kernel's random one is disabled by the backends).
 */
import type { Config } from '#config/types';
import { hostPrefix, isLinkLocalV6, parseIp } from '#lib/prefix';
import { linkLocalPair } from './linklocal.js';
import type { TunnelSpec } from './types.js';

export function tunnelSpecs(config: Config, privateKey: Uint8Array, ourPublicKey: string): TunnelSpec[] {
  return config.neighbors.map((n) => {
    const ll = linkLocalPair(ourPublicKey, n.publicKey);
    return {
      name: n.name,
      interface: n.interface,
      privateKey,
      peerPublicKey: n.publicKey,
      endpoint: n.endpoint,
      listenPort: n.listenPort,
      persistentKeepalive: n.persistentKeepalive,
      mtu: n.mtu,
      addresses: [...(n.tunnel?.local ?? []), ll.local],
      peerAddresses: [...(n.tunnel?.remote ?? []), ll.remote],
      sourceAddress: n.sourceAddress ?? config.wireguard.sourceAddress,
    };
  });
}

/** True when the tunnel has no configured addresses (BGP over link-local, RFC 8950). */
export function isUnnumbered(spec: TunnelSpec): boolean {
  return spec.peerAddresses.every((a) => {
    const ip = parseIp(a);
    return ip !== null && isLinkLocalV6(ip.bytes);
  });
}

/**
 * Host prefixes (/32, /128) of the peer's tunnel addresses: a non-broadcast
 * WireGuard interface needs them to reach the peer (design.md, VPP). The
 * link-local address is scoped to the interface and gets none.
 */
export function hostRoutes(spec: TunnelSpec): string[] {
  const out: string[] = [];
  for (const a of spec.peerAddresses) {
    const ip = parseIp(a);
    if (!ip) throw new RangeError(`tunnel ${spec.name}: not an IP address: ${a}`);
    if (isLinkLocalV6(ip.bytes)) continue;
    out.push(hostPrefix(a));
  }
  return out;
}
