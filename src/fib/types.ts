/**
 * The forwarding view: what the agent wants installed, independent of the
 * backend. A backend (Linux rtnetlink, VPP) owns only what it tagged itself.
 */
export interface FibNextHop {
  address?: string;
  interface?: string;
}

export interface FibRoute {
  /** Canonical prefix. */
  prefix: string;
  nexthops: FibNextHop[];
}

export type FibOp = { op: 'replace'; route: FibRoute } | { op: 'delete'; prefix: string };

export interface FibBackend {
  readonly name: 'linux' | 'vpp' | 'none';
  /** Routes this agent installed earlier (its tag), as the dataplane holds them now. */
  dump(): Promise<FibRoute[]>;
  /** Applies a batch; returns the prefixes that failed with the reason. */
  apply(ops: FibOp[]): Promise<{ prefix: string; error: string }[]>;
  close(): Promise<void>;
}
