/**
 * Route refresh, both directions, per neighbor:
 *
 * - answering (outbound): a ROUTE-REFRESH request from the peer sends its
 *   Adj-RIB-Out of the family again (RFC 2918 §4), between a BoRR and an
 *   EoRR when enhanced route refresh was negotiated (RFC 7313 §4), in bursts
 *   with the event loop turning in between, so a full table never holds the
 *   loop or a million UPDATE objects at once; a new request for the family
 *   restarts it (RFC 7313 §4);
 * - requesting (inbound): `refreshInbound` asks the peer for every negotiated
 *   family; its BoRR marks its paths of the family stale, its EoRR removes
 *   those it did not send again (RFC 7313 §4), and a missing EoRR is given
 *   EORR_TIMEOUT_MS.
 *
 * The state lives by neighbor name; a session going down ends what was in
 * flight (onDown), the counters stay.
 */
import type { Clock, TimerHandle } from '#lib/clock';
import type { Logger } from '#lib/log';
import type { AdjRibOutResend, LocRibChange } from '#bgp/rib/index';
import type { Negotiated } from '#bgp/session/index';
import { RouteRefreshSubtype } from '#bgp/wire/types';
import type { UpdateMessage } from '#bgp/wire/types';
import type { RefreshStatusName, RouteRefreshJson } from '#api/types';
import { familyName } from './view.js';
import { waitForDrain } from './table-send.js';

/** What `refreshInbound` (and the outbound counterpart) did. */
export type RefreshStatus = RefreshStatusName;

/**
 * RFC 7313 §4 leaves the wait for a missing EoRR to the implementation: the
 * same 360 s as a graceful restart's stale paths (FRR's stalepath-time,
 * which FRR applies to enhanced route refresh too). Then the paths still
 * stale go, as the EoRR would have removed them.
 */
export const EORR_TIMEOUT_MS = 360_000;

/**
 * Prefixes per burst of a re-advertisement; the event loop turns after each.
 * The size of the RIB's removal steps: a burst is a few milliseconds of packing.
 */
export const RESEND_STEP = 8192;

/** What the refresh logic uses of the agent; looked up at each use (a reload's new session is what it sees). */
export interface RefreshContext {
  clock: Clock;
  log: Logger;
  /** The neighbor's session while Established, else null. */
  session(name: string): RefreshSession | null;
  /** Our table towards the neighbor waits for the end of our restart (RFC 4724 §4.1): it gets all of it then. */
  exportDeferred(name: string): boolean;
  rib: {
    resendSteps(id: string, afi: number): AdjRibOutResend | null;
    markStale(id: string, afi: number): number;
    sweepStale(id: string, afi?: number): LocRibChange[];
  };
  /** Loc-RIB changes for the FIB and the other peers. */
  queue(changes: LocRibChange[]): void;
  /** Runs `fn` on a later turn of the event loop (setImmediate unless a test steps it). */
  defer(fn: () => void): void;
}

export interface RefreshSession {
  readonly negotiated: Negotiated | null;
  sendRouteRefresh(afi: number, safi: number, subtype: RouteRefreshSubtype): boolean;
  sendMany(updates: UpdateMessage[]): void;
  /** Octets waiting in the socket, and a call once they drained (table-send.ts paces by them). */
  readonly sendBacklog?: number;
  whenDrained?(fn: () => void): void;
}

interface Resend {
  afi: number;
  safi: number;
  steps: AdjRibOutResend;
  enhanced: boolean;
  session: RefreshSession;
  startedAt: number;
}

interface Pending {
  timer: TimerHandle;
  marked: number;
}

interface PeerRefresh {
  /** ROUTE-REFRESH requests the peer sent us (it asked for our routes again). */
  received: number;
  lastReceived: Date | null;
  /** Requests we sent (we asked for its routes again). */
  sent: number;
  lastSent: Date | null;
  /** Re-advertisements of our Adj-RIB-Out done (completed, not restarted or cut short). */
  answered: number;
  /** EoRRs that never came (EORR_TIMEOUT_MS). */
  eorrTimeouts: number;
  /** Per family key: our re-advertisement in progress. */
  resends: Map<number, Resend>;
  /** Per AFI: the peer's re-advertisement between its BoRR and its EoRR. */
  pending: Map<number, Pending>;
}

const key = (afi: number, safi: number): number => afi * 256 + safi;

export class RouteRefreshes {
  private readonly peers = new Map<string, PeerRefresh>();

  constructor(private readonly ctx: RefreshContext) {}

  private peer(name: string): PeerRefresh {
    let p = this.peers.get(name);
    if (!p) {
      p = { received: 0, lastReceived: null, sent: 0, lastSent: null, answered: 0, eorrTimeouts: 0, resends: new Map(), pending: new Map() };
      this.peers.set(name, p);
    }
    return p;
  }

  /**
   * Asks the peer to send its routes again, every negotiated family (RFC
   * 2918 §4): after a change of its import policy, without a session reset.
   */
  refreshInbound(name: string): RefreshStatus {
    const s = this.ctx.session(name);
    const neg = s?.negotiated ?? null;
    if (s === null || neg === null) return 'not-established';
    // RFC 2918 §4: only to a peer that advertised the capability.
    if (!neg.routeRefresh) return 'not-supported';
    const p = this.peer(name);
    let sent = 0;
    for (const f of neg.families) {
      if (s.sendRouteRefresh(f.afi, f.safi, RouteRefreshSubtype.Request)) sent++;
    }
    if (sent === 0) return 'not-established';
    p.sent += sent;
    p.lastSent = this.ctx.clock.wallNow();
    this.ctx.log.info({ neighbor: name, families: neg.families.map((f) => familyName(f.afi, f.safi)) }, 'route refresh requested (RFC 2918)');
    return 'sent';
  }

  /**
   * Sends the peer our Adj-RIB-Out again, every negotiated family, as if it
   * had asked (`wgbgp neighbor NAME refresh --out`). Needs no capability of
   * the peer: these are ordinary UPDATEs (BoRR/EoRR around them only with
   * enhanced route refresh).
   */
  refreshOutbound(name: string): RefreshStatus {
    const s = this.ctx.session(name);
    const neg = s?.negotiated ?? null;
    if (s === null || neg === null) return 'not-established';
    if (this.ctx.exportDeferred(name)) return 'sent';
    for (const f of neg.families) this.resend(name, s, f.afi, f.safi);
    return 'sent';
  }

  /** A ROUTE-REFRESH the session accepted: for a negotiated family, BoRR/EoRR only with enhanced route refresh. */
  onRouteRefresh(name: string, afi: number, safi: number, subtype: RouteRefreshSubtype): void {
    const p = this.peer(name);
    switch (subtype) {
      case RouteRefreshSubtype.Request: {
        p.received++;
        p.lastReceived = this.ctx.clock.wallNow();
        const s = this.ctx.session(name);
        if (s === null) return;
        if (this.ctx.exportDeferred(name)) {
          // RFC 4724 §4.1: the whole table goes out at the end of our restart, End-of-RIB after it.
          this.ctx.log.info({ neighbor: name, family: familyName(afi, safi) }, 'route refresh request: our table follows at the end of our restart');
          return;
        }
        this.resend(name, s, afi, safi);
        return;
      }
      case RouteRefreshSubtype.BeginningOfRouteRefresh:
        this.beginOfRefresh(name, p, afi, safi);
        return;
      case RouteRefreshSubtype.EndOfRouteRefresh:
        this.endOfRefresh(name, p, afi, safi);
        return;
    }
  }

  /** Whether the peer is between its BoRR and EoRR for the AFI: its End-of-RIB (RFC 4724) must not sweep then. */
  inProgress(name: string, afi: number): boolean {
    return this.peers.get(name)?.pending.has(afi) ?? false;
  }

  /** The session went down: what was in flight ends (a new session starts with a full table both ways). */
  onDown(name: string): void {
    const p = this.peers.get(name);
    if (!p) return;
    p.resends.clear();
    for (const pending of p.pending.values()) pending.timer.cancel();
    p.pending.clear();
  }

  /** The neighbor left the configuration. */
  forget(name: string): void {
    this.onDown(name);
    this.peers.delete(name);
  }

  view(name: string): RouteRefreshJson {
    const p = this.peers.get(name);
    return {
      received: p?.received ?? 0,
      lastReceived: p?.lastReceived?.toISOString() ?? null,
      sent: p?.sent ?? 0,
      lastSent: p?.lastSent?.toISOString() ?? null,
      answered: p?.answered ?? 0,
      eorrTimeouts: p?.eorrTimeouts ?? 0,
      resending: p ? [...p.resends.values()].map((r) => familyName(r.afi, r.safi)) : [],
      awaitingEorr: p ? [...p.pending.keys()].map((afi) => familyName(afi, 1)) : [],
    };
  }

  // ---- answering: our Adj-RIB-Out again ----------------------------------------------

  private resend(name: string, session: RefreshSession, afi: number, safi: number): void {
    const p = this.peer(name);
    const k = key(afi, safi);
    const steps = this.ctx.rib.resendSteps(name, afi);
    if (steps === null) return;
    const neg = session.negotiated;
    const enhanced = neg?.enhancedRouteRefresh === true;
    if (p.resends.has(k)) {
      // RFC 7313 §4: a new request while a re-advertisement is under way starts it over (a new BoRR).
      this.ctx.log.info({ neighbor: name, family: familyName(afi, safi) }, 'route refresh request during a re-advertisement: starting over');
    }
    const job: Resend = { afi, safi, steps, enhanced, session, startedAt: performance.now() };
    p.resends.set(k, job);
    if (enhanced) session.sendRouteRefresh(afi, safi, RouteRefreshSubtype.BeginningOfRouteRefresh);
    this.pump(name, p, k, job);
  }

  private pump(name: string, p: PeerRefresh, k: number, job: Resend): void {
    // Replaced by a newer request, or the session went away.
    if (p.resends.get(k) !== job || this.ctx.session(name) !== job.session) return;
    // Paced by the socket like the table at session start: a peer that asks and does not read costs a step, not a table.
    if (waitForDrain(job.session, () => this.ctx.defer(() => this.pump(name, p, k, job)))) return;
    const updates = job.steps.next(RESEND_STEP);
    if (updates.length > 0) job.session.sendMany(updates);
    if (!job.steps.done) {
      this.ctx.defer(() => this.pump(name, p, k, job));
      return;
    }
    p.resends.delete(k);
    if (job.enhanced) job.session.sendRouteRefresh(job.afi, job.safi, RouteRefreshSubtype.EndOfRouteRefresh);
    p.answered++;
    this.ctx.log.info(
      { neighbor: name, family: familyName(job.afi, job.safi), prefixes: job.steps.sent, enhanced: job.enhanced, ms: Math.round(performance.now() - job.startedAt) },
      'route refresh answered: Adj-RIB-Out sent again',
    );
  }

  // ---- requesting: the peer's re-advertisement (RFC 7313 §4) --------------------------

  private beginOfRefresh(name: string, p: PeerRefresh, afi: number, safi: number): void {
    const earlier = p.pending.get(afi);
    // A second BoRR before the EoRR: the refresh starts over; what it re-sent already counts again as stale.
    earlier?.timer.cancel();
    const marked = this.ctx.rib.markStale(name, afi);
    const timer = this.ctx.clock.setTimeout(() => {
      if (p.pending.get(afi)?.timer !== timer) return;
      p.pending.delete(afi);
      p.eorrTimeouts++;
      const changes = this.ctx.rib.sweepStale(name, afi);
      this.ctx.log.warn(
        { neighbor: name, family: familyName(afi, safi), changes: changes.length, seconds: EORR_TIMEOUT_MS / 1000 },
        'no EoRR in time: the paths not sent again are removed (RFC 7313 §4)',
      );
      this.ctx.queue(changes);
    }, EORR_TIMEOUT_MS);
    p.pending.set(afi, { timer, marked });
    this.ctx.log.info({ neighbor: name, family: familyName(afi, safi), stale: marked }, 'BoRR: the peer sends the family again; its paths are stale until its EoRR (RFC 7313 §4)');
  }

  private endOfRefresh(name: string, p: PeerRefresh, afi: number, safi: number): void {
    const pending = p.pending.get(afi);
    if (pending === undefined) {
      // Nothing was marked: sweeping now would remove paths for no reason (a graceful restart's among them).
      this.ctx.log.warn({ neighbor: name, family: familyName(afi, safi) }, 'EoRR without a BoRR: ignored');
      return;
    }
    pending.timer.cancel();
    p.pending.delete(afi);
    const changes = this.ctx.rib.sweepStale(name, afi);
    this.ctx.log.info({ neighbor: name, family: familyName(afi, safi), stale: pending.marked, changes: changes.length }, 'EoRR: paths not sent again removed (RFC 7313 §4)');
    this.ctx.queue(changes);
  }
}
