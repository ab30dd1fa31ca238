/**
 * The FPM listener: the I/O edge of the OSPF bridge. zebra (FRR with
 * `-M dplane_fpm_nl` and `fpm address 127.0.0.1 port 2620`) connects as a TCP
 * client and streams its FIB; this accepts one connection at a time and feeds
 * the bytes through the splitter and decoder into an FpmTable.
 *
 * - A new connection replaces the current one, which is closed: zebra
 *   reconnects that way (a changed `fpm` setting, a restart whose old socket
 *   has not timed out).
 * - Nothing is ever written to zebra: for this use FPM is one-way (zebra reads
 *   and discards whatever it is sent).
 * - Memory is bounded by one partial frame (the FPM length field is 16 bits)
 *   per connection; a stream that is not FPM closes the connection with the
 *   reason logged, and zebra's reconnect (3 s later) resends everything.
 * - Logs: connects, disconnects and resync summaries at info; never a line
 *   per route.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '#lib/log';
import { decodeFpmPayload, FpmDecodeError, FpmFramingError, FpmSplitter, type FpmMessage } from './fpm-codec.js';
import type { FpmTable, FpmTableEvent } from './fpm-table.js';
import { errnoCode } from '#lib/errno';

export const FPM_DEFAULT_HOST = '127.0.0.1';
/** zebra's default FPM port (dplane_fpm_nl's SOUTHBOUND_DEFAULT_PORT). */
export const FPM_DEFAULT_PORT = 2620;

export interface FpmListenerOptions {
  table: FpmTable;
  log: Logger;
  /** Default 127.0.0.1: zebra runs on the same host. */
  host?: string;
  /** Default 2620; 0 picks a free port (tests). */
  port?: number;
}

export interface FpmListenerStatus {
  /** "127.0.0.1:2620" while listening, else null. */
  listening: string | null;
  /** zebra's address and port while connected. */
  peer: string | null;
  bytes: number;
  frames: number;
  /** Connections closed because their bytes were not FPM. */
  framingErrors: number;
  /** Connections closed because a newer one arrived. */
  replaced: number;
}

interface Connection {
  socket: Socket;
  splitter: FpmSplitter;
  peer: string;
  decodeErrors: number;
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export class FpmListener {
  private readonly table: FpmTable;
  private readonly log: Logger;
  private readonly host: string;
  private readonly port: number;
  private server: Server | null = null;
  private current: Connection | null = null;
  private unwatch: (() => void) | null = null;
  private readonly counts = { bytes: 0, frames: 0, framingErrors: 0, replaced: 0 };

  constructor(opts: FpmListenerOptions) {
    this.table = opts.table;
    this.log = opts.log;
    this.host = opts.host ?? FPM_DEFAULT_HOST;
    this.port = opts.port ?? FPM_DEFAULT_PORT;
  }

  /** Listens; rejects with a readable Error when the address is taken or unusable. */
  start(): Promise<void> {
    if (this.server) return Promise.resolve();
    const server = createServer((socket) => this.accept(socket));
    const where = hostPort(this.host, this.port);
    return new Promise<void>((resolve, reject) => {
      server.once('error', (err) => {
        reject(new Error(errnoCode(err) === 'EADDRINUSE' ? `ospf fpm: ${where} is in use by another process` : `ospf fpm: ${where}: ${err.message}`));
      });
      server.listen(this.port, this.host, () => {
        server.removeAllListeners('error');
        server.on('error', (err) => this.log.error({ err }, 'ospf fpm: listener error'));
        this.server = server;
        this.unwatch = this.table.watch((e) => this.onTableEvent(e));
        this.log.info({ address: this.status().listening }, 'ospf fpm: listening for zebra');
        resolve();
      });
    });
  }

  /** Stops listening and closes zebra's connection (the table then holds its routes, see FpmTable). */
  async close(): Promise<void> {
    const conn = this.current;
    this.current = null;
    if (conn) {
      conn.socket.destroy();
      this.table.disconnect();
    }
    this.unwatch?.();
    this.unwatch = null;
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The bound address (the real port when 0 was asked for), or null. */
  address(): { host: string; port: number } | null {
    const a = this.server?.address();
    return a && typeof a === 'object' ? { host: a.address, port: a.port } : null;
  }

  get connected(): boolean {
    return this.current !== null;
  }

  status(): FpmListenerStatus {
    const a = this.address();
    return { listening: a ? hostPort(a.host, a.port) : null, peer: this.current?.peer ?? null, ...this.counts };
  }

  private accept(socket: Socket): void {
    const peer = hostPort(socket.remoteAddress ?? '?', socket.remotePort ?? 0);
    const previous = this.current;
    if (previous) {
      this.counts.replaced++;
      this.log.info({ peer, previous: previous.peer }, 'ospf fpm: a new zebra connection replaces the current one');
      this.current = null;
      previous.socket.destroy();
    }
    const conn: Connection = { socket, splitter: new FpmSplitter(), peer, decodeErrors: 0 };
    this.current = conn;
    this.table.connect();
    this.log.info({ peer }, 'ospf fpm: zebra connected');
    socket.on('data', (chunk: Buffer) => this.receive(conn, chunk));
    socket.on('error', (err) => {
      if (this.current === conn) this.log.warn({ peer, err: err.message }, 'ospf fpm: connection error');
    });
    socket.on('close', () => {
      if (this.current !== conn) return;
      this.current = null;
      this.table.disconnect();
      this.log.info({ peer }, 'ospf fpm: zebra disconnected; its routes are kept while it reconnects');
    });
  }

  private receive(conn: Connection, chunk: Buffer): void {
    if (this.current !== conn) return;
    this.counts.bytes += chunk.length;
    let payloads: Buffer[];
    try {
      payloads = conn.splitter.push(chunk);
    } catch (e) {
      if (!(e instanceof FpmFramingError)) throw e;
      this.counts.framingErrors++;
      this.log.warn({ peer: conn.peer, reason: e.reason }, `ospf fpm: closing the connection: ${e.message}`);
      conn.socket.destroy();
      return;
    }
    this.counts.frames += payloads.length;
    const messages: FpmMessage[] = [];
    for (const payload of payloads) {
      try {
        for (const m of decodeFpmPayload(payload)) messages.push(m);
      } catch (e) {
        if (!(e instanceof FpmDecodeError)) throw e;
        this.table.noteDecodeError();
        // The first of a connection at warn; the rest only count (a stream of them would flood the log).
        const level = conn.decodeErrors++ === 0 ? 'warn' : 'debug';
        this.log[level]({ peer: conn.peer, head: payload.subarray(0, 64).toString('hex') }, `ospf fpm: frame skipped: ${e.message}`);
      }
    }
    if (messages.length > 0) this.table.apply(messages);
  }

  private onTableEvent(e: FpmTableEvent): void {
    if (e.kind === 'resync-done') {
      this.log.info(
        { routes: e.routes, withdrawn: e.withdrawn, ms: e.ms, reason: e.reason },
        `ospf fpm: zebra's resend is over: ${e.routes} routes, ${e.withdrawn} stale withdrawn`,
      );
      if (e.unresolved > 0) {
        this.log.warn(
          { unresolved: e.unresolved },
          'ospf fpm: routes name next-hop groups zebra did not send (kernel nexthop objects off?); set `no fpm use-next-hop-groups` in zebra',
        );
      }
    } else {
      this.log.warn({ withdrawn: e.withdrawn }, 'ospf fpm: zebra did not come back in time; its routes are withdrawn');
    }
  }
}
