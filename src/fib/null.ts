/**
 * `dataplane.fib: none`: the agent computes routes and reports them, and
 * installs nothing. Every write succeeds, so status shows what would be installed.
 */
import type { FibBackend, FibBatch, FibOp, FibRoute } from './types.js';

export class NullFib implements FibBackend {
  readonly name = 'none' as const;

  async dump(): Promise<FibRoute[]> {
    return [];
  }

  async apply(_ops: FibOp[]): Promise<{ prefix: string; error: string }[]> {
    return [];
  }

  /** Columns: nothing to read either. */
  async applyBatch(_batch: FibBatch): Promise<{ prefix: string; error: string }[]> {
    return [];
  }

  async close(): Promise<void> {
    // Nothing to release.
  }
}
