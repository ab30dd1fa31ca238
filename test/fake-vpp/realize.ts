/**
 * Mirrors the fake VPP's state into Linux so a lab over the fake really
 * converges. The fake's tables stay the source of truth; this is a one-way,
 * declarative reconcile run on every change through one async queue (so the
 * synchronous API handlers stay ordered and never wait on it):
 *
 * - a VPP WireGuard interface becomes a wireguard-go interface in the
 *   namespace, standing in for its linux-cp host interface: named after the
 *   pair's host_if_name, else the interface tag (the agent tags each VPP
 *   interface with the configured Linux name), else `wg<N>-<suffix>`. It is
 *   realized once it has a name from a pair or tag, or is admin-up; a name
 *   change recreates it. Configured through the UAPI socket with the private
 *   key, listen port and peers (keys in hex, lab-facts §2); `addrgenmode none`
 *   before up; interface addresses become Linux addresses (an IPv6 link-local
 *   set in VPP as a /128 becomes a /64); admin state becomes link state;
 * - API-sourced FIB routes become kernel routes with `proto 202` (the agent
 *   uses 201), via the realized interfaces (table 0 → main, N → N), as VPP
 *   forwards them (FakeState.forwardingOfPaths: recursive paths resolved,
 *   the best resolved preference); one that forwards nowhere is a blackhole;
 * - peers' current endpoint and handshake are read back (UAPI get) every
 *   `pollMs` and on peer dumps: endpoint roaming shows in the dump, and
 *   ESTABLISHED follows last_handshake_time_sec != 0 (with a peer event on
 *   each flip, through the state's hooks).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import { formatIp, parseIp, parsePrefix } from '#lib/prefix';
import { DEFAULT_RUN_DIR, UapiClient, UapiConnectError, type UapiLine } from '#wg/uapi';
import { PEER_ESTABLISHED, type FakeInterface, type FakeState } from './state.js';

const run = promisify(execFile);

/** The kernel route protocol the fake's realized routes carry (the agent uses 201). */
export const REALIZED_ROUTE_PROTO = 202;

export interface RealizeOptions {
  /** Namespace to realize in; null = the current one. */
  netns: string | null;
  /** Unique per fake instance: keeps auto-generated interface names unique on the host. */
  suffix: string;
  log: (line: string) => void;
  /** Peer status poll period; default 1000 ms. */
  pollMs?: number;
  /** wireguard-go binary; default 'wireguard-go'. */
  binary?: string;
}

interface RealizedInterface {
  swIfIndex: number;
  /** FakeInterface.serial: a recreated VPP interface (same sw_if_index) is realized anew. */
  serial: number;
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
  alive: boolean;
  stderr: string;
  port: number;
  up: boolean;
  /** Linux addresses we added. */
  addresses: Set<string>;
  /** FakePeer.serial → public key hex, as configured (a removed + re-added peer is a new serial). */
  peers: Map<number, string>;
  ifindex: number | null;
}

const NAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;

export class Realizer {
  /** What could not be realized (also logged). */
  readonly errors: string[] = [];
  /** By VPP sw_if_index. */
  private readonly realized = new Map<number, RealizedInterface>();
  /** Installed kernel routes: key → the `ip route replace` arguments. */
  private readonly routes = new Map<string, { family: 4 | 6; prefix: string; table: number; args: string[] }>();
  private readonly uapi = new UapiClient({ runDir: DEFAULT_RUN_DIR, timeoutMs: 2000 });
  private readonly binary: string;
  private dirty = false;
  private loop: Promise<void> | null = null;
  private polling: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly state: FakeState,
    private readonly opts: RealizeOptions,
  ) {
    this.binary = opts.binary ?? 'wireguard-go';
    this.timer = setInterval(() => void this.refreshPeers(), opts.pollMs ?? 1000);
    this.timer.unref();
  }

  /** The Linux name a VPP interface is realized as (null: not realized). */
  linuxName(swIfIndex: number): string | null {
    return this.realized.get(swIfIndex)?.name ?? null;
  }

  /** Requests a reconcile (coalesced). */
  schedule(): void {
    if (this.stopped) return;
    this.dirty = true;
    this.loop ??= this.runLoop().finally(() => {
      this.loop = null;
    });
  }

  /** Resolves once every requested reconcile has run. */
  async settled(): Promise<void> {
    while (this.loop) await this.loop;
  }

  /** Stops polling and removes everything realized. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.settled();
    await this.polling;
    for (const r of [...this.realized.values()]) await this.teardown(r);
    for (const [key, r] of [...this.routes]) {
      await this.ip(r.family, ['route', 'del', r.prefix, ...tableArgs(r.table), 'proto', String(REALIZED_ROUTE_PROTO)]).catch(() => undefined);
      this.routes.delete(key);
    }
  }

  /** Reads endpoints and handshakes back from wireguard-go into the state (no overlap with itself). */
  refreshPeers(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.polling ??= this.poll().finally(() => {
      this.polling = null;
    });
    return this.polling;
  }

  // ─── reconcile ─────────────────────────────────────────────────────────

  private async runLoop(): Promise<void> {
    while (this.dirty && !this.stopped) {
      this.dirty = false;
      try {
        await this.reconcile();
      } catch (e) {
        this.error(`reconcile failed: ${(e as Error).message}`);
      }
    }
  }

  private desiredName(itf: FakeInterface): string | null {
    const pair = this.state.lcpPairs.get(itf.swIfIndex);
    if (pair && NAME_RE.test(pair.hostIfName)) return pair.hostIfName;
    if (itf.tag && NAME_RE.test(itf.tag)) return itf.tag;
    if (!itf.adminUp) return null;
    return `wg${itf.wireguard!.instance}-${this.opts.suffix}`.slice(0, 15);
  }

  private async reconcile(): Promise<void> {
    const want = new Map<number, { itf: FakeInterface; name: string }>();
    for (const itf of this.state.interfaces.values()) {
      if (!itf.wireguard) continue;
      const name = this.desiredName(itf);
      if (name !== null) want.set(itf.swIfIndex, { itf, name });
    }
    for (const r of [...this.realized.values()]) {
      const w = want.get(r.swIfIndex);
      if (!w || w.name !== r.name || w.itf.serial !== r.serial || !r.alive) await this.teardown(r);
    }
    for (const { itf, name } of want.values()) {
      if (this.stopped) return;
      let r = this.realized.get(itf.swIfIndex);
      if (!r) {
        const created = await this.create(itf, name);
        if (!created) continue;
        r = created;
      }
      await this.syncInterface(itf, r);
    }
    await this.syncRoutes();
  }

  private async create(itf: FakeInterface, name: string): Promise<RealizedInterface | null> {
    const sock = this.uapi.socketPath(name);
    if (existsSync(sock)) {
      try {
        await this.uapi.get(name);
        this.error(`${name}: a live wireguard-go already uses this name; not realizing ${itf.name}`);
        return null;
      } catch (e) {
        if (!(e instanceof UapiConnectError)) throw e;
        await unlink(sock).catch(() => undefined);
      }
    }
    const args = ['-f', name];
    const child = this.opts.netns === null
      ? spawn(this.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('ip', ['netns', 'exec', this.opts.netns, this.binary, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const r: RealizedInterface = {
      swIfIndex: itf.swIfIndex,
      serial: itf.serial,
      name,
      child,
      exited: new Promise<void>((resolve) => child.once('exit', () => resolve())),
      alive: true,
      stderr: '',
      port: -1,
      up: false,
      addresses: new Set(),
      peers: new Map(),
      ifindex: null,
    };
    const keep = (d: Buffer): void => {
      r.stderr = (r.stderr + d.toString('utf8')).slice(-2000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.on('error', (e) => {
      r.stderr += `\n${e.message}`;
    });
    void r.exited.then(() => {
      r.alive = false;
      if (!this.stopped && this.realized.get(r.swIfIndex) === r) {
        this.log(`${name}: wireguard-go exited`);
        this.schedule();
      }
    });
    const deadline = Date.now() + 5000;
    for (;;) {
      if (!r.alive) {
        this.error(`${name}: wireguard-go exited at start: ${r.stderr.trim().slice(-300)}`);
        return null;
      }
      if (existsSync(sock) && (await this.ip(4, ['link', 'show', 'dev', name]).then(() => true, () => false))) break;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        this.error(`${name}: no wireguard-go socket/link within 5 s: ${r.stderr.trim().slice(-300)}`);
        return null;
      }
      await sleep(20);
    }
    this.realized.set(itf.swIfIndex, r);
    await this.ip(4, ['link', 'set', 'dev', name, 'addrgenmode', 'none']).catch((e: Error) => this.error(`${name}: addrgenmode: ${e.message}`));
    try {
      const out = await this.ip(4, ['-j', 'link', 'show', 'dev', name]);
      const idx = (JSON.parse(out) as { ifindex?: number }[])[0]?.ifindex;
      if (typeof idx === 'number') r.ifindex = idx;
    } catch {
      // only informative
    }
    const pair = this.state.lcpPairs.get(itf.swIfIndex);
    if (pair && r.ifindex !== null) pair.vifIndex = r.ifindex;
    this.log(`${name}: realized VPP ${itf.name} (sw_if_index ${itf.swIfIndex})`);
    return r;
  }

  private async teardown(r: RealizedInterface): Promise<void> {
    this.realized.delete(r.swIfIndex);
    for (const [key, route] of [...this.routes]) {
      if (route.args.includes(r.name)) this.routes.delete(key);
    }
    if (r.alive) {
      r.child.kill('SIGTERM');
      const timer = setTimeout(() => r.child.kill('SIGKILL'), 2000);
      await r.exited;
      clearTimeout(timer);
    }
    await unlink(this.uapi.socketPath(r.name)).catch(() => undefined);
    this.log(`${r.name}: removed`);
  }

  private async syncInterface(itf: FakeInterface, r: RealizedInterface): Promise<void> {
    const wg = itf.wireguard!;
    const lines: UapiLine[] = [];
    if (r.port !== wg.port) {
      lines.push(['private_key', wg.privateKey.toString('hex')], ['listen_port', String(wg.port)]);
    }
    const peers = [...this.state.peers.values()].filter((p) => p.swIfIndex === itf.swIfIndex);
    const live = new Set(peers.map((p) => p.serial));
    for (const [serial, hex] of [...r.peers]) {
      if (!live.has(serial)) {
        lines.push(['public_key', hex], ['remove', 'true']);
        r.peers.delete(serial);
      }
    }
    const added: [number, string][] = [];
    for (const p of peers) {
      if (r.peers.has(p.serial)) continue;
      const hex = p.publicKey.toString('hex');
      lines.push(['public_key', hex]);
      if (p.endpoint !== null && p.port !== 0) {
        lines.push(['endpoint', p.endpoint.includes(':') ? `[${p.endpoint}]:${p.port}` : `${p.endpoint}:${p.port}`]);
      }
      lines.push(['persistent_keepalive_interval', String(p.persistentKeepalive)], ['replace_allowed_ips', 'true']);
      for (const a of p.allowedIps) lines.push(['allowed_ip', a]);
      added.push([p.serial, hex]);
    }
    if (lines.length > 0) {
      try {
        await this.uapi.set(r.name, lines);
        r.port = wg.port;
        for (const [idx, hex] of added) r.peers.set(idx, hex);
      } catch (e) {
        this.error(`${r.name}: UAPI set failed: ${(e as Error).message}`);
      }
    }

    const want = new Set<string>();
    for (const a of itf.addresses) want.add(a);
    if (itf.linkLocal !== null) want.add(`${itf.linkLocal}/64`);
    for (const a of want) {
      if (r.addresses.has(a)) continue;
      try {
        await this.ip(familyOf(a), ['addr', 'replace', a, 'dev', r.name]);
        r.addresses.add(a);
      } catch (e) {
        this.error(`${r.name}: address ${a}: ${(e as Error).message}`);
      }
    }
    for (const a of [...r.addresses]) {
      if (want.has(a)) continue;
      await this.ip(familyOf(a), ['addr', 'del', a, 'dev', r.name]).catch(() => undefined);
      r.addresses.delete(a);
    }

    if (r.up !== itf.adminUp) {
      try {
        await this.ip(4, ['link', 'set', 'dev', r.name, itf.adminUp ? 'up' : 'down']);
        r.up = itf.adminUp;
        // The kernel flushes a downed link's routes: install them again on up.
        for (const [key, route] of [...this.routes]) if (route.args.includes(r.name)) this.routes.delete(key);
      } catch (e) {
        this.error(`${r.name}: link ${itf.adminUp ? 'up' : 'down'}: ${(e as Error).message}`);
      }
    }
  }

  private async syncRoutes(): Promise<void> {
    const want = new Map<string, { family: 4 | 6; prefix: string; table: number; args: string[] }>();
    for (const t of this.state.fib.values()) {
      for (const e of t.entries.values()) {
        const paths = e.sources.api;
        if (!paths || paths.length === 0) continue;
        // What VPP forwards the entry's traffic with (recursive paths resolved, preference applied).
        const f = this.state.forwardingOfPaths(t.family, paths);
        if (f.kind === 'local') continue;
        const hops: string[][] = [];
        const blackhole = f.kind === 'drop';
        for (const leaf of f.kind === 'forward' ? f.via : []) {
          const via = leaf.nh === null ? [] : ['via', ...(familyOfIp(leaf.nh) !== t.family ? [familyOfIp(leaf.nh) === 6 ? 'inet6' : 'inet'] : []), leaf.nh];
          const r = this.realized.get(leaf.swIfIndex);
          if (!r || !r.up) continue;
          hops.push([...via, 'dev', r.name, 'weight', String(leaf.weight)]);
        }
        let route: string[];
        if (hops.length === 1) route = hops[0]!.slice(0, -2);
        else if (hops.length > 1) route = hops.flatMap((h) => ['nexthop', ...h]);
        else if (blackhole) route = ['blackhole'];
        else continue;
        const args = route[0] === 'blackhole'
          ? ['route', 'replace', 'blackhole', e.prefix, ...tableArgs(t.tableId), 'proto', String(REALIZED_ROUTE_PROTO)]
          : ['route', 'replace', e.prefix, ...tableArgs(t.tableId), 'proto', String(REALIZED_ROUTE_PROTO), ...route];
        want.set(`${t.family}|${t.tableId}|${e.prefix}`, { family: t.family, prefix: e.prefix, table: t.tableId, args });
      }
    }
    for (const [key, r] of [...this.routes]) {
      if (want.has(key)) continue;
      await this.ip(r.family, ['route', 'del', r.prefix, ...tableArgs(r.table), 'proto', String(REALIZED_ROUTE_PROTO)]).catch(() => undefined);
      this.routes.delete(key);
    }
    for (const [key, w] of want) {
      const have = this.routes.get(key);
      if (have && have.args.join(' ') === w.args.join(' ')) continue;
      try {
        await this.ip(w.family, w.args);
        this.routes.set(key, w);
      } catch (e) {
        this.error(`route ${w.prefix}: ${(e as Error).message}`);
      }
    }
  }

  // ─── peer status ───────────────────────────────────────────────────────

  private async poll(): Promise<void> {
    for (const r of [...this.realized.values()]) {
      if (!r.alive) continue;
      let dev;
      try {
        dev = await this.uapi.get(r.name);
      } catch {
        continue;
      }
      if (this.stopped) return;
      const itf = this.state.interfaces.get(r.swIfIndex);
      if (!itf) continue;
      for (const up of dev.peers) {
        const peer = [...this.state.peers.values()].find(
          (p) => p.swIfIndex === r.swIfIndex && p.publicKey.toString('hex') === up.publicKey,
        );
        if (!peer) continue;
        const ep = up.endpoint === null ? null : splitEndpoint(up.endpoint);
        if (ep && (ep.ip !== peer.endpoint || ep.port !== peer.port)) this.state.setPeerEndpoint(peer, ep.ip, ep.port);
        this.state.setPeerFlag(peer, PEER_ESTABLISHED, up.lastHandshakeTimeSec !== 0 && itf.adminUp);
      }
    }
  }

  // ─── helpers ───────────────────────────────────────────────────────────

  private async ip(family: 4 | 6, args: string[]): Promise<string> {
    const full = [...(family === 6 ? ['-6'] : []), ...(this.opts.netns === null ? [] : ['-n', this.opts.netns]), ...args];
    try {
      return (await run('ip', full, { encoding: 'utf8', timeout: 5000 })).stdout;
    } catch (e) {
      const err = e as Error & { stderr?: string };
      throw new Error(`ip ${full.join(' ')}: ${err.stderr?.trim() || err.message}`);
    }
  }

  private log(line: string): void {
    this.opts.log(`realize: ${line}`);
  }

  private error(line: string): void {
    this.errors.push(line);
    this.log(line);
  }
}

function tableArgs(tableId: number): string[] {
  return tableId === 0 ? [] : ['table', String(tableId)];
}

function familyOf(cidr: string): 4 | 6 {
  return parsePrefix(cidr, true)?.family ?? 4;
}

function familyOfIp(addr: string): 4 | 6 {
  return parseIp(addr)?.family ?? 4;
}

/** "1.2.3.4:51820" / "[fe80::1%wg0]:51820" → address (zone dropped) and port. */
function splitEndpoint(s: string): { ip: string; port: number } | null {
  const m = /^\[([^\]%]+)(?:%[^\]]*)?\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  if (!m) return null;
  const ip = parseIp(m[1]!);
  return ip ? { ip: formatIp(ip.bytes), port: Number(m[2]) } : null;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
