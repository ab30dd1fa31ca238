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
import { IntList } from '#lib/int-list';
import { NO_PREFIX, PrefixTable } from '#lib/prefix-table';
import { BoundedCache } from '#lib/bounded-cache';
import { batchOp, OP_ADD, OP_DELETE, OP_NAMES, OP_REPLACE, type FibBackend, type FibBatch, type FibLists, type FibNextHop, type FibRoute, type RouteOwner } from './types.js';
import { errorText } from '#lib/error-text';

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
  private readonly map = new BoundedCache<string, string>(4096);
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
    return this.map.get(a) ?? this.map.set(a, canonicalAddress(a));
  }
}

const sharedCache = new AddressCache();

/**
 * `hops` with canonical addresses: the list itself when they are already (the
 * agent's and the kernel's are), else a copy.
 */
function canonicalHops(hops: readonly FibNextHop[], cache: AddressCache): readonly FibNextHop[] {
  if (cache.canonicalList(hops)) return hops;
  return hops.map((nh) => {
    const out: FibNextHop = {};
    if (nh.address !== undefined) out.address = cache.get(nh.address);
    if (nh.interface !== undefined) out.interface = nh.interface;
    return out;
  });
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
  return want.prefix === have.prefix && sameHops(canonicalHops(want.nexthops, sharedCache), canonicalHops(have.nexthops, sharedCache));
}

/** sameRoute's next-hop comparison, for lists whose addresses are already canonical. */
function sameHops(want: readonly FibNextHop[], have: readonly FibNextHop[]): boolean {
  if (want.length !== have.length) return false;
  if (want.length === 1) {
    const w = want[0]!;
    const h = have[0]!;
    return w.address === h.address && (w.interface === undefined || w.interface === h.interface);
  }
  const used = new Array<boolean>(have.length).fill(false);
  // Hops naming an interface pick first, so a wildcard cannot take the one they need.
  const ordered = [...want].sort((a, b) => Number(a.interface === undefined) - Number(b.interface === undefined));
  for (const w of ordered) {
    let found = false;
    for (let i = 0; i < have.length; i++) {
      const h = have[i]!;
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


/** No next-hop list: nothing wanted by that owner, or nothing installed. */
const NONE = -1;
/** HopLists' identity key for "no backup". */
const NO_BACKUP: readonly FibNextHop[] = Object.freeze([]);

/**
 * Next-hop lists by number. A full table has a million routes but a handful
 * of distinct next-hop lists (one per neighbor and family, a few ECMP sets),
 * so a route refers to its list by a small number instead of holding a
 * route object of its own. A list is kept while some slot refers to it
 * (wanted by an owner, installed, or in a write in flight).
 */
class HopLists implements FibLists {
  private lists: (readonly FibNextHop[] | null)[] = [];
  /** Per number, the backup next hops (FibRoute.backup) that are part of the entry; null: none. */
  private backups: (readonly FibNextHop[] | null)[] = [];
  private refs: number[] = [];
  private keys: string[] = [];
  private readonly byKey = new Map<string, number>();
  /**
   * The caller's own list objects, by next hops then backup (NO_BACKUP for
   * none): the agent passes one list per neighbor a million times, so an
   * entry is found by identity without building its key.
   */
  private readonly byLists = new Map<readonly FibNextHop[], Map<readonly FibNextHop[], number>>();
  /** Per number, the (next hops, backup) list objects byLists knows it by, in pairs (usually one pair). */
  private remembered: (readonly FibNextHop[])[][] = [];
  private readonly free: number[] = [];

  constructor(private readonly addresses: AddressCache) {}

  /**
   * The number of `hops` with `backup` (canonical addresses), with one
   * reference taken. `remember`: the caller hands these very lists again (a
   * neighbor's next hops), so they are found by identity next time; not for
   * dumped routes, each of which has its own list.
   */
  intern(hops: readonly FibNextHop[], remember = true, backup: readonly FibNextHop[] | null = null): number {
    const b = backup ?? NO_BACKUP;
    let id = this.byLists.get(hops)?.get(b);
    if (id === undefined) {
      const canonical = canonicalHops(hops, this.addresses);
      const canonicalBackup = backup === null ? null : canonicalHops(backup, this.addresses);
      const key = canonicalBackup === null ? hopsKey(canonical) : `${hopsKey(canonical)}|${hopsKey(canonicalBackup)}`;
      id = this.byKey.get(key);
      if (id === undefined) {
        id = this.free.pop() ?? this.lists.length;
        this.lists[id] = canonical;
        this.backups[id] = canonicalBackup;
        this.refs[id] = 0;
        this.keys[id] = key;
        this.byKey.set(key, id);
      }
      // Only lists seen canonical as they are may be found by identity (a copy was made otherwise).
      if (remember && canonical === hops && canonicalBackup === backup && this.byLists.size < 65_536) {
        let m = this.byLists.get(hops);
        if (m === undefined) this.byLists.set(hops, (m = new Map()));
        m.set(b, id);
        (this.remembered[id] ??= []).push(hops, b);
      }
    }
    this.refs[id]!++;
    return id;
  }

  retain(id: number): void {
    if (id !== NONE) this.refs[id]!++;
  }

  release(id: number): void {
    if (id === NONE) return;
    if (--this.refs[id]! > 0) return;
    this.byKey.delete(this.keys[id]!);
    const remembered = this.remembered[id] ?? [];
    for (let i = 0; i + 1 < remembered.length; i += 2) {
      const m = this.byLists.get(remembered[i]!);
      m?.delete(remembered[i + 1]!);
      if (m !== undefined && m.size === 0) this.byLists.delete(remembered[i]!);
    }
    this.remembered[id] = [];
    this.backups[id] = null;
    this.lists[id] = null;
    this.keys[id] = '';
    this.free.push(id);
  }

  get(id: number): readonly FibNextHop[] {
    return this.lists[id]!;
  }

  hops(id: number): readonly FibNextHop[] {
    return this.lists[id]!;
  }

  backup(id: number): readonly FibNextHop[] | null {
    return this.backups[id] ?? null;
  }

  /** Whether two entries differ only in what sameHops forgives (order, an open interface): same backup key. */
  sameBackup(a: number, b: number): boolean {
    const x = this.backups[a] ?? null;
    const y = this.backups[b] ?? null;
    if (x === null || y === null) return x === y;
    return hopsKey(x) === hopsKey(y);
  }

  get size(): number {
    return this.byKey.size;
  }
}

function hopsKey(hops: readonly FibNextHop[]): string {
  let k = '';
  for (const nh of hops) k += `${nh.address ?? ''}%${nh.interface ?? ''},`;
  return k;
}

/** Growable Int32Array column. */
function grow32(a: Int32Array, n: number): Int32Array<ArrayBuffer> {
  const out = new Int32Array(n).fill(NONE);
  out.set(a);
  return out;
}

/** Growable Uint8Array flag column (0 where nothing was written). */
function grow8(a: Uint8Array, n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  out.set(a);
  return out;
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
   * A prefix's slot is its number in the prefix table (shared with the RIB
   * when the agent passes its table); per slot, columns of numbers: the
   * next-hop list each owner wants, the one installed, whether it waits for
   * a flush, whether this manager holds the number. No object and no map
   * entry per prefix: a million routes cost 14 bytes of columns each.
   */
  private held = new Uint8Array(1024);
  private heldCount = 0;
  /**
   * The tunnels' own routes (host routes to the peers, pins), which win over
   * learned ones: a handful per neighbor, so a map by slot, not a column as
   * long as the full table (4 MB at 1 M prefixes).
   */
  private readonly tunnel = new Map<number, number>();
  private learned = new Int32Array(1024).fill(NONE);
  /** What this manager believes the dataplane holds (as last written or dumped). */
  private have = new Int32Array(1024).fill(NONE);
  /** In the queue: changed or failed since the last write. */
  private queued = new Uint8Array(1024);
  /** 1: written at the next flush even when wanted and installed are equal (rewriteThrough). */
  private rewrite = new Uint8Array(1024);
  /** Tunnels whose failover asked for a rewrite of their routes, done when they are back (restore). */
  private readonly rewriteAtRestore = new Set<string>();
  /** Why the last write for a slot failed (the backend's words); absent after a success. */
  private readonly errors = new Map<number, string>();
  /** Slots whose wanted and installed state may differ, in the order they changed. */
  private queue = new IntList();
  private wantedCount = 0;
  private installedCount = 0;
  /** One write at a time: flush and reconcile both diff against what is installed. */
  private chain: Promise<unknown> = Promise.resolve();
  /** A flush on the chain that has not started yet. */
  private queuedFlush: Promise<void> | null = null;
  private readonly hops = new HopLists(new AddressCache());
  /** Batches done with, their arrays reused by the next flush's. */
  private readonly spare: Batch[] = [];
  /** "PREFIX: REASON" for each op that failed in the last flush or reconcile (retried by the next flush). */
  lastErrors: string[] = [];
  /** Writes since start: done per kind, failed ops, and backend batches (and those that failed as a whole). */
  readonly counters: FibCounters = { add: 0, replace: 0, delete: 0, failed: 0, batches: 0, batchErrors: 0 };

  constructor(
    private readonly backend: FibBackend,
    /** Prefix numbers; the manager holds one reference per slot in use. */
    private readonly prefixes: PrefixTable = new PrefixTable(),
  ) {}

  /**
   * `owner` wants `route` installed (replacing its earlier wish for the
   * prefix). A tunnel's route wins over a learned one for the same prefix;
   * the learned one waits and takes over when the tunnel's goes. The manager
   * keeps `route.nexthops` itself when its addresses are canonical: the
   * caller must not change it afterwards. `hint`: the prefix's number in the
   * shared prefix table, if the caller knows it (LocRibChange.id).
   */
  set(route: FibRoute, owner: RouteOwner = 'learned', hint?: number): void {
    this.setHops(route.prefix, route.nexthops, route.backup ?? null, owner, hint);
  }

  /**
   * set() without a route object: the agent calls it per Loc-RIB change with
   * a neighbor's shared next-hop list (kept as given, as set() keeps
   * `route.nexthops`) and the prefix's number as `hint`.
   */
  setHops(prefix: string, nexthops: readonly FibNextHop[], backup: readonly FibNextHop[] | null, owner: RouteOwner = 'learned', hint?: number): void {
    const slot = this.slotOf(prefix, hint);
    const before = this.wantOf(slot);
    const id = this.hops.intern(nexthops, true, backup);
    let old: number;
    if (owner === 'tunnel') {
      old = this.tunnel.get(slot) ?? NONE;
      this.tunnel.set(slot, id);
    } else {
      old = this.learned[slot]!;
      this.learned[slot] = id;
    }
    this.hops.release(old);
    this.wantChanged(slot, before);
  }

  /** `owner` wants nothing installed for `prefix` (another owner's wish stays); `hint` as for set(). */
  delete(prefix: string, owner: RouteOwner = 'learned', hint?: number): void {
    const slot = this.heldSlot(prefix, hint);
    // Neither wanted nor installed: nothing to undo.
    if (slot === undefined) return;
    const old = owner === 'tunnel' ? (this.tunnel.get(slot) ?? NONE) : this.learned[slot]!;
    if (old === NONE) return;
    const before = this.wantOf(slot);
    if (owner === 'tunnel') this.tunnel.delete(slot);
    else this.learned[slot] = NONE;
    this.hops.release(old);
    this.wantChanged(slot, before);
  }

  /** The route wanted for `prefix`, if any. */
  wanted(prefix: string): FibRoute | undefined {
    const slot = this.heldSlot(prefix);
    if (slot === undefined) return undefined;
    const want = this.wantOf(slot);
    return want === NONE ? undefined : this.routeOf(slot, want);
  }

  /** Whose route is wanted for `prefix`: the tunnel's wins; null when none. */
  owner(prefix: string): RouteOwner | null {
    const slot = this.heldSlot(prefix);
    if (slot === undefined) return null;
    return this.tunnel.has(slot) ? 'tunnel' : this.learned[slot] !== NONE ? 'learned' : null;
  }

  /** Why `prefix` is not installed as wanted: the last write's error, or null. */
  error(prefix: string): string | null {
    const slot = this.heldSlot(prefix);
    return slot === undefined ? null : (this.errors.get(slot) ?? null);
  }

  /** Prefixes with a wanted route. */
  *wantedPrefixes(): IterableIterator<string> {
    for (const slot of this.slots()) if (this.wantOf(slot) !== NONE) yield this.prefixes.text(slot);
  }

  /** Whether the dataplane holds a route for `prefix` that this manager wrote or adopted. */
  installed(prefix: string): boolean {
    const slot = this.heldSlot(prefix);
    return slot !== undefined && this.have[slot] !== NONE;
  }

  /** Routes in the dataplane as far as this manager knows. */
  get size(): number {
    return this.installedCount;
  }

  /** Distinct next-hop lists held (wanted, installed or in flight). */
  get nextHopLists(): number {
    return this.hops.size;
  }

  /**
   * Prefixes waiting for the next flush (some may need no write after all):
   * O(1), for the agent's "in step" check after every flush; pending() walks
   * the queue, which during a full-table burst after each of hundreds of
   * flushes made the burst quadratic (1 M withdrawals: 55 s).
   */
  get waiting(): number {
    return this.queue.length;
  }

  /** Writes the next flush would send (walks the queue). */
  pending(): number {
    let n = 0;
    for (const slot of this.queue.view()) if (this.needsWrite(slot)) n++;
    return n;
  }

  /**
   * Sends every pending change, in backend batches of up to FLUSH_CHUNK ops.
   * Repeated changes of a prefix since the last flush collapse into the last
   * one; a replace equal to what is installed is skipped. Failed ops stay
   * pending for the next flush; changes made while a batch is in flight wait
   * for the next flush too, unless a later batch of this one covers their prefix.
   * Up to the backend's `batchesInFlight` batches are applied at once (each
   * prefix is in one batch of a flush only), so the next batch is built
   * while the dataplane works on the one before.
   */
  flush(): Promise<void> {
    // A flush already waiting for its turn will see this caller's changes: join it.
    if (this.queuedFlush !== null) return this.queuedFlush;
    const run = this.exclusive(async () => {
      this.queuedFlush = null;
      // This flush takes the queue; changes and failures from now on collect in a new one.
      const todo = this.queue.view();
      this.queue = new IntList();
      for (const slot of todo) this.queued[slot] = 0;
      this.deletesDescending(todo);
      const errors: string[] = [];
      const depth = Math.max(1, this.backend.batchesInFlight ?? 1);
      const inFlight = new Set<Promise<void>>();
      /** The first batch that failed as a whole: no further batch is started. */
      let failure: { err: unknown } | null = null;
      let wrote = false;
      let i = 0;
      while (i < todo.length && failure === null) {
        const batch = this.spare.pop() ?? new Batch(this.prefixes, this.hops, FLUSH_CHUNK);
        for (; i < todo.length && batch.length < FLUSH_CHUNK; i++) {
          const slot = todo[i]!;
          if (!this.addOp(batch, slot)) this.forgetIfEmpty(slot);
        }
        if (batch.length === 0) {
          this.spare.push(batch);
          continue;
        }
        wrote = true;
        // The batch's arrays serve the next batch once this one is done.
        const done = (): void => {
          inFlight.delete(applied);
          batch.clear();
          this.spare.push(batch);
        };
        const applied: Promise<void> = this.apply(batch, errors).then(done, (err: unknown) => {
          done();
          failure ??= { err };
        });
        inFlight.add(applied);
        if (inFlight.size >= depth) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
      if (failure !== null) {
        // apply() put its own batch back; the pieces not sent stay pending too.
        for (let j = i; j < todo.length; j++) this.enqueue(todo[j]!);
        throw (failure as { err: unknown }).err;
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
      const adopted = new Set<number>();
      await this.eachDumped(
        (slot) => adopted.add(slot),
        () => {
          for (const slot of adopted) this.setHave(slot, NONE);
          adopted.clear();
        },
      );
      return adopted.size;
    });
  }

  /**
   * Aligns the dataplane with the desired routes after a (re)start: routes with
   * our tag that nobody wants go, identical ones stay untouched.
   */
  reconcile(): Promise<ReconcileResult> {
    return this.exclusive(async () => {
      const forgetInstalled = (): void => {
        for (const slot of this.slots()) this.setHave(slot, NONE);
      };
      forgetInstalled();
      // The dump only records what is installed; the writes follow from the columns.
      await this.eachDumped(() => undefined, forgetInstalled);
      const batch = new Batch(this.prefixes, this.hops);
      let removed = 0;
      let added = 0;
      let kept = 0;
      // Stale routes go first (in the kernel's linear order, see deletesDescending), then the missing and different ones are written.
      const stale = new IntList();
      for (const slot of this.slots()) if (this.wantOf(slot) === NONE && this.have[slot] !== NONE) stale.push(slot);
      const staleSlots = stale.view();
      this.prefixes.sortV4Descending(staleSlots);
      for (const slot of staleSlots) {
        this.hops.retain(this.have[slot]!);
        batch.push(OP_DELETE, slot, NONE, this.have[slot]!);
        removed++;
      }
      for (const slot of this.slots()) {
        const want = this.wantOf(slot);
        if (want === NONE) continue;
        if (this.have[slot] === want) kept++;
        else if (this.addOp(batch, slot)) added++;
        // Installed under a list that does the same: addOp took the wanted one as the record.
        else kept++;
      }
      // Everything is accounted for by these ops; failures re-enter the queue.
      for (const slot of this.queue.view()) this.queued[slot] = 0;
      this.queue = new IntList();
      for (const slot of this.slots()) this.forgetIfEmpty(slot);
      const errors: string[] = [];
      for (let i = 0; i < batch.length; i += FLUSH_CHUNK) {
        const piece = batch.slice(i, i + FLUSH_CHUNK);
        try {
          await this.apply(piece, errors);
        } catch (err) {
          const rest = batch.slice(i + FLUSH_CHUNK, batch.length);
          for (let k = 0; k < rest.length; k++) this.enqueue(rest.prefixes[k]!);
          rest.releaseAll();
          throw err;
        }
      }
      this.lastErrors = errors;
      return { removed, added, kept };
    });
  }

  /**
   * Records what the dataplane holds with our tag as installed, slot by slot
   * (`seen` per route). Streamed where the backend can (a full table as
   * objects at once cost 150 MB); next-hop lists the dump shares are interned
   * once, not per route. `restart`: the dump starts over.
   */
  private async eachDumped(seen: (slot: number) => void, restart: () => void): Promise<void> {
    let lists = new Map<readonly FibNextHop[], number>();
    const record = (r: FibRoute): void => {
      const slot = this.slotOf(r.prefix);
      let id = r.backup === undefined ? lists.get(r.nexthops) : undefined;
      if (id !== undefined) this.hops.retain(id);
      else {
        // A VPP route's backup paths are part of what is installed (PIC).
        id = this.hops.intern(r.nexthops, false, r.backup ?? null);
        // A list the dump shares (frozen) is interned once: the cache holds a reference of its own.
        if (r.backup === undefined && Object.isFrozen(r.nexthops)) {
          lists.set(r.nexthops, id);
          this.hops.retain(id);
        }
      }
      this.setHave(slot, this.installedId(slot, id));
      seen(slot);
    };
    const dropCache = (): void => {
      for (const id of lists.values()) this.hops.release(id);
      lists = new Map();
    };
    try {
      if (this.backend.dumpEach !== undefined) {
        await this.backend.dumpEach(record, () => {
          dropCache();
          restart();
        });
      } else {
        for (const r of await this.backend.dump()) record(r);
      }
    } finally {
      dropCache();
    }
  }

  /**
   * A failover changed what our routes through `interfaces` name behind this
   * manager's back (FibBackend.failover's `rewrite`, applied by restore()):
   * each installed route with a next hop there is written at the next
   * flush, also when the RIB then wants it exactly as it was. Without this,
   * a neighbor back before the withdrawal of its routes was flushed (its
   * session up again within milliseconds) wants them unchanged, and nothing
   * would write them again while the dataplane lost them. Returns how many
   * routes are marked.
   */
  rewriteThrough(interfaces: ReadonlySet<string>, slots: Iterable<number> = this.slots()): number {
    const through = new Map<number, boolean>();
    let n = 0;
    for (const slot of slots) {
      if (!this.installedThrough(slot, interfaces, through)) continue;
      this.rewrite[slot] = 1;
      this.enqueue(slot);
      n++;
    }
    return n;
  }

  /**
   * PIC: the backend's failover for the dead tunnels on `interfaces`
   * (FibBackend.failover), between writes. When it says the routes through
   * them no longer name what was written, they are marked (rewriteThrough)
   * when the tunnels are back (restore()), not now: the RIB withdraws a dead
   * neighbor's paths in steps, each flushed, and a route it has not reached
   * yet is still wanted as installed; written again meanwhile it would go
   * back into the dead tunnel (Linux: a fresh object over it), one write per
   * route. 0/0 without a failover.
   *
   * A restore's marks not flushed yet (the session came up and went down
   * again before a write) are taken back for the same reason, and given to
   * the next restore.
   */
  failover(interfaces: readonly string[]): Promise<{ moved: number; removed: number }> {
    const backend = this.backend;
    if (backend.failover === undefined) return Promise.resolve({ moved: 0, removed: 0 });
    return this.exclusive(async () => {
      const r = await backend.failover!(interfaces);
      const dead = new Set(interfaces);
      const unmarked = this.unmarkThrough(dead);
      if ((r.rewrite === true && r.moved + r.removed > 0) || unmarked > 0) for (const i of interfaces) this.rewriteAtRestore.add(i);
      // The tunnels' own routes (owner 'tunnel': the peer's host routes) are no path through the dead
      // neighbor; the tunnel stays, and so must they. A failover that deleted their object (Linux: no
      // backup) took them out of the kernel: they are written at the next flush, not at restore(),
      // which a neighbor gone for good never reaches.
      if (r.rewrite === true && r.removed > 0) this.rewriteThrough(dead, this.tunnel.keys()); // the tunnels' own routes alone (two per neighbor)
      return { moved: r.moved, removed: r.removed };
    });
  }

  /** rewriteThrough's marks, not written yet, on routes installed through `interfaces` are taken back; how many. Looks at the queue only. */
  private unmarkThrough(interfaces: ReadonlySet<string>): number {
    let n = 0;
    const through = new Map<number, boolean>();
    for (const slot of this.queue.view()) {
      if (this.rewrite[slot] !== 1 || !this.installedThrough(slot, interfaces, through)) continue;
      this.rewrite[slot] = 0;
      n++;
    }
    return n;
  }

  /** Whether slot's installed route has a next hop on `interfaces`; `through` keeps the answer per next-hop list for one walk. */
  private installedThrough(slot: number, interfaces: ReadonlySet<string>, through: Map<number, boolean>): boolean {
    const have = this.have[slot]!;
    if (have === NONE) return false;
    let hit = through.get(have);
    if (hit === undefined) {
      hit = this.hops.get(have).some((h) => h.interface !== undefined && interfaces.has(h.interface));
      through.set(have, hit);
    }
    return hit;
  }

  /**
   * The tunnels on `interfaces` are back (their sessions are up), between
   * writes: after a failover queued before it, so the two never cross. The
   * backend restores what its failover took (FibBackend.restore), and the
   * routes through them are marked (rewriteThrough) in the same step when
   * their failover asked for it, or the backend could not restore
   * everything. Returns what the backend restored (0 without a restore).
   */
  restore(interfaces: readonly string[]): Promise<{ restored: number }> {
    const backend = this.backend;
    if (backend.failover === undefined) return Promise.resolve({ restored: 0 });
    // Looked at in the exclusive step: a failover queued before it may still add to rewriteAtRestore.
    return this.exclusive(async () => {
      let r: { restored: number; rewrite?: boolean };
      try {
        r = backend.restore === undefined ? { restored: 0 } : await backend.restore(interfaces);
      } catch (err) {
        // Not known what came back: every route through the tunnels is written again (on VPP each
        // write puts its next hop's host route back), else a route the RIB wants as it was stays on
        // what the failover took (its backup, or unresolved) for good.
        for (const i of interfaces) this.rewriteAtRestore.delete(i);
        this.rewriteThrough(new Set(interfaces));
        throw err;
      }
      const rewrite = new Set(r.rewrite === true ? interfaces : []);
      for (const i of interfaces) {
        if (this.rewriteAtRestore.delete(i)) rewrite.add(i);
      }
      if (rewrite.size > 0) this.rewriteThrough(rewrite);
      return { restored: r.restored };
    });
  }

  /**
   * The tunnels on `interfaces` are deleted for good (a neighbor removed from
   * the configuration; the RIB's withdrawal of its routes flushed), between
   * writes: the rewrite marks a failover left for their restore go (no
   * restore will come), and the backend forgets them (FibBackend.forget).
   */
  forget(interfaces: readonly string[]): Promise<void> {
    const backend = this.backend;
    return this.exclusive(async () => {
      for (const i of interfaces) this.rewriteAtRestore.delete(i);
      await backend.forget?.(interfaces);
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
    for (const slot of this.slots()) {
      this.setHave(slot, NONE);
      if (this.wantOf(slot) !== NONE) this.enqueue(slot);
      else this.forgetIfEmpty(slot);
    }
  }

  /**
   * Puts the deletes among `slots` (a flush's queue) in descending IPv4
   * order, in the positions deletes held; everything else keeps its place.
   * Linux removes IPv4 routes in ascending order in quadratic time where a
   * dense run of one prefix length fills a trie node (PrefixTable.sortV4Descending:
   * 93.6 s of kernel CPU for 820 000 dense /24s, 2.8 s descending).
   */
  private deletesDescending(slots: Int32Array): void {
    let n = 0;
    for (const slot of slots) if (this.wantOf(slot) === NONE && this.have[slot] !== NONE) n++;
    if (n < 2) return;
    const at = new Int32Array(n);
    const deletes = new Int32Array(n);
    for (let i = 0, k = 0; i < slots.length; i++) {
      const slot = slots[i]!;
      if (this.wantOf(slot) !== NONE || this.have[slot] === NONE) continue;
      at[k] = i;
      deletes[k++] = slot;
    }
    this.prefixes.sortV4Descending(deletes);
    for (let k = 0; k < n; k++) slots[at[k]!] = deletes[k]!;
  }

  private wantOf(slot: number): number {
    const t = this.tunnel.size === 0 ? undefined : this.tunnel.get(slot);
    return t !== undefined ? t : this.learned[slot]!;
  }

  /** The slot of `prefix`, made (the number taken) when this manager holds none. */
  private slotOf(prefix: string, hint?: number): number {
    const found = this.prefixes.findHinted(prefix, hint);
    if (found !== NO_PREFIX && found < this.held.length && this.held[found] === 1) return found;
    const slot = found === NO_PREFIX ? this.prefixes.intern(prefix) : found;
    if (found !== NO_PREFIX) this.prefixes.retain(slot);
    if (slot >= this.learned.length) {
      let n = this.learned.length * 2;
      while (n <= slot) n *= 2;
      this.learned = grow32(this.learned, n);
      this.have = grow32(this.have, n);
      this.queued = grow8(this.queued, n);
      this.rewrite = grow8(this.rewrite, n);
      this.held = grow8(this.held, n);
    }
    this.held[slot] = 1;
    this.heldCount++;
    return slot;
  }

  /** The slot of `prefix` if this manager holds it. */
  private heldSlot(prefix: string, hint?: number): number | undefined {
    const slot = this.prefixes.findHinted(prefix, hint);
    return slot !== NO_PREFIX && slot < this.held.length && this.held[slot] === 1 ? slot : undefined;
  }

  /** The slots this manager holds, as a snapshot (a caller may forget some as it goes). */
  private slots(): Int32Array {
    const out = new Int32Array(this.heldCount);
    let i = 0;
    const held = this.held;
    for (let slot = 0; slot < held.length && i < out.length; slot++) if (held[slot] === 1) out[i++] = slot;
    return out;
  }

  /**
   * The number for next hops the dataplane holds: the wanted list's when it
   * does what the wanted route asks (the kernel may list multipath members in
   * another order, or name an interface we left open), else `id`, the dumped
   * list's. Takes over the one reference held on `id` and returns one.
   */
  private installedId(slot: number, id: number): number {
    const want = this.wantOf(slot);
    if (want === NONE || id === want || !sameHops(this.hops.get(want), this.hops.get(id)) || !this.hops.sameBackup(want, id)) return id;
    this.hops.release(id);
    this.hops.retain(want);
    return want;
  }

  private wantChanged(slot: number, before: number): void {
    const want = this.wantOf(slot);
    if (want === before) return;
    this.wantedCount += Number(want !== NONE) - Number(before !== NONE);
    this.enqueue(slot);
  }

  private enqueue(slot: number): void {
    if (this.queued[slot] === 1) return;
    this.queued[slot] = 1;
    this.queue.push(slot);
  }

  /** Takes over one reference on `id` (NONE: nothing installed) and gives up the old one. */
  private setHave(slot: number, id: number): void {
    const old = this.have[slot]!;
    this.installedCount += Number(id !== NONE) - Number(old !== NONE);
    this.have[slot] = id;
    this.hops.release(old);
  }

  private routeOf(slot: number, id: number, prefix = this.prefixes.text(slot)): FibRoute {
    const backup = this.hops.backup(id);
    const nexthops = this.hops.get(id) as FibNextHop[];
    return backup === null ? { prefix, nexthops } : { prefix, nexthops, backup };
  }

  /** Drops a slot that holds nothing and waits for nothing (a withdrawn prefix). */
  private forgetIfEmpty(slot: number): void {
    if (this.held[slot] !== 1) return;
    if (this.wantOf(slot) !== NONE || this.have[slot] !== NONE || this.queued[slot] === 1) return;
    this.held[slot] = 0;
    this.heldCount--;
    this.errors.delete(slot);
    this.prefixes.release(slot);
  }

  private needsWrite(slot: number): boolean {
    const want = this.wantOf(slot);
    const have = this.have[slot]!;
    if (this.rewrite[slot] === 1 && (want !== NONE || have !== NONE)) return true;
    if (want === have) return false;
    if (want === NONE || have === NONE) return true;
    return !sameHops(this.hops.get(want), this.hops.get(have)) || !this.hops.sameBackup(want, have);
  }

  /** Adds the write that brings `slot` from installed to wanted to `batch`; false when none is needed. */
  private addOp(batch: Batch, slot: number): boolean {
    const needed = this.needsWrite(slot);
    this.rewrite[slot] = 0;
    if (!needed) {
      // Installed under another list that does the same: the wanted one is the record now.
      const want = this.wantOf(slot);
      if (want !== NONE && this.have[slot] !== want) {
        this.hops.retain(want);
        this.setHave(slot, want);
      }
      return false;
    }
    const want = this.wantOf(slot);
    const have = this.have[slot]!;
    // Both lists stay while the write is in flight, whatever the owners do meanwhile.
    this.hops.retain(want);
    this.hops.retain(have);
    batch.push(want === NONE ? OP_DELETE : have === NONE ? OP_ADD : OP_REPLACE, slot, want, have);
    return true;
  }

  /**
   * One backend batch; failures stay pending and are appended to `errors` as
   * "PREFIX: REASON". A backend with applyBatch reads the columns; another
   * gets FibOp objects made from them.
   */
  private async apply(batch: Batch, errors: string[]): Promise<void> {
    const n = batch.length;
    let failures: { prefix: string; error: string }[];
    this.counters.batches++;
    try {
      if (this.backend.applyBatch !== undefined) failures = await this.backend.applyBatch(batch);
      else {
        const ops = new Array<ReturnType<typeof batchOp>>(n);
        for (let k = 0; k < n; k++) ops[k] = batchOp(batch, k);
        failures = await this.backend.apply(ops, { table: this.prefixes, ids: Array.from(batch.prefixes.subarray(0, n)) });
      }
    } catch (err) {
      this.counters.batchErrors++;
      // Nothing is known to have happened: all of it stays pending.
      for (let k = 0; k < n; k++) this.enqueue(batch.prefixes[k]!);
      batch.releaseAll();
      this.lastErrors = [`batch of ${n}: ${errorText(err)}`];
      throw err;
    }
    // Failures by prefix number: a batch with one failure makes no text for its other ops.
    const failed = new Map<number, string>();
    for (const f of failures) {
      const slot = this.prefixes.find(f.prefix);
      if (slot !== NO_PREFIX) failed.set(slot, f.error);
      errors.push(`${f.prefix}: ${f.error}`);
    }
    const { kinds, prefixes, want, have } = batch;
    for (let k = 0; k < n; k++) {
      const slot = prefixes[k]!;
      const id = want[k]!;
      // The previous list was held for the flight only.
      this.hops.release(have[k]!);
      const error = failed.size > 0 ? failed.get(slot) : undefined;
      if (error !== undefined) {
        this.errors.set(slot, error);
        this.counters.failed++;
        this.hops.release(id);
        this.enqueue(slot);
        continue;
      }
      this.counters[OP_NAMES[kinds[k]!]!]++;
      this.errors.delete(slot);
      // The reference taken for the flight becomes the installed one.
      this.setHave(slot, id);
      this.forgetIfEmpty(slot);
    }
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }
}

/**
 * A backend batch as columns (FibBatch): per op its kind, its slot (the
 * prefix's number), the list it writes and the list there now, each list
 * referenced while in flight. A flush's batches are reused (FibManager.spare).
 */
class Batch implements FibBatch {
  length = 0;
  kinds: Uint8Array;
  prefixes: Int32Array;
  want: Int32Array;
  have: Int32Array;

  constructor(
    readonly table: PrefixTable,
    readonly lists: HopLists,
    capacity = 1024,
  ) {
    this.kinds = new Uint8Array(capacity);
    this.prefixes = new Int32Array(capacity);
    this.want = new Int32Array(capacity);
    this.have = new Int32Array(capacity);
  }

  push(kind: number, slot: number, want: number, have: number): void {
    if (this.length === this.kinds.length) this.grow();
    const i = this.length++;
    this.kinds[i] = kind;
    this.prefixes[i] = slot;
    this.want[i] = want;
    this.have[i] = have;
  }

  slice(from: number, to: number): Batch {
    const b = new Batch(this.table, this.lists, Math.max(1, to - from));
    for (let i = from; i < to && i < this.length; i++) b.push(this.kinds[i]!, this.prefixes[i]!, this.want[i]!, this.have[i]!);
    return b;
  }

  /** Gives up the flight's references (the batch was not applied). */
  releaseAll(): void {
    for (let i = 0; i < this.length; i++) {
      this.lists.release(this.want[i]!);
      this.lists.release(this.have[i]!);
    }
  }

  clear(): void {
    this.length = 0;
  }

  private grow(): void {
    const n = this.kinds.length * 2;
    const kinds = new Uint8Array(n);
    kinds.set(this.kinds);
    this.kinds = kinds;
    this.prefixes = grow32(this.prefixes, n);
    this.want = grow32(this.want, n);
    this.have = grow32(this.have, n);
  }
}
