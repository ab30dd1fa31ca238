/**
 * RIB → FIB: FibManager (desired vs installed, batching, reconcile) over a
 * backend: LinuxFib (rtnetlink), NullFib (`fib: none`); VPP comes later.
 */
export { FibManager, sameRoute, type FibCounters } from './manager.js';
export type { ReconcileResult } from './manager.js';
export { LinuxFib } from './linux.js';
export type { LinuxFibExtras, LinuxFibLog, LinuxFibOptions } from './linux.js';
export { NH_ID_FIRST, NH_ID_LAST } from './linux-nexthops.js';
export { NullFib } from './null.js';
export type { FibBackend, FibNextHop, FibOp, FibRoute } from './types.js';
export { VppFib, vppErrorText, type VppFibDeps, type VppInterfaceResolver } from './vpp.js';
