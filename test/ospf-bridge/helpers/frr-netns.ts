/**
 * FRR daemons in a network namespace for tests (reference/lab-facts.md §3):
 * each daemon runs with `-N <namespace>` (its pathspace: vty sockets and
 * zserv.api in /var/run/frr/<ns>/), `-P 0` (no TCP vty), its own config file
 * and pid file in a directory owned by user frr, and vtysh reaches them with
 * the same `-N`. A `--config_dir` of the node's own holds <ns>/vtysh.conf, so
 * the test chooses integrated or per-daemon `write memory` and nothing is
 * written under /etc/frr.
 *
 *   const prefix = uniqueName('frr');
 *   afterAll(() => cleanupFrr(prefix, [node]));
 *   const [ns] = await createNamespaces(prefix, ['a']);
 *   const node = await startFrr(ns, { daemons: ['zebra', 'ospfd'], zebraModules: ['dplane_fpm_nl'] });
 *   await node.vtysh('show ip ospf neighbor');
 *   await node.restart('ospfd');                     // reads its config file again
 *
 * cleanupFrr stops the daemons (cleanupPrefix kills whatever else runs in the
 * namespaces), deletes the namespaces, /var/run/frr/<ns> and the node's directory.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readPid } from '#lab/frr';
import { processAlive, terminate } from '#lab/netns';
import { cleanupPrefix, execIn, netnsSupported } from '../../lab/helpers/netns.js';

export const FRR_SBIN = '/usr/lib/frr';
export const VTYSH = '/usr/bin/vtysh';
const FRR_RUN = '/var/run/frr';

export type FrrDaemon = 'zebra' | 'ospfd' | 'ospf6d' | 'bgpd' | 'staticd';

/** Why FRR cannot run here (null: it can): root and `ip netns`, the daemons, vtysh, user frr. */
export function frrMissing(daemons: readonly FrrDaemon[] = ['zebra', 'ospfd', 'ospf6d']): string | null {
  if (!netnsSupported()) return 'needs root and `ip netns`';
  for (const d of daemons) if (!existsSync(join(FRR_SBIN, d))) return `${join(FRR_SBIN, d)} is missing (Debian package frr)`;
  if (!existsSync(VTYSH)) return `${VTYSH} is missing (Debian package frr)`;
  if (spawnSync('id', ['-u', 'frr'], { stdio: 'ignore' }).status !== 0) return 'there is no user frr';
  return null;
}

export interface FrrStartOptions {
  daemons?: readonly FrrDaemon[];
  /** zebra `-M` modules, e.g. ['dplane_fpm_nl']. */
  zebraModules?: readonly string[];
  /** Initial config file contents per daemon (default: `hostname <ns>` for zebra, empty otherwise). */
  configs?: Partial<Record<FrrDaemon, string>>;
  /** vtysh.conf `service integrated-vtysh-config` (true) or `no service …` (false, the default). */
  integrated?: boolean;
}

export interface FrrNode {
  ns: string;
  /** Config and pid files, owned by frr. */
  dir: string;
  /** vtysh --config_dir: holds <ns>/vtysh.conf (and <ns>/frr.conf in integrated mode). */
  configDir: string;
  /** The daemons started, in start order. */
  daemons: readonly FrrDaemon[];
  configFile(daemon: FrrDaemon): string;
  /** The integrated frr.conf vtysh writes in integrated mode. */
  integratedFile: string;
  /** argv prefix and options for FrrDriver: `ip netns exec <ns>`, -N, --config_dir. */
  driverOptions(): { pathspace: string; configDir: string; argvPrefix: string[] };
  /** vtysh -c … in the namespace; throws on a non-zero exit. */
  vtysh(...commands: string[]): Promise<string>;
  start(daemon: FrrDaemon): Promise<void>;
  stop(daemon: FrrDaemon): Promise<void>;
  /** Stop, then start with the same config file (what a crash + watchfrr restart does). */
  restart(daemon: FrrDaemon): Promise<void>;
  /** `vtysh -b`: load the integrated frr.conf into the running daemons (what frrinit.sh does after a start). */
  boot(): Promise<void>;
}

function frrIds(): { uid: number; gid: number } {
  return {
    uid: Number(execFileSync('id', ['-u', 'frr'], { encoding: 'utf8' }).trim()),
    gid: Number(execFileSync('id', ['-g', 'frr'], { encoding: 'utf8' }).trim()),
  };
}

/** Starts FRR daemons in the existing namespace `ns` (zebra first: the others connect to it). */
export async function startFrr(ns: string, opts: FrrStartOptions = {}): Promise<FrrNode> {
  const daemons = opts.daemons ?? ['zebra', 'ospfd', 'ospf6d'];
  const { uid, gid } = frrIds();
  const dir = mkdtempSync(join(tmpdir(), `${ns}-`));
  const configDir = join(dir, 'etc');
  const runDir = join(FRR_RUN, ns);
  for (const d of [dir, configDir, join(configDir, ns), runDir]) {
    mkdirSync(d, { recursive: true, mode: 0o755 });
    chownSync(d, uid, gid);
  }
  const vtyshConf = join(configDir, ns, 'vtysh.conf');
  writeFileSync(vtyshConf, `${opts.integrated === true ? '' : 'no '}service integrated-vtysh-config\n`);
  chownSync(vtyshConf, uid, gid);
  const configFile = (d: FrrDaemon): string => join(dir, `${d}.conf`);
  const pidFile = (d: FrrDaemon): string => join(dir, `${d}.pid`);
  for (const d of daemons) {
    writeFileSync(configFile(d), opts.configs?.[d] ?? (d === 'zebra' ? `hostname ${ns}\n` : ''));
    chownSync(configFile(d), uid, gid);
  }

  const vtyshArgs = ['-N', ns, '--config_dir', configDir];
  const start = async (d: FrrDaemon): Promise<void> => {
    const modules = d === 'zebra' ? (opts.zebraModules ?? []).flatMap((m) => ['-M', m]) : [];
    // -d: daemonize (found again by pid file and by the namespace's pid list at cleanup).
    await execIn(ns, [join(FRR_SBIN, d), '-d', '-N', ns, '-P', '0', ...modules, '-f', configFile(d), '-i', pidFile(d)]);
    const sock = join(runDir, `${d}.vty`);
    const deadline = Date.now() + 10_000;
    while (!existsSync(sock)) {
      if (Date.now() > deadline) throw new Error(`${d} in ${ns}: no ${sock} after 10 s`);
      await sleep(50);
    }
  };
  const stop = async (d: FrrDaemon): Promise<void> => {
    const pid = readPid(pidFile(d));
    if (pid === null) return;
    await terminate([pid], 5_000);
    const deadline = Date.now() + 5_000;
    while (processAlive(pid) && Date.now() < deadline) await sleep(50);
    rmSync(join(runDir, `${d}.vty`), { force: true });
  };
  const vtysh = async (...commands: string[]): Promise<string> => {
    const r = await execIn(ns, [VTYSH, ...vtyshArgs, ...commands.flatMap((c) => ['-c', c])], { check: false, timeoutMs: 15_000 });
    if (r.code !== 0) throw new Error(`vtysh in ${ns} (${commands.join(' | ')}): exit ${r.code}: ${r.stdout.trim()} ${r.stderr.trim()}`);
    return r.stdout;
  };

  const node: FrrNode = {
    ns,
    dir,
    configDir,
    daemons,
    configFile,
    integratedFile: join(configDir, ns, 'frr.conf'),
    driverOptions: () => ({ pathspace: ns, configDir, argvPrefix: ['ip', 'netns', 'exec', ns] }),
    vtysh,
    start,
    stop,
    restart: async (d) => {
      await stop(d);
      await start(d);
    },
    boot: async () => {
      const r = await execIn(ns, [VTYSH, ...vtyshArgs, '-b'], { check: false, timeoutMs: 15_000 });
      if (r.code !== 0) throw new Error(`vtysh -b in ${ns}: exit ${r.code}: ${r.stdout.trim()} ${r.stderr.trim()}`);
    },
  };
  try {
    for (const d of daemons) await start(d);
  } catch (e) {
    await stopFrr(node);
    throw e;
  }
  return node;
}

/** Stops the node's daemons (zebra last) and removes its run and config directories. */
export async function stopFrr(node: FrrNode): Promise<void> {
  for (const d of [...node.daemons].reverse()) await node.stop(d);
  rmSync(join(FRR_RUN, node.ns), { recursive: true, force: true });
  rmSync(node.dir, { recursive: true, force: true });
}

/**
 * Everything a test made under `prefix`: the FRR nodes, any process left in
 * the namespaces, the namespaces, /var/run/frr/<prefix>*. Safe to call
 * repeatedly and after a failed start.
 */
export async function cleanupFrr(prefix: string, nodes: readonly (FrrNode | undefined)[] = []): Promise<void> {
  for (const n of nodes) if (n !== undefined) await stopFrr(n).catch(() => undefined);
  await cleanupPrefix(prefix);
  if (existsSync(FRR_RUN)) {
    for (const entry of readdirSync(FRR_RUN)) {
      if (entry.startsWith(prefix)) rmSync(join(FRR_RUN, entry), { recursive: true, force: true });
    }
  }
}
