import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultCli, lastLine, runCli, socketAnswers } from './control.js';
import { LabError } from './errors.js';
import {
  frrDirOf,
  frrNodeDirs,
  frrPathspace,
  frrPreflight,
  pathspacesWithPrefix,
  pidFilesIn,
  planNodeExec,
  prepareFrr,
  startFrrDaemon,
  stopFrr,
  type FrrIds,
  type NodeExecPlan,
} from './frr.js';
import {
  addNetns,
  createVethBetween,
  deleteNetns,
  execInNetns,
  findWireguardGo,
  inNetns,
  linkExists,
  listNetns,
  netnsPids,
  processAlive,
  processArgv,
  processNetns,
  run,
  runOk,
  terminate,
  wireguardSocket,
} from './netns.js';
import { planNodeProcesses, runDirOf, type NodeProcess } from './node-cmd.js';
import { readState, removeState, runDirFor, writeState, type LabState, type NodeState } from './state.js';
import { labNetnsPrefix, loadTopology, nodeNetns, type LabTopology } from './topology.js';

export interface LabOptions {
  /** Progress and result lines; default: stdout. */
  print?: (line: string) => void;
  /** argv prefix that runs the wgbgp CLI; default: node + this checkout's dist/cli/main.js. */
  cli?: readonly string[];
  /** How long `up` waits for each agent's control socket to answer; default 20 s. */
  agentTimeoutMs?: number;
  /** `up`: leave a half-built lab in place when a step fails (to look at it); default false. */
  keepOnFailure?: boolean;
}

const AGENT_TIMEOUT_MS = 20_000;
/** A non-agent process counts as started when it is still alive after this. */
const PROCESS_SETTLE_MS = 300;
const LOG_TAIL_LINES = 30;
const START_MARK = '--- wgbgp lab up ';
/** Where the agent keeps wireguard-go pid files (src/wg/wireguard-go.ts). */
const AGENT_STATE_DIR = '/run/wgbgp';

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function printer(opts: LabOptions): (line: string) => void {
  return opts.print ?? ((line) => void process.stdout.write(`${line}\n`));
}

/**
 * Root-namespace names for the two ends of link `index` while it is being built:
 * derived from the lab name, so they are unique per lab on the host and `down`
 * can find leftovers of a crash. 13 characters.
 */
export function tmpVethNames(lab: string, index: number): [string, string] {
  const h = createHash('sha1').update(lab).digest('hex').slice(0, 8);
  const i = index.toString(36).padStart(2, '0');
  if (i.length > 2) throw new LabError(`lab ${lab}: too many links`);
  return [`wl${h}${i}a`, `wl${h}${i}b`];
}

/**
 * Brings a lab up in network namespaces: one namespace per node, a veth pair per
 * link, the nodes' `exec` commands, then each node's `cmd` (the agent) detached,
 * waiting until every agent answers on its control socket.
 */
export async function labUp(dir: string, opts: LabOptions = {}): Promise<void> {
  const print = printer(opts);
  const topo = loadTopology(dir);
  const runDir = runDirOf(topo);
  const cli = [...(opts.cli ?? defaultCli())];

  const running = await runningNamespaces(topo, readState(runDir));
  if (running.length > 0) {
    throw new LabError(`lab ${topo.name} is already up (namespaces ${running.join(', ')}); run \`wgbgp lab down ${dir}\` first`);
  }
  // Everything that can be checked without touching the system, first.
  const procs = planNodeProcesses(topo, cli);
  const execs = new Map<string, NodeExecPlan>(topo.nodes.map((n) => [n.name, planNodeExec(topo, n, runDir)]));
  await preflight(topo, procs, cli, opts.cli === undefined);
  const frrIds = new Map<string, FrrIds>();
  for (const [node, plan] of execs) if (plan.frr !== null) frrIds.set(node, await frrPreflight(node, plan.frr, runDir));

  mkdirSync(runDir, { recursive: true });
  const state: LabState = {
    version: 1,
    lab: topo.name,
    topology: topo.file,
    startedAt: new Date().toISOString(),
    cli,
    nodes: {},
    links: [],
  };
  const save = (): void => writeState(runDir, state);
  save();
  print(`lab ${topo.name}: ${plural(topo.nodes.length, 'node')}, ${plural(topo.links.length, 'link')}`);

  try {
    for (const node of topo.nodes) {
      const ns = nodeNetns(topo.name, node.name);
      state.nodes[node.name] = { netns: ns, kind: null, pid: null, argv: null, log: null, config: null, socket: null, interfaces: [] };
      save();
      await addNetns(ns);
      for (const [key, value] of Object.entries(node.sysctls)) {
        // /proc/sys/net is the reader's namespace's: write it from inside.
        const file = `/proc/sys/${key.replaceAll('.', '/')}`;
        const r = await execInNetns(ns, ['sh', '-c', 'printf "%s\\n" "$1" > "$2"', 'sysctl', value, file]);
        if (r.code !== 0) throw new LabError(`node ${node.name}: sysctl ${key}=${value}: ${lastLine(r.stderr)}`);
      }
      print(`  netns ${ns}`);
    }

    for (const [i, link] of topo.links.entries()) {
      const [ea, eb] = link.endpoints;
      const tmp = tmpVethNames(topo.name, i);
      for (const t of tmp) if (await linkExists(t)) await run(['ip', 'link', 'del', t]);
      state.links.push({ endpoints: [`${ea.node}:${ea.interface}`, `${eb.node}:${eb.interface}`], tmp });
      save();
      await createVethBetween(
        { ns: nodeNetns(topo.name, ea.node), name: ea.interface, tmp: tmp[0] },
        { ns: nodeNetns(topo.name, eb.node), name: eb.interface, tmp: tmp[1] },
        link.mtu,
      );
      print(`  link ${ea.node}:${ea.interface} <-> ${eb.node}:${eb.interface}`);
    }

    for (const node of topo.nodes) {
      const ns = nodeNetns(topo.name, node.name);
      const plan = execs.get(node.name)!;
      for (const step of plan.steps) {
        if (step.kind === 'frr') {
          const frr = plan.frr!;
          const ids = frrIds.get(node.name)!;
          const st = state.nodes[node.name]!;
          if (st.frr === undefined || st.frr === null) {
            st.frr = { pathspace: frr.pathspace, dir: frr.dir, daemons: [] };
            save();
            prepareFrr(frr, ids);
          }
          const d = step.daemon;
          // Recorded before the start: a daemon that starts and then fails the wait is still found by `down`.
          st.frr.daemons.push({ name: d.daemon, pid: 0, pidFile: d.pidFile, log: d.log });
          save();
          const pid = await startFrrDaemon(ns, node.name, frr, d, ids, node.env);
          st.frr.daemons[st.frr.daemons.length - 1]!.pid = pid;
          save();
          print(`  ${node.name}: ${d.daemon} pid ${pid} (FRR pathspace ${frr.pathspace}, log ${d.log})`);
          continue;
        }
        const r = await execInNetns(ns, step.command, { env: node.env, timeoutMs: 60_000 });
        if (r.code !== 0) {
          throw new LabError(`node ${node.name}: exec \`${step.command}\` failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
        }
      }
      if (node.exec.length > 0) print(`  ${node.name}: ${node.exec.length} exec commands done`);
    }

    for (const p of procs) {
      const node = topo.nodes.find((n) => n.name === p.node)!;
      const st = state.nodes[p.node]!;
      st.pid = startProcess(p, st, runDir, node.env);
      save();
      const what = p.kind === 'agent' ? `agent (socket ${p.socket})` : p.argv.join(' ');
      print(`  ${p.node}: pid ${st.pid} ${what}, log ${st.log}`);
    }

    await Promise.all(
      procs.map((p) =>
        p.kind === 'agent'
          ? waitForAgent(p, state.nodes[p.node]!, cli, opts.agentTimeoutMs ?? AGENT_TIMEOUT_MS)
          : waitSettled(p, state.nodes[p.node]!),
      ),
    );
    print(`lab ${topo.name} is up (state ${join(runDir, 'state.json')})`);
  } catch (e) {
    if (!opts.keepOnFailure) {
      print(`lab ${topo.name}: start failed, tearing down`);
      await teardown(topo.name, state, topo, runDir, () => undefined);
      removeState(runDir);
    }
    throw e;
  }
}

/** Refuses what would collide with something already on the host. */
async function preflight(topo: LabTopology, procs: NodeProcess[], cli: string[], defaultCliUsed: boolean): Promise<void> {
  const agents = procs.filter((p) => p.kind === 'agent');
  if (agents.length > 0 && defaultCliUsed && !existsSync(cli[1]!)) {
    throw new LabError(`lab ${topo.name} starts wgbgp agents, but ${cli[1]} is missing: build first (npm run build)`);
  }
  for (const p of agents) {
    const taken = findWireguardGo(p.interfaces);
    if (taken.length > 0) {
      throw new LabError(`node ${p.node}: a wireguard-go process (pid ${taken.join(', ')}) already serves one of ${p.interfaces.join(', ')}; interface names must be unique on the host`);
    }
    if (p.socket !== null && existsSync(p.socket) && (await socketAnswers(p.socket))) {
      throw new LabError(`node ${p.node}: something already answers on control socket ${p.socket}`);
    }
  }
}

/** The node's private key as a 0600 copy (the plan points at the copy only when the key exists). */
function copyKey(node: string, source: string, dest: string): void {
  let key: Buffer;
  try {
    key = readFileSync(source);
  } catch (e) {
    throw new LabError(`node ${node}: private key ${source}: ${(e as Error).message}`);
  }
  rmSync(dest, { force: true });
  writeFileSync(dest, key, { mode: 0o600 });
}

/** Starts a node's process detached in its namespace, output appended to .lab-run/<node>.log. */
function startProcess(p: NodeProcess, st: NodeState, runDir: string, env: Record<string, string>): number {
  const log = join(runDir, `${p.node}.log`);
  if (p.config !== null) {
    if (p.config.key !== null) copyKey(p.node, p.config.key.source, p.config.key.path);
    writeFileSync(p.config.path, p.config.text);
  }
  if (p.socket !== null) {
    mkdirSync(dirname(p.socket), { recursive: true });
    // A socket file nobody answers on (checked in preflight) is a leftover.
    rmSync(p.socket, { force: true });
  }
  const argv = inNetns(st.netns, p.argv);
  const fd = openSync(log, 'a');
  try {
    writeSync(fd, `${START_MARK}${new Date().toISOString()}: ${p.argv.join(' ')}\n`);
    // `ip netns exec` execs the command, so the pid is the process's own.
    const child = spawn(argv[0]!, argv.slice(1), {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, ...env },
    });
    child.on('error', () => undefined);
    child.unref();
    if (child.pid === undefined) throw new LabError(`node ${p.node}: could not start ${argv.join(' ')}`);
    Object.assign(st, { kind: p.kind, pid: child.pid, argv: p.argv, log, config: p.config?.path ?? null, socket: p.socket, interfaces: p.interfaces });
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

function logTail(log: string | null): string {
  if (log === null) return '';
  try {
    const text = readFileSync(log, 'utf8');
    // Only this start's output: the log is appended to across runs.
    const lines = text.slice(Math.max(0, text.lastIndexOf(START_MARK))).trimEnd().split('\n');
    return `\n--- last lines of ${log}:\n${lines.slice(-LOG_TAIL_LINES).join('\n')}`;
  } catch {
    return '';
  }
}

async function waitForAgent(p: NodeProcess, st: NodeState, cli: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    if (st.pid === null || !processAlive(st.pid)) {
      throw new LabError(`node ${p.node}: the agent exited during start${logTail(st.log)}`);
    }
    const r = await runCli(cli, ['status', '--json', '--socket', p.socket!], 5_000);
    // 0 or 1 (degraded, neighbors not up yet: docs/cli.md) is an agent that answers.
    if (r.code === 0 || (r.code === 1 && r.stdout.trimStart().startsWith('{'))) return;
    last = lastLine(r.stderr) || lastLine(r.stdout) || `exit ${r.code}`;
    if (Date.now() >= deadline) {
      throw new LabError(`node ${p.node}: the agent did not answer on ${p.socket} within ${Math.round(timeoutMs / 1000)} s (${last})${logTail(st.log)}`);
    }
    await sleep(250);
  }
}

async function waitSettled(p: NodeProcess, st: NodeState): Promise<void> {
  await sleep(PROCESS_SETTLE_MS);
  if (st.pid === null || !processAlive(st.pid)) throw new LabError(`node ${p.node}: \`${p.argv.join(' ')}\` exited during start${logTail(st.log)}`);
}

/** Namespaces of this lab that exist now: the topology's and the recorded ones. */
async function runningNamespaces(topo: LabTopology | null, state: LabState | null): Promise<string[]> {
  const wanted = new Set<string>();
  if (topo !== null) for (const n of topo.nodes) wanted.add(nodeNetns(topo.name, n.name));
  if (state !== null) for (const n of Object.values(state.nodes)) wanted.add(n.netns);
  return (await listNetns()).filter((ns) => wanted.has(ns));
}

/**
 * Stops a lab: its processes (agents first, then everything else in its
 * namespaces and the wireguard-go of its interfaces), its namespaces (which
 * takes the veths and tunnels with them) and its state. Safe to repeat, and
 * works after a crash: without a state file the namespaces are found by their
 * `wgbgp-<lab>-` prefix.
 */
export async function labDown(dir: string, opts: LabOptions = {}): Promise<void> {
  const print = printer(opts);
  let topo: LabTopology | null = null;
  let topoError: unknown = null;
  try {
    topo = loadTopology(dir);
  } catch (e) {
    topoError = e;
  }
  const runDir = topo !== null ? runDirOf(topo) : runDirFor(dir);
  const state = readState(runDir);
  const lab = topo?.name ?? state?.lab;
  if (lab === undefined) throw topoError;
  const n = await teardown(lab, state, topo, runDir, print);
  removeState(runDir);
  print(n.namespaces + n.processes === 0 ? `lab ${lab}: nothing was running` : `lab ${lab} is down (${n.processes} processes stopped, ${n.namespaces} namespaces deleted)`);
}

async function teardown(
  lab: string,
  state: LabState | null,
  topo: LabTopology | null,
  runDir: string,
  print: (line: string) => void,
): Promise<{ processes: number; namespaces: number }> {
  const all = await listNetns();
  const nsSet = new Set<string>(await runningNamespaces(topo, state));
  if (state === null) for (const ns of all) if (ns.startsWith(labNetnsPrefix(lab))) nsSet.add(ns);
  const namespaces = [...nsSet];

  const interfaces = new Set<string>();
  const sockets = new Set<string>();
  for (const st of Object.values(state?.nodes ?? {})) {
    for (const i of st.interfaces) interfaces.add(i);
    if (st.socket !== null) sockets.add(st.socket);
  }
  if (topo !== null) {
    try {
      for (const p of planNodeProcesses(topo, [])) {
        for (const i of p.interfaces) interfaces.add(i);
        if (p.socket !== null) sockets.add(p.socket);
      }
    } catch {
      // A config that no longer reads: the namespaces still go, and with them their processes.
    }
  }

  // Agents first, so they stop while their dataplane is still there. A recorded
  // pid counts only while it still lives in the node's namespace (pids get reused).
  const recorded = Object.values(state?.nodes ?? {})
    .filter((st) => st.pid !== null && processAlive(st.pid) && inNamespace(st.pid, st.netns))
    .map((st) => st.pid!);
  await terminate(recorded);
  let stopped = recorded.length;

  // FRR next (zebra last), found by pid file and by pathspace, also after a crash.
  stopped += await stopFrr(frrOf(lab, state, topo, runDir));

  const rest = new Set<number>(findWireguardGo([...interfaces]));
  for (const ns of namespaces) for (const pid of await netnsPids(ns)) rest.add(pid);
  rest.delete(process.pid);
  // A node's own wireguard-go (a peer's tunnel set up in exec): its UAPI socket goes with it.
  for (const pid of rest) {
    const argv = processArgv(pid);
    const ifname = basename(argv[0] ?? '') === 'wireguard-go' ? argv.slice(1).filter((a) => !a.startsWith('-')).at(-1) : undefined;
    if (ifname !== undefined) interfaces.add(ifname);
  }
  await terminate([...rest], 3_000);
  stopped += rest.size;

  for (const ifname of interfaces) {
    // SIGKILLed wireguard-go leaves its socket behind; it would fool the next start.
    if (findWireguardGo([ifname]).length === 0) rmSync(wireguardSocket(ifname), { force: true });
  }
  for (const ns of namespaces) {
    await deleteNetns(ns);
    print(`  deleted netns ${ns}`);
  }
  const tmpNames = new Set<string>();
  for (const l of state?.links ?? []) for (const t of l.tmp) tmpNames.add(t);
  if (topo !== null) topo.links.forEach((_, i) => tmpVethNames(topo.name, i).forEach((t) => tmpNames.add(t)));
  for (const t of tmpNames) if (await linkExists(t)) await runOk(['ip', 'link', 'del', t]);
  for (const socket of sockets) {
    if (existsSync(socket) && (await socketAnswers(socket))) continue;
    rmSync(socket, { force: true });
    // The agent's records next to its socket (tunnels it made, its route tag, its pins): stale once the namespaces are gone.
    for (const what of ['interfaces', 'fib-tag', 'pins']) {
      rmSync(join(dirname(socket), `${basename(socket).replace(/\.sock$/, '')}.${what}.json`), { force: true });
    }
  }
  for (const ifname of interfaces) {
    rmSync(join(AGENT_STATE_DIR, `${ifname}.pid`), { force: true });
    rmSync(join(AGENT_STATE_DIR, `${ifname}.log`), { force: true });
  }
  return { processes: stopped, namespaces: namespaces.length };
}

/** The lab's FRR pathspaces with their pid files: recorded, planned, and what a crashed run left. */
function frrOf(lab: string, state: LabState | null, topo: LabTopology | null, runDir: string): { pathspace: string; pidFiles: string[] }[] {
  const out = new Map<string, Set<string>>();
  const add = (pathspace: string, files: readonly string[]): void => {
    const set = out.get(pathspace) ?? new Set<string>();
    for (const f of files) set.add(f);
    out.set(pathspace, set);
  };
  for (const st of Object.values(state?.nodes ?? {})) {
    if (st.frr) add(st.frr.pathspace, [...st.frr.daemons.map((d) => d.pidFile), ...pidFilesIn(st.frr.dir)]);
  }
  if (topo !== null) {
    for (const n of topo.nodes) {
      try {
        const plan = planNodeExec(topo, n, runDir).frr;
        if (plan !== null) add(plan.pathspace, [...plan.daemons.map((d) => d.pidFile), ...pidFilesIn(plan.dir)]);
      } catch {
        // An exec list that no longer reads: the daemons are still found by pathspace.
      }
    }
  }
  for (const node of frrNodeDirs(runDir)) add(frrPathspace(lab, node), pidFilesIn(frrDirOf(runDir, node)));
  if (state === null) for (const ps of pathspacesWithPrefix(labNetnsPrefix(lab))) add(ps, []);
  return [...out].map(([pathspace, files]) => ({ pathspace, pidFiles: [...files] }));
}

function inNamespace(pid: number, ns: string): boolean {
  const own = processNetns(pid);
  if (own === null) return false;
  try {
    return own === `net:[${statSync(`/run/netns/${ns}`).ino}]`;
  } catch {
    return false;
  }
}
