import v8 from 'node:v8';
import { readFile, stat } from 'node:fs/promises';
import { LOG_COMPONENTS, LOG_LEVELS, LogLevels, createLogger, initialLogLevel, isLogComponent, isLogLevel, type Logger } from '#lib/log';
import { SystemClock } from '#lib/clock';
import type { Config, OspfConfig } from '#config/types';
import { resolveWireguardBackend } from '#config/backend';
import { loadConfigApart } from '#config/load-worker';
import { Rtnetlink } from '#netlink/index';
import { decodeKey, publicKeyOf } from '#wg/keys';
import { WireguardGoBackend } from '#wg/wireguard-go';
import { kernelWireguardPresent } from '#wg/kernel-present';
import { LinuxFib } from '#fib/linux';
import { NullFib } from '#fib/null';
import type { FibBackend } from '#fib/types';
import type { WireguardBackend } from '#wg/types';
import { ControlServer, type ControlAccess } from '#api/server';
import { resolveGroup } from '#api/peercred';
import { Agent, type DataplaneHealth } from './agent.js';
import { fibTagFile, managedInterfacesFile, pinsFile } from './managed.js';
import { SystemdNotifier } from './sd-notify.js';
import type { OspfBridge } from '#ospf/bridge';
import type { ControlHandler, ReloadJson, StatusJson } from '#api/types';
import { errorText } from '#lib/error-text';

export { Agent } from './agent.js';
export type { AgentDeps } from './agent.js';

export interface AgentOptions {
  configPath: string;
}

/** A start-up failure the operator can act on: printed as one line, exit code 1. */
export class AgentStartError extends Error {}

async function readPrivateKey(file: string): Promise<Uint8Array> {
  let text: string;
  try {
    // A key others can read is a key others may have (like ssh's "UNPROTECTED PRIVATE KEY FILE").
    const mode = (await stat(file)).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new AgentStartError(
        `wireguard.private-key-file: ${file} is accessible by group or others (mode ${mode.toString(8).padStart(4, '0')}); chmod 600 it`,
      );
    }
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof AgentStartError) throw err;
    throw new AgentStartError(`wireguard.private-key-file: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    return decodeKey(text.trim());
  } catch {
    throw new AgentStartError(`wireguard.private-key-file: ${file} does not hold a base64 WireGuard key`);
  }
}

interface Dataplane {
  wireguard: WireguardBackend;
  fib: FibBackend;
  health?: () => DataplaneHealth;
  onReset?: (cb: () => void) => () => void;
  onLost?: (cb: () => void) => () => void;
  /** The interfaces of the agent's namespace (index → name for the OSPF bridge); absent: none to ask. */
  links?: () => Promise<{ index: number; name: string }[]>;
  /** VPP with linux-cp and OSPF: the kernel of the agent's namespace, for the BGP → OSPF mirror. */
  kernel?: FibBackend;
  /** VPP: the API connection's state and counters (metrics). */
  vpp?: () => { connected: boolean; errors: number; timeouts: number; connects: number };
  close: () => Promise<void>;
}

/**
 * VPP: tunnels and FIB through the binary API. The agent runs in the namespace
 * of the linux-cp host interfaces (design.md), so its own netlink socket reaches
 * them. The connection retries with back-off: the agent starts before VPP does.
 */
async function vppDataplane(config: Config, log: Logger, clock: SystemClock): Promise<Dataplane> {
  // Loaded only here: the client, its message tables and the VPP backends are of no use to a Linux dataplane.
  const [{ VppConnection }, { VppDataplane, VPP_OPTIONAL_MESSAGES, VPP_REQUIRED_MESSAGES }] = await Promise.all([import('#vpp/connection'), import('#vpp/dataplane')]);
  const vpp = config.dataplane.vpp;
  const hostLinks = vpp.linuxCp ? await Rtnetlink.open() : null;
  const connection = new VppConnection({
    socketPath: vpp.apiSocket,
    clientName: 'wgbgp',
    log: log.child({ component: 'vpp' }),
    required: VPP_REQUIRED_MESSAGES,
    optional: VPP_OPTIONAL_MESSAGES,
    clock,
  });
  const dp = new VppDataplane({
    connection,
    log: log.child({ component: 'vpp' }),
    linuxCp: vpp.linuxCp,
    linuxCpNetns: vpp.linuxCpNetns,
    tableId: vpp.tableId,
    hostLinks,
  });
  dp.start();
  return {
    wireguard: dp.wireguard,
    fib: dp.fib,
    // BGP → OSPF: BGP's routes mirrored into this namespace's kernel for ospfd (src/agent/kernel-mirror.ts).
    ...(hostLinks && config.ospf !== null
      ? {
          // The mirror exists for zebra, which (FRR 8.4) does not read kernel routes naming a nexthop object.
          kernel: new LinuxFib(hostLinks, config.dataplane.linux, { log: log.child({ component: 'fib', fib: 'kernel-mirror' }), nexthopObjects: false }),
        }
      : {}),
    health: () => dp.health(),
    onReset: (cb) => dp.onReset(cb),
    onLost: (cb) => connection.onDisconnected(() => cb()),
    ...(hostLinks ? { links: () => hostLinks.links() } : {}),
    vpp: () => ({ connected: connection.state === 'connected', ...connection.counters }),
    close: async () => {
      await dp.close();
      await hostLinks?.close();
    },
  };
}

/** The kernel's WireGuard over generic netlink, loaded only when the tunnels are the kernel's. */
async function kernelWireguard(links: Rtnetlink, log: Logger): Promise<WireguardBackend> {
  const { KernelWireguard, WgGenl, genlSocket } = await import('#wg/kernel');
  return new KernelWireguard({ links, genl: new WgGenl(genlSocket()), log });
}

async function dataplane(config: Config, log: Logger, clock: SystemClock): Promise<Dataplane> {
  // design.md: `auto` is the kernel's WireGuard where the module is there, else wireguard-go (off VPP).
  const wgKind = resolveWireguardBackend(config, kernelWireguardPresent());
  if (wgKind === 'vpp' || config.dataplane.fib === 'vpp') {
    if (wgKind !== 'vpp' || config.dataplane.fib !== 'vpp') {
      throw new AgentStartError(
        'dataplane: VPP drives both the tunnels and the FIB here; set dataplane.wireguard and dataplane.fib to vpp together',
      );
    }
    return vppDataplane(config, log, clock);
  }
  if (wgKind === 'kernel' && !kernelWireguardPresent()) {
    throw new AgentStartError('dataplane.wireguard: kernel, but this kernel has no WireGuard (/sys/module/wireguard is missing: modprobe wireguard, or use wireguard-go or auto)');
  }
  const nl = await Rtnetlink.open();
  const wgLog = log.child({ component: 'wireguard' });
  const wireguard = wgKind === 'kernel' ? await kernelWireguard(nl, wgLog) : new WireguardGoBackend({ links: nl, log: wgLog });
  const fib =
    config.dataplane.fib === 'none'
      ? new NullFib()
      : new LinuxFib(nl, config.dataplane.linux, {
          log: log.child({ component: 'fib' }),
          // With the OSPF bridge zebra must see our routes (redistribute kernel), and FRR 8.4's zebra
          // drops kernel routes that name a nexthop object: they carry their next hops then.
          nexthopObjects: config.ospf === null,
        });
  return { wireguard, fib, links: () => nl.links(), close: () => nl.close() };
}

async function ospfBridge(config: Config, ospf: OspfConfig, log: Logger, clock: SystemClock, dp: Dataplane): Promise<OspfBridge> {
  const [{ OspfBridge }, { FrrDriver }] = await Promise.all([import('#ospf/bridge'), import('#ospf/frr-driver')]);
  return new OspfBridge(ospf, config.neighbors, {
    clock,
    log: log.child({ component: 'ospf' }),
    frr: new FrrDriver({ vtysh: ospf.frr.vtysh, pathspace: ospf.frr.pathspace, log: log.child({ component: 'ospf' }) }),
    links: dp.links ?? (async () => []),
    managed: () => managedInterfacesFile(config.control.socket).read(),
    kernelRoutes: config.dataplane.fib === 'linux' || dp.kernel !== undefined,
  });
}

/**
 * V8 lets the heap grow to several times the live data while a burst of
 * UPDATEs is processed (the allocation rate is high, so it collects rarely):
 * 100 000 routes from one BIRD peer left a live heap of ~35 MB in a 190 MB
 * heap and a 272 MB peak RSS. `--optimize-for-size` keeps the heap near its
 * live size: peak RSS 115 MB in the same bench, with the same CPU time and
 * install times (bench/converge.bench.ts). Set at start, before the tables
 * arrive; NODE_OPTIONS=--no-optimize-for-size takes it back.
 */
function tuneHeap(): void {
  if (process.execArgv.some((a) => a.includes('optimize-for-size')) || (process.env.NODE_OPTIONS ?? '').includes('optimize-for-size')) return;
  v8.setFlagsFromString('--optimize-for-size');
}

/** Runs the daemon until SIGTERM/SIGINT; SIGHUP reloads the configuration. */
export async function runAgent(opts: AgentOptions): Promise<void> {
  tuneHeap();
  const levels = new LogLevels(initialLogLevel());
  const log = createLogger({ name: 'wgbgp', levels });
  try {
    await runAgentWith(opts, log, levels);
  } catch (err) {
    // A failed start is a JSON line too, for the journal's shipper; the CLI then prints it plainly.
    log.fatal({ err: errorText(err) }, 'agent failed to start');
    log.flush?.();
    throw err;
  }
}

/** The control socket's groups by number; a group name unknown here stops the start (or the reload). */
function controlAccess(config: Config): ControlAccess {
  const lookup = (key: string, g: string | number | null): number | null => {
    if (g === null) return null;
    const gid = resolveGroup(g);
    if (gid === null) throw new AgentStartError(`control.${key}: no group ${JSON.stringify(g)} on this host (/etc/group)`);
    return gid;
  };
  return { group: lookup('group', config.control.group), adminGroup: lookup('admin-group', config.control.adminGroup) };
}

async function runAgentWith(opts: AgentOptions, log: Logger, levels: LogLevels): Promise<void> {
  log.info({ config: opts.configPath }, 'starting');
  // Not strict: a missing key file is reported by readPrivateKey with its own words.
  // Parsed and validated on a thread of its own: the parser and the schemas are not kept (load-worker.ts).
  const first = await loadConfigApart(opts.configPath);
  if (!first.ok) {
    throw new AgentStartError(first.errors.join('\n'));
  }
  for (const w of first.warnings) log.warn(w);
  const config = first.config;
  const access = controlAccess(config);
  const privateKey = await readPrivateKey(config.wireguard.privateKeyFile);
  const publicKey = publicKeyOf(Buffer.from(privateKey).toString('base64'));
  const clock = new SystemClock();
  const dp = await dataplane(config, log, clock);

  // The bridge and its FRR driver are loaded only when configured (`ospf` cannot be turned on by a reload, reload.ts).
  const ospf = config.ospf === null ? undefined : await ospfBridge(config, config.ospf, log, clock, dp);
  const agent = new Agent(config, {
    ...(ospf ? { ospf } : {}),
    clock,
    log,
    wireguard: dp.wireguard,
    fib: dp.fib,
    ...(dp.kernel ? { kernelMirror: dp.kernel } : {}),
    ...(dp.health ? { dataplaneHealth: dp.health } : {}),
    ...(dp.onReset ? { onDataplaneReset: dp.onReset } : {}),
    ...(dp.onLost ? { onDataplaneLost: dp.onLost } : {}),
    privateKey,
    publicKey,
    // The file's path cannot change on reload (reload.ts): its content may (own key rotation).
    readPrivateKey: () => readPrivateKey(config.wireguard.privateKeyFile),
    managedInterfaces: managedInterfacesFile(config.control.socket),
    fibTag: fibTagFile(config.control.socket),
    pinRecord: pinsFile(config.control.socket),
    configPath: opts.configPath,
    loadConfig: async () => {
      const r = await loadConfigApart(opts.configPath);
      if (!r.ok) return { ok: false, errors: r.errors };
      try {
        controlAccess(r.config);
      } catch (err) {
        return { ok: false, errors: [`${opts.configPath}: ${errorText(err)}`] };
      }
      return { ok: true, config: r.config };
    },
  });
  const systemd = new SystemdNotifier();
  /** A reload, from SIGHUP or `wgbgp reload`, told to systemd around it. */
  const reload = async (): Promise<ReloadJson> => {
    systemd.reloading();
    try {
      const r = await agent.reload();
      // Checked by loadConfig before the reload was accepted: the groups exist.
      if (r.ok) await control.setAccess(controlAccess(agent.currentConfig));
      return r;
    } finally {
      systemd.ready(statusLine(agent.status()));
    }
  };
  const handler: ControlHandler = {
    status: () => agent.status(),
    neighbors: () => agent.neighbors(),
    routes: (q) => agent.routes(q),
    tunnels: () => agent.tunnels(),
    reload,
    watch: (listener) => agent.telemetry.watch(listener),
    neighborAction: (name, action, message) => agent.neighborAction(name, action, message),
    neighborRefresh: (name, direction) => agent.neighborRefresh(name, direction),
    reloadDryRun: () => agent.reloadDryRun(),
    ...(ospf
      ? {
          ospfNeighbors: async () => {
            const byInterface = new Map(agent.currentConfig.neighbors.map((n) => [n.interface, n.name]));
            return (await ospf.ospfNeighbors()).map((n) => ({ ...n, neighbor: byInterface.get(n.interface) ?? null }));
          },
          ospfRoutes: () => ospf.ospfRoutes(),
        }
      : {}),
    logLevel: (component, level) => {
      if (component !== undefined && !isLogComponent(component)) {
        throw new Error(`unknown component ${JSON.stringify(component)} (expected one of ${LOG_COMPONENTS.join(', ')})`);
      }
      if (level !== undefined && !isLogLevel(level)) {
        throw new Error(`unknown level ${JSON.stringify(level)} (expected one of ${LOG_LEVELS.join(', ')})`);
      }
      if (component !== undefined && level !== undefined) {
        levels.set(component, level);
        log.info({ logComponent: component, newLevel: level }, 'log level changed');
        agent.telemetry.logLevel(component, level);
      }
      return { levels: levels.levels() };
    },
  };
  const control = new ControlServer(handler, { path: config.control.socket, log: log.child({ component: 'control' }), access });
  // prom-client is loaded only with a metrics listener (`metrics.listen` cannot be set by a reload, reload.ts).
  const metrics =
    config.metrics.listen === null
      ? null
      : new (await import('./metrics.js')).MetricsServer(
          {
            status: () => agent.status(),
            neighbors: () => agent.neighbors(),
            tunnelsSeen: () => agent.tunnelsSeen(),
            fibStats: () => agent.fibStats(),
            ...(dp.vpp ? { vpp: dp.vpp } : {}),
            now: () => new Date(),
            bfdStats: () => agent.bfdStats(),
          },
          config.metrics.listen,
          log.child({ component: 'control' }),
        );
  const t0 = performance.now();
  // The control socket first: the operator can ask why while the dataplane is still coming up.
  await control.listen();
  try {
    await metrics?.start();
    await agent.start();
  } catch (err) {
    // Never half started: whatever came up goes down again, and the reason is the exit message.
    await control.close().catch(() => undefined);
    await metrics?.close().catch(() => undefined);
    await agent.stop().catch(() => undefined);
    await dp.close().catch(() => undefined);
    throw new AgentStartError(errorText(err));
  }
  log.info(
    { asn: config.router.asn, routerId: config.router.routerId, neighbors: config.neighbors.length, publicKey, startMs: Math.round(performance.now() - t0) },
    'agent started',
  );
  systemd.ready(statusLine(agent.status()));
  systemd.startWatchdog();
  // STATUS= kept current for `systemctl status`.
  const statusTimer = setInterval(() => systemd.status(statusLine(agent.status())), STATUS_EVERY_MS);
  statusTimer.unref();

  await new Promise<void>((resolve) => {
    // One reload after the other: a SIGHUP during a reload waits for it.
    let reloads = Promise.resolve();
    const onHangup = (): void => {
      reloads = reloads
        .then(reload)
        .then((r) => {
          if (!r.ok) log.error({ errors: r.errors }, 'SIGHUP reload rejected');
        })
        .catch((err: unknown) => log.error({ err: errorText(err) }, 'SIGHUP reload failed'));
    };
    process.on('SIGHUP', onHangup);
    const shutdown = (signal: string): void => {
      log.info({ signal }, 'stopping');
      clearInterval(statusTimer);
      systemd.stopping();
      process.off('SIGHUP', onHangup);
      void (async () => {
        try {
          await control.close();
          await metrics?.close();
          await agent.stop();
          await dp.close();
        } catch (err) {
          log.error({ err: String(err) }, 'error while stopping');
        }
        resolve();
      })();
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
}

const STATUS_EVERY_MS = 5_000;

/** systemd's one-line STATUS=: "1/2 neighbors Established, 812 routes in FIB, dataplane ok". */
export function statusLine(s: StatusJson): string {
  const detail = s.dataplane.state === 'ok' || !s.dataplane.detail ? '' : ` (${s.dataplane.detail})`;
  const ospf = s.ospf ? `, OSPF ${s.ospf.state} (${s.ospf.fpm.routes} routes)` : '';
  return `${s.neighbors.established}/${s.neighbors.total} neighbors Established, ${s.routes.fib} routes in FIB, dataplane ${s.dataplane.state}${detail}${ospf}`;
}
