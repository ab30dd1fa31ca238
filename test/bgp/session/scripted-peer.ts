/**
 * A peer on raw sockets that decides connection collisions the way BIRD 2 does
 * (proto/bgp/packets.c, bgp_rx_open), but only when the test tells it to read
 * the next message of a connection. The test thereby fixes the order in which
 * the peer reads its two sockets — the order a real BIRD leaves to its poll loop,
 * which is what made the §6.8 race with BIRD happen about one run in twelve.
 */
import { connect, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { buildOpen, CeaseSubcode, decodeMessage, encodeMessage, MessageFramer } from '#bgp/wire/index';
import { ErrorCode, MessageType } from '#bgp/wire/types';
import type { BgpMessage, OpenMessage } from '#bgp/wire/types';
import { bgpIdToNumber } from '#bgp/session/address';
import { waitFor } from './helpers.js';

const CTX = { fourOctetAs: true };

/** BIRD's per-connection states that matter here. */
export type PeerConnState = 'OpenSent' | 'OpenConfirm' | 'Established' | 'Closed';

export class PeerConn {
  state: PeerConnState = 'OpenSent';
  /** Everything the session sent on this connection, read or not. */
  readonly received: BgpMessage[] = [];
  private readable = 0;
  private eof = false;

  constructor(
    readonly sock: Socket,
    /** The peer dialled it (BIRD's outgoing_conn), rather than accepted it. */
    readonly peerInitiated: boolean,
  ) {
    const framer = new MessageFramer();
    sock.on('data', (chunk: Buffer) => {
      for (const f of framer.push(chunk)) this.received.push(decodeMessage(f, CTX).message);
    });
    sock.on('error', () => {});
    sock.on('close', () => (this.eof = true));
  }

  /** The next message the peer has not read yet; null once the session closed the connection. */
  async next(): Promise<BgpMessage | null> {
    await waitFor(() => this.readable < this.received.length || this.eof, 'a message from the session');
    return this.readable < this.received.length ? this.received[this.readable++]! : null;
  }

  /** Something to read now: a message, or the end of the connection. */
  get readyToRead(): boolean {
    return this.readable < this.received.length || (this.eof && this.state !== 'Closed');
  }

  /** Waits until the session has sent (not: the peer has read) a message of this type. */
  async arrived(type: MessageType): Promise<void> {
    await waitFor(() => this.received.some((m) => m.type === type), `message type ${type} from the session`);
  }

  send(m: BgpMessage): void {
    if (this.state !== 'Closed') this.sock.write(encodeMessage(m, CTX));
  }

  /** bgp_error(conn, 6, 7): NOTIFICATION, then close. */
  cease(): void {
    this.send({ type: MessageType.Notification, code: ErrorCode.Cease, subcode: CeaseSubcode.ConnectionCollisionResolution, data: new Uint8Array(0) });
    this.state = 'Closed';
    this.sock.end();
  }
}

export interface PeerIdentity {
  routerId: string;
  asn: number;
  /** The session's identity, for the collision rule. */
  remoteRouterId: string;
  remoteAsn: number;
}

export class ScriptedPeer {
  readonly conns: PeerConn[] = [];
  private readonly pending: PeerConn[] = [];

  private constructor(
    private readonly server: Server,
    private readonly id: PeerIdentity,
  ) {}

  static async listen(id: PeerIdentity): Promise<ScriptedPeer> {
    const server = createServer({ noDelay: true });
    const peer = new ScriptedPeer(server, id);
    server.on('connection', (sock) => {
      const c = new PeerConn(sock, false);
      peer.conns.push(c);
      peer.pending.push(c);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    return peer;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** The next connection the session dialled. */
  async accepted(): Promise<PeerConn> {
    await waitFor(() => this.pending.length > 0, 'a connection from the session');
    return this.pending.shift()!;
  }

  async dial(port: number): Promise<PeerConn> {
    const sock = connect({ host: '127.0.0.1', port, noDelay: true });
    const c = new PeerConn(sock, true);
    this.conns.push(c);
    await new Promise<void>((r) => sock.once('connect', () => r()));
    return c;
  }

  /** The peer's OPEN; `more` adds capabilities (graceful restart). */
  open(more: Partial<Parameters<typeof buildOpen>[0]> = {}): OpenMessage {
    return buildOpen({ asn: this.id.asn, holdTime: 90, bgpId: this.id.routerId, families: [{ afi: 1, safi: 1 }], routeRefresh: true, ...more });
  }

  /** Reads one message on `c` and acts on it as BIRD would. */
  async step(c: PeerConn): Promise<BgpMessage | null> {
    const m = await c.next();
    if (!m) c.state = 'Closed';
    else if (m.type === MessageType.Notification) {
      c.state = 'Closed';
      c.sock.end();
    } else if (m.type === MessageType.Open) this.receiveOpen(c);
    else if (m.type === MessageType.Keepalive && c.state === 'OpenConfirm') c.state = 'Established';
    return m;
  }

  /** Steps `c` until it is Established or Closed. */
  async settle(c: PeerConn): Promise<void> {
    while (c.state !== 'Established' && c.state !== 'Closed') await this.step(c);
  }

  /** Reads whatever has arrived on every connection, without waiting for more. */
  async drain(): Promise<void> {
    for (const c of this.conns) while (c.state !== 'Closed' && c.readyToRead) await this.step(c);
  }

  /**
   * bgp_rx_open's check of the other connection: one in OpenConfirm loses to
   * the one initiated by the higher BGP Identifier; one in Established always
   * wins. Nothing is decided against a connection still in OpenSent.
   */
  private receiveOpen(c: PeerConn): void {
    const other = this.conns.find((o) => o !== c && o.state !== 'Closed');
    if (other?.state === 'Established') {
      c.cease();
      return;
    }
    if (other?.state === 'OpenConfirm') {
      const local = bgpIdToNumber(this.id.routerId);
      const remote = bgpIdToNumber(this.id.remoteRouterId);
      const sessionDominant = local < remote || (local === remote && this.id.asn < this.id.remoteAsn);
      // Keep the connection the dominant side initiated.
      if (sessionDominant === !c.peerInitiated) other.cease();
      else {
        c.cease();
        return;
      }
    }
    c.state = 'OpenConfirm';
    c.send({ type: MessageType.Keepalive });
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.sock.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
