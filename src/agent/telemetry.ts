/**
 * What the agent tells watchers (`wgbgp watch`) and the metrics: events as
 * they happen, route counts at most once a second (a full table arriving is
 * a few lines, not a million), and how far the FIB lags behind the RIB.
 * The shell's side of the agent: listeners and the injected clock, no I/O.
 */
import type { Clock, TimerHandle } from '#lib/clock';
import type { BgpStateName, NeighborBfdJson, ReloadJson, WatchEvent } from '#api/types';

/** Route counts go out at most this often. */
export const ROUTE_EVENT_INTERVAL_MS = 1000;

export interface RouteCounts {
  rib: number;
  fib: number;
  pending: number;
}

export class AgentTelemetry {
  private readonly listeners = new Set<(e: WatchEvent) => void>();
  /** Stopped: no more watchers, no more events. */
  private closed = false;
  private lastCounts: RouteCounts | null = null;
  private lastCountsAt = -Infinity;
  private countsTimer: TimerHandle | null = null;
  private dataplane: { state: string; detail: string | null } | null = null;
  /** clock.now() since when RIB changes wait for the FIB, or null when it is in step. */
  private pendingSince: number | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly counts: () => RouteCounts,
  ) {}

  /** Calls `listener` with every event until the returned function is called. */
  watch(listener: (e: WatchEvent) => void): () => void {
    // A function of its own per watch: the same listener twice is two watchers.
    const one = (e: WatchEvent): void => listener(e);
    if (this.closed) return () => undefined;
    this.listeners.add(one);
    return () => this.listeners.delete(one);
  }

  get watchers(): boolean {
    return this.listeners.size > 0;
  }

  private emit(e: WatchEvent): void {
    // Those watching when the event happened, even if one stops watching meanwhile.
    for (const listener of [...this.listeners]) {
      try {
        listener(e);
      } catch {
        // One watcher's failure (a closed socket) is not the agent's.
      }
    }
  }

  private now(): string {
    return this.clock.wallNow().toISOString();
  }

  session(neighbor: string, from: BgpStateName, to: BgpStateName, lastError: string | null): void {
    if (!this.watchers) return;
    this.emit({ type: 'session', time: this.now(), neighbor, from, to, lastError });
  }

  handshake(neighbor: string, iface: string, endpoint: string | null): void {
    if (!this.watchers) return;
    this.emit({ type: 'handshake', time: this.now(), neighbor, interface: iface, endpoint });
  }

  reloaded(r: ReloadJson): void {
    if (!this.watchers) return;
    this.emit({ type: 'reload', time: this.now(), ok: r.ok, added: r.added, removed: r.removed, changed: r.changed, errors: r.errors, ...(r.ospf ? { ospf: r.ospf } : {}), ...(r.tunnels ? { tunnels: r.tunnels } : {}), ...(r.policies ? { policies: r.policies } : {}) });
  }

  /** A BFD session changed state (RFC 5880 diagnostic words as the reason). */
  bfd(neighbor: string, from: NeighborBfdJson['state'], to: NeighborBfdJson['state'], reason: string, remoteState: NeighborBfdJson['state']): void {
    if (!this.watchers) return;
    this.emit({ type: 'bfd', time: this.now(), neighbor, from, to, reason, remoteState });
  }

  logLevel(component: string, level: string): void {
    if (!this.watchers) return;
    this.emit({ type: 'log-level', time: this.now(), component, level });
  }

  /** The dataplane's state as status shows it; an event when it changed. */
  dataplaneState(state: 'ok' | 'degraded' | 'down', detail: string | null): void {
    const prev = this.dataplane;
    this.dataplane = { state, detail };
    if (prev === null || (prev.state === state && prev.detail === detail)) return;
    if (this.watchers) this.emit({ type: 'dataplane', time: this.now(), state, detail });
  }

  /** RIB changes were queued for the FIB. */
  queued(): void {
    this.pendingSince ??= this.clock.now();
  }

  /** A FIB flush ended; `inStep`: nothing waits any more. Route counts go out, throttled. */
  flushed(inStep: boolean): void {
    if (inStep) this.pendingSince = null;
    this.routesChanged();
  }

  /** Seconds the oldest RIB change not yet in the FIB has waited (0 when in step). */
  fibLagSeconds(): number {
    return this.pendingSince === null ? 0 : (this.clock.now() - this.pendingSince) / 1000;
  }

  private routesChanged(): void {
    if (!this.watchers || this.countsTimer !== null) return;
    const wait = this.lastCountsAt + ROUTE_EVENT_INTERVAL_MS - this.clock.now();
    if (wait <= 0) {
      this.emitCounts();
      return;
    }
    this.countsTimer = this.clock.setTimeout(() => {
      this.countsTimer = null;
      this.emitCounts();
    }, wait);
  }

  private emitCounts(): void {
    const c = this.counts();
    const prev = this.lastCounts;
    if (prev !== null && prev.rib === c.rib && prev.fib === c.fib && prev.pending === c.pending) return;
    this.lastCounts = c;
    this.lastCountsAt = this.clock.now();
    this.emit({ type: 'routes', time: this.now(), ...c });
  }

  close(): void {
    this.countsTimer?.cancel();
    this.countsTimer = null;
    this.closed = true;
    this.listeners.clear();
  }
}
