/**
 * A neighbor's BGP session as the RIB and our table see it: what happens at
 * Established (the previous session's paths leave, its stale routes are kept
 * or swept, our table goes out or waits for our restart), at each UPDATE and
 * End-of-RIB, and when the session goes down (RFC 4724 graceful restart and
 * RFC 9494 long-lived stale routes kept, or the routes withdrawn, with PIC
 * after the FIB's failover, in steps). The agent owns the neighbors and
 * their sessions; this reads and acts through SessionLifecycleContext.
 */
import type { Clock } from '#lib/clock';
import type { Logger } from '#lib/log';
import type { FibManager } from '#fib/index';
import type { LocRibChange, PeerRemoval, Rib } from '#bgp/rib/index';
import type { Negotiated, SessionDown } from '#bgp/session/index';
import type { UpdateMessage } from '#bgp/wire/types';
import { MAX_RECEIVED_PATHS, isEndOfRib } from '#bgp/rib/index';
import { addPathSendOf, peerRole } from './bgp.js';
import { peerPolicies } from './policy.js';
import { sendTable, type ChangeSender, type TableSendContext } from './table-send.js';
import { longLivedFamilies, type LongLivedStale } from './long-lived.js';
import type { RouteRefreshes } from './refresh.js';
import type { NeighborAdmin } from './admin.js';
import type { AgentState, Neighbor } from './neighbor.js';
import { errorText } from '#lib/error-text';

/**
 * A session's paths leave the RIB this many at a time, the event loop
 * turning in between (the changes go to the FIB and the peers meanwhile): a
 * full table's withdrawal held a million changes at once (~100 MB) and kept
 * the loop busy for seconds.
 */
const REMOVAL_STEP = 8192;
/** RFC 4724 §4.2: how long stale routes of a peer that came back may wait for its End-of-RIB (FRR's stalepath-time). */
const STALE_PATH_TIME_MS = 360_000;

export interface SessionLifecycleContext extends AgentState {
  rib: Pick<
    Rib,
    | 'addPeer'
    | 'applyUpdate'
    | 'endOfRibs'
    | 'exportFullSteps'
    | 'hasStale'
    | 'refusedPathCount'
    | 'removePeerSteps'
    | 'retainStale'
    | 'staleCount'
    | 'sweepStale'
  >;
  fibm: Pick<FibManager, 'failover' | 'restore'>;
  clock: Clock;
  log: Logger;
  fibLog: Logger;
  /** Routes carry their backup's next hops: a dead tunnel's routes move to them first (FibBackend.failover). */
  pic: boolean;
  /** Loc-RIB changes for the FIB and the Adj-RIBs-Out. */
  queue(changes: LocRibChange[]): void;
  /** Whether the neighbor is sent the redistributed OSPF route (bgp.advertise-ospf, as now loaded). */
  advertisesOspf(name: string, prefix: string): boolean;
  /** An End-of-RIB arrived: the sweep of an earlier run's routes may be due. */
  endOfRib(): void;
  longLived: Pick<LongLivedStale, 'begin' | 'forget' | 'inPhase'>;
  refresh: Pick<RouteRefreshes, 'inProgress' | 'onDown'>;
  admin: Pick<NeighborAdmin, 'afterUpdate'>;
  tableSend: TableSendContext;
  changeSender: Pick<ChangeSender, 'whenCaughtUp'>;
}

export class SessionLifecycle {
  /** Neighbors' paths being withdrawn from the RIB in steps (removeFromRib), by neighbor name. */
  private readonly removals = new Map<string, { removal: PeerRemoval; finished: Promise<void>; settle: () => void }>();
  /**
   * RFC 4724 §4.1: this run found forwarding state of an earlier one (its
   * routes in the FIB) and is the restarting speaker: OPENs carry the R bit,
   * and our table goes to graceful-restart peers only once the neighbors'
   * tables are back (the sweep, endRestart).
   */
  restarting = false;

  constructor(private readonly ctx: SessionLifecycleContext) {}

  onEstablished(name: string, neg: Negotiated): void {
    const n = this.ctx.neighbor(name);
    if (!n) return;
    n.negotiated = neg;
    n.eor.clear();
    n.restartTimer?.cancel();
    n.restartTimer = null;
    n.pendingRemoval?.();
    // The paths of its previous session leave the RIB before the new session's come in.
    this.finishRemoval(name);
    this.restoreAfterFailover(n);
    const resumed = this.ctx.rib.hasStale(name);
    this.ctx.rib.addPeer({
      id: name,
      asn: neg.peerAsn,
      routerId: neg.peerRouterId,
      address: neg.remoteAddress,
      localAddressV4: n.addr.localV4,
      localAddressV6: n.addr.localV6,
      localLinkLocal: n.addr.localLinkLocal,
      families: neg.families,
      extendedNextHop: neg.extendedNextHop,
      // RFC 9494 §4.3: long-lived stale routes go only to neighbors that negotiated the capability.
      ...(neg.longLived !== undefined ? { longLived: true } : {}),
      ...peerRole(neg),
      ...addPathSendOf(neg, n.cfg.bgp?.addPath?.send ?? 0),
      // Looked up at each use: a reload that changes advertise-ospf re-exports without a session reset.
      advertiseOspf: (prefix) => this.ctx.advertisesOspf(name, prefix),
    }, peerPolicies(this.ctx.config(), n.cfg));
    if (resumed) {
      // RFC 4724 §4.2: stale routes of a family whose forwarding state the peer did not keep go now;
      // RFC 9494 §4.2: for a family in its long-lived stale time, the F bit of the long-lived capability says.
      for (const f of neg.families) {
        const same = (g: { afi: number; safi: number; forwardingState: boolean }): boolean => g.afi === f.afi && g.safi === f.safi && g.forwardingState;
        const kept = this.ctx.longLived.inPhase(name, f.afi) ? (neg.longLived?.some(same) ?? false) : (neg.gracefulRestart?.families.some(same) ?? false);
        if (!kept) this.ctx.queue(this.ctx.rib.sweepStale(name, f.afi));
      }
      this.ctx.longLived.forget(name);
      if (this.ctx.rib.hasStale(name)) {
        n.staleTimer?.cancel();
        n.staleTimer = this.ctx.clock.setTimeout(() => {
          n.staleTimer = null;
          const gone = this.ctx.rib.staleCount(name);
          if (gone > 0) this.ctx.log.warn({ neighbor: name, routes: gone }, 'no End-of-RIB in time: stale routes removed (RFC 4724 §4.2)');
          this.ctx.queue(this.ctx.rib.sweepStale(name));
        }, STALE_PATH_TIME_MS);
      }
      this.ctx.log.info({ neighbor: name, stale: this.ctx.rib.staleCount(name) }, 'neighbor back after a restart: its stale routes stay until its End-of-RIB');
    }
    if (this.restarting && neg.gracefulRestart !== null) {
      // RFC 4724 §4.1: the peer keeps our old routes meanwhile; it gets our table with the neighbors' back in it.
      n.exportDeferred = true;
    } else {
      this.sendTable(name);
    }
    this.ctx.log.info(
      { neighbor: name, peerAsn: neg.peerAsn, holdTime: neg.holdTime, gracefulRestart: neg.gracefulRestart !== null },
      'session established',
    );
  }

  onUpdate(name: string, u: UpdateMessage): void {
    const n = this.ctx.neighbor(name);
    if (!n) return;
    const eor = isEndOfRib(u);
    if (eor) {
      n.eor.add(`${eor.afi}/${eor.safi}`);
      // RFC 4724 §4.2: what the restarted peer did not send again before its End-of-RIB is gone;
      // not in the middle of its enhanced route refresh of the family: its EoRR sweeps then (RFC 7313 §4).
      if (this.ctx.rib.hasStale(name) && !this.ctx.refresh.inProgress(name, eor.afi)) this.ctx.queue(this.ctx.rib.sweepStale(name, eor.afi));
      if (!this.ctx.rib.hasStale(name)) {
        n.staleTimer?.cancel();
        n.staleTimer = null;
      }
      this.ctx.endOfRib();
      return;
    }
    const refused = this.ctx.rib.refusedPathCount(name);
    this.ctx.queue(this.ctx.rib.applyUpdate(name, u));
    // RFC 7911: once per session, the first path past the bound per prefix (treated as withdrawn).
    if (refused === 0 && this.ctx.rib.refusedPathCount(name) > 0) {
      this.ctx.log.warn({ neighbor: name, limit: MAX_RECEIVED_PATHS }, 'ADD-PATH: more paths for one prefix than kept; the extra ones are treated as withdrawn');
    }
    this.ctx.admin.afterUpdate(name);
  }

  onDown(name: string, reason: string, how: SessionDown): void {
    const n = this.ctx.neighbor(name);
    const gr = n?.negotiated?.gracefulRestart ?? null;
    const longLived = longLivedFamilies(n?.negotiated ?? null, n?.cfg.bgp?.longLivedStaleTime);
    this.ctx.refresh.onDown(name);
    if (n) {
      n.negotiated = null;
      n.exportDeferred = false;
      n.staleTimer?.cancel();
      n.staleTimer = null;
    }
    // RFC 4724 §4.2: a session of a restart-capable peer that simply ended (no NOTIFICATION)
    // keeps its routes, stale, for its restart time: the peer is restarting, its forwarding goes on.
    // RFC 9494 §4.2: with long-lived graceful restart, then for the long-lived stale time (the
    // restart time may be 0), also when the peer went silent (our Hold Timer Expired). A silent
    // peer is not restarting (a dead tunnel): its routes go long-lived stale at once, least
    // preferred, so that other paths take over now rather than after its restart time.
    const silent = how.notification && how.holdTimerExpired === true;
    const graceful = !how.notification || (silent && longLived.length > 0);
    const restartTime = gr !== null && gr.families.length > 0 && !silent ? gr.restartTime : 0;
    if (n && gr !== null && (restartTime > 0 || longLived.length > 0) && graceful && !this.ctx.stopping()) {
      const kept = this.ctx.rib.retainStale(name);
      if (!this.ctx.rib.hasStale(name)) {
        // Nothing to keep (the session ended before the peer sent a route): the peer leaves the
        // RIB as without graceful restart, so that its next session finds no old one there.
        this.ctx.log.warn({ neighbor: name, reason, restartTime }, 'session down: no routes of it to keep for its graceful restart');
        void this.removeFromRib(name);
        return;
      }
      const over = (): void => {
        if (longLived.length > 0 && this.ctx.longLived.begin(name, longLived)) return;
        this.ctx.log.warn({ neighbor: name, restartTime }, 'neighbor not back within its restart time: withdrawing its routes');
        void this.withdrawAfterFailover(n);
      };
      n.restartTimer?.cancel();
      n.restartTimer = null;
      this.ctx.log.warn({ neighbor: name, reason, stale: kept, restartTime, longLived: longLived.length > 0 }, 'session down: keeping its routes for its graceful restart');
      if (restartTime === 0) over();
      else {
        n.restartTimer = this.ctx.clock.setTimeout(() => {
          n.restartTimer = null;
          if (n.negotiated !== null || !this.ctx.rib.hasStale(name)) return;
          over();
        }, restartTime * 1000);
      }
      return;
    }
    // A neighbor no longer in the table was removed from the configuration: its remover
    // (Agent.removeNeighbor) withdraws its routes, after the failover and in steps, as here.
    if (!n) return;
    this.ctx.log.warn({ neighbor: name, reason }, 'session down: withdrawing its routes');
    void this.withdrawAfterFailover(n);
  }

  /**
   * PIC: the routes through a neighbor that is gone move to their backups in
   * the FIB at once (one write per shared next-hop object), or go; then the
   * RIB withdraws its paths, and those writes find the routes there. The
   * failover goes first: withdrawing a full table from the RIB takes seconds
   * of CPU, which would otherwise come before it (1 M routes: 10 s). Issue
   * 10's failover clock runs from here until no FIB entry points into the tunnel.
   */
  withdrawAfterFailover(n: Neighbor): Promise<void> {
    const name = n.cfg.name;
    // A failover of its tunnel already running (the session ended, then the neighbor was removed): that one withdraws.
    if (n.pendingRemoval != null && n.withdrawal != null) return n.withdrawal;
    let done = false;
    let finished: () => void = () => undefined;
    const promise = new Promise<void>((resolve) => (finished = resolve));
    const withdraw = (): void => {
      if (done) return;
      done = true;
      if (n.pendingRemoval === withdraw) n.pendingRemoval = null;
      if (n.withdrawal === promise) n.withdrawal = null;
      void this.removeFromRib(name).then(finished);
    };
    if (!this.ctx.pic || this.ctx.stopping()) {
      withdraw();
      return promise;
    }
    n.pendingRemoval = withdraw;
    n.withdrawal = promise;
    const t0 = performance.now();
    void this.ctx.fibm
      .failover([n.spec.interface])
      .then((r) => {
        if (r.moved + r.removed > 0) this.ctx.fibLog.info({ neighbor: name, ...r, ms: Math.round(performance.now() - t0) }, 'failover: routes through the tunnel moved to their backups');
      })
      .catch((err: unknown) => this.ctx.fibLog.warn({ neighbor: name, err: errorText(err) }, 'failover not done; the RIB withdraws the routes'))
      .finally(withdraw);
    return promise;
  }

  /**
   * PIC: the neighbor's session is up, so its tunnel carries traffic: what a
   * failover took from the routes through it comes back (FibManager.restore;
   * VPP: its next hops' host routes in the PIC tables). The routes it sends
   * again as they were are not written (the RIB's withdrawal and their return
   * can meet in one flush), so nothing else would. Queued after the failover
   * when that is still running.
   */
  private restoreAfterFailover(n: Neighbor): void {
    if (!this.ctx.pic || this.ctx.stopping()) return;
    const name = n.cfg.name;
    void this.ctx.fibm
      .restore([n.spec.interface])
      .then((r) => {
        if (r.restored > 0) this.ctx.fibLog.info({ neighbor: name, ...r }, 'session back: the next hops a failover withdrew forward again');
      })
      .catch((err: unknown) => this.ctx.fibLog.warn({ neighbor: name, err: errorText(err) }, 'session back: next hops not restored after a failover'));
  }

  /**
   * Withdraws the neighbor's paths from the RIB in steps of REMOVAL_STEP
   * (Rib.removePeerSteps), each step's changes queued for the FIB and the
   * peers before the next; finishRemoval runs the rest at once. A withdrawal
   * already in progress goes on in its steps (its session has not come back:
   * onEstablished finishes it, so it covers every path of the neighbor).
   * Resolves once every step is queued, or the agent stops meanwhile.
   */
  private removeFromRib(name: string): Promise<void> {
    const current = this.removals.get(name);
    if (current !== undefined) return current.finished;
    const removal = this.ctx.rib.removePeerSteps(name);
    if (removal === null) return Promise.resolve();
    let settle: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (settle = resolve));
    const entry = { removal, finished, settle };
    this.removals.set(name, entry);
    const step = (): void => {
      if (this.removals.get(name) !== entry) return settle();
      this.ctx.queue(removal.next(REMOVAL_STEP));
      if (removal.done) {
        this.removals.delete(name);
        settle();
      } else if (!this.ctx.stopping()) setImmediate(step);
      else settle();
    };
    step();
    return finished;
  }

  /** The rest of a withdrawal in progress, at once (the neighbor is back, or a new session of its name comes up). */
  private finishRemoval(name: string): void {
    const entry = this.removals.get(name);
    if (entry === undefined) return;
    this.removals.delete(name);
    this.ctx.queue(entry.removal.next(Infinity));
    entry.settle();
  }

  cancelGracefulTimers(n: Neighbor): void {
    this.ctx.longLived.forget(n.cfg.name);
    n.restartTimer?.cancel();
    n.restartTimer = null;
    n.staleTimer?.cancel();
    n.staleTimer = null;
  }

  /**
   * Our whole table, then End-of-RIB, to a neighbor whose session just came
   * up (or whose wait for our restart ended): in steps paced by its socket
   * (table-send.ts). Stops when that session is no longer the one up.
   */
  private sendTable(name: string): void {
    const n = this.ctx.neighbor(name);
    const session = n?.session;
    const neg = n?.negotiated;
    if (!n || !session || !neg) return;
    const steps = this.ctx.rib.exportFullSteps(name);
    if (steps === null) return;
    const current = (): boolean => !this.ctx.stopping() && this.ctx.neighbor(name) === n && n.session === session && n.negotiated === neg;
    // End-of-RIB after what the neighbor came to be owed while the table went out (RFC 4724 §4.2).
    sendTable(this.ctx.tableSend, name, session, steps, this.ctx.rib.endOfRibs(name), current, undefined, (resume) => this.ctx.changeSender.whenCaughtUp(name, resume));
  }

  /** RFC 4724 §4.1: the deferral is over; the waiting peers get our table and End-of-RIB. */
  endRestart(): void {
    if (!this.restarting) return;
    this.restarting = false;
    for (const n of this.ctx.neighbors()) {
      if (!n.exportDeferred) continue;
      n.exportDeferred = false;
      if (n.negotiated) this.sendTable(n.cfg.name);
    }
    this.ctx.log.info('restart complete: tables sent to the neighbors');
  }
}
