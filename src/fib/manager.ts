/**
 * RIB → FIB: what the agent wants installed, what the dataplane holds, and the
 * smallest batch of writes between the two. Pure bookkeeping around an
 * injected backend; no timers (the agent's shell debounces and calls flush).
 *
 * Start-up follows BIRD's kernel sync, scan → prune: dump the routes carrying
 * our tag, keep those equal to the desired ones, rewrite the ones that differ,
 * delete the rest ("stale", left by an earlier run), add what is missing.
 */
import { parseIp, formatIp } from '#lib/prefix';
import type { FibBackend, FibNextHop, FibOp, FibRoute } from './types.js';

export interface ReconcileResult {
  /** Stale routes deleted. */
  removed: number;
  /** Desired routes written (missing, or present with other next hops). */
  added: number;
  /** Present and identical: left untouched. */
  kept: number;
}

/** Canonical text of a next-hop address, so "2001:DB8::1" and "2001:db8::1" compare equal. */
function canonicalAddress(a: string): string {
  const ip = parseIp(a);
  return ip ? formatIp(ip.bytes) : a;
}

/**
 * Next-hop addresses repeat across many routes (a few peers, many prefixes):
 * canonicalize each text once. Bounded, since the texts come from outside.
 */
class AddressCache {
  private readonly map = new Map<string, string>();
  get(a: string): string {
    let c = this.map.get(a);
    if (c === undefined) {
      if (this.map.size >= 4096) this.map.clear();
      c = canonicalAddress(a);
      this.map.set(a, c);
    }
    return c;
  }
}

const sharedCache = new AddressCache();

function normalize(route: FibRoute, cache: AddressCache): FibRoute {
  const nexthops = route.nexthops.map((nh) => {
    const out: FibNextHop = {};
    if (nh.address !== undefined) out.address = cache.get(nh.address);
    if (nh.interface !== undefined) out.interface = nh.interface;
    return out;
  });
  return { prefix: route.prefix, nexthops };
}

/**
 * Whether the dataplane's `have` already does what `want` asks. Next hops are a
 * set (the kernel may list multipath members in another order). A wanted next
 * hop without an interface matches any interface: the kernel resolves one and
 * reports it.
 */
export function sameRoute(want: FibRoute, have: FibRoute): boolean {
  return sameNormalized(normalize(want, sharedCache), normalize(have, sharedCache));
}

/** sameRoute for routes whose addresses are already canonical. */
function sameNormalized(want: FibRoute, have: FibRoute): boolean {
  if (want.prefix !== have.prefix || want.nexthops.length !== have.nexthops.length) return false;
  if (want.nexthops.length === 1) {
    const w = want.nexthops[0]!;
    const h = have.nexthops[0]!;
    return w.address === h.address && (w.interface === undefined || w.interface === h.interface);
  }
  const used = new Array<boolean>(have.nexthops.length).fill(false);
  // Hops naming an interface pick first, so a wildcard cannot take the one they need.
  const ordered = [...want.nexthops].sort((a, b) => Number(a.interface === undefined) - Number(b.interface === undefined));
  for (const w of ordered) {
    let found = false;
    for (let i = 0; i < have.nexthops.length; i++) {
      const h = have.nexthops[i]!;
      if (used[i]) continue;
      if (w.address !== h.address) continue;
      if (w.interface !== undefined && w.interface !== h.interface) continue;
      used[i] = true;
      found = true;
      break;
    }
    if (!found) return false;
  }
  return true;
}

export class FibManager {
  /** What the agent wants, by prefix. */
  private readonly desired = new Map<string, FibRoute>();
  /** What this manager believes the dataplane holds (as last written or dumped). */
  private readonly current = new Map<string, FibRoute>();
  /** Prefixes whose desired and current state may differ: changed or failed since the last write. */
  private readonly dirty = new Set<string>();
  /** One write at a time: flush and reconcile both diff against `current`. */
  private chain: Promise<unknown> = Promise.resolve();
  private readonly addresses = new AddressCache();
  /** "PREFIX: REASON" for each op that failed in the last flush or reconcile (retried by the next flush). */
  lastErrors: string[] = [];

  constructor(private readonly backend: FibBackend) {}

  /** Wants `route` installed (replacing any earlier wish for its prefix). */
  set(route: FibRoute): void {
    this.desired.set(route.prefix, normalize(route, this.addresses));
    this.dirty.add(route.prefix);
  }

  /** Wants nothing installed for `prefix`. */
  delete(prefix: string): void {
    this.desired.delete(prefix);
    this.dirty.add(prefix);
  }

  /** Whether the dataplane holds a route for `prefix` that this manager wrote or adopted. */
  installed(prefix: string): boolean {
    return this.current.has(prefix);
  }

  /** Routes in the dataplane as far as this manager knows. */
  get size(): number {
    return this.current.size;
  }

  /** Writes the next flush would send. */
  pending(): number {
    let n = 0;
    for (const p of this.dirty) if (this.opFor(p)) n++;
    return n;
  }

  /**
   * Sends every pending change as one backend batch. Repeated changes of a
   * prefix since the last flush collapse into the last one; a replace equal to
   * what is installed is skipped. Failed ops stay pending for the next flush.
   */
  flush(): Promise<void> {
    return this.exclusive(async () => {
      const ops: FibOp[] = [];
      for (const p of this.dirty) {
        const op = this.opFor(p);
        if (op) ops.push(op);
      }
      this.dirty.clear();
      if (ops.length === 0) return;
      await this.apply(ops);
    });
  }

  /**
   * Aligns the dataplane with the desired routes after a (re)start: routes with
   * our tag that nobody wants go, identical ones stay untouched.
   */
  reconcile(): Promise<ReconcileResult> {
    return this.exclusive(async () => {
      const dumped = await this.backend.dump();
      this.current.clear();
      for (const r of dumped) this.current.set(r.prefix, normalize(r, this.addresses));
      const ops: FibOp[] = [];
      let removed = 0;
      let added = 0;
      let kept = 0;
      for (const p of this.current.keys()) {
        if (!this.desired.has(p)) {
          ops.push({ op: 'delete', prefix: p });
          removed++;
        }
      }
      for (const [p, want] of this.desired) {
        const have = this.current.get(p);
        if (have && sameNormalized(want, have)) kept++;
        else {
          ops.push({ op: 'replace', route: want });
          added++;
        }
      }
      // Everything is accounted for by these ops; failures re-enter `dirty`.
      this.dirty.clear();
      if (ops.length > 0) await this.apply(ops);
      else this.lastErrors = [];
      return { removed, added, kept };
    });
  }

  /**
   * The dataplane lost its routes (VPP restarted): nothing is installed any
   * more, and the next flush writes every desired route again.
   */
  dataplaneLost(): void {
    this.current.clear();
    for (const p of this.desired.keys()) this.dirty.add(p);
  }

  /** The write that brings `prefix` from current to desired, or null when none is needed. */
  private opFor(prefix: string): FibOp | null {
    const want = this.desired.get(prefix);
    const have = this.current.get(prefix);
    if (want) return have && sameNormalized(want, have) ? null : { op: 'replace', route: want };
    return have ? { op: 'delete', prefix } : null;
  }

  private async apply(ops: FibOp[]): Promise<void> {
    let failures: { prefix: string; error: string }[];
    try {
      failures = await this.backend.apply(ops);
    } catch (err) {
      // Nothing is known to have happened: all of it stays pending.
      for (const op of ops) this.dirty.add(op.op === 'replace' ? op.route.prefix : op.prefix);
      this.lastErrors = [`batch of ${ops.length}: ${err instanceof Error ? err.message : String(err)}`];
      throw err;
    }
    const failed = new Set<string>();
    for (const f of failures) failed.add(f.prefix);
    for (const op of ops) {
      const prefix = op.op === 'replace' ? op.route.prefix : op.prefix;
      if (failed.has(prefix)) {
        this.dirty.add(prefix);
        continue;
      }
      if (op.op === 'replace') this.current.set(prefix, op.route);
      else this.current.delete(prefix);
    }
    this.lastErrors = failures.map((f) => `${f.prefix}: ${f.error}`);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }
}
