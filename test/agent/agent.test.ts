/**
 * The composition root itself, with fake backends, scripted sessions and the
 * manual clock: nothing here touches a socket, a kernel or real time. A
 * scripted session is the peer as the agent sees it — the test makes it
 * Established, hands the agent UPDATEs and ends it, with or without a
 * NOTIFICATION — and records what the agent sends.
 */
import { describe, expect, it } from 'vitest';
import { Agent, type AgentDeps, type AgentListener, type AgentSession, type BgpFactory } from '#agent/agent';
import { ManualClock } from '#lib/clock';
import { silentLogger } from '#lib/log';
import type { Config, NeighborConfig } from '#config/types';
import type { FibBackend, FibNextHop, FibOp, FibRoute } from '#fib/types';
import type { TunnelSpec, TunnelStatus, WireguardBackend } from '#wg/types';
import type { FsmState } from '#bgp/fsm/index';
import type { ListenBinding, Negotiated, RefusalCounters, SessionConfig, SessionCounters, SessionHandler } from '#bgp/session/index';
import { MessageType, type UpdateMessage } from '#bgp/wire/types';
import { decodeKey, generatePrivateKey, publicKeyOf } from '#wg/keys';
import type { WatchEvent } from '#api/types';
import type { AgentOspf } from '#agent/agent';
import type { OspfBridgeStatus, OspfRouteUpdate } from '#ospf/bridge';

// ---- fakes ---------------------------------------------------------------

class FakeWireguard implements WireguardBackend {
  readonly kind = 'wireguard-go' as const;
  readonly tunnels = new Map<string, TunnelSpec>();
  readonly calls: string[] = [];
  endpoints = new Map<string, string>();
  async list(): Promise<string[]> {
    return [...this.tunnels.keys()];
  }
  /** Interfaces whose next ensure fails (as wireguard-go refusing its UAPI socket for a moment). */
  failNext = new Set<string>();
  async ensure(spec: TunnelSpec): Promise<'created' | 'unchanged'> {
    this.calls.push(`ensure ${spec.interface}`);
    if (this.failNext.delete(spec.interface)) throw new Error(`${spec.interface}: cannot reach the UAPI socket: connect ECONNREFUSED`);
    const had = this.tunnels.has(spec.interface);
    this.tunnels.set(spec.interface, spec);
    return had ? 'unchanged' : 'created';
  }
  async remove(ifname: string): Promise<void> {
    this.calls.push(`remove ${ifname}`);
    this.tunnels.delete(ifname);
  }
  async status(spec: TunnelSpec): Promise<TunnelStatus | null> {
    if (!this.tunnels.has(spec.interface)) return null;
    const endpoint = this.endpoints.get(spec.interface) ?? spec.endpoint;
    return {
      name: spec.name,
      interface: spec.interface,
      dataplaneInterface: spec.interface,
      publicKey: spec.peerPublicKey,
      endpoint,
      latestHandshake: null,
      up: true,
      rxBytes: null,
      txBytes: null,
    };
  }
  async close(): Promise<void> {}
}

/** A FIB that holds what it is told and can stall a write (to order operations). */
class FakeFib implements FibBackend {
  readonly name = 'linux' as const;
  readonly table = new Map<string, FibRoute>();
  readonly ops: FibOp[] = [];
  underlay: FibNextHop[] = [{ address: '198.51.100.254', interface: 'eth0' }];
  /** Times the table was read (adopt at start, reconcile at the sweep). */
  dumps = 0;
  async dump(): Promise<FibRoute[]> {
    this.dumps++;
    return [...this.table.values()];
  }
  async apply(ops: FibOp[]): Promise<{ prefix: string; error: string }[]> {
    for (const op of ops) {
      this.ops.push(op);
      if (op.op === 'delete') this.table.delete(op.prefix);
      else this.table.set(op.route.prefix, op.route);
    }
    return [];
  }
  async underlayPath(): Promise<FibNextHop[] | null> {
    return this.underlay;
  }
  /** The watcher the agent registered: a test calls it as the kernel would. */
  underlayChanged: (() => void) | null = null;
  watchUnderlay(changed: () => void): () => void {
    this.underlayChanged = changed;
    return () => {
      this.underlayChanged = null;
    };
  }
  async close(): Promise<void> {}
}

class ScriptedSession implements AgentSession {
  state: FsmState = 'Idle';
  stateSince = 0;
  lastError: string | null = null;
  negotiated: Negotiated | null = null;
  readonly counters: SessionCounters = { updatesIn: 0, updatesOut: 0, messagesIn: 0, messagesOut: 0, establishedTransitions: 0, flaps: 0, lastErrorAt: null };
  started = false;
  readonly sent: UpdateMessage[] = [];
  readonly stops: string[] = [];
  constructor(
    readonly cfg: SessionConfig,
    readonly handler: SessionHandler,
  ) {}
  start(): void {
    this.started = true;
    this.state = this.cfg.passive ? 'Active' : 'Connect';
  }
  async stop(reason?: string): Promise<void> {
    this.stops.push(`cease: ${reason ?? ''}`);
    this.down('sent 6/2', { notification: true });
  }
  async stopSilently(): Promise<void> {
    this.stops.push('silent');
    this.state = 'Idle';
  }
  lastNotification = null;
  async reset(reason?: string): Promise<void> {
    this.stops.push(`reset: ${reason ?? ''}`);
  }
  async cease(subcode: number): Promise<void> {
    this.stops.push(`cease 6/${subcode}`);
  }
  setPassive(): void {}
  sendMany(updates: UpdateMessage[]): void {
    this.sent.push(...updates);
  }
  sendRouteRefresh(): boolean {
    return this.state === 'Established';
  }
  /** The peer's OPEN was fine: Established, with what was negotiated. */
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
      gracefulRestart: { restartTime: 120, restartState: false, families: this.cfg.families.map((f) => ({ ...f, forwardingState: true })) },
      ...over,
    };
    this.handler.onEstablished(this.negotiated);
  }
  update(u: UpdateMessage): void {
    this.handler.onUpdate(u);
  }
  down(reason: string, how: { notification: boolean }): void {
    if (this.state !== 'Established') return;
    this.state = 'Idle';
    this.negotiated = null;
    this.counters.flaps++;
    this.lastError = reason;
    this.handler.onStateChange?.('Established', 'Idle');
    this.handler.onDown(reason, how);
  }
}

class FakeListener implements AgentListener {
  readonly port = 179;
  readonly refused: RefusalCounters = { total: 0, notThroughTunnel: 0, wrongSource: 0, lastSource: null };
  readonly bindings = new Map<string, ListenBinding>();
  failListen: Error | null = null;
  async listen(): Promise<void> {
    if (this.failListen) throw this.failListen;
  }
  async register(_s: AgentSession, peer: string, b: ListenBinding): Promise<void> {
    this.bindings.set(peer, b);
  }
  async unregister(peer: string): Promise<void> {
    this.bindings.delete(peer);
  }
  async refresh(): Promise<void> {}
  stopAccepting(): void {}
  async close(): Promise<void> {}
  bindingError(): string | null {
    return null;
  }
}

// ---- the harness ----------------------------------------------------------

const OUR_PRIVATE = decodeKey(generatePrivateKey());
const OUR_PUBLIC = publicKeyOf(Buffer.from(OUR_PRIVATE).toString('base64'));

function neighbor(name: string, i: number, over: Partial<NeighborConfig['bgp']> = {}): NeighborConfig {
  return {
    name,
    interface: `wg-${name}`,
    publicKey: publicKeyOf(generatePrivateKey()),
    endpoint: `198.51.100.${10 + i}:51820`,
    listenPort: 51820 + i,
    persistentKeepalive: 0, mtu: 1420,
    tunnel: { local: [`10.255.${i}.0/31`, `fd00:255:${i}::/127`], remote: [`10.255.${i}.1`, `fd00:255:${i}::1`] },
    sourceAddress: null,
    bgp: { asn: 65002 + i, holdTime: 90, passive: false, ttlSecurity: true, password: null, gracefulRestart: true, gracefulRestartTime: 120, advertiseOspf: null, maxPrefix: null, ...over },
    ospf: null,
  };
}

function config(neighbors: NeighborConfig[], keepOnStop = true): Config {
  return {
    router: { asn: 65001, routerId: '192.0.2.1' },
    control: { socket: '/run/wgbgp/test.sock', group: null, adminGroup: null },
    metrics: { listen: null },
    ospf: null,
    dataplane: {
      wireguard: 'wireguard-go',
      fib: 'linux',
      keepOnStop,
      linux: { protocol: 201, table: 254, metric: 32 },
      vpp: { apiSocket: '/run/vpp/api.sock', linuxCp: true, linuxCpNetns: null, tableId: 0, controlInterface: null },
    },
    wireguard: { privateKeyFile: '/dev/null', sourceAddress: null, reresolveAfter: 135 },
    announce: ['10.1.0.0/24'],
    neighbors,
  };
}

interface Harness {
  agent: Agent;
  clock: ManualClock;
  wg: FakeWireguard;
  fib: FakeFib;
  listener: FakeListener;
  sessions: Map<string, ScriptedSession>;
  next: { config: Config };
  /** Lets promises settle and moves the manual clock. */
  tick(ms?: number): Promise<void>;
}

interface Pin {
  neighbor: string;
  prefix: string;
  nexthops: FibNextHop[];
}

/** The OSPF bridge as the agent sees it: routes pushed by the test, as FPM would. */
class FakeOspf implements AgentOspf {
  readonly table = new Map<string, FibNextHop[]>();
  private cb: ((u: OspfRouteUpdate[]) => void) | null = null;
  started = false;
  reconfigured = 0;
  async start(): Promise<void> {
    this.started = true;
  }
  async reconfigure(): Promise<void> {
    this.reconfigured++;
  }
  onRoutes(cb: (u: OspfRouteUpdate[]) => void): () => void {
    this.cb = cb;
    return () => (this.cb = null);
  }
  route(prefix: string): FibNextHop[] | undefined {
    return this.table.get(prefix);
  }
  /** zebra's connected prefixes. */
  readonly connected = new Set<string>();
  isConnected(prefix: string): boolean {
    return this.connected.has(prefix);
  }
  /** Prefixes in OSPF's own table that zebra has not sent (it keeps the agent's kernel route). */
  readonly unsent = new Set<string>();
  knows(prefix: string): boolean {
    return this.table.has(prefix) || this.unsent.has(prefix);
  }
  /** OSPF's table (read by the bridge) has `prefix`, FPM not: the agent hears it with no next hops. */
  tableOnly(prefix: string): void {
    this.unsent.add(prefix);
    this.cb?.([{ prefix, nexthops: null }]);
  }
  /** Prefixes OSPF has as externals (FRR's route types). */
  readonly externals = new Set<string>();
  internal(prefix: string): boolean {
    return this.table.has(prefix) && !this.externals.has(prefix);
  }
  *routes(): IterableIterator<[string, FibNextHop[]]> {
    yield* this.table.entries();
  }
  get routeCount(): number {
    return this.table.size;
  }
  status(): OspfBridgeStatus {
    return { state: 'ok', detail: null, frrVersion: '8.4.4', fpm: { listening: '127.0.0.1:2620', connected: true, phase: 'synced', routes: this.table.size }, interfaces: [], lastApply: null };
  }
  async close(): Promise<void> {}
  async ospfNeighbors(): Promise<never[]> {
    return [];
  }
  async ospfRoutes(): Promise<never[]> {
    return [];
  }
  push(prefix: string, nexthops: FibNextHop[] | null): void {
    if (nexthops === null) this.table.delete(prefix);
    else this.table.set(prefix, nexthops);
    this.cb?.([{ prefix, nexthops }]);
  }
}

async function harness(
  cfg: Config,
  fib = new FakeFib(),
  pins: { value: Pin[] } = { value: [] },
  ospf?: AgentOspf,
  kernelMirror?: FakeFib,
  wg = new FakeWireguard(),
  extra: Partial<AgentDeps> = {},
): Promise<Harness> {
  const clock = new ManualClock();
  const listener = new FakeListener();
  const sessions = new Map<string, ScriptedSession>();
  const next = { config: cfg };
  const bgp: BgpFactory = {
    listener: () => listener,
    session: (c, handler) => {
      const s = new ScriptedSession(c, handler);
      sessions.set(c.name, s);
      return s;
    },
  };
  let managed: string[] = [];
  const agent = new Agent(cfg, {
    clock,
    log: silentLogger(),
    wireguard: wg,
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
    pinRecord: {
      read: async () => pins.value,
      write: async (p) => {
        pins.value = p;
      },
    },
    bgp,
    ...(ospf ? { ospf } : {}),
    ...(kernelMirror ? { kernelMirror } : {}),
    ...extra,
  });
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  };
  const tick = async (ms = 0): Promise<void> => {
    await settle();
    clock.advance(ms);
    await settle();
    // The flush debounce (10 ms) and what it started.
    clock.advance(20);
    await settle();
  };
  await agent.start();
  await tick();
  return { agent, clock, wg, fib, listener, sessions, next, tick };
}

const update = (prefixes: string[], withdrawn: string[] = []): UpdateMessage => ({
  type: MessageType.Update,
  withdrawn,
  attributes: prefixes.length > 0 ? { origin: 0, asPath: [{ type: 2, asns: [65003] }], nextHop: '10.255.1.1' } : {},
  nlri: prefixes,
});
const eor4: UpdateMessage = { type: MessageType.Update, withdrawn: [], attributes: {}, nlri: [] };
const eor6: UpdateMessage = { type: MessageType.Update, withdrawn: [], attributes: {}, nlri: [], mpUnreach: { afi: 2, safi: 1, withdrawn: [] } };

// ---- the tests --------------------------------------------------------------

describe('Agent: sessions through the tunnel only', () => {
  it('design.md "Identity": each neighbor is registered bound to its tunnel interface and address, GTSM 255, the MD5 key', async () => {
    const h = await harness(config([neighbor('b', 1, { password: 'k' }), neighbor('c', 2, { ttlSecurity: false })]));
    expect(h.listener.bindings.get('10.255.1.1')).toEqual({ device: 'wg-b', localAddress: '10.255.1.0', minTtl: 255, md5Key: 'k' });
    expect(h.listener.bindings.get('10.255.2.1')).toEqual({ device: 'wg-c', localAddress: '10.255.2.0' });
    const b = h.sessions.get('b')!.cfg;
    expect(b).toMatchObject({ interface: 'wg-b', bindToInterface: true, minTtl: 255, md5Key: 'k', localAddress: '10.255.1.0' });
    expect(h.sessions.get('c')!.cfg.minTtl).toBeUndefined();
  });

  it('VPP with linux-cp off: the session is bound to the control interface both ways (listener and our connects), GTSM 255', async () => {
    const cfg = config([neighbor('b', 1)]);
    cfg.dataplane = { ...cfg.dataplane, wireguard: 'vpp', fib: 'vpp', vpp: { ...cfg.dataplane.vpp, linuxCp: false, controlInterface: 'punt0' } };
    const h = await harness(cfg);
    expect(h.listener.bindings.get('10.255.1.1')).toMatchObject({ device: 'punt0', localAddress: '10.255.1.0', minTtl: 255 });
    // Found on a real VPP: our connects were bound to the VPP tunnel's name, which has no Linux interface.
    expect(h.sessions.get('b')!.cfg).toMatchObject({ interface: 'punt0', bindToInterface: true, minTtl: 255 });
  });

  it('status counts a neighbor with an endpoint that is not Established as down, a remote-access one awaiting its handshake not', async () => {
    const ra = { ...neighbor('ra', 3), endpoint: null };
    const h = await harness(config([neighbor('b', 1), ra]));
    expect(h.agent.status().neighbors).toEqual({ total: 2, established: 0, down: 1 });
    h.sessions.get('b')!.establish();
    expect(h.agent.status().neighbors).toEqual({ total: 2, established: 1, down: 0 });
  });

  it('status tells the memory held: this process\'s resident set and heap, and the attribute sets interned', async () => {
    const h = await harness(config([neighbor('b', 1)]));
    h.sessions.get('b')!.establish();
    await h.tick(1_000);
    const before = h.agent.status().memory!;
    expect(before.resident).toBeGreaterThan(before.heap);
    expect(before.private).toBeGreaterThan(0);
    expect(before.private!).toBeLessThanOrEqual(before.resident);
    expect(before.tables).toBeGreaterThan(0);
    const s = h.sessions.get('b')!;
    s.update(update(['198.51.100.0/24']));
    s.update({ ...update(['203.0.113.0/24']), attributes: { origin: 0, asPath: [{ type: 2, asns: [65003, 65004] }], nextHop: '10.255.1.1' } });
    await h.tick(1_000);
    expect(h.agent.status().memory!.attributeSets).toBe(before.attributeSets + 2);
  });

  it('a listener that cannot have its port fails start', async () => {
    const clock = new ManualClock();
    const listener = new FakeListener();
    listener.failListen = new Error('BGP port 179 is in use by another process');
    const agent = new Agent(config([neighbor('b', 1)]), {
      clock,
      log: silentLogger(),
      wireguard: new FakeWireguard(),
      fib: new FakeFib(),
      privateKey: OUR_PRIVATE,
      publicKey: OUR_PUBLIC,
      loadConfig: async () => ({ ok: false, errors: [] }),
      managedInterfaces: { read: async () => [], write: async () => {} },
      bgp: { listener: () => listener, session: (c, h) => new ScriptedSession(c, h) },
    });
    await expect(agent.start()).rejects.toThrow(/in use/);
  });
});

describe('Agent: the operator view', () => {
  it('watch: session changes, route counts after the FIB write, a reload; neighbors NAME has what was negotiated', async () => {
    const h = await harness(config([neighbor('b', 1)]));
    const seen: WatchEvent[] = [];
    h.agent.telemetry.watch((e) => seen.push(e));
    const s = h.sessions.get('b')!;
    s.establish();
    s.update(update(['10.2.0.0/24', '10.3.0.0/24']));
    await h.tick(1_000);
    const n = h.agent.neighbors()[0]!;
    expect(n).toMatchObject({ state: 'Established', established: 1, flaps: 0, uptimeSeconds: 1, timers: { negotiatedHoldTime: 90 } });
    expect(n.session?.families).toEqual(['ipv4-unicast', 'ipv6-unicast']);
    s.down('Hold Timer Expired', { notification: true });
    await h.tick(1_000);
    await h.agent.reload();
    expect(seen.filter((e) => e.type === 'session')).toEqual([
      expect.objectContaining({ neighbor: 'b', from: 'Connect', to: 'Established', lastError: null }),
      expect.objectContaining({ neighbor: 'b', from: 'Established', to: 'Idle', lastError: 'Hold Timer Expired' }),
    ]);
    const routes = seen.filter((e) => e.type === 'routes');
    // Our announced prefix, the tunnel's two subnets and the neighbor's two; then without the neighbor's.
    expect(routes[0]).toMatchObject({ rib: 5, pending: 0 });
    expect(routes.at(-1)).toMatchObject({ rib: 3 });
    expect(seen.at(-1)).toMatchObject({ type: 'reload', ok: true });
    expect(h.agent.neighbors()[0]).toMatchObject({ flaps: 1, lastError: 'Hold Timer Expired', uptimeSeconds: null, session: null });
    expect(h.agent.fibStats().counters.add).toBeGreaterThanOrEqual(2);
    await h.agent.stop();
  });
});

/** A FIB with PIC (FibBackend.failover): records each failover and what the table held when it came. */
class PicFib extends FakeFib {
  readonly failovers: { interfaces: string[]; opsBefore: number }[] = [];
  async failover(interfaces: readonly string[]): Promise<{ moved: number; removed: number }> {
    this.failovers.push({ interfaces: [...interfaces], opsBefore: this.ops.length });
    return { moved: 1, removed: 0 };
  }
}

describe('Agent: PIC failover (issue 10)', () => {
  it('routes carry the second-best neighbor as backup; a session down calls failover for its tunnel before the withdrawals are written', async () => {
    const fib = new PicFib();
    const h = await harness(config([neighbor('b', 1), neighbor('c', 2)]), fib);
    const b = h.sessions.get('b')!;
    const c = h.sessions.get('c')!;
    b.establish();
    c.establish();
    b.update(update(['10.9.0.0/24']));
    await h.tick();
    expect(fib.table.get('10.9.0.0/24')).toEqual({ prefix: '10.9.0.0/24', nexthops: [{ address: '10.255.1.1', interface: 'wg-b' }] });
    // c's path (same length; b's router id is lower) is the backup: the FIB route is rewritten with it.
    c.update(update(['10.9.0.0/24']));
    await h.tick();
    expect(fib.table.get('10.9.0.0/24')).toEqual({
      prefix: '10.9.0.0/24',
      nexthops: [{ address: '10.255.1.1', interface: 'wg-b' }],
      backup: [{ address: '10.255.2.1', interface: 'wg-c' }],
    });
    const before = fib.ops.length;
    b.down('Hold Timer Expired', { notification: true });
    await h.tick();
    expect(fib.failovers).toEqual([{ interfaces: ['wg-b'], opsBefore: before }]);
    // Then the RIB's own write: c's path, no backup left.
    expect(fib.table.get('10.9.0.0/24')).toEqual({ prefix: '10.9.0.0/24', nexthops: [{ address: '10.255.2.1', interface: 'wg-c' }] });
    await h.agent.stop();
  });
});

/** A PIC FIB whose failover retires what its routes name (LinuxFib's objects): `rewrite`, as LinuxFib says. */
class RetiringPicFib extends PicFib {
  override async failover(interfaces: readonly string[]): Promise<{ moved: number; removed: number; rewrite: boolean }> {
    return { ...(await super.failover(interfaces)), rewrite: true };
  }
}

/** The learned routes (the tunnel's own host routes left out) that `ops` write through `iface`. */
const through = (ops: FibOp[], iface: string): string[] =>
  ops.flatMap((o) => (o.op !== 'delete' && o.route.nexthops.some((h) => h.interface === iface && h.address !== undefined) ? [o.route.prefix] : []));

describe('Agent: PIC failover with a FIB that retires what its routes name (Linux nexthop objects)', () => {
  it('while the RIB withdraws the dead neighbor\'s paths in steps, no route is written through its tunnel again', async () => {
    const fib = new RetiringPicFib();
    const h = await harness(config([neighbor('b', 1), neighbor('c', 2)]), fib);
    const b = h.sessions.get('b')!;
    const c = h.sessions.get('c')!;
    b.establish();
    c.establish();
    const ps = Array.from({ length: 20_000 }, (_, i) => `10.${64 + (i >> 8)}.${i & 255}.0/24`);
    b.update(update(ps));
    c.update(update(ps));
    await h.tick();
    expect(fib.table.get(ps[0]!)).toMatchObject({ nexthops: [{ interface: 'wg-b' }], backup: [{ interface: 'wg-c' }] });
    const before = fib.ops.length;
    b.down('Hold Timer Expired', { notification: true });
    // The failover and the RIB's first step (8192 paths) run; the flush comes before the next step.
    for (let i = 0; i < 100 && fib.failovers.length === 0; i++) await Promise.resolve();
    for (let i = 0; i < 20; i++) await Promise.resolve();
    expect(fib.failovers).toHaveLength(1);
    h.clock.advance(20);
    await h.tick();
    await h.tick();
    // Every route ends on c, and none was written through wg-b on the way (one write each).
    expect(through(fib.ops.slice(before), 'wg-b')).toEqual([]);
    expect(fib.ops.slice(before).filter((o) => (o.op === 'delete' ? o.prefix : o.route.prefix).startsWith('10.') && !(o.op === 'delete' ? o.prefix : o.route.prefix).startsWith('10.255.'))).toHaveLength(ps.length);
    expect(ps.filter((p) => fib.table.get(p)?.nexthops[0]?.interface !== 'wg-c')).toEqual([]);
    await h.agent.stop();
  });

  it('the neighbor back before its withdrawal was written: the routes it sends as they were are written again (they name what the failover retired)', async () => {
    const fib = new RetiringPicFib();
    const h = await harness(config([neighbor('b', 1), neighbor('c', 2)]), fib);
    const b = h.sessions.get('b')!;
    const c = h.sessions.get('c')!;
    b.establish();
    c.establish();
    b.update(update(['10.9.0.0/24']));
    c.update(update(['10.9.0.0/24']));
    await h.tick();
    const before = fib.ops.length;
    // Down and back at once (bird-bfd: Established 3 ms after the failover), the same route again.
    b.down('Hold Timer Expired', { notification: true });
    b.establish();
    b.update(update(['10.9.0.0/24']));
    await h.tick();
    await h.tick();
    expect(fib.failovers).toHaveLength(1);
    expect(through(fib.ops.slice(before), 'wg-b')).toEqual(['10.9.0.0/24']);
    expect(fib.table.get('10.9.0.0/24')).toMatchObject({ nexthops: [{ interface: 'wg-b' }], backup: [{ interface: 'wg-c' }] });
    await h.agent.stop();
  });
});

describe('Agent: a tunnel whose setup failed', () => {
  it('is set up again at the next tunnel poll (wireguard-go refused its UAPI socket for a moment at start), and its host routes follow', async () => {
    const wg = new FakeWireguard();
    wg.failNext.add('wg-b');
    const fib = new FakeFib();
    // The harness ticks once: the start's first tunnel poll comes within it.
    const h = await harness(config([neighbor('b', 1)]), fib, undefined, undefined, undefined, wg);
    expect(wg.failNext.size).toBe(0);
    expect(wg.calls.filter((c) => c === 'ensure wg-b')).toHaveLength(2);
    expect(wg.tunnels.has('wg-b')).toBe(true);
    expect(fib.table.has('10.255.1.1/32')).toBe(true);
    // Once up, no more attempts (the poll runs every 2 s).
    await h.tick(2_100);
    await h.tick(2_100);
    expect(wg.calls.filter((c) => c === 'ensure wg-b')).toHaveLength(2);
    await h.agent.stop();
  });
});

describe('Agent: a full withdrawal goes in steps (issue 10)', () => {
  it('a session that comes back while its old paths are still leaving the RIB starts clean; the FIB ends with the new session\'s routes only', async () => {
    const fib = new FakeFib();
    const h = await harness(config([neighbor('b', 1)]), fib);
    const b = h.sessions.get('b')!;
    b.establish();
    const old = Array.from({ length: 20_000 }, (_, i) => `10.${64 + (i >> 8)}.${i & 255}.0/24`);
    b.update(update(old));
    await h.tick();
    const own = fib.table.size - 20_000; // the tunnel's host routes
    const oldSet = new Set(old);
    b.down('Hold Timer Expired', { notification: true });
    // The first step ran; the rest waits for turns of the event loop. The session is back before them.
    b.establish();
    b.update(update(['10.200.0.0/24', old[19_999]!]));
    await h.tick();
    await h.tick();
    const learned = [...fib.table.keys()].filter((p) => p.startsWith('10.200.') || oldSet.has(p));
    expect(learned.sort()).toEqual(['10.200.0.0/24', old[19_999]!].sort());
    expect(fib.table.size).toBe(own + 2);
    await h.agent.stop();
  });
});

describe('Agent: OSPF routes from the bridge (issue 9)', () => {
  const ospfCfg = (fibKind: 'linux' | 'vpp'): Config => {
    const c = config([neighbor('b', 1)]);
    c.dataplane = { ...c.dataplane, fib: fibKind, wireguard: fibKind === 'vpp' ? 'vpp' : 'wireguard-go' };
    c.ospf = { routerId: '192.0.2.1', referenceBandwidth: null, distance: 110, redistributeBgp: false, externalTag: 201, frr: { vtysh: '/usr/bin/vtysh', pathspace: null, fpmListen: '127.0.0.1:2620' } };
    return c;
  };

  it('VPP: OSPF routes go into the FIB; eBGP (distance 20) wins over OSPF (110) for the same prefix, OSPF takes over when BGP withdraws', async () => {
    const ospf = new FakeOspf();
    const h = await harness(ospfCfg('vpp'), new FakeFib(), { value: [] }, ospf);
    expect(ospf.started).toBe(true);
    ospf.push('10.9.0.0/24', [{ address: '10.255.1.1', interface: 'wg-b' }]);
    await h.tick();
    expect(h.fib.table.get('10.9.0.0/24')?.nexthops).toEqual([{ address: '10.255.1.1', interface: 'wg-b' }]);
    const s = h.sessions.get('b')!;
    s.establish();
    ospf.push('10.2.0.0/24', [{ address: '10.255.9.9', interface: 'wg-x' }]);
    s.update(update(['10.2.0.0/24']));
    await h.tick();
    expect(h.fib.table.get('10.2.0.0/24')?.nexthops).toEqual([{ address: '10.255.1.1', interface: 'wg-b' }]);
    expect((await h.agent.routes('10.2.0.0/24'))[0]).toMatchObject({ source: 'bgp', neighbor: 'b' });
    s.update(update([], ['10.2.0.0/24']));
    await h.tick();
    expect(h.fib.table.get('10.2.0.0/24')?.nexthops).toEqual([{ address: '10.255.9.9', interface: 'wg-x' }]);
    expect((await h.agent.routes('10.2.0.77'))[0]).toMatchObject({ prefix: '10.2.0.0/24', source: 'ospf', fib: true });
    ospf.push('10.9.0.0/24', null);
    await h.tick();
    expect(h.fib.table.has('10.9.0.0/24')).toBe(false);
    expect(h.agent.status().ospf).toMatchObject({ state: 'ok', frrVersion: '8.4.4' });
    await h.agent.stop();
  });

  it('VPP, BGP → OSPF: the routes BGP forwards are mirrored into the kernel for ospfd, not OSPF\'s own; a reload switches the mirror off and on', async () => {
    const ospf = new FakeOspf();
    const kernel = new FakeFib();
    const cfg = ospfCfg('vpp');
    cfg.ospf = { ...cfg.ospf!, redistributeBgp: true };
    cfg.dataplane = { ...cfg.dataplane, keepOnStop: false };
    const h = await harness(cfg, new FakeFib(), { value: [] }, ospf, kernel);
    const s = h.sessions.get('b')!;
    s.establish();
    s.update(update(['10.2.0.0/24', '10.3.0.0/24']));
    ospf.push('10.9.0.0/24', [{ address: '10.255.9.9', interface: 'wg-x' }]);
    await h.tick();
    const hop = [{ address: '10.255.1.1', interface: 'wg-b' }];
    expect(kernel.table.get('10.2.0.0/24')?.nexthops).toEqual(hop);
    expect(kernel.table.get('10.3.0.0/24')?.nexthops).toEqual(hop);
    // OSPF's own route is in VPP, never handed back to OSPF; nor the tunnel's host routes.
    expect(h.fib.table.has('10.9.0.0/24')).toBe(true);
    expect([...kernel.table.keys()].sort()).toEqual(['10.2.0.0/24', '10.3.0.0/24']);
    s.update(update([], ['10.3.0.0/24']));
    await h.tick();
    expect([...kernel.table.keys()]).toEqual(['10.2.0.0/24']);
    // An iBGP-like loss: OSPF takes the prefix when BGP withdraws it, and the mirror lets it go.
    ospf.push('10.2.0.0/24', [{ address: '10.255.9.9', interface: 'wg-x' }]);
    s.update(update([], ['10.2.0.0/24']));
    await h.tick();
    expect(kernel.table.size).toBe(0);
    s.update(update(['10.4.0.0/24']));
    await h.tick();
    expect([...kernel.table.keys()]).toEqual(['10.4.0.0/24']);
    h.next.config = { ...cfg, ospf: { ...cfg.ospf!, redistributeBgp: false } };
    expect(await h.agent.reload()).toMatchObject({ ok: true });
    expect(kernel.table.size).toBe(0);
    expect(h.fib.table.has('10.4.0.0/24')).toBe(true);
    h.next.config = cfg;
    expect(await h.agent.reload()).toMatchObject({ ok: true });
    expect([...kernel.table.keys()]).toEqual(['10.4.0.0/24']);
    expect(s.stops).toEqual([]);
    await h.agent.stop();
    expect(kernel.table.size).toBe(0);
  });

  it('VPP, BGP → OSPF with iBGP (200) and OSPF (110) on one prefix: the mirror lets go once OSPF\'s table has it, so zebra sends OSPF\'s route and the VPP FIB takes it', async () => {
    const ospf = new FakeOspf();
    const kernel = new FakeFib();
    const cfg = ospfCfg('vpp');
    cfg.ospf = { ...cfg.ospf!, redistributeBgp: true };
    cfg.neighbors = [neighbor('b', 1)];
    cfg.neighbors[0] = { ...cfg.neighbors[0]!, bgp: { ...cfg.neighbors[0]!.bgp!, asn: cfg.router.asn } };
    const h = await harness(cfg, new FakeFib(), { value: [] }, ospf, kernel);
    const s = h.sessions.get('b')!;
    s.establish();
    s.update(update(['10.6.0.0/24']));
    await h.tick();
    expect(kernel.table.has('10.6.0.0/24')).toBe(true);
    // zebra keeps our kernel route (distance 0): OSPF's route shows only in ospfd's table.
    ospf.tableOnly('10.6.0.0/24');
    await h.tick();
    expect(kernel.table.has('10.6.0.0/24')).toBe(false);
    expect(h.fib.table.get('10.6.0.0/24')?.nexthops).toEqual([{ address: '10.255.1.1', interface: 'wg-b' }]);
    ospf.push('10.6.0.0/24', [{ address: '10.255.9.9', interface: 'wg-x' }]);
    await h.tick();
    expect(h.fib.table.get('10.6.0.0/24')?.nexthops).toEqual([{ address: '10.255.9.9', interface: 'wg-x' }]);
    expect(kernel.table.has('10.6.0.0/24')).toBe(false);
    await h.agent.stop();
  });

  it('Linux: zebra installs OSPF routes itself; the agent shows them (source ospf) and writes none', async () => {
    const ospf = new FakeOspf();
    const h = await harness(ospfCfg('linux'), new FakeFib(), { value: [] }, ospf);
    ospf.push('10.9.0.0/24', [{ address: '10.255.1.1', interface: 'wg-b' }]);
    await h.tick();
    expect(h.fib.table.has('10.9.0.0/24')).toBe(false);
    expect((await h.agent.routes()).find((r) => r.prefix === '10.9.0.0/24')).toMatchObject({ source: 'ospf', neighbor: 'b', fib: true, fibDetail: null });
    await h.agent.stop();
  });

  it('OSPF → BGP: internal OSPF routes go to a neighbor with advertise-ospf, as ours; externals never (they may be our BGP routes)', async () => {
    const ospf = new FakeOspf();
    const cfg = ospfCfg('linux');
    cfg.neighbors = [neighbor('b', 1, { advertiseOspf: { prefixes: [{ prefix: '10.0.0.0/8', ge: 8, le: 24 }] } }), neighbor('c', 2)];
    const h = await harness(cfg, new FakeFib(), { value: [] }, ospf);
    const b = h.sessions.get('b')!;
    const c = h.sessions.get('c')!;
    b.establish();
    c.establish();
    await h.tick();
    b.sent.length = 0;
    c.sent.length = 0;
    ospf.externals.add('10.8.0.0/24');
    ospf.push('10.9.0.0/24', [{ address: '10.255.2.1', interface: 'wg-c' }]);
    ospf.push('10.8.0.0/24', [{ address: '10.255.2.1', interface: 'wg-c' }]);
    ospf.push('192.168.9.0/24', [{ address: '10.255.2.1', interface: 'wg-c' }]);
    // Split horizon: what OSPF reaches through b's own tunnel does not go back to b.
    ospf.push('10.7.0.0/24', [{ address: '10.255.1.1', interface: 'wg-b' }]);
    await h.tick();
    const sentTo = (s: ScriptedSession): string[] => s.sent.flatMap((u) => u.nlri);
    expect(sentTo(b)).toEqual(['10.9.0.0/24']);
    expect(b.sent[0]!.attributes.origin).toBe(2);
    expect(sentTo(c)).toEqual([]);
    b.sent.length = 0;
    // OSPF's path moves into b's tunnel: withdrawn from b (split horizon).
    ospf.push('10.9.0.0/24', [{ address: '10.255.1.1', interface: 'wg-b' }]);
    await h.tick();
    expect(b.sent.flatMap((u) => u.withdrawn)).toEqual(['10.9.0.0/24']);
    b.sent.length = 0;
    ospf.push('10.9.0.0/24', [{ address: '10.255.2.1', interface: 'wg-c' }]);
    await h.tick();
    expect(sentTo(b)).toEqual(['10.9.0.0/24']);
    b.sent.length = 0;
    ospf.push('10.9.0.0/24', null);
    await h.tick();
    expect(b.sent.flatMap((u) => u.withdrawn)).toEqual(['10.9.0.0/24']);
    await h.agent.stop();
  });

  it('a prefix connected on this router (zebra says so) is never taken from BGP: no loop when a neighbor sends our own LAN back', async () => {
    const ospf = new FakeOspf();
    ospf.connected.add('2001:db8:1::/64');
    const h = await harness(ospfCfg('linux'), new FakeFib(), { value: [] }, ospf);
    const s = h.sessions.get('b')!;
    s.establish();
    s.update({ type: MessageType.Update, withdrawn: [], attributes: { origin: 2, asPath: [{ type: 2, asns: [65002] }] }, nlri: [], mpReach: { afi: 2, safi: 1, nextHops: ['fd00:255:1::1'], nlri: ['2001:db8:1::/64', '2001:db8:9::/64'] } });
    await h.tick();
    expect(h.fib.table.has('2001:db8:9::/64')).toBe(true);
    expect(h.fib.table.has('2001:db8:1::/64')).toBe(false);
    expect((await h.agent.routes('2001:db8:1::/64'))[0]).toMatchObject({ source: 'bgp', fib: false, fibDetail: expect.stringMatching(/connected on this router/) });
    await h.agent.stop();
  });

  it('OSPF on Linux: no /32 for the peer (zebra needs the connected route), and no learned route may take that address', async () => {
    const cfg = ospfCfg('linux');
    cfg.neighbors = [
      { ...neighbor('b', 1), ospf: { area: '0.0.0.0', cost: null, helloInterval: 1, deadInterval: 4, passive: false, authentication: null } },
      neighbor('c', 2),
    ];
    const h = await harness(cfg, new FakeFib(), { value: [] }, new FakeOspf());
    expect(h.fib.table.has('10.255.1.1/32')).toBe(false);
    expect(h.fib.table.has('10.255.2.1/32')).toBe(true); // no OSPF on c: its host route as before
    const c = h.sessions.get('c')!;
    c.establish();
    c.update(update(['10.255.1.1/32']));
    await h.tick();
    expect(h.fib.table.has('10.255.1.1/32')).toBe(false);
    expect((await h.agent.routes('10.255.1.1/32'))[0]).toMatchObject({ fib: false, fibDetail: expect.stringMatching(/tunnel's own peer address/) });
    await h.agent.stop();
  });

  it('a reload that changes advertise-ospf re-exports to that neighbor without a session reset (withdrawals included)', async () => {
    const ospf = new FakeOspf();
    const cfg = ospfCfg('linux');
    cfg.neighbors = [neighbor('b', 1, { advertiseOspf: { prefixes: null } }), neighbor('c', 2)];
    const h = await harness(cfg, new FakeFib(), { value: [] }, ospf);
    const b = h.sessions.get('b')!;
    b.establish();
    ospf.push('10.9.0.0/24', [{ address: '10.255.2.1', interface: 'wg-c' }]);
    await h.tick();
    expect(b.sent.flatMap((u) => u.nlri)).toContain('10.9.0.0/24');
    b.sent.length = 0;
    const next = structuredClone(cfg);
    next.neighbors[0] = { ...next.neighbors[0]!, bgp: { ...next.neighbors[0]!.bgp!, advertiseOspf: null } };
    h.next.config = next;
    expect(await h.agent.reload()).toMatchObject({ ok: true, changed: [], ospf: ['b'] });
    expect(b.stops).toEqual([]);
    // Paced by its socket like any change (the event loop turns first).
    await h.tick();
    expect(b.sent.flatMap((u) => u.withdrawn)).toEqual(['10.9.0.0/24']);
    await h.agent.stop();
  });

  it('a reload hands the new OSPF settings to the bridge without touching the session', async () => {
    const ospf = new FakeOspf();
    const cfg = ospfCfg('linux');
    cfg.neighbors[0] = { ...cfg.neighbors[0]!, ospf: { area: '0.0.0.0', cost: 10, helloInterval: 1, deadInterval: 4, passive: false, authentication: null } };
    const h = await harness(cfg, new FakeFib(), { value: [] }, ospf);
    const next = structuredClone(cfg);
    next.neighbors[0] = { ...next.neighbors[0]!, ospf: { ...next.neighbors[0]!.ospf!, cost: 20 } };
    h.next.config = next;
    const r = await h.agent.reload();
    expect(r).toMatchObject({ ok: true, changed: [], ospf: ['b'] });
    expect(ospf.reconfigured).toBe(1);
    expect(h.sessions.get('b')!.stops).toEqual([]);
    await h.agent.stop();
  });
});

describe('Agent: a neighbor that runs OSPF only', () => {
  it('gets its tunnel and host routes, no BGP session; it is not a BGP neighbor in neighbors or status', async () => {
    const ospfOnly: NeighborConfig = {
      ...neighbor('o', 2),
      bgp: null,
      ospf: { area: '0.0.0.0', cost: null, helloInterval: 1, deadInterval: 4, passive: false, authentication: null },
    };
    const h = await harness(config([neighbor('b', 1), ospfOnly]));
    expect(h.wg.tunnels.has('wg-o')).toBe(true);
    // OSPF on Linux: the peer is reached by the connected /31 (zebra resolves OSPFv2 next hops only over it); the /128 stays.
    expect(h.fib.table.has('10.255.2.1/32')).toBe(false);
    expect(h.fib.table.has('fd00:255:2::1/128')).toBe(true);
    expect(h.sessions.has('o')).toBe(false);
    expect(h.listener.bindings.has('10.255.2.1')).toBe(false);
    expect(h.agent.neighbors().map((n) => n.name)).toEqual(['b']);
    expect(h.agent.status().neighbors).toEqual({ total: 1, established: 0, down: 1 });
    await h.agent.stop();
  });
});

describe('Agent: the dataplane going away', () => {
  it('watchers hear it when the VPP connection is lost, not at the next poll', async () => {
    const clock = new ManualClock();
    let lost: (() => void) | null = null;
    let health: 'ok' | 'down' = 'ok';
    const agent = new Agent(config([neighbor('b', 1)]), {
      clock,
      log: silentLogger(),
      wireguard: new FakeWireguard(),
      fib: new FakeFib(),
      privateKey: OUR_PRIVATE,
      publicKey: OUR_PUBLIC,
      loadConfig: async () => ({ ok: false, errors: [] }),
      managedInterfaces: { read: async () => [], write: async () => {} },
      dataplaneHealth: () => ({ state: health, detail: health === 'ok' ? null : 'VPP API connection lost', vppVersion: '26.06' }),
      onDataplaneLost: (cb) => {
        lost = cb;
        return () => (lost = null);
      },
      bgp: { listener: () => new FakeListener(), session: (c, h) => new ScriptedSession(c, h) },
    });
    await agent.start();
    clock.advance(50);
    await new Promise((r) => setImmediate(r));
    const seen: WatchEvent[] = [];
    agent.telemetry.watch((e) => seen.push(e));
    health = 'down';
    (lost as (() => void) | null)?.();
    expect(seen).toEqual([expect.objectContaining({ type: 'dataplane', state: 'down', detail: 'VPP API connection lost' })]);
    await agent.stop();
    expect(lost).toBeNull();
  });
});

describe('Agent: only our own routes', () => {
  it("a neighbor announcing its own tunnel /32 and withdrawing it: the tunnel's host route stays", async () => {
    const h = await harness(config([neighbor('b', 1)]));
    const s = h.sessions.get('b')!;
    expect(h.fib.table.get('10.255.1.1/32')).toEqual({ prefix: '10.255.1.1/32', nexthops: [{ interface: 'wg-b' }] });
    s.establish();
    s.update(update(['10.255.1.1/32', '10.2.0.0/24']));
    await h.tick();
    expect(h.fib.table.get('10.2.0.0/24')?.nexthops).toEqual([{ address: '10.255.1.1', interface: 'wg-b' }]);
    expect(h.fib.table.get('10.255.1.1/32')).toEqual({ prefix: '10.255.1.1/32', nexthops: [{ interface: 'wg-b' }] });
    expect((await h.agent.routes('10.255.1.1/32'))[0]).toMatchObject({ source: 'bgp', fib: false, fibDetail: expect.stringMatching(/tunnel host route/) });
    s.update(update([], ['10.255.1.1/32']));
    await h.tick();
    expect(h.fib.table.get('10.255.1.1/32')).toEqual({ prefix: '10.255.1.1/32', nexthops: [{ interface: 'wg-b' }] });
  });

  it('recursion guard: the endpoint is pinned to its underlay path, and a learned /32 of it never replaces the pin', async () => {
    const h = await harness(config([neighbor('b', 1)]));
    expect(h.fib.table.get('198.51.100.11/32')?.nexthops).toEqual([{ address: '198.51.100.254', interface: 'eth0' }]);
    const s = h.sessions.get('b')!;
    s.establish();
    s.update(update(['0.0.0.0/0', '198.51.100.0/24', '198.51.100.11/32']));
    await h.tick();
    expect(h.fib.table.get('0.0.0.0/0')?.nexthops).toEqual([{ address: '10.255.1.1', interface: 'wg-b' }]);
    expect(h.fib.table.get('198.51.100.11/32')?.nexthops).toEqual([{ address: '198.51.100.254', interface: 'eth0' }]);
    // The endpoint roams: the pin follows, the old one goes.
    h.wg.endpoints.set('wg-b', '198.51.100.99:40000');
    await h.tick(2_000);
    expect(h.fib.table.has('198.51.100.99/32')).toBe(true);
    expect(h.fib.table.get('198.51.100.11/32')?.nexthops).toEqual([{ address: '10.255.1.1', interface: 'wg-b' }]);
    // The underlay moves to another gateway: the pin follows once the burst is over.
    h.fib.underlay = [{ address: '198.51.100.253', interface: 'eth0' }];
    h.fib.underlayChanged?.();
    h.fib.underlayChanged?.();
    await h.tick(400);
    expect(h.fib.table.get('198.51.100.99/32')?.nexthops).toEqual([{ address: '198.51.100.254', interface: 'eth0' }]);
    await h.tick(200);
    expect(h.fib.table.get('198.51.100.99/32')?.nexthops).toEqual([{ address: '198.51.100.253', interface: 'eth0' }]);
    await h.agent.stop();
    expect(h.fib.underlayChanged).toBeNull();
  });
});

describe('Agent: pinned endpoint routes are never orphaned', () => {
  it('the pins are recorded; a restarted agent removes those of neighbors deleted while it was down (VPP cannot show them as ours)', async () => {
    const pins = { value: [] as Pin[] };
    const h = await harness(config([neighbor('b', 1), neighbor('c', 2)]), new FakeFib(), pins);
    expect(pins.value.map((p) => [p.neighbor, p.prefix])).toEqual([
      ['b', '198.51.100.11/32'],
      ['c', '198.51.100.12/32'],
    ]);
    await h.agent.stop();
    // Restarted with c removed from the config; the dataplane's dump does not list pins (as on VPP).
    const fib = new FakeFib();
    fib.dump = async () => [];
    fib.table.set('198.51.100.12/32', { prefix: '198.51.100.12/32', nexthops: [{ address: '198.51.100.254', interface: 'eth0' }] });
    const h2 = await harness(config([neighbor('b', 1)]), fib, pins);
    expect(fib.ops.filter((o) => o.op === 'delete').map((o) => (o.op === 'delete' ? o.prefix : ''))).toEqual(['198.51.100.12/32']);
    expect(fib.table.has('198.51.100.12/32')).toBe(false);
    expect(pins.value.map((p) => p.neighbor)).toEqual(['b']);
    await h2.agent.stop();
  });
});

describe('Agent: graceful restart (RFC 4724)', () => {
  it('§4.2 helper: a session that ends without a NOTIFICATION keeps its routes for the restart time, then withdraws them', async () => {
    const h = await harness(config([neighbor('b', 1)]));
    const s = h.sessions.get('b')!;
    s.establish();
    s.update(update(['10.2.0.0/24']));
    await h.tick();
    s.down('TCP: connection closed by peer', { notification: false });
    await h.tick(119_000);
    expect(h.fib.table.has('10.2.0.0/24')).toBe(true);
    await h.tick(1_000);
    expect(h.fib.table.has('10.2.0.0/24')).toBe(false);
  });

  it('§4.2 helper: after the restart, what the peer re-sends stays; the rest goes at its End-of-RIB', async () => {
    const h = await harness(config([neighbor('b', 1)]));
    const s = h.sessions.get('b')!;
    s.establish();
    s.update(update(['10.2.0.0/24', '10.3.0.0/24']));
    await h.tick();
    s.down('TCP: connection closed by peer', { notification: false });
    await h.tick(5_000);
    s.establish({ gracefulRestart: { restartTime: 120, restartState: true, families: [{ afi: 1, safi: 1, forwardingState: true }, { afi: 2, safi: 1, forwardingState: true }] } });
    s.update(update(['10.2.0.0/24']));
    await h.tick();
    expect(h.fib.table.has('10.3.0.0/24')).toBe(true);
    s.update(eor4);
    await h.tick();
    expect(h.fib.table.has('10.2.0.0/24')).toBe(true);
    expect(h.fib.table.has('10.3.0.0/24')).toBe(false);
    // No restart timer is left to fire later.
    await h.tick(200_000);
    expect(h.fib.table.has('10.2.0.0/24')).toBe(true);
  });

  it('§4.2 helper: a peer that restarts before it sent any route comes back (nothing was kept stale; the RIB holds no old session of it)', async () => {
    const h = await harness(config([neighbor('b', 1)]));
    const s = h.sessions.get('b')!;
    s.establish();
    await h.tick();
    // FRR reconnects right after its bgpd restart: the first session ends before any UPDATE.
    s.down('TCP: the peer restarted (new connection while Established)', { notification: false });
    await h.tick(1_000);
    s.establish({ gracefulRestart: { restartTime: 120, restartState: true, families: [{ afi: 1, safi: 1, forwardingState: true }, { afi: 2, safi: 1, forwardingState: true }] } });
    s.update(update(['10.2.0.0/24']));
    s.update(eor4);
    await h.tick();
    expect(h.fib.table.has('10.2.0.0/24')).toBe(true);
    // Its restart timer (120 s) finds the session up: nothing is withdrawn.
    await h.tick(200_000);
    expect(h.fib.table.has('10.2.0.0/24')).toBe(true);
  });

  it('§4.2: a NOTIFICATION ends it at once; so does a peer without graceful restart', async () => {
    const h = await harness(config([neighbor('b', 1), neighbor('c', 2)]));
    const b = h.sessions.get('b')!;
    const c = h.sessions.get('c')!;
    b.establish();
    c.establish({ gracefulRestart: null });
    b.update(update(['10.2.0.0/24']));
    c.update(update(['10.3.0.0/24']));
    await h.tick();
    b.down('received 6/2', { notification: true });
    c.down('TCP: connection closed by peer', { notification: false });
    await h.tick();
    expect(h.fib.table.has('10.2.0.0/24')).toBe(false);
    expect(h.fib.table.has('10.3.0.0/24')).toBe(false);
  });

  it('§4.1 restarting speaker: kept routes stay, R bit set, our table waits for the End-of-RIB, then stale routes are swept', async () => {
    const fib = new FakeFib();
    const kept = (prefix: string): FibRoute => ({ prefix, nexthops: [{ address: '10.255.1.1', interface: 'wg-b' }] });
    fib.table.set('10.2.0.0/24', kept('10.2.0.0/24'));
    fib.table.set('10.9.0.0/24', kept('10.9.0.0/24'));
    const h = await harness(config([neighbor('b', 1)]), fib);
    const s = h.sessions.get('b')!;
    expect(s.cfg.gracefulRestart?.state()).toEqual({ restarting: true, forwardingState: true });
    s.establish();
    await h.tick();
    expect(s.sent).toEqual([]);
    s.update(update(['10.2.0.0/24']));
    s.update(eor4);
    s.update(eor6);
    await h.tick();
    // Nothing of ours was rewritten; the stale one went; then our table and End-of-RIB.
    expect(fib.ops.filter((o) => o.op !== 'delete' && o.route.prefix === '10.2.0.0/24')).toEqual([]);
    expect(fib.table.has('10.9.0.0/24')).toBe(false);
    expect(fib.table.has('10.2.0.0/24')).toBe(true);
    expect(s.sent.some((u) => u.nlri.includes('10.1.0.0/24'))).toBe(true);
    expect(s.cfg.gracefulRestart?.state().restarting).toBe(false);
  });

  it('a FIB read empty at start is not read back at the End-of-RIB: nothing of an earlier run can be stale', async () => {
    const fib = new FakeFib();
    const h = await harness(config([neighbor('b', 1)]), fib);
    expect(fib.dumps).toBe(1);
    const s = h.sessions.get('b')!;
    s.establish();
    await h.tick();
    s.update(update(['10.2.0.0/24', '10.3.0.0/24']));
    s.update(eor4);
    s.update(eor6);
    await h.tick();
    expect(fib.table.has('10.2.0.0/24')).toBe(true);
    expect(fib.table.has('10.3.0.0/24')).toBe(true);
    expect(fib.dumps).toBe(1);
  });

  it('a FIB with our routes at start is read back at the End-of-RIB (the sweep)', async () => {
    const fib = new FakeFib();
    fib.table.set('10.9.0.0/24', { prefix: '10.9.0.0/24', nexthops: [{ address: '10.255.1.1', interface: 'wg-b' }] });
    const h = await harness(config([neighbor('b', 1)]), fib);
    const s = h.sessions.get('b')!;
    s.establish();
    await h.tick();
    s.update(eor4);
    s.update(eor6);
    await h.tick();
    expect(fib.dumps).toBe(2);
    expect(fib.table.has('10.9.0.0/24')).toBe(false);
  });

  it('the restart ends at the deadline when a neighbor never sends End-of-RIB (manual clock, 60 s)', async () => {
    const fib = new FakeFib();
    fib.table.set('10.9.0.0/24', { prefix: '10.9.0.0/24', nexthops: [{ address: '10.255.1.1', interface: 'wg-b' }] });
    const h = await harness(config([neighbor('b', 1)]), fib);
    const s = h.sessions.get('b')!;
    s.establish();
    await h.tick(59_000);
    expect(fib.table.has('10.9.0.0/24')).toBe(true);
    expect(s.sent).toEqual([]);
    await h.tick(1_000);
    expect(fib.table.has('10.9.0.0/24')).toBe(false);
    expect(s.sent.length).toBeGreaterThan(0);
  });

  it('stop with keep-on-stop closes graceful-restart sessions without a NOTIFICATION, others with a Cease', async () => {
    const h = await harness(config([neighbor('b', 1), neighbor('c', 2)]));
    h.sessions.get('b')!.establish();
    h.sessions.get('c')!.establish({ gracefulRestart: null });
    await h.agent.stop();
    expect(h.sessions.get('b')!.stops).toEqual(['silent']);
    expect(h.sessions.get('c')!.stops).toEqual(['cease: agent stopping']);
    // Routes and tunnels stay.
    expect(h.wg.calls.filter((c) => c.startsWith('remove'))).toEqual([]);
  });

  it('stop: the listener answers no new connection before the sessions close (a peer reconnects on our FIN), and closes after them', async () => {
    const h = await harness(config([neighbor('b', 1)]));
    const b = h.sessions.get('b')!;
    b.establish();
    const order: string[] = [];
    h.listener.stopAccepting = () => order.push(`stopAccepting, session stops so far: ${b.stops.length}`);
    h.listener.close = async () => {
      order.push(`close, session stops so far: ${b.stops.length}`);
    };
    await h.agent.stop();
    expect(order).toEqual(['stopAccepting, session stops so far: 0', 'close, session stops so far: 1']);
  });

  it('stop with keep-on-stop leaves every learned route in the FIB, also those of a session the stop ends with a Cease', async () => {
    const h = await harness(config([neighbor('c', 2)]));
    const c = h.sessions.get('c')!;
    c.establish({ gracefulRestart: null });
    // More than the change queue's threshold and the RIB's removal step (8 192): the Cease's
    // session-down withdrew these from the RIB, and a threshold flush wrote the deletes
    // despite the stop (a real VPP kept 91 808 of 100 000).
    const prefixes = Array.from({ length: 20_000 }, (_, i) => `10.${100 + (i >> 8)}.${i & 255}.0/24`);
    c.update(update(prefixes));
    await h.tick(1_000);
    const fib = h.fib;
    expect(prefixes.filter((p) => !fib.table.has(p))).toEqual([]);
    await h.agent.stop();
    expect(c.stops).toEqual(['cease: agent stopping']);
    expect(prefixes.filter((p) => !fib.table.has(p))).toEqual([]);
  });
});

describe('Agent: reload, resync and stop one at a time', () => {
  it('a stop asked during a reload waits for it; a reload after stop is refused', async () => {
    const h = await harness(config([neighbor('b', 1)], false));
    h.next.config = config([neighbor('b', 1), neighbor('c', 2)], false);
    const order: string[] = [];
    const reload = h.agent.reload().then((r) => order.push(`reload ${r.ok} ${r.added.join(',')}`));
    const stop = h.agent.stop().then(() => order.push('stop'));
    await Promise.all([reload, stop]);
    expect(order).toEqual(['reload true c', 'stop']);
    // keep-on-stop false: both tunnels went, including the one the reload added.
    expect(h.wg.calls.filter((c) => c.startsWith('remove')).sort()).toEqual(['remove wg-b', 'remove wg-c']);
    expect((await h.agent.reload()).ok).toBe(false);
  });
});

describe('Agent: tunnel changes in place on reload (issue 12)', () => {
  /** A FIB that records the tunnel MTUs it is told and the retunes asked. */
  class MtuFib extends FakeFib {
    readonly mtus = new Map<string, number | null>();
    retunes = 0;
    tunnelMtu(ifname: string, mtu: number | null): void {
      this.mtus.set(ifname, mtu);
    }
    async retune(): Promise<{ rewritten: number; failed: { prefix: string; error: string }[] }> {
      this.retunes++;
      return { rewritten: 0, failed: [] };
    }
  }

  it("a numbered neighbor's new public key and MTU: the peer and MTU change on its tunnel, its session and routes stay, the other neighbor is not touched", async () => {
    const fib = new MtuFib();
    const cfg = config([neighbor('b', 1), neighbor('c', 2)]);
    const h = await harness(cfg, fib);
    const b = h.sessions.get('b')!;
    const c = h.sessions.get('c')!;
    b.establish();
    c.establish();
    b.update(update(['10.9.0.0/24']));
    await h.tick();
    expect(fib.table.has('10.9.0.0/24')).toBe(true);
    expect(fib.mtus.get('wg-b')).toBe(1420);
    const retunesBefore = fib.retunes;
    const cSpec = h.wg.tunnels.get('wg-c');
    const next = structuredClone(cfg);
    const newKey = publicKeyOf(generatePrivateKey());
    next.neighbors[0] = { ...next.neighbors[0]!, publicKey: newKey, mtu: 1380 };
    h.next.config = next;
    expect(await h.agent.reload()).toMatchObject({ ok: true, changed: [], tunnels: ['b'] });
    expect(b.stops).toEqual([]);
    expect(h.sessions.get('b')).toBe(b);
    expect(h.wg.tunnels.get('wg-b')).toMatchObject({ peerPublicKey: newKey, mtu: 1380 });
    expect(h.wg.tunnels.get('wg-c')).toBe(cSpec);
    expect(fib.mtus.get('wg-b')).toBe(1380);
    expect(fib.retunes).toBe(retunesBefore + 1);
    await h.tick();
    expect(fib.table.has('10.9.0.0/24')).toBe(true);
    expect((await h.agent.tunnels()).find((t) => t.name === 'b')).toMatchObject({ publicKey: newKey, mtu: 1380 });
    await h.agent.stop();
  });

  it('our own new private key (read at reload): numbered tunnels take it in place, an unnumbered one restarts its session (new link-locals)', async () => {
    let key: Uint8Array = OUR_PRIVATE;
    let unreadable = false;
    const readPrivateKey = async (): Promise<Uint8Array> => {
      if (unreadable) throw new Error('wireguard.private-key-file: cannot read /etc/wgbgp/private.key: EACCES');
      return key;
    };
    const cfg = config([neighbor('b', 1), { ...neighbor('u', 2), tunnel: null }]);
    const h = await harness(cfg, new FakeFib(), { value: [] }, undefined, undefined, new FakeWireguard(), { readPrivateKey });
    const b = h.sessions.get('b')!;
    const u = h.sessions.get('u')!;
    b.establish();
    u.establish();
    await h.tick();
    const uPeer = h.wg.tunnels.get('wg-u')!.peerAddresses;
    // The same key: nothing to do.
    expect(await h.agent.reload()).toMatchObject({ ok: true, changed: [] });
    expect(await h.agent.reload()).not.toHaveProperty('tunnels');
    key = decodeKey(generatePrivateKey());
    expect(await h.agent.reload()).toMatchObject({ ok: true, changed: ['u'], tunnels: ['b'] });
    expect([...h.wg.tunnels.get('wg-b')!.privateKey]).toEqual([...key]);
    expect(b.stops).toEqual([]);
    expect(u.stops.length).toBe(1);
    expect(h.sessions.get('u')).not.toBe(u);
    expect(h.wg.tunnels.get('wg-u')!.peerAddresses).not.toEqual(uPeer);
    // An unreadable key file rejects the reload; the key in use stays.
    unreadable = true;
    expect(await h.agent.reload()).toEqual({ ok: false, errors: ['wireguard.private-key-file: cannot read /etc/wgbgp/private.key: EACCES'], added: [], removed: [], changed: [] });
    expect([...h.wg.tunnels.get('wg-b')!.privateKey]).toEqual([...key]);
    await h.agent.stop();
  });
});
