/**
 * The routes zebra streams over FPM, as a table with resync semantics. Pure:
 * time comes from the injected Clock, bytes never reach it (the listener
 * decodes), and what changes goes to subscribers as add / replace / delete of
 * resolved routes (next-hop groups expanded to their next hops).
 *
 * Keys are (table, prefix); the prefix text carries the family. The table
 * mirrors zebra's FIB: one selected route per key. A route of a protocol the
 * caller did not ask for (default: OSPF, 188) is not kept, and it replaces
 * whatever the key had, as in zebra, where it won the prefix.
 *
 * Resync. zebra resends its whole FIB on every connection and says nothing
 * when the resend is over, so:
 *  - connect: what subscribers have been told stays (nothing flaps) and is
 *    marked stale; routes and next hops of the new connection start empty
 *    (zebra renumbers its next-hop groups when it restarts).
 *  - a route the new connection sends replaces its stale copy (no change is
 *    emitted when it resolves to the same thing); one it deletes, or gives to
 *    another protocol, goes at once.
 *  - the resend of a family (IPv4, IPv6) is taken to be over once a route of
 *    a wanted protocol and that family has come on the new connection and
 *    none has for `settleMs` (default 3 s) since; then the family's stale
 *    routes not sent again are withdrawn. A family with nothing stale has
 *    nothing to wait for. Whatever is still stale `maxResyncMs` (default 60 s)
 *    after the connect is withdrawn then (zebra came back without those
 *    routes, e.g. OSPF lost its neighbours meanwhile).
 *    Why not "quiet for a second after the connect": when zebra restarts
 *    (watchfrr restarts ospfd with it; a restarted zebra gets nothing from an
 *    ospfd that kept running), its resend holds only connected routes, and
 *    the OSPF routes follow when ospfd's adjacencies are up again: 2.2 s
 *    (OSPFv3) and 2.5 s (OSPFv2) after the resend with 1 s hellos (FRR 8.4,
 *    measured), later with slower timers. The families converge apart
 *    (ospfd and ospf6d), hence one clock each. During the resend itself zebra
 *    pauses 1 s when its output buffer fills (fpm_rib_send re-arms a 1 s
 *    timer), so the quiet time must be longer than that. The limit: a stale
 *    route that comes back more than settleMs after the last one of its
 *    family (an adjacency that forms much later than the first) is
 *    withdrawn, then added again.
 *  - disconnect: nothing is withdrawn (zebra restarting must not black-hole
 *    traffic) until `holdMs` (default 30 s) passes without a new connection;
 *    then everything is.
 */
import type { Clock, TimerHandle } from '#lib/clock';
import type { Family } from '#lib/prefix';
import { RTN_BLACKHOLE, RTPROT_OSPF, type FpmMessage, type FpmNexthop, type FpmNexthopObject, type FpmRoute } from './fpm-codec.js';

export const FPM_SETTLE_MS = 3_000;
export const FPM_MAX_RESYNC_MS = 60_000;
export const FPM_HOLD_MS = 30_000;
/** Groups of groups are not made by zebra; the bound only stops a loop in what it is sent. */
const MAX_NEXTHOP_DEPTH = 8;

export interface FpmTableOptions {
  clock: Clock;
  /** rtm_protocol values passed on; default {188} (OSPFv2 and OSPFv3). */
  protocols?: ReadonlySet<number>;
  settleMs?: number;
  maxResyncMs?: number;
  holdMs?: number;
}

/**
 * One change for subscribers. `route` is resolved: its next hops are the
 * group's members (weights included) when zebra sent a group, and `nhId` is
 * never set. For a delete it is the route as last announced.
 */
export interface FpmRouteChange {
  op: 'add' | 'replace' | 'delete';
  route: FpmRoute;
}

/**
 * idle: no routes (never connected, or the hold ran out); resync: connected,
 * zebra is resending; synced: connected, resend over; holding: disconnected,
 * routes kept until the hold runs out or zebra reconnects.
 */
export type FpmTablePhase = 'idle' | 'resync' | 'synced' | 'holding';

export interface FpmTableCounters {
  connects: number;
  disconnects: number;
  /** Netlink messages applied (a frame holds one or two). */
  messages: number;
  routeMessages: number;
  nexthopMessages: number;
  unknownMessages: number;
  /** Frames whose payload could not be read (counted by the reader through noteDecodeError). */
  decodeErrors: number;
  resyncs: number;
  /** Routes withdrawn at the end of a resync because zebra did not send them again. */
  staleWithdrawn: number;
  holdExpiries: number;
}

export interface FpmTableState {
  phase: FpmTablePhase;
  connected: boolean;
  /** Wall-clock time of the last connect / disconnect, or null. */
  lastConnect: Date | null;
  lastDisconnect: Date | null;
  /** Routes of the wanted protocols sent on the current (or last) connection. */
  routes: number;
  /** Nexthop objects known on that connection. */
  nexthops: number;
  /** Routes of the previous connection not yet sent again (resync only). */
  stale: number;
  /** Routes subscribers have been told about. */
  announced: number;
  /** Routes naming a next-hop group that cannot be resolved (not announced). */
  unresolved: number;
}

export type FpmTableEvent =
  | { kind: 'resync-done'; reason: 'settled' | 'max-resync'; ms: number; routes: number; withdrawn: number; unresolved: number }
  | { kind: 'hold-expired'; withdrawn: number };

function routeKey(table: number, prefix: string): string {
  return `${table} ${prefix}`;
}

function nexthopOrder(a: FpmNexthop, b: FpmNexthop): number {
  const x = a.address ?? '';
  const y = b.address ?? '';
  if (x !== y) return x < y ? -1 : 1;
  return (a.ifindex ?? 0) - (b.ifindex ?? 0) || (a.weight ?? 0) - (b.weight ?? 0);
}

/** Equal for forwarding: next hops compared as a set (they come sorted). */
export function sameFpmRoute(a: FpmRoute, b: FpmRoute): boolean {
  if (a.prefix !== b.prefix || a.table !== b.table || a.protocol !== b.protocol || a.type !== b.type || a.metric !== b.metric) return false;
  if (a.nexthops.length !== b.nexthops.length) return false;
  for (let i = 0; i < a.nexthops.length; i++) {
    const x = a.nexthops[i]!;
    const y = b.nexthops[i]!;
    if (x.address !== y.address || x.ifindex !== y.ifindex || x.weight !== y.weight) return false;
  }
  return true;
}

export class FpmTable {
  readonly counters: FpmTableCounters = {
    connects: 0,
    disconnects: 0,
    messages: 0,
    routeMessages: 0,
    nexthopMessages: 0,
    unknownMessages: 0,
    decodeErrors: 0,
    resyncs: 0,
    staleWithdrawn: 0,
    holdExpiries: 0,
  };

  private readonly clock: Clock;
  private readonly protocols: ReadonlySet<number>;
  private readonly settleMs: number;
  private readonly maxResyncMs: number;
  private readonly holdMs: number;

  private phase: FpmTablePhase = 'idle';
  private lastConnect: Date | null = null;
  private lastDisconnect: Date | null = null;
  private connectAt = 0;
  /** When a route of a wanted protocol last came on this connection, per family. */
  private readonly lastWantedAt = new Map<Family, number>();
  /** Stale routes withdrawn so far in this resync. */
  private resyncWithdrawn = 0;

  /** Routes of the wanted protocols on the current connection, as sent. */
  private readonly fresh = new Map<string, FpmRoute>();
  /** Route keys by the nexthop object they name. */
  private readonly routesByNh = new Map<number, Set<string>>();
  private readonly nexthops = new Map<number, FpmNexthopObject>();
  /** Group ids by member id, to find the routes a member's change reaches. */
  private readonly groupsOf = new Map<number, Set<number>>();
  /** Resolved routes of the previous connection, until sent again or the resync ends. */
  private stale = new Map<string, FpmRoute>();
  /** What subscribers have been told, resolved. */
  private readonly announced = new Map<string, FpmRoute>();
  private readonly touched = new Set<string>();

  private resyncTimer: TimerHandle | null = null;
  private maxTimer: TimerHandle | null = null;
  private holdTimer: TimerHandle | null = null;

  private readonly subscribers = new Set<(changes: readonly FpmRouteChange[]) => void>();
  private readonly watchers = new Set<(e: FpmTableEvent) => void>();

  constructor(opts: FpmTableOptions) {
    this.clock = opts.clock;
    this.protocols = opts.protocols ?? new Set([RTPROT_OSPF]);
    this.settleMs = opts.settleMs ?? FPM_SETTLE_MS;
    this.maxResyncMs = opts.maxResyncMs ?? FPM_MAX_RESYNC_MS;
    this.holdMs = opts.holdMs ?? FPM_HOLD_MS;
  }

  /** Changes, one batch per applied frame group or timer; subscribers must not throw. Returns unsubscribe. */
  subscribe(fn: (changes: readonly FpmRouteChange[]) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  /** Resync and hold events, for logs. Returns unsubscribe. */
  watch(fn: (e: FpmTableEvent) => void): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }

  /** The routes subscribers have been told about (a late subscriber starts here). */
  routes(): FpmRoute[] {
    return [...this.announced.values()];
  }

  get connected(): boolean {
    return this.phase === 'resync' || this.phase === 'synced';
  }

  state(): FpmTableState {
    let unresolved = 0;
    for (const r of this.fresh.values()) if (r.nhId !== undefined && this.resolve(r) === null) unresolved++;
    return {
      phase: this.phase,
      connected: this.connected,
      lastConnect: this.lastConnect,
      lastDisconnect: this.lastDisconnect,
      routes: this.fresh.size,
      nexthops: this.nexthops.size,
      stale: this.stale.size,
      announced: this.announced.size,
      unresolved,
    };
  }

  /** zebra connected (a connection replacing a live one counts as a disconnect first). */
  connect(): void {
    if (this.connected) this.disconnect();
    this.holdTimer?.cancel();
    this.holdTimer = null;
    this.stale = new Map(this.announced);
    this.fresh.clear();
    this.routesByNh.clear();
    this.nexthops.clear();
    this.groupsOf.clear();
    this.phase = 'resync';
    this.counters.connects++;
    this.lastConnect = this.clock.wallNow();
    this.connectAt = this.clock.now();
    this.lastWantedAt.clear();
    this.resyncWithdrawn = 0;
    this.resyncTimer = this.clock.setTimeout(() => this.checkResync(), this.settleMs);
    this.maxTimer = this.clock.setTimeout(() => this.endResync('max-resync'), this.maxResyncMs);
  }

  /** The connection ended: routes stay until the hold runs out. */
  disconnect(): void {
    if (!this.connected) return;
    this.cancelResyncTimers();
    this.phase = 'holding';
    this.counters.disconnects++;
    this.lastDisconnect = this.clock.wallNow();
    this.holdTimer = this.clock.setTimeout(() => this.expireHold(), this.holdMs);
  }

  /** The messages of one frame (or of several read together): changes are emitted once, net. */
  apply(messages: readonly FpmMessage[]): void {
    if (!this.connected) throw new Error('FpmTable.apply without a connection');
    for (const m of messages) {
      this.counters.messages++;
      if (m.kind === 'route') {
        this.counters.routeMessages++;
        this.applyRoute(m.op, m.route);
      } else if (m.kind === 'nexthop') {
        this.counters.nexthopMessages++;
        this.applyNexthop(m.op, m.nexthop);
      } else {
        this.counters.unknownMessages++;
      }
    }
    this.flush();
  }

  /** A frame the reader could not decode. */
  noteDecodeError(): void {
    this.counters.decodeErrors++;
  }

  /** Cancels the timers; emits nothing (the agent is stopping). */
  close(): void {
    this.cancelResyncTimers();
    this.holdTimer?.cancel();
    this.holdTimer = null;
  }

  private applyRoute(op: 'add' | 'delete', route: FpmRoute): void {
    const key = routeKey(route.table, route.prefix);
    const wanted = this.protocols.has(route.protocol);
    if (wanted) this.lastWantedAt.set(route.family, this.clock.now());
    this.forgetFresh(key);
    if (op === 'add' && wanted) {
      this.fresh.set(key, route);
      if (route.nhId !== undefined) {
        let keys = this.routesByNh.get(route.nhId);
        if (!keys) this.routesByNh.set(route.nhId, (keys = new Set()));
        keys.add(key);
      }
    } else {
      // Deleted, or won by a route of another protocol: the stale copy goes too.
      this.stale.delete(key);
    }
    this.touched.add(key);
  }

  private forgetFresh(key: string): void {
    const old = this.fresh.get(key);
    if (!old) return;
    this.fresh.delete(key);
    if (old.nhId !== undefined) {
      const keys = this.routesByNh.get(old.nhId);
      keys?.delete(key);
      if (keys?.size === 0) this.routesByNh.delete(old.nhId);
    }
  }

  private applyNexthop(op: 'add' | 'delete', nh: FpmNexthopObject): void {
    const old = this.nexthops.get(nh.id);
    for (const m of old?.group ?? []) {
      const groups = this.groupsOf.get(m.id);
      groups?.delete(nh.id);
      if (groups?.size === 0) this.groupsOf.delete(m.id);
    }
    if (op === 'add') {
      this.nexthops.set(nh.id, nh);
      for (const m of nh.group ?? []) {
        let groups = this.groupsOf.get(m.id);
        if (!groups) this.groupsOf.set(m.id, (groups = new Set()));
        groups.add(nh.id);
      }
    } else {
      this.nexthops.delete(nh.id);
    }
    this.touchNexthop(nh.id, 0);
  }

  /** Marks the routes naming `id`, or a group that holds it, to be looked at again. */
  private touchNexthop(id: number, depth: number): void {
    for (const key of this.routesByNh.get(id) ?? []) this.touched.add(key);
    if (depth >= MAX_NEXTHOP_DEPTH) return;
    for (const group of this.groupsOf.get(id) ?? []) this.touchNexthop(group, depth + 1);
  }

  /** The route with its group expanded, or null while a next hop it names is unknown. */
  private resolve(route: FpmRoute): FpmRoute | null {
    const out: FpmRoute = { ...route, nexthops: [] };
    delete out.nhId;
    if (route.nhId === undefined) {
      out.nexthops = [...route.nexthops].sort(nexthopOrder);
      return out;
    }
    const acc = { nexthops: [] as FpmNexthop[], blackhole: false };
    if (!this.expand(route.nhId, undefined, 0, acc)) return null;
    if (acc.blackhole && acc.nexthops.length === 0) out.type = RTN_BLACKHOLE;
    out.nexthops = acc.nexthops.sort(nexthopOrder);
    return out;
  }

  private expand(id: number, weight: number | undefined, depth: number, acc: { nexthops: FpmNexthop[]; blackhole: boolean }): boolean {
    const nh = this.nexthops.get(id);
    if (!nh || depth > MAX_NEXTHOP_DEPTH) return false;
    if (nh.group) {
      for (const m of nh.group) if (!this.expand(m.id, (weight ?? 1) * m.weight, depth + 1, acc)) return false;
      return true;
    }
    if (nh.blackhole) {
      acc.blackhole = true;
      return true;
    }
    const hop: FpmNexthop = {};
    if (nh.address !== undefined) hop.address = nh.address;
    if (nh.ifindex !== undefined) hop.ifindex = nh.ifindex;
    if (weight !== undefined) hop.weight = weight;
    acc.nexthops.push(hop);
    return true;
  }

  /** What a key shows: the route of this connection when it resolves, else its stale copy. */
  private visible(key: string): FpmRoute | null {
    const r = this.fresh.get(key);
    const resolved = r ? this.resolve(r) : null;
    return resolved ?? this.stale.get(key) ?? null;
  }

  private flush(): FpmRouteChange[] {
    const changes: FpmRouteChange[] = [];
    for (const key of this.touched) {
      const now = this.visible(key);
      const before = this.announced.get(key);
      if (now === null) {
        if (before) {
          this.announced.delete(key);
          changes.push({ op: 'delete', route: before });
        }
      } else if (!before) {
        this.announced.set(key, now);
        changes.push({ op: 'add', route: now });
      } else if (!sameFpmRoute(before, now)) {
        this.announced.set(key, now);
        changes.push({ op: 'replace', route: now });
      }
    }
    this.touched.clear();
    if (changes.length > 0) for (const fn of this.subscribers) fn(changes);
    return changes;
  }

  /** Ends the resend of each family that has gone quiet (see the top of the file). */
  private checkResync(): void {
    this.resyncTimer = null;
    const now = this.clock.now();
    let next = this.settleMs;
    for (const family of [4, 6] as const) {
      const since = this.lastWantedAt.get(family);
      if (since === undefined || !this.hasStale(family)) continue;
      const quiet = now - since;
      if (quiet >= this.settleMs) this.withdrawStale(family);
      else next = Math.min(next, this.settleMs - quiet);
    }
    if (this.stale.size === 0) this.endResync('settled');
    else this.resyncTimer = this.clock.setTimeout(() => this.checkResync(), next);
  }

  private hasStale(family: Family): boolean {
    for (const r of this.stale.values()) if (r.family === family) return true;
    return false;
  }

  private withdrawStale(family: Family | null): void {
    for (const [key, r] of this.stale) {
      if (family !== null && r.family !== family) continue;
      this.stale.delete(key);
      this.touched.add(key);
    }
    this.resyncWithdrawn += this.flush().length;
  }

  private endResync(reason: 'settled' | 'max-resync'): void {
    if (this.phase !== 'resync') return;
    this.cancelResyncTimers();
    if (this.stale.size > 0) this.withdrawStale(null);
    this.phase = 'synced';
    this.counters.resyncs++;
    this.counters.staleWithdrawn += this.resyncWithdrawn;
    const s = this.state();
    this.emit({
      kind: 'resync-done',
      reason,
      ms: this.clock.now() - this.connectAt,
      routes: s.announced,
      withdrawn: this.resyncWithdrawn,
      unresolved: s.unresolved,
    });
  }

  private expireHold(): void {
    this.holdTimer = null;
    if (this.phase !== 'holding') return;
    this.phase = 'idle';
    this.counters.holdExpiries++;
    this.fresh.clear();
    this.routesByNh.clear();
    this.nexthops.clear();
    this.groupsOf.clear();
    this.stale = new Map();
    for (const key of this.announced.keys()) this.touched.add(key);
    const withdrawn = this.flush().length;
    this.emit({ kind: 'hold-expired', withdrawn });
  }

  private cancelResyncTimers(): void {
    this.resyncTimer?.cancel();
    this.maxTimer?.cancel();
    this.resyncTimer = null;
    this.maxTimer = null;
  }

  private emit(e: FpmTableEvent): void {
    for (const fn of this.watchers) fn(e);
  }
}
