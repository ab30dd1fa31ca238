/**
 * Sending a whole table to a neighbor in steps, paced by its socket.
 *
 * A million prefixes made into UPDATEs at once were a million prefix texts
 * and ~100 000 message objects alive together, and their encoded octets
 * (~25 MB) queued in the socket of a neighbor that reads slowly. Here each
 * step exports the next STEP prefixes, sends them, and lets the event loop
 * turn; while more than BACKLOG_HIGH octets wait in the socket, the next step
 * waits for it to drain (TCP's flow control reaches the table's producer). A
 * neighbor that stops reading costs BACKLOG_HIGH plus one step, not a table.
 *
 * Changes of the moment (ChangeSender) go the same way: while more than
 * BACKLOG_HIGH waits in a neighbor's socket, its changes are not made into
 * UPDATEs; the RIB remembers which prefixes changed (Rib.setBehind), and
 * once the socket has drained they are sent from the Loc-RIB as it is then,
 * in steps, each prefix once (RFC 4271 §9.2).
 */
import type { LocRibChange, TableSteps } from '#bgp/rib/index';
import type { UpdateMessage } from '#bgp/wire/types';
import type { ExportPacingJson } from '#api/types';
import type { AgentSession } from './bgp.js';

/** Prefixes per step: ~60 kB of UPDATEs for a typical table. */
export const TABLE_STEP = 8192;
/**
 * Prefixes a batch of changes is made into UPDATEs for at once per neighbor;
 * past it the rest are owed and go a TABLE_STEP at a time. Above what the
 * receive path hands over in one batch (~16 000 changes: one read of a
 * session's socket), so only the rare whole-table batch (an import policy
 * applied again, a sweep, multipath switched) is split: catching up costs
 * more CPU than exporting a batch to all neighbors in one pass (each owed
 * prefix's best made per neighbor, not once: 2× with ten neighbors).
 */
export const CHANGE_STEP = 1 << 16;
/** Octets queued in the socket above which the next step waits for a drain. */
export const BACKLOG_HIGH = 1 << 20;

export interface TableSendContext {
  readonly log: { info(fields: object, msg: string): void };
  /** Runs `fn` on a later turn of the event loop (nothing once the agent stops). */
  defer(fn: () => void): void;
  /** Monotonic milliseconds, for the log line. */
  now(): number;
}

/**
 * Sends `steps`, then `tail` (End-of-RIB), to `session` while `current()`
 * holds (the session that came up is still the one up); `done` after the tail.
 *
 * `holdTail(resume)`, when given, may keep the tail back: it returns true
 * when it will call `resume` later. The agent holds it while the neighbor is
 * owed changes (ChangeSender.whenCaughtUp): a prefix that appeared behind
 * the steps while the neighbor was behind goes before its End-of-RIB, which a
 * graceful-restart receiver takes as "everything sent" and sweeps its stale
 * routes on (RFC 4724 §4.2).
 */
export function sendTable(
  ctx: TableSendContext,
  neighbor: string,
  session: AgentSession,
  steps: TableSteps,
  tail: UpdateMessage[],
  current: () => boolean,
  done?: () => void,
  holdTail?: (resume: () => void) => boolean,
): void {
  const started = ctx.now();
  let waits = 0;
  const pump = (): void => {
    if (!current()) return;
    if (waitForDrain(session, () => ctx.defer(pump))) {
      waits++;
      return;
    }
    const updates = steps.next(TABLE_STEP);
    if (updates.length > 0) session.sendMany(updates);
    if (!steps.done) {
      ctx.defer(pump);
      return;
    }
    if (holdTail?.(() => ctx.defer(pump))) {
      waits++;
      return;
    }
    session.sendMany(tail);
    if (steps.sent > TABLE_STEP) {
      ctx.log.info({ neighbor, prefixes: steps.sent, ms: Math.round(ctx.now() - started), drainWaits: waits }, 'table sent');
    }
    done?.();
  };
  pump();
}

/**
 * When more than BACKLOG_HIGH octets wait in the session's socket: arranges
 * `then` for when they have drained and returns true (the caller stops this
 * step). False when the next step may go now.
 */
export function waitForDrain(session: { readonly sendBacklog?: number; whenDrained?(fn: () => void): void }, then: () => void): boolean {
  if (!overMark(session)) return false;
  session.whenDrained!(then);
  return true;
}

function overMark(session: { readonly sendBacklog?: number; whenDrained?(fn: () => void): void }): boolean {
  return (session.sendBacklog ?? 0) > BACKLOG_HIGH && session.whenDrained !== undefined;
}

/** What the change sender uses of the RIB (Rib). */
export interface PacedRib {
  exportToPeers(peerIds: readonly string[], changes: readonly LocRibChange[], step: number): UpdateMessage[][];
  setBehind(peerId: string): void;
  isBehind(peerId: string): boolean;
  owedCount(peerId: string): number;
  catchUp(peerId: string, max: number): UpdateMessage[];
  reexportLater(peerId: string): number;
}

/** An Established neighbor the changes go to. */
export interface ChangeTarget {
  readonly name: string;
  readonly session: AgentSession;
  /** Stands for this session's time up (its Negotiated): a catch-up belongs to one. */
  readonly epoch: object;
  /** Whether that session is still the one up. */
  current(): boolean;
}

interface CatchUp {
  readonly epoch: object;
  readonly started: number;
  waits: number;
  sent: number;
}

/**
 * Sends Loc-RIB changes to the Established neighbors, each paced by its own
 * socket: a neighbor that reads slowly falls behind (it is owed prefixes,
 * not sent UPDATEs), the others go on at once.
 */
export class ChangeSender {
  private readonly catchingUp = new Map<string, CatchUp>();
  /** Called once the neighbor owes nothing (whenCaughtUp), or its catch-up ended with its session. */
  private readonly caughtUp = new Map<string, (() => void)[]>();
  /** Times the neighbor's socket was over the mark when changes came (a big batch's later steps do not count). */
  private readonly timesBehind = new Map<string, number>();

  constructor(
    private readonly ctx: TableSendContext,
    private readonly rib: PacedRib,
  ) {}

  send(targets: readonly ChangeTarget[], changes: readonly LocRibChange[]): void {
    for (const t of targets) {
      if (!overMark(t.session) || this.rib.isBehind(t.name)) continue;
      this.rib.setBehind(t.name);
      this.timesBehind.set(t.name, (this.timesBehind.get(t.name) ?? 0) + 1);
    }
    // A batch of a million changes is not a million prefixes of UPDATEs per neighbor at once.
    const updates = this.rib.exportToPeers(
      targets.map((t) => t.name),
      changes,
      CHANGE_STEP,
    );
    targets.forEach((t, k) => {
      if (updates[k]!.length > 0) t.session.sendMany(updates[k]!);
      if (this.rib.isBehind(t.name)) this.startCatchUp(t);
    });
  }

  /**
   * The neighbor's export policy changed (reload): its Adj-RIB-Out is looked
   * at again and the differences sent, paced like the changes (RFC 4271
   * §9.2: no session reset).
   */
  reexport(t: ChangeTarget): void {
    if (this.rib.reexportLater(t.name) > 0) this.startCatchUp(t);
  }

  /** `neighbors --json` sendQueue. */
  view(name: string, session: AgentSession): ExportPacingJson {
    return {
      octets: session.sendBacklog ?? 0,
      behind: this.rib.isBehind(name),
      owedPrefixes: this.rib.owedCount(name),
      timesBehind: this.timesBehind.get(name) ?? 0,
    };
  }

  /**
   * When the neighbor is owed changes and a catch-up is under way: arranges
   * `fn` for when it is done and returns true. False when nothing is owed.
   */
  whenCaughtUp(name: string, fn: () => void): boolean {
    if (!this.rib.isBehind(name) || !this.catchingUp.has(name)) return false;
    const list = this.caughtUp.get(name);
    if (list === undefined) this.caughtUp.set(name, [fn]);
    else list.push(fn);
    return true;
  }

  /** The neighbor left the configuration. */
  forget(name: string): void {
    this.catchingUp.delete(name);
    this.timesBehind.delete(name);
    this.release(name);
  }

  /** Runs what waited for the neighbor's catch-up (each waiter checks its own session). */
  private release(name: string): void {
    const list = this.caughtUp.get(name);
    if (list === undefined) return;
    this.caughtUp.delete(name);
    for (const fn of list) fn();
  }

  /** Owed prefixes go out a step at a time once the socket has drained, until none is owed. */
  private startCatchUp(t: ChangeTarget): void {
    if (this.catchingUp.get(t.name)?.epoch === t.epoch) return;
    const job: CatchUp = { epoch: t.epoch, started: this.ctx.now(), waits: 0, sent: 0 };
    this.catchingUp.set(t.name, job);
    const pump = (): void => {
      if (this.catchingUp.get(t.name) !== job) return;
      if (!t.current()) {
        this.catchingUp.delete(t.name);
        this.release(t.name);
        return;
      }
      if (waitForDrain(t.session, () => this.ctx.defer(pump))) {
        job.waits++;
        return;
      }
      job.sent += Math.min(this.rib.owedCount(t.name), TABLE_STEP);
      const updates = this.rib.catchUp(t.name, TABLE_STEP);
      if (updates.length > 0) t.session.sendMany(updates);
      if (this.rib.isBehind(t.name)) {
        this.ctx.defer(pump);
        return;
      }
      this.catchingUp.delete(t.name);
      this.release(t.name);
      // A line per episode worth noting (a second behind, or more than a step), not per burst.
      const ms = Math.round(this.ctx.now() - job.started);
      if (job.sent > TABLE_STEP || ms >= 1000) {
        this.ctx.log.info({ neighbor: t.name, prefixes: job.sent, ms, drainWaits: job.waits }, 'caught up: changes held back for a slow reader sent (RFC 4271 §9.2)');
      }
    };
    // The step just sent goes first (the loop turns), or the drain the neighbor is behind for.
    this.ctx.defer(pump);
  }
}
