/**
 * A small agent harness for the tests of the neighbor administration and
 * max-prefix (admin.test.ts, max-prefix.test.ts): fake tunnels and FIB, a
 * scripted session per neighbor that records the Ceases the agent asks for,
 * and the manual clock. Nothing touches a socket, a kernel or real time.
 */
import { Agent, type AgentDeps, type AgentListener, type AgentSession, type BgpFactory } from '#agent/agent';
import { ManualClock } from '#lib/clock';
import { silentLogger, type Logger } from '#lib/log';
import type { Config, NeighborConfig } from '#config/types';
import type { FibBackend, FibNextHop, FibOp, FibRoute } from '#fib/types';
import type { TunnelSpec, TunnelStatus, WireguardBackend } from '#wg/types';
import type { FsmState } from '#bgp/fsm/index';
import type { ListenBinding, Negotiated, NotificationRecord, RefusalCounters, SessionConfig, SessionCounters, SessionDown, SessionHandler } from '#bgp/session/index';
import { encodeShutdownCommunication } from '#bgp/session/index';
import { MessageType, type UpdateMessage } from '#bgp/wire/types';
import { decodeKey, generatePrivateKey, publicKeyOf } from '#wg/keys';

export class FakeWireguard implements WireguardBackend {
  readonly kind = 'wireguard-go' as const;
  readonly tunnels = new Map<string, TunnelSpec>();
  async list(): Promise<string[]> {
    return [...this.tunnels.keys()];
  }
  async ensure(spec: TunnelSpec): Promise<'created' | 'unchanged'> {
    const had = this.tunnels.has(spec.interface);
    this.tunnels.set(spec.interface, spec);
    return had ? 'unchanged' : 'created';
  }
  async remove(ifname: string): Promise<void> {
    this.tunnels.delete(ifname);
  }
  async status(spec: TunnelSpec): Promise<TunnelStatus | null> {
    if (!this.tunnels.has(spec.interface)) return null;
    return {
      name: spec.name,
      interface: spec.interface,
      dataplaneInterface: spec.interface,
      publicKey: spec.peerPublicKey,
      endpoint: spec.endpoint,
      latestHandshake: null,
      up: true,
      rxBytes: null,
      txBytes: null,
    };
  }
  async close(): Promise<void> {}
}

class FakeFib implements FibBackend {
  readonly name = 'linux' as const;
  readonly table = new Map<string, FibRoute>();
  async dump(): Promise<FibRoute[]> {
    return [...this.table.values()];
  }
  async apply(ops: FibOp[]): Promise<{ prefix: string; error: string }[]> {
    for (const op of ops) {
      if (op.op === 'delete') this.table.delete(op.prefix);
      else this.table.set(op.route.prefix, op.route);
    }
    return [];
  }
  async underlayPath(): Promise<FibNextHop[] | null> {
    return [{ address: '198.51.100.254', interface: 'eth0' }];
  }
  watchUnderlay(): () => void {
    return () => undefined;
  }
  async close(): Promise<void> {}
}

/** The session as the agent sees it; the test plays the peer and reads what the agent asked for. */
export class ScriptedSession implements AgentSession {
  state: FsmState = 'Idle';
  stateSince = 0;
  lastError: string | null = null;
  negotiated: Negotiated | null = null;
  lastNotification: NotificationRecord | null = null;
  readonly counters: SessionCounters = { updatesIn: 0, updatesOut: 0, messagesIn: 0, messagesOut: 0, establishedTransitions: 0, flaps: 0, lastErrorAt: null };
  /** start() calls, and every Cease the agent asked for as code/subcode with its data. */
  starts = 0;
  readonly ceases: { subcode: number; data: Uint8Array }[] = [];
  constructor(
    readonly cfg: SessionConfig,
    readonly handler: SessionHandler,
    private readonly clock: ManualClock,
  ) {}
  start(): void {
    this.starts++;
    if (this.state === 'Idle') this.state = this.cfg.passive ? 'Active' : 'Connect';
  }
  async stop(reason?: string): Promise<void> {
    this.sent(2, encodeShutdownCommunication(reason));
  }
  async reset(reason?: string): Promise<void> {
    this.sent(4, encodeShutdownCommunication(reason));
    // The real session comes back by itself after ConnectRetryTime.
    this.state = 'Connect';
  }
  async cease(subcode: number, data: Uint8Array): Promise<void> {
    this.sent(subcode, data);
  }
  async stopSilently(): Promise<void> {
    this.state = 'Idle';
  }
  setPassive(): void {}
  /** UPDATEs the agent sent, and its ROUTE-REFRESH messages (RFC 2918, RFC 7313 subtypes). */
  readonly updatesSent: UpdateMessage[] = [];
  readonly refreshes: { afi: number; safi: number; subtype: number }[] = [];
  /** What a test says waits in the socket (table-send.ts paces by it); drain() empties it. */
  sendBacklog = 0;
  private readonly drainWaiters: (() => void)[] = [];
  whenDrained(fn: () => void): void {
    if (this.sendBacklog === 0) queueMicrotask(fn);
    else this.drainWaiters.push(fn);
  }
  drain(): void {
    this.sendBacklog = 0;
    for (const fn of this.drainWaiters.splice(0)) fn();
  }
  sendMany(updates: UpdateMessage[]): void {
    this.updatesSent.push(...updates);
  }
  sendRouteRefresh(afi: number, safi: number, subtype: number): boolean {
    if (this.state !== 'Established') return false;
    this.refreshes.push({ afi, safi, subtype });
    return true;
  }
  /** The peer's OPEN was fine: Established (`over`: what else was negotiated). */
  establish(over: Partial<Negotiated> = {}): void {
    const from = this.state;
    this.state = 'Established';
    this.handler.onStateChange?.(from, 'Established');
    this.counters.establishedTransitions++;
    this.negotiated = {
      peerAsn: this.cfg.peerAsn,
      peerRouterId: '192.0.2.2',
      holdTime: 90,
      keepaliveTime: 30,
      fourOctetAs: true,
      families: this.cfg.families,
      routeRefresh: true,
      extendedNextHop: false,
      localAddress: this.cfg.localAddress ?? '',
      remoteAddress: this.cfg.peerAddress,
      gracefulRestart: null,
      ...over,
    };
    this.handler.onEstablished(this.negotiated);
  }
  update(u: UpdateMessage): void {
    this.handler.onUpdate(u);
  }
  /** The peer's NOTIFICATION arrived (the real session records it the same way). */
  received(code: number, subcode: number, data: Uint8Array, text: string): void {
    this.lastNotification = { direction: 'received', code, subcode, data, at: this.clock.now() };
    this.goDown(`received ${text}`);
  }
  /**
   * The Established session ended without a NOTIFICATION (the peer's BGP died,
   * TCP closed: `how` as given), or with our Hold Timer Expired
   * ({ notification: true, holdTimerExpired: true }).
   */
  lost(how: SessionDown = { notification: false }): void {
    this.goDown(how.holdTimerExpired === true ? 'sent Hold Timer Expired' : 'connection closed', how);
  }
  private sent(subcode: number, data: Uint8Array): void {
    this.ceases.push({ subcode, data });
    this.lastNotification = { direction: 'sent', code: 6, subcode, data, at: this.clock.now() };
    this.goDown(`sent 6/${subcode}`);
    this.state = 'Idle';
  }
  private goDown(reason: string, how: SessionDown = { notification: true }): void {
    this.lastError = reason;
    if (this.state !== 'Established') {
      this.state = 'Idle';
      return;
    }
    this.state = 'Idle';
    this.negotiated = null;
    this.counters.flaps++;
    this.handler.onStateChange?.('Established', 'Idle');
    this.handler.onDown(reason, how);
  }
}

class FakeListener implements AgentListener {
  readonly port = 179;
  readonly refused: RefusalCounters = { total: 0, notThroughTunnel: 0, wrongSource: 0, lastSource: null };
  async listen(): Promise<void> {}
  async register(_s: AgentSession, _peer: string, _b: ListenBinding): Promise<void> {}
  async unregister(): Promise<void> {}
  async refresh(): Promise<void> {}
  stopAccepting(): void {}
  async close(): Promise<void> {}
  bindingError(): string | null {
    return null;
  }
}

const OUR_PRIVATE = decodeKey(generatePrivateKey());
const OUR_PUBLIC = publicKeyOf(Buffer.from(OUR_PRIVATE).toString('base64'));

/** Neighbor `i`: AS 65002 + i (eBGP from our 65001), tunnel 10.255.i.0/31. */
export function neighbor(name: string, i: number, over: Partial<NonNullable<NeighborConfig['bgp']>> = {}): NeighborConfig {
  return {
    name,
    interface: `wg-${name}`,
    publicKey: publicKeyOf(generatePrivateKey()),
    endpoint: `198.51.100.${10 + i}:51820`,
    listenPort: 51820 + i,
    persistentKeepalive: 0, mtu: 1420,
    tunnel: { local: [`10.255.${i}.0/31`, `fd00:255:${i}::/127`], remote: [`10.255.${i}.1`, `fd00:255:${i}::1`] },
    sourceAddress: null,
    bgp: {
      asn: 65002 + i,
      holdTime: 90,
      passive: false,
      ttlSecurity: true,
      password: null,
      gracefulRestart: false,
      gracefulRestartTime: 120,
      advertiseOspf: null,
      maxPrefix: null,
      ...over,
    },
    ospf: null,
  };
}

export function config(neighbors: NeighborConfig[]): Config {
  return {
    router: { asn: 65001, routerId: '192.0.2.1' },
    control: { socket: '/run/wgbgp/test.sock', group: null, adminGroup: null },
    metrics: { listen: null },
    ospf: null,
    dataplane: {
      wireguard: 'wireguard-go',
      fib: 'linux',
      keepOnStop: true,
      linux: { protocol: 201, table: 254, metric: 32 },
      vpp: { apiSocket: '/run/vpp/api.sock', linuxCp: true, linuxCpNetns: null, tableId: 0, controlInterface: null },
    },
    wireguard: { privateKeyFile: '/dev/null', sourceAddress: null, reresolveAfter: 135 },
    announce: ['10.1.0.0/24'],
    neighbors,
  };
}

export interface Harness {
  agent: Agent;
  clock: ManualClock;
  fib: FakeFib;
  /** The latest session made for each neighbor. */
  sessions: Map<string, ScriptedSession>;
  next: { config: Config };
  tick(ms?: number): Promise<void>;
}

/**
 * `deps` replaces the fake tunnels or adds a resolver (endpoints given as DNS
 * names); its `fib` replaces the fake FIB (`Harness.fib` is then unused).
 */
export async function harness(cfg: Config, log: Logger = silentLogger(), deps: Partial<Pick<AgentDeps, 'wireguard' | 'resolve' | 'bfd' | 'fib'>> = {}): Promise<Harness> {
  const clock = new ManualClock();
  const fib = new FakeFib();
  const listener = new FakeListener();
  const sessions = new Map<string, ScriptedSession>();
  const next = { config: cfg };
  const bgp: BgpFactory = {
    listener: () => listener,
    session: (c, handler) => {
      const s = new ScriptedSession(c, handler, clock);
      sessions.set(c.name, s);
      return s;
    },
  };
  let managed: string[] = [];
  const agent = new Agent(cfg, {
    clock,
    log,
    wireguard: new FakeWireguard(),
    fib,
    privateKey: OUR_PRIVATE,
    publicKey: OUR_PUBLIC,
    loadConfig: async () => ({ ok: true, config: next.config }),
    managedInterfaces: {
      read: async () => managed,
      write: async (names) => {
        managed = names;
      },
    },
    bgp,
    ...deps,
  });
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  };
  const tick = async (ms = 0): Promise<void> => {
    await settle();
    clock.advance(ms);
    await settle();
    clock.advance(20);
    await settle();
  };
  await agent.start();
  await tick();
  return { agent, clock, fib, sessions, next, tick };
}

/** An UPDATE announcing IPv4 prefixes (classic NLRI) or IPv6 ones (MP_REACH), from AS 65003. */
export function announce(prefixes: string[]): UpdateMessage {
  const v6 = prefixes.filter((p) => p.includes(':'));
  const v4 = prefixes.filter((p) => !p.includes(':'));
  return {
    type: MessageType.Update,
    withdrawn: [],
    attributes: { origin: 0, asPath: [{ type: 2, asns: [65003] }], ...(v4.length > 0 ? { nextHop: '10.255.1.1' } : {}) },
    nlri: v4,
    ...(v6.length > 0 ? { mpReach: { afi: 2, safi: 1, nextHops: ['fd00:255:1::1'], nlri: v6 } } : {}),
  };
}

export function withdraw(prefixes: string[]): UpdateMessage {
  return { type: MessageType.Update, withdrawn: prefixes, attributes: {}, nlri: [] };
}
