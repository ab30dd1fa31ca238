/**
 * One BFD session in asynchronous mode (RFC 5880 §6), as a pure state
 * machine: the shell hands it received packets and the time (milliseconds,
 * monotonic), arms one timer at nextDeadline(), and sends what the calls
 * return. No timers, no sockets in here.
 *
 * Not implemented: Demand mode for ourselves (we never set D; a peer's D is
 * honoured, §6.8.7), the Echo function (Required Min Echo RX 0), and
 * authentication (packets with A are refused by the codec).
 */
import { BfdDiag, BfdState, type BfdControlPacket } from './codec.js';

/** RFC 5880 §6.8.3: the transmit interval while the session is not Up is at least one second. */
export const SLOW_TX_US = 1_000_000;

export interface BfdTimers {
  /** Our Desired Min TX Interval when Up, microseconds. */
  desiredMinTx: number;
  /** Our Required Min RX Interval, microseconds. */
  requiredMinRx: number;
  /** Our Detect Mult. */
  detectMult: number;
}

export interface BfdSessionOptions extends BfdTimers {
  /** bfd.LocalDiscr: non-zero, unique among this system's sessions (§6.8.1). */
  localDiscriminator: number;
  /** [0, 1): the jitter's randomness (§6.8.7); injected so tests are repeatable. */
  random: () => number;
}

export interface BfdStateChange {
  from: BfdState;
  to: BfdState;
  /** bfd.LocalDiag after the change: why we went down. */
  diag: BfdDiag;
}

/** What a call asks the shell to do. */
export interface BfdEffects {
  send: BfdControlPacket[];
  change: BfdStateChange | null;
}

/** The figures `neighbors` shows. */
export interface BfdNegotiated {
  /** The interval we transmit at now (before jitter), ms. */
  txIntervalMs: number;
  /** How long without a packet before the session is declared down, ms (0: not running). */
  detectionTimeMs: number;
}

const NONE: BfdEffects = { send: [], change: null };

export class BfdSession {
  state = BfdState.Down;
  remoteState = BfdState.Down;
  remoteDiscriminator = 0;
  localDiag = BfdDiag.None;
  readonly localDiscriminator: number;
  /** bfd.RemoteMinRxInterval (µs): 1 until the peer tells (§6.8.1). */
  private remoteMinRx = 1;
  private remoteDesiredMinTx = 0;
  private remoteDetectMult = 0;
  private remoteDemand = false;
  private configured: BfdTimers;
  /** What our packets say (bfd.DesiredMinTxInterval, bfd.RequiredMinRxInterval). */
  private advertisedTx: number;
  private advertisedRx: number;
  /** What the timers use: behind the advertised values while a Poll Sequence runs (§6.8.3). */
  private usedTx: number;
  private usedRx: number;
  private polling = false;
  private nextTx: number;
  private detectAt = Infinity;
  private readonly random: () => number;

  constructor(o: BfdSessionOptions, now: number) {
    if (o.localDiscriminator === 0) throw new RangeError('BFD local discriminator must not be 0 (RFC 5880 §6.8.1)');
    this.localDiscriminator = o.localDiscriminator >>> 0;
    this.random = o.random;
    this.configured = { desiredMinTx: o.desiredMinTx, requiredMinRx: o.requiredMinRx, detectMult: o.detectMult };
    this.advertisedTx = this.usedTx = Math.max(o.desiredMinTx, SLOW_TX_US);
    this.advertisedRx = this.usedRx = o.requiredMinRx;
    // The first packet goes at once: the peer learns our discriminator sooner.
    this.nextTx = now;
  }

  get pollInProgress(): boolean {
    return this.polling;
  }

  /** The next time expire() has something to do. */
  nextDeadline(): number {
    return Math.min(this.nextTx, this.detectAt);
  }

  negotiated(): BfdNegotiated {
    const tx = this.txIntervalUs();
    return {
      txIntervalMs: tx === null ? 0 : tx / 1000,
      detectionTimeMs: this.detectAt === Infinity ? 0 : this.detectionTimeUs() / 1000,
    };
  }

  /** RFC 5880 §6.8.6, after the codec's checks: a packet addressed to this session. */
  receive(p: BfdControlPacket, now: number): BfdEffects {
    this.remoteDiscriminator = p.myDiscriminator;
    this.remoteState = p.state;
    this.remoteDemand = p.demand;
    this.remoteMinRx = p.requiredMinRx;
    this.remoteDesiredMinTx = p.desiredMinTx;
    this.remoteDetectMult = p.detectMult;
    if (p.final && this.polling) {
      // §6.5: the Final ends the Poll Sequence; the new intervals apply from now.
      this.polling = false;
      this.usedTx = this.advertisedTx;
      this.usedRx = this.advertisedRx;
    }
    // §6.8.6: "reset the Detection Timer" for every packet not discarded.
    this.detectAt = now + this.detectionTimeUs() / 1000;
    // §6.8.2: the peer's Required Min RX may have shortened our interval.
    this.nextTx = Math.min(this.nextTx, this.txDeadline(now));
    if (this.state === BfdState.AdminDown) return NONE;
    const from = this.state;
    if (p.state === BfdState.AdminDown) {
      if (this.state !== BfdState.Down) this.goDown(BfdDiag.NeighborSignaledSessionDown);
    } else if (this.state === BfdState.Down) {
      if (p.state === BfdState.Down) this.state = BfdState.Init;
      else if (p.state === BfdState.Init) this.goUp(now);
    } else if (this.state === BfdState.Init) {
      if (p.state === BfdState.Init || p.state === BfdState.Up) this.goUp(now);
    } else if (p.state === BfdState.Down) {
      this.goDown(BfdDiag.NeighborSignaledSessionDown);
    }
    const send: BfdControlPacket[] = [];
    if (p.poll) {
      // §6.8.7: a Poll is answered at once with the Final, whatever the transmit timer says.
      send.push(this.packet({ final: true }));
    } else if (this.state !== from) {
      // A state change goes to the peer at once rather than at the next tick: the three-way handshake completes sooner.
      send.push(this.packet());
    }
    return { send, change: this.state === from ? null : { from, to: this.state, diag: this.localDiag } };
  }

  /** Timers due at `now`: the detection time (§6.8.4) and the periodic transmission (§6.8.7). */
  expire(now: number): BfdEffects {
    let change: BfdStateChange | null = null;
    if (now >= this.detectAt) {
      this.detectAt = Infinity;
      // §6.8.1: bfd.RemoteDiscr is zeroed when a Detection Time passes without a packet.
      this.remoteDiscriminator = 0;
      this.remoteState = BfdState.Down;
      this.remoteMinRx = 1;
      this.remoteDemand = false;
      if (this.state === BfdState.Init || this.state === BfdState.Up) {
        const from = this.state;
        this.goDown(BfdDiag.ControlDetectionTimeExpired);
        change = { from, to: this.state, diag: this.localDiag };
      }
    }
    const send: BfdControlPacket[] = [];
    if (now >= this.nextTx) {
      const interval = this.txIntervalUs();
      if (interval !== null) send.push(this.packet());
      this.nextTx = this.txDeadline(now);
    }
    return { send, change };
  }

  /** New configured timers; while Up a Poll Sequence announces them (§6.8.3). */
  setTimers(t: BfdTimers, now: number): BfdEffects {
    this.configured = { ...t };
    this.applyAdvertised(now);
    return NONE;
  }

  /** §6.8.16: AdminDown, telling the peer why (diag 7); the session stays so until enable(). */
  adminDown(now: number): BfdEffects {
    if (this.state === BfdState.AdminDown) return NONE;
    const from = this.state;
    this.state = BfdState.AdminDown;
    this.localDiag = BfdDiag.AdministrativelyDown;
    this.detectAt = Infinity;
    this.applyAdvertised(now);
    return { send: [this.packet()], change: { from, to: this.state, diag: this.localDiag } };
  }

  enable(now: number): BfdEffects {
    if (this.state !== BfdState.AdminDown) return NONE;
    this.state = BfdState.Down;
    this.applyAdvertised(now);
    this.nextTx = now;
    return { send: [], change: { from: BfdState.AdminDown, to: BfdState.Down, diag: this.localDiag } };
  }

  /**
   * Up: the configured (faster) rate is advertised from the next packet on,
   * and the peer's detection time for us follows it from then (§6.8.4), so
   * the next periodic packet is due at that rate, not at the 1 s of before
   * (§6.8.7: sent no slower than what we advertise).
   */
  private goUp(now: number): void {
    this.state = BfdState.Up;
    this.localDiag = BfdDiag.None;
    this.applyAdvertised(now);
  }

  private goDown(diag: BfdDiag): void {
    this.state = BfdState.Down;
    this.localDiag = diag;
    this.applyAdvertised(null);
  }

  /**
   * The advertised intervals follow the state (§6.8.3: at least 1 s while not
   * Up) and the configuration. While Up a change starts a Poll Sequence, and
   * a longer TX or a shorter RX waits for its Final (§6.8.3); otherwise the
   * change applies at once.
   */
  private applyAdvertised(now: number | null): void {
    const up = this.state === BfdState.Up;
    const tx = up ? this.configured.desiredMinTx : Math.max(this.configured.desiredMinTx, SLOW_TX_US);
    const rx = this.configured.requiredMinRx;
    if (tx === this.advertisedTx && rx === this.advertisedRx) return;
    this.advertisedTx = tx;
    this.advertisedRx = rx;
    if (up) {
      this.polling = true;
      if (tx < this.usedTx) this.usedTx = tx;
      if (rx > this.usedRx) this.usedRx = rx;
    } else {
      this.polling = false;
      this.usedTx = tx;
      this.usedRx = rx;
    }
    if (now !== null) this.nextTx = Math.min(this.nextTx, this.txDeadline(now));
  }

  /**
   * §6.8.2: the larger of our Desired Min TX and the peer's Required Min RX;
   * null when we must not transmit periodically (the peer's Required Min RX
   * is 0, or it is in Demand mode with both sides Up, §6.8.7).
   */
  private txIntervalUs(): number | null {
    if (this.remoteMinRx === 0) return null;
    if (this.remoteDemand && this.state === BfdState.Up && this.remoteState === BfdState.Up && !this.polling) return null;
    return Math.max(this.usedTx, this.remoteMinRx);
  }

  /** §6.8.7: the next periodic packet, 75–100 % of the interval (75–90 % with Detect Mult 1). */
  private txDeadline(now: number): number {
    const interval = this.txIntervalUs();
    if (interval === null) return Infinity;
    const span = this.configured.detectMult === 1 ? 0.15 : 0.25;
    return now + (interval / 1000) * (0.75 + span * this.random());
  }

  /** §6.8.4, asynchronous mode: the peer's Detect Mult × max(our Required Min RX, its Desired Min TX). */
  private detectionTimeUs(): number {
    return this.remoteDetectMult * Math.max(this.usedRx, this.remoteDesiredMinTx);
  }

  private packet(flags: { final?: boolean } = {}): BfdControlPacket {
    const final = flags.final === true;
    return {
      diag: this.localDiag,
      state: this.state,
      // §6.5: P and F are never set together.
      poll: this.polling && !final,
      final,
      cpi: false,
      auth: false,
      demand: false,
      detectMult: this.configured.detectMult,
      myDiscriminator: this.localDiscriminator,
      yourDiscriminator: this.remoteDiscriminator,
      desiredMinTx: this.advertisedTx,
      requiredMinRx: this.advertisedRx,
      requiredMinEchoRx: 0,
    };
  }
}
