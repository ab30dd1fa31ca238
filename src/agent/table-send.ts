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
 */
import type { TableSteps } from '#bgp/rib/index';
import type { UpdateMessage } from '#bgp/wire/types';
import type { AgentSession } from './bgp.js';

/** Prefixes per step: ~60 kB of UPDATEs for a typical table. */
export const TABLE_STEP = 8192;
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
 */
export function sendTable(
  ctx: TableSendContext,
  neighbor: string,
  session: AgentSession,
  steps: TableSteps,
  tail: UpdateMessage[],
  current: () => boolean,
  done?: () => void,
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
  if ((session.sendBacklog ?? 0) <= BACKLOG_HIGH || !session.whenDrained) return false;
  session.whenDrained(then);
  return true;
}
