/**
 * Injected time. The protocol core never reads the wall clock or arms real
 * timers itself: it is handed a Clock, so tests advance time without sleeping.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Wall-clock time for display (ISO strings in status output). */
  wallNow(): Date;
  setTimeout(fn: () => void, ms: number): TimerHandle;
}

export class SystemClock implements Clock {
  now(): number {
    return performance.now();
  }
  wallNow(): Date {
    return new Date();
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  }
}

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** A clock for tests: time moves only when `advance` is called. */
export class ManualClock implements Clock {
  private t = 0;
  private seq = 0;
  private pending: Pending[] = [];
  constructor(private readonly epoch = new Date('2026-01-01T00:00:00Z')) {}

  now(): number {
    return this.t;
  }
  wallNow(): Date {
    return new Date(this.epoch.getTime() + this.t);
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const p: Pending = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.pending.push(p);
    return { cancel: () => { p.cancelled = true; } };
  }
  /** Moves time forward, firing due timers in order (timers armed meanwhile fire too). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.pending = this.pending.filter((p) => !p.cancelled);
      let next: Pending | undefined;
      for (const p of this.pending) {
        if (p.at <= end && (!next || p.at < next.at || (p.at === next.at && p.seq < next.seq))) next = p;
      }
      if (!next) break;
      this.t = next.at;
      next.cancelled = true;
      next.fn();
    }
    this.t = end;
  }
  /** Number of armed timers (for assertions). */
  get armed(): number {
    return this.pending.filter((p) => !p.cancelled).length;
  }
}
