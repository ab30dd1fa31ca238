/**
 * RFC 9494 long-lived graceful restart, the receiving speaker's timers: once
 * a neighbor's restart time (RFC 4724) has run out, or at once when it is 0,
 * its routes of each family it negotiated long-lived graceful restart for
 * stay, long-lived stale (Rib.longLivedStale: LLGR_STALE, least preferred,
 * withheld from neighbors without the capability), for the long-lived stale
 * time; the other families go. The neighbor coming back ends it (its
 * End-of-RIB sweeps what it did not send again, as for graceful restart);
 * the time running out sweeps the family, and the neighbor leaves the RIB
 * with its last family.
 */
import type { Clock, TimerHandle } from '#lib/clock';
import type { Logger } from '#lib/log';
import type { LocRibChange, Rib } from '#bgp/rib/index';
import type { Negotiated } from '#bgp/session/index';
import { AFI_IPV4, AFI_IPV6 } from '#bgp/wire/types';
import type { StaleRoutesJson } from '#api/types';

/** The longest a Node.js timer waits (2^31 - 1 ms, about 24.8 days); a long-lived stale time may be 194 days. */
const MAX_TIMER_MS = 0x7fffffff;

/** A family kept long-lived stale, with the seconds it is kept for. */
export interface LongLivedFamily {
  afi: number;
  safi: number;
  staleTime: number;
}

export interface LongLivedContext {
  rib: Pick<Rib, 'longLivedStale' | 'sweepStale' | 'hasStale' | 'staleCount' | 'staleCountOf'>;
  clock: Clock;
  log: Logger;
  queue(changes: LocRibChange[]): void;
  /** The neighbor is still away and its last family's time ran out: its paths and its place in the RIB go. */
  withdraw(name: string): void;
  /** Whether the neighbor's session is down (the timers do nothing once it is back). */
  away(name: string): boolean;
}

interface Phase {
  /** Families in their long-lived stale time, by AFI, with the timer that ends it. */
  readonly timers: Map<number, TimerHandle>;
  /** clock.now() at which each family's time runs out. */
  readonly until: Map<number, number>;
}

/**
 * The families of a session that keep routes long-lived stale: negotiated
 * (both sides sent the capability, session/open.ts), with a time above 0.
 * The time is the neighbor's, capped by ours (`bgp.long-lived-stale-time`):
 * the operator decides how long stale routes may stay here at most.
 */
export function longLivedFamilies(neg: Negotiated | null, ours: number | undefined): LongLivedFamily[] {
  if (neg === null || neg.longLived === undefined || ours === undefined || ours <= 0) return [];
  return neg.longLived.map((f) => ({ afi: f.afi, safi: f.safi, staleTime: Math.min(f.staleTime, ours) })).filter((f) => f.staleTime > 0);
}

/** `fn` after `ms` on `clock`, in steps a timer can wait. */
function after(clock: Clock, ms: number, fn: () => void): TimerHandle {
  const deadline = clock.now() + ms;
  let handle: TimerHandle;
  const step = (): void => {
    const left = deadline - clock.now();
    if (left > 0) handle = clock.setTimeout(step, Math.min(left, MAX_TIMER_MS));
    else fn();
  };
  handle = clock.setTimeout(step, Math.min(ms, MAX_TIMER_MS));
  return { cancel: () => handle.cancel() };
}

export class LongLivedStale {
  private readonly phases = new Map<string, Phase>();

  constructor(private readonly ctx: LongLivedContext) {}

  /**
   * RFC 9494 §4.2: the neighbor's restart time ran out (or was 0). Its stale
   * paths of the `families` become long-lived stale (or go, with NO_LLGR);
   * those of other families go. False when nothing was kept: the caller
   * withdraws the neighbor as without long-lived graceful restart.
   */
  begin(name: string, families: readonly LongLivedFamily[]): boolean {
    this.forget(name);
    const phase: Phase = { timers: new Map(), until: new Map() };
    // The RIB holds unicast of both families (RFC 4760 AFI 1 and 2, SAFI 1).
    for (const afi of [AFI_IPV4, AFI_IPV6]) {
      const f = families.find((x) => x.afi === afi);
      if (f === undefined) {
        this.ctx.queue(this.ctx.rib.sweepStale(name, afi));
        continue;
      }
      const { changes, kept, removed } = this.ctx.rib.longLivedStale(name, afi);
      this.ctx.queue(changes);
      this.ctx.log.warn(
        { neighbor: name, family: afi === AFI_IPV6 ? 'ipv6' : 'ipv4', kept, removedNoLlgr: removed, staleTime: f.staleTime },
        'restart time over: its routes stay long-lived stale, least preferred (RFC 9494)',
      );
      if (kept === 0) continue;
      phase.until.set(afi, this.ctx.clock.now() + f.staleTime * 1000);
      phase.timers.set(afi, after(this.ctx.clock, f.staleTime * 1000, () => this.expire(name, afi)));
    }
    if (phase.timers.size === 0) return false;
    this.phases.set(name, phase);
    return true;
  }

  /** Whether the neighbor's paths of the family are long-lived stale (its time is running). */
  inPhase(name: string, afi: number): boolean {
    return this.phases.get(name)?.timers.has(afi) ?? false;
  }

  /** Seconds left of the family's long-lived stale time, or null when it is not running. */
  remaining(name: string, afi: number): number | null {
    const until = this.phases.get(name)?.until.get(afi);
    return until === undefined ? null : Math.max(0, Math.ceil((until - this.ctx.clock.now()) / 1000));
  }

  /** `neighbors`: the neighbor's stale routes, and per family in its long-lived stale time how many and for how long; null: none. */
  view(name: string): StaleRoutesJson | null {
    const routes = this.ctx.rib.staleCount(name);
    if (routes === 0) return null;
    const longLived: StaleRoutesJson['longLived'] = [];
    for (const afi of [AFI_IPV4, AFI_IPV6]) {
      const secondsLeft = this.remaining(name, afi);
      if (secondsLeft !== null) longLived.push({ family: afi === AFI_IPV4 ? 'ipv4-unicast' : 'ipv6-unicast', routes: this.ctx.rib.staleCountOf(name, afi), secondsLeft });
    }
    return { routes, longLived };
  }

  /** The neighbor is back, or gone from the configuration: its timers stop (its End-of-RIB sweeps the rest). */
  forget(name: string): void {
    const phase = this.phases.get(name);
    if (phase === undefined) return;
    for (const t of phase.timers.values()) t.cancel();
    this.phases.delete(name);
  }

  /** Every timer, at agent stop. */
  forgetAll(): void {
    for (const name of [...this.phases.keys()]) this.forget(name);
  }

  private expire(name: string, afi: number): void {
    const phase = this.phases.get(name);
    if (phase === undefined || !this.ctx.away(name)) return;
    phase.timers.delete(afi);
    phase.until.delete(afi);
    const left = this.ctx.rib.staleCountOf(name, afi);
    this.ctx.log.warn({ neighbor: name, family: afi === AFI_IPV6 ? 'ipv6' : 'ipv4', routes: left }, 'long-lived stale time over: its routes are removed (RFC 9494 §4.2)');
    if (phase.timers.size > 0) {
      this.ctx.queue(this.ctx.rib.sweepStale(name, afi));
      return;
    }
    this.phases.delete(name);
    this.ctx.withdraw(name);
  }
}
