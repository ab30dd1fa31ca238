/**
 * BGP → OSPF on VPP. ospfd and ospf6d originate the agent's BGP routes as
 * externals by redistributing kernel routes (docs/ospf.md), but on VPP the
 * agent's routes live in the VPP FIB, not in a kernel. The mirror writes the
 * routes the agent forwards with BGP into the kernel of its own namespace (the
 * linux-cp namespace, where FRR runs on the host side of the tunnels), with
 * the tag of `dataplane.linux`, so zebra sees them exactly as on Linux and
 * the same route-maps pick them. The kernel routes also carry the router's
 * own traffic to those prefixes through the linux-cp taps.
 *
 * Only routes whose winner is BGP are mirrored: an OSPF route the agent
 * installs into VPP is OSPF's already, and handing it back would make a loop.
 */
import { FibManager, type ReconcileResult } from '#fib/manager';
import type { FibBackend, FibNextHop, FibRoute } from '#fib/types';

export class KernelMirror {
  private readonly fibm: FibManager;
  private on: boolean;

  constructor(
    readonly backend: FibBackend,
    enabled: boolean,
  ) {
    this.fibm = new FibManager(backend);
    this.on = enabled;
  }

  get enabled(): boolean {
    return this.on;
  }

  /** Routes the mirror holds in the kernel. */
  get size(): number {
    return this.fibm.size;
  }

  /** Prefixes the mirror wants in the kernel. */
  wantedPrefixes(): IterableIterator<string> {
    return this.fibm.wantedPrefixes();
  }

  /** Turns the mirror on or off (ospf.redistribute-bgp on reload); off: everything wanted goes. */
  enable(on: boolean): void {
    this.on = on;
    if (!on) for (const prefix of [...this.fibm.wantedPrefixes()]) this.fibm.delete(prefix);
  }

  /** `route` is what BGP forwards `prefix` with (null: BGP does not, or OSPF wins it). */
  set(prefix: string, route: FibRoute | null): void {
    if (this.on && route !== null) this.fibm.set(route);
    else this.fibm.delete(prefix);
  }

  /** set() without a route object: `nexthops` null as `route` null. */
  setHops(prefix: string, nexthops: readonly FibNextHop[] | null, backup: readonly FibNextHop[] | null): void {
    if (this.on && nexthops !== null) this.fibm.setHops(prefix, nexthops, backup);
    else this.fibm.delete(prefix);
  }

  pending(): number {
    return this.fibm.pending();
  }

  get waiting(): number {
    return this.fibm.waiting;
  }

  flush(): Promise<void> {
    return this.fibm.flush();
  }

  /** Start: the routes an earlier run left are taken as installed (they stay until reconcile). */
  adopt(): Promise<number> {
    return this.fibm.adopt();
  }

  reconcile(): Promise<ReconcileResult> {
    return this.fibm.reconcile();
  }

  between<T>(fn: () => Promise<T>): Promise<T> {
    return this.fibm.between(fn);
  }

  /** Everything goes (stop without keep-on-stop). */
  clear(): Promise<void> {
    for (const prefix of [...this.fibm.wantedPrefixes()]) this.fibm.delete(prefix);
    return this.fibm.flush();
  }

  get lastErrors(): readonly string[] {
    return this.fibm.lastErrors;
  }
}
