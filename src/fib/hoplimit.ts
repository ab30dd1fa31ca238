/**
 * GTSM (RFC 5082) for what the kernel sends a tunnel peer by itself. A BGP
 * socket sets TTL 255 on its own segments (bgp/session/tcp.ts), but a segment
 * that reaches no socket is answered by the kernel: a TCP reset with the
 * route's hop limit, else the system default, 64. A GTSM peer discards it
 * (RFC 5082 §3). After a crash (kill -9) of the agent that is the only answer
 * to a handshake the dying listener had begun: the peer, established, sends
 * its OPEN, hears nothing it accepts, and waits in OpenSent for its large hold
 * timer (RFC 4271 §8.2.2: 4 minutes; OpenBGPD meanwhile refuses our new
 * connections). So the agent's host route to a tunnel peer (design.md: the
 * routes the tunnel itself needs) carries RTAX_HOPLIMIT 255: one hop across
 * the tunnel is all any packet to that address ever travels, and whatever the
 * kernel answers the peer is then as valid to it as our sockets' segments.
 * Forwarded packets keep their own TTL: the metric is only for what this
 * host originates.
 */
import type { FibNextHop } from './types.js';

export const TUNNEL_PEER_HOP_LIMIT = 255;

/** The hop limit of a route of `prefix` over `nexthops`: 255 for a host route to a tunnel peer, 0 (none) for any other. */
export function hopLimitOf(prefix: string, nexthops: readonly FibNextHop[], isTunnel: (ifname: string) => boolean): number {
  if (nexthops.length !== 1) return 0;
  const nh = nexthops[0]!;
  if (nh.address !== undefined || nh.interface === undefined || !isTunnel(nh.interface)) return 0;
  return prefix.endsWith(prefix.includes(':') ? '/128' : '/32') ? TUNNEL_PEER_HOP_LIMIT : 0;
}

/**
 * hopLimitOf per op of a batch (`nexthops` null for a delete), or undefined
 * when none has one. The prefix text is read only for the few ops whose one
 * next hop is a tunnel without an address: a learned route always names one.
 */
export function hopLimits(
  w: { readonly length: number; nexthops(i: number): readonly FibNextHop[] | null; prefix(i: number): string },
  isTunnel: (ifname: string) => boolean,
): Uint8Array | undefined {
  let out: Uint8Array | undefined;
  for (let i = 0; i < w.length; i++) {
    const hops = w.nexthops(i);
    if (hops === null || hops.length !== 1 || hops[0]!.address !== undefined) continue;
    const h = hopLimitOf(w.prefix(i), hops, isTunnel);
    if (h === 0) continue;
    out ??= new Uint8Array(w.length);
    out[i] = h;
  }
  return out;
}
