/**
 * Driving running agents from lab tests: the wgbgp CLI against a node's control
 * socket, the node's kernel routes, polling with a deadline. The JSON shapes are
 * the contract's own types (#api/types).
 */
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import type { NeighborJson } from '#api/types';
import { REPO_LABS } from './labs.js';

export type { NeighborJson, RouteJson, StatusJson, TunnelJson } from '#api/types';

/** The built CLI of this checkout (the suite builds before it runs). */
export const CLI = join(REPO_LABS, '..', 'dist', 'cli', 'main.js');
const execFileAsync = promisify(execFile);

export interface KernelRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string | number;
}

/** Routes the agent installed (protocol 201) in a namespace's kernel, from `ip -j`. */
export function kernelRoutes(ns: string, family: '-4' | '-6'): KernelRoute[] {
  const out = execFileSync('ip', ['-n', ns, family, '-j', 'route', 'show', 'proto', '201'], { encoding: 'utf8' });
  return JSON.parse(out || '[]') as KernelRoute[];
}

/** `wgbgp ARGS --json`, parsed. Synchronous: not for tests that serve the agent from this process. */
export function cli<T>(...args: string[]): T {
  // `status` exits 1 when degraded or a neighbor is down (docs/cli.md): its JSON is still the answer.
  const r = spawnSync('node', [CLI, ...args, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  if (r.status !== 0 && !(args[0] === 'status' && r.status === 1)) throw new Error(`wgbgp ${args.join(' ')} exited ${String(r.status)}`);
  return JSON.parse(r.stdout) as T;
}

/** Polls `fn` every 100 ms until it returns something truthy; a throw counts as "not yet". */
export async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    let v: T | undefined | false;
    try {
      v = fn();
    } catch (err) {
      last = err;
      v = undefined;
    }
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function linkExists(ns: string, ifname: string): boolean {
  try {
    execFileSync('ip', ['-n', ns, 'link', 'show', ifname], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

/** Every configured neighbor of the agent at `sock` is Established (and there is at least one). */
export function allEstablished(sock: string): boolean {
  const ns = cli<NeighborJson[]>('neighbors', '--socket', sock);
  return ns.length > 0 && ns.every((n) => n.state === 'Established');
}

/** `wgbgp reload`, asynchronous (a fake VPP in this process keeps answering); throws with the CLI's output. */
export async function reload(sock: string): Promise<string> {
  try {
    return (await execFileAsync('node', [CLI, 'reload', '--socket', sock], { encoding: 'utf8' })).stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`reload failed: ${e.stderr ?? ''}${e.stdout ?? ''}${e.message}`);
  }
}

export function editYaml(file: string, edit: (doc: Record<string, unknown>) => void): void {
  const doc = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  edit(doc);
  writeFileSync(file, stringify(doc));
}

/**
 * `wgbgp agent` in namespace `ns`, detached (it outlives a kill of this test's
 * children, as under systemd), output appended to `log`; returns its pid
 * (`ip netns exec` execs, so the pid is the agent's).
 */
export function spawnDetachedAgent(ns: string, config: string, log: string): number {
  const fd = openSync(log, 'a');
  try {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, CLI, 'agent', '--config', config], {
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    child.unref();
    return child.pid ?? 0;
  } finally {
    closeSync(fd);
  }
}

/**
 * Keys that occur twice in one object of a JSON text (JSON.parse would keep
 * the last silently; a log shipper may keep either). A small scanner: strings
 * with their escapes, objects and arrays nested.
 */
export function duplicateKeys(json: string): string[] {
  const dup: string[] = [];
  const stack: ({ keys: Set<string>; expectKey: boolean } | null)[] = [];
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '"') {
      let j = i + 1;
      let text = '';
      for (; j < json.length && json[j] !== '"'; j++) {
        if (json[j] === '\\') j++;
        text += json[j];
      }
      const top = stack.at(-1);
      if (top && top.expectKey) {
        if (top.keys.has(text)) dup.push(text);
        top.keys.add(text);
        top.expectKey = false;
      }
      i = j;
    } else if (c === '{') stack.push({ keys: new Set(), expectKey: true });
    else if (c === '[') stack.push(null);
    else if (c === '}' || c === ']') stack.pop();
    else if (c === ',') {
      const top = stack.at(-1);
      if (top) top.expectKey = true;
    }
  }
  return dup;
}
