/**
 * The Linux FIB through rtnetlink. Every route this backend writes carries the
 * agent's protocol number in the configured table; that tag is how it finds
 * its own routes again after a restart, and it never touches others.
 */
import type { RouteOps } from '#netlink/types';
import { errnoText } from '#netlink/errors';
import type { FibBackend, FibOp, FibRoute } from './types.js';

const ESRCH = 3;

export interface LinuxFibOptions {
  /** Kernel table id (254 = main); ids above 255 are fine. */
  table: number;
  /** rtm_protocol of the agent's routes (201 by default in the config). */
  protocol: number;
}

export class LinuxFib implements FibBackend {
  readonly name = 'linux' as const;

  /** `netlink` stays the caller's: close() leaves it open (the tunnel backend shares it). */
  constructor(
    private readonly netlink: RouteOps,
    private readonly opts: LinuxFibOptions,
  ) {}

  /** The kernel's routes as decoded (a KernelRoute is a FibRoute): no copy of 100 000 objects. */
  async dump(): Promise<FibRoute[]> {
    return this.netlink.routes(this.opts.table, this.opts.protocol);
  }

  async apply(ops: FibOp[]): Promise<{ prefix: string; error: string }[]> {
    if (ops.length === 0) return [];
    // FibOps go as they are: no request object per route.
    const failures = await this.netlink.routeWrite(this.opts.table, this.opts.protocol, ops);
    const failed: { prefix: string; error: string }[] = [];
    for (const r of failures) {
      const op = ops[r.index]!;
      // Deleting what is already gone (its interface went first) reached the goal.
      if (op.op === 'delete' && r.errno === -ESRCH) continue;
      failed.push({ prefix: op.op === 'replace' ? op.route.prefix : op.prefix, error: errnoText(r.errno) });
    }
    return failed;
  }

  async close(): Promise<void> {
    // Nothing of its own to release.
  }
}
