/**
 * The Linux FIB through rtnetlink. Every route this backend writes carries the
 * agent's tag: its protocol number and its own metric in the configured table
 * (BIRD's kernel protocol does the same). The tag is how it finds its own
 * routes again after a restart, and the kernel's key: a route of the same
 * prefix with another metric is another route, so the operator's stays beside
 * ours. A new route goes in with NLM_F_EXCL, so an operator's route with our
 * very metric is never overwritten; replace and delete name our metric and
 * protocol, so they match nothing but ours.
 *
 * Where the kernel has nexthop objects (Linux 5.3), a route names the object
 * of its next-hop set (RTA_NH_ID) instead of carrying gateway and device:
 * one object per set, ours by protocol and id range (linux-nexthops.ts), so
 * that one object replaced moves every route over it. Detected once; without
 * them routes carry their next hops as before.
 */
import { readFileSync } from 'node:fs';
import type { KernelRoute, NexthopWrite, RouteOp, RouteOps, RouteTag, RouteWrite } from '#netlink/types';
import { errnoText } from '#netlink/errors';
import { OP_ADD, OP_DELETE, type FibBackend, type FibBatch, type FibNextHop, type FibOp, type FibRoute, type LinuxRouteTag } from './types.js';
import { BatchWrites, OpWrites, type FibWrites } from './writes.js';
import { hostPrefix, longestMatch } from './pin.js';
import { NH_ID_FIRST, NH_ID_LAST, NexthopTable, kernelMembers, ourId, toNexthopObject, type NhObject } from './linux-nexthops.js';
import { TunnelMss } from './advmss.js';
import { hopLimitOf, hopLimits } from './hoplimit.js';
import { errorText } from '#lib/error-text';

const ENOENT = 2;
const ESRCH = 3;
const EINVAL = 22;
const MAIN_TABLE = 254;
const EEXIST = 17;
const ENETDOWN = 100;
const ENOBUFS = 105;
const ETIMEDOUT = 110;
/** Attempts at an object whose id turned out to be taken (EEXIST) before its routes go without it. */
const ID_ATTEMPTS = 3;

/** table: kernel table id (254 = main, ids above 255 are fine); protocol: rtm_protocol; metric: RTA_PRIORITY. */
export type LinuxFibOptions = LinuxRouteTag;

/** Where LinuxFib says how it writes routes (a pino Logger fits). */
export interface LinuxFibLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface LinuxFibExtras {
  log?: LinuxFibLog;
  /** false: routes carry their next hops themselves, as before nexthop objects (default true where the kernel has them). */
  nexthopObjects?: boolean;
}

export class LinuxFib implements FibBackend {
  readonly name = 'linux' as const;
  private tag: RouteTag;
  /** Nexthop objects (linux-nexthops.ts): detected once, at the first dump or write; null: routes carry their own next hops. */
  private nh: Promise<NexthopTable | null> | null = null;
  /**
   * Our routes that name none of our objects although their next hops could
   * (written per route by an earlier run, or when the object could not be
   * made: 0), or name an object their key does not find (its id): a stray
   * (linux-nexthops.ts), or a new object written while a retired one of the
   * same key still had routes (NexthopTable.shadowed). Their `previous`
   * release goes by this entry. Empty in the steady state; after a restart,
   * the routes on strays until they are rewritten or withdrawn.
   */
  private readonly legacy = new Map<string, number>();
  /** Whether objects' users are known (a dump counted them, or none of ours existed): only then are unused ones deleted. */
  private counted = false;
  /** Tunnels failed over (failover()) and not back yet (restore()). */
  private readonly down = new Set<string>();
  /**
   * Of `down`, tunnels deleted for good (forget()) that objects of the table
   * still go through: they leave `down` once the last such object is gone
   * (collect), not before, so that restore() never gives a group a member
   * through a deleted tunnel back.
   */
  private readonly forgotten = new Set<string>();
  /** Without nexthop objects: routes of an earlier run that still name one (see dumpWithout). */
  private naming = 0;
  /** The tunnels' MTUs: routes through them carry RTAX_ADVMSS (advmss.ts). */
  private readonly mss = new TunnelMss();

  /** `netlink` stays the caller's: close() leaves it open (the tunnel backend shares it). */
  constructor(
    private readonly netlink: RouteOps,
    opts: LinuxFibOptions,
    private readonly extras: LinuxFibExtras = {},
  ) {
    this.tag = { table: opts.table, protocol: opts.protocol, metric: opts.metric };
  }

  /** How routes are written: naming nexthop objects, or with their own next hops; null before the first dump or write. */
  async nexthopMode(): Promise<'objects' | 'routes'> {
    return (await this.nexthops()) === null ? 'routes' : 'objects';
  }

  /** The kernel's routes with our tag, as dumpEach visits them. */
  async dump(): Promise<FibRoute[]> {
    const out: FibRoute[] = [];
    await this.dumpEach(
      (r) => out.push(r),
      () => (out.length = 0),
    );
    return out;
  }

  /**
   * The kernel's routes with our tag as decoded (a KernelRoute is a FibRoute),
   * one at a time; a route naming an object comes with the object's next
   * hops. With nexthop objects, their users are counted here and those of
   * ours nothing uses are deleted.
   */
  async dumpEach(visit: (r: FibRoute) => void, restart: () => void): Promise<void> {
    const table = await this.nexthops();
    if (table === null) return this.dumpWithout(visit, restart);
    const objects = await this.netlink.nexthopObjects!();
    // Which objects are ours is known from the objects alone, except among
    // duplicates (a crash's leftovers), where the one more routes name wins:
    // the routes are judged against this first guess while they stream by,
    // and once more (a second dump) only when the counts chose otherwise.
    table.rebuild(objects, new Map());
    const guess = new Set<number>();
    for (const o of table.objects()) guess.add(o.id);
    let named = new Map<number, number>();
    this.legacy.clear();
    await this.eachRoute(
      (r) => {
        if (r.nhId !== undefined) named.set(r.nhId, (named.get(r.nhId) ?? 0) + 1);
        this.noteLegacy(table, r);
        visit(r);
      },
      () => {
        named = new Map();
        this.legacy.clear();
        restart();
      },
    );
    const { unheld } = table.rebuild(objects, named);
    let same = true;
    for (const o of table.objects()) if (!guess.has(o.id)) same = false;
    if (!same) {
      this.legacy.clear();
      await this.eachRoute(
        (r) => this.noteLegacy(table, r),
        () => this.legacy.clear(),
      );
    }
    this.counted = true;
    await this.collect(table, unheld.filter((s) => s.users === 0).map((s) => s.id));
  }

  /** A dumped route of ours that names a stray, or none of our objects though its next hops could: see `legacy`. */
  private noteLegacy(table: NexthopTable, r: KernelRoute): void {
    if (r.nhId !== undefined && table.byIdOf(r.nhId) !== undefined) {
      if (table.isStray(r.nhId)) this.legacy.set(r.prefix, r.nhId);
      return;
    }
    if (table.keyOf(r.nexthops) !== null) this.legacy.set(r.prefix, 0);
  }

  /** Our routes, streamed where the netlink client can. */
  private eachRoute(visit: (r: KernelRoute) => void, restart: () => void): Promise<void> {
    const { table, protocol, metric } = this.tag;
    if (this.netlink.routesEach !== undefined) return this.netlink.routesEach(table, protocol, metric, visit, restart);
    return this.netlink.routes(table, protocol, metric).then((rs) => {
      for (const r of rs) visit(r);
    });
  }

  apply(ops: FibOp[]): Promise<{ prefix: string; error: string }[]> {
    return this.write(new OpWrites(ops));
  }

  /** The FibManager's columns: requests encoded from prefix and list numbers, no object or text per route. */
  applyBatch(batch: FibBatch): Promise<{ prefix: string; error: string }[]> {
    return this.write(new BatchWrites(batch));
  }

  private async write(w: FibWrites): Promise<{ prefix: string; error: string }[]> {
    const n = w.length;
    if (n === 0) return [];
    const table = await this.nexthops();
    // The ops go as they are: no request object per route.
    const advmss = this.mss.forWrites(w);
    const hops = hopLimits(w, this.isTunnel);
    if (table === null) {
      const failures = await this.netlink.routeWrite(this.tag, w, undefined, advmss, hops);
      if (this.naming > 0) await this.leaveObjects(w, failures);
      return this.failures(w, failures);
    }
    const ids = new Uint32Array(n);
    const named = new Array<NhObject | null>(n).fill(null);
    for (let i = 0; i < n; i++) {
      const hops = w.nexthops(i);
      if (hops !== null) named[i] = table.acquire(hops, w.v6(i), w.backup(i));
    }
    // Objects before the routes that name them; a route whose object could not be made carries its next hops.
    await this.install(table);
    for (let i = 0; i < n; i++) {
      const o = named[i];
      if (o === null || o === undefined) continue;
      if (o.installed) ids[i] = o.id;
      else {
        table.release(o);
        named[i] = null;
      }
    }
    let failures = await this.netlink.routeWrite(this.tag, w, ids, advmss, hops);
    // "Nexthop id does not exist": the kernel removed the object with its device (and the routes naming it).
    if (failures.some((f) => f.errno === -EINVAL && ids[f.index] !== 0)) failures = await this.retryGone(table, w, ids, named, failures);
    const errnos = new Map<number, number>();
    for (const f of failures) errnos.set(f.index, f.errno);
    let uncertain = false;
    for (let i = 0; i < n; i++) {
      const kind = w.kind(i);
      let errno = errnos.size > 0 ? (errnos.get(i) ?? 0) : 0;
      // Deleting what is already gone (its interface went first) reached the goal.
      if (kind === OP_DELETE && errno === -ESRCH) errno = 0;
      if (errno !== 0) {
        const o = named[i];
        if (o !== null && o !== undefined) table.release(o);
        // Written or not, nobody knows: no object is deleted on this count.
        if (errno === -ETIMEDOUT || errno === -ENOBUFS) uncertain = true;
        continue;
      }
      if (kind !== OP_ADD) this.releasePrevious(table, w, i);
      const hops = w.nexthops(i);
      const o = named[i];
      // A route written with its own next hops though they could name an object (rare): its text is made.
      if (hops !== null && o === null && table.keyOf(hops) !== null) this.legacy.set(w.prefix(i), 0);
      // Or naming a new object of a key whose retired one keeps routes (the RIB wrote it through a tunnel
      // failed over and not back yet, before withdrawing it): found by prefix, so that each release finds the
      // object its route named. Not while the retired object's routes are all being rewritten (restore():
      // NexthopTable.rewriting), as in the restore's flush, which moves them all: no text per route then.
      else if (o !== null && o !== undefined && table.shadowed(o)) this.legacy.set(w.prefix(i), o.id);
    }
    if (!uncertain) await this.collect(table, []);
    return this.failures(w, failures);
  }

  /**
   * The dump without nexthop objects. A route of an earlier run that names
   * one (the agent ran with them before) is reported without next hops, so
   * the manager rewrites it with its own (a replace in place: zebra, which
   * ignores routes naming an object, sees it then) or deletes it.
   */
  private async dumpWithout(visit: (r: FibRoute) => void, restart: () => void): Promise<void> {
    this.naming = 0;
    await this.eachRoute(
      (r) => {
        if (r.nhId === undefined) return visit(r);
        this.naming++;
        visit({ prefix: r.prefix, nexthops: [] });
      },
      () => {
        this.naming = 0;
        restart();
      },
    );
    if (this.naming > 0) this.extras.log?.info({ routes: this.naming }, 'routes of an earlier run name nexthop objects: rewritten with their own next hops');
  }

  /** Counts the routes dumpWithout reported that are rewritten or gone; with the last, our objects go too. */
  private async leaveObjects(w: FibWrites, failures: readonly { index: number; errno: number }[]): Promise<void> {
    const failed = new Set(failures.filter((f) => !(w.kind(f.index) === OP_DELETE && f.errno === -ESRCH)).map((f) => f.index));
    for (let i = 0; i < w.length; i++) {
      if (w.previous(i)?.length === 0 && !failed.has(i)) this.naming--;
    }
    if (this.naming > 0 || this.netlink.nexthopObjects === undefined || this.netlink.nexthopWrite === undefined) return;
    const ours = (await this.netlink.nexthopObjects(this.tag.protocol)).filter((n) => ourId(n.id));
    ours.sort((a, b) => Number(b.group !== undefined) - Number(a.group !== undefined));
    if (ours.length > 0) await this.netlink.nexthopWrite(ours.map((n): NexthopWrite => ({ op: 'delete', id: n.id })));
  }

  /** "PREFIX: REASON" per failed op: the only texts a batch of columns makes. */
  private failures(w: FibWrites, failures: readonly { index: number; errno: number }[]): { prefix: string; error: string }[] {
    const failed: { prefix: string; error: string }[] = [];
    for (const r of failures) {
      const kind = w.kind(r.index);
      if (kind === OP_DELETE && r.errno === -ESRCH) continue;
      const error =
        kind === OP_ADD && r.errno === -EEXIST
          ? `another route in table ${this.tag.table} has metric ${this.tag.metric} for this prefix; not overwritten (choose another dataplane.linux.metric)`
          : errnoText(r.errno);
      failed.push({ prefix: w.prefix(r.index), error });
    }
    return failed;
  }

  /** Op i's previous route is gone or replaced: the object it named has one user less. */
  private releasePrevious(table: NexthopTable, w: FibWrites, i: number): void {
    // A text per op only while routes of ours name a stray or no object (legacy: empty in the steady state).
    if (this.legacy.size > 0) {
      const prefix = w.prefix(i);
      const stray = this.legacy.get(prefix);
      if (stray !== undefined) {
        this.legacy.delete(prefix);
        // A stray goes with the last route naming it (collect), like any object.
        if (stray !== 0) table.releaseId(stray);
        return;
      }
    }
    const o = table.lookup(w.previous(i)!, w.v6(i), w.previousBackup(i));
    if (o !== null) table.release(o);
  }

  /**
   * Creates the objects not in the kernel yet: single next hops first, then
   * groups of installed members, each phase one batch. An id somebody else
   * took meanwhile (EEXIST) gets another; any other failure leaves the object
   * out, and its routes carry their next hops.
   */
  private async install(table: NexthopTable): Promise<void> {
    // Members a group leaves out while their tunnels are down, and no route names: not made until restore().
    const parked = table.parked();
    for (const groups of [false, true]) {
      let pending: NhObject[] = [];
      for (const o of table.objects()) {
        if (o.installed || (o.members !== null) !== groups) continue;
        if (groups ? kernelMembers(o).some((m) => !m.installed) : parked.has(o)) continue;
        pending.push(o);
      }
      for (let attempt = 0; attempt < ID_ATTEMPTS && pending.length > 0; attempt++) {
        const writes: NexthopWrite[] = pending.map((o) => ({ op: 'add', nexthop: toNexthopObject(o, this.tag.protocol) }));
        const failed = await this.netlink.nexthopWrite!(writes);
        for (const o of pending) o.installed = true;
        const again: NhObject[] = [];
        for (const f of failed) {
          const o = pending[f.index]!;
          o.installed = false;
          if (f.errno === -EEXIST) {
            table.reassign(o);
            again.push(o);
          } else {
            this.extras.log?.warn({ id: o.id, key: o.key, err: errnoText(f.errno) }, 'nexthop object not created: its routes carry their next hops');
          }
        }
        pending = again;
      }
    }
  }

  /**
   * Routes failed because their object is gone (its device was deleted, and
   * the kernel took the object and its routes with it): the objects the
   * kernel no longer has are made again, and those routes written once more.
   */
  private async retryGone(
    table: NexthopTable,
    w: FibWrites,
    ids: Uint32Array,
    named: (NhObject | null)[],
    failures: { index: number; errno: number }[],
  ): Promise<{ index: number; errno: number }[]> {
    const present = new Set((await this.netlink.nexthopObjects!(this.tag.protocol)).map((n) => n.id));
    for (const o of table.objects()) if (o.installed && !present.has(o.id)) o.installed = false;
    await this.install(table);
    const retry = failures.filter((f) => f.errno === -EINVAL && ids[f.index] !== 0);
    const subOps: FibOp[] = [];
    const subIds = new Uint32Array(retry.length);
    for (const f of retry) {
      const o = named[f.index]!;
      if (!o.installed) {
        table.release(o);
        named[f.index] = null;
      }
      subIds[subOps.length] = o.installed ? o.id : 0;
      subOps.push(w.op(f.index));
    }
    const subWrites = new OpWrites(subOps);
    const written = await this.netlink.routeWrite(this.tag, subOps, subIds, this.mss.forBatch(subOps), hopLimits(subWrites, this.isTunnel));
    const again = new Map(written.map((f) => [retry[f.index]!.index, f.errno]));
    const out: { index: number; errno: number }[] = [];
    for (const f of failures) {
      if (!(f.errno === -EINVAL && ids[f.index] !== 0)) out.push(f);
      else if (again.has(f.index)) out.push({ index: f.index, errno: again.get(f.index)! });
    }
    return out;
  }

  tunnelMtu(ifname: string, mtu: number | null): void {
    this.mss.set(ifname, mtu);
  }

  /** The agent's tunnels are those with an MTU recorded (tunnelMtu): their peers' host routes carry a hop limit (hoplimit.ts). */
  private readonly isTunnel = (ifname: string): boolean => this.mss.has(ifname);

  /**
   * Our routes through a tunnel whose MTU changed (all of ours at the first
   * call: routes of an earlier run) get the advmss of the MTU now, each
   * rewritten in place (a replace naming its own object or next hops); a
   * host route to a tunnel peer its hop limit too (hoplimit.ts: routes of a
   * version before it have none).
   */
  async retune(): Promise<{ rewritten: number; failed: { prefix: string; error: string }[] }> {
    const changed = this.mss.take();
    if (changed !== 'all' && changed.size === 0) return { rewritten: 0, failed: [] };
    const writes: (RouteWrite & { op: 'replace' })[] = [];
    let ids: number[] = [];
    let mss: number[] = [];
    let hops: number[] = [];
    await this.eachRoute(
      (r) => {
        if (changed !== 'all' && !r.nexthops.some((nh) => nh.interface !== undefined && changed.has(nh.interface))) return;
        const want = this.mss.of(r.prefix, r.nexthops);
        const hop = hopLimitOf(r.prefix, r.nexthops, this.isTunnel);
        if ((r.advmss ?? 0) === want && (r.hoplimit ?? 0) === hop) return;
        writes.push({ op: 'replace', route: { prefix: r.prefix, nexthops: r.nexthops } });
        ids.push(r.nhId ?? 0);
        mss.push(want);
        hops.push(hop);
      },
      () => {
        writes.length = 0;
        ids = [];
        mss = [];
        hops = [];
      },
    );
    if (writes.length === 0) return { rewritten: 0, failed: [] };
    const failed = (await this.netlink.routeWrite(this.tag, writes, ids, mss, hops)).map((f) => ({ prefix: writes[f.index]!.route.prefix, error: errnoText(f.errno) }));
    this.extras.log?.info({ routes: writes.length, failed: failed.length }, 'routes rewritten with the advmss of their tunnel MTU (and a tunnel peer\'s hop limit)');
    return { rewritten: writes.length - failed.length, failed };
  }

  /**
   * PIC: the tunnels on `interfaces` are dead. Each of our objects through
   * them is replaced by its backup next hop (its routes move with it: one
   * write for all of them), or deleted when it has none (the kernel deletes
   * the routes naming it). Groups lose their dead members. Without nexthop
   * objects nothing happens here and the RIB's writes do it all.
   */
  async failover(interfaces: readonly string[]): Promise<{ moved: number; removed: number; rewrite?: boolean }> {
    const table = await this.nexthops();
    if (table === null || interfaces.length === 0) return { moved: 0, removed: 0 };
    for (const i of interfaces) {
      this.down.add(i);
      this.forgotten.delete(i);
    }
    // The FibManager takes back the rewrite marks not flushed yet on routes through them.
    table.notRewriting(new Set(interfaces));
    const plan = table.failover(new Set(interfaces));
    if (plan.writes.length === 0) return { moved: 0, removed: 0 };
    const failed = await this.netlink.nexthopWrite!(plan.writes);
    const errnos = new Map(failed.map((f) => [f.index, f.errno]));
    // A replace the kernel refused (a family the routes cannot take): the object goes instead.
    const fallback: NexthopWrite[] = [];
    const fallbackOf: NhObject[] = [];
    for (let i = 0; i < plan.writes.length; i++) {
      const w = plan.writes[i]!;
      const o = plan.objects[i]!;
      const errno = errnos.get(i) ?? 0;
      if (w.op === 'delete') {
        if (errno === 0 || errno === -ENOENT) o.installed = false;
      } else if (errno !== 0) {
        fallback.push({ op: 'delete', id: o.id });
        fallbackOf.push(o);
        this.extras.log?.warn({ id: o.id, err: errnoText(errno) }, 'failover: nexthop object not moved to its backup; deleted');
      }
    }
    if (fallback.length > 0) {
      const again = new Map((await this.netlink.nexthopWrite!(fallback)).map((f) => [f.index, f.errno]));
      for (let i = 0; i < fallbackOf.length; i++) if ((again.get(i) ?? 0) === 0 || again.get(i) === -ENOENT) fallbackOf[i]!.installed = false;
    }
    // The objects moved or went: a route the RIB wants unchanged when the tunnel is back still names a
    // retired object, and is written again then (FibManager.restore), not before (into the dead tunnel).
    return { moved: plan.moved - fallback.length, removed: plan.removed + fallback.length, rewrite: true };
  }

  /**
   * The tunnels on `interfaces` are back (their sessions are up). The groups
   * made while some of their members' tunnels were down (an ECMP set written
   * again when one of its tunnels came back while another was still failed
   * over: NexthopTable.group) take back the members through these tunnels,
   * each replaced in place, members added first where the kernel lacks them.
   * Returns how many groups got members back. The routes through the tunnels
   * are rewritten by FibManager (restore's rewrite mark); a group the kernel
   * refused to change is retired, and `rewrite` asks for that rewrite, which
   * puts its routes on a new group with every live member.
   */
  async restore(interfaces: readonly string[]): Promise<{ restored: number; rewrite?: boolean }> {
    for (const i of interfaces) {
      this.down.delete(i);
      this.forgotten.delete(i);
    }
    const table = this.nh === null ? null : await this.nexthops();
    if (table === null) return { restored: 0 };
    // The retired objects through these tunnels: all their routes are rewritten now (and asked for here).
    const retired = table.rewriting(new Set(interfaces));
    const { singles, groups } = table.restorable();
    if (groups.length === 0) return retired > 0 ? { restored: 0, rewrite: true } : { restored: 0 };
    if (singles.length > 0) {
      const failed = await this.netlink.nexthopWrite!(singles.map((o): NexthopWrite => ({ op: 'add', nexthop: toNexthopObject(o, this.tag.protocol) })));
      const errnos = new Map(failed.map((f) => [f.index, f.errno]));
      for (let i = 0; i < singles.length; i++) {
        const errno = errnos.get(i) ?? 0;
        if (errno === 0) singles[i]!.installed = true;
        else this.extras.log?.warn({ id: singles[i]!.id, key: singles[i]!.key, err: errnoText(errno) }, 'restore: nexthop object not created: groups keep it out');
      }
    }
    const held = groups.map((g) => g.members!.filter((m) => m.installed && !table.isDown(m)));
    const failed = await this.netlink.nexthopWrite!(
      groups.map((g, i): NexthopWrite => ({ op: 'replace', nexthop: { id: g.id, protocol: this.tag.protocol, group: held[i]!.map((m) => ({ id: m.id, weight: 1 })) } })),
    );
    const errnos = new Map(failed.map((f) => [f.index, f.errno]));
    let restored = 0;
    let rewrite = false;
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      const errno = errnos.get(i) ?? 0;
      if (errno !== 0) {
        this.extras.log?.warn({ id: g.id, key: g.key, err: errnoText(errno) }, 'restore: nexthop group not given its members back; its routes are written again');
        table.retireObject(g);
        rewrite = true;
        continue;
      }
      restored++;
      if (held[i]!.length === g.members!.length) delete g.liveMembers;
      else g.liveMembers = held[i]!;
    }
    return rewrite || retired > 0 ? { restored, rewrite: true } : { restored };
  }

  /**
   * The tunnels on `interfaces` are deleted for good (their neighbor left the
   * configuration) and the RIB has withdrawn the routes through them: they
   * are no longer down, so that nothing of theirs stays (parked() scans every
   * object on each write while a tunnel is down) and a new neighbor on the
   * same interface name is not taken for failed over. While objects of the
   * table still go through one (routes the RIB has not withdrawn yet), it
   * stays down until collect drops the last of them.
   */
  async forget(interfaces: readonly string[]): Promise<void> {
    for (const i of interfaces) if (this.down.has(i)) this.forgotten.add(i);
    const table = this.nh === null ? null : await this.nexthops();
    this.purgeForgotten(table);
  }

  /** The forgotten tunnels no object goes through any more leave `down`. */
  private purgeForgotten(table: NexthopTable | null): void {
    for (const i of this.forgotten) {
      if (table !== null && table.through(i)) continue;
      this.forgotten.delete(i);
      this.down.delete(i);
    }
  }

  /** Deletes our objects nothing uses (strays included, and `unheld`: ours the table cannot hold), once users are counted. */
  private async collect(table: NexthopTable, unheld: readonly number[]): Promise<void> {
    if (!this.counted) return;
    const unused = table.unused();
    const doomed = unused.filter((o) => o.installed);
    for (const o of unused) table.drop(o);
    // Single next hops through a tunnel that is down that only groups leaving them out hold: out of the
    // kernel until restore() (the last route naming one itself went; the table keeps them).
    const parked: NhObject[] = [];
    if (this.down.size > 0) for (const o of table.parked()) if (o.installed) parked.push(o);
    if (doomed.length === 0 && unheld.length === 0 && parked.length === 0) return this.purgeForgotten(table);
    // Groups first (unused() lists them before single next hops), so a member never leaves a live group.
    const ids = [...unheld, ...doomed.map((o) => o.id), ...parked.map((o) => o.id)];
    const failed = await this.netlink.nexthopWrite!(ids.map((id): NexthopWrite => ({ op: 'delete', id })));
    const kept = new Set(failed.filter((f) => f.errno !== -ENOENT).map((f) => ids[f.index]!));
    for (const o of parked) if (!kept.has(o.id)) o.installed = false;
    for (const id of ids) if (!kept.has(id)) table.freeId(id);
    if (kept.size > 0) this.extras.log?.warn({ ids: [...kept] }, 'unused nexthop objects not deleted');
    this.purgeForgotten(table);
  }

  /** Detection, once: the kernel's nexthop objects (Linux 5.3), and whether creating one of ours works. */
  private nexthops(): Promise<NexthopTable | null> {
    this.nh ??= this.detect();
    return this.nh;
  }

  private async detect(): Promise<NexthopTable | null> {
    const nl = this.netlink;
    const log = this.extras.log;
    const without = (why: string): null => {
      log?.warn({ reason: why }, 'routes carry their own next hops (no nexthop objects)');
      return null;
    };
    if (this.extras.nexthopObjects === false) {
      log?.info({}, 'nexthop objects off: routes carry their own next hops');
      return null;
    }
    if (nl.nexthopObjects === undefined || nl.nexthopWrite === undefined) return without('the netlink client has no nexthop objects');
    let objects;
    try {
      objects = await nl.nexthopObjects();
    } catch (err) {
      return without(`the kernel has none (Linux 5.3 or later): ${errorText(err)}`);
    }
    const table = new NexthopTable(this.tag.protocol);
    table.down = this.down;
    table.rebuild(objects, new Map());
    // Nothing of ours from an earlier run: every user will be one this run writes.
    this.counted = !objects.some((o) => o.protocol === this.tag.protocol && ourId(o.id));
    // A blackhole object of ours, made and deleted: RTM_NEWNEXTHOP may be refused where the dump works.
    const id = table.nextId();
    let failed;
    try {
      failed = await nl.nexthopWrite([
        { op: 'add', nexthop: { id, protocol: this.tag.protocol, blackhole: true } },
        { op: 'delete', id },
      ]);
    } catch (err) {
      return without(`RTM_NEWNEXTHOP failed: ${errorText(err)}`);
    }
    // ENETDOWN: the kernel took the request and wants the loopback up for a blackhole; objects on our devices work.
    const refused = failed.find((f) => f.index === 0 && f.errno !== -ENETDOWN);
    if (refused !== undefined) return without(`RTM_NEWNEXTHOP failed: ${errnoText(refused.errno)}`);
    const compat = nexthopCompatMode();
    log?.info({ ids: `${hex(NH_ID_FIRST)}-${hex(NH_ID_LAST)}`, protocol: this.tag.protocol, nexthopCompatMode: compat }, 'routes name nexthop objects, one per next-hop set');
    if (compat === 1) {
      log?.info(
        {},
        'net.ipv4.nexthop_compat_mode is 1: the kernel announces every route of a changed object, so a failover costs ~0.5 s per million routes through the dead tunnel; 0 makes it ~2 ms (docs/operations.md)',
      );
    }
    return table;
  }

  retag(to: LinuxRouteTag): void {
    const protocol = this.tag.protocol;
    this.tag = { table: to.table, protocol: to.protocol, metric: to.metric };
    // Our objects are those of our protocol: another protocol starts over (detected and counted again).
    if (to.protocol !== protocol) {
      this.nh = null;
      this.counted = false;
      this.down.clear();
      this.forgotten.clear();
    }
    this.legacy.clear();
  }

  /**
   * Moves our routes from `from` to the current tag: the new ones are written
   * first, then the old ones deleted, so traffic never finds neither. Where
   * only the protocol differs the kernel's key is the same, and one replace
   * per route moves it in place.
   */
  async migrate(from: { table: number; protocol: number; metric: number | null }): Promise<{ moved: number; failed: { prefix: string; error: string }[] }> {
    const tag = this.tag;
    if (from.table === tag.table && from.protocol === tag.protocol && from.metric === tag.metric) return { moved: 0, failed: [] };
    let ours = await this.netlink.routes(from.table, from.protocol, from.metric ?? undefined);
    if (from.metric === null && from.table === tag.table && from.protocol === tag.protocol) ours = ours.filter((r) => r.metric !== tag.metric);
    if (ours.length === 0) return { moved: 0, failed: [] };
    const inPlace = from.table === tag.table && from.metric === tag.metric;
    const writes = ours.map((r) => ({ op: inPlace ? ('replace' as const) : ('add' as const), route: r }));
    const failed: { prefix: string; error: string }[] = [];
    for (const f of await this.netlink.routeWrite(
      tag,
      writes,
      undefined,
      ours.map((r) => r.advmss ?? 0),
      ours.map((r) => r.hoplimit ?? 0),
    )) {
      failed.push({ prefix: writes[f.index]!.route.prefix, error: errnoText(f.errno) });
    }
    if (!inPlace) {
      const deletes: RouteOp[] = ours.map((r) => ({ op: 'delete', route: { prefix: r.prefix, table: from.table, protocol: from.protocol, metric: r.metric } }));
      for (const f of await this.netlink.routeBatch(deletes)) {
        if (f.errno !== 0 && f.errno !== -ESRCH) failed.push({ prefix: deletes[f.index]!.route.prefix, error: errnoText(f.errno) });
      }
    }
    await this.afterMigrate(from.protocol, failed.length === 0);
    return { moved: ours.length, failed };
  }

  /**
   * The moved routes carry their own next hops: counted again as such (they
   * move onto objects at their next change). Objects of the old protocol in
   * our range named only the old routes; they go once every route has moved.
   */
  private async afterMigrate(fromProtocol: number, allMoved: boolean): Promise<void> {
    if ((await this.nexthops()) === null) return;
    await this.dump();
    if (fromProtocol === this.tag.protocol || !allMoved) return;
    const old = (await this.netlink.nexthopObjects!(fromProtocol)).filter((n) => ourId(n.id));
    // Groups before their members.
    old.sort((a, b) => Number(b.group !== undefined) - Number(a.group !== undefined));
    if (old.length > 0) await this.netlink.nexthopWrite!(old.map((n): NexthopWrite => ({ op: 'delete', id: n.id })));
  }

  /**
   * The kernel's own lookup first (policy rules included). It is the answer
   * unless it is our own pin for the address (kept as it is) or it leads into
   * one of our tunnels — a learned route covers the endpoint — and then the
   * longest match in the main table among routes that are not ours and do not
   * lead into a tunnel is.
   */
  async underlayPath(address: string, tunnels: ReadonlySet<string>, fresh = false): Promise<FibNextHop[] | null> {
    const host = hostPrefix(address);
    if (host === null) return null;
    const r = await this.netlink.routeLookup(address);
    if (r === null) return null;
    const ours = r.protocol === this.tag.protocol && r.metric === this.tag.metric;
    // Our own pin answers for itself unless the underlay may have moved under it (fresh).
    if (ours && r.prefix === host && !fresh) return r.nexthops;
    const intoTunnel = r.nexthops.some((nh) => nh.interface !== undefined && tunnels.has(nh.interface));
    if (!ours && !intoTunnel) return r.nexthops;
    const all = await this.netlink.routes(MAIN_TABLE, 0);
    const best = longestMatch(all, address, (c) =>
      (c.protocol === this.tag.protocol && c.metric === this.tag.metric) || c.nexthops.some((nh) => nh.interface !== undefined && tunnels.has(nh.interface)),
    );
    return best?.nexthops ?? null;
  }

  watchUnderlay(changed: () => void): () => void {
    const watch = this.netlink.watchRoutes;
    if (watch === undefined) return () => {};
    // The kernel drops our own routes' notifications (a full table would be a million of them).
    return watch.call(
      this.netlink,
      (r) => {
        if (r === null || r.protocol !== this.tag.protocol) changed();
      },
      { ignoreProtocol: this.tag.protocol },
    );
  }

  /** The kernel forwards with the route of the lowest metric among those of the prefix in the table. */
  async forwarding(prefix: string): Promise<{ ours: boolean; protocol: number; metric: number } | null> {
    let best: KernelRoute | null = null;
    for (const r of await this.netlink.routesOf(prefix, this.tag.table)) {
      if (best === null || (r.metric ?? 0) < (best.metric ?? 0)) best = r;
    }
    if (best === null) return null;
    const metric = best.metric ?? 0;
    return { ours: best.protocol === this.tag.protocol && metric === this.tag.metric, protocol: best.protocol, metric };
  }

  async close(): Promise<void> {
    // Nothing of its own to release.
  }
}

const hex = (n: number): string => `0x${n.toString(16)}`;

/**
 * net.ipv4.nexthop_compat_mode of this process's namespace (null: unknown).
 * With 1, the kernel's default, replacing an object announces each route that
 * names it (measured: 0.4-0.65 s per million routes); with 0 it takes ~2 ms.
 * The setting is the operator's: other daemons may rely on the expanded routes.
 */
function nexthopCompatMode(): number | null {
  try {
    const v = Number(readFileSync('/proc/sys/net/ipv4/nexthop_compat_mode', 'utf8').trim());
    return Number.isInteger(v) ? v : null;
  } catch {
    return null;
  }
}
