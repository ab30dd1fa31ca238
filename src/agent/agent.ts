import type { Logger } from '#lib/log';
import type { Clock, TimerHandle } from '#lib/clock';
import type { Config, NeighborBgpConfig, NeighborConfig } from '#config/types';
import type { WireguardBackend, TunnelSpec } from '#wg/types';
import type { FibBackend, LinuxRouteTag } from '#fib/types';
import type { MultipathOptions } from '#bgp/rib/index';
import type {
  ControlHandler,
  NeighborAction,
  NeighborActionJson,
  NeighborJson,
  NeighborRefreshJson,
  ReloadJson,
  ReloadDryRunJson,
  PolicyDryRunJson,
  RouteJson,
  StatusJson,
  TunnelJson,
} from '#api/types';
import { Rib } from '#bgp/rib/index';
import { kernelTcpDrops } from '#bgp/session/index';
import { memoryStatus } from './memory.js';
import { FibManager, type FibCounters } from '#fib/manager';
import { tunnelSpecs, hostRoutes } from '#wg/spec';
import { canonicalPrefix } from '#lib/prefix';
import { neighborAddressing, type AgentState, type Neighbor } from './neighbor.js';
import { endpointAddress } from '#fib/pin';
import { EndpointPins } from './pins.js';
import { withForwarding } from './forwarding.js';
import type { PinRecord } from './managed.js';
import { diffNeighbors, immutableChanges, ownKeyRotated } from './reload.js';
import { announceAttributes, applyPolicyReload, ospfExportFilters, policyChange, policyView, previewPolicies } from './policy.js';
import type { PolicyReloadTarget } from './policy.js';
import { realBgp, sessionConfig, sessionSecurity, type AgentListener, type AgentSession, type BgpFactory } from './bgp.js';
import { dataplaneJson, neighborJson } from './view.js';
import { AgentTelemetry } from './telemetry.js';
import { routesJson, type RouteViewContext } from './routes-view.js';
import { NeighborAdmin } from './admin.js';
import { RouteRefreshes, type RefreshStatus } from './refresh.js';
import type { OspfBridge, OspfRouteUpdate } from '#ospf/bridge';

export { ChangeQueue } from './change-queue.js';
export { realBgp, type AgentListener, type AgentSession, type BgpFactory } from './bgp.js';
import { VERSION } from './version.js';
import { KernelMirror } from './kernel-mirror.js';
import { EndpointNames, systemResolver, type ResolveFn } from './endpoints.js';
import { CEASE_BFD_DOWN, HANDSHAKE_DEAD_AFTER_S, Liveness, type BfdLinkFactory } from './bfd.js';
import type { BfdThreadStats } from '#bfd/service';
import { retuneFib } from './tunnel-mtu.js';
import { readOwnKey } from './own-key.js';
import { eachLimit } from '#lib/pool';
import { ChangeSender, type TableSendContext } from './table-send.js';
import { LongLivedStale } from './long-lived.js';
import { SessionLifecycle } from './session-lifecycle.js';
import { TunnelWatch } from './tunnels.js';
import { PreviousRun } from './previous-run.js';
import { ChangeFlow } from './change-flow.js';
import { FibSelection, coveredHost, learnedNextHopsOf } from './fib-selection.js';
import { errorText } from '#lib/error-text';

/** Tunnels set up at once at start (wireguard-go, kernel). */
const TUNNEL_START_CONCURRENCY = 8;

export interface AgentDeps {
  clock: Clock;
  log: Logger;
  wireguard: WireguardBackend;
  fib: FibBackend;
  privateKey: Uint8Array;
  publicKey: string;
  /**
   * Reads wireguard.private-key-file again (reload): a new key there is our
   * own key rotation, applied to every tunnel. Absent: the key of the start stays.
   */
  readPrivateKey?: () => Promise<Uint8Array>;
  /** The config file, named in reload errors. */
  configPath?: string;
  /** Re-reads and validates the config file (reload). */
  loadConfig: () => Promise<{ ok: true; config: Config } | { ok: false; errors: string[] }>;
  /** Interfaces this agent created before (its record), for removal of neighbors deleted while it was down. */
  managedInterfaces: { read(): Promise<string[]>; write(names: string[]): Promise<void> };
  /** The endpoint routes pinned by the last run (absent: not recorded). */
  pinRecord?: { read(): Promise<PinRecord[]>; write(pins: PinRecord[]): Promise<void> };
  /** The tag our Linux routes carried in the last run (absent: not recorded). */
  fibTag?: { read(): Promise<LinuxRouteTag | null>; write(tag: LinuxRouteTag): Promise<void> };
  bgpPort?: number;
  /** Health of the dataplane beyond FIB write errors (the VPP API connection); absent: always ok. */
  dataplaneHealth?: () => DataplaneHealth;
  /** Registers for dataplane resets (VPP restarted or reconnected): tunnels and routes are rebuilt. */
  onDataplaneReset?: (cb: () => void) => () => void;
  /** Registers for the dataplane going away (the VPP API connection lost): watchers hear it at once. */
  onDataplaneLost?: (cb: () => void) => () => void;
  /** Makes the BGP sessions and the listener; the real ones unless a test injects others. */
  bgp?: BgpFactory;
  /** The OSPF bridge to FRR when `ospf:` is configured (src/ospf-bridge/). */
  ospf?: AgentOspf;
  /**
   * VPP with OSPF: the kernel of the agent's (linux-cp) namespace, where BGP's
   * routes are mirrored for BGP → OSPF (ospf.redistribute-bgp; src/agent/kernel-mirror.ts).
   */
  kernelMirror?: FibBackend;
  /** Looks up endpoints given as DNS names (src/agent/endpoints.ts); the system resolver unless a test injects one. */
  resolve?: ResolveFn;
  /** BFD sessions (src/bfd/); the real ones (a worker thread) by default. */
  bfd?: BfdLinkFactory;
}

/** What the agent uses of the OSPF bridge (OspfBridge). */
export type AgentOspf = Pick<
  OspfBridge,
  'start' | 'reconfigure' | 'onRoutes' | 'route' | 'routes' | 'routeCount' | 'internal' | 'knows' | 'isConnected' | 'status' | 'close' | 'ospfNeighbors' | 'ospfRoutes'
>;

export interface DataplaneHealth {
  state: 'ok' | 'degraded' | 'down';
  detail: string | null;
  vppVersion: string | null;
}

/** Seconds after start at which owned routes nobody re-announced are removed at the latest. */
const STALE_SWEEP_DEADLINE_MS = 60_000;
const TUNNEL_POLL_MS = 2_000;
/** After a change of the underlay's routes: a burst (a link going down takes many) is one re-resolution. */
const REPIN_DEBOUNCE_MS = 500;
/**
 * The longest the stop waits for the FIB writes in flight (flushes, a PIC
 * failover or restore) before it goes on without them: a hung dataplane must
 * not hold the process past systemd's stop timeout (TimeoutStopSec, 90 s by
 * default), after which it is killed without a word.
 */
export const FIB_DRAIN_MS = 30_000;


/**
 * The composition root: one event loop step turns inputs (session events,
 * timers, reload) into RIB changes, and the changes into FIB writes and
 * UPDATEs. The RIB and FIB reconcile logic are pure; this class does the I/O.
 */
export class Agent implements ControlHandler {
  private config: Config;
  private readonly rib: Rib;
  private readonly fibm: FibManager;
  /** Routes carry their backup's next hops, and a dead tunnel's routes move to them at once (FibBackend.failover). */
  private readonly pic: boolean;
  /** VPP: BGP's routes in the namespace's kernel for ospfd (null: not VPP with OSPF). */
  private readonly mirror: KernelMirror | null;
  private readonly listener: AgentListener;
  private readonly bgp: BgpFactory;
  private readonly peers = new Map<string, Neighbor>();
  /** What the parts beside the agent read of it (neighbor.ts AgentState). */
  private readonly state: AgentState = {
    neighbor: (name) => this.peers.get(name),
    neighbors: () => this.peers.values(),
    config: () => this.config,
    stopping: () => this.stopping,
  };
  /** The recursion guard's pinned endpoint routes. */
  private readonly pins: EndpointPins;
  /**
   * Tunnel host prefixes that get no host route (see coveredHost): no learned
   * route may take them either.
   */
  private readonly reservedHosts = new Set<string>();
  private unsubscribeOspf: (() => void) | null = null;
  /** Endpoints given as DNS names: resolved, retried, re-resolved (src/agent/endpoints.ts). */
  private readonly endpoints: EndpointNames;
  private pollTimer: TimerHandle | null = null;
  private deadlineTimer: TimerHandle | null = null;
  private unsubscribeReset: (() => void) | null = null;
  private unsubscribeLost: (() => void) | null = null;
  private unwatchUnderlay: (() => void) | null = null;
  private repinTimer: TimerHandle | null = null;
  /** reload, dataplane resync and stop run one at a time, in the order asked. */
  private operations: Promise<unknown> = Promise.resolve();
  private readonly startedAt: number;
  private dataplaneDetail: string | null = null;
  private stopping = false;
  /** BFD and handshake age (src/agent/bfd.ts). */
  private readonly liveness: Liveness;

  /** Ours: from the start, then from each reload (own key rotation). */
  private privateKey: Uint8Array;
  private publicKey: string;

  constructor(config: Config, private readonly deps: AgentDeps) {
    this.privateKey = deps.privateKey;
    this.publicKey = deps.publicKey;
    this.config = config;
    this.startedAt = deps.clock.now();
    // PIC: the FIB holds each route's backup where it can move routes to it at once (Linux nexthop objects;
    // not with OSPF, where zebra must see plain kernel routes).
    this.pic = deps.fib.failover !== undefined && config.ospf === null;
    this.rib = new Rib({ asn: config.router.asn, routerId: config.router.routerId, backups: this.pic, multipath: multipathOptions(config) });
    this.buildOspfExport(config);
    // One number per prefix for the RIB's columns and the FIB's: the text is interned once.
    this.fibm = new FibManager(deps.fib, this.rib.prefixes);
    this.mirror = deps.kernelMirror ? new KernelMirror(deps.kernelMirror, config.ospf?.redistributeBgp === true) : null;
    this.selection = new FibSelection({
      rib: this.rib,
      fibm: this.fibm,
      mirror: this.mirror,
      ospf: deps.ospf,
      pic: this.pic,
      ...this.state,
      reservedHosts: this.reservedHosts,
    });
    this.bgp = deps.bgp ?? realBgp;
    // One child per component, so `wgbgp log-level bgp debug` reaches the sessions and nothing else.
    this.log = deps.log.child({ component: 'agent' });
    this.bgpLog = deps.log.child({ component: 'bgp' });
    this.fibLog = deps.log.child({ component: 'fib' });
    this.endpoints = new EndpointNames({ clock: deps.clock, log: this.log, resolve: deps.resolve ?? systemResolver });
    this.telemetry = new AgentTelemetry(deps.clock, () => ({ rib: this.rib.size, fib: this.fibm.size, pending: this.flow.fibPending() }));
    this.pins = new EndpointPins(deps.fib, this.fibm, this.fibLog, () => this.flow.kick(), deps.pinRecord ?? null);
    this.listener = this.bgp.listener({ log: this.bgpLog, clock: deps.clock }, { port: deps.bgpPort ?? 179 });
    this.admin = new NeighborAdmin({
      clock: deps.clock,
      log: this.bgpLog,
      session: (name) => this.peers.get(name)?.session ?? null,
      bgp: (name) => this.config.neighbors.find((n) => n.name === name)?.bgp ?? null,
      accepted: (name, afi) => this.rib.acceptedCount(name, afi),
    });
    this.refresh = new RouteRefreshes({
      clock: deps.clock,
      log: this.bgpLog,
      session: (name) => {
        const n = this.peers.get(name);
        return n?.negotiated && n.session ? n.session : null;
      },
      exportDeferred: (name) => this.peers.get(name)?.exportDeferred ?? false,
      rib: this.rib,
      queue: (changes) => this.flow.queue(changes),
      defer: (fn) => {
        if (!this.stopping) setImmediate(fn);
      },
    });
    this.changeSender = new ChangeSender(this.tableSendCtx, this.rib);
    this.flow = new ChangeFlow({
      rib: this.rib,
      selection: this.selection,
      fibm: this.fibm,
      mirror: this.mirror,
      changeSender: this.changeSender,
      clock: deps.clock,
      fibLog: this.fibLog,
      telemetry: this.telemetry,
      ...this.state,
      failed: (detail) => {
        this.dataplaneDetail = detail;
      },
      flushed: () => this.noteDataplane(),
    });
    this.longLived = new LongLivedStale({
      rib: this.rib,
      clock: deps.clock,
      log: this.bgpLog,
      queue: (changes) => this.flow.queue(changes),
      withdraw: (name) => {
        const n = this.peers.get(name);
        if (n) this.lifecycle.withdrawAfterFailover(n);
      },
      away: (name) => (this.peers.get(name)?.negotiated ?? null) === null,
    });
    this.lifecycle = new SessionLifecycle({
      rib: this.rib,
      fibm: this.fibm,
      clock: deps.clock,
      log: this.log,
      fibLog: this.fibLog,
      pic: this.pic,
      ...this.state,
      queue: (changes) => this.flow.queue(changes),
      advertisesOspf: (name, prefix) => this.ospfExport.get(name)?.(prefix) ?? false,
      endOfRib: () => this.previousRun.maybeSweep(),
      longLived: this.longLived,
      refresh: this.refresh,
      admin: this.admin,
      tableSend: this.tableSendCtx,
      changeSender: this.changeSender,
    });
    this.liveness = new Liveness({
      clock: deps.clock,
      log: deps.log.child({ component: 'bfd' }),
      ...(deps.bfd ? { factory: deps.bfd } : {}),
      onBfdDown: (name, reason) => this.livenessDown(name, `BFD down: ${reason}`, true),
      onHandshakeDead: (name, reason) => this.livenessDown(name, `tunnel dead: ${reason}`, false),
      onBfdChange: (s) => this.telemetry.bfd(s.name, s.change.from, s.change.to, s.change.reason, s.remoteState),
    });
    this.previousRun = new PreviousRun({
      fib: deps.fib,
      fibm: this.fibm,
      mirror: this.mirror,
      fibTag: deps.fibTag,
      log: this.log,
      fibLog: this.fibLog,
      ...this.state,
      flush: () => this.flow.flush(),
      restarting: () => {
        this.lifecycle.restarting = true;
      },
      restarted: () => this.lifecycle.endRestart(),
    });
    this.tunnelWatch = new TunnelWatch({
      wireguard: deps.wireguard,
      clock: deps.clock,
      log: this.log,
      ...this.state,
      endpoints: this.endpoints,
      pins: this.pins,
      liveness: this.liveness,
      telemetry: this.telemetry,
      failed: (detail) => {
        this.dataplaneDetail = detail;
      },
      kick: () => this.flow.kick(),
    });
  }

  private readonly log: Logger;
  private readonly bgpLog: Logger;
  private readonly fibLog: Logger;
  /** What the FIB gets for each prefix (src/agent/fib-selection.ts). */
  private readonly selection: FibSelection;
  /** Events for `wgbgp watch` and the figures the metrics read. */
  readonly telemetry: AgentTelemetry;
  /** `wgbgp neighbor NAME shutdown|enable|reset` and max-prefix (src/agent/admin.ts). */
  private readonly admin: NeighborAdmin;
  /** Route refresh both ways (src/agent/refresh.ts). */
  private readonly refresh: RouteRefreshes;
  /** Loc-RIB changes to the neighbors, paced by each one's socket. */
  private readonly changeSender: ChangeSender;
  /** RFC 9494: neighbors' routes kept long-lived stale after their restart time. */
  private readonly longLived: LongLivedStale;
  /** The forwarding state of the previous run: adopted, retagged, swept (src/agent/previous-run.ts). */
  private readonly previousRun: PreviousRun;
  /** The neighbors' tunnels: setup, retry, status poll (src/agent/tunnels.ts). */
  private readonly tunnelWatch: TunnelWatch;
  /** Loc-RIB changes to the FIB and the neighbors, debounced (src/agent/change-flow.ts). */
  private readonly flow: ChangeFlow;
  /** What a neighbor's session coming up, sending and going down does to the RIB and our table (src/agent/session-lifecycle.ts). */
  private readonly lifecycle: SessionLifecycle;

  async start(): Promise<void> {
    const specs = this.specsFor(this.config);
    await this.removeForgottenTunnels(specs);
    await this.listener.listen();
    await this.previousRun.migrateTag(null, this.config);
    // Tunnels first: on VPP a route is ours by the tunnel it goes through, so the FIB
    // can be adopted only once they are known; and adopted before the first write.
    // Several at a time where each tunnel is its own process or link (100 wireguard-go tunnels: 14 s one
    // by one, most of it waiting for each process's socket); VPP's API takes them one after another.
    await eachLimit(specs, this.deps.wireguard.kind === 'vpp' ? 1 : TUNNEL_START_CONCURRENCY, (spec) => this.tunnelWatch.ensure(spec, null));
    await this.previousRun.adopt();
    await this.pins.removeForgotten(new Set(specs.map((s) => s.name)));
    for (const prefix of this.config.announce) this.flow.queue(this.rib.originate(prefix, 'static', announceAttributes(this.config, prefix)));
    for (const spec of specs) await this.addNeighbor(spec, null, true);
    await this.syncLiveness();
    // Routes an earlier run left get the advmss of their tunnel's MTU, between FIB writes and without
    // holding up the start: it reads our whole table once (a full table: seconds).
    void retuneFib(this.deps.fib, this.fibm, this.fibLog);
    await this.deps.managedInterfaces.write(specs.map((s) => s.interface));
    if (this.deps.ospf) {
      // After the tunnels: FRR configures interfaces that exist.
      this.unsubscribeOspf = this.deps.ospf.onRoutes((u) => this.onOspfRoutes(u));
      await this.deps.ospf.start();
    }

    this.pollLoop(0);
    this.deadlineTimer = this.deps.clock.setTimeout(() => void this.previousRun.sweep('deadline'), STALE_SWEEP_DEADLINE_MS);
    this.unsubscribeReset = this.deps.onDataplaneReset?.(() => void this.serially(() => this.resyncDataplane())) ?? null;
    this.unsubscribeLost = this.deps.onDataplaneLost?.(() => this.noteDataplane()) ?? null;
    // The underlay moved (an operator's or the kernel's route changed): the pins follow it.
    this.unwatchUnderlay = this.deps.fib.watchUnderlay?.(() => this.scheduleRepin()) ?? null;
    this.flow.kick();
  }

  /** One re-resolution of the pins per burst of underlay changes. */
  private scheduleRepin(): void {
    if (this.repinTimer !== null || this.stopping) return;
    this.repinTimer = this.deps.clock.setTimeout(() => {
      this.repinTimer = null;
      void this.pins.refresh(this.tunnelWatch.interfaces());
    }, REPIN_DEBOUNCE_MS);
  }

  /** Runs `fn` after every reload, resync or stop asked before it has finished. */
  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.operations.then(fn, fn);
    this.operations = run.catch(() => undefined);
    return run;
  }

  /** The tunnel poll: the next one is armed when this one is done, so they never overlap. */
  private pollLoop(delay: number): void {
    if (this.stopping) return;
    this.pollTimer = this.deps.clock.setTimeout(() => {
      this.pollTimer = null;
      void this.pollTunnels().finally(() => this.pollLoop(TUNNEL_POLL_MS));
    }, delay);
  }

  /** SIGTERM: Cease to every peer; tunnels and routes stay unless keep-on-stop is off. */
  stop(): Promise<void> {
    return this.serially(() => this.stopNow());
  }

  /**
   * The stop, in this order: no new connections, no timers, no flush after
   * the debounce; the flushes started (by the debounce or the change
   * threshold) settle, the kernel mirror's writes included; the sessions end (Cease,
   * or silently for graceful restart); without keep-on-stop the tunnels and
   * our routes go; then every FIB write still in flight (a PIC failover or
   * restore fired at a session's end or start, a pin's write: all on the
   * FibManager's one chain; the mirror's on its own) is drained, and only then
   * are the tunnel backend (on Linux it shares the FIB's netlink socket) and
   * the FIB backend closed. The waits on the FIB share one bound,
   * FIB_DRAIN_MS from the stop: past it the stop goes on with a warning, and
   * a FIB backend with a write still in flight is not closed under it (the
   * dataplane keeps what it has; the next run reconciles it). VPP: its
   * close() deletes the PIC tables when unused (VppFib.close), which a
   * failover or restore still writing in them would race; its own requests
   * are bounded by the client's timeout.
   */
  private async stopNow(): Promise<void> {
    const drainFrom = this.deps.clock.now();
    const drainUntil = drainFrom + FIB_DRAIN_MS;
    this.stopping = true;
    // First of all: a peer that sees its session end reconnects at once (OpenBGPD within a
    // millisecond of our FIN). Its SYN must find no listener that answers it and then closes
    // under its handshake (listener.ts); refused now, it reaches the next run of the agent.
    this.listener.stopAccepting();
    this.telemetry.close();
    for (const t of [this.pollTimer, this.deadlineTimer, this.repinTimer]) t?.cancel();
    this.pollTimer = this.deadlineTimer = this.repinTimer = null;
    this.flow.cancel();
    this.unwatchUnderlay?.();
    this.unwatchUnderlay = null;
    this.unsubscribeReset?.();
    this.unsubscribeReset = null;
    this.unsubscribeLost?.();
    this.unsubscribeLost = null;
    this.unsubscribeOspf?.();
    this.unsubscribeOspf = null;
    await this.deps.ospf?.close();
    await this.liveness.close();
    let drained = await this.untilDrainBound(this.flow.settled(), drainUntil);
    for (const n of this.peers.values()) this.lifecycle.cancelGracefulTimers(n);
    this.longLived.forgetAll();
    this.admin.close();
    await Promise.all(
      this.sessions().map(({ n, session }) =>
        // keep-on-stop is a restart for the peers: with graceful restart they keep our routes
        // for our restart time (RFC 4724 §4.2), which a Cease would end at once.
        this.config.dataplane.keepOnStop && n.negotiated?.gracefulRestart ? session.stopSilently() : session.stop('agent stopping'),
      ),
    );
    // The sessions are stopped: what completes a handshake answered before the stop is closed by them.
    await this.listener.close();
    if (!this.config.dataplane.keepOnStop) {
      for (const n of this.peers.values()) await this.deps.wireguard.remove(n.spec.interface);
      for (const prefix of [...this.fibm.wantedPrefixes()]) this.fibm.delete(prefix, 'learned');
      for (const n of this.peers.values()) for (const p of hostRoutes(n.spec)) this.fibm.delete(p, 'tunnel');
      await this.pins.clear();
      drained &&= await this.untilDrainBound(this.fibm.flush(), drainUntil);
      await this.mirror?.clear().catch((err: unknown) => this.fibLog.error({ err: errorText(err) }, 'kernel mirror not cleared'));
      await this.deps.managedInterfaces.write([]);
    }
    // Between writes: every write queued on the FibManager's chain before this point is done.
    // Past the bound nothing more is waited for (without keep-on-stop the deletes above are not
    // even started): they would queue behind the write that hangs.
    drained &&= await this.untilDrainBound(
      Promise.all([this.fibm.between(async () => undefined), this.mirror?.between(async () => undefined)]),
      drainUntil,
    );
    if (!drained) {
      this.fibLog.warn(
        { waitedMs: Math.round(this.deps.clock.now() - drainFrom), pending: this.flow.fibPending() },
        'FIB writes still in flight at stop: not waiting longer, the FIB backend is left open under them',
      );
    }
    await this.deps.wireguard.close();
    if (drained) await this.deps.fib.close();
  }

  /** Whether `work` ended (a rejection goes on to the caller) before `until` on the agent's clock. */
  private async untilDrainBound(work: Promise<unknown>, until: number): Promise<boolean> {
    let cancel: () => void = () => undefined;
    const bound = new Promise<false>((resolve) => {
      const t = this.deps.clock.setTimeout(() => resolve(false), Math.max(0, until - this.deps.clock.now()));
      cancel = () => t.cancel();
    });
    try {
      return await Promise.race([work.then(() => true as const), bound]);
    } finally {
      cancel();
    }
  }

  // ---- neighbors --------------------------------------------------------

  private specsFor(config: Config): TunnelSpec[] {
    return tunnelSpecs(config, this.privateKey, this.publicKey);
  }

  /**
   * Tunnels this agent made for neighbors no longer configured (removed while
   * it was down) go; when the dataplane cannot be read yet, this waits for its
   * next reset.
   */
  private async removeForgottenTunnels(specs: TunnelSpec[]): Promise<void> {
    const wanted = new Set(specs.map((s) => s.interface));
    let existing: Set<string>;
    try {
      existing = new Set(await this.deps.wireguard.list());
    } catch (err) {
      this.log.warn({ err: errorText(err) }, 'cannot list tunnels yet');
      return;
    }
    for (const ifname of await this.deps.managedInterfaces.read()) {
      if (!wanted.has(ifname) && existing.has(ifname)) {
        this.log.info({ interface: ifname }, 'removing tunnel of a neighbor no longer configured');
        try {
          await this.deps.wireguard.remove(ifname);
        } catch (err) {
          this.log.error({ interface: ifname, err: errorText(err) }, 'cannot remove tunnel');
        }
      }
    }
  }

  private async addNeighbor(spec: TunnelSpec, previous: TunnelSpec | null = null, ensured = false): Promise<void> {
    const cfg = this.config.neighbors.find((n) => n.name === spec.name);
    if (!cfg) return;
    if (!ensured) await this.tunnelWatch.ensure(spec, previous);
    const addr = neighborAddressing(cfg, spec);
    this.deps.fib.tunnelMtu?.(spec.interface, spec.mtu);
    for (const prefix of hostRoutes(spec)) {
      if (coveredHost(this.config, cfg, prefix)) {
        this.reservedHosts.add(prefix);
        this.selection.setLearned(prefix, this.rib.best(prefix) ?? null);
      } else this.fibm.set({ prefix, nexthops: [{ interface: spec.interface }] }, 'tunnel');
    }
    for (const cidr of cfg.tunnel?.local ?? []) {
      const subnet = canonicalPrefix(cidr);
      if (subnet) this.flow.queue(this.rib.originate(subnet, 'connected'));
    }
    const awaitingHandshake = cfg.endpoint === null;
    const n: Neighbor = {
      cfg,
      spec,
      addr,
      awaitingHandshake,
      negotiated: null,
      eor: new Set(),
      tunnel: null,
      firstHandshakeSeen: null,
      fibNextHops: learnedNextHopsOf(addr, spec.interface),
      restartTimer: null,
      staleTimer: null,
      exportDeferred: false,
      session: null,
      stateSinceWall: null,
    };
    this.peers.set(cfg.name, n);
    await this.pins.pin(cfg.name, endpointAddress(cfg.endpoint), this.tunnelWatch.interfaces());
    if (cfg.bgp !== null) await this.startSession(n, cfg, cfg.bgp, awaitingHandshake);
    this.flow.kick();
  }

  /** The neighbor's BGP session, bound to its tunnel (design.md "Identity"). */
  private async startSession(n: Neighbor, cfg: NeighborConfig, bgp: NeighborBgpConfig, awaitingHandshake: boolean): Promise<void> {
    const addr = n.addr;
    // What binds the session to the tunnel, the same for our connects and the listener.
    const device = this.sessionDevice(cfg);
    const security = sessionSecurity(bgp);
    const session = this.bgp.session(
        sessionConfig({
          config: this.config,
          cfg,
          bgp,
          addr,
          device,
          port: this.deps.bgpPort,
          passive: bgp.passive || awaitingHandshake,
          // F: with keep-on-stop our routes stay in the FIB whenever the agent stops or dies.
          restartState: () => ({ restarting: this.lifecycle.restarting, forwardingState: this.config.dataplane.keepOnStop }),
        }),
        {
          onStateChange: (from, to) => {
            const peer = this.peers.get(cfg.name);
            if (peer) peer.stateSinceWall = this.deps.clock.wallNow();
            this.telemetry.session(cfg.name, from, to, peer?.session?.lastError ?? null);
          },
          onEstablished: (neg) => this.lifecycle.onEstablished(cfg.name, neg),
          onUpdate: (u) => this.lifecycle.onUpdate(cfg.name, u),
          onDown: (reason, how) => this.lifecycle.onDown(cfg.name, reason, how),
          onRouteRefresh: (afi, safi, subtype) => this.refresh.onRouteRefresh(cfg.name, afi, safi, subtype),
        },
        { clock: this.deps.clock, log: this.bgpLog },
      );
    n.session = session;
    n.stateSinceWall = this.deps.clock.wallNow();
    await this.listener.register(session, addr.sessionPeer, { device, localAddress: addr.sessionLocal, ...security });
    if (this.admin.mayStart(cfg.name)) session.start();
  }

  /**
   * Stops the session and withdraws its routes as for any session that ends
   * (SessionLifecycle.withdrawAfterFailover: the FIB's failover of the
   * tunnel first, then the RIB in steps), and waits for that withdrawal; the
   * tunnel goes too unless `keepTunnel` (a changed neighbor converges it),
   * once its routes are flushed, and the FIB forgets it (FibManager.forget).
   */
  private async removeNeighbor(name: string, keepTunnel = false): Promise<void> {
    const n = this.peers.get(name);
    if (!n) return;
    this.peers.delete(name);
    this.tunnelWatch.forget(name);
    this.refresh.forget(name);
    this.changeSender.forget(name);
    this.liveness.forget(name);
    this.lifecycle.cancelGracefulTimers(n);
    this.pins.unpin(name);
    if (n.session !== null) {
      await this.listener.unregister(n.addr.sessionPeer);
      // Its end finds no neighbor (deleted above) and leaves the withdrawal to this.
      await n.session.stop(keepTunnel ? 'neighbor configuration changed' : 'neighbor removed from configuration');
      await this.lifecycle.withdrawAfterFailover(n);
    }
    for (const cidr of n.cfg.tunnel?.local ?? []) {
      const subnet = canonicalPrefix(cidr);
      if (subnet) this.flow.queue(this.rib.withdrawOrigin(subnet, 'connected'));
    }
    if (keepTunnel) return;
    for (const prefix of hostRoutes(n.spec)) {
      this.fibm.delete(prefix, 'tunnel');
      if (this.reservedHosts.delete(prefix)) this.selection.setLearned(prefix, this.rib.best(prefix) ?? null);
    }
    await this.flow.flush();
    this.deps.fib.tunnelMtu?.(n.spec.interface, null);
    this.endpoints.forget(n.cfg.name);
    await this.deps.wireguard.remove(n.spec.interface);
    // After its routes are flushed and the tunnel deleted: no failover state of it stays in the FIB.
    await this.fibm.forget([n.spec.interface]);
  }

  /**
   * A neighbor whose tunnel alone changed (reload.ts `tunnel`): the backend
   * applies it in place (a new public key swaps the peer only), and its
   * session goes on. TCP bridges the moment without a handshake; the session
   * survives as long as the first handshake under the new key comes within
   * its hold time (the peer changes its key at about the same time).
   */
  private async retunnel(spec: TunnelSpec, previous: TunnelSpec | null): Promise<void> {
    const n = this.peers.get(spec.name);
    const cfg = this.config.neighbors.find((c) => c.name === spec.name);
    if (!n || !cfg) return;
    n.cfg = cfg;
    n.spec = spec;
    this.deps.fib.tunnelMtu?.(spec.interface, spec.mtu);
    await this.tunnelWatch.ensure(spec, previous);
  }

  /**
   * The Linux interface a neighbor's session is bound to: its tunnel (the
   * wireguard-go or kernel interface, or on VPP the linux-cp host interface),
   * or with linux-cp off the interface the operator's control path uses.
   */
  private sessionDevice(cfg: NeighborConfig): string {
    const vpp = this.config.dataplane.vpp;
    if (this.config.dataplane.fib === 'vpp' && !vpp.linuxCp && vpp.controlInterface !== null) return vpp.controlInterface;
    return cfg.interface;
  }

  // ---- RIB -> FIB and Adj-RIB-Out ----------------------------------------

  private onOspfRoutes(updates: readonly OspfRouteUpdate[]): void {
    for (const u of updates) this.flow.ospfChanged(u.prefix);
    // OSPF → BGP: internal OSPF routes are offered; each neighbor's advertise-ospf decides (export).
    if (this.deps.ospf && this.config.neighbors.some((n) => n.bgp?.advertiseOspf)) {
      for (const u of updates) this.flow.queue(this.rib.redistribute(u.prefix, u.nexthops !== null && this.deps.ospf.internal(u.prefix)));
    }
    this.flow.kick();
  }

  /** Per neighbor name, which OSPF routes it is sent (bgp.advertise-ospf), for the current config. */
  private ospfExport = new Map<string, (prefix: string) => boolean>();

  private buildOspfExport(config: Config): void {
    this.ospfExport = ospfExportFilters(config, (prefix) => this.deps.ospf?.route(prefix));
  }

  /** Runs after every flush: the dataplane's state alone (status() would read /proc for its kernel drops). */
  private noteDataplane(): void {
    const dp = this.dataplaneStatus();
    this.telemetry.dataplaneState(dp.state, dp.detail);
  }

  private readonly tableSendCtx: TableSendContext = {
    log: { info: (o: object, msg: string) => this.bgpLog.info(o, msg) },
    defer: (fn) => {
      if (!this.stopping) setImmediate(fn);
    },
    now: () => performance.now(),
  };

  // ---- tunnels ----------------------------------------------------------

  private async pollTunnels(): Promise<void> {
    // The VPP connection's health changes without a FIB write: seen here too.
    this.noteDataplane();
    // A tunnel interface that appeared, or was made anew: its neighbor's listener binds to it.
    await this.listener.refresh();
    await this.tunnelWatch.poll();
  }

  /** The BFD sessions of the neighbors now configured (src/agent/bfd.ts). */
  private async syncLiveness(): Promise<void> {
    // A neighbor whose BFD alone changed keeps its Neighbor (and its old cfg): BFD reads the configuration now loaded.
    const current = new Map(this.config.neighbors.map((c) => [c.name, c]));
    const all = [...this.peers.values()].map((n) => {
      const cfg = current.get(n.cfg.name) ?? n.cfg;
      return { cfg, device: this.sessionDevice(cfg), local: n.addr.sessionLocal, remote: n.addr.sessionPeer };
    });
    try {
      await this.liveness.sync(all);
    } catch (err) {
      this.log.error({ err: errorText(err) }, 'BFD sessions not set up');
    }
  }

  /**
   * A dead tunnel (BFD Up -> Down, or a handshake older than
   * HANDSHAKE_DEAD_AFTER_S without BFD) takes the Established session down at
   * once, and with it the routes (the FIB fails over to their backups). BFD
   * sends Cease/BFD Down (RFC 9384) and the session comes back by itself once
   * it can; the handshake signal sends Cease/Administrative Reset with the
   * reason as its communication (RFC 9003).
   */
  private livenessDown(name: string, reason: string, bfd: boolean): void {
    const n = this.peers.get(name);
    if (!n?.session || n.negotiated === null || this.stopping) return;
    this.log.warn({ neighbor: name, reason, ...(bfd ? {} : { after: HANDSHAKE_DEAD_AFTER_S }) }, 'tunnel down: taking the BGP session down');
    const session = n.session;
    if (bfd) {
      void session.cease(CEASE_BFD_DOWN, new Uint8Array(0));
      if (this.admin.mayStart(name)) session.start();
    } else void session.reset(reason);
  }

  /**
   * The dataplane came back without our objects (VPP restarted): every tunnel
   * is ensured again (adopting what survived) and the whole FIB re-sent.
   */
  private async resyncDataplane(): Promise<void> {
    if (this.stopping) return;
    this.log.info({ tunnels: this.peers.size }, 'dataplane reset: rebuilding tunnels and routes');
    this.dataplaneDetail = null;
    const specs = [...this.peers.values()].map((n) => n.spec);
    await this.removeForgottenTunnels(specs);
    for (const n of this.peers.values()) {
      try {
        await this.deps.wireguard.ensure(await this.endpoints.apply(n.spec), null);
      } catch (err) {
        this.dataplaneDetail = `tunnel ${n.spec.interface}: ${errorText(err)}`;
        this.log.error({ neighbor: n.cfg.name, err: errorText(err) }, 'tunnel rebuild failed');
      }
    }
    this.fibm.dataplaneLost();
    await this.flow.flush();
  }

  // ---- reload -----------------------------------------------------------

  reload(): Promise<ReloadJson> {
    return this.serially(async () => {
      const r = await this.reloadNow();
      this.telemetry.reloaded(r);
      return r;
    });
  }

  private async reloadNow(): Promise<ReloadJson> {
    if (this.stopping) return { ok: false, errors: ['the agent is stopping'], added: [], removed: [], changed: [] };
    const loaded = await this.deps.loadConfig();
    if (!loaded.ok) {
      this.log.warn({ errors: loaded.errors }, 'reload rejected: configuration invalid, nothing changed');
      return { ok: false, errors: loaded.errors, added: [], removed: [], changed: [] };
    }
    const next = loaded.config;
    const immutable = immutableChanges(this.config, next);
    if (immutable.length > 0) {
      const file = this.deps.configPath !== undefined ? `${this.deps.configPath}: ` : '';
      const errors = immutable.map((k) => `${file}${k}: cannot change on reload; restart the agent`);
      return { ok: false, errors, added: [], removed: [], changed: [] };
    }
    const key = await readOwnKey(this.deps.readPrivateKey, this.privateKey);
    if (!key.ok) return { ok: false, errors: [key.error], added: [], removed: [], changed: [] };
    const prevSpecs = new Map(this.specsFor(this.config).map((s) => [s.name, s]));
    const diff = diffNeighbors(this.config, next);
    if (key.rotated) {
      this.privateKey = key.privateKey;
      this.publicKey = key.publicKey;
      ownKeyRotated(diff, next);
      this.log.info({ publicKey: key.publicKey, tunnels: next.neighbors.length }, 'own private key changed: every tunnel takes the new key');
    }
    const nextSpecs = this.specsFor(next);
    const prevAnnounce = new Set(this.config.announce);
    const prev = this.config;
    this.config = next;
    this.buildOspfExport(next);
    await this.previousRun.migrateTag(prev, next);
    // Multipath switched or changed: the prefixes with several candidates are decided again (no reset).
    this.flow.queue(this.rib.setMultipath(multipathOptions(next)));

    for (const name of [...diff.removed, ...diff.changed]) await this.removeNeighbor(name, diff.changed.includes(name));
    for (const spec of nextSpecs) {
      if (diff.added.includes(spec.name) || diff.changed.includes(spec.name)) {
        await this.addNeighbor(spec, prevSpecs.get(spec.name) ?? null);
      } else if (diff.tunnel.includes(spec.name)) {
        await this.retunnel(spec, prevSpecs.get(spec.name) ?? null);
      }
    }
    if (diff.tunnel.length > 0) await retuneFib(this.deps.fib, this.fibm, this.fibLog);
    const nextAnnounce = new Set(next.announce);
    for (const p of prevAnnounce) if (!nextAnnounce.has(p)) this.flow.queue(this.rib.withdrawOrigin(p, 'static'));
    // New prefixes, and those whose communities changed (the route is made anew).
    for (const p of nextAnnounce) this.flow.queue(this.rib.originate(p, 'static', announceAttributes(next, p)));
    // BFD sessions follow: new ones start, changed timers go by a Poll Sequence, others are left alone.
    await this.syncLiveness();
    await this.deps.managedInterfaces.write(nextSpecs.map((s) => s.interface));
    // BGP → OSPF switched on VPP: every prefix is looked at again (the mirror fills or empties).
    const mirrorOn = next.ospf?.redistributeBgp === true;
    if (this.mirror !== null && this.mirror.enabled !== mirrorOn) {
      this.mirror.enable(mirrorOn);
      if (mirrorOn) for (const prefix of [...this.fibm.wantedPrefixes()]) if (this.fibm.owner(prefix) !== null) this.selection.setLearned(prefix, this.rib.best(prefix) ?? null);
    }
    // OSPF settings go to FRR live; a failure there is the bridge's status, not a rejected reload.
    if (next.ospf !== null) await this.deps.ospf?.reconfigure(next.ospf, next.neighbors);
    // A changed advertise-ospf: the neighbor's Adj-RIB-Out is recomputed, the difference sent (no reset).
    for (const name of diff.export) this.flow.reexport(name);
    // Changed policies apply without a session reset (re-export, soft reconfiguration or ROUTE-REFRESH).
    const policies: string[] = [];
    for (const cfg of next.neighbors) {
      const before = prev.neighbors.find((b) => b.name === cfg.name);
      if (before === undefined || diff.added.includes(cfg.name) || diff.changed.includes(cfg.name)) continue;
      // The kept neighbor takes the configuration now loaded (what differs is only what a reload applies in
      // place): its next session compiles the new policies, and `neighbors` shows them.
      const kept = this.peers.get(cfg.name);
      if (kept) kept.cfg = cfg;
      const change = policyChange(prev, next, before, cfg);
      if (!change.import && !change.export && !change.soft) continue;
      applyPolicyReload(this.policyTarget(), next, cfg, change);
      if (this.rib.hasPeer(cfg.name)) policies.push(cfg.name);
    }
    // Max-prefix limits apply at once (a reload may have lowered one), not at the neighbor's next UPDATE.
    for (const n of this.peers.values()) if (n.negotiated) this.admin.afterUpdate(n.cfg.name);
    await this.flow.flush();
    this.log.info(diff, 'configuration reloaded');
    const { ospf, export: exported, tunnel, ...neighbors } = diff;
    const settings = [...new Set([...ospf, ...exported])];
    return {
      ok: true,
      errors: [],
      ...neighbors,
      ...(settings.length > 0 ? { ospf: settings } : {}),
      ...(tunnel.length > 0 ? { tunnels: tunnel } : {}),
      ...(policies.length > 0 ? { policies } : {}),
    };
  }

  /**
   * `wgbgp reload --dry-run`: the file read and checked as a reload would,
   * and for every established neighbor the reload keeps, what its new
   * policies would accept, reject, send and stop sending. Nothing applied.
   */
  reloadDryRun(): Promise<ReloadDryRunJson> {
    return this.serially(async () => {
      const none = { added: [], removed: [], changed: [], neighbors: [] };
      const loaded = await this.deps.loadConfig();
      if (!loaded.ok) return { ok: false, errors: loaded.errors, ...none };
      const next = loaded.config;
      const immutable = immutableChanges(this.config, next);
      if (immutable.length > 0) return { ok: false, errors: immutable.map((k) => `${k}: cannot change on reload; restart the agent`), ...none };
      const diff = diffNeighbors(this.config, next);
      const neighbors: PolicyDryRunJson[] = [];
      for (const cfg of next.neighbors) {
        const before = this.config.neighbors.find((b) => b.name === cfg.name);
        if (before === undefined || diff.changed.includes(cfg.name) || !this.rib.hasPeer(cfg.name)) continue;
        neighbors.push(previewPolicies(this.rib, this.config, next, before, cfg));
      }
      return { ok: true, errors: [], added: diff.added, removed: diff.removed, changed: diff.changed, neighbors };
    });
  }

  /** What a policy change on reload acts through (src/agent/policy.ts). */
  private policyTarget(): PolicyReloadTarget {
    return {
      rib: this.rib,
      log: this.log,
      queue: (changes) => this.flow.queue(changes),
      reexport: (name) => this.flow.reexport(name),
      refreshInbound: (name) => this.refresh.refreshInbound(name),
    };
  }

  // ---- operator view (ControlHandler) -------------------------------------

  /** The neighbors that run BGP, with their sessions. */
  private sessions(): { n: Neighbor; session: AgentSession; bgp: NeighborBgpConfig }[] {
    const out: { n: Neighbor; session: AgentSession; bgp: NeighborBgpConfig }[] = [];
    for (const n of this.peers.values()) if (n.session !== null && n.cfg.bgp !== null) out.push({ n, session: n.session, bgp: n.cfg.bgp });
    return out;
  }

  status(): StatusJson {
    // BGP neighbors: an OSPF-only neighbor has no session to be down (`ospf neighbors` shows it).
    const all = this.sessions();
    return {
      version: VERSION,
      asn: this.config.router.asn,
      routerId: this.config.router.routerId,
      uptimeSeconds: Math.round((this.deps.clock.now() - this.startedAt) / 1000),
      dataplane: this.dataplaneStatus(),
      neighbors: {
        total: all.length,
        established: all.filter(({ session }) => session.state === 'Established').length,
        // Nor is one the operator shut down (`wgbgp neighbor NAME shutdown`).
        down: all.filter(({ n, session }) => session.state !== 'Established' && !n.awaitingHandshake && !this.admin.isShutDown(n.cfg.name)).length,
      },
      routes: { rib: this.rib.size, fib: this.fibm.size },
      bgp: { port: this.listener.port, refused: this.listener.refused, kernelDrops: kernelTcpDrops() },
      ospf: this.deps.ospf?.status() ?? null,
      memory: memoryStatus(this.rib.attributes.size + this.rib.exportAttributes.size),
    };
  }

  private dataplaneStatus(): StatusJson['dataplane'] {
    return dataplaneJson(this.deps.wireguard.kind, this.deps.fib.name, this.deps.dataplaneHealth?.(), this.dataplaneDetail, this.fibm.lastErrors);
  }

  neighbors(): NeighborJson[] {
    return this.sessions().map(({ n, session, bgp }) => ({
      ...neighborJson(
        n.cfg,
        bgp,
        n.addr,
        session,
        { received: this.rib.receivedCount(n.cfg.name), accepted: this.rib.acceptedCount(n.cfg.name), advertised: this.rib.advertisedCount(n.cfg.name) },
        this.deps.clock,
        this.listener.bindingError(n.addr.sessionPeer),
        n.stateSinceWall,
      ),
      ...this.admin.view(n.cfg.name, session),
      policy: policyView(this.config, n.cfg),
      routeRefresh: this.refresh.view(n.cfg.name),
      bfd: this.liveness.bfdJson(n.cfg.name),
      staleRoutes: this.longLived.view(n.cfg.name),
      sendQueue: this.changeSender.view(n.cfg.name, session),
    }));
  }

  neighborAction(name: string, action: NeighborAction, message?: string): Promise<NeighborActionJson> {
    return this.admin.act(name, action, message);
  }

  /**
   * Asks the neighbor to send its routes again (ROUTE-REFRESH for every
   * negotiated family, RFC 2918): after a change of its import policy, with
   * no session reset. Its answer goes through import as any UPDATE does.
   */
  refreshInbound(name: string): RefreshStatus {
    this.neighborNamed(name);
    return this.refresh.refreshInbound(name);
  }

  /** Sends the neighbor our routes again (its Adj-RIB-Out, BoRR/EoRR around it with RFC 7313). */
  refreshOutbound(name: string): RefreshStatus {
    this.neighborNamed(name);
    return this.refresh.refreshOutbound(name);
  }

  /** `wgbgp neighbor NAME refresh [--in|--out]`: both directions unless one is named. */
  neighborRefresh(name: string, direction: 'in' | 'out' | 'both'): NeighborRefreshJson {
    this.neighborNamed(name);
    return {
      name,
      in: direction === 'out' ? null : this.refresh.refreshInbound(name),
      out: direction === 'in' ? null : this.refresh.refreshOutbound(name),
    };
  }

  private neighborNamed(name: string): void {
    if (this.peers.get(name)?.session == null) throw new Error(`no BGP neighbor named ${JSON.stringify(name)}`);
  }

  routes(query?: string): RouteJson[] | Promise<RouteJson[]> {
    const out = routesJson(this.routeView(), query);
    // One prefix asked for: say whether our route is the one the kernel forwards with.
    return query === undefined ? out : withForwarding(out, this.deps.fib, this.config.dataplane.linux.metric);
  }

  /** What the routes view reads of the agent (src/agent/routes-view.ts). */
  private routeView(): RouteViewContext {
    return {
      rib: this.rib,
      fibm: this.fibm,
      neighbors: this.peers,
      ospf: this.deps.ospf,
      installsOspf: this.selection.installsOspf,
      ospfDistance: this.config.ospf?.distance ?? null,
      reservedHosts: this.reservedHosts,
      // The view asks for the best path's route: with multipath, the one the FIB gets.
      fibRouteFor: (r) => this.selection.forwardingRoute(r),
      bgpDistance: (r) => this.selection.bgpDistance(r),
    };
  }

  async tunnels(): Promise<TunnelJson[]> {
    await this.pollTunnels();
    return this.tunnelsSeen();
  }

  /** The tunnels as the last poll saw them (the metrics read these; a scrape does not query the dataplane). */
  tunnelsSeen(): TunnelJson[] {
    return this.tunnelWatch.seen();
  }

  /** The BFD thread's event-loop delay since the last call and its packet drops (metrics); null without BFD. */
  bfdStats(): Promise<BfdThreadStats | null> {
    return this.liveness.threadStats();
  }

  /** The FIB's write counters and how far it lags the RIB (metrics). */
  fibStats(): { counters: FibCounters; pending: number; lagSeconds: number } {
    return { counters: this.fibm.counters, pending: this.flow.fibPending(), lagSeconds: this.telemetry.fibLagSeconds() };
  }

  get currentConfig(): Config {
    return this.config;
  }
}

/** `bgp.multipath` as the RIB takes it: null when off (or max-paths 1, the best alone). */
function multipathOptions(config: Config): MultipathOptions | null {
  const m = config.multipath;
  return m === undefined || !m.enabled || m.maxPaths < 2 ? null : { maxPaths: m.maxPaths, relaxAsPath: m.relaxAsPath };
}
