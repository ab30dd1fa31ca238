/**
 * The VPP dataplane: one VppConnection shared by the WireGuard backend
 * (src/wg/vpp.ts) and the FIB backend (src/fib/vpp.ts), their state kept
 * in step with VPP's lifetime, and a health summary for `wgbgp status`.
 *
 * Lifecycle: start() starts the connection (it reconnects with back-off). On
 * every connect the message set is checked (a changed or missing message
 * makes the dataplane `down` with the list), the interface map is loaded
 * from VPP's dumps (adoption), the FIB table is created, and then the onReset
 * callbacks run: the agent re-ensures every tunnel (adopting what matches)
 * and re-sends its whole FIB. This includes the first connect (ensures that
 * failed while VPP was unreachable are retried) and a VPP restart (VPP lost
 * every object). On disconnect everything known is dropped and health is
 * `down`; backend calls throw "VPP API not connected: …" (before the first
 * connection they wait up to `connectWaitMs` for it).
 *
 * The agent must construct the VppConnection with
 * `required: VPP_REQUIRED_MESSAGES, optional: VPP_OPTIONAL_MESSAGES`; the
 * dataplane checks the set itself too, so a connection made without them
 * still reports an incompatible VPP instead of failing later.
 */
import type { Logger } from '#lib/log';
import type { LinkOps } from '#netlink/types';
import { VppFib } from '#fib/vpp';
import type { TunnelSpec } from '#wg/types';
import { errorText, isApiError, normCidr, VppTunnelError, VppWireguard, type LcpPair, type VppLinuxCp } from '#wg/vpp';
import { checkCrcs, type VppClient } from './client.js';
import type { VppValue } from './codec.js';
import type { VppConnection } from './connection.js';
import { VppError, VppIncompatibleError } from './errors.js';

/** Every message the backends send; VPP must offer each with our CRC. */
export const VPP_REQUIRED_MESSAGES: readonly string[] = [
  'show_version',
  'sw_interface_dump',
  'sw_interface_set_flags',
  'sw_interface_add_del_address',
  'sw_interface_tag_add_del',
  'sw_interface_set_unnumbered',
  'sw_interface_set_mtu',
  'sw_interface_ip6_enable_disable',
  'ip_address_dump',
  'ip_route_add_del',
  'ip_route_dump',
  'ip_table_add_del',
  'wireguard_interface_create',
  'wireguard_interface_delete',
  'wireguard_interface_dump',
  'wireguard_peer_add',
  'wireguard_peer_remove',
  'wireguard_peers_dump',
  'want_wireguard_peer_events',
];

/** linux-cp's messages: absent when the plugin is not loaded (health says so when linux-cp is wanted). */
export const LCP_MESSAGES: readonly string[] = ['lcp_itf_pair_add_del', 'lcp_itf_pair_get'];
/** Optional: without it the recursion guard cannot pin endpoints in table 0 (status says so). */
export const VPP_LOOKUP_MESSAGES: readonly string[] = ['ip_route_lookup', 'ip_route_lookup_reply'];

/** Optional: without it the FIB cannot tell its PIC indirection tables are its own, and writes routes without them. */
export const VPP_TABLE_MESSAGES: readonly string[] = ['ip_table_dump', 'ip_table_details'];

export const VPP_OPTIONAL_MESSAGES: readonly string[] = [...LCP_MESSAGES, ...VPP_LOOKUP_MESSAGES, ...VPP_TABLE_MESSAGES];

export const LINUX_CP_MISSING =
  'linux-cp plugin not loaded in VPP: BGP sessions cannot reach the tunnels (set dataplane.vpp.linux-cp: false and arrange the control-plane path yourself)';

export interface VppDataplaneOptions {
  /** Already constructed by the agent, not yet started. */
  connection: VppConnection;
  log: Logger;
  /** dataplane.vpp.linux-cp */
  linuxCp: boolean;
  /** Namespace given to lcp_itf_pair_add_del (null/'' = VPP's default). */
  linuxCpNetns: string | null;
  /** dataplane.vpp.table-id: learned routes and host routes go here. */
  tableId: number;
  /** Netlink in the agent's namespace (the linux-cp host side); null when linux-cp is off. */
  hostLinks: LinkOps | null;
  /** Before the first connection, how long backend calls wait for it. Default 3000 ms. */
  connectWaitMs?: number;
  /** How long a new linux-cp host interface may take to show in the agent's namespace. Default 2000 ms. */
  hostLinkWaitMs?: number;
  /** Wall clock for latestHandshake (tests). */
  now?: () => Date;
}

export type VppHealth = { state: 'ok' | 'degraded' | 'down'; detail: string | null; vppVersion: string | null };

/** A backend call while VPP's API is not connected (or not loaded yet). */
export class VppNotConnectedError extends VppError {
  override name = 'VppNotConnectedError';
}

export class VppDataplane {
  readonly wireguard: VppWireguard;
  readonly fib: VppFib;
  private readonly conn: VppConnection;
  private readonly log: Logger;
  private client: VppClient | null = null;
  private loading = false;
  private started = false;
  private closed = false;
  private everReady = false;
  /** The message-set check of the connected VPP failed: why. */
  private incompatible: string | null = null;
  private lcpMissing = false;
  private readonly problems = new Map<string, string>();
  private readonly resetCbs = new Set<() => void>();
  private waiters: (() => void)[] = [];
  private readonly unsubs: (() => void)[] = [];
  private resetScheduled = false;

  constructor(private readonly opts: VppDataplaneOptions) {
    this.conn = opts.connection;
    this.log = opts.log;
    const report = (key: string, problem: string | null): void => this.report(key, problem);
    this.wireguard = new VppWireguard({
      log: opts.log,
      ready: () => this.ready(),
      current: () => this.current(),
      linuxCp: opts.linuxCp ? new LinuxCp(opts.linuxCpNetns || '', opts.hostLinks, opts.hostLinkWaitMs ?? 2000) : null,
      report,
      interfaceReplaced: () => this.scheduleReset(),
      beforeDelete: async (client, sw) => {
        const n = await this.fib.purgeInterface(client, sw);
        if (n > 0) this.log.info({ swIfIndex: sw, routes: n }, 'routes via a VPP WireGuard interface about to be deleted removed');
      },
      ...(opts.now ? { now: opts.now } : {}),
    });
    this.fib = new VppFib({ log: opts.log, ready: () => this.ready(), tableId: opts.tableId, interfaces: this.wireguard, report });
    this.unsubs.push(
      this.conn.onConnected((c) => this.connected(c)),
      this.conn.onDisconnected((reason) => this.disconnected(reason)),
    );
  }

  /** Starts the connection (it reconnects with back-off). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.conn.start();
    const c = this.conn.client;
    if (c && this.client === null && !this.loading) void this.connected(c);
  }

  health(): VppHealth {
    const vppVersion = this.conn.version;
    if (this.incompatible !== null || this.conn.state === 'incompatible') {
      return { state: 'down', detail: this.incompatible ?? this.conn.lastError, vppVersion };
    }
    if (this.client === null || this.client.isClosed) {
      let detail = this.conn.lastError ?? (this.started ? 'connecting to the VPP API' : 'VPP dataplane not started');
      if (this.loading) detail = 'VPP API connected, loading its state';
      else if (this.problems.has('load')) detail = this.problems.get('load')!;
      return { state: 'down', detail, vppVersion };
    }
    const reasons: string[] = [];
    if (this.lcpMissing) reasons.push(LINUX_CP_MISSING);
    reasons.push(...this.problems.values());
    return reasons.length > 0 ? { state: 'degraded', detail: reasons.join('; '), vppVersion } : { state: 'ok', detail: null, vppVersion };
  }

  /** Runs after every (re)connect once the interface map is reloaded, and after an interface had to be recreated. */
  onReset(cb: () => void): () => void {
    this.resetCbs.add(cb);
    return () => this.resetCbs.delete(cb);
  }

  /** Stops the connection; tunnels and routes stay in VPP (keep-on-stop). */
  async close(): Promise<void> {
    this.closed = true;
    for (const u of this.unsubs.splice(0)) u();
    this.client = null;
    this.wake();
    await this.conn.stop();
  }

  // ─── connection events ─────────────────────────────────────────────────

  private async connected(client: VppClient): Promise<void> {
    if (this.closed) return;
    this.loading = true;
    this.client = null;
    const mismatched = checkCrcs(client.table, VPP_REQUIRED_MESSAGES);
    if (mismatched.length > 0) {
      this.incompatible = new VppIncompatibleError(mismatched).message;
      this.loading = false;
      this.log.error(this.incompatible);
      this.wake();
      return;
    }
    this.incompatible = null;
    this.lcpMissing = this.opts.linuxCp && !LCP_MESSAGES.every((n) => client.has(n));
    if (this.lcpMissing) this.log.error(LINUX_CP_MISSING);
    try {
      await this.wireguard.load(client);
      await this.fib.load(client);
    } catch (err) {
      const text = `loading VPP state failed: ${errorText(err)}`;
      this.log.error(text);
      this.problems.set('load', text);
      this.loading = false;
      this.wake();
      // A fresh connection (with back-off) tries again.
      if (!client.isClosed) void client.close();
      return;
    }
    this.problems.delete('load');
    this.problems.delete('fib');
    this.loading = false;
    if (client.isClosed || this.closed) {
      this.wake();
      return;
    }
    this.client = client;
    this.everReady = true;
    this.wake();
    this.fireReset();
  }

  private disconnected(reason: string): void {
    this.log.warn({ reason }, 'VPP API lost: tunnels and routes are unknown until it is back');
    this.client = null;
    this.incompatible = null;
    this.wireguard.lost();
    this.fib.lost();
  }

  // ─── for the backends ──────────────────────────────────────────────────

  private current(): VppClient {
    const c = this.client;
    if (c && !c.isClosed) return c;
    throw this.notConnected();
  }

  private async ready(): Promise<VppClient> {
    const c = this.client;
    if (c && !c.isClosed) return c;
    const mayCome = this.started && !this.closed && this.incompatible === null &&
      (this.loading || (!this.everReady && this.conn.state === 'connecting'));
    if (mayCome) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, this.opts.connectWaitMs ?? 3000);
        timer.unref?.();
        const waiter = (): void => done();
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.waiters.push(waiter);
      });
      const again = this.client;
      if (again && !again.isClosed) return again;
    }
    throw this.notConnected();
  }

  private notConnected(): VppNotConnectedError {
    const why = this.incompatible ?? this.problems.get('load') ?? this.conn.lastError ??
      (this.closed ? 'closed' : this.started ? 'connecting' : 'the VPP dataplane was not started');
    return new VppNotConnectedError(`VPP API not connected: ${why}`);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private report(key: string, problem: string | null): void {
    if (problem === null) this.problems.delete(key);
    else this.problems.set(key, problem);
  }

  private fireReset(): void {
    for (const cb of [...this.resetCbs]) {
      try {
        cb();
      } catch (err) {
        this.log.error({ err: errorText(err) }, 'VPP reset handler failed');
      }
    }
  }

  /** An interface was recreated: routes via its old sw_if_index must be written again. */
  private scheduleReset(): void {
    if (this.resetScheduled) return;
    this.resetScheduled = true;
    setImmediate(() => {
      this.resetScheduled = false;
      if (this.client && !this.closed) this.fireReset();
    });
  }
}

// ─── linux-cp ──────────────────────────────────────────────────────────────

const NO_INDEX = 0xffffffff;
/** lcp_itf_host_type: TAP is refused on wg (-73, fact sheet §7.1). */
const LCP_HOST_TUN = 1;
const RV_INVALID_SW_IF_INDEX = -2;
const RV_SYSCALL_ERROR_1 = -11;
const RV_VALUE_EXIST = -81;

const num = (v: VppValue | undefined): number => (typeof v === 'number' ? v : 0);
const str = (v: VppValue | undefined): string => (typeof v === 'string' ? v : '');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * For every tunnel a linux-cp pair (TUN, host name = the tunnel's configured
 * name, in `netns`), and on the host side, in the agent's namespace, the
 * same tunnel addresses and link up: design.md sets them on both sides and
 * does not rely on linux-nl. (addrgenmode cannot be set on an interface VPP
 * creates before it is up.)
 */
class LinuxCp implements VppLinuxCp {
  constructor(
    private readonly netns: string,
    private readonly hostLinks: LinkOps | null,
    private readonly hostLinkWaitMs: number,
  ) {}

  available(client: VppClient): boolean {
    return LCP_MESSAGES.every((n) => client.has(n));
  }

  /** lcp_itf_pair_get with its cursor (v1: v2 with ~0 answers with the wrong reply id, fact sheet §7.1). */
  async pairs(client: VppClient): Promise<Map<number, LcpPair>> {
    const out = new Map<number, LcpPair>();
    let cursor = 0;
    for (let round = 0; round < 1000; round++) {
      const { reply, details } = await client.stream('lcp_itf_pair_get', { cursor });
      for (const d of details) {
        out.set(num(d.phy_sw_if_index), { hostIfName: str(d.host_if_name), hostIfType: num(d.host_if_type), netns: str(d.netns) });
      }
      const next = num(reply.cursor);
      if (details.length === 0 || next === NO_INDEX || next === cursor) break;
      cursor = next;
    }
    return out;
  }

  async converge(
    client: VppClient,
    t: { swIfIndex: number; tag: string; pair: LcpPair | null },
    spec: TunnelSpec,
    previous: TunnelSpec | null,
  ): Promise<boolean> {
    let changed = false;
    const want: LcpPair = { hostIfName: spec.interface, hostIfType: LCP_HOST_TUN, netns: this.netns };
    const p = t.pair;
    if (p && (p.hostIfName !== want.hostIfName || p.hostIfType !== want.hostIfType || p.netns !== want.netns)) {
      await this.remove(client, t);
      changed = true;
    }
    let fresh = false;
    if (!t.pair) {
      try {
        await client.request('lcp_itf_pair_add_del', { is_add: true, sw_if_index: t.swIfIndex, ...pairValues(want) });
        fresh = true;
      } catch (err) {
        if (!isApiError(err, RV_VALUE_EXIST)) {
          const hint = isApiError(err, RV_SYSCALL_ERROR_1) ? ' (linux-cp could not create the host tun: is /dev/vhost-net available to VPP?)' : '';
          throw new VppTunnelError(t.tag, `linux-cp pair: ${errorText(err)}${hint}`);
        }
      }
      t.pair = want;
      changed = true;
    }
    if (this.hostLinks && (await this.convergeHost(this.hostLinks, spec, previous, fresh))) changed = true;
    return changed;
  }

  async remove(client: VppClient, t: { swIfIndex: number; pair: LcpPair | null }): Promise<void> {
    if (!t.pair) return;
    await client.request('lcp_itf_pair_add_del', { is_add: false, sw_if_index: t.swIfIndex, ...pairValues(t.pair) }).catch((err: unknown) => {
      if (!isApiError(err, RV_INVALID_SW_IF_INDEX)) throw err;
    });
    t.pair = null;
  }

  /** The host interface (agent's namespace): the tunnel addresses and MTU as in VPP, link up. */
  private async convergeHost(links: LinkOps, spec: TunnelSpec, previous: TunnelSpec | null, fresh: boolean): Promise<boolean> {
    const name = spec.interface;
    let info = await links.link(name);
    const deadline = Date.now() + (fresh ? this.hostLinkWaitMs : 0);
    while (!info && Date.now() < deadline) {
      await sleep(50);
      info = await links.link(name);
    }
    if (!info) {
      throw new VppTunnelError(
        name,
        `linux-cp host interface ${name} is not in the agent's network namespace (dataplane.vpp.linux-cp-netns "${this.netns}"): BGP cannot use the tunnel`,
      );
    }
    let changed = false;
    const have = new Set((await links.addresses(name)).map(normCidr));
    const wanted = new Set(spec.addresses.map(normCidr));
    for (const a of spec.addresses) {
      if (have.has(normCidr(a))) continue;
      await links.addressAdd(name, a).catch((err: unknown) => {
        if ((err as { code?: string }).code !== 'EEXIST') throw err;
      });
      changed = true;
    }
    for (const a of previous?.addresses ?? []) {
      if (wanted.has(normCidr(a)) || !have.has(normCidr(a))) continue;
      await links.addressDelete(name, a).catch((err: unknown) => {
        if ((err as { code?: string }).code !== 'EADDRNOTAVAIL') throw err;
      });
      changed = true;
    }
    // linux-cp makes the host tun with VPP's MTU of the moment: the agent's own TCP must see the tunnel's.
    if (info.mtu !== spec.mtu) {
      await links.linkSetMtu(name, spec.mtu);
      changed = true;
    }
    if (!info.up) {
      await links.linkSetUp(name);
      changed = true;
    }
    return changed;
  }
}

function pairValues(p: LcpPair): { host_if_name: string; host_if_type: number; netns: string } {
  return { host_if_name: p.hostIfName, host_if_type: p.hostIfType, netns: p.netns };
}
