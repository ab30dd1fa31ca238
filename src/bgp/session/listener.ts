/**
 * The agent's BGP listening sockets. design.md: a BGP peer is whoever holds
 * the WireGuard key of its tunnel, nobody else, so a neighbor's connections
 * are accepted only by a listener bound to that neighbor's tunnel interface
 * (SO_BINDTODEVICE) and session address, with GTSM and TCP MD5 set on it; a
 * segment that arrives through any other interface never reaches it, whatever
 * its source address claims.
 *
 * Beside those, one catch-all listener holds the port (SO_REUSEPORT: the
 * kernel hands a connection to the most specific listener, so the bound ones
 * win). What reaches it came some other way — from the underlay, or to an
 * address no neighbor uses — and is refused at once without an OPEN (TCP
 * reset), counted, and logged once per source per minute. It also makes a
 * port taken by another daemon an error at start, not a silent half start.
 *
 * A listener goes in two steps (stopAccepting, then close): first it answers
 * no new SYN, then it waits for the handshakes it had answered to complete,
 * hands those connections over (a stopped session closes them, with a FIN or
 * reset from a socket that carries the TTL and key of the neighbor), and only
 * then closes. Closed at once, it would leave such a handshake half done: the
 * peer, established, sends its OPEN into a namespace whose only answer is the
 * kernel's reset, which a GTSM (RFC 5082) or TCP MD5 (RFC 2385) peer discards,
 * and waits in OpenSent for its large hold timer (RFC 4271 §8.2.2: 4 minutes).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Server } from 'node:net';
import type { Socket } from 'node:net';
import type { Clock } from '#lib/clock';
import type { Logger } from '#lib/log';
import { BoundedCache } from '#lib/bounded-cache';
import { normalizeAddress } from './address.js';
import type { BgpSession } from './session.js';
import { pendingHandshakes } from './netstat.js';
import { closeSocket, familyOf, interfaceIndex, listenSocket, refuseHandshakes, SocketError } from './tcp.js';

export interface ListenerOptions {
  /** Default 179. 0 picks a free port (see `port`). */
  port?: number;
  /** Address of the catch-all listener; default any (IPv6 dual stack, IPv4 alone without IPv6). */
  host?: string;
}

/** Where and how a neighbor's connections are accepted. */
export interface ListenBinding {
  /** The neighbor's tunnel interface: connections through any other are never seen. */
  device: string;
  /** Our session address on it (the bind address), or null for any address of the device. */
  localAddress: string | null;
  /** GTSM (RFC 5082) minimum TTL / hop limit of the peer's segments; absent: off. */
  minTtl?: number;
  /** TCP MD5 (RFC 2385) key shared with the peer; absent: none. */
  md5Key?: string;
}

/** Connections refused since start, for status and the spoofing tests. */
export interface RefusalCounters {
  /** Refused by the catch-all or a neighbor's listener (wrong source). */
  total: number;
  /** Refused by the catch-all: not through a neighbor's tunnel. */
  notThroughTunnel: number;
  /** Through a neighbor's tunnel but from another source address than the neighbor's. */
  wrongSource: number;
  /** The last refused source address, or null. */
  lastSource: string | null;
}

/** A port taken by another process, or another failure to listen: the agent cannot run. */
export class ListenerError extends Error {}

/** One log line per source per minute, however many connections it makes. */
const REFUSAL_LOG_INTERVAL_MS = 60_000;
/** Sources remembered for the rate limit; more are forgotten (and logged again). */
const REFUSAL_SOURCES_MAX = 4096;
/**
 * The longest a closing listener waits for the handshakes it answered: a
 * round trip of up to 3 s, or a lost final ACK answered again after the
 * kernel's first SYN-ACK retransmission (1 s) within 2 s.
 */
const HANDSHAKE_DRAIN_MAX_MS = 3_000;
const HANDSHAKE_DRAIN_POLL_MS = 10;

interface Bound {
  session: BgpSession;
  peer: string;
  binding: ListenBinding;
  server: Server | null;
  /** The server's listening descriptor (Node's from listen() on), -1 without a server. */
  fd: number;
  /** Interface index the socket is bound to: a tunnel made anew has another one. */
  ifindex: number;
  error: string | null;
}

export class BgpListener {
  private readonly log: Logger;
  private readonly clock: Clock | null;
  private readonly bound = new Map<string, Bound>();
  private catchAll: Server | null = null;
  private catchAllFd = -1;
  private listening = false;
  private readonly recent = new BoundedCache<string, { at: number; suppressed: number }>(REFUSAL_SOURCES_MAX);
  private readonly counters: RefusalCounters = { total: 0, notThroughTunnel: 0, wrongSource: 0, lastSource: null };

  constructor(
    deps: { log: Logger; clock?: Clock },
    private readonly opts: ListenerOptions = {},
  ) {
    this.log = deps.log;
    this.clock = deps.clock ?? null;
  }

  /** The port every listener of this agent uses; 0 before listen(). */
  get port(): number {
    const a = this.catchAll?.address();
    return a && typeof a === 'object' ? a.port : 0;
  }

  get refused(): RefusalCounters {
    return { ...this.counters };
  }

  /** Why a neighbor's listener is not up (its tunnel interface is missing, …), or null. */
  bindingError(peerAddress: string): string | null {
    return this.bound.get(normalizeAddress(peerAddress))?.error ?? null;
  }

  /**
   * Holds the port with the catch-all, then binds the neighbors registered so
   * far. Throws ListenerError when the port cannot be had.
   */
  async listen(): Promise<void> {
    if (this.catchAll) return;
    const port = this.opts.port ?? 179;
    let fd: number;
    try {
      fd = this.catchAllSocket(port);
    } catch (err) {
      const taken = err instanceof SocketError && err.code === 'EADDRINUSE';
      throw new ListenerError(
        taken
          ? `BGP port ${port} is in use by another process (another BGP daemon?): ${(err as Error).message}`
          : `cannot listen on BGP port ${port}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    this.catchAll = await this.serve(fd, (sock) => this.refuse(sock, 'notThroughTunnel', null));
    this.catchAllFd = fd;
    this.listening = true;
    this.log.info({ port: this.port }, 'BGP listener up; neighbors are accepted only through their tunnels');
    for (const b of this.bound.values()) await this.bind(b);
  }

  /**
   * Accepts `session`'s connections from `peerAddress`, through
   * `binding.device` only. When the interface is not there yet the binding
   * is retried by refresh().
   */
  async register(session: BgpSession, peerAddress: string, binding: ListenBinding): Promise<void> {
    const peer = normalizeAddress(peerAddress);
    await this.unregister(peerAddress);
    const b: Bound = { session, peer, binding, server: null, fd: -1, ifindex: 0, error: null };
    this.bound.set(peer, b);
    if (this.listening) await this.bind(b);
  }

  async unregister(peerAddress: string): Promise<void> {
    const peer = normalizeAddress(peerAddress);
    const b = this.bound.get(peer);
    if (!b) return;
    this.bound.delete(peer);
    if (b.server === null) return;
    // Connections whose handshake completes meanwhile still reach the session (stopped next by the caller).
    this.refuseHandshakesOn(b.fd);
    await this.drainHandshakes(b.binding.localAddress);
    await closeServer(b.server);
    b.server = null;
    b.fd = -1;
  }

  /**
   * Binds what failed before (the tunnel interface appeared) and binds anew
   * where the interface was made again (a new index: the old socket would
   * never see a segment). Called from the agent's tunnel poll.
   */
  async refresh(): Promise<void> {
    if (!this.listening) return;
    for (const b of [...this.bound.values()]) {
      const index = interfaceIndex(b.binding.device);
      if (b.server !== null && index === b.ifindex) continue;
      // A new index: the old interface is gone, and with it every handshake through it.
      await closeServer(b.server);
      b.server = null;
      b.fd = -1;
      await this.bind(b);
    }
  }

  /**
   * The first step of a stop: no new connection from here on (a SYN is
   * dropped; the peer retries it, and reaches the next run of the agent).
   * Handshakes answered before still complete and are handed to their
   * sessions as usual. No neighbor is bound anew until close().
   */
  stopAccepting(): void {
    if (!this.listening) return;
    this.listening = false;
    this.refuseHandshakesOn(this.catchAllFd);
    for (const b of this.bound.values()) this.refuseHandshakesOn(b.fd);
  }

  /** stopAccepting(), then, once the answered handshakes are through, the listening sockets close. */
  async close(): Promise<void> {
    this.stopAccepting();
    if (this.catchAll !== null) await this.drainHandshakes(null);
    const servers = [this.catchAll, ...[...this.bound.values()].map((b) => b.server)];
    this.catchAll = null;
    this.catchAllFd = -1;
    for (const b of this.bound.values()) {
      b.server = null;
      b.fd = -1;
    }
    // Accepted connections belong to their sessions; this only stops new ones.
    await Promise.all(servers.map(closeServer));
  }

  private refuseHandshakesOn(fd: number): void {
    if (fd < 0) return;
    try {
      refuseHandshakes(fd);
    } catch (err) {
      // Without the filter the listener still closes; only a handshake in flight may be left half done.
      this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'BGP listener: new connections not refused before closing');
    }
  }

  /**
   * Waits (at most HANDSHAKE_DRAIN_MAX_MS) until no handshake answered by a
   * listener of ours on `localAddress` (null: any) is waiting for its final
   * ACK; each completes into the accept queue and is handed over meanwhile.
   */
  private async drainHandshakes(localAddress: string | null): Promise<void> {
    const port = this.port;
    const address = localAddress === null ? null : normalizeAddress(localAddress);
    let pending = pendingHandshakes(port, address);
    if (pending === 0) return;
    this.log.info({ port, pending }, 'BGP listener closing: waiting for the handshakes it answered to complete');
    const deadline = performance.now() + HANDSHAKE_DRAIN_MAX_MS;
    while (pending > 0 && performance.now() < deadline) {
      await sleep(HANDSHAKE_DRAIN_POLL_MS);
      pending = pendingHandshakes(port, address);
    }
    // One more turn of the event loop: what completed last is accepted and handed over before the close.
    await sleep(HANDSHAKE_DRAIN_POLL_MS);
    if (pending > 0) this.log.warn({ port, pending }, 'BGP listener closed with handshakes still incomplete');
  }

  private catchAllSocket(port: number): number {
    const host = this.opts.host;
    if (host !== undefined) return listenSocket({ family: familyOf(host), address: host, port, reusePort: true });
    try {
      return listenSocket({ family: 6, address: '', port, reusePort: true, dualStack: true });
    } catch (err) {
      // A host without IPv6 cannot open an IPv6 socket; IPv4 alone is better than no listener.
      if (!(err instanceof SocketError && (err.code === 'EAFNOSUPPORT' || err.code === 'EADDRNOTAVAIL'))) throw err;
      return listenSocket({ family: 4, address: '', port, reusePort: true });
    }
  }

  private async bind(b: Bound): Promise<void> {
    const { binding } = b;
    const family = familyOf(binding.localAddress ?? b.peer);
    let fd: number;
    try {
      fd = listenSocket({
        family,
        address: binding.localAddress ?? '',
        port: this.port,
        reusePort: true,
        device: binding.device,
        ...(binding.minTtl !== undefined ? { minTtl: binding.minTtl } : {}),
        ...(binding.md5Key !== undefined ? { md5: { peer: b.peer, key: binding.md5Key } } : {}),
      });
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      if (b.error !== text) this.log.warn({ peer: b.peer, device: binding.device, err: text }, 'BGP listener for the neighbor not bound yet; retrying');
      b.error = text;
      return;
    }
    b.ifindex = interfaceIndex(binding.device);
    b.error = null;
    // The neighbor may have been unregistered while this was bound.
    if (this.bound.get(b.peer) !== b || !this.listening) {
      closeSocket(fd);
      return;
    }
    b.server = await this.serve(fd, (sock) => this.incoming(b, sock));
    b.fd = fd;
    // The stop began while this was being bound.
    if (!this.listening) this.refuseHandshakesOn(fd);
  }

  private serve(fd: number, onConnection: (sock: Socket) => void): Promise<Server> {
    return new Promise<Server>((resolve, reject) => {
      const server = new Server({ noDelay: true }, (sock) => {
        try {
          onConnection(sock);
        } catch (err) {
          this.log.error({ err: err instanceof Error ? err.message : String(err) }, 'BGP connection not handed over');
          sock.destroy();
        }
      });
      const onError = (err: Error): void => {
        server.close();
        closeSocket(fd);
        reject(err);
      };
      server.once('error', onError);
      server.listen({ fd }, () => {
        server.off('error', onError);
        server.on('error', (err) => this.log.error({ err: err.message }, 'BGP listener error'));
        resolve(server);
      });
    });
  }

  private incoming(b: Bound, sock: Socket): void {
    const remote = normalizeAddress(sock.remoteAddress ?? '');
    if (remote !== b.peer) {
      this.refuse(sock, 'wrongSource', b.binding.device);
      return;
    }
    b.session.acceptConnection(sock);
  }

  /** Closes without a byte of BGP (a TCP reset), counts, and logs at a bounded rate. */
  private refuse(sock: Socket, why: 'notThroughTunnel' | 'wrongSource', device: string | null): void {
    const source = normalizeAddress(sock.remoteAddress ?? '?');
    sock.on('error', () => {});
    sock.resetAndDestroy();
    this.counters.total++;
    this.counters[why]++;
    this.counters.lastSource = source;
    const now = this.clock?.now() ?? performance.now();
    const seen = this.recent.get(source);
    if (seen && now - seen.at < REFUSAL_LOG_INTERVAL_MS) {
      seen.suppressed++;
      return;
    }
    this.recent.set(source, { at: now, suppressed: 0 });
    this.log.warn(
      {
        source,
        local: normalizeAddress(sock.localAddress ?? '?'),
        ...(device ? { device } : {}),
        reason: why === 'wrongSource' ? 'through the tunnel but not from the neighbor' : 'not through a neighbor tunnel',
        ...(seen ? { suppressedSinceLastLine: seen.suppressed } : {}),
        refusedTotal: this.counters.total,
      },
      'BGP connection refused',
    );
  }
}

/**
 * Stops accepting. Not waiting for the server's 'close': that comes only once
 * every accepted connection has ended, and those belong to the sessions (a
 * neighbor is unregistered before its session stops). The listening
 * descriptor itself is closed at once.
 */
function closeServer(s: Server | null): Promise<void> {
  s?.close();
  return Promise.resolve();
}
