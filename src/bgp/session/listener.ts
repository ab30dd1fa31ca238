/**
 * The one BGP listening socket of the agent: hands each incoming connection to
 * the session whose peer address it comes from, and closes the rest at once.
 */
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import type { Logger } from '#lib/log';
import { normalizeAddress } from './address.js';
import type { BgpSession } from './session.js';

export interface ListenerOptions {
  /** Default 179. 0 picks a free port (see `port`). */
  port?: number;
  /** Default '::' (dual stack: IPv4 peers arrive as ::ffff:a.b.c.d). */
  host?: string;
}

export class BgpListener {
  private readonly log: Logger;
  private readonly sessions = new Map<string, BgpSession>();
  private server: Server | null = null;

  constructor(
    deps: { log: Logger },
    private readonly opts: ListenerOptions = {},
  ) {
    this.log = deps.log;
  }

  register(session: BgpSession, peerAddress: string): void {
    this.sessions.set(normalizeAddress(peerAddress), session);
  }

  unregister(peerAddress: string): void {
    this.sessions.delete(normalizeAddress(peerAddress));
  }

  /** The bound port (useful with port 0); 0 before listen(). */
  get port(): number {
    const a = this.server?.address();
    return a && typeof a === 'object' ? (a as AddressInfo).port : 0;
  }

  async listen(): Promise<void> {
    if (this.server) return;
    const port = this.opts.port ?? 179;
    try {
      this.server = await this.bind(this.opts.host ?? '::', port);
    } catch (err) {
      // A host without IPv6 cannot bind '::'; IPv4 alone is better than no listener.
      const code = (err as NodeJS.ErrnoException).code;
      if (this.opts.host !== undefined || (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL')) throw err;
      this.server = await this.bind('0.0.0.0', port);
    }
    this.log.info({ port: this.port, host: this.opts.host ?? '::' }, 'BGP listener up');
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = null;
    // Accepted connections belong to their sessions; this only stops new ones.
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private bind(host: string, port: number): Promise<Server> {
    return new Promise<Server>((resolve, reject) => {
      const server = createServer({ noDelay: true }, (sock) => this.incoming(sock));
      const onError = (err: Error): void => {
        server.close();
        reject(err);
      };
      server.once('error', onError);
      server.listen({ host, port }, () => {
        server.off('error', onError);
        server.on('error', (err) => this.log.error({ err: err.message }, 'BGP listener error'));
        resolve(server);
      });
    });
  }

  private incoming(sock: Socket): void {
    try {
      const remote = sock.remoteAddress;
      const session = remote === undefined ? undefined : this.sessions.get(normalizeAddress(remote));
      if (!session) {
        this.log.info({ remote }, 'BGP connection from an unknown peer refused');
        sock.on('error', () => {});
        sock.destroy();
        return;
      }
      session.acceptConnection(sock);
    } catch (err) {
      this.log.error({ err: err instanceof Error ? err.message : String(err) }, 'BGP connection not handed over');
      sock.destroy();
    }
  }
}
