/**
 * design.md: a learned route beside an operator's for the same prefix is
 * installed with our metric, and which one forwards is the operator's choice
 * by metric: `routes PREFIX` says which (Linux; other backends have no say).
 */
import type { RouteJson } from '#api/types';
import type { FibBackend } from '#fib/types';

/** iproute2's names for rtnetlink protocol numbers an operator sees most. */
const PROTOCOL_NAMES: Readonly<Record<number, string>> = { 2: 'kernel', 3: 'boot', 4: 'static', 11: 'zebra', 12: 'bird', 16: 'dhcp', 186: 'bgp', 188: 'ospf' };

export function protocolName(p: number): string {
  return PROTOCOL_NAMES[p] ?? String(p);
}

/** Adds to each installed learned route, in place, when another route for its prefix forwards instead. */
export async function withForwarding(routes: RouteJson[], fib: FibBackend, metric: number): Promise<RouteJson[]> {
  if (fib.forwarding === undefined) return routes;
  for (const r of routes) {
    if (r.source !== 'bgp' || !r.fib || r.fibDetail !== null) continue;
    try {
      const f = await fib.forwarding(r.prefix);
      if (f && !f.ours) {
        r.fibDetail = `installed with our metric ${metric}; another route for this prefix forwards (protocol ${protocolName(f.protocol)}, metric ${f.metric})`;
      }
    } catch {
      // The kernel's view is an extra: the route as the agent holds it is still right.
    }
  }
  return routes;
}
