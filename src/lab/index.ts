/**
 * `wgbgp lab up|down|test LABDIR`: a containerlab topology (labs/<name>/
 * topology.clab.yml) run in network namespaces on one host. Conventions:
 * labs/README.md.
 */
import { labTest as runLabTest } from './assertions.js';
import { labDown as runLabDown, labUp as runLabUp, type LabOptions } from './runner.js';

export type { LabOptions } from './runner.js';
export { LabError } from './errors.js';
export { LAB_TEST_FILE, parseLabTest, type Assertion, type LabTestSpec } from './assertions.js';
export {
  findTopologyFile,
  hostPathOf,
  labNetnsPrefix,
  loadTopology,
  mapCommandPaths,
  nodeNetns,
  parseTopology,
  splitWords,
  TOPOLOGY_FILE,
  type LabBind,
  type LabEndpoint,
  type LabLink,
  type LabNode,
  type LabTopology,
} from './topology.js';
export { labSocketPath, planNodeProcesses, rewriteAgentConfig, type NodeProcess } from './node-cmd.js';
export { readState, type FrrState, type LabState, type NodeState } from './state.js';
export {
  FRR_DAEMONS,
  frrDirOf,
  frrOfNode,
  frrPathspace,
  nodeRunsFrr,
  planNodeExec,
  withVtyshPathspace,
  type ExecStep,
  type FrrDaemonPlan,
  type FrrPlan,
  type NodeExecPlan,
} from './frr.js';

/** Brings the lab up in namespaces `wgbgp-<lab>-<node>`; refuses when they exist already. */
export async function labUp(dir: string, opts?: LabOptions): Promise<void> {
  await runLabUp(dir, opts);
}

/** Stops the lab's processes and deletes its namespaces; idempotent, works after a crash. */
export async function labDown(dir: string, opts?: LabOptions): Promise<void> {
  await runLabDown(dir, opts);
}

/** Returns true when every assertion of the lab holds. */
export async function labTest(dir: string, opts?: LabOptions): Promise<boolean> {
  return runLabTest(dir, opts);
}
