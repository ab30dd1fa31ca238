/**
 * The BFD shell: the sessions of all neighbors, their sockets and timers.
 * It demultiplexes received packets (RFC 5880 §6.3: by Your Discriminator,
 * else by interface and source address), applies the RFC 5881 §5 TTL check,
 * drives each pure BfdSession with the time and sends what it returns.
 * It runs wherever its host puts it: in a worker thread in the daemon
 * (src/bfd/worker.ts), so that a full-table ingest on the main thread cannot
 * delay its packets, or on the calling thread.
 */
import { BfdDecodeError, BfdState, decodeControl, diagText, encodeControl, stateName, type BfdControlPacket, type BfdStateName } from './codec.js';
import { BfdSession, type BfdEffects, type BfdTimers } from './session.js';
import { BfdReceiveSocket, BfdSendSocket, familyOf, ifindexOf, type Datagram } from './socket.js';

/** RFC 5881 §5: single-hop packets arrive with TTL / hop limit 255, or were forged off-link. */
export const REQUIRED_TTL = 255;
/** How long a session whose socket cannot be made waits before trying again (the tunnel may not exist yet). */
const SOCKET_RETRY_MS = 1000;
/** A timer this late is worth a warning: a third of the default 900 ms detection time. */
const LATE_WARN_MS = 300;
const LATE_WARN_EVERY_MS = 10_000;

/** One neighbor's BFD session as configured. */
export interface BfdPeerSpec {
  name: string;
  /** The tunnel interface (Linux name). */
  interface: string;
  /** Our tunnel address the session runs from. */
  local: string;
  /** The peer's tunnel address. */
  remote: string;
  /** Microseconds and the multiplier, RFC 5880 terms. */
  timers: BfdTimers;
}

/** What the engine reports about a session; sent on every change of any field. */
export interface BfdStatus {
  name: string;
  state: BfdStateName;
  remoteState: BfdStateName;
  localDiscriminator: number;
  remoteDiscriminator: number;
  /** Negotiated: the interval we transmit at, and the detection time (0: not running). */
  txIntervalMs: number;
  detectionTimeMs: number;
  /** Why it last went down (RFC 5880 §4.1 diagnostic text), null if it never did. */
  lastDownReason: string | null;
  /** Date.now() of the last state change. */
  since: number;
  /** Set on the status that reports a state change. */
  change?: { from: BfdStateName; to: BfdStateName; reason: string };
  /** The socket could not be made or used, with why; null when fine. */
  error: string | null;
}

export interface BfdLogLine {
  level: 'debug' | 'info' | 'warn';
  msg: string;
  fields: Record<string, unknown>;
}

export interface BfdEngineOptions {
  onStatus: (s: BfdStatus) => void;
  onLog: (l: BfdLogLine) => void;
  /** UDP port to listen on (3784; tests may use another). */
  port?: number;
  /** UDP port to send to (3784; tests with two engines on one host use another). */
  peerPort?: number;
  random?: () => number;
  now?: () => number;
}

interface Entry {
  spec: BfdPeerSpec;
  session: BfdSession;
  socket: BfdSendSocket | null;
  ifindex: number;
  timer: NodeJS.Timeout | null;
  /** When the timer fires. */
  armedAt: number;
  lastDownReason: string | null;
  since: number;
  error: string | null;
}

/** Discriminators: random non-zero 32-bit numbers not in use (RFC 5880 §6.8.1 asks for uniqueness; randomness makes spoofing harder). */
function newDiscriminator(random: () => number, used: (d: number) => boolean): number {
  for (;;) {
    const d = Math.floor(random() * 0xfffffffe) + 1;
    if (!used(d)) return d;
  }
}

export class BfdEngine {
  private readonly entries = new Map<string, Entry>();
  private readonly byDiscriminator = new Map<number, Entry>();
  private readonly receivers = new Map<4 | 6, BfdReceiveSocket>();
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly port: number | undefined;
  private readonly peerPort: number | undefined;
  /** Packets dropped before a session was found, by reason. */
  readonly dropped: Record<string, number> = {};

  constructor(private readonly o: BfdEngineOptions) {
    this.random = o.random ?? Math.random;
    this.now = o.now ?? (() => performance.now());
    this.port = o.port;
    this.peerPort = o.peerPort ?? o.port;
  }

  add(spec: BfdPeerSpec): void {
    if (this.entries.has(spec.name)) this.remove(spec.name);
    const localDiscriminator = newDiscriminator(this.random, (d) => this.byDiscriminator.has(d));
    const session = new BfdSession({ localDiscriminator, random: this.random, ...spec.timers }, this.now());
    const e: Entry = { spec, session, socket: null, ifindex: -1, timer: null, armedAt: Infinity, lastDownReason: null, since: Date.now(), error: null };
    this.entries.set(spec.name, e);
    this.byDiscriminator.set(localDiscriminator, e);
    this.openSocket(e);
    this.report(e);
    this.arm(e);
  }

  /** New timers for a session: a Poll Sequence while Up (RFC 5880 §6.8.3); other changes make a new session. */
  update(spec: BfdPeerSpec): void {
    const e = this.entries.get(spec.name);
    if (!e || e.spec.interface !== spec.interface || e.spec.local !== spec.local || e.spec.remote !== spec.remote) {
      this.add(spec);
      return;
    }
    e.spec = spec;
    this.apply(e, e.session.setTimers(spec.timers, this.now()));
    this.report(e);
  }

  remove(name: string): void {
    const e = this.entries.get(name);
    if (!e) return;
    // RFC 5880 §6.8.16: tell the peer it is administrative, so it does not count it as a failure.
    this.apply(e, e.session.adminDown(this.now()));
    if (e.timer) clearTimeout(e.timer);
    e.socket?.close();
    this.entries.delete(name);
    this.byDiscriminator.delete(e.session.localDiscriminator);
    this.lastReported.delete(name);
    const families = new Set([...this.entries.values()].map((x) => familyOf(x.spec.remote)));
    for (const [family, r] of this.receivers) {
      if (!families.has(family)) {
        r.close();
        this.receivers.delete(family);
      }
    }
  }

  close(): void {
    for (const name of [...this.entries.keys()]) this.remove(name);
  }

  /**
   * Every socket closed and every timer stopped, nothing sent: for a thread
   * that is failing (its sessions start again elsewhere, and the peers are
   * not told it was administrative). Each close is tried, whatever the
   * state the failure left. The sockets' poll handles must be closed before
   * the thread ends: one still open when it stops can call into a thread
   * that is going away and bring the whole process down.
   */
  abandon(): void {
    for (const e of this.entries.values()) {
      if (e.timer) clearTimeout(e.timer);
      e.timer = null;
      try {
        e.socket?.close();
      } catch {
        // closed already, or never opened
      }
      e.socket = null;
    }
    this.entries.clear();
    this.byDiscriminator.clear();
    this.lastReported.clear();
    for (const r of this.receivers.values()) {
      try {
        r.close();
      } catch {
        // closed already
      }
    }
    this.receivers.clear();
  }

  status(name: string): BfdStatus | null {
    const e = this.entries.get(name);
    return e ? this.statusOf(e) : null;
  }

  private receiver(family: 4 | 6): void {
    if (this.receivers.has(family)) return;
    const r = new BfdReceiveSocket(family, this.port);
    r.onDatagrams(
      (d) => this.onDatagram(d),
      (err) => this.o.onLog({ level: 'warn', msg: 'BFD receive failed', fields: { family, err: err.message } }),
    );
    this.receivers.set(family, r);
  }

  private drop(reason: string, d: Datagram, detail?: string): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + 1;
    this.o.onLog({ level: 'debug', msg: 'BFD packet dropped', fields: { reason, source: d.source, ifindex: d.ifindex, ...(detail ? { detail } : {}) } });
  }

  /** RFC 5880 §6.8.6 and RFC 5881 §5, then the session. */
  private onDatagram(d: Datagram): void {
    // RFC 5881 §5: a single-hop session accepts only TTL/hop limit 255 (GTSM).
    if (d.ttl !== REQUIRED_TTL) return this.drop('ttl', d, `ttl ${d.ttl}`);
    let p: BfdControlPacket;
    try {
      p = decodeControl(d.payload);
    } catch (err) {
      if (err instanceof BfdDecodeError) return this.drop(err.reason, d, err.message);
      throw err;
    }
    const e = p.yourDiscriminator !== 0 ? this.byDiscriminator.get(p.yourDiscriminator) : this.byAddress(d.source, d.ifindex);
    // §6.8.6: no session for Your Discriminator: discarded.
    if (!e) return this.drop('no-session', d);
    // design.md "Identity": a session's packets come through its tunnel and from its peer, nowhere else.
    if (!this.sameInterface(e, d.ifindex) || !sameAddress(e.spec.remote, d.source)) return this.drop('wrong-path', d);
    this.apply(e, e.session.receive(p, this.now()));
    // What the packet changed without a change of our state (the peer's state, the timers it brings, the
    // end of our Poll Sequence) is reported now, not at our next transmission (up to 1 s later).
    this.report(e);
  }

  private byAddress(source: string, ifindex: number): Entry | undefined {
    for (const e of this.entries.values()) if (sameAddress(e.spec.remote, source) && this.sameInterface(e, ifindex)) return e;
    return undefined;
  }

  /** The tunnel may have been made again (a new index): looked up again before a mismatch counts. */
  private sameInterface(e: Entry, ifindex: number): boolean {
    if (e.ifindex === ifindex) return true;
    e.ifindex = ifindexOf(e.spec.interface);
    return e.ifindex === ifindex;
  }

  private openSocket(e: Entry): boolean {
    if (e.socket) return true;
    try {
      this.receiver(familyOf(e.spec.remote));
      e.socket = new BfdSendSocket({ device: e.spec.interface, local: e.spec.local, remote: e.spec.remote, random: this.random, ...(this.peerPort ? { port: this.peerPort } : {}) });
      e.ifindex = ifindexOf(e.spec.interface);
      if (e.error !== null) {
        e.error = null;
        this.report(e);
      }
      return true;
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      if (e.error !== text) {
        e.error = text;
        this.o.onLog({ level: 'warn', msg: 'BFD socket not ready; tried again', fields: { neighbor: e.spec.name, err: text } });
        this.report(e);
      }
      return false;
    }
  }

  private apply(e: Entry, fx: BfdEffects): void {
    for (const p of fx.send) this.send(e, p);
    if (fx.change) {
      e.since = Date.now();
      const reason = diagText(fx.change.diag);
      if (fx.change.to === BfdState.Down || fx.change.to === BfdState.AdminDown) e.lastDownReason = reason;
      const change = { from: stateName(fx.change.from), to: stateName(fx.change.to), reason };
      this.o.onLog({ level: fx.change.from === BfdState.Up ? 'warn' : 'info', msg: 'BFD session state', fields: { neighbor: e.spec.name, ...change } });
      this.report(e, change);
    }
    if (this.entries.get(e.spec.name) === e) this.arm(e);
  }

  private send(e: Entry, p: BfdControlPacket): void {
    if (!e.socket && !this.openSocket(e)) return;
    const errno = e.socket!.send(encodeControl(p));
    if (errno !== 0) {
      // The tunnel went away under the socket (bound to the old interface): a new one at the next packet.
      e.socket!.close();
      e.socket = null;
      const text = `send: errno ${errno}`;
      if (e.error !== text) {
        e.error = text;
        this.report(e);
      }
    }
  }

  /**
   * One timer per session at its next deadline (detection time or
   * transmission). A timer that fires before a deadline that moved later
   * finds nothing due and re-arms; an earlier deadline re-arms at once.
   */
  private arm(e: Entry): void {
    const at = Math.min(e.session.nextDeadline(), e.socket ? Infinity : this.now() + SOCKET_RETRY_MS);
    if (e.timer && e.armedAt <= at) return;
    if (e.timer) clearTimeout(e.timer);
    e.timer = null;
    e.armedAt = at;
    if (at === Infinity) return;
    e.timer = setTimeout(() => {
      e.timer = null;
      e.armedAt = Infinity;
      if (this.entries.get(e.spec.name) !== e) return;
      this.noteLateness(this.now() - at);
      this.apply(e, e.session.expire(this.now()));
      this.report(e);
    }, Math.max(0, at - this.now()));
    e.timer.unref();
  }

  private lastLateWarning = -Infinity;

  /**
   * A timer that fires late means this thread's event loop was held up: the
   * packets went out late too, and the peer may count them missing. Said
   * once per LATE_WARN_EVERY_MS at most.
   */
  private noteLateness(lateMs: number): void {
    if (lateMs < LATE_WARN_MS) return;
    const now = this.now();
    if (now - this.lastLateWarning < LATE_WARN_EVERY_MS) return;
    this.lastLateWarning = now;
    this.o.onLog({ level: 'warn', msg: 'BFD timer fired late: the event loop of the BFD thread was busy', fields: { lateMs: Math.round(lateMs) } });
  }

  private lastReported = new Map<string, string>();

  /** Sends the status when something in it changed (always with a state change). */
  private report(e: Entry, change?: BfdStatus['change']): void {
    // Called at every timer: what the status shows, cheaply, to tell whether it changed.
    const ses = e.session;
    const n = ses.negotiated();
    const key = `${ses.state}|${ses.remoteState}|${ses.remoteDiscriminator}|${n.txIntervalMs}|${n.detectionTimeMs}|${e.lastDownReason}|${e.error}`;
    if (!change && this.lastReported.get(e.spec.name) === key) return;
    this.lastReported.set(e.spec.name, key);
    const s = this.statusOf(e);
    this.o.onStatus(change ? { ...s, change } : s);
  }

  private statusOf(e: Entry): BfdStatus {
    const s = e.session;
    const n = s.negotiated();
    return {
      name: e.spec.name,
      state: stateName(s.state),
      remoteState: stateName(s.remoteState),
      localDiscriminator: s.localDiscriminator,
      remoteDiscriminator: s.remoteDiscriminator,
      txIntervalMs: n.txIntervalMs,
      detectionTimeMs: n.detectionTimeMs,
      lastDownReason: e.lastDownReason,
      since: e.since,
      error: e.error,
    };
  }
}

function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
