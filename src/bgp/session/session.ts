/**
 * A BGP session with one neighbor: the shell around the pure RFC 4271 §8 machine.
 * It owns the TCP connections, the timers (on the injected clock) and the
 * RFC 4271 §6.8 collision handling, and talks to the application through
 * SessionHandler. Every input (socket event, timer, API call) is one queued
 * step, so a handler calling back into the session never interleaves with a
 * half-applied transition, and nothing throws out of a socket callback.
 */
import { connect as netConnect, Socket as NetSocket } from 'node:net';
import type { Socket, TcpNetConnectOpts } from 'node:net';
import type { Clock, TimerHandle } from '#lib/clock';
import type { Logger } from '#lib/log';
import { fsmStep } from '#bgp/fsm/index';
import type { FsmAction, FsmEvent, FsmOptions, FsmState, TimerName } from '#bgp/fsm/index';
import { BgpWireError, CeaseSubcode, carriesShutdownCommunication, readShutdownCommunication } from '#bgp/wire/index';
import { ErrorCode, MessageType, RouteRefreshSubtype } from '#bgp/wire/types';
import type { BgpMessage, OpenMessage, UpdateMessage } from '#bgp/wire/types';
import { scopedAddress } from './address.js';
import { closeSocket, connectSocket, familyOf } from './tcp.js';
import { keepsExisting, localIsDominant, refusesNewConnection } from './collision.js';
import { Connection } from './connection.js';
import type { ConnectionEvents, Decoded } from './connection.js';
import { buildOpen, checkOpen } from './open.js';
import { encodeShutdownCommunication, notificationText } from './text.js';
import type { Negotiated, NotificationRecord, SessionConfig, SessionCounters, SessionDeps, SessionHandler } from './types.js';

const DEFAULT_PORT = 179;
const DEFAULT_CONNECT_RETRY_TIME = 5;
/** Failed attempts whose transitions are logged at info before the session goes quiet. */
const LOUD_ATTEMPTS = 3;
/** While quiet: one info line this often. */
const QUIET_SUMMARY_MS = 60_000;

/** One run of the state machine over one TCP connection (RFC 4271 §8: an FSM per connection). */
interface Machine {
  state: FsmState;
  conn: Connection | null;
  negotiated: Negotiated | null;
  hold: TimerHandle | null;
  keepalive: TimerHandle | null;
}

/**
 * A new connection from a graceful-restart peer is taken as its restart (RFC
 * 4724 §4.2) only once the session has been Established this long. Before, it
 * is the peer's own dial that crossed ours as the session came up (seen with
 * FRR 29 ms after Established; a lost SYN is sent again after 1 s): RFC 4271
 * §6.8 closes it and the session stays. A peer that really restarts within
 * these seconds dials again, and its old connection fails at our next message.
 */
export const RESTART_DETECT_AFTER_MS = 3000;

/** What a message event hands to the actions it causes. */
interface Payload {
  update?: UpdateMessage;
  refresh?: { afi: number; safi: number; subtype: number };
}

function newMachine(state: FsmState, conn: Connection | null = null): Machine {
  return { state, conn, negotiated: null, hold: null, keepalive: null };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class BgpSession {
  readonly name: string;
  private readonly cfg: SessionConfig;
  private readonly clock: Clock;
  private readonly log: Logger;
  /** The connection the session's state is about. */
  private primary: Machine = newMachine('Idle');
  /** An accepted connection tracked until the first OPEN on either decides the collision (§6.8). */
  private second: Machine | null = null;
  private started = false;
  private passive: boolean;
  private since: number;
  private error: string | null = null;
  private notification: NotificationRecord | null = null;
  /** Set by the step in progress: what went wrong, for onDown. */
  private detail: string | null = null;
  /** Set by the step in progress: a NOTIFICATION was sent or received in it. */
  private notified = false;
  /** The NOTIFICATION of this step was ours, Hold Timer Expired: the peer went silent. */
  private holdExpired = false;
  private retryTimer: TimerHandle | null = null;
  /** Automatic restart out of Idle (the IdleHoldTimer of RFC 4271 §8.1.1, without damping). */
  private restartTimer: TimerHandle | null = null;
  private connectRetryCounter = 0;
  /** Failed attempts since the session was last up, for logTransition. */
  private quiet = { attempts: 0, suppressed: 0, lastSummary: 0 };
  private readonly stats: SessionCounters = { updatesIn: 0, updatesOut: 0, messagesIn: 0, messagesOut: 0, establishedTransitions: 0, flaps: 0, lastErrorAt: null };
  private readonly queue: (() => void)[] = [];
  private busy = false;
  private readonly connEvents: ConnectionEvents;

  constructor(
    cfg: SessionConfig,
    private readonly handler: SessionHandler,
    private readonly deps: SessionDeps,
  ) {
    this.cfg = cfg;
    this.name = cfg.name;
    this.clock = deps.clock;
    // Every line of the session names its neighbor (once: the caller's logger must not).
    this.log = deps.log.child({ neighbor: cfg.name });
    this.passive = cfg.passive;
    this.since = deps.clock.now();
    this.connEvents = {
      connected: (c) =>
        this.run(() => {
          const m = this.ownerOf(c);
          if (m) this.step(m, { type: 'Tcp_CR_Acked' });
        }),
      data: (c, chunk) => this.run(() => this.receive(c, chunk)),
      closed: (c, err) =>
        this.run(() => {
          const m = this.ownerOf(c);
          if (!m) return;
          this.noteError(err ? `TCP: ${err.message}` : 'TCP: connection closed by peer');
          this.step(m, { type: 'TcpConnectionFails' });
        }),
    };
  }

  get state(): FsmState {
    return this.primary.state;
  }

  /** clock.now() of the last state change. */
  get stateSince(): number {
    return this.since;
  }

  /** The last NOTIFICATION sent or received, as text, or the last TCP error. */
  get lastError(): string | null {
    return this.error;
  }

  get negotiated(): Negotiated | null {
    return this.primary.state === 'Established' ? this.primary.negotiated : null;
  }

  get counters(): SessionCounters {
    return { ...this.stats };
  }

  /** AutomaticStart, or AutomaticStart_with_PassiveTcpEstablishment when passive (RFC 4271 §8.1.1). */
  start(): void {
    this.run(() => {
      if (this.started) return;
      this.started = true;
      this.startEvent();
    });
  }

  /**
   * ManualStop (RFC 4271 §8.1.2 event 2): Cease/Administrative Shutdown with
   * the reason as its RFC 9003 shutdown communication. The session stays down
   * (no reconnect, the peer's connections refused) until start(). Resolves
   * once the connections are closed.
   */
  stop(reason?: string): Promise<void> {
    return this.halt({ type: 'ManualStop', data: encodeShutdownCommunication(reason) }, false);
  }

  /**
   * Cease/Administrative Reset (RFC 4486, with an RFC 9003 communication):
   * the session goes down and comes back as after any failure (after the
   * ConnectRetryTime when active). Resolves once the connections are closed.
   */
  reset(reason?: string): Promise<void> {
    const data = encodeShutdownCommunication(reason);
    return this.halt({ type: 'AutomaticStop', subcode: CeaseSubcode.AdministrativeReset, data }, true);
  }

  /**
   * AutomaticStop (RFC 4271 §8.1.2 event 8) with a Cease subcode and its
   * data (RFC 4486), and the session stays down until start(): the caller
   * decides when it may come back (a max-prefix hold-down, RFC 4486 §4).
   */
  cease(subcode: number, data: Uint8Array): Promise<void> {
    return this.halt({ type: 'AutomaticStop', subcode, data }, false);
  }

  /** The last NOTIFICATION sent or received (not collision resolution), or null. */
  get lastNotification(): NotificationRecord | null {
    return this.notification;
  }

  private halt(event: FsmEvent, restart: boolean): Promise<void> {
    return new Promise<void>((resolve) => {
      this.run(() => {
        if (!restart) {
          this.started = false;
          this.cancelRestart();
        }
        const closing: Promise<void>[] = [];
        for (const m of [this.second, this.primary]) {
          if (!m) continue;
          if (m.conn) closing.push(m.conn.closedPromise);
          this.step(m, event);
        }
        if (this.second) this.discardSecond();
        void Promise.all(closing).then(() => resolve());
      });
    });
  }

  /**
   * Ends the session without a NOTIFICATION: the TCP connections just close.
   * For a restart with the forwarding state kept (keep-on-stop): a peer with
   * graceful restart keeps our routes for our restart time (RFC 4724 §4.2),
   * where a Cease would make it withdraw them. Resolves once closed.
   */
  stopSilently(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.run(() => {
        this.started = false;
        this.cancelRestart();
        this.retryTimer?.cancel();
        this.retryTimer = null;
        const closing: Promise<void>[] = [];
        for (const m of [this.second, this.primary]) {
          if (!m) continue;
          this.cancelTimers(m);
          if (m.conn) {
            closing.push(m.conn.closedPromise);
            m.conn.dropped = true;
            m.conn.sock.destroy();
            m.conn = null;
          }
          m.state = 'Idle';
        }
        this.second = null;
        void Promise.all(closing).then(() => resolve());
      });
    });
  }

  /** The agent flips this when the tunnel sees its first handshake: a now-active session tries at once. */
  setPassive(p: boolean): void {
    this.run(() => {
      if (this.passive === p) return;
      this.passive = p;
      if (!this.started) return;
      const s = this.primary.state;
      if (!p && s === 'Active') this.step(this.primary, { type: 'ConnectRetryTimer_Expires' });
      else if (!p && s === 'Idle' && this.restartTimer) {
        this.cancelRestart();
        this.startEvent();
      } else if (p && s === 'Connect') this.step(this.primary, { type: 'ConnectRetryTimer_Expires' });
    });
  }

  /** A connection from the listener (already matched to this peer's address). */
  acceptConnection(sock: Socket): void {
    this.run(() => {
      if (!this.started) {
        sock.destroy();
        return;
      }
      const conn = new Connection(sock, false, this.clock, this.connEvents);
      const p = this.primary;
      if (p.state === 'Idle') {
        // The peer is back before our restart timer: start now, passively, on its connection.
        this.cancelRestart();
        this.step(p, { type: 'AutomaticStart_with_PassiveTcpEstablishment' });
      }
      if (p.state === 'Established' && p.negotiated?.gracefulRestart && this.clock.now() - this.since >= RESTART_DETECT_AFTER_MS) {
        // RFC 4724 §4.2: a new connection from a graceful-restart peer while ours is
        // Established means the peer restarted: the old connection is gone (no
        // NOTIFICATION: its routes are kept stale), the new one is the session.
        // Not in the session's first seconds: a connection the peer dialled while ours came up
        // (a SYN in flight, or retransmitted) is a collision, closed as §6.8 says below.
        this.log.info({}, 'new connection while Established: the peer restarted (RFC 4724 §4.2)');
        this.noteError('TCP: the peer restarted (new connection while Established)');
        this.step(p, { type: 'TcpConnectionFails' });
        this.detail = null;
        if ((p.state as FsmState) === 'Idle') this.step(p, { type: 'AutomaticStart_with_PassiveTcpEstablishment' });
      }
      if (p.state === 'Active') {
        p.conn = conn;
        this.step(p, { type: 'TcpConnectionConfirmed' });
        return;
      }
      if (refusesNewConnection(p.state)) {
        this.refuse(conn);
        return;
      }
      // Connect or OpenSent: a second connection, tracked until an OPEN decides (§6.8).
      // A newer one from the peer replaces an older unresolved one.
      if (this.second) this.discardSecond();
      const s = newMachine('Active', conn);
      this.second = s;
      this.log.debug({ state: p.state }, 'second connection from peer; collision detection pending');
      this.step(s, { type: 'TcpConnectionConfirmed' });
    });
  }

  /** Sends one UPDATE on the established connection; false when not Established or not encodable. */
  send(update: UpdateMessage): boolean {
    const m = this.primary;
    if (m.state !== 'Established' || !m.conn) return false;
    const ok = this.sendUpdate(m.conn, update);
    if (ok) this.keepaliveSent(m);
    return ok;
  }

  /** Octets of sent messages still waiting in the established connection's socket (0 without one). */
  get sendBacklog(): number {
    const m = this.primary;
    return m.state === 'Established' && m.conn ? m.conn.backlog : 0;
  }

  /** Calls `fn` once the established connection's send buffer has drained, or at once without one. */
  whenDrained(fn: () => void): void {
    const m = this.primary;
    if (m.state === 'Established' && m.conn) m.conn.whenDrained(fn);
    else queueMicrotask(fn);
  }

  /** Many UPDATEs in as few TCP segments as possible (the socket is corked meanwhile). */
  sendMany(updates: UpdateMessage[]): void {
    const m = this.primary;
    if (m.state !== 'Established' || !m.conn || updates.length === 0) return;
    const c = m.conn;
    c.cork();
    let sent = 0;
    try {
      for (const u of updates) if (this.sendUpdate(c, u)) sent++;
    } finally {
      c.uncork();
    }
    if (sent > 0) this.keepaliveSent(m);
  }

  /**
   * Sends one ROUTE-REFRESH on the established connection: a request (RFC
   * 2918 §4: only to a peer that advertised route refresh, for a negotiated
   * family), or BoRR / EoRR around a re-advertisement (RFC 7313 §4: only with
   * enhanced route refresh negotiated). False when it may not be sent now.
   */
  sendRouteRefresh(afi: number, safi: number, subtype: RouteRefreshSubtype): boolean {
    const m = this.primary;
    const n = m.negotiated;
    if (m.state !== 'Established' || !m.conn || !n || !n.routeRefresh) return false;
    if (subtype !== RouteRefreshSubtype.Request && n.enhancedRouteRefresh !== true) return false;
    if (!n.families.some((f) => f.afi === afi && f.safi === safi)) return false;
    const before = this.stats.messagesOut;
    this.write(m, { type: MessageType.RouteRefresh, afi, subtype, safi });
    // No keepaliveSent: the peer restarts its HoldTimer on KEEPALIVE and UPDATE only (RFC 4271
    // §8.2.2), so requests sent more often than the keepalive time must not hold the KEEPALIVEs back.
    return this.stats.messagesOut !== before;
  }

  private sendUpdate(c: Connection, u: UpdateMessage): boolean {
    try {
      if (!c.send(u)) return false;
    } catch (err) {
      this.log.error({ err: errorText(err) }, 'UPDATE not sent: cannot encode');
      return false;
    }
    this.stats.updatesOut++;
    this.stats.messagesOut++;
    return true;
  }

  /** RFC 4271 §8.2.2 Established: each KEEPALIVE or UPDATE sent restarts the KeepaliveTimer (nothing else does). */
  private keepaliveSent(m: Machine): void {
    if (m.negotiated && m.negotiated.holdTime > 0) this.startTimer(m, 'keepalive', m.negotiated.keepaliveTime);
  }

  // ---- the event loop step -------------------------------------------------------------

  private run(fn: () => void): void {
    this.queue.push(fn);
    if (this.busy) return;
    this.busy = true;
    try {
      for (let f = this.queue.shift(); f; f = this.queue.shift()) {
        this.detail = null;
        this.notified = false;
        this.holdExpired = false;
        try {
          f();
          this.settle();
        } catch (err) {
          this.log.error({ err: errorText(err), stack: err instanceof Error ? err.stack : undefined }, 'session step failed');
        }
      }
    } finally {
      this.busy = false;
    }
  }

  private startEvent(): void {
    this.step(this.primary, {
      type: this.passive ? 'AutomaticStart_with_PassiveTcpEstablishment' : 'AutomaticStart',
    });
  }

  /** After every input: drop a second connection that failed, and leave Idle again if still started. */
  private settle(): void {
    const s = this.second;
    if (s && s.state !== 'OpenSent' && s.state !== 'OpenConfirm') this.discardSecond();
    if (this.primary.state !== 'Idle' || !this.started) return;
    if (this.second) {
      // The connection we used is gone but the peer's other one is alive: carry on with it.
      this.promote();
      return;
    }
    if (this.passive) {
      // Listening costs nothing and the peer sets the pace: no hold-down.
      this.startEvent();
      return;
    }
    this.restartTimer ??= this.clock.setTimeout(
      () =>
        this.run(() => {
          this.restartTimer = null;
          if (this.started && this.primary.state === 'Idle') this.startEvent();
        }),
      this.connectRetryTime * 1000,
    );
  }

  private get connectRetryTime(): number {
    return this.cfg.connectRetryTime ?? DEFAULT_CONNECT_RETRY_TIME;
  }

  private fsmOptions(m: Machine): FsmOptions {
    return {
      connectRetryTime: this.connectRetryTime,
      negotiatedHoldTime: m.negotiated?.holdTime ?? 0,
      // A second connection was accepted; it never dials out.
      passive: m === this.primary ? this.passive : true,
    };
  }

  private step(m: Machine, event: FsmEvent, payload?: Payload): void {
    const from = m.state;
    const r = fsmStep(from, event, this.fsmOptions(m));
    m.state = r.state;
    if (from !== r.state) {
      if (m === this.primary) this.changed(from, r.state);
      else this.log.debug({ from, to: r.state, event: event.type }, 'second connection state');
    }
    for (const a of r.actions) this.apply(m, a, payload);
  }

  private changed(from: FsmState, to: FsmState): void {
    this.since = this.clock.now();
    if (to === 'Established') this.stats.establishedTransitions++;
    if (from === 'Established') this.stats.flaps++;
    this.logTransition(from, to);
    this.safe(() => this.handler.onStateChange?.(from, to));
  }

  /**
   * Every transition is logged while the session comes up and goes down; a
   * session that keeps failing to come up (a dead tunnel cycles Idle ->
   * Connect every ConnectRetryTime) logs its cycle at debug after the first
   * few, and one info line per minute with how many attempts failed and why.
   */
  private logTransition(from: FsmState, to: FsmState): void {
    const fields = { from, to, connectRetryCounter: this.connectRetryCounter };
    if (to === 'Established' || from === 'Established') {
      if (this.quiet.suppressed > 0) this.log.info({ attempts: this.quiet.attempts, lastError: this.error }, 'session came up after failed attempts');
      this.quiet = { attempts: 0, suppressed: 0, lastSummary: this.clock.now() };
      this.log.info(fields, `BGP ${from} -> ${to}`);
      return;
    }
    if (to === 'Idle') this.quiet.attempts++;
    if (this.quiet.attempts <= LOUD_ATTEMPTS) {
      this.log.info(fields, `BGP ${from} -> ${to}`);
      return;
    }
    this.quiet.suppressed++;
    this.log.debug(fields, `BGP ${from} -> ${to}`);
    if (this.clock.now() - this.quiet.lastSummary >= QUIET_SUMMARY_MS) {
      this.quiet.lastSummary = this.clock.now();
      this.log.info({ attempts: this.quiet.attempts, state: to, lastError: this.error }, 'session still not up; retrying (transitions at debug)');
    }
  }

  private apply(m: Machine, a: FsmAction, payload: Payload | undefined): void {
    const isPrimary = m === this.primary;
    switch (a.type) {
      case 'connect':
        if (isPrimary) this.openConnection(m);
        return;
      case 'drop-connection':
        m.conn?.drop();
        m.conn = null;
        return;
      case 'send-open':
        this.write(m, buildOpen(this.cfg));
        return;
      case 'send-keepalive':
        this.write(m, { type: MessageType.Keepalive });
        return;
      case 'send-notification': {
        const text = notificationText(a.code, a.subcode, a.data);
        // Collision resolution (RFC 4271 §6.8) is routine when both sides are active: not an error to show.
        if (!isCollisionCease(a.code, a.subcode)) {
          this.noteError(`sent ${text}`);
          this.notification = { direction: 'sent', code: a.code, subcode: a.subcode, data: a.data, at: this.clock.now() };
        }
        this.notified = true;
        if (a.code === ErrorCode.HoldTimerExpired) this.holdExpired = true;
        const level = a.code === ErrorCode.Cease ? 'info' : 'warn';
        this.log[level]({ notification: text }, 'NOTIFICATION sent');
        this.write(m, { type: MessageType.Notification, code: a.code, subcode: a.subcode, data: a.data });
        return;
      }
      case 'start-timer':
        this.startTimer(m, a.which, a.seconds);
        return;
      case 'stop-timer':
        this.stopTimer(m, a.which);
        return;
      case 'process-update':
        if (payload?.update) {
          const u = payload.update;
          this.stats.updatesIn++;
          this.safe(() => this.handler.onUpdate(u));
        }
        return;
      case 'process-route-refresh': {
        const rr = payload?.refresh;
        const n = m.negotiated;
        if (!rr || !n) return;
        // RFC 2918 §4: a ROUTE-REFRESH for a family not negotiated is ignored.
        if (!n.families.some((f) => f.afi === rr.afi && f.safi === rr.safi)) {
          this.log.warn({ afi: rr.afi, safi: rr.safi }, 'ROUTE-REFRESH for a family not negotiated: ignored (RFC 2918 §4)');
          return;
        }
        if (rr.subtype !== RouteRefreshSubtype.Request && n.enhancedRouteRefresh !== true) {
          // BoRR / EoRR mean nothing without enhanced route refresh (RFC 7313 §3.1 needs both sides to advertise it).
          this.log.warn({ afi: rr.afi, safi: rr.safi, subtype: rr.subtype }, 'BoRR/EoRR without enhanced route refresh negotiated: ignored');
          return;
        }
        const subtype = rr.subtype as RouteRefreshSubtype;
        this.safe(() => this.handler.onRouteRefresh?.(rr.afi, rr.safi, subtype));
        return;
      }
      case 'established': {
        const n = m.negotiated;
        if (!isPrimary || !n) return;
        this.log.info({ peerRouterId: n.peerRouterId, holdTime: n.holdTime, families: n.families }, 'established');
        this.safe(() => this.handler.onEstablished(n));
        return;
      }
      case 'session-down': {
        const reason = this.detail ?? a.reason;
        this.log.info({ reason }, 'session down');
        const how = { notification: this.notified, holdTimerExpired: this.holdExpired };
        if (isPrimary) this.safe(() => this.handler.onDown(reason, how));
        return;
      }
      case 'increment-connect-retry-counter':
        if (isPrimary) this.connectRetryCounter++;
        return;
      case 'reset-connect-retry-counter':
        if (isPrimary) this.connectRetryCounter = 0;
        return;
    }
  }

  private write(m: Machine, msg: BgpMessage): void {
    try {
      if (m.conn?.send(msg)) this.stats.messagesOut++;
    } catch (err) {
      this.log.error({ err: errorText(err), type: msg.type }, 'message not sent: cannot encode');
    }
  }

  private noteError(text: string): void {
    this.error = text;
    this.stats.lastErrorAt = this.clock.now();
    this.detail = text;
  }

  private safe(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err: errorText(err) }, 'session handler threw');
    }
  }

  // ---- timers ----------------------------------------------------------------------------

  private startTimer(m: Machine, which: TimerName, seconds: number): void {
    this.stopTimer(m, which);
    const ms = seconds * 1000;
    if (which === 'connect-retry') {
      if (m !== this.primary) return;
      this.retryTimer = this.clock.setTimeout(
        () =>
          this.run(() => {
            this.retryTimer = null;
            this.step(this.primary, { type: 'ConnectRetryTimer_Expires' });
          }),
        ms,
      );
      return;
    }
    const fire = (): void =>
      this.run(() => {
        m[which] = null;
        if (this.owns(m)) this.step(m, { type: which === 'hold' ? 'HoldTimer_Expires' : 'KeepaliveTimer_Expires' });
      });
    m[which] = this.clock.setTimeout(fire, ms);
  }

  private stopTimer(m: Machine, which: TimerName): void {
    if (which === 'connect-retry') {
      if (m !== this.primary) return;
      this.retryTimer?.cancel();
      this.retryTimer = null;
      return;
    }
    m[which]?.cancel();
    m[which] = null;
  }

  private cancelTimers(m: Machine): void {
    this.stopTimer(m, 'hold');
    this.stopTimer(m, 'keepalive');
  }

  private cancelRestart(): void {
    this.restartTimer?.cancel();
    this.restartTimer = null;
  }

  // ---- connections -----------------------------------------------------------------------

  private owns(m: Machine): boolean {
    return m === this.primary || m === this.second;
  }

  private ownerOf(c: Connection): Machine | null {
    if (this.primary.conn === c) return this.primary;
    if (this.second?.conn === c) return this.second;
    return null;
  }

  private openConnection(m: Machine): void {
    const opts: TcpNetConnectOpts = {
      host: scopedAddress(this.cfg.peerAddress, this.cfg.interface),
      port: this.cfg.port ?? DEFAULT_PORT,
    };
    if (this.cfg.localAddress) opts.localAddress = scopedAddress(this.cfg.localAddress, this.cfg.interface);
    let sock: Socket;
    try {
      sock = this.deps.connect ? this.deps.connect(opts) : this.secured() ? this.securedConnect(opts) : netConnect(opts);
    } catch (err) {
      // A synchronous refusal (bad address): the same as a failed attempt, one step later.
      this.noteError(`TCP: ${errorText(err)}`);
      this.queue.push(() => {
        if (this.primary === m && m.state === 'Connect' && !m.conn) this.step(m, { type: 'TcpConnectionFails' });
      });
      return;
    }
    m.conn = new Connection(sock, true, this.clock, this.connEvents);
  }

  private secured(): boolean {
    const c = this.cfg;
    return (c.bindToInterface === true && c.interface !== undefined) || c.minTtl !== undefined || c.md5Key !== undefined;
  }

  /**
   * An active open through the tunnel only: the socket is bound to the
   * interface and carries GTSM and TCP MD5 before its SYN (tcp.ts), then
   * Node connects it.
   */
  private securedConnect(opts: TcpNetConnectOpts): Socket {
    const c = this.cfg;
    const fd = connectSocket({
      family: familyOf(c.peerAddress),
      ...(c.localAddress !== undefined ? { localAddress: c.localAddress } : {}),
      ...(c.bindToInterface === true && c.interface !== undefined ? { device: c.interface } : {}),
      ...(c.minTtl !== undefined ? { minTtl: c.minTtl } : {}),
      ...(c.md5Key !== undefined ? { md5: { peer: c.peerAddress, key: c.md5Key } } : {}),
    });
    let sock: Socket;
    try {
      sock = new NetSocket({ fd, readable: true, writable: true });
    } catch (err) {
      closeSocket(fd);
      throw err;
    }
    // The source address is bound already; Node must not bind again.
    return sock.connect({ host: opts.host ?? '', port: opts.port });
  }

  /**
   * RFC 4271 §6.8 with ours past OpenSent: Cease/Connection Collision Resolution
   * and close, without our OPEN (see collision.ts).
   */
  private refuse(conn: Connection): void {
    this.log.info({ primary: this.primary.state }, 'connection collision (RFC 4271 §6.8): new connection closed');
    const cease: BgpMessage = {
      type: MessageType.Notification,
      code: ErrorCode.Cease,
      subcode: CeaseSubcode.ConnectionCollisionResolution,
      data: new Uint8Array(0),
    };
    if (conn.send(cease)) this.stats.messagesOut++;
    conn.drop();
  }

  private discardSecond(): void {
    const s = this.second;
    if (!s) return;
    this.cancelTimers(s);
    s.conn?.drop();
    this.second = null;
  }

  /** The second connection becomes the session's (its machine keeps its own state). */
  private promote(): void {
    const old = this.primary;
    const s = this.second;
    if (!s) return;
    this.cancelTimers(old);
    old.conn?.drop();
    this.cancelRestart();
    this.primary = s;
    this.second = null;
    if (old.state !== s.state) this.changed(old.state, s.state);
  }

  private receive(c: Connection, chunk: Buffer): void {
    const m = this.ownerOf(c);
    if (!m) return;
    let frames: Buffer[];
    try {
      frames = c.frames(chunk);
    } catch (err) {
      this.wireError(m, err);
      return;
    }
    for (const f of frames) {
      // An earlier message in this chunk may have ended the connection.
      if (c.dropped || this.ownerOf(c) !== m) return;
      let d: Decoded;
      try {
        d = c.decode(f);
      } catch (err) {
        this.wireError(m, err);
        return;
      }
      this.stats.messagesIn++;
      this.message(m, d);
    }
  }

  private wireError(m: Machine, err: unknown): void {
    if (!(err instanceof BgpWireError)) {
      this.log.error({ err: errorText(err) }, 'codec failure; dropping the connection');
      this.noteError(`internal: ${errorText(err)}`);
      this.step(m, { type: 'TcpConnectionFails' });
      return;
    }
    this.log.warn({ code: err.code, subcode: err.subcode, err: err.message }, 'malformed message');
    const notification = { code: err.code, subcode: err.subcode, data: err.data };
    // RFC 4271 §6.1-§6.3 by error code; others (ROUTE-REFRESH, RFC 7313 §5) are reset like UPDATE errors.
    if (err.code === ErrorCode.MessageHeader) this.step(m, { type: 'BGPHeaderErr', notification });
    else if (err.code === ErrorCode.OpenMessage) this.step(m, { type: 'BGPOpenMsgErr', notification });
    else this.step(m, { type: 'UpdateMsgErr', notification });
  }

  private message(m: Machine, d: Decoded): void {
    const msg = d.message;
    switch (msg.type) {
      case MessageType.Open:
        this.open(m, msg);
        return;
      case MessageType.Update: {
        if (d.problems.length > 0) {
          this.log.warn({ action: d.action, problems: d.problems }, 'RFC 7606: UPDATE error handled without a reset');
        }
        // The codec has already rewritten a treat-as-withdraw UPDATE into withdrawals (RFC 7606 §2).
        this.step(m, { type: 'UpdateMsg' }, { update: msg });
        return;
      }
      case MessageType.Notification: {
        const text = notificationText(msg.code, msg.subcode, msg.data);
        if (!isCollisionCease(msg.code, msg.subcode)) {
          this.noteError(`received ${text}`);
          this.notification = { direction: 'received', code: msg.code, subcode: msg.subcode, data: msg.data, at: this.clock.now() };
        }
        this.notified = true;
        this.log.warn({ notification: text }, 'NOTIFICATION received');
        if (carriesShutdownCommunication(msg.code, msg.subcode)) {
          // RFC 9003 §2: the communication SHOULD reach the operator through the log; §4: a malformed one is logged too.
          const comm = readShutdownCommunication(msg.data);
          if (comm.text !== null) this.log.warn({ shutdownCommunication: comm.text }, 'the peer sent a shutdown communication');
          if (comm.problem !== null) this.log.warn({ problem: comm.problem }, 'malformed shutdown communication ignored');
        }
        const versionError = msg.code === ErrorCode.OpenMessage && msg.subcode === 1;
        this.step(m, { type: versionError ? 'NotifMsgVerErr' : 'NotifMsg' });
        return;
      }
      case MessageType.Keepalive:
        this.step(m, { type: 'KeepAliveMsg' });
        return;
      case MessageType.RouteRefresh:
        if (d.problems.length > 0 && m.state === 'Established') {
          // RFC 7313 §5: an undefined subtype is ignored, and logged.
          this.log.warn({ problems: d.problems }, 'ROUTE-REFRESH ignored');
          return;
        }
        this.step(m, { type: 'RouteRefreshMsg' }, { refresh: { afi: msg.afi, safi: msg.safi, subtype: msg.subtype } });
        return;
    }
  }

  private open(m: Machine, open: OpenMessage): void {
    const c = m.conn;
    if (m.state !== 'OpenSent' || !c) {
      // An OPEN out of turn: the table answers with the FSM Error for this state.
      this.step(m, { type: 'BGPOpen', holdTime: 0 });
      return;
    }
    const check = checkOpen(this.cfg, open, { localAddress: c.localAddress, remoteAddress: c.remoteAddress });
    if (!check.ok) {
      this.log.warn({ reason: check.reason }, 'OPEN rejected');
      this.step(m, { type: 'BGPOpenMsgErr', notification: check.notification });
      return;
    }
    if (!this.resolveCollision(m, open.bgpId, check.negotiated.peerAsn)) return;
    m.negotiated = check.negotiated;
    c.ctx.fourOctetAs = check.negotiated.fourOctetAs;
    if (check.negotiated.extendedMessages === true) c.allowExtendedMessages();
    if (check.negotiated.enhancedRouteRefresh === true) c.ctx.enhancedRouteRefresh = true;
    // RFC 7911 §5: from here on the codec reads and writes Path Identifiers where negotiated.
    if (check.negotiated.addPath !== undefined) c.ctx.addPath = check.negotiated.addPath;
    // RFC 7606 §7.2/§7.5 judge some attributes by whether the peer is external.
    c.ctx.external = check.negotiated.peerAsn !== this.cfg.localAsn;
    this.step(m, { type: 'BGPOpen', holdTime: check.negotiated.holdTime });
  }

  /**
   * RFC 4271 §6.8: the first OPEN on either of two connections keeps the one
   * initiated by the speaker with the higher BGP Identifier (RFC 6286 §2.3: the
   * higher ASN on a tie), before a KEEPALIVE goes out on either. The OPEN on the
   * primary counts too (§6.8 lets a speaker examine connections in OpenSent once
   * it knows the peer's identifier): waiting for the other OPEN would send a
   * KEEPALIVE on the primary, which the peer may take as Established while we
   * resolve by identifier. Returns false when `m` was dumped.
   */
  private resolveCollision(m: Machine, peerId: string, peerAsn: number): boolean {
    const p = this.primary;
    const s = this.second;
    if (!s) return true;
    const dominant = localIsDominant({ routerId: this.cfg.routerId, asn: this.cfg.localAsn }, { routerId: peerId, asn: peerAsn });
    const keepPrimary = keepsExisting({ state: p.state, outbound: p.conn?.outbound ?? false }, dominant);
    this.log.info(
      { primary: p.state, openOn: m === p ? 'existing' : 'new', keep: keepPrimary ? 'existing' : 'new' },
      'connection collision (RFC 4271 §6.8)',
    );
    if (keepPrimary) {
      this.step(s, { type: 'OpenCollisionDump' });
      this.discardSecond();
      return m === p;
    }
    this.step(p, { type: 'OpenCollisionDump' });
    this.promote();
    return m === s;
  }
}

function isCollisionCease(code: number, subcode: number): boolean {
  return code === ErrorCode.Cease && subcode === CeaseSubcode.ConnectionCollisionResolution;
}
