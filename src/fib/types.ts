/**
 * The forwarding view: what the agent wants installed, independent of the
 * backend. A backend (Linux rtnetlink, VPP) owns only what it tagged itself,
 * and changes nothing else (design.md, "Two rules").
 */
import type { PrefixTable } from '#lib/prefix-table';

export interface FibNextHop {
  address?: string;
  interface?: string;
}

export interface FibRoute {
  /** Canonical prefix. */
  prefix: string;
  nexthops: FibNextHop[];
  /**
   * Where the route goes when its next hops' tunnel dies, before the RIB has
   * caught up (prefix-independent convergence): the next best path's next
   * hops. Only a backend with `failover` uses it; absent: none.
   */
  backup?: readonly FibNextHop[];
}

/**
 * Who in the agent wants a route. A tunnel's own routes (the host routes to
 * the peer) win over a learned route for the same prefix and are never
 * removed by a withdraw: the field, not object identity, says which is which.
 */
export type RouteOwner = 'tunnel' | 'learned';

/**
 * One write. `add`: nothing of ours holds the prefix, so the backend creates
 * and must not overwrite what another owner put there. `replace` and `delete`
 * name `previous`, what of ours is there now, so a backend that shares the
 * prefix with others (VPP paths) changes only those paths.
 */
export type FibOp =
  | { op: 'add'; route: FibRoute }
  | { op: 'replace'; route: FibRoute; previous: FibRoute }
  | { op: 'delete'; prefix: string; previous: FibRoute };

/** What marks a Linux route as ours (dataplane.linux). */
export interface LinuxRouteTag {
  table: number;
  protocol: number;
  metric: number;
}

/** Op i's prefix is number ids[i] of `table`, held while the batch is in flight. */
export interface OpPrefixes {
  readonly table: PrefixTable;
  readonly ids: readonly number[];
}

/** FibBatch.kinds: what op i does (FibOp's `op`). */
export const OP_ADD = 0;
export const OP_REPLACE = 1;
export const OP_DELETE = 2;
export const OP_NAMES = ['add', 'replace', 'delete'] as const;

/** Interned next-hop lists by number (the FibManager's); -1 is none. */
export interface FibLists {
  hops(id: number): readonly FibNextHop[];
  /** The backup next hops that are part of list `id` (FibRoute.backup), or null. */
  backup(id: number): readonly FibNextHop[] | null;
}

/**
 * A batch of writes as columns: per op i its kind (OP_*), its prefix's number
 * in `table`, the next-hop list it writes (`want`, -1 for a delete) and the
 * one there now (`have`, -1 for an add; the `previous` of a FibOp). The
 * arrays are the FibManager's, reused batch after batch and longer than
 * `length`: a backend reads them during apply and keeps nothing. Prefix texts
 * exist only where a backend asks `table.text()` (a failure's report).
 */
export interface FibBatch {
  readonly length: number;
  readonly kinds: Uint8Array;
  readonly prefixes: Int32Array;
  readonly want: Int32Array;
  readonly have: Int32Array;
  readonly table: PrefixTable;
  readonly lists: FibLists;
}

function listRoute(prefix: string, lists: FibLists, id: number): FibRoute {
  const nexthops = lists.hops(id) as FibNextHop[];
  const backup = lists.backup(id);
  return backup === null ? { prefix, nexthops } : { prefix, nexthops, backup };
}

/** Op i of `b` as a FibOp object: for a backend without applyBatch, or a rare path (retries, failures). */
export function batchOp(b: FibBatch, i: number): FibOp {
  const prefix = b.table.text(b.prefixes[i]!);
  const kind = b.kinds[i]!;
  if (kind === OP_DELETE) return { op: 'delete', prefix, previous: listRoute(prefix, b.lists, b.have[i]!) };
  const route = listRoute(prefix, b.lists, b.want[i]!);
  return kind === OP_ADD ? { op: 'add', route } : { op: 'replace', route, previous: listRoute(prefix, b.lists, b.have[i]!) };
}

export interface FibBackend {
  readonly name: 'linux' | 'vpp' | 'none';
  /** Routes this agent installed earlier (its tag), as the dataplane holds them now. */
  dump(): Promise<FibRoute[]>;
  /**
   * dump() one route at a time, so a full table is never held at once:
   * `visit` per route (its object is the backend's: read it, keep nothing
   * but its next-hop list); `restart` when the dataplane's dump started over
   * (forget what was visited). Optional: the FibManager uses dump() without it.
   */
  dumpEach?(visit: (r: FibRoute) => void, restart: () => void): Promise<void>;
  /**
   * Applies a batch; returns the prefixes that failed with the reason.
   * `prefixes`: the ops' prefixes as numbers (the FibManager's), for a
   * backend that writes their bytes instead of parsing each text again.
   */
  apply(ops: FibOp[], prefixes?: OpPrefixes): Promise<{ prefix: string; error: string }[]>;
  /**
   * apply() for a columnar batch, without an object or a text per route:
   * the FibManager calls it instead of apply() when the backend has it. Same
   * promises (ownership, "PREFIX: REASON" per failed prefix, a throw when
   * nothing is known to have happened).
   */
  applyBatch?(batch: FibBatch): Promise<{ prefix: string; error: string }[]>;
  /**
   * How many apply() calls the FibManager may have in flight at once (their
   * batches never share a prefix); absent: 1, one batch after the other.
   */
  readonly batchesInFlight?: number;
  /**
   * Linux: moves our routes from the tag `from` to the backend's own (a changed
   * table, protocol or metric), so nothing of ours is orphaned. A null metric
   * means any other than ours (routes written before the agent had one).
   */
  migrate?(from: { table: number; protocol: number; metric: number | null }): Promise<{ moved: number; failed: { prefix: string; error: string }[] }>;
  /**
   * Linux: which route of `prefix` the kernel forwards with (the lowest
   * metric): ours, or another owner's (its protocol and metric); null when
   * the kernel has no route for exactly that prefix.
   */
  forwarding?(prefix: string): Promise<{ ours: boolean; protocol: number; metric: number } | null>;
  /** Linux: the tag our routes carry from now on. */
  retag?(to: LinuxRouteTag): void;
  /**
   * Linux: the underlay path to a tunnel's endpoint, as the kernel resolves it
   * without our learned routes and never into one of `tunnels` (the recursion
   * guard pins it: design.md). Null when there is none.
   */
  underlayPath?(address: string, tunnels: ReadonlySet<string>, fresh?: boolean): Promise<FibNextHop[] | null>;
  /**
   * Linux: calls `changed` whenever a route that is not ours is added or
   * removed (the underlay may have moved: the pins are resolved again).
   * Returns the stop.
   */
  watchUnderlay?(changed: () => void): () => void;
  /**
   * Linux: the MTU of a tunnel interface (null: forget it). Routes written
   * through it from now on carry RTAX_ADVMSS = MTU - 40 (IPv4) or - 60
   * (IPv6), the smallest over their paths, so TCP over them (the BGP session
   * included) fits the tunnel (issue 12).
   */
  tunnelMtu?(ifname: string, mtu: number | null): void;
  /**
   * Linux: rewrites our routes whose advmss no longer matches their tunnels'
   * MTU: through the tunnels whose MTU changed since the last call, or all of
   * ours at the first. Returns how many were rewritten.
   */
  retune?(): Promise<{ rewritten: number; failed: { prefix: string; error: string }[] }>;
  /**
   * The tunnels on `interfaces` are dead: every route of ours through them
   * moves to its backup at once (one write per shared next-hop object, not
   * one per route), or goes when it has none. The FIB manager's later writes
   * (the RIB catching up) find the routes already there. Returns how many
   * shared objects moved and went; absent or 0/0: the backend cannot.
   * `rewrite`: routes through those tunnels no longer name what was written
   * for them (Linux: their objects were replaced or deleted), so a route the
   * RIB wants as it was when the tunnel is back must be written again
   * (FibManager.restore, rewriteThrough).
   */
  failover?(interfaces: readonly string[]): Promise<{ moved: number; removed: number; rewrite?: boolean }>;
  /**
   * The tunnels on `interfaces` carry traffic again (their neighbor's
   * session is back): what failover() took away from routes through them
   * that the FibManager does not write again comes back. VPP: the PIC host
   * routes of their next hops; Linux: the ECMP groups made while these
   * tunnels were down give them their members back (the rewrite of the
   * routes through them was asked for at failover). Absent: nothing to do.
   * Returns how many shared objects came back; `rewrite`:
   * some could not, the routes through those tunnels must be written again
   * (FibManager.rewriteThrough).
   */
  restore?(interfaces: readonly string[]): Promise<{ restored: number; rewrite?: boolean }>;
  /**
   * The tunnels on `interfaces` are deleted for good (their neighbor left
   * the configuration) after the RIB withdrew the routes through them: what
   * failover() keeps of them goes (Linux: they are no longer down), so a new
   * tunnel of the same name starts afresh. Absent: nothing is kept.
   */
  forget?(interfaces: readonly string[]): Promise<void>;
  close(): Promise<void>;
}
