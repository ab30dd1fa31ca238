import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LabError } from './errors.js';

/**
 * Network namespace, veth and process primitives over iproute2 (Node has no
 * AF_NETLINK, and `ip` is what an operator would type to check by hand). Shared
 * by the lab runner and by the netns test helpers.
 */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** Runs argv (no shell), collects output; never throws for a non-zero exit. */
export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error('run: empty argv');
  return new Promise((resolvePromise) => {
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: opts.env === undefined ? process.env : { ...process.env, ...opts.env },
      timeout: opts.timeoutMs ?? 30_000,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e) => resolvePromise({ code: 127, stdout, stderr: stderr + e.message }));
    child.on('close', (code, signal) =>
      resolvePromise({ code: code ?? 128, stdout, stderr: signal === null ? stderr : `${stderr}killed by ${signal}` }),
    );
  });
}

/** Like run, but a non-zero exit is a LabError naming the command and its stderr. */
export async function runOk(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(argv, opts);
  if (r.code !== 0) {
    const why = (r.stderr.trim() || r.stdout.trim() || `exit ${r.code}`).split('\n').slice(-5).join(' | ');
    throw new LabError(`${argv.join(' ')}: ${why}`);
  }
  return r;
}

/** Named namespaces (the ones in /run/netns). */
export async function listNetns(): Promise<string[]> {
  const r = await runOk(['ip', '-j', 'netns', 'list']);
  const text = r.stdout.trim();
  if (text === '') return [];
  return (JSON.parse(text) as { name: string }[]).map((n) => n.name);
}

/** Creates a namespace with lo up; fails if it exists. */
export async function addNetns(name: string): Promise<void> {
  await runOk(['ip', 'netns', 'add', name]);
  await runOk(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
}

export async function deleteNetns(name: string): Promise<void> {
  const r = await run(['ip', 'netns', 'del', name]);
  if (r.code !== 0 && !/No such file/.test(r.stderr)) throw new LabError(`ip netns del ${name}: ${r.stderr.trim()}`);
}

/** Every process whose network namespace is `name`. */
export async function netnsPids(name: string): Promise<number[]> {
  const r = await run(['ip', 'netns', 'pids', name]);
  if (r.code !== 0) return [];
  return r.stdout.split(/\s+/).filter((s) => s !== '').map(Number).filter((n) => Number.isInteger(n) && n > 0);
}

/** argv that runs `command` in `ns`: a string goes through `sh -c`, an array runs as is. */
export function inNetns(ns: string, command: string | readonly string[]): string[] {
  return typeof command === 'string' ? ['ip', 'netns', 'exec', ns, 'sh', '-c', command] : ['ip', 'netns', 'exec', ns, ...command];
}

export function execInNetns(ns: string, command: string | readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return run(inNetns(ns, command), opts);
}

export async function linkExists(ifname: string, ns?: string): Promise<boolean> {
  const argv = ns === undefined ? ['ip', 'link', 'show', 'dev', ifname] : ['ip', '-n', ns, 'link', 'show', 'dev', ifname];
  return (await run(argv)).code === 0;
}

/**
 * A veth pair between two namespaces, named `nameA` in `nsA` and `nameB` in `nsB`,
 * both up. It is created in the root namespace under host-unique temporary
 * names, then moved and renamed, so equal names on both sides (eth1/eth1) and
 * names that exist on the host never clash.
 */
export async function createVethBetween(
  a: { ns: string; name: string; tmp: string },
  b: { ns: string; name: string; tmp: string },
  mtu: number | null = null,
): Promise<void> {
  await runOk(['ip', 'link', 'add', a.tmp, 'type', 'veth', 'peer', 'name', b.tmp]);
  try {
    for (const end of [a, b]) {
      await runOk(['ip', 'link', 'set', 'dev', end.tmp, 'netns', end.ns]);
      await runOk(['ip', '-n', end.ns, 'link', 'set', 'dev', end.tmp, 'name', end.name]);
      if (mtu !== null) await runOk(['ip', '-n', end.ns, 'link', 'set', 'dev', end.name, 'mtu', String(mtu)]);
      await runOk(['ip', '-n', end.ns, 'link', 'set', 'dev', end.name, 'up']);
    }
  } catch (e) {
    // One end may still be in the root namespace; deleting either end deletes the pair.
    await run(['ip', 'link', 'del', a.tmp]);
    await run(['ip', 'link', 'del', b.tmp]);
    throw e;
  }
}

/** Alive = exists and is not a zombie waiting for its parent. */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** argv of a process ([] when it is gone), NUL-separated in /proc. */
export function processArgv(pid: number): string[] {
  try {
    const parts = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (parts.at(-1) === '') parts.pop();
    return parts;
  } catch {
    return [];
  }
}

/** The network namespace identity of a process ("net:[4026532…]"), or null. */
export function processNetns(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return null;
  }
}

/**
 * SIGTERM, wait up to `graceMs` for them to exit, then SIGKILL the rest and wait a
 * little more. Returns the pids that were still alive when SIGKILLed.
 */
export async function terminate(pids: readonly number[], graceMs = 5_000): Promise<number[]> {
  const signal = (pid: number, sig: NodeJS.Signals): void => {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  };
  const live = [...new Set(pids)].filter(processAlive);
  for (const pid of live) signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && live.some(processAlive)) await sleep(50);
  const stubborn = live.filter(processAlive);
  for (const pid of stubborn) signal(pid, 'SIGKILL');
  const killDeadline = Date.now() + 2_000;
  while (Date.now() < killDeadline && stubborn.some(processAlive)) await sleep(20);
  return stubborn;
}

/** wireguard-go processes serving any of these interfaces (found by argv, wherever they run). */
export function findWireguardGo(ifnames: readonly string[]): number[] {
  if (ifnames.length === 0) return [];
  const wanted = new Set(ifnames);
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = processArgv(Number(entry));
    const exe = argv[0];
    if (exe === undefined || basename(exe) !== 'wireguard-go') continue;
    const ifname = argv.slice(1).filter((a) => !a.startsWith('-')).at(-1);
    if (ifname !== undefined && wanted.has(ifname)) out.push(Number(entry));
  }
  return out;
}

/** wireguard-go's UAPI socket of an interface (one directory for the whole host). */
export function wireguardSocket(ifname: string): string {
  return `/var/run/wireguard/${ifname}.sock`;
}
