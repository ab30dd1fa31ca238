/**
 * The forwarding state a previous run left (keep-on-stop, RFC 4724): read
 * and adopted at start, which makes this run the restarting speaker; moved
 * when dataplane.linux changes its tag; swept once the neighbors have sent
 * their tables again (or at the deadline), which ends our restart.
 */
import type { Logger } from '#lib/log';
import type { Config } from '#config/types';
import type { FibBackend, LinuxRouteTag } from '#fib/types';
import type { FibManager } from '#fib/index';
import { errorText } from '#lib/error-text';
import type { KernelMirror } from './kernel-mirror.js';
import type { AgentState } from './neighbor.js';

export interface PreviousRunContext extends Pick<AgentState, 'neighbors' | 'stopping'> {
  fib: FibBackend;
  fibm: Pick<FibManager, 'adopt' | 'reconcile' | 'between'>;
  /** VPP with OSPF: BGP's routes in the namespace's kernel (null: none). */
  mirror: Pick<KernelMirror, 'adopt' | 'reconcile' | 'between' | 'backend'> | null;
  /** The tag our Linux routes carried in the last run (absent: not recorded). */
  fibTag: { read(): Promise<LinuxRouteTag | null>; write(tag: LinuxRouteTag): Promise<void> } | undefined;
  log: Logger;
  fibLog: Logger;
  /** Writes what the RIB has now to the FIB. */
  flush(): Promise<void>;
  /** RFC 4724 §4.1: the FIB held our routes: this run is the restarting speaker. */
  restarting(): void;
  /** RFC 4724 §4.1: the sweep is done, the deferred tables go out. */
  restarted(): void;
}

export class PreviousRun {
  private swept = false;
  /**
   * The FIB (and the kernel mirror) was read at start and held none of our
   * routes: nothing of an earlier run can be stale, and the sweep's
   * reconcile is skipped (it would only read back the table just written).
   */
  private fibEmpty = false;
  private mirrorEmpty = false;

  constructor(private readonly ctx: PreviousRunContext) {}

  /**
   * Our Linux routes move with a changed dataplane.linux (table, protocol,
   * metric): from `prev` on reload, from the recorded tag at start.
   */
  async migrateTag(prev: Config | null, next: Config): Promise<void> {
    // On VPP the kernel routes are the mirror's (BGP → OSPF).
    const kernel = this.ctx.fib.migrate !== undefined ? { fib: this.ctx.fib, fibm: this.ctx.fibm } : this.ctx.mirror ? { fib: this.ctx.mirror.backend, fibm: this.ctx.mirror } : null;
    if (kernel === null) return;
    const fib = kernel.fib;
    if (fib.migrate === undefined || fib.retag === undefined) return;
    const to = next.dataplane.linux;
    // No record: an earlier version wrote routes without a metric of their own.
    const from = prev?.dataplane.linux ?? (await this.ctx.fibTag?.read()) ?? { ...to, metric: null };
    fib.retag(to);
    try {
      const r = await kernel.fibm.between(() => fib.migrate!(from));
      if (r.moved > 0) this.ctx.fibLog.info({ from, to, moved: r.moved, failed: r.failed.length }, 'routes moved to the new table/protocol/metric');
      for (const f of r.failed.slice(0, 10)) this.ctx.fibLog.error(f, 'route not moved');
    } catch (err) {
      this.ctx.fibLog.error({ err: errorText(err), from, to }, 'routes not moved to the new table/protocol/metric');
    }
    await this.ctx.fibTag?.write(to);
  }

  /**
   * Our routes left by a previous run (keep-on-stop) are taken as installed:
   * the same route wanted again is not rewritten, and the rest stays until
   * the sweep. A dataplane that cannot be read yet (VPP still starting) is
   * reconciled at the sweep instead.
   */
  async adopt(): Promise<void> {
    try {
      if (this.ctx.mirror !== null) this.mirrorEmpty = (await this.ctx.mirror.adopt()) === 0;
    } catch (err) {
      this.ctx.fibLog.warn({ err: errorText(err) }, 'cannot read the kernel mirror (BGP → OSPF); reconciled later');
    }
    try {
      const n = await this.ctx.fibm.adopt();
      this.fibEmpty = n === 0;
      if (n > 0) {
        this.ctx.restarting();
        this.ctx.log.info({ routes: n }, 'restarting with the forwarding state of an earlier run (RFC 4724): its routes stay until the neighbors have re-sent theirs');
      }
    } catch (err) {
      this.ctx.fibLog.warn({ err: errorText(err) }, 'cannot read the FIB yet; earlier routes are reconciled later');
    }
  }

  /**
   * Owned routes left from a previous run stay in place until the neighbors
   * have re-sent their tables (End-of-RIB, RFC 4724 §2), so a restart does
   * not black-hole traffic; then what nobody re-announced is removed.
   */
  maybeSweep(): void {
    if (this.swept) return;
    for (const n of this.ctx.neighbors()) {
      const fams = n.negotiated?.families ?? [];
      // RFC 4724 §4.1: a peer that is restarting too sends its End-of-RIB after ours: not waited for.
      if (n.negotiated?.gracefulRestart?.restartState) continue;
      if (!n.negotiated || fams.some((f) => !n.eor.has(`${f.afi}/${f.safi}`))) return;
    }
    void this.sweep('all neighbors sent End-of-RIB');
  }

  async sweep(why: string): Promise<void> {
    if (this.swept || this.ctx.stopping()) return;
    this.swept = true;
    await this.ctx.flush();
    // Only what an earlier run left can be stale. A FIB read empty at start (ours: a fresh VPP or
    // kernel) has nothing to sweep, and the reconcile would read the whole table back: at 1 M routes
    // seconds of VPP's main thread answering no one else, and 2.4 s of the agent's CPU.
    if (this.fibEmpty) {
      this.ctx.fibLog.info({ why }, 'FIB held none of our routes at start: nothing stale to sweep');
    } else {
      try {
        const r = await this.ctx.fibm.reconcile();
        this.ctx.fibLog.info({ ...r, why }, 'FIB reconciled with the dataplane');
      } catch (err) {
        this.ctx.fibLog.error({ err: errorText(err) }, 'FIB reconcile failed');
      }
    }
    if (this.ctx.mirror !== null && !this.mirrorEmpty) {
      try {
        const r = await this.ctx.mirror.reconcile();
        this.ctx.fibLog.info({ ...r, why }, 'kernel mirror (BGP → OSPF) reconciled');
      } catch (err) {
        this.ctx.fibLog.error({ err: errorText(err) }, 'kernel mirror reconcile failed');
      }
    }
    this.ctx.restarted();
  }
}
