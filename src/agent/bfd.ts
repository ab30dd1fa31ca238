/**
 * Tunnel liveness for the agent (issue 12): BFD per neighbor (RFC 5880/5881,
 * the sessions run in src/bfd/), and the WireGuard handshake age as a second
 * signal. Either one takes the neighbor's BGP session down at once; the BGP
 * hold timer stays the final word (a NAT may pass UDP but drop TCP).
 *
 * The agent calls sync() whenever its neighbors change; its tunnel poll
 * (tunnels.ts) calls check() and reads bfdJson() for the views.
 */
import type { Clock } from '#lib/clock';
import type { Logger } from '#lib/log';
import type { NeighborConfig } from '#config/types';
import type { NeighborBfdJson } from '#api/types';
import type { BfdThreadStats } from '#bfd/service';
import type { BfdLogLine, BfdPeerSpec, BfdStatus } from '#bfd/engine';

/**
 * WireGuard's timers (the protocol's section 6.1): a session key older than
 * REJECT_AFTER_TIME carries no data, and the first packet sent after
 * REKEY_AFTER_TIME starts a new handshake. With a packet at least every K
 * seconds a live tunnel therefore handshakes at most REKEY_AFTER_TIME + K
 * apart; past max(REJECT_AFTER_TIME, REKEY_AFTER_TIME + K) plus a margin (the
 * tunnel poll, the handshake's retries of REKEY_TIMEOUT 5 s) it is dead.
 */
export const REJECT_AFTER_TIME_S = 180;
export const REKEY_AFTER_TIME_S = 120;
export const HANDSHAKE_MARGIN_S = 10;
/** The limit with the default BGP keepalive of 30 s (and any up to 60 s). */
export const HANDSHAKE_DEAD_AFTER_S = REJECT_AFTER_TIME_S + HANDSHAKE_MARGIN_S;

/** How old the latest handshake of a live tunnel can be when something is sent every `keepaliveS` seconds. */
export function handshakeDeadAfter(keepaliveS: number): number {
  return Math.max(REJECT_AFTER_TIME_S, REKEY_AFTER_TIME_S + keepaliveS) + HANDSHAKE_MARGIN_S;
}

/** RFC 9384: Cease subcode 10, "BFD Down". */
export const CEASE_BFD_DOWN = 10;

export interface HandshakeLiveness {
  alive: boolean;
  /** Why not alive; null when it is. */
  reason: string | null;
}

/**
 * The handshake-age rule: alive while the latest handshake is at most
 * handshakeDeadAfter(keepaliveS) old (190 s for keepalives up to 60 s
 * apart). No handshake yet is not alive either (nothing can pass), but it is
 * not a failure: it never worked.
 */
export function handshakeLiveness(latest: Date | null, now: Date, keepaliveS = 30): HandshakeLiveness {
  if (latest === null) return { alive: false, reason: 'no handshake yet' };
  const age = Math.floor((now.getTime() - latest.getTime()) / 1000);
  const limit = handshakeDeadAfter(keepaliveS);
  if (age > limit) return { alive: false, reason: `latest handshake ${age} s ago (more than ${limit} s)` };
  return { alive: true, reason: null };
}

/** What the agent uses of BFD (BfdService; a fake in tests). */
export interface BfdLink {
  set(wanted: BfdPeerSpec[]): Promise<void>;
  status(name: string): BfdStatus | null;
  close(): Promise<void>;
  /** The BFD thread's figures for the metrics. */
  stats?(): Promise<BfdThreadStats>;
}

export type BfdLinkFactory = (o: { onStatus: (s: BfdStatus) => void; onLog: (l: BfdLogLine) => void }) => BfdLink | Promise<BfdLink>;

/** The BFD thread and its engine are loaded with the first neighbor that runs BFD (at start or by a reload), not before. */
export const realBfd: BfdLinkFactory = async (o) => new (await import('#bfd/service')).BfdService(o);

/** One neighbor as liveness needs it. */
export interface LivenessNeighbor {
  cfg: NeighborConfig;
  /** The interface its session is bound to. */
  device: string;
  /** Our and the peer's address of its BGP session; the BFD session runs between the same two. */
  local: string | null;
  remote: string;
}

export interface LivenessDeps {
  clock: Clock;
  log: Logger;
  factory?: BfdLinkFactory;
  /** BFD went from Up to Down (not by the peer's AdminDown, RFC 5882 §3.2). */
  onBfdDown: (name: string, reason: string) => void;
  /** The tunnel of a neighbor without BFD stopped handshaking. */
  onHandshakeDead: (name: string, reason: string) => void;
  /** Every BFD state change (for `wgbgp watch`). */
  onBfdChange?: (s: BfdStatus & { change: NonNullable<BfdStatus['change']> }) => void;
}

export class Liveness {
  private link: BfdLink | null = null;
  /** The link while it is being made (the BFD module is loaded on first use); syncs wait for the same one. */
  private opening: Promise<BfdLink> | null = null;
  /** Neighbors whose tunnel was last seen dead by handshake age (acted on once per outage). */
  private readonly dead = new Set<string>();
  private enabled = new Set<string>();

  constructor(private readonly deps: LivenessDeps) {}

  /** The BFD sessions for these neighbors: started, changed (a Poll Sequence for new timers) or ended. */
  async sync(neighbors: Iterable<LivenessNeighbor>): Promise<void> {
    const wanted: BfdPeerSpec[] = [];
    for (const n of neighbors) {
      const bfd = n.cfg.bfd;
      if (!bfd || n.cfg.bgp === null) continue;
      if (n.local === null || n.remote === '') {
        this.deps.log.warn({ neighbor: n.cfg.name }, 'BFD needs the session addresses of the tunnel; not started');
        continue;
      }
      wanted.push({
        name: n.cfg.name,
        interface: n.device,
        local: n.local,
        remote: n.remote,
        // RFC 5880 speaks microseconds.
        timers: { desiredMinTx: bfd.minTx * 1000, requiredMinRx: bfd.minRx * 1000, detectMult: bfd.multiplier },
      });
    }
    this.enabled = new Set(wanted.map((w) => w.name));
    if (wanted.length === 0 && this.link === null && this.opening === null) return;
    this.opening ??= Promise.resolve((this.deps.factory ?? realBfd)({ onStatus: (s) => this.onStatus(s), onLog: (l) => this.onLog(l) }));
    const opening = this.opening;
    let link: BfdLink;
    try {
      link = await opening;
    } catch (err) {
      // The next sync tries again.
      if (this.opening === opening) this.opening = null;
      throw err;
    }
    // Closed while it was being made: this sync is moot.
    if (this.opening !== opening) {
      await link.close();
      return;
    }
    this.link = link;
    await link.set(wanted);
  }

  private onStatus(s: BfdStatus): void {
    const c = s.change;
    if (!c) return;
    this.deps.onBfdChange?.({ ...s, change: c });
    if (c.from === 'Up' && c.to === 'Down') {
      // RFC 5882 §3.2: the peer's AdminDown is not a failure of the path.
      if (s.remoteState === 'AdminDown') {
        this.deps.log.info({ neighbor: s.name }, 'BFD: the peer took its session administratively down; BGP stays');
        return;
      }
      this.deps.onBfdDown(s.name, c.reason);
    }
  }

  private onLog(l: BfdLogLine): void {
    this.deps.log[l.level](l.fields, l.msg);
  }

  /**
   * After a tunnel poll: the handshake age of a neighbor, and its session
   * taken down when the tunnel died and BFD does not watch it (BFD is the
   * faster signal where it runs). Returns the liveness to show in `tunnels`.
   * `keepaliveS`: something crosses the tunnel at least this often (BGP
   * keepalives, a persistent keepalive), so a live tunnel keeps handshaking;
   * null: nothing does, an idle tunnel stops handshaking and its age says
   * nothing (null).
   */
  check(name: string, latestHandshake: Date | null, o: { sessionUp: boolean; keepaliveS: number | null }): HandshakeLiveness | null {
    if (o.keepaliveS === null) {
      this.dead.delete(name);
      return null;
    }
    const l = handshakeLiveness(latestHandshake, this.deps.clock.wallNow(), o.keepaliveS);
    const failed = !l.alive && latestHandshake !== null;
    if (!failed) {
      this.dead.delete(name);
      return l;
    }
    if (!this.dead.has(name) && o.sessionUp && !this.enabled.has(name)) {
      this.dead.add(name);
      this.deps.onHandshakeDead(name, l.reason ?? 'handshake too old');
    }
    return l;
  }

  forget(name: string): void {
    this.dead.delete(name);
  }

  /** `neighbors --json` `bfd`: null when BFD is off for the neighbor. */
  bfdJson(name: string): NeighborBfdJson | null {
    if (!this.enabled.has(name)) return null;
    const s = this.link?.status(name) ?? null;
    if (s === null) {
      return { state: 'Down', remoteState: 'Down', localDiscriminator: null, remoteDiscriminator: null, txIntervalMs: null, detectionTimeMs: null, since: null, lastDownReason: null, error: null };
    }
    return {
      state: s.state,
      remoteState: s.remoteState,
      localDiscriminator: s.localDiscriminator,
      remoteDiscriminator: s.remoteDiscriminator === 0 ? null : s.remoteDiscriminator,
      txIntervalMs: s.txIntervalMs === 0 ? null : s.txIntervalMs,
      detectionTimeMs: s.detectionTimeMs === 0 ? null : s.detectionTimeMs,
      since: new Date(s.since).toISOString(),
      lastDownReason: s.lastDownReason,
      error: s.error,
    };
  }

  /** null without BFD sessions. */
  async threadStats(): Promise<BfdThreadStats | null> {
    if (!this.link?.stats || this.enabled.size === 0) return null;
    return this.link.stats();
  }

  async close(): Promise<void> {
    const link = this.link;
    this.link = null;
    // A link still being made is closed by the sync that waits for it.
    this.opening = null;
    await link?.close();
  }
}
