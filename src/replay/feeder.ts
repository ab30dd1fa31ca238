/**
 * A replay feeder: sends a whole table to one BGP peer as fast as TCP takes it,
 * the "feeder-only floor" of a convergence benchmark. It is a minimal eBGP
 * speaker built on the codec (#bgp/wire): OPEN with 4-octet AS (RFC 6793) and
 * MP-BGP for IPv4 and IPv6 unicast (RFC 4760), KEEPALIVEs, then the table as
 * UPDATEs packed up to 4096 octets (RFC 4271 §4.1) per shared attribute set,
 * then End-of-RIB per family (RFC 4724 §2). It reports when the last octet
 * was written and when the peer's TCP acknowledged it.
 *
 * The UPDATEs are encoded before the session comes up, so the clock measures
 * the wire and the receiver, not the encoder. So are the withdrawals of the
 * whole table (withdrawn routes for IPv4, MP_UNREACH_NLRI for IPv6): once the
 * table is out, the session can withdraw everything and announce it again
 * (FeedSession.withdraw / announce; the CLI does it on SIGUSR1 / SIGUSR2), the
 * withdraw and re-announce phases of a convergence benchmark.
 */
import { readFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AFI_IPV4,
  AFI_IPV6,
  AsPathSegmentType,
  MessageFramer,
  MessageType,
  SAFI_UNICAST,
  buildOpen,
  decodeMessage,
  encodeMessage,
  openCapabilities,
} from '#bgp/wire/index';
import type { CodecContext, OpenMessage, PathAttributes, UpdateMessage } from '#bgp/wire/index';
import { MAX_MESSAGE_LENGTH } from '#bgp/wire/header';
import { notificationText } from '#bgp/session/text';
import { prefixSize } from '#bgp/rib/update-size';
import type { RouteTable } from './table.js';

export interface EncodeOptions {
  localAsn: number;
  /** NEXT_HOP of IPv4 routes (RFC 4271 §5.1.3). */
  nextHop4?: string;
  /** MP_REACH_NLRI next hop of IPv6 routes (RFC 2545 §3). */
  nextHop6?: string;
  /** 4-octet AS_PATH (RFC 6793); false for a peer without the capability. */
  fourOctetAs?: boolean;
}

export interface EncodedTable {
  /** Whole UPDATE messages, concatenated into writes of about `WRITE_SIZE` octets. */
  writes: Buffer[];
  /** End-of-RIB markers of the families sent (RFC 4724 §2). */
  endOfRib: Buffer;
  /** UPDATEs withdrawing every route of the table, packed like `writes` (no attributes: the same for 2- and 4-octet AS). */
  withdrawals: Buffer[];
  withdrawUpdates: number;
  updates: number;
  bytes: number;
  routes: { ipv4: number; ipv6: number };
  fourOctetAs: boolean;
}

const WRITE_SIZE = 256 * 1024;

/**
 * RFC 4271 §5.1.2: an eBGP speaker prepends its own AS. A path that already
 * starts with it is left alone, so a dump of the feeder's own AS replays as it was.
 */
function asSent(a: PathAttributes, localAsn: number): PathAttributes {
  const path = a.asPath ?? [];
  const first = path[0];
  if (first?.type === AsPathSegmentType.AsSequence && first.asns[0] === localAsn) return a;
  if (first?.type === AsPathSegmentType.AsSequence && first.asns.length < 255) {
    return { ...a, asPath: [{ type: first.type, asns: [localAsn, ...first.asns] }, ...path.slice(1)] };
  }
  return { ...a, asPath: [{ type: AsPathSegmentType.AsSequence, asns: [localAsn] }, ...path] };
}

/**
 * Packs `prefixes` into UPDATEs made by `make`, each at most 4096 octets. The
 * base size is measured once with no prefixes; one spare octet covers an
 * MP_REACH_NLRI that grows into the extended length form (RFC 4271 §4.3).
 */
function pack(prefixes: readonly string[], make: (nlri: string[]) => UpdateMessage, ctx: CodecContext, out: (b: Buffer) => void): number {
  if (prefixes.length === 0) return 0;
  const room = MAX_MESSAGE_LENGTH - encodeMessage(make([]), ctx).length - 1;
  let n = 0;
  let start = 0;
  let size = 0;
  for (let i = 0; i < prefixes.length; i++) {
    const s = prefixSize(prefixes[i]!);
    if (size + s > room) {
      out(encodeMessage(make(prefixes.slice(start, i)), ctx));
      n++;
      start = i;
      size = 0;
    }
    size += s;
  }
  out(encodeMessage(make(prefixes.slice(start)), ctx));
  return n + 1;
}

/** Whole messages gathered into writes of about WRITE_SIZE octets. */
class Writes {
  readonly writes: Buffer[] = [];
  bytes = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  /** Takes one message (a callback for pack). */
  readonly out = (b: Buffer): void => {
    this.pending.push(b);
    this.pendingBytes += b.length;
    this.bytes += b.length;
    if (this.pendingBytes >= WRITE_SIZE) this.flush();
  };

  /** The last, shorter write; the writes are complete after it. */
  flush(): void {
    if (this.pending.length === 0) return;
    this.writes.push(Buffer.concat(this.pending, this.pendingBytes));
    this.pending = [];
    this.pendingBytes = 0;
  }
}

export function encodeTable(table: RouteTable, o: EncodeOptions): EncodedTable {
  const ctx: CodecContext = { fourOctetAs: o.fourOctetAs ?? true };
  const w = new Writes();
  const out = w.out;
  let updates = 0;
  let ipv4 = 0;
  let ipv6 = 0;
  for (const g of table.groups) {
    const attributes = asSent(g.attributes, o.localAsn);
    if (g.ipv4.length > 0) {
      if (o.nextHop4 === undefined) throw new RangeError('the table has IPv4 routes: an IPv4 next hop is needed');
      const a: PathAttributes = { ...attributes, nextHop: o.nextHop4 };
      updates += pack(g.ipv4, (nlri) => ({ type: MessageType.Update, withdrawn: [], attributes: a, nlri }), ctx, out);
      ipv4 += g.ipv4.length;
    }
    if (g.ipv6.length > 0) {
      if (o.nextHop6 === undefined) throw new RangeError('the table has IPv6 routes: an IPv6 next hop is needed');
      const nh = [o.nextHop6];
      updates += pack(
        g.ipv6,
        (nlri) => ({ type: MessageType.Update, withdrawn: [], attributes, nlri: [], mpReach: { afi: AFI_IPV6, safi: SAFI_UNICAST, nextHops: nh, nlri } }),
        ctx,
        out,
      );
      ipv6 += g.ipv6.length;
    }
  }
  w.flush();
  const withdrawals = encodeWithdrawals(table, ctx);
  // RFC 4724 §2: End-of-RIB is an UPDATE with nothing in it (IPv4), or with an empty MP_UNREACH_NLRI.
  const eor4 = encodeMessage({ type: MessageType.Update, withdrawn: [], attributes: {}, nlri: [] }, ctx);
  const eor6 = encodeMessage({ type: MessageType.Update, withdrawn: [], attributes: {}, nlri: [], mpUnreach: { afi: AFI_IPV6, safi: SAFI_UNICAST, withdrawn: [] } }, ctx);
  return {
    writes: w.writes,
    endOfRib: Buffer.concat([eor4, eor6]),
    withdrawals: withdrawals.writes,
    withdrawUpdates: withdrawals.updates,
    updates,
    bytes: w.bytes,
    routes: { ipv4, ipv6 },
    fourOctetAs: ctx.fourOctetAs,
  };
}

/**
 * Every route of the table withdrawn: IPv4 in the UPDATE's Withdrawn Routes
 * (RFC 4271 §4.3), IPv6 in MP_UNREACH_NLRI (RFC 4760 §4), packed to 4096 octets.
 */
function encodeWithdrawals(table: RouteTable, ctx: CodecContext): { writes: Buffer[]; updates: number } {
  const w = new Writes();
  const out = w.out;
  const v4: string[] = [];
  const v6: string[] = [];
  for (const g of table.groups) {
    for (const p of g.ipv4) v4.push(p);
    for (const p of g.ipv6) v6.push(p);
  }
  let updates = pack(v4, (withdrawn) => ({ type: MessageType.Update, withdrawn, attributes: {}, nlri: [] }), ctx, out);
  updates += pack(
    v6,
    (withdrawn) => ({ type: MessageType.Update, withdrawn: [], attributes: {}, nlri: [], mpUnreach: { afi: AFI_IPV6, safi: SAFI_UNICAST, withdrawn } }),
    ctx,
    out,
  );
  w.flush();
  return { writes: w.writes, updates };
}

export interface FeedOptions {
  /** Connect to this peer … */
  peer?: string;
  port?: number;
  localAddress?: string;
  /** … or accept one connection on this address (the receiver connects, as to a passive BIRD). */
  listen?: string;
  localAsn: number;
  /** The peer's ASN, checked against its OPEN when given. */
  peerAsn?: number;
  routerId: string;
  holdTime?: number;
  /** Called once the listening socket is bound (with `listen`). */
  onListening?: () => void;
  /** Re-encodes the table when the peer turns out not to speak 4-octet AS (RFC 6793). */
  reencode?: (fourOctetAs: boolean) => EncodedTable;
}

/** Times in ms since the TCP connection was up (performance.now based); epoch ms for alignment with other logs. */
export interface FeedReport {
  established: number;
  firstByte: number;
  written: number;
  acked: number;
  /** Date.now() when the connection was up. */
  connectedAt: number;
  updates: number;
  bytes: number;
  routes: { ipv4: number; ipv6: number };
  peer: { address: string; asn: number; bgpId: string; fourOctetAs: boolean };
  local: { address: string; port: number };
  /** Routes per second from the first UPDATE octet written to the last one acknowledged. */
  routesPerSecond: number;
}

/** Times in ms since the call, of one batch of UPDATEs sent after the table (a withdrawal or a re-announcement). */
export interface SendReport {
  /** The last octet handed to the socket. */
  written: number;
  /** The peer's TCP acknowledged the last octet. */
  acked: number;
  updates: number;
  bytes: number;
}

/** The established session, kept up after the table went out (KEEPALIVEs continue) until `close()`. */
export interface FeedSession {
  report: FeedReport;
  /**
   * Withdraws every route of the table (the pre-encoded withdrawals), or
   * announces the whole table again; one at a time, in the order called.
   */
  withdraw(): Promise<SendReport>;
  announce(): Promise<SendReport>;
  /** Resolves when the session ends: closed by us, by the peer, or by a NOTIFICATION. */
  closed: Promise<string>;
  close(): void;
}

function acceptOne(listen: string, port: number, onListening?: () => void): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const server = createServer({ noDelay: false });
    server.once('error', reject);
    server.once('connection', (s) => {
      server.close();
      resolve(s);
    });
    server.listen({ host: listen, port, exclusive: true }, onListening);
  });
}

function connectTo(host: string, port: number, localAddress: string | undefined): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port, ...(localAddress === undefined ? {} : { localAddress }) });
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/**
 * Octets written but not yet acknowledged by the peer (plus any unsent), from
 * the tx_queue column of /proc/net/tcp{,6} for this connection (Linux), or
 * null when the socket is not listed.
 */
export function unacknowledged(local: { port: number }, remote: { port: number }): number | null {
  const lp = local.port.toString(16).toUpperCase().padStart(4, '0');
  const rp = remote.port.toString(16).toUpperCase().padStart(4, '0');
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const f = line.trim().split(/\s+/);
      // sl local_address rem_address st tx_queue:rx_queue …; 01 is ESTABLISHED.
      if (f.length < 5 || !f[1]!.endsWith(`:${lp}`) || !f[2]!.endsWith(`:${rp}`)) continue;
      return parseInt(f[4]!.split(':')[0]!, 16);
    }
  }
  return null;
}

/**
 * Opens the session, sends the table and End-of-RIB, and resolves once the
 * peer's TCP has acknowledged the last octet. Throws for a session that does
 * not come up (NOTIFICATION, wrong ASN, closed connection).
 */
export async function feed(encoded: EncodedTable, o: FeedOptions): Promise<FeedSession> {
  const port = o.port ?? 179;
  let socket: Socket;
  if (o.listen !== undefined) socket = await acceptOne(o.listen, port, o.onListening);
  else if (o.peer !== undefined) socket = await connectTo(o.peer, port, o.localAddress);
  else throw new RangeError('feed: a peer to connect to or an address to listen on is needed');
  const t0 = performance.now();
  const connectedAt = Date.now();
  const since = (): number => performance.now() - t0;
  const holdTime = o.holdTime ?? 90;
  const localOpen = buildOpen({
    asn: o.localAsn,
    holdTime,
    bgpId: o.routerId,
    families: [
      { afi: AFI_IPV4, safi: SAFI_UNICAST },
      { afi: AFI_IPV6, safi: SAFI_UNICAST },
    ],
  });
  const keepalive = encodeMessage({ type: MessageType.Keepalive }, { fourOctetAs: true });
  const framer = new MessageFramer();
  let remoteOpen: OpenMessage | null = null;
  let established: (() => void) | null = null;
  let fail: ((e: Error) => void) | null = null;
  let ending = '';
  let keepaliveTimer: NodeJS.Timeout | undefined;
  const closed = new Promise<string>((resolve) => {
    socket.once('close', () => {
      clearInterval(keepaliveTimer);
      resolve(ending || 'connection closed by the peer');
    });
  });
  const up = new Promise<void>((resolve, reject) => {
    established = resolve;
    fail = reject;
  });
  socket.on('error', (e) => {
    ending ||= `TCP: ${e.message}`;
    fail?.(e);
  });
  socket.on('close', () => fail?.(new Error(ending || 'connection closed before the table was sent')));
  socket.on('data', (chunk: Buffer) => {
    try {
      for (const frame of framer.push(chunk)) {
        const type = frame[18];
        if (type === MessageType.Update) continue; // the receiver's own routes and End-of-RIB: not needed
        const { message } = decodeMessage(frame, { fourOctetAs: true });
        if (message.type === MessageType.Open) {
          remoteOpen = message;
          const caps = openCapabilities(message);
          if (o.peerAsn !== undefined && caps.asn !== o.peerAsn) throw new Error(`peer OPEN says AS ${caps.asn}, expected ${o.peerAsn}`);
          socket.write(keepalive);
        } else if (message.type === MessageType.Keepalive) {
          if (remoteOpen !== null && established !== null) {
            established();
            established = null;
          }
        } else if (message.type === MessageType.Notification) {
          ending = `NOTIFICATION from the peer: ${notificationText(message.code, message.subcode, message.data)}`;
          fail?.(new Error(ending));
          socket.destroy();
        }
      }
    } catch (e) {
      ending = (e as Error).message;
      fail?.(e as Error);
      socket.destroy();
    }
  });
  socket.write(encodeMessage(localOpen, { fourOctetAs: true }));
  await up;
  const tEstablished = since();
  const peerCaps = openCapabilities(remoteOpen!);
  // RFC 4271 §4.4: KEEPALIVEs at a third of the negotiated hold time (none when it is 0).
  const negotiated = Math.min(holdTime, remoteOpen!.holdTime);
  if (negotiated > 0) keepaliveTimer = setInterval(() => socket.write(keepalive), (negotiated * 1000) / 3);
  let table = encoded;
  if (!peerCaps.fourOctetAs) {
    if (o.reencode === undefined) throw new Error('the peer does not speak 4-octet AS (RFC 6793) and no re-encoder was given');
    table = o.reencode(false);
  }

  const local = { address: socket.localAddress ?? '', port: socket.localPort ?? 0 };
  const remote = { port: socket.remotePort ?? 0 };
  /** Writes with back-pressure, then waits for the peer's TCP to acknowledge the last octet. */
  const send = async (writes: readonly Buffer[], what: string): Promise<void> => {
    for (const w of writes) {
      if (!socket.write(w)) {
        await new Promise<void>((resolve, reject) => {
          const onClose = (): void => reject(new Error(ending || `connection closed while sending ${what}`));
          socket.once('close', onClose);
          socket.once('drain', () => {
            socket.off('close', onClose);
            resolve();
          });
        });
      }
    }
    if (socket.destroyed) throw new Error(ending || `connection closed while sending ${what}`);
  };
  const acknowledged = async (what: string): Promise<void> => {
    for (;;) {
      const left = unacknowledged(local, remote);
      if (left === null || left === 0) return;
      if (socket.destroyed) throw new Error(ending || `connection closed before ${what} was acknowledged`);
      await sleep(1);
    }
  };

  const tFirst = since();
  await send(table.writes, 'the table');
  await new Promise<void>((resolve, reject) => socket.write(table.endOfRib, (e) => (e ? reject(e) : resolve())));
  const tWritten = since();
  await acknowledged('the table');
  const tAcked = since();
  fail = null;
  const routes = table.routes.ipv4 + table.routes.ipv6;
  const report: FeedReport = {
    established: tEstablished,
    firstByte: tFirst,
    written: tWritten,
    acked: tAcked,
    connectedAt,
    updates: table.updates,
    bytes: table.bytes,
    routes: table.routes,
    peer: { address: socket.remoteAddress ?? '', asn: peerCaps.asn, bgpId: remoteOpen!.bgpId, fourOctetAs: peerCaps.fourOctetAs },
    local,
    routesPerSecond: Math.round(routes / ((tAcked - tFirst) / 1000)),
  };
  // One batch after another: a withdrawal asked for while the re-announcement is still going out waits for it.
  let queue: Promise<unknown> = Promise.resolve();
  const batch = (writes: readonly Buffer[], what: string): Promise<SendReport> => {
    const run = async (): Promise<SendReport> => {
      const t = performance.now();
      await send(writes, what);
      const written = performance.now() - t;
      await acknowledged(what);
      return { written, acked: performance.now() - t, updates: 0, bytes: writes.reduce((n, w) => n + w.length, 0) };
    };
    const next = queue.then(run, run);
    queue = next.catch(() => undefined);
    return next;
  };
  return {
    report,
    closed,
    withdraw: async () => ({ ...(await batch(table.withdrawals, 'the withdrawals')), updates: table.withdrawUpdates }),
    announce: async () => ({ ...(await batch(table.writes, 'the table')), updates: table.updates }),
    close: () => {
      ending ||= 'closed by the feeder';
      clearInterval(keepaliveTimer);
      // RFC 4271 §6.7 Cease, subcode 2 Administrative Shutdown (RFC 4486).
      socket.end(encodeMessage({ type: MessageType.Notification, code: 6, subcode: 2, data: new Uint8Array(0) }, { fourOctetAs: true }));
    },
  };
}
