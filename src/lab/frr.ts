import { chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { socketAnswers } from './control.js';
import { LabError } from './errors.js';
import { execInNetns, processAlive, processArgv, run, terminate } from './netns.js';
import { hostPathOf, mapCommandPaths, nodeNetns, splitWords, type LabNode, type LabTopology } from './topology.js';

/**
 * FRR beside a node's agent. A topology starts FRR's daemons from the node's
 * `exec` list, as a container would (`/usr/lib/frr/zebra -d -M dplane_fpm_nl
 * -f /etc/wgbgp/frr/zebra.conf`, then ospfd, ospf6d). A container has its own
 * /var/run/frr and /etc/frr; a namespace shares the host's, so the runner
 * gives each node's FRR its own state, as it gives each agent its own socket
 * (reference/lab-facts.md §3):
 *
 * - `-N <pathspace>` (the node's namespace name): vty sockets and zserv.api in
 *   /var/run/frr/<pathspace>/, created owned by frr;
 * - `-f` a copy of the node's config file in .lab-run/frr/<node>/ (owned by
 *   frr: `write memory` writes it, never the lab folder nor /etc/frr), an
 *   empty one when the command names none;
 * - `-i` and `--log file:` in that folder, so `lab down` finds the daemons by
 *   their pid files and their logs stay with the lab's.
 *
 * The agent's `ospf.frr.pathspace` is set to the same pathspace (node-cmd.ts),
 * and `vtysh` in `exec` and in lab-test commands gets `-N <pathspace>`.
 */
export const FRR_DAEMONS: readonly string[] = [
  'zebra', 'ospfd', 'ospf6d', 'bgpd', 'staticd', 'bfdd', 'ripd', 'ripngd', 'isisd', 'pimd', 'pim6d',
  'ldpd', 'eigrpd', 'babeld', 'pbrd', 'fabricd', 'vrrpd', 'pathd', 'nhrpd', 'sharpd',
];
/** Programs that start or manage FRR the host's way (/etc/frr/daemons, the default pathspace). */
const HOST_FRR_TOOLS = ['watchfrr', 'watchfrr.sh', 'frrinit.sh', 'frrcommon.sh', 'frr-reload', 'frr-reload.py'];
/** The top-level run folder: ospfd/ospf6d write their GR and sequence-number files here, whatever -N says. */
export const FRR_RUN = '/var/run/frr';
const DEFAULT_FRR_USER = 'frr';
/** sun_path holds 108 bytes with the NUL. */
const MAX_SOCKET_PATH = 107;
const DAEMON_START_MS = 10_000;

/**
 * The options every FRR 8.4 daemon has (lib/libfrr.c) that take a value, by
 * short and long name. A daemon's own options pass through as written.
 */
const SHORT_WITH_VALUE: Readonly<Record<string, string>> = {
  f: 'config_file', i: 'pid_file', N: 'pathspace', M: 'module', u: 'user', g: 'group', A: 'vty_addr',
  P: 'vty_port', z: 'socket', o: 'vrfdefaultname', F: 'profile',
};
const LONG_WITH_VALUE = new Set([...Object.values(SHORT_WITH_VALUE), 'vty_socket', 'moduledir', 'scriptdir', 'log', 'log-level', 'limit-fds']);
/** What a node's FRR must not choose itself under the runner: it would leave the node's pathspace. */
const RUNNER_OWNED: Readonly<Record<string, string>> = {
  pathspace: 'the runner gives each node its own pathspace (-N); containerlab needs none either',
  vty_socket: 'the vty sockets live in the node\'s pathspace (/var/run/frr/<pathspace>/)',
  socket: 'zserv.api lives in the node\'s pathspace (/var/run/frr/<pathspace>/)',
};

export interface FrrDaemonPlan {
  daemon: string;
  /** Position in the node's exec list. */
  index: number;
  /** The program as written (an absolute path, or a name found on PATH). */
  program: string;
  /** What runs in the namespace. */
  argv: string[];
  /** Host path of the config file the command names (through a bind), or null: it starts empty. */
  configSource: string | null;
  /** The copy the daemon reads and `write memory` writes. */
  config: string;
  pidFile: string;
  log: string;
  user: string;
  group: string | null;
  modules: string[];
}

export interface FrrPlan {
  pathspace: string;
  /** .lab-run/frr/<node>: config copies, pid files, logs; owned by the FRR user. */
  dir: string;
  daemons: FrrDaemonPlan[];
}

/** One `exec` entry as the runner runs it: through `sh -c`, or an FRR daemon as argv. */
export type ExecStep = { kind: 'shell'; command: string } | { kind: 'frr'; daemon: FrrDaemonPlan };

export interface NodeExecPlan {
  steps: ExecStep[];
  frr: FrrPlan | null;
}

/** The FRR pathspace of a node: its namespace's name (unique on the host, valid as -N). */
export function frrPathspace(lab: string, node: string): string {
  return nodeNetns(lab, node);
}

export function frrDirOf(runDir: string, node: string): string {
  return join(runDir, 'frr', node);
}

function isFrrDaemon(program: string | undefined): boolean {
  return program !== undefined && FRR_DAEMONS.includes(basename(program));
}

/** True when the node starts FRR daemons in its exec list. */
export function nodeRunsFrr(node: LabNode): boolean {
  return node.exec.some((cmd) => {
    try {
      return isFrrDaemon(splitWords(cmd)[0]);
    } catch {
      return false;
    }
  });
}

/**
 * The node's FRR as the agent config needs it (pure): its pathspace and
 * zebra's modules, or null when the node starts no FRR.
 */
export function frrOfNode(lab: string, node: LabNode): { pathspace: string; zebraModules: string[] } | null {
  if (!nodeRunsFrr(node)) return null;
  const plan = planNodeExec({ name: lab, file: '', dir: '', nodes: [node], links: [] }, node, '/nonexistent');
  return { pathspace: frrPathspace(lab, node.name), zebraModules: plan.frr?.daemons.find((d) => d.daemon === 'zebra')?.modules ?? [] };
}

/** A `vtysh …` command without a pathspace of its own: on a node without FRR it would ask the host's. */
export function reachesHostFrr(command: string): boolean {
  const m = /^\s*(\S+)(?=\s|$)/.exec(command);
  return m !== null && basename(m[1]!) === 'vtysh' && !/(^|\s)(-N|--pathspace)(\s|=|$)/.test(command);
}

/** `vtysh …` with `-N <pathspace>` after the program, unless it names one already. */
export function withVtyshPathspace(command: string, pathspace: string): string {
  if (!reachesHostFrr(command)) return command;
  const m = /^(\s*\S+)/.exec(command)!;
  return `${m[1]} -N ${pathspace}${command.slice(m[0].length)}`;
}

/**
 * How a node's `exec` list runs in a namespace (pure: reads nothing). FRR
 * daemons get the node's pathspace, config copy, pid file and log; anything
 * that would start or reach the host's own FRR is refused.
 */
export function planNodeExec(topo: LabTopology, node: LabNode, runDir: string): NodeExecPlan {
  const runsFrr = nodeRunsFrr(node);
  const pathspace = frrPathspace(topo.name, node.name);
  const dir = frrDirOf(runDir, node.name);
  const steps: ExecStep[] = [];
  const daemons: FrrDaemonPlan[] = [];
  if (node.cmd !== null) {
    const prog = splitWords(node.cmd)[0];
    if (isFrrDaemon(prog)) {
      throw new LabError(`node ${node.name}: cmd \`${node.cmd}\`: start FRR daemons from exec with -d (the runner gives them the node's pathspace there)`);
    }
    refuseHostFrr(node, node.cmd, 'cmd');
  }
  node.exec.forEach((cmd, index) => {
    const words = splitWords(cmd);
    if (isFrrDaemon(words[0])) {
      const d = planDaemon(node, words, index, pathspace, dir);
      if (daemons.some((x) => x.daemon === d.daemon)) throw new LabError(`node ${node.name}: exec starts ${d.daemon} twice`);
      daemons.push(d);
      steps.push({ kind: 'frr', daemon: d });
      return;
    }
    refuseHostFrr(node, cmd, 'exec');
    if (!runsFrr && reachesHostFrr(cmd)) throw new LabError(`node ${node.name}: exec \`${cmd}\`: the node starts no FRR, so vtysh would reach the host's`);
    const mapped = mapCommandPaths(node, cmd);
    steps.push({ kind: 'shell', command: runsFrr ? withVtyshPathspace(mapped, pathspace) : mapped });
  });
  if (daemons.length === 0) return { steps, frr: null };

  const zebra = daemons.find((d) => d.daemon === 'zebra');
  if (zebra === undefined) {
    throw new LabError(`node ${node.name}: exec starts ${daemons.map((d) => d.daemon).join(', ')} but no zebra; FRR's daemons connect to zebra (start /usr/lib/frr/zebra -d first)`);
  }
  const early = daemons.find((d) => d.index < zebra.index);
  if (early !== undefined) throw new LabError(`node ${node.name}: exec starts ${early.daemon} before zebra; start zebra first (the other daemons connect to it)`);
  for (const d of daemons) {
    const sock = join(FRR_RUN, pathspace, `${d.daemon}.vty`);
    if (sock.length > MAX_SOCKET_PATH) throw new LabError(`node ${node.name}: FRR's socket path ${sock} is too long for a unix socket; use a shorter lab or node name`);
  }
  return { steps, frr: { pathspace, dir, daemons } };
}

function refuseHostFrr(node: LabNode, cmd: string, where: string): void {
  const words = splitWords(cmd);
  const tool = words.find((w) => HOST_FRR_TOOLS.includes(basename(w)));
  if (tool !== undefined) {
    throw new LabError(`node ${node.name}: ${where} \`${cmd}\`: ${basename(tool)} manages the host's FRR; start the daemons one per exec entry (/usr/lib/frr/zebra -d …)`);
  }
  if (words.slice(1).some((w) => w.includes('/usr/lib/frr/'))) {
    throw new LabError(`node ${node.name}: ${where} \`${cmd}\`: start each FRR daemon as an exec entry of its own (the runner gives it the node's pathspace)`);
  }
}

function planDaemon(node: LabNode, words: string[], index: number, pathspace: string, dir: string): FrrDaemonPlan {
  const program = words[0]!;
  const daemon = basename(program);
  const shown = words.join(' ');
  const fail = (why: string): never => {
    throw new LabError(`node ${node.name}: exec \`${shown}\`: ${why}`);
  };
  let configArg: string | null = null;
  let daemonize = false;
  let user = DEFAULT_FRR_USER;
  let group: string | null = null;
  const modules: string[] = [];
  const kept: string[] = [];
  const mapValue = (v: string): string => (v.startsWith('/') ? (hostPathOf(node, v) ?? v) : v);
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!;
    let name: string;
    let value: string | null = null;
    /** The option as written, its value mapped through the binds. */
    let asWritten: string[];
    if (w.startsWith('--')) {
      const eq = w.indexOf('=');
      name = eq < 0 ? w.slice(2) : w.slice(2, eq);
      if (eq >= 0) {
        value = w.slice(eq + 1);
        asWritten = [`--${name}=${mapValue(value)}`];
      } else if (LONG_WITH_VALUE.has(name)) {
        value = words[++i] ?? fail(`${w} needs a value`);
        asWritten = [w, mapValue(value)];
      } else {
        asWritten = [w];
      }
    } else if (w.startsWith('-') && w.length > 1 && SHORT_WITH_VALUE[w[1]!] !== undefined) {
      name = SHORT_WITH_VALUE[w[1]!]!;
      value = w.length > 2 ? w.slice(2) : (words[++i] ?? fail(`${w} needs a value`));
      asWritten = [`-${w[1]!}`, mapValue(value)];
    } else {
      // A cluster of flags (-d, -dr), or a daemon's own option or value.
      if (/^-[A-Za-z]+$/.test(w) && w.includes('d')) daemonize = true;
      kept.push(mapValue(w));
      continue;
    }
    const why = RUNNER_OWNED[name];
    if (why !== undefined) fail(`${w}: ${why}`);
    if (name === 'daemon') daemonize = true;
    else if (name === 'config_file') configArg = value;
    else if (name === 'user' && value !== null) user = value;
    else if (name === 'group' && value !== null) group = value;
    else if (name === 'module' && value !== null) modules.push(value);
    // pid file and log: the runner's own, in .lab-run (the daemon's log is the lab's).
    if (name !== 'config_file' && name !== 'pid_file' && name !== 'log') kept.push(...asWritten);
  }
  if (!daemonize) fail('start FRR daemons with -d (exec waits for each command, under containerlab too)');

  let configSource: string | null = null;
  if (configArg !== null) {
    if (!isAbsolute(configArg)) fail(`-f ${configArg}: give the config file as an absolute container path under one of the node's binds`);
    configSource = hostPathOf(node, configArg);
    if (configSource === null) {
      // Never the host's own /etc/frr: that is the router's real configuration.
      fail(`-f ${configArg} is not under any of the node's binds (${node.binds.map((b) => `${b.host}:${b.container}`).join(', ') || 'none'})`);
    }
  }
  const config = join(dir, `${daemon}.conf`);
  const pidFile = join(dir, `${daemon}.pid`);
  const log = join(dir, `${daemon}.log`);
  return {
    daemon,
    index,
    program,
    argv: [program, '-N', pathspace, '-f', config, '-i', pidFile, '--log', `file:${log}`, ...kept],
    configSource,
    config,
    pidFile,
    log,
    user,
    group,
    modules,
  };
}

// --- on the host ------------------------------------------------------------

export interface FrrIds {
  uid: number;
  gid: number;
  /** Every group of the user (its primary one included). */
  groups: number[];
}

/** The uid/gid the daemons run as (`-u`/`-g`, default frr). */
export async function frrIds(node: string, plan: FrrPlan): Promise<FrrIds> {
  const zebra = plan.daemons.find((d) => d.daemon === 'zebra') ?? plan.daemons[0]!;
  const id = async (args: string[]): Promise<number[]> => {
    const r = await run(['id', ...args]);
    if (r.code !== 0) throw new LabError(`node ${node}: FRR runs as user ${zebra.user}, which does not exist here (${r.stderr.trim()}); install FRR (Debian package frr)`);
    return r.stdout.trim().split(/\s+/).map(Number);
  };
  const uid = (await id(['-u', zebra.user]))[0]!;
  let gid = (await id(['-g', zebra.user]))[0]!;
  const groups = await id(['-G', zebra.user]);
  if (zebra.group !== null) {
    const r = await run(['getent', 'group', zebra.group]);
    const g = Number(r.stdout.split(':')[2]);
    if (r.code !== 0 || !Number.isInteger(g)) throw new LabError(`node ${node}: FRR's group ${zebra.group} does not exist here`);
    gid = g;
    groups.push(g);
  }
  return { uid, gid, groups };
}

/** Resolves a program like the shell: an absolute path as is, a bare name on PATH. */
function programExists(program: string): boolean {
  if (program.includes('/')) return existsSync(program);
  return (process.env.PATH ?? '').split(':').some((d) => d !== '' && existsSync(join(d, program)));
}

/**
 * What `lab up` checks before it creates anything: the daemons are installed,
 * their user exists and can reach .lab-run, and no FRR already answers in the
 * node's pathspace.
 */
export async function frrPreflight(node: string, plan: FrrPlan, runDir: string): Promise<FrrIds> {
  for (const d of plan.daemons) {
    if (!programExists(d.program)) throw new LabError(`node ${node}: exec runs ${d.program}, which is not installed here (Debian package frr)`);
  }
  const ids = await frrIds(node, plan);
  // The daemons write their pid files (and `write memory` their configs) as that user.
  let dir = runDir;
  for (;;) {
    let st;
    try {
      st = statSync(dir);
    } catch {
      st = null;
    }
    if (st !== null) {
      const mode = st.mode;
      const ok = (mode & 0o001) !== 0 || (st.uid === ids.uid && (mode & 0o100) !== 0) || (ids.groups.includes(st.gid) && (mode & 0o010) !== 0) || ids.uid === 0;
      if (!ok) {
        throw new LabError(
          `node ${node}: FRR's daemons run as uid ${ids.uid} and must reach ${plan.dir}, but cannot enter ${dir} (mode ${(mode & 0o777).toString(8)}); chmod o+x ${dir}, or put the lab elsewhere`,
        );
      }
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  const vty = join(FRR_RUN, plan.pathspace, 'zebra.vty');
  if (existsSync(vty) && (await socketAnswers(vty))) {
    throw new LabError(`node ${node}: an FRR already answers in pathspace ${plan.pathspace} (${vty}); is the lab up elsewhere?`);
  }
  return ids;
}

function mkdirOwned(dir: string, ids: FrrIds, mode = 0o755): void {
  mkdirSync(dir, { recursive: true, mode });
  chownSync(dir, ids.uid, ids.gid);
}

/**
 * The node's FRR folders: /var/run/frr (when missing) and /var/run/frr/<pathspace>
 * (a leftover is emptied), .lab-run/frr/<node>; all owned by the FRR user.
 */
export function prepareFrr(plan: FrrPlan, ids: FrrIds): void {
  if (!existsSync(FRR_RUN)) mkdirOwned(FRR_RUN, ids);
  const ps = join(FRR_RUN, plan.pathspace);
  rmSync(ps, { recursive: true, force: true });
  mkdirOwned(ps, ids);
  mkdirOwned(dirname(plan.dir), ids);
  mkdirOwned(plan.dir, ids);
}

/** The pid a daemon wrote to `file`; null when there is none (also what the tests' FRR helper reads). */
export function readPid(file: string): number | null {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function tail(file: string, lines = 15): string {
  try {
    const text = readFileSync(file, 'utf8').trimEnd();
    return text === '' ? '' : `\n--- last lines of ${file}:\n${text.split('\n').slice(-lines).join('\n')}`;
  } catch {
    return '';
  }
}

/**
 * Starts one daemon in the namespace: a fresh copy of its config (owned by the
 * FRR user), the command (it daemonizes), then waits until its vty socket
 * exists. Returns its pid (from the pid file).
 */
export async function startFrrDaemon(ns: string, node: string, plan: FrrPlan, d: FrrDaemonPlan, ids: FrrIds, env: Record<string, string>): Promise<number> {
  if (d.configSource !== null) {
    try {
      copyFileSync(d.configSource, d.config);
    } catch (e) {
      throw new LabError(`node ${node}: ${d.daemon}'s config ${d.configSource}: ${(e as Error).message}`);
    }
  } else {
    writeFileSync(d.config, '');
  }
  chownSync(d.config, ids.uid, ids.gid);
  rmSync(d.pidFile, { force: true });
  rmSync(`${d.config}.sav`, { force: true });
  const r = await execInNetns(ns, d.argv, { env, timeoutMs: 30_000 });
  if (r.code !== 0) {
    throw new LabError(`node ${node}: ${d.daemon} failed to start (exit ${r.code}): ${(r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join(' | ')}${tail(d.log)}`);
  }
  const vty = join(FRR_RUN, plan.pathspace, `${d.daemon}.vty`);
  const deadline = Date.now() + DAEMON_START_MS;
  for (;;) {
    const pid = readPid(d.pidFile);
    if (pid !== null && !processAlive(pid)) throw new LabError(`node ${node}: ${d.daemon} exited during start${tail(d.log)}`);
    if (pid !== null && existsSync(vty)) return pid;
    if (Date.now() >= deadline) throw new LabError(`node ${node}: ${d.daemon} did not open ${vty} within ${DAEMON_START_MS / 1000} s${tail(d.log)}`);
    await sleep(50);
  }
}

/** FRR daemons anywhere on the host running with one of these pathspaces (found by argv). */
export function findFrrDaemons(pathspaces: readonly string[]): { pid: number; daemon: string }[] {
  if (pathspaces.length === 0) return [];
  const wanted = new Set(pathspaces);
  const out: { pid: number; daemon: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = processArgv(Number(entry));
    if (!isFrrDaemon(argv[0])) continue;
    if (pathspaceOf(argv) !== null && wanted.has(pathspaceOf(argv)!)) out.push({ pid: Number(entry), daemon: basename(argv[0]!) });
  }
  return out;
}

function pathspaceOf(argv: readonly string[]): string | null {
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-N' || a === '--pathspace') return argv[i + 1] ?? null;
    if (a.startsWith('--pathspace=')) return a.slice('--pathspace='.length);
    if (a.startsWith('-N') && a.length > 2) return a.slice(2);
  }
  return null;
}

/**
 * Stops a lab's FRR: the daemons of its pid files (when the pid still is an FRR
 * daemon of that pathspace) and any other daemon running in one of its
 * pathspaces; zebra last, so the others leave while it is there. Removes the
 * pid files and /var/run/frr/<pathspace>. The shared files of ospfd/ospf6d in
 * /var/run/frr (GR state, sequence numbers) belong to every FRR on the host
 * and stay. Returns how many processes were stopped.
 */
export async function stopFrr(frr: { pathspace: string; pidFiles: string[] }[]): Promise<number> {
  const spaces = frr.map((f) => f.pathspace);
  const found = new Map<number, string>();
  for (const f of frr) {
    for (const file of f.pidFiles) {
      const pid = readPid(file);
      const argv = pid === null ? [] : processArgv(pid);
      if (pid !== null && isFrrDaemon(argv[0]) && pathspaceOf(argv) === f.pathspace) found.set(pid, basename(argv[0]!));
    }
  }
  for (const { pid, daemon } of findFrrDaemons(spaces)) found.set(pid, daemon);
  const all = [...found];
  await terminate(all.filter(([, d]) => d !== 'zebra').map(([pid]) => pid));
  await terminate(all.filter(([, d]) => d === 'zebra').map(([pid]) => pid));
  for (const f of frr) {
    for (const file of f.pidFiles) rmSync(file, { force: true });
    rmSync(join(FRR_RUN, f.pathspace), { recursive: true, force: true });
  }
  return found.size;
}

/** The pid files a node's FRR folder holds (after a crash, without state.json). */
export function pidFilesIn(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.pid')).map((f) => join(dir, f));
  } catch {
    return [];
  }
}

/** Node folders under .lab-run/frr (a crashed run's, when its state is gone). */
export function frrNodeDirs(runDir: string): string[] {
  try {
    return readdirSync(join(runDir, 'frr'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}

/** Pathspace folders in /var/run/frr that start with `prefix` (a crashed lab's). */
export function pathspacesWithPrefix(prefix: string): string[] {
  try {
    return readdirSync(FRR_RUN, { withFileTypes: true }).filter((e) => e.isDirectory() && e.name.startsWith(prefix)).map((e) => e.name);
  } catch {
    return [];
  }
}
