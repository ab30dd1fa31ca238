/**
 * Network namespaces for tests. Every test names what it creates with
 * uniqueName() (test files run in parallel processes, and wireguard-go's UAPI
 * sockets are global to the host) and cleans up by prefix, so a failed or
 * killed run never blocks the next:
 *
 *   const prefix = uniqueName('fibt');
 *   afterAll(() => cleanupPrefix(prefix));
 *   const [a, b] = await createNamespaces(prefix);          // `${prefix}-a`, `${prefix}-b`, lo up
 *   await withVethPair(a, b, { addrA: '198.18.0.1/24', addrB: '198.18.0.2/24' });
 *   await execIn(a, 'ping -c1 -W1 198.18.0.2');
 *   spawnIn(a, ['wireguard-go', '-f', `${prefix}w`]);     // cleaned up with the prefix
 *
 * Guard whole files with describe.skipIf(!netnsSupported()).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readdirSync, rmSync } from 'node:fs';
import {
  addNetns,
  createVethBetween,
  deleteNetns,
  execInNetns,
  inNetns,
  listNetns,
  netnsPids,
  processArgv,
  run,
  runOk,
  terminate,
  type RunResult,
} from '#lab/netns';

export type { RunResult };

const IFNAMSIZ = 15;
const issued = new Set<string>();

/**
 * `base` plus a random suffix, at most 15 characters (a valid interface name
 * too): "wgt" -> "wgt-k3j9x1". Unique within the process and, with
 * overwhelming odds, on the host.
 */
export function uniqueName(base: string): string {
  const head = base.slice(0, IFNAMSIZ - 7);
  for (;;) {
    const suffix = (randomBytes(4).readUInt32BE(0) % 36 ** 6).toString(36).padStart(6, '0');
    const name = `${head}-${suffix}`;
    if (!issued.has(name)) {
      issued.add(name);
      return name;
    }
  }
}

/** Root, and iproute2 with netns support: what the namespace tests need. */
export function netnsSupported(): boolean {
  if (process.getuid?.() !== 0) return false;
  return spawnSync('ip', ['netns', 'list'], { stdio: 'ignore' }).status === 0;
}

/** Namespaces `${prefix}-${node}` with lo up, in the order given. Fails if one exists. */
export async function createNamespaces(prefix: string, nodes: readonly string[] = ['a', 'b']): Promise<string[]> {
  const names = nodes.map((n) => `${prefix}-${n}`);
  for (const ns of names) await addNetns(ns);
  return names;
}

export interface VethOptions {
  /** Interface names inside the namespaces; default eth1 on both sides. */
  nameA?: string;
  nameB?: string;
  /** Addresses with length ("198.18.0.1/24"), added when given. */
  addrA?: string | readonly string[];
  addrB?: string | readonly string[];
  mtu?: number;
}

/**
 * A veth pair between two namespaces, both ends up (and addressed when asked).
 * It lives as long as the namespaces: cleanupPrefix removes it with them.
 */
export async function withVethPair(nsA: string, nsB: string, opts: VethOptions = {}): Promise<{ a: string; b: string }> {
  const a = opts.nameA ?? 'eth1';
  const b = opts.nameB ?? 'eth1';
  await createVethBetween({ ns: nsA, name: a, tmp: uniqueName('vt') }, { ns: nsB, name: b, tmp: uniqueName('vt') }, opts.mtu ?? null);
  for (const [ns, ifname, addrs] of [[nsA, a, opts.addrA], [nsB, b, opts.addrB]] as const) {
    const list = addrs === undefined ? [] : typeof addrs === 'string' ? [addrs] : addrs;
    // nodad: a test must not wait for IPv6 duplicate address detection.
    for (const addr of list) await runOk(['ip', '-n', ns, 'addr', 'add', addr, 'dev', ifname, ...(addr.includes(':') ? ['nodad'] : [])]);
  }
  return { a, b };
}

export interface ExecOptions {
  /** Throw when the command exits non-zero (default true). */
  check?: boolean;
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** Runs a command in a namespace: a string through `sh -c`, an array as argv. */
export async function execIn(ns: string, cmd: string | readonly string[], opts: ExecOptions = {}): Promise<RunResult> {
  const r = await execInNetns(ns, cmd, { env: opts.env ?? {}, timeoutMs: opts.timeoutMs ?? 30_000 });
  if ((opts.check ?? true) && r.code !== 0) {
    const shown = typeof cmd === 'string' ? cmd : cmd.join(' ');
    throw new Error(`in ${ns}: \`${shown}\` exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  }
  return r;
}

/**
 * A long-running process in a namespace (wireguard-go -f, bird -f, an agent),
 * output to `log` when given. cleanupPrefix stops it with its namespace.
 */
export function spawnIn(ns: string, argv: readonly string[], opts: { log?: string; env?: Record<string, string> } = {}): ChildProcess {
  const full = inNetns(ns, argv);
  const fd = opts.log === undefined ? 'ignore' : openSync(opts.log, 'a');
  try {
    return spawn(full[0]!, full.slice(1), { stdio: ['ignore', fd, fd], env: { ...process.env, ...opts.env } });
  } finally {
    if (typeof fd === 'number') closeSync(fd);
  }
}

/**
 * Removes everything named with `prefix`: the processes in namespaces starting
 * with it (SIGTERM, then SIGKILL), those namespaces, wireguard-go processes and
 * UAPI sockets of interfaces starting with it, and root-namespace links starting
 * with it. Safe to call repeatedly and when nothing exists.
 */
export async function cleanupPrefix(prefix: string): Promise<void> {
  const namespaces = (await listNetns()).filter((ns) => ns.startsWith(prefix));
  const pids = new Set<number>();
  for (const ns of namespaces) for (const pid of await netnsPids(ns)) pids.add(pid);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = processArgv(Number(entry));
    if (argv[0]?.endsWith('wireguard-go') && argv.slice(1).some((a) => a.startsWith(prefix))) pids.add(Number(entry));
  }
  pids.delete(process.pid);
  await terminate([...pids], 3_000);
  for (const ns of namespaces) await deleteNetns(ns);
  let sockets: string[] = [];
  try {
    sockets = readdirSync('/var/run/wireguard').filter((f) => f.startsWith(prefix) && f.endsWith('.sock'));
  } catch {
    // no wireguard-go ever ran here
  }
  for (const s of sockets) rmSync(`/var/run/wireguard/${s}`, { force: true });
  const links = await run(['ip', '-j', 'link', 'show']);
  if (links.code === 0 && links.stdout.trim() !== '') {
    for (const l of JSON.parse(links.stdout) as { ifname: string }[]) {
      if (l.ifname.startsWith(prefix)) await run(['ip', 'link', 'del', l.ifname]);
    }
  }
}
