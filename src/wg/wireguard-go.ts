/**
 * The wireguard-go backend: one `wireguard-go -f <if>` process per tunnel,
 * configured over its UAPI socket, with links and addresses set over
 * rtnetlink (LinkOps) in the agent's own namespace.
 *
 * The processes are started detached (own session, not our children's fate):
 * with keep-on-stop (design.md) a tunnel outlives the agent, and the next
 * agent adopts it by its socket and link instead of restarting it.
 */
import { spawn } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { basename, join } from 'node:path';
import type { LinkOps } from '#netlink/types';
import type { Logger } from '#lib/log';
import { canonicalPrefix, formatIp, parseIp } from '#lib/prefix';
import { convergeLink } from './link.js';
import { keyToHex } from './keys.js';
import {
  DEFAULT_RUN_DIR,
  lastHandshake,
  UapiClient,
  UapiConnectError,
  tunnelStatusOf,
  type UapiDevice,
  type UapiLine,
} from './uapi.js';
import type { EnsureResult, TunnelSpec, TunnelStatus, WireguardBackend } from './types.js';

/** The one allowed-IPs set of every peer: routes decide, not cryptokey routing (design.md). */
export const ALLOWED_IPS: readonly string[] = ['0.0.0.0/0', '::/0'];

/**
 * WireGuard sends a handshake at least every ~2 minutes while traffic flows:
 * a younger handshake means the current endpoint works.
 */
const HEALTHY_HANDSHAKE_SEC = 180;

export class WgBackendError extends Error {
  override readonly name: string = 'WgBackendError';
  constructor(
    readonly ifname: string,
    message: string,
  ) {
    super(`${ifname}: ${message}`);
  }
}

/** The name is taken by something that is not our wireguard-go tunnel in this namespace. */
export class WgInterfaceConflictError extends WgBackendError {
  override readonly name = 'WgInterfaceConflictError';
}

/** wireguard-go did not come up (missing binary, exit, or no socket in time). */
export class WgStartError extends WgBackendError {
  override readonly name = 'WgStartError';
}

export interface WireguardGoDeps {
  links: LinkOps;
  log: Logger;
  /** Default 'wireguard-go' (looked up on PATH). */
  binary?: string;
  /** Where wireguard-go puts its UAPI sockets; fixed at its build time. Default /var/run/wireguard. */
  runDir?: string;
  /** Our pid and log files, one pair per interface. Default /run/wgbgp. */
  stateDir?: string;
  /** How long to wait for a new process's socket and link. Default 3000 ms. */
  startTimeoutMs?: number;
}

export interface UapiPlanInput {
  /** spec.endpoint resolved to "ip:port" / "[ip6]:port" (null: none configured, or unresolvable). */
  resolvedEndpoint: string | null;
  /** Unix seconds, for the age of the last handshake. */
  nowSec: number;
}

/** "ip:port" / "[ip6]:port" in wireguard-go's own spelling, or null when unreadable. */
export function normalizeEndpoint(s: string): string | null {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(s) ?? /^([^:]+):(\d{1,5})$/.exec(s);
  if (!m) return null;
  const host = m[1]!;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return null;
  const pct = host.indexOf('%');
  const ip = parseIp(pct < 0 ? host : host.slice(0, pct));
  if (!ip) return null;
  if (ip.family === 4) return pct < 0 ? `${formatIp(ip.bytes)}:${port}` : null;
  return `[${formatIp(ip.bytes)}${pct < 0 ? '' : host.slice(pct)}]:${port}`;
}

function sameAllowedIps(have: readonly string[]): boolean {
  const canon = new Set(have.map((p) => canonicalPrefix(p) ?? p));
  return have.length === ALLOWED_IPS.length && ALLOWED_IPS.every((p) => canon.has(p));
}

function allowedIpLines(): UapiLine[] {
  return [['replace_allowed_ips', 'true'], ...ALLOWED_IPS.map((p): UapiLine => ['allowed_ip', p])];
}

/**
 * The UAPI `set` lines that bring `dev` to `spec`, and nothing else (an empty
 * list means the device already matches). The endpoint is the delicate part:
 * a peer learns its peer's address from authenticated packets (roaming), so
 * the configured endpoint is written only when the peer is (re)created, when
 * the configured endpoint changed since `previous`, when the device knows no
 * endpoint at all, or, with no `previous` (adopting after a restart), when the
 * current endpoint shows no recent handshake.
 */
export function uapiChanges(
  dev: UapiDevice,
  spec: TunnelSpec,
  previous: TunnelSpec | null,
  input: UapiPlanInput,
): UapiLine[] {
  const lines: UapiLine[] = [];
  const privHex = keyToHex(spec.privateKey);
  if (dev.privateKey !== privHex) lines.push(['private_key', privHex]);
  if (spec.listenPort !== null && dev.listenPort !== spec.listenPort) {
    lines.push(['listen_port', String(spec.listenPort)]);
  }
  const peerHex = keyToHex(spec.peerPublicKey);
  const existing = dev.peers.find((p) => p.publicKey === peerHex) ?? null;

  if (existing === null) {
    if (dev.peers.length > 0) lines.push(['replace_peers', 'true']);
    lines.push(['public_key', peerHex]);
    const endpoint = swappedEndpoint(dev, spec, previous, input) ?? input.resolvedEndpoint;
    if (endpoint !== null) lines.push(['endpoint', endpoint]);
    lines.push(['persistent_keepalive_interval', String(spec.persistentKeepalive)]);
    lines.push(...allowedIpLines());
    return lines;
  }

  // Exactly one peer per interface: drop strays one by one so the kept peer
  // keeps its session and its roamed endpoint.
  for (const p of dev.peers) {
    if (p.publicKey !== peerHex) lines.push(['public_key', p.publicKey], ['remove', 'true']);
  }
  const peerLines: UapiLine[] = [];
  if (input.resolvedEndpoint !== null) {
    const current = existing.endpoint === null ? null : normalizeEndpoint(existing.endpoint) ?? existing.endpoint;
    if (current !== input.resolvedEndpoint) {
      const configuredChanged = previous !== null && previous.endpoint !== spec.endpoint;
      const handshake = lastHandshake(existing);
      const stale = handshake === null || input.nowSec - handshake.getTime() / 1000 > HEALTHY_HANDSHAKE_SEC;
      if (configuredChanged || current === null || (previous === null && stale)) {
        peerLines.push(['endpoint', input.resolvedEndpoint]);
      }
    }
  }
  if (existing.persistentKeepaliveInterval !== spec.persistentKeepalive) {
    peerLines.push(['persistent_keepalive_interval', String(spec.persistentKeepalive)]);
  }
  if (!sameAllowedIps(existing.allowedIps)) peerLines.push(...allowedIpLines());
  if (peerLines.length > 0) lines.push(['public_key', peerHex], ['update_only', 'true'], ...peerLines);
  return lines;
}

/**
 * The neighbor's key changed (issue 12: key rotation): the one peer there is
 * gives way to the new key, and its current endpoint carries over to it where
 * that is the better guess: nothing is configured (remote-access server: the
 * endpoint was learned), or it had a handshake recently (it works). A
 * configured endpoint that changed in the same reload wins.
 */
function swappedEndpoint(dev: UapiDevice, spec: TunnelSpec, previous: TunnelSpec | null, input: UapiPlanInput): string | null {
  const old = dev.peers.length === 1 ? dev.peers[0]! : null;
  if (old === null || old.endpoint === null) return null;
  if (previous !== null && previous.endpoint !== spec.endpoint) return null;
  const handshake = lastHandshake(old);
  const live = handshake !== null && input.nowSec - handshake.getTime() / 1000 <= HEALTHY_HANDSHAKE_SEC;
  return input.resolvedEndpoint === null || live ? (normalizeEndpoint(old.endpoint) ?? old.endpoint) : null;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Whether `pid` runs. A process that outlived its parent agent is reaped by
 * whoever adopted it, maybe late: a zombie counts as gone.
 */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * wireguard-go takes one inotify instance per tunnel (it watches its UAPI
 * socket file), and the kernel allows a user fs.inotify.max_user_instances
 * of them, 128 by default, across all namespaces: the 128th tunnel on a host
 * fails with "too many open files" (seen at 100 neighbors against 100 more
 * wireguard-go tunnels on the same host). Said plainly, with the fix.
 */
export async function inotifyHint(log: string): Promise<string> {
  if (!/uapi socket: too many open files/i.test(log)) return '';
  const now = (await readFile('/proc/sys/fs/inotify/max_user_instances', 'utf8').catch(() => '?')).trim();
  return ` (each wireguard-go tunnel takes one inotify instance and fs.inotify.max_user_instances is ${now}: raise it, e.g. sysctl -w fs.inotify.max_user_instances=1024; docs/operations.md)`;
}

export class WireguardGoBackend implements WireguardBackend {
  readonly kind = 'wireguard-go' as const;
  private readonly links: LinkOps;
  private readonly log: Logger;
  private readonly binary: string;
  private readonly stateDir: string;
  private readonly startTimeoutMs: number;
  private readonly uapi: UapiClient;
  /** Per-interface queue: ensure/remove of one tunnel never interleave. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(deps: WireguardGoDeps) {
    this.links = deps.links;
    this.log = deps.log;
    this.binary = deps.binary ?? 'wireguard-go';
    this.stateDir = deps.stateDir ?? '/run/wgbgp';
    this.startTimeoutMs = deps.startTimeoutMs ?? 3000;
    this.uapi = new UapiClient({ runDir: deps.runDir ?? DEFAULT_RUN_DIR });
  }

  async list(): Promise<string[]> {
    let entries: string[];
    try {
      entries = await readdir(this.uapi.runDir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const out: string[] = [];
    // The socket directory is shared by every namespace: a socket is ours only
    // when its link is here.
    for (const f of entries.sort()) {
      if (!f.endsWith('.sock')) continue;
      const name = f.slice(0, -'.sock'.length);
      if ((await this.links.link(name)) !== null) out.push(name);
    }
    return out;
  }

  ensure(spec: TunnelSpec, previous: TunnelSpec | null): Promise<EnsureResult> {
    return this.serialized(spec.interface, () => this.ensureNow(spec, previous));
  }

  remove(ifname: string): Promise<void> {
    return this.serialized(ifname, () => this.removeNow(ifname));
  }

  async status(spec: TunnelSpec): Promise<TunnelStatus | null> {
    const link = await this.links.link(spec.interface);
    if (link === null) return null;
    let dev: UapiDevice;
    try {
      dev = await this.uapi.get(spec.interface);
    } catch (e) {
      if (e instanceof UapiConnectError) return null;
      throw e;
    }
    return tunnelStatusOf(spec, dev, link.up);
  }

  /** Keep-on-stop: the processes run on without us, and nothing else is held open. */
  async close(): Promise<void> {}

  /** PID of the wireguard-go process we started for `ifname`, when it still runs. */
  async pid(ifname: string): Promise<number | null> {
    let text: string;
    try {
      text = await readFile(this.pidPath(ifname), 'utf8');
    } catch {
      return null;
    }
    const pid = Number(text.trim());
    if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return null;
    // A recycled PID must not be taken for our process.
    try {
      const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
      if (!basename(argv[0] ?? '').includes(basename(this.binary)) || !argv.includes(ifname)) return null;
    } catch {
      return null;
    }
    return pid;
  }

  private pidPath(ifname: string): string {
    return join(this.stateDir, `${ifname}.pid`);
  }

  private logPath(ifname: string): string {
    return join(this.stateDir, `${ifname}.log`);
  }

  private serialized<T>(ifname: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(ifname) ?? Promise.resolve();
    const next = prev.then(fn);
    const tail = next.catch(() => undefined);
    this.queues.set(ifname, tail);
    void tail.then(() => {
      if (this.queues.get(ifname) === tail) this.queues.delete(ifname);
    });
    return next;
  }

  /**
   * Reads the live device, or null when there is none to adopt. Throws when the
   * name is in use by something we must not touch.
   */
  private async probe(ifname: string): Promise<UapiDevice | null> {
    const link = await this.links.link(ifname);
    const sock = this.uapi.socketPath(ifname);
    if (await exists(sock)) {
      try {
        const dev = await this.uapi.get(ifname);
        if (link === null) {
          throw new WgInterfaceConflictError(ifname, `a live wireguard-go socket ${sock} exists, but its link is in another network namespace`);
        }
        return dev;
      } catch (e) {
        if (!(e instanceof UapiConnectError)) throw e;
        // Nobody listens: left behind by a killed process.
        this.log.warn({ interface: ifname }, 'removing a stale wireguard-go socket');
        await unlink(sock).catch(() => undefined);
      }
    }
    if (link !== null) {
      throw new WgInterfaceConflictError(ifname, 'a link with this name exists but no wireguard-go serves it');
    }
    return null;
  }

  private async ensureNow(spec: TunnelSpec, previous: TunnelSpec | null): Promise<EnsureResult> {
    const ifname = spec.interface;
    let dev = await this.probe(ifname);
    const created = dev === null;
    if (dev === null) {
      await this.start(ifname);
      dev = await this.uapi.get(ifname);
    }

    const resolvedEndpoint = spec.endpoint === null ? null : await this.resolveEndpoint(ifname, spec.endpoint);
    const lines = uapiChanges(dev, spec, previous, { resolvedEndpoint, nowSec: Date.now() / 1000 });
    if (lines.length > 0) {
      await this.uapi.set(ifname, lines);
      // Only the keys: values include the private key.
      this.log.info({ interface: ifname, keys: [...new Set(lines.map(([k]) => k))] }, 'wireguard-go configured');
    }

    const linkChanged = await convergeLink(this.links, spec, this.log);
    if (created) {
      this.log.info({ interface: ifname, neighbor: spec.name }, 'tunnel created');
      return 'created';
    }
    return lines.length > 0 || linkChanged ? 'updated' : 'unchanged';
  }

  private async resolveEndpoint(ifname: string, endpoint: string): Promise<string | null> {
    const direct = normalizeEndpoint(endpoint);
    if (direct !== null) return direct;
    const m = /^([^:[\]]+):(\d{1,5})$/.exec(endpoint);
    if (m && isIP(m[1]!) === 0) {
      try {
        const { address, family } = await lookup(m[1]!);
        return normalizeEndpoint(family === 6 ? `[${address}]:${m[2]}` : `${address}:${m[2]}`);
      } catch (e) {
        this.log.warn({ interface: ifname, endpoint, err: (e as Error).message }, 'cannot resolve the endpoint; the peer may still connect to us');
        return null;
      }
    }
    this.log.warn({ interface: ifname, endpoint }, 'unreadable endpoint ignored');
    return null;
  }

  /** Starts `wireguard-go -f <if>` in its own session and waits for its link and socket. */
  private async start(ifname: string): Promise<void> {
    await mkdir(this.stateDir, { recursive: true });
    const logFd = openSync(this.logPath(ifname), 'a');
    let failure: string | null = null;
    let pid: number | undefined;
    try {
      const child = spawn(this.binary, ['-f', ifname], { detached: true, stdio: ['ignore', logFd, logFd] });
      child.on('error', (e) => {
        failure = `cannot run ${this.binary}: ${e.message}`;
      });
      child.on('exit', (code, signal) => {
        failure ??= `${this.binary} exited (${signal ?? `code ${code}`})`;
      });
      child.unref();
      pid = child.pid;
    } finally {
      closeSync(logFd);
    }
    if (pid !== undefined) await writeFile(this.pidPath(ifname), `${pid}\n`);
    this.log.info({ interface: ifname, wireguardGoPid: pid, log: this.logPath(ifname) }, 'wireguard-go started');

    const deadline = Date.now() + this.startTimeoutMs;
    for (;;) {
      if (failure !== null) throw new WgStartError(ifname, `${failure}${await this.logTail(ifname)}`);
      // The socket file appears at bind(), before wireguard-go listens: only a
      // request that is answered says it is ready (a configure straight after
      // the file showed up was refused with ECONNREFUSED, and the tunnel stayed down).
      if ((await this.answers(ifname)) && (await this.links.link(ifname)) !== null) return;
      if (Date.now() > deadline) break;
      await sleep(25);
    }
    if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGTERM');
    throw new WgStartError(ifname, `no UAPI socket and link within ${this.startTimeoutMs} ms${await this.logTail(ifname)}`);
  }

  /** Whether wireguard-go answers a UAPI request for `ifname` (false while its socket refuses or is missing). */
  private async answers(ifname: string): Promise<boolean> {
    try {
      await this.uapi.get(ifname);
      return true;
    } catch (err) {
      if (err instanceof UapiConnectError) return false;
      throw err;
    }
  }

  private async logTail(ifname: string): Promise<string> {
    try {
      const text = (await readFile(this.logPath(ifname), 'utf8')).trim();
      return text ? `: ${text.slice(-400)}${await inotifyHint(text)}` : '';
    } catch {
      return '';
    }
  }

  private async removeNow(ifname: string): Promise<void> {
    const pid = await this.pid(ifname);
    const sock = this.uapi.socketPath(ifname);
    if ((await this.links.link(ifname)) !== null) {
      // wireguard-go exits, and removes its socket, when its link goes.
      await this.links.linkDelete(ifname);
    } else if (await exists(sock)) {
      try {
        await this.uapi.get(ifname);
        // A live socket without a link here belongs to another namespace.
        this.log.warn({ interface: ifname }, 'not removing: the tunnel lives in another network namespace');
        return;
      } catch (e) {
        if (!(e instanceof UapiConnectError)) throw e;
      }
    }

    const gone = async (): Promise<boolean> => (pid === null || !alive(pid)) && !(await exists(sock));
    if (!(await this.waitFor(gone, 2000)) && pid !== null && alive(pid)) {
      this.log.warn({ interface: ifname, wireguardGoPid: pid }, 'wireguard-go outlived its link; terminating it');
      process.kill(pid, 'SIGTERM');
      if (!(await this.waitFor(async () => !alive(pid), 1000))) process.kill(pid, 'SIGKILL');
    }
    if (await exists(sock)) {
      try {
        await this.uapi.get(ifname);
      } catch (e) {
        if (e instanceof UapiConnectError) await unlink(sock).catch(() => undefined);
      }
    }
    await unlink(this.pidPath(ifname)).catch(() => undefined);
    this.log.info({ interface: ifname }, 'tunnel removed');
  }

  private async waitFor(cond: () => Promise<boolean>, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    for (;;) {
      if (await cond()) return true;
      if (Date.now() > deadline) return false;
      await sleep(25);
    }
  }
}
