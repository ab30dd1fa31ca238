/**
 * TCP over a tunnel fits its MTU (issue 12): a Linux route through a tunnel
 * carries RTAX_ADVMSS = MTU minus the IP and TCP headers without options
 * (20 + 20 for IPv4, 40 + 20 for IPv6, RFC 879 §1 and RFC 8200 §8.3), the
 * smallest over its paths. The kernel takes it as the MSS it announces on
 * connections that use the route, the agent's BGP sessions to the peer's
 * host routes included. A route without a tunnel path carries none.
 */
import type { FibNextHop, FibOp } from './types.js';

export const IPV4_TCP_HEADERS = 40;
export const IPV6_TCP_HEADERS = 60;

export function advmssFor(mtu: number, ipv6: boolean): number {
  return mtu - (ipv6 ? IPV6_TCP_HEADERS : IPV4_TCP_HEADERS);
}

export class TunnelMss {
  private readonly mtus = new Map<string, number>();
  /** Tunnels whose MTU changed since the last take(); null: never taken (everything is to be checked). */
  private changed: Set<string> | null = null;

  get size(): number {
    return this.mtus.size;
  }

  /** A tunnel of the agent's (its MTU recorded). */
  has(ifname: string): boolean {
    return this.mtus.has(ifname);
  }

  /** Records a tunnel's MTU (null: the tunnel is gone). */
  set(ifname: string, mtu: number | null): void {
    if ((this.mtus.get(ifname) ?? null) === mtu) return;
    if (mtu === null) this.mtus.delete(ifname);
    else this.mtus.set(ifname, mtu);
    this.changed?.add(ifname);
  }

  /** The advmss of a route of `prefix` over `nexthops`; 0: none of them goes through a tunnel with an MTU. */
  of(prefix: string, nexthops: readonly FibNextHop[]): number {
    let mtu = 0;
    for (const nh of nexthops) {
      const m = nh.interface === undefined ? undefined : this.mtus.get(nh.interface);
      if (m !== undefined && (mtu === 0 || m < mtu)) mtu = m;
    }
    return mtu === 0 ? 0 : advmssFor(mtu, prefix.includes(':'));
  }

  /**
   * advmss per op of a batch (0: none, sent all the same, so a route that
   * leaves a tunnel loses its old value), or undefined when no tunnel has an
   * MTU: then nothing is sent, as before tunnels had one.
   */
  forBatch(ops: readonly FibOp[]): Uint16Array | undefined {
    return this.forWrites({
      length: ops.length,
      nexthops: (i) => {
        const op = ops[i]!;
        return op.op === 'delete' ? null : op.route.nexthops;
      },
      v6: (i) => {
        const op = ops[i]!;
        return (op.op === 'delete' ? op.prefix : op.route.prefix).includes(':');
      },
    });
  }

  /** forBatch over a batch read op by op (the Linux backend's columns): `nexthops` null for a delete. */
  forWrites(w: { readonly length: number; nexthops(i: number): readonly FibNextHop[] | null; v6(i: number): boolean }): Uint16Array | undefined {
    if (this.mtus.size === 0) return undefined;
    const out = new Uint16Array(w.length);
    // A batch of 8192 routes has a handful of next-hop lists (shared objects): each is looked at once per family.
    const seen = new Map<readonly FibNextHop[], number>();
    for (let i = 0; i < w.length; i++) {
      const hops = w.nexthops(i);
      if (hops === null) continue;
      let both = seen.get(hops);
      if (both === undefined) {
        both = (this.of('0.0.0.0/0', hops) << 16) | this.of('::/0', hops);
        seen.set(hops, both);
      }
      out[i] = w.v6(i) ? both & 0xffff : both >>> 16;
    }
    return out;
  }

  /** The tunnels whose MTU changed since the last call, or 'all' at the first. */
  take(): ReadonlySet<string> | 'all' {
    const c = this.changed;
    this.changed = new Set();
    return c === null ? 'all' : c;
  }
}
