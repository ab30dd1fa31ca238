/**
 * RIB → FIB: what the agent wants installed, what the dataplane holds, and the
 * smallest batch of writes between the two. Pure bookkeeping around an
 * injected backend; no timers (the agent's shell debounces and calls flush).
 *
 * Start-up follows BIRD's kernel sync, scan → prune: dump the routes carrying
 * our tag, keep those equal to the desired ones, rewrite the ones that differ,
 * delete the rest ("stale", left by an earlier run), add what is missing.
 */
import { parseIp, formatIp } from '#lib/prefix';
import type { FibBackend, FibNextHop, FibOp, FibRoute, RouteOwner } from './types.js';

export interface ReconcileResult {
  /** Stale routes deleted. */
  removed: number;
  /** Desired routes written (missing, or present with other next hops). */
  added: number;
  /** Present and identical: left untouched. */
  kept: number;
}

/** Canonical text of a next-hop address, so "2001:DB8::1" and "2001:db8::1" compare equal. */
function canonicalAddress(a: string): string {
  const ip = parseIp(a);
  return ip ? formatIp(ip.bytes) : a;
}

/**
 * Next-hop addresses repeat across many routes (a few peers, many prefixes):
 * canonicalize each text once. Bounded, since the texts come from outside.
 */
class AddressCache {
  private readonly map = new Map<string, string>();
  /** Frozen next-hop lists found canonical: a list shared by 100 000 routes is checked once. */
  private readonly lists = new WeakSet<readonly FibNextHop[]>();

  /** Whether every address in `hops` is canonical already. */
  canonicalList(hops: readonly FibNextHop[]): boolean {
    if (this.lists.has(hops)) return true;
    for (const nh of hops) if (nh.address !== undefined && this.get(nh.address) !== nh.address) return false;
    // Only a list that cannot change may be remembered.
    if (Object.isFrozen(hops) && hops.every((nh) => Object.isFrozen(nh))) this.lists.add(hops);
    return true;
  }

  get(a: string): string {
    let c = this.map.get(a);
    if (c === undefined) {
      if (this.map.size >= 4096) this.map.clear();
      c = canonicalAddress(a);
      this.map.set(a, c);
    }
    return c;
  }
}

const sharedCache = new AddressCache();

/**
 * `route` with canonical next-hop addresses: the route itself when they are
 * already (the agent's and the kernel's are), else a copy. Routes are kept
 * as given, so a million of them cost no copies.
 */
function normalize(route: FibRoute, cache: AddressCache): FibRoute {
  if (cache.canonicalList(route.nexthops)) return route;
  const nexthops = route.nexthops.map((nh) => {
    const out: FibNextHop = {};
    if (nh.address !== undefined) out.address = cache.get(nh.address);
    if (nh.interface !== undefined) out.interface = nh.interface;
    return out;
  });
  return { prefix: route.prefix, nexthops };
}

/**
 * Ops per backend batch: a flush of 100 000 changes goes out in pieces, so
 * the ops, the backend's requests and its results exist for one piece at a
 * time, and each piece is computed from the newest desired state.
 */
const FLUSH_CHUNK = 8192;

/**
 * Whether the dataplane's `have` already does what `want` asks. Next hops are a
 * set (the kernel may list multipath members in another order). A wanted next
 * hop without an interface matches any interface: the kernel resolves one and
 * reports it.
 */
export function sameRoute(want: FibRoute, have: FibRoute): boolean {
  return sameNormalized(normalize(want, sharedCache), normalize(have, sharedCache));
}

/** sameRoute for routes whose addresses are already canonical. */
function sameNormalized(want: FibRoute, have: FibRoute): boolean {
  if (want.prefix !== have.prefix || want.nexthops.length !== have.nexthops.length) return false;
  if (want.nexthops.length === 1) {
    const w = want.nexthops[0]!;
    const h = have.nexthops[0]!;
    return w.address === h.address && (w.interface === undefined || w.interface === h.interface);
  }
  const used = new Array<boolean>(have.nexthops.length).fill(false);
  // Hops naming an interface pick first, so a wildcard cannot take the one they need.
  const ordered = [...want.nexthops].sort((a, b) => Number(a.interface === undefined) - Number(b.interface === undefined));
  for (const w of ordered) {
    let found = false;
    for (let i = 0; i < have.nexthops.length; i++) {
      const h = have.nexthops[i]!;
      if (used[i]) continue;
      if (w.address !== h.address) continue;
      if (w.interface !== undefined && w.interface !== h.interface) continue;
      used[i] = true;
      found = true;
      break;
    }
    if (!found) return false;
  }
  return true;
}

/** One prefix: what is wanted, what the dataplane holds, and whether it waits for a flush. */
interface Slot {
  readonly prefix: string;
  /** The tunnel's own route for the prefix (a host route to the peer), null: none. */
  tunnel: FibRoute | null;
  /** The learned route for the prefix, null: none. */
  learned: FibRoute | null;
  /** What is wanted in the dataplane: the tunnel's route wins over a learned one. */
  want: FibRoute | null;
  /** What this manager believes the dataplane holds (as last written or dumped). */
  have: FibRoute | null;
  /** In the queue: changed or failed since the last write. */
  queued: boolean;
  /** Why the last write for this prefix failed (the backend's words), null after a success. */
  error: string | null;
}

function newSlot(prefix: string): Slot {
  return { prefix, tunnel: null, learned: null, want: null, have: null, queued: false, error: null };
}

export interface FibCounters {
  add: number;
  replace: number;
  delete: number;
  failed: number;
  batches: number;
  batchErrors: number;
}

export class FibManager {
  /**
   * Per prefix, wanted and installed state together: a change costs one map
   * lookup, and the pending prefixes are a list of slots rather than a set of
   * strings to hash again. A slot goes when it holds nothing and waits for nothing.
   */
  private readonly slots = new Map<string, Slot>();
  /** Slots whose wanted and installed state may differ, in the order they changed. */
  private queue: Slot[] = [];
  private wantedCount = 0;
  private installedCount = 0;
  /** One write at a time: flush and reconcile both diff against what is installed. */
  private chain: Promise<unknown> = Promise.resolve();
  /** A flush on the chain that has not started yet. */
  private queuedFlush: Promise<void> | null = null;
  private readonly addresses = new AddressCache();
  /** "PREFIX: REASON" for each op that failed in the last flush or reconcile (retried by the next flush). */
  lastErrors: string[] = [];
  /** Writes since start: done per kind, failed ops, and backend batches (and those that failed as a whole). */
  readonly counters: FibCounters = { add: 0, replace: 0, delete: 0, failed: 0, batches: 0, batchErrors: 0 };

  constructor(private readonly backend: FibBackend) {}

  /**
   * `owner` wants `route` installed (replacing its earlier wish for the
   * prefix). A tunnel's route wins over a learned one for the same prefix;
   * the learned one waits and takes over when the tunnel's goes. The manager
   * keeps `route` itself when its addresses are canonical: the caller must
   * not change it afterwards.
   */
  set(route: FibRoute, owner: RouteOwner = 'learned'): void {
    let slot = this.slots.get(route.prefix);
    if (slot === undefined) {
      slot = newSlot(route.prefix);
      this.slots.set(route.prefix, slot);
    }
    const r = normalize(route, this.addresses);
    if (owner === 'tunnel') slot.tunnel = r;
    else slot.learned = r;
    this.wantChanged(slot);
  }

  /** `owner` wants nothing installed for `prefix` (another owner's wish stays). */
  delete(prefix: string, owner: RouteOwner = 'learned'): void {
    const slot = this.slots.get(prefix);
    // Neither wanted nor installed: nothing to undo.
    if (slot === undefined) return;
    if (owner === 'tunnel') slot.tunnel = null;
    else slot.learned = null;
    this.wantChanged(slot);
  }

  /** The route wanted for `prefix` (the object given to set), if any. */
  wanted(prefix: string): FibRoute | undefined {
    return this.slots.get(prefix)?.want ?? undefined;
  }

  /** Whose route is wanted for `prefix`: the tunnel's wins; null when none. */
  owner(prefix: string): RouteOwner | null {
    const slot = this.slots.get(prefix);
    if (slot === undefined) return null;
    return slot.tunnel !== null ? 'tunnel' : slot.learned !== null ? 'learned' : null;
  }

  /** Why `prefix` is not installed as wanted: the last write's error, or null. */
  error(prefix: string): string | null {
    return this.slots.get(prefix)?.error ?? null;
  }

  /** Prefixes with a wanted route. */
  *wantedPrefixes(): IterableIterator<string> {
    for (const slot of this.slots.values()) if (slot.want !== null) yield slot.prefix;
  }

  /** Whether the dataplane holds a route for `prefix` that this manager wrote or adopted. */
  installed(prefix: string): boolean {
    return (this.slots.get(prefix)?.have ?? null) !== null;
  }

  /** Routes in the dataplane as far as this manager knows. */
  get size(): number {
    return this.installedCount;
  }

  /** Writes the next flush would send. */
  pending(): number {
    let n = 0;
    for (const slot of this.queue) if (opFor(slot)) n++;
    return n;
  }

  /**
   * Sends every pending change, in backend batches of up to FLUSH_CHUNK ops.
   * Repeated changes of a prefix since the last flush collapse into the last
   * one; a replace equal to what is installed is skipped. Failed ops stay
   * pending for the next flush; changes made while a batch is in flight wait
   * for the next flush too, unless a later batch of this one covers their prefix.
   */
  flush(): Promise<void> {
    // A flush already waiting for its turn will see this caller's changes: join it.
    if (this.queuedFlush !== null) return this.queuedFlush;
    const run = this.exclusive(async () => {
      this.queuedFlush = null;
      // This flush takes the queue; changes and failures from now on collect in a new one.
      const todo = this.queue;
      this.queue = [];
      for (const slot of todo) slot.queued = false;
      const errors: string[] = [];
      let wrote = false;
      for (let i = 0; i < todo.length; ) {
        const ops: FibOp[] = [];
        const of: Slot[] = [];
        for (; i < todo.length && ops.length < FLUSH_CHUNK; i++) {
          const slot = todo[i]!;
          const op = opFor(slot);
          if (op === null) this.forgetIfEmpty(slot);
          else {
            ops.push(op);
            of.push(slot);
          }
        }
        if (ops.length === 0) continue;
        wrote = true;
        try {
          await this.apply(ops, of, errors);
        } catch (err) {
          // apply() put its own batch back; the pieces not sent stay pending too.
          for (let j = i; j < todo.length; j++) this.enqueue(todo[j]!);
          throw err;
        }
      }
      if (wrote) this.lastErrors = errors;
    });
    this.queuedFlush = run;
    return run;
  }

  /**
   * Takes what the dataplane holds with our tag as installed, and writes
   * nothing: routes left by an earlier run stay (stale) until reconcile()
   * sweeps them, and a wanted route equal to one of them is not rewritten.
   * Run once at start, before the first flush (RFC 4724 §4.1: the
   * forwarding state is kept across the restart). Returns how many there are.
   */
  adopt(): Promise<number> {
    return this.exclusive(async () => {
      const dumped = await this.backend.dump();
      for (const r of dumped) {
        let slot = this.slots.get(r.prefix);
        if (slot === undefined) {
          slot = newSlot(r.prefix);
          this.slots.set(r.prefix, slot);
        }
        const have = normalize(r, this.addresses);
        this.setHave(slot, slot.want !== null && sameNormalized(slot.want, have) ? slot.want : have);
      }
      return dumped.length;
    });
  }

  /**
   * Aligns the dataplane with the desired routes after a (re)start: routes with
   * our tag that nobody wants go, identical ones stay untouched.
   */
  reconcile(): Promise<ReconcileResult> {
    return this.exclusive(async () => {
      const dumped = await this.backend.dump();
      for (const slot of this.slots.values()) slot.have = null;
      this.installedCount = 0;
      const ops: FibOp[] = [];
      const of: Slot[] = [];
      let removed = 0;
      // Wanted prefixes whose installed route is the wanted one (a prefix the dump lists twice counts once).
      let kept = 0;
      for (const r of dumped) {
        const have = normalize(r, this.addresses);
        let slot = this.slots.get(r.prefix);
        if (slot === undefined) {
          slot = newSlot(r.prefix);
          this.slots.set(r.prefix, slot);
        }
        const want = slot.want;
        const before = slot.have;
        // What is installed is what is wanted: one object serves as both.
        const now = want !== null && sameNormalized(want, have) ? want : have;
        this.setHave(slot, now);
        if (want === null) {
          ops.push({ op: 'delete', prefix: r.prefix, previous: now });
          of.push(slot);
          removed++;
        } else {
          kept += Number(now === want) - Number(before === want);
        }
      }
      let added = 0;
      // Only when some wanted route is missing or different does finding them take a pass over all.
      if (kept < this.wantedCount) {
        for (const slot of this.slots.values()) {
          if (slot.want === null || slot.have === slot.want) continue;
          const op = opFor(slot);
          if (op === null) continue;
          ops.push(op);
          of.push(slot);
          added++;
        }
      }
      // Everything is accounted for by these ops; failures re-enter the queue.
      for (const slot of this.queue) slot.queued = false;
      this.queue = [];
      for (const slot of this.slots.values()) this.forgetIfEmpty(slot);
      const errors: string[] = [];
      for (let i = 0; i < ops.length; i += FLUSH_CHUNK) {
        try {
          await this.apply(ops.slice(i, i + FLUSH_CHUNK), of.slice(i, i + FLUSH_CHUNK), errors);
        } catch (err) {
          for (const slot of of.slice(i + FLUSH_CHUNK)) this.enqueue(slot);
          throw err;
        }
      }
      this.lastErrors = errors;
      return { removed, added, kept };
    });
  }

  /** Runs `fn` between writes (none of flush or reconcile is in progress meanwhile). */
  between<T>(fn: () => Promise<T>): Promise<T> {
    return this.exclusive(fn);
  }

  /**
   * The dataplane lost its routes (VPP restarted): nothing is installed any
   * more, and the next flush writes every desired route again.
   */
  dataplaneLost(): void {
    this.installedCount = 0;
    for (const slot of this.slots.values()) {
      slot.have = null;
      if (slot.want !== null) this.enqueue(slot);
      else this.forgetIfEmpty(slot);
    }
  }

  private wantChanged(slot: Slot): void {
    const want = slot.tunnel ?? slot.learned;
    if (want === slot.want) return;
    this.wantedCount += Number(want !== null) - Number(slot.want !== null);
    slot.want = want;
    this.enqueue(slot);
  }

  private enqueue(slot: Slot): void {
    if (slot.queued) return;
    slot.queued = true;
    this.queue.push(slot);
  }

  private setHave(slot: Slot, route: FibRoute | null): void {
    this.installedCount += Number(route !== null) - Number(slot.have !== null);
    slot.have = route;
  }

  /** Drops a slot that holds nothing and waits for nothing (a withdrawn prefix). */
  private forgetIfEmpty(slot: Slot): void {
    if (slot.want === null && slot.have === null && !slot.queued && this.slots.get(slot.prefix) === slot) {
      this.slots.delete(slot.prefix);
    }
  }

  /** One backend batch (`of[i]` is the slot of `ops[i]`); failures stay pending and are appended to `errors` as "PREFIX: REASON". */
  private async apply(ops: FibOp[], of: readonly Slot[], errors: string[]): Promise<void> {
    let failures: { prefix: string; error: string }[];
    this.counters.batches++;
    try {
      failures = await this.backend.apply(ops);
    } catch (err) {
      this.counters.batchErrors++;
      // Nothing is known to have happened: all of it stays pending.
      for (const slot of of) this.enqueue(slot);
      this.lastErrors = [`batch of ${ops.length}: ${err instanceof Error ? err.message : String(err)}`];
      throw err;
    }
    const failed = new Map<string, string>();
    for (const f of failures) {
      failed.set(f.prefix, f.error);
      errors.push(`${f.prefix}: ${f.error}`);
    }
    for (let k = 0; k < ops.length; k++) {
      const op = ops[k]!;
      const slot = of[k]!;
      const error = failed.size > 0 ? failed.get(slot.prefix) : undefined;
      if (error !== undefined) {
        slot.error = error;
        this.counters.failed++;
        this.enqueue(slot);
        continue;
      }
      this.counters[op.op]++;
      slot.error = null;
      this.setHave(slot, op.op === 'delete' ? null : op.route);
      this.forgetIfEmpty(slot);
    }
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }
}

/** The write that brings a slot from installed to wanted, or null when none is needed. */
function opFor(slot: Slot): FibOp | null {
  const { want, have } = slot;
  if (want !== null) {
    if (have === null) return { op: 'add', route: want };
    return sameNormalized(want, have) ? null : { op: 'replace', route: want, previous: have };
  }
  return have !== null ? { op: 'delete', prefix: slot.prefix, previous: have } : null;
}
