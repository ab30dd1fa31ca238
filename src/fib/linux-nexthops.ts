/**
 * The Linux FIB's nexthop objects (linux/nexthop.h), as bookkeeping without
 * I/O: each distinct next-hop set of our routes is one kernel object — a
 * single next hop for one path, a group of single ones for ECMP — and every
 * route names its set's object (RTA_NH_ID). A later change can then move a
 * million routes by replacing one object.
 *
 * Ownership: an object is ours when its nh_protocol is our protocol *and*
 * its id lies in NH_ID_FIRST..NH_ID_LAST. FRR's zebra keeps its ids below
 * 2^28 (its own counter and one range per daemon, all under 250 000 000) and
 * puts EVPN L2 next hops at 0x1xxxxxxx / 0x2xxxxxxx (the type in the top 4
 * bits); iproute2 users pick small numbers. Nothing else is touched, and an id
 * somebody else holds is skipped.
 *
 * Reference counts: an object's users are the routes that name it plus, for
 * a single next hop, the groups it is a member of. A route's object follows
 * from its next hops alone (`key`), so the FIB manager's `previous` route of a
 * replace or delete names the object to release, and no per-prefix map is
 * kept. Routes that do not name one of our objects although their next hops
 * could (written per route by an older run, or when the object could not be
 * made) are the exception, remembered by prefix in `legacy` (LinuxFib).
 *
 * Strays: after a restart, two objects of ours with the same next hop (a PIC
 * object keeps its backup only in our memory, so "A with backup C" and plain
 * "A" look alike in the kernel; or a crash between two writes) cannot both
 * be found by key. One is registered by key; the others are strays, counted
 * like any object (routes naming them, groups holding them) and found by id
 * only: the routes naming one are `legacy` with its id, and their release
 * releases it. A stray nothing uses goes like any unused object.
 */
import type { NexthopObject, NexthopWrite } from '#netlink/types';
import type { FibNextHop } from './types.js';

/** Our id range: 0x77000000–0x77ffffff (16 M ids), above everything FRR allocates. */
export const NH_ID_FIRST = 0x7700_0000;
export const NH_ID_LAST = 0x77ff_ffff;

export function ourId(id: number): boolean {
  return id >= NH_ID_FIRST && id <= NH_ID_LAST;
}

/** One kernel nexthop object of ours. */
export interface NhObject {
  readonly key: string;
  id: number;
  /** A single next hop (always with an interface); null for a group. */
  readonly hop: FibNextHop | null;
  /** A group's member objects; null for a single next hop. */
  readonly members: readonly NhObject[] | null;
  /** Routes naming it, plus groups holding it. */
  users: number;
  /** Of `users`, the groups holding it (a single next hop). */
  groups: number;
  /** Present in the kernel (as far as known). */
  installed: boolean;
  /** Holds an IPv4 gateway: IPv6 routes cannot name it. */
  readonly v4Gateway: boolean;
  /**
   * PIC: where its routes go when its tunnel dies (a single next hop of
   * another tunnel); null: they go with it. Routes with another backup, or
   * none, name another object, so one replace moves exactly the right ones.
   */
  readonly backup: FibNextHop | null;
  /** A single next hop failover() moved to its backup: what the kernel's object holds now. */
  movedTo?: FibNextHop;
  /** Retired, and every route naming it is marked for rewrite (NexthopTable.rewriting). */
  rewriting?: boolean;
  /**
   * A group failover() left with fewer members, or one made while some of its
   * members' tunnels were down (failed over, not restored): the members the
   * kernel's object holds now. restore() gives such a group (not retired) its
   * members back as their tunnels come back.
   */
  liveMembers?: readonly NhObject[];
}

/** The members the kernel's object of group `o` holds. */
export const kernelMembers = (o: NhObject): readonly NhObject[] => o.liveMembers ?? o.members!;


/** What failover() does to the kernel's objects, in order (groups before their members). */
export interface FailoverPlan {
  writes: NexthopWrite[];
  /** The objects written, by index of `writes`. */
  objects: NhObject[];
  moved: number;
  removed: number;
}

/** Whether `o`'s next hop, or a member's, as the routes naming it have them, goes through a tunnel on `ifaces`. */
function through(o: NhObject, ifaces: ReadonlySet<string>): boolean {
  if (o.members === null) return o.hop?.interface !== undefined && ifaces.has(o.hop.interface);
  return o.members.some((m) => m.hop?.interface !== undefined && ifaces.has(m.hop.interface));
}

const hopKey = (nh: FibNextHop): string => `${nh.address ?? ''}%${nh.interface ?? ''}`;

/**
 * The canonical key of a next-hop set (sorted "address%interface"), or null
 * when the set cannot be an object: a hop without an interface (the kernel
 * would pick one per route), or the same hop twice.
 */
export function nexthopKey(hops: readonly FibNextHop[]): string | null {
  if (hops.length === 0) return null;
  if (hops.length === 1) return hops[0]!.interface === undefined ? null : hopKey(hops[0]!);
  const keys: string[] = [];
  for (const nh of hops) {
    if (nh.interface === undefined) return null;
    keys.push(hopKey(nh));
  }
  keys.sort();
  for (let k = 1; k < keys.length; k++) if (keys[k] === keys[k - 1]) return null;
  return keys.join(' ');
}

export class NexthopTable {
  private byKey = new Map<string, NhObject>();
  private byId = new Map<number, NhObject>();
  /**
   * Next-hop lists seen before, by identity: no key to build per route. The
   * FIB manager hands one interned list per next-hop set and never changes a
   * list it handed out (FibManager.set: the caller must not change a route
   * afterwards), and dumped lists are frozen.
   */
  private keys = new WeakMap<readonly FibNextHop[], string | null>();
  /** routeKey's keys with a backup, by next-hop list then backup list. */
  private backupKeys = new WeakMap<readonly FibNextHop[], WeakMap<readonly FibNextHop[], string>>();
  /**
   * Objects failover() moved or removed: their content no longer matches
   * their key, so no new route may name them; they go once the routes that
   * still name them are rewritten (found here by key before byKey).
   */
  private retired = new Map<string, NhObject[]>();
  /** Our objects that duplicate a registered one's key (see Strays above): in byId, not in byKey. */
  private strays = new Map<number, NhObject>();
  /** Ids in our range that exist in the kernel and are not (or no longer) in byId: never handed out. */
  private readonly taken = new Set<number>();
  private cursor = NH_ID_FIRST;
  /**
   * Tunnels failed over and not restored (LinuxFib's set): a group made now
   * holds only its members through other tunnels in the kernel (liveMembers),
   * so that no route forwards into a dead tunnel because the RIB has not
   * withdrawn its paths yet (issue 10: a failed-over tunnel stays out "until
   * no FIB entry points at it").
   */
  down: ReadonlySet<string> = new Set();

  constructor(readonly protocol: number) {}

  get size(): number {
    return this.byKey.size;
  }

  /** Every object, members before the groups that hold them. */
  *objects(): IterableIterator<NhObject> {
    for (const o of this.byKey.values()) if (o.members === null) yield o;
    for (const o of this.byKey.values()) if (o.members !== null) yield o;
  }

  keyOf(hops: readonly FibNextHop[]): string | null {
    let key = this.keys.get(hops);
    if (key !== undefined) return key;
    key = nexthopKey(hops);
    this.keys.set(hops, key);
    return key;
  }

  /**
   * The key of a route's object: its next hops', with its backup's when the
   * route has one that PIC can use (a single next hop over a single one).
   */
  routeKey(hops: readonly FibNextHop[], backup: readonly FibNextHop[] | undefined): string | null {
    const key = this.keyOf(hops);
    if (key === null || backup === undefined || hops.length !== 1 || backup.length !== 1 || backup[0]!.interface === undefined) return key;
    // With PIC every route has a backup: its key is made once per pair of lists, not per route.
    let byBackup = this.backupKeys.get(hops);
    if (byBackup === undefined) this.backupKeys.set(hops, (byBackup = new WeakMap()));
    let both = byBackup.get(backup);
    if (both === undefined) byBackup.set(backup, (both = `${key}|${hopKey(backup[0]!)}`));
    return both;
  }

  /** The object a route with `hops` (and `backup`) names, if it names one (IPv6 routes never name an IPv4 gateway). */
  lookup(hops: readonly FibNextHop[], v6: boolean, backup?: readonly FibNextHop[]): NhObject | null {
    const key = this.routeKey(hops, backup);
    if (key === null) return null;
    // Routes not rewritten since a failover still name the retired object (those that name a
    // newer object of the key meanwhile are found by prefix: shadowed()). At most one retired
    // object of a key has routes found by key: the oldest with users.
    const retired = this.retired.get(key)?.find((o) => o.users > 0);
    const o = retired ?? this.byKey.get(key);
    return o === undefined || (v6 && o.v4Gateway) ? null : o;
  }

  byIdOf(id: number): NhObject | undefined {
    return this.byId.get(id);
  }

  /** Whether object `id` is a stray (routes naming it are found by prefix, not by key). */
  isStray(id: number): boolean {
    return this.strays.has(id);
  }

  /**
   * Whether a route naming `o` (its key's object) cannot be found by key:
   * lookup() finds a retired object of the same key while one has users,
   * so such a route is found by prefix (LinuxFib's `legacy`, with o's id).
   * Not when the retired object's routes are all being rewritten (a restore
   * marked them: `rewriting`): the flush moves them all off it, and meanwhile
   * a route already moved is not released again. False at once when nothing
   * is retired (the steady state).
   */
  shadowed(o: NhObject): boolean {
    if (this.retired.size === 0) return false;
    return this.retired.get(o.key)?.some((x) => x !== o && x.users > 0 && x.rewriting !== true) ?? false;
  }

  /**
   * A restore of the tunnels on `up`: the FibManager rewrites every route
   * through them, so every route on a retired object with a next hop there.
   * Those objects are marked; how many.
   */
  rewriting(up: ReadonlySet<string>): number {
    let n = 0;
    for (const r of this.retired.values()) {
      for (const o of r) {
        if (o.users === 0 || !through(o, up)) continue;
        o.rewriting = true;
        n++;
      }
    }
    return n;
  }

  /** A failover of the tunnels on `dead`: the rewrite marks of routes through them are taken back (FibManager.failover). */
  notRewriting(dead: ReadonlySet<string>): void {
    for (const r of this.retired.values()) for (const o of r) if (o.rewriting === true && through(o, dead)) o.rewriting = false;
  }

  /** A route naming object `id` that was found by prefix (a stray's, a shadowed one's) is gone or rewritten. */
  releaseId(id: number): void {
    const o = this.byId.get(id);
    if (o !== undefined) this.release(o);
  }

  /**
   * One more route names the object of `hops`, made here (not installed yet)
   * when there is none; null when the route cannot name one.
   */
  acquire(hops: readonly FibNextHop[], v6: boolean, backup?: readonly FibNextHop[]): NhObject | null {
    const key = this.routeKey(hops, backup);
    if (key === null) return null;
    let o = this.byKey.get(key);
    if (o === undefined) {
      const v4Gateway = hops.some((nh) => nh.address !== undefined && !nh.address.includes(':'));
      if (v6 && v4Gateway) return null;
      const b = key.includes('|') ? backup![0]! : null;
      o = hops.length === 1 ? this.single(key, hops[0]!, this.nextId(), b) : this.group(key, hops);
    } else if (v6 && o.v4Gateway) {
      return null;
    }
    o.users++;
    return o;
  }

  release(o: NhObject): void {
    if (o.users > 0) o.users--;
  }

  /** Objects no route and no group uses: groups first (their members follow), then single next hops; retired ones and strays too. */
  unused(): NhObject[] {
    const out: NhObject[] = [];
    const all = (): NhObject[] => [...this.byKey.values(), ...[...this.retired.values()].flat(), ...this.strays.values()];
    for (const o of all()) if (o.members !== null && o.users === 0) out.push(o);
    for (const g of out)
      for (const m of g.members!) {
        this.release(m);
        if (m.groups > 0) m.groups--;
      }
    for (const o of all()) if (o.members === null && o.users === 0) out.push(o);
    return out;
  }

  /** Forgets `o` (deleted, or gone from the kernel with nothing using it); its id is free again. */
  drop(o: NhObject): void {
    if (this.byKey.get(o.key) === o) this.byKey.delete(o.key);
    if (this.byId.get(o.id) === o) this.byId.delete(o.id);
    if (this.strays.get(o.id) === o) this.strays.delete(o.id);
    const r = this.retired.get(o.key);
    if (r !== undefined) {
      const rest = r.filter((x) => x !== o);
      if (rest.length > 0) this.retired.set(o.key, rest);
      else this.retired.delete(o.key);
    }
  }

  /**
   * PIC (prefix-independent convergence): the tunnels on `dead` are gone.
   * A group with members through them keeps the others (or goes when none
   * is left); a single next hop through them becomes its backup when it has
   * one on a live tunnel, and goes otherwise (the kernel takes the routes
   * naming it along). Every object touched is retired: no new route names it.
   * An object an earlier failover moved, or left with fewer members, and
   * that routes still name is judged by what it holds now: moved to a tunnel
   * that is dead too, it goes (a backup's backup is not known here). A
   * backup on a tunnel in `down` (failed over, `dead` among them, not back
   * yet) is no backup either.
   */
  failover(dead: ReadonlySet<string>): FailoverPlan {
    const { protocol, down } = this;
    const plan: FailoverPlan = { writes: [], objects: [], moved: 0, removed: 0 };
    const through = (o: NhObject): boolean => {
      const hop = o.movedTo ?? o.hop;
      return hop !== null && hop.interface !== undefined && dead.has(hop.interface);
    };
    const take = (o: NhObject, w: NexthopWrite): void => {
      plan.writes.push(w);
      if (w.op === 'delete') plan.removed++;
      else plan.moved++;
      plan.objects.push(o);
      this.retire(o);
    };
    const objects = [...this.byKey.values(), ...this.strays.values()];
    for (const r of this.retired.values()) for (const o of r) if (o.installed) objects.push(o);
    for (const o of objects) {
      const members = o.liveMembers ?? o.members;
      if (members === null || !members.some(through)) continue;
      const live = members.filter((m) => !through(m));
      if (live.length > 0) o.liveMembers = live;
      take(o, live.length > 0 ? { op: 'replace', nexthop: { id: o.id, protocol, group: live.map((m) => ({ id: m.id, weight: 1 })) } } : { op: 'delete', id: o.id });
    }
    for (const o of objects) {
      if (o.members !== null || !through(o)) continue;
      const b = o.backup;
      if (o.movedTo === undefined && b !== null && b.interface !== undefined && !down.has(b.interface)) {
        const nh: NexthopObject = { id: o.id, protocol, interface: b.interface };
        if (b.address !== undefined) nh.address = b.address;
        o.movedTo = b;
        take(o, { op: 'replace', nexthop: nh });
      } else {
        take(o, { op: 'delete', id: o.id });
      }
    }
    return plan;
  }

  /** `o` no longer matches what its key should hold (restore() could not give it its members back): no new route names it. */
  retireObject(o: NhObject): void {
    this.retire(o);
  }

  /** `o` (failover() changed it) is no longer its key's object; a stray, never found by key, and a retired one stay as they are. */
  private retire(o: NhObject): void {
    if (this.byKey.get(o.key) !== o) return;
    this.byKey.delete(o.key);
    const r = this.retired.get(o.key);
    if (r === undefined) this.retired.set(o.key, [o]);
    else r.push(o);
  }

  /** `o`'s id turned out to be somebody else's (EEXIST on add): it gets another. */
  reassign(o: NhObject): void {
    this.byId.delete(o.id);
    this.taken.add(o.id);
    o.id = this.nextId();
    this.byId.set(o.id, o);
  }

  /**
   * Starts over from the kernel's objects (all protocols) and the ids our
   * routes name (`named`: id → routes). Ours are registered by key with
   * their users counted; an object of ours that duplicates another's key is
   * a stray, counted the same way. One of ours the table cannot hold (a
   * group with other weights, a single next hop without a device) is
   * returned in `unheld` with its user count (deleted when unused). Others'
   * ids in our range are never handed out.
   */
  rebuild(objects: readonly NexthopObject[], named: ReadonlyMap<number, number>): { unheld: { id: number; users: number }[] } {
    this.byKey = new Map();
    this.byId = new Map();
    this.strays = new Map();
    this.keys = new WeakMap();
    this.backupKeys = new WeakMap();
    this.retired = new Map();
    this.taken.clear();
    const unheld: { id: number; users: number }[] = [];
    const mine = new Map<number, NexthopObject>();
    for (const nh of objects) {
      if (!ourId(nh.id)) continue;
      if (nh.protocol === this.protocol) mine.set(nh.id, nh);
      else this.taken.add(nh.id);
    }
    // Most-used first, so a duplicate left by a crash loses to the object the routes name.
    const order = [...mine.values()].sort((a, b) => (named.get(b.id) ?? 0) - (named.get(a.id) ?? 0));
    for (const nh of order) {
      if (nh.group !== undefined || nh.interface === undefined) continue;
      const hop: FibNextHop = nh.address !== undefined ? { address: nh.address, interface: nh.interface } : { interface: nh.interface };
      const key = hopKey(hop);
      const o = this.byKey.has(key) ? this.stray(key, nh.id, Object.freeze(hop), null) : this.single(key, hop, nh.id);
      o.installed = true;
      o.users = named.get(nh.id) ?? 0;
    }
    for (const nh of order) {
      if (nh.group === undefined) continue;
      const members = nh.group.map((m) => this.byId.get(m.id));
      if (members.some((m) => m === undefined) || nh.group.some((m) => m.weight !== 1)) continue;
      const key = nexthopKey(members.map((m) => m!.hop!));
      if (key === null) continue;
      const o = this.byKey.has(key) ? this.stray(key, nh.id, null, members as NhObject[]) : this.register(key, nh.id, null, members as NhObject[]);
      for (const m of o.members!) {
        m.users++;
        m.groups++;
      }
      o.installed = true;
      o.users = named.get(nh.id) ?? 0;
    }
    for (const nh of mine.values()) {
      if (this.byId.has(nh.id)) continue;
      this.taken.add(nh.id);
      unheld.push({ id: nh.id, users: named.get(nh.id) ?? 0 });
    }
    return { unheld };
  }

  /** A duplicate of a registered object (see Strays above): by id only. */
  private stray(key: string, id: number, hop: FibNextHop | null, members: NhObject[] | null): NhObject {
    const v4Gateway = hop !== null ? hop.address !== undefined && !hop.address.includes(':') : members!.some((m) => m.v4Gateway);
    const o: NhObject = { key, id, hop, members, users: 0, groups: 0, installed: false, v4Gateway, backup: null };
    this.byId.set(id, o);
    this.strays.set(id, o);
    return o;
  }

  /** An unheld object deleted: its id may be handed out again. */
  freeId(id: number): void {
    this.taken.delete(id);
  }

  /** An id in our range nobody holds. */
  nextId(): number {
    for (let n = 0; n <= NH_ID_LAST - NH_ID_FIRST; n++) {
      const id = this.cursor;
      this.cursor = id >= NH_ID_LAST ? NH_ID_FIRST : id + 1;
      if (!this.byId.has(id) && !this.taken.has(id)) return id;
    }
    throw new Error('nexthop object ids exhausted');
  }

  private single(key: string, hop: FibNextHop, id = this.nextId(), backup: FibNextHop | null = null): NhObject {
    const copy: FibNextHop = hop.address !== undefined ? { address: hop.address, interface: hop.interface! } : { interface: hop.interface! };
    return this.register(key, id, Object.freeze(copy), null, backup === null ? null : Object.freeze({ ...backup }));
  }

  private group(key: string, hops: readonly FibNextHop[]): NhObject {
    const members: NhObject[] = [];
    for (const nh of hops) {
      const k = hopKey(nh);
      const m = this.byKey.get(k) ?? this.single(k, nh);
      m.users++;
      m.groups++;
      members.push(m);
    }
    const o = this.register(key, this.nextId(), null, members);
    // Members through tunnels that are down stay out of the kernel's object until restore(); with none
    // left the set is written as the RIB wants it (its own write through dead tunnels, as for one next hop).
    if (this.down.size > 0) {
      const live = members.filter((m) => !this.isDown(m));
      if (live.length > 0 && live.length < members.length) o.liveMembers = live;
    }
    return o;
  }

  /** Whether any object of the table (retired and strays included) is a single next hop through `iface`. */
  through(iface: string): boolean {
    for (const o of this.byId.values()) if (o.hop !== null && o.hop.interface === iface) return true;
    return false;
  }

  /** Whether single next hop `m` goes through a tunnel that is down. */
  isDown(m: NhObject): boolean {
    return m.hop !== null && m.hop.interface !== undefined && this.down.has(m.hop.interface);
  }

  /**
   * Single next hops the kernel need not hold: through a tunnel that is
   * down, named by no route, and held only by groups that leave them out
   * (liveMembers) — none installed or about to be holds them. install()
   * does not make them, collect deletes them, restore() makes them again.
   * Looked at only while a tunnel is down.
   */
  parked(): Set<NhObject> {
    const out = new Set<NhObject>();
    if (this.down.size === 0) return out;
    for (const o of this.byKey.values()) if (o.members === null && o.users === o.groups && this.isDown(o)) out.add(o);
    if (out.size === 0) return out;
    const hold = (g: NhObject): void => {
      if (g.members !== null) for (const m of kernelMembers(g)) out.delete(m);
    };
    for (const g of this.byKey.values()) hold(g);
    for (const g of this.strays.values()) if (g.installed) hold(g);
    for (const r of this.retired.values()) for (const g of r) if (g.installed) hold(g);
    return out;
  }

  /**
   * PIC: tunnels came back (no longer in `down`). The groups of their key
   * (not retired: those go once their routes are rewritten) that left members
   * out whose tunnels are up again, and those members' single next hops the
   * kernel lacks: LinuxFib adds the single ones, then replaces each group in
   * place with its members through live tunnels (its routes follow it: no
   * write per route).
   */
  restorable(): { singles: NhObject[]; groups: NhObject[] } {
    const singles = new Set<NhObject>();
    const groups: NhObject[] = [];
    for (const o of this.byKey.values()) {
      if (o.members === null || o.liveMembers === undefined || !o.installed) continue;
      const held = o.liveMembers;
      if (!o.members.some((m) => !held.includes(m) && !this.isDown(m))) continue;
      groups.push(o);
      for (const m of o.members) if (!m.installed && !this.isDown(m)) singles.add(m);
    }
    return { singles: [...singles], groups };
  }

  private register(key: string, id: number, hop: FibNextHop | null, members: NhObject[] | null, backup: FibNextHop | null = null): NhObject {
    const v4Gateway = hop !== null ? hop.address !== undefined && !hop.address.includes(':') : members!.some((m) => m.v4Gateway);
    const o: NhObject = { key, id, hop, members, users: 0, groups: 0, installed: false, v4Gateway, backup };
    this.byKey.set(key, o);
    this.byId.set(id, o);
    return o;
  }
}

/** The kernel object that `o` is. */
export function toNexthopObject(o: NhObject, protocol: number): NexthopObject {
  if (o.members !== null) return { id: o.id, protocol, group: kernelMembers(o).map((m) => ({ id: m.id, weight: 1 })) };
  const nh: NexthopObject = { id: o.id, protocol, interface: o.hop!.interface! };
  if (o.hop!.address !== undefined) nh.address = o.hop!.address;
  return nh;
}
