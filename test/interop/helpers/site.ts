/**
 * Interop test scaffolding: the wgbgp agent in namespace A, a third-party BGP
 * speaker in namespace B, one WireGuard tunnel (wireguard-go) between them.
 *
 *   A (wgbgp, AS 65001)                         B (peer, AS 65002)
 *   lan0 10.1.0.1/24 2001:db8:1::1/64          lan0 10.2.0.1/24 2001:db8:2::1/64
 *   <prefix>a 10.255.0.0/31 fd00:255::/127 ==== <prefix>b 10.255.0.1/31 fd00:255::1/127
 *   eth1 198.18.N.1/24 ------------- veth ------------- eth1 198.18.N.2/24
 *
 * A's tunnel is built by the agent; B's is set up by hand the way an operator
 * would: `wireguard-go -f`, `wg set`, `ip addr`, `ip link set up`.
 * Everything is named with one uniqueName() prefix, so `teardown` (cleanupPrefix
 * plus our files) removes it even after a failed or interrupted run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { linkLocalPair } from '#wg/linklocal';
import type { NeighborBfdJson } from '#api/types';
import { cleanupPrefix, createNamespaces, execIn, netnsSupported, spawnIn, uniqueName, withVethPair } from '../../lab/helpers/netns.js';

export const REPO = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
export const CLI = join(REPO, 'dist', 'cli', 'main.js');

export const ASN_A = 65001;
export const ASN_B = 65002;
export const LAN_A = { v4: '10.1.0.0/24', v6: '2001:db8:1::/48', addr4: '10.1.0.1', addr6: '2001:db8:1::1' };
export const LAN_B = { v4: '10.2.0.0/24', v6: '2001:db8:2::/48', addr4: '10.2.0.1', addr6: '2001:db8:2::1' };
export const TUN_A = { v4: '10.255.0.0', v6: 'fd00:255::' };
export const TUN_B = { v4: '10.255.0.1', v6: 'fd00:255::1' };
export const PORT_A = 51821;
export const PORT_B = 51820;
export const HOLD_TIME = 9;

/**
 * Why an interop file cannot run here, or null when it can: not root / no
 * netns, no built CLI, or a missing binary (the peer's or the tunnel tools).
 */
export function missingPrerequisite(binaries: readonly string[]): string | null {
  if (!netnsSupported()) return 'needs root and `ip netns`';
  for (const bin of ['wireguard-go', 'wg', 'ip', 'ping', ...binaries]) {
    const found = bin.startsWith('/') ? existsSync(bin) : spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
    if (!found) return `${bin} is not installed`;
  }
  return null;
}

export interface Site {
  prefix: string;
  /** Temp dir: configs, keys, logs, sockets. World-traversable (FRR runs as frr). */
  dir: string;
  nsA: string;
  nsB: string;
  /** Tunnel interfaces in A (the agent's) and B (the peer's). */
  ifA: string;
  ifB: string;
  underlayA: string;
  underlayB: string;
  sock: string;
  agentConfig: string;
  agentLog: string;
  keyB: string;
  pubA: string;
  pubB: string;
  /** B's tunnel addresses and the agent's listen port, when not TUN_B and PORT_A (one of several peers: createPeers). */
  tunB?: { v4: string; v6: string };
  portA?: number;
}

function sh(cmd: string, args: readonly string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] }).trim();
}

/**
 * Namespaces, veth underlay and the LAN bridges; keys and the agent's config in
 * a temp dir. `net` picks the underlay 198.18.<net>.0/24.
 */
export interface AgentOptions {
  /** Extra keys of the agent's neighbors[0].bgp (ttl-security, password). */
  bgp?: Record<string, unknown>;
  /** No `tunnel`: derived link-locals, BGP unnumbered. */
  unnumbered?: boolean;
  /** Extra keys of the agent's neighbors[0] (bfd). */
  neighbor?: Record<string, unknown>;
  /** Extra top-level sections of the agent's config (policy, bgp). */
  top?: Record<string, unknown>;
}

export async function createSite(base: string, net: number, agent: AgentOptions = {}): Promise<Site> {
  const prefix = uniqueName(base);
  const dir = mkdtempSync(join(tmpdir(), `wgbgp-interop-${prefix}-`));
  chmodSync(dir, 0o755);
  const site: Site = {
    prefix,
    dir,
    nsA: `${prefix}-a`,
    nsB: `${prefix}-b`,
    ifA: `${prefix}a`,
    ifB: `${prefix}b`,
    underlayA: `198.18.${net}.1`,
    underlayB: `198.18.${net}.2`,
    sock: join(dir, 'agent.sock'),
    agentConfig: join(dir, 'wgbgp.yaml'),
    agentLog: join(dir, 'agent.log'),
    keyB: join(dir, 'b.key'),
    pubA: '',
    pubB: '',
  };
  try {
    await buildSite(site, agent);
  } catch (e) {
    await teardown(site);
    throw e;
  }
  return site;
}

async function buildSite(site: Site, agent: AgentOptions): Promise<void> {
  const { prefix, dir } = site;
  const keyA = join(dir, 'a.key');
  for (const file of [keyA, site.keyB]) writeFileSync(file, `${sh('wg', ['genkey'])}\n`, { mode: 0o600 });
  site.pubA = sh('wg', ['pubkey'], readFileSync(keyA, 'utf8'));
  site.pubB = sh('wg', ['pubkey'], readFileSync(site.keyB, 'utf8'));

  await createNamespaces(prefix, ['a', 'b']);
  await withVethPair(site.nsA, site.nsB, { addrA: `${site.underlayA}/24`, addrB: `${site.underlayB}/24` });
  for (const [ns, lan] of [[site.nsA, LAN_A], [site.nsB, LAN_B]] as const) {
    // A bridge without ports is up with carrier here (no `dummy` link type); nodad: no DAD wait.
    await execIn(ns, [
      'sh',
      '-c',
      `ip link add lan0 type bridge && ip link set lan0 up && ip addr add ${lan.addr4}/24 dev lan0 && ip addr add ${lan.addr6}/64 dev lan0 nodad`,
    ]);
  }

  writeFileSync(
    site.agentConfig,
    stringify({
      router: { asn: ASN_A, 'router-id': '192.0.2.1' },
      control: { socket: site.sock },
      dataplane: { wireguard: 'wireguard-go', fib: 'linux', linux: { protocol: 201 } },
      wireguard: { 'private-key-file': keyA },
      announce: [LAN_A.v4, LAN_A.v6],
      ...agent.top,
      neighbors: [
        {
          name: 'peer',
          interface: site.ifA,
          'public-key': site.pubB,
          endpoint: `${site.underlayB}:${PORT_B}`,
          'listen-port': PORT_A,
          ...(agent.unnumbered ? {} : { tunnel: { local: [`${TUN_A.v4}/31`, `${TUN_A.v6}/127`], remote: [TUN_B.v4, TUN_B.v6] } }),
          bgp: { asn: ASN_B, 'hold-time': HOLD_TIME, ...agent.bgp },
          ...agent.neighbor,
        },
      ],
    }),
  );
}

/**
 * The agent in A with several peers, B1…Bn (multipath, a hub): one namespace
 * per peer, its own veth underlay 198.18.<net+i>.0/24, LAN bridge
 * (`lan`), tunnel i (A 10.255.i.0/31 fd00:255:i::/127, Bi .1 / ::1) and
 * agent neighbor `b<i>` in AS `asn` (more keys of its `bgp` in `bgp`). Each peer is a Site of its own
 * (nsA shared, dir per peer), so startPeerTunnel and startBird/startFrr
 * work on it as on a single site; the agent's config and socket are in
 * `agent`. teardownPeers removes everything.
 */
export interface Peers {
  prefix: string;
  dir: string;
  nsA: string;
  sock: string;
  agentConfig: string;
  agentLog: string;
  peers: Site[];
}

export async function createPeers(
  base: string,
  net: number,
  /** `bgp`: extra keys of that neighbor's bgp section (add-path). */
  peers: readonly { asn: number; lan: { v4: string; v6: string; addr4: string; addr6: string }; bgp?: Record<string, unknown> }[],
  top: Record<string, unknown> = {},
): Promise<Peers> {
  const prefix = uniqueName(base);
  const dir = mkdtempSync(join(tmpdir(), `wgbgp-interop-${prefix}-`));
  chmodSync(dir, 0o755);
  const nsA = `${prefix}-a`;
  const keyA = join(dir, 'a.key');
  const out: Peers = { prefix, dir, nsA, sock: join(dir, 'agent.sock'), agentConfig: join(dir, 'wgbgp.yaml'), agentLog: join(dir, 'agent.log'), peers: [] };
  try {
    writeFileSync(keyA, `${sh('wg', ['genkey'])}\n`, { mode: 0o600 });
    const pubA = sh('wg', ['pubkey'], readFileSync(keyA, 'utf8'));
    await createNamespaces(prefix, ['a', ...peers.map((_, i) => `b${i + 1}`)]);
    await execIn(nsA, ['sh', '-c', `ip link add lan0 type bridge && ip link set lan0 up && ip addr add ${LAN_A.addr4}/24 dev lan0 && ip addr add ${LAN_A.addr6}/64 dev lan0 nodad`]);
    for (const [k, p] of peers.entries()) {
      const i = k + 1;
      const peerDir = join(dir, `b${i}`);
      mkdirSync(peerDir, { mode: 0o755 });
      const keyB = join(peerDir, 'b.key');
      writeFileSync(keyB, `${sh('wg', ['genkey'])}\n`, { mode: 0o600 });
      const site: Site = {
        prefix,
        dir: peerDir,
        nsA,
        nsB: `${prefix}-b${i}`,
        ifA: `${prefix}a${i}`,
        ifB: `${prefix}b${i}`,
        underlayA: `198.18.${net + k}.1`,
        underlayB: `198.18.${net + k}.2`,
        sock: out.sock,
        agentConfig: out.agentConfig,
        agentLog: out.agentLog,
        keyB,
        pubA,
        pubB: sh('wg', ['pubkey'], readFileSync(keyB, 'utf8')),
        tunB: { v4: `10.255.${i}.1`, v6: `fd00:255:${i}::1` },
        portA: PORT_A + k,
      };
      await withVethPair(nsA, site.nsB, { nameA: `eth${i}`, addrA: `${site.underlayA}/24`, addrB: `${site.underlayB}/24` });
      await execIn(site.nsB, ['sh', '-c', `ip link add lan0 type bridge && ip link set lan0 up && ip addr add ${p.lan.addr4}/24 dev lan0 && ip addr add ${p.lan.addr6}/64 dev lan0 nodad`]);
      out.peers.push(site);
    }
    writeFileSync(
      out.agentConfig,
      stringify({
        router: { asn: ASN_A, 'router-id': '192.0.2.1' },
        control: { socket: out.sock },
        dataplane: { wireguard: 'wireguard-go', fib: 'linux', linux: { protocol: 201 } },
        wireguard: { 'private-key-file': keyA },
        announce: [LAN_A.v4, LAN_A.v6],
        ...top,
        neighbors: out.peers.map((site, k) => ({
          name: `b${k + 1}`,
          interface: site.ifA,
          'public-key': site.pubB,
          endpoint: `${site.underlayB}:${PORT_B}`,
          'listen-port': site.portA,
          tunnel: { local: [`10.255.${k + 1}.0/31`, `fd00:255:${k + 1}::/127`], remote: [site.tunB!.v4, site.tunB!.v6] },
          bgp: { asn: peers[k]!.asn, 'hold-time': HOLD_TIME, ...peers[k]!.bgp },
        })),
      }),
    );
  } catch (e) {
    await teardownPeers(out);
    throw e;
  }
  return out;
}

/** teardown for createPeers. */
export async function teardownPeers(p: Peers | undefined): Promise<void> {
  if (p === undefined) return;
  try {
    await cleanupPrefix(p.prefix);
  } finally {
    for (const site of p.peers) for (const f of [`${site.ifA}.pid`, `${site.ifA}.log`]) rmSync(join('/run/wgbgp', f), { force: true });
    rmSync(p.dir, { recursive: true, force: true });
  }
}

/**
 * B's tunnel, the operator's way: wireguard-go -f, wg set, addresses, up.
 * `unnumbered`: instead of TUN_B's addresses, B's end of the link-local pair
 * derived from both public keys (design.md "Tunnel addressing").
 */
export async function startPeerTunnel(site: Site, opts: { unnumbered?: boolean } = {}): Promise<void> {
  spawnIn(site.nsB, ['wireguard-go', '-f', site.ifB], { log: join(site.dir, 'wireguard-go-b.log') });
  await until(`wireguard-go UAPI socket for ${site.ifB}`, () => existsSync(`/var/run/wireguard/${site.ifB}.sock`), 5_000);
  await execIn(site.nsB, [
    'wg', 'set', site.ifB,
    'private-key', site.keyB,
    'listen-port', String(PORT_B),
    'peer', site.pubA,
    'endpoint', `${site.underlayA}:${site.portA ?? PORT_A}`,
    'allowed-ips', '0.0.0.0/0,::/0',
  ]);
  const addresses = opts.unnumbered
    ? `ip addr add ${linkLocalPair(site.pubA, site.pubB).remote}/64 dev ${site.ifB} nodad`
    : `ip addr add ${(site.tunB ?? TUN_B).v4}/31 dev ${site.ifB} && ip addr add ${(site.tunB ?? TUN_B).v6}/127 dev ${site.ifB} nodad`;
  await execIn(site.nsB, ['sh', '-c', `ip link set ${site.ifB} addrgenmode none && ${addresses} && ip link set ${site.ifB} up`]);
}

/** The agent in A: `node dist/cli/main.js agent --config …`, output to agent.log. */
/**
 * BIRD in B's namespace on `config(log)` (its log file's path given): the
 * config checked with `bird -p`, then BIRD started; resolves once its control
 * socket exists. The config file stays at `conf` for a later `configure`.
 */
export async function startBird(site: Site, config: (log: string) => string): Promise<{ ctl: string; log: string; conf: string }> {
  const ctl = join(site.dir, 'bird.ctl');
  const log = join(site.dir, 'bird.log');
  const conf = join(site.dir, 'bird.conf');
  writeFileSync(conf, config(log));
  const parse = spawnSync('bird', ['-p', '-c', conf], { encoding: 'utf8' });
  if (parse.status !== 0) throw new Error(`bird -p: ${parse.stderr}`);
  spawnIn(site.nsB, ['bird', '-f', '-c', conf, '-s', ctl, '-P', join(site.dir, 'bird.pid')], { log: join(site.dir, 'bird.out') });
  await until('BIRD control socket', () => existsSync(ctl), 5_000);
  return { ctl, log, conf };
}

/** FRR (zebra + bgpd) in B's namespace, and vtysh to talk to it. */
export interface Frr {
  dir: string;
  /** bgpd's log file. */
  log: string;
  vtysh(...commands: string[]): string;
  /** For teardown(site, frr.cleanup): FRR's per-namespace run directory. */
  cleanup(): void;
}

export const FRR_ZEBRA = '/usr/lib/frr/zebra';
export const FRR_BGPD = '/usr/lib/frr/bgpd';

/**
 * zebra and bgpd in B's namespace (`-N`: their sockets under
 * /var/run/frr/<namespace>), configs and logs in `<site>/frr` owned by the
 * frr user; bgpd's config is `bgpdConfig(log)`.
 */
export async function startFrr(site: Site, bgpdConfig: (log: string) => string): Promise<Frr> {
  const dir = join(site.dir, 'frr');
  const runDir = `/var/run/frr/${site.nsB}`;
  const log = join(dir, 'bgpd.log');
  const uid = Number(sh('id', ['-u', 'frr']));
  const gid = Number(sh('id', ['-g', 'frr']));
  for (const d of [dir, runDir]) {
    mkdirSync(d, { recursive: true });
    chownSync(d, uid, gid);
  }
  writeFileSync(join(dir, 'zebra.conf'), `hostname b\nlog file ${join(dir, 'zebra.log')}\n`);
  writeFileSync(join(dir, 'bgpd.conf'), bgpdConfig(log));
  for (const f of ['zebra.conf', 'bgpd.conf']) chownSync(join(dir, f), uid, gid);
  for (const [daemon, name] of [[FRR_ZEBRA, 'zebra'], [FRR_BGPD, 'bgpd']] as const) {
    await execIn(site.nsB, [daemon, '-d', '-N', site.nsB, '-P', '0', '-f', join(dir, `${name}.conf`), '-i', join(dir, `${name}.pid`)]);
  }
  return {
    dir,
    log,
    vtysh: (...commands) =>
      execFileSync('vtysh', ['-N', site.nsB, ...commands.flatMap((c) => ['-c', c])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 }),
    cleanup: () => rmSync(runDir, { recursive: true, force: true }),
  };
}

/**
 * gobgpd in B's namespace with `config` (TOML) and more command-line `args`,
 * its API on a socket in the site's dir; resolves once it answers. `gobgp(...args)` runs the CLI against it.
 */
export async function startGobgp(site: Site, config: string, args: readonly string[] = []): Promise<{ log: string; gobgp(...args: string[]): string }> {
  const api = join(site.dir, 'gobgp.sock');
  const log = join(site.dir, 'gobgpd.log');
  const conf = join(site.dir, 'gobgpd.toml');
  writeFileSync(conf, config);
  // A gobgpd started again (graceful restart: `args` ['-r']) finds its predecessor's socket otherwise.
  rmSync(api, { force: true });
  spawnIn(site.nsB, ['gobgpd', '-f', conf, '-t', 'toml', '-p', '--pprof-disable', `--api-hosts=unix://${api}`, ...args], { log });
  const gobgp = (...args: string[]): string =>
    execFileSync('gobgp', ['--target', `unix://${api}`, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5_000 });
  await until('gobgpd API socket', () => existsSync(api), 5_000, () => tail(log));
  await until('gobgpd answers', () => gobgp('global').includes('192.0.2.2'), 5_000, () => tail(log));
  return { log, gobgp };
}

/**
 * OpenBGPD in B's namespace: `bgpd -d` (foreground, logging to its output
 * file) on `config(sock)`, its control socket in the site's dir. The Debian
 * package's privilege separation chroots the session and RDE processes into
 * the home of its _openbgpd user, /run/openbgpd, which the package leaves to
 * systemd's RuntimeDirectory: created here when missing. Resolves once bgpctl
 * answers; `bgpctl(...args)` runs it against this bgpd.
 */
export const OPENBGPD = '/usr/sbin/bgpd';
export const OPENBGPD_CHROOT = '/run/openbgpd';

export async function startOpenbgpd(site: Site, config: (sock: string) => string): Promise<{ log: string; conf: string; bgpctl(...args: string[]): string }> {
  const sock = join(site.dir, 'bgpd.sock');
  const log = join(site.dir, 'bgpd.log');
  const conf = join(site.dir, 'bgpd.conf');
  writeFileSync(conf, config(sock), { mode: 0o600 });
  mkdirSync(OPENBGPD_CHROOT, { recursive: true });
  const check = spawnSync(OPENBGPD, ['-n', '-f', conf], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`bgpd -n: ${check.stderr}`);
  spawnIn(site.nsB, [OPENBGPD, '-d', '-v', '-f', conf], { log });
  const bgpctl = (...args: string[]): string =>
    execFileSync('bgpctl', ['-s', sock, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5_000 });
  await until('bgpctl answers', () => existsSync(sock) && bgpctl('show', 'summary').length > 0, 10_000, () => tail(log));
  return { log, conf, bgpctl };
}

export function startAgent(site: Pick<Site, 'nsA' | 'agentConfig' | 'agentLog'>): void {
  spawnIn(site.nsA, [process.execPath, CLI, 'agent', '--config', site.agentConfig], { log: site.agentLog });
}

/** Kills everything in the namespaces, deletes them, removes sockets, state and the temp dir. */
export async function teardown(site: Site | undefined, extra: () => void = () => undefined): Promise<void> {
  if (site === undefined) return;
  try {
    await cleanupPrefix(site.prefix);
  } finally {
    try {
      extra();
    } finally {
      for (const f of [`${site.ifA}.pid`, `${site.ifA}.log`]) rmSync(join('/run/wgbgp', f), { force: true });
      rmSync(site.dir, { recursive: true, force: true });
    }
  }
}

// --- observations ----------------------------------------------------------

export interface KernelRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string | number;
}

export function kernelRoutes(ns: string, family: '-4' | '-6', ...filter: string[]): KernelRoute[] {
  const out = execFileSync('ip', ['-n', ns, family, '-j', 'route', 'show', ...filter], { encoding: 'utf8' });
  return JSON.parse(out.trim() || '[]') as KernelRoute[];
}

/**
 * The next hops of the agent's kernel route for `dst` in `ns` (protocol 201),
 * sorted by device: a multipath route's (nexthop group), or its single one.
 */
export function kernelNextHops(ns: string, family: '-4' | '-6', dst: string): { gateway?: string; dev?: string }[] {
  type Hop = { gateway?: string; dev?: string };
  const r = kernelRoutes(ns, family, 'proto', '201').find((x) => x.dst === dst) as (Hop & { nexthops?: Hop[] }) | undefined;
  if (r === undefined) return [];
  return (r.nexthops ?? [r]).map((h) => ({ gateway: h.gateway, dev: h.dev })).sort((x, y) => (x.dev ?? '').localeCompare(y.dev ?? ''));
}

/** A's routes installed by the agent (protocol 201). */
export const agentRoutes = (site: Site, family: '-4' | '-6'): KernelRoute[] => kernelRoutes(site.nsA, family, 'proto', '201');

export function hasRoute(routes: KernelRoute[], dst: string, gateway: string, dev: string): boolean {
  return routes.some((r) => r.dst === dst && r.gateway === gateway && r.dev === dev);
}

export interface NeighborInfo {
  name: string;
  state: string;
  prefixesReceived: number;
  lastError: string | null;
}

export function cli<T>(site: Pick<Site, 'sock'>, ...args: string[]): T {
  const r = spawnSync(process.execPath, [CLI, ...args, '--json', '--socket', site.sock], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    timeout: 5_000,
  });
  // `status` exits 1 when degraded or a neighbor is down (docs/cli.md): its JSON is still the answer.
  if (r.status !== 0 && !(args[0] === 'status' && r.status === 1)) throw new Error(`wgbgp ${args.join(' ')} exited ${String(r.status)}`);
  return JSON.parse(r.stdout) as T;
}

export const neighbors = (site: Site): NeighborInfo[] => cli<NeighborInfo[]>(site, 'neighbors');

/** ping from A, one packet, from a given source address. */
export async function pingFromA(site: Site, from: string, to: string): Promise<boolean> {
  const family = to.includes(':') ? ['-6'] : [];
  const r = await execIn(site.nsA, ['ping', ...family, '-c1', '-W1', '-I', from, to], { check: false });
  return r.code === 0;
}

/** Polls `fn` every 100 ms until it returns something truthy; throws with `what` (and `why()`) on timeout. */
export async function until<T>(
  what: string,
  fn: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 20_000,
  why: () => string = () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      lastError = e instanceof Error ? e.message : String(e);
    }
    if (Date.now() > deadline) {
      const detail = [lastError && `last error: ${lastError}`, why()].filter((s) => s !== '').join('\n');
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail ? `\n${detail}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A neighbor's BFD session Up on both ends with the timers in force (the
 * defaults: 300 ms × 3). Not the same as Up with our transmit interval at
 * 300 ms: that interval applies the moment our session comes Up (a shorter
 * one needs no Final, RFC 5880 §6.8.3), and when it comes Up on the peer's
 * Init the peer still says Init and the 1 s it advertises before Up (our
 * detection time 3 × 1 s) until its answer a round trip later.
 */
export function bfdSettled(b: NeighborBfdJson | null | undefined, txMs = 300, detectMult = 3): boolean {
  return b?.state === 'Up' && b.remoteState === 'Up' && b.txIntervalMs === txMs && b.detectionTimeMs === detectMult * txMs;
}

/** The tail of a log file, for failure messages. */
export function tail(file: string, lines = 30): string {
  try {
    return `--- ${file}\n${readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n')}`;
  } catch {
    return `--- ${file}: (none)`;
  }
}

/** Milestones since creation, printed once at the end ("Established 1.2 s, …"). */
export class Timings {
  private readonly t0 = performance.now();
  private readonly marks: string[] = [];

  mark(what: string): void {
    this.marks.push(`${what} ${((performance.now() - this.t0) / 1000).toFixed(1)} s`);
  }

  /** Runs `fn` and records how long it took. */
  async time<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const t = performance.now();
    const v = await fn();
    this.marks.push(`${what} in ${Math.round(performance.now() - t)} ms`);
    return v;
  }

  print(label: string): void {
    if (this.marks.length > 0) console.log(`${label}: ${this.marks.join(', ')}`);
  }
}

export interface RouteInfo {
  prefix: string;
  source: string;
  neighbor?: string | null;
  asPath?: number[];
  nexthops: { address?: string; interface?: string }[];
  fib: boolean;
}

/** The agent's Loc-RIB entries learned over BGP, sorted by prefix. */
export function learnedRoutes(site: Site): RouteInfo[] {
  return cli<RouteInfo[]>(site, 'routes')
    .filter((r) => r.source === 'bgp')
    .sort((a, b) => a.prefix.localeCompare(b.prefix));
}

/**
 * The IPv6 next hops a peer may use for A's routes: the agent's tunnel address,
 * or the link-local of A's tunnel interface (RFC 2545 allows a second, link-local
 * next hop, and FRR/zebra prefers it when installing).
 */
export function nextHopsOfA(site: Site): string[] {
  const out = execFileSync('ip', ['-n', site.nsA, '-6', '-j', 'addr', 'show', 'dev', site.ifA], { encoding: 'utf8' });
  const links = JSON.parse(out.trim() || '[]') as { addr_info?: { local: string; scope: string }[] }[];
  const lls = links.flatMap((l) => l.addr_info ?? []).filter((a) => a.scope === 'link').map((a) => a.local);
  return [TUN_A.v6, ...lls];
}

/** BIRD's clock text "HH:MM:SS.mmm" (its `timeformat … iso short ms`) in ms of the day; NaN for anything else. */
export function birdTimeMs(text: string): number {
  const m = /^(\d+):(\d+):(\d+(?:\.\d+)?)$/.exec(text);
  return m ? ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 : NaN;
}

/**
 * When BIRD's protocol `name` came up, from `show protocols` ("up HH:MM:SS.mmm
 * Established"), in ms of the day; NaN when it is not up. BIRD prints that
 * moment as real time converted from its monotonic clock at each call, so two
 * reads of an unchanged session may differ by a millisecond or two (seen:
 * .353 then .354): "no reset" is "within a few ms", a reset moves it by seconds.
 */
export function birdUpSince(showProtocols: string, name: string): number {
  const m = new RegExp(`^${name}\\s+BGP\\s+\\S+\\s+up\\s+(\\S+)\\s+Established`, 'm').exec(showProtocols);
  return m ? birdTimeMs(m[1]!) : NaN;
}
