import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * .lab-run/state.json: what `lab up` created, so `lab down` and `lab test` find
 * it again. Written after every step of `lab up`, so a crash half-way still
 * leaves a usable record (and `lab down` also works without one).
 */
export interface NodeState {
  netns: string;
  kind: 'agent' | 'process' | null;
  pid: number | null;
  /** argv of the process, to recognise it again (pid reuse). */
  argv: string[] | null;
  log: string | null;
  config: string | null;
  socket: string | null;
  interfaces: string[];
  /** FRR started from the node's exec list (src/lab/frr.ts); absent in older state files. */
  frr?: FrrState | null;
}

export interface FrrState {
  /** FRR's -N: sockets in /var/run/frr/<pathspace>/. */
  pathspace: string;
  /** .lab-run/frr/<node>: config copies, pid files, logs. */
  dir: string;
  daemons: { name: string; pid: number; pidFile: string; log: string }[];
}

export interface LinkState {
  endpoints: [string, string];
  /** Temporary root-namespace names used while the pair was created. */
  tmp: [string, string];
}

export interface LabState {
  version: 1;
  lab: string;
  topology: string;
  startedAt: string;
  /** argv prefix of the wgbgp CLI the agents were started with. */
  cli: string[];
  nodes: Record<string, NodeState>;
  links: LinkState[];
}

export const RUN_DIR = '.lab-run';
export const STATE_FILE = 'state.json';

/** The run folder of a lab given as its folder or its topology file (works without a readable topology). */
export function runDirFor(dirOrFile: string): string {
  const p = resolve(dirOrFile);
  let isDir = false;
  try {
    isDir = statSync(p).isDirectory();
  } catch {
    isDir = !/\.ya?ml$/.test(p);
  }
  return join(isDir ? p : dirname(p), RUN_DIR);
}

export function readState(runDir: string): LabState | null {
  let text: string;
  try {
    text = readFileSync(join(runDir, STATE_FILE), 'utf8');
  } catch {
    return null;
  }
  try {
    const s = JSON.parse(text) as Partial<LabState>;
    if (s.version !== 1 || typeof s.lab !== 'string' || s.nodes === undefined) return null;
    return { links: [], cli: [], ...s } as LabState;
  } catch {
    return null;
  }
}

export function writeState(runDir: string, state: LabState): void {
  const file = join(runDir, STATE_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, file);
}

export function removeState(runDir: string): void {
  rmSync(join(runDir, STATE_FILE), { force: true });
}
