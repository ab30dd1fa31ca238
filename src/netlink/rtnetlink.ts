/**
 * LinkOps and RouteOps over one NETLINK_ROUTE socket. Requests are serialized
 * (one exchange on the socket at a time) and matched to replies by sequence
 * number; a route batch is packed into as few send buffers as fit.
 */
import { parseIp, parsePrefix } from '#lib/prefix';
import type { KernelRoute, LinkInfo, LinkOps, RouteOp, RouteOpResult, RouteOps } from './types.js';
import {
  decodeAddr,
  decodeDone,
  decodeError,
  decodeLink,
  decodeRoute,
  encodeAddr,
  encodeAddrDump,
  encodeLinkAddrGenModeNone,
  encodeLinkDelete,
  encodeLinkDump,
  encodeLinkGet,
  encodeLinkSetUp,
  encodeRouteDelete,
  encodeRouteDump,
  encodeRouteReplace,
  NlWriter,
  splitMessages,
} from './codec.js';
import type { NlMessage, RouteNexthopSpec, RouteSpec } from './codec.js';
import {
  AF_INET,
  AF_INET6,
  IFF_UP,
  NLM_F_DUMP_INTR,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_OVERRUN,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWROUTE,
  RTN_UNICAST,
} from './constants.js';
import { EINVAL, ENOBUFS, ENODEV, ENOENT, ETIMEDOUT, NetlinkError } from './errors.js';
import { NetlinkSocket } from './socket.js';
import type { SocketOptions } from './socket.js';

export interface RtnetlinkOptions extends SocketOptions {
  /** How long to wait for the kernel's answer to one exchange (default 10 s). */
  timeoutMs?: number;
  /** Bytes of requests per send (default 64 KiB). */
  sendBytes?: number;
}

/** Upper bound of one encoded route message, to cut send buffers between messages. */
const ROUTE_MSG_FIXED = 16 + 12 + 8 + 20 + 8 + 24;
const ROUTE_MSG_PER_NEXTHOP = 8 + 24 + 8;

/**
 * Receive-buffer bytes one ack occupies (skb truesize; measured 830–1050), so a
 * send never carries more requests than the socket can hold acks for: a lost
 * ack would turn a success into an ENOBUFS retry.
 */
const ACK_COST = 1100;

/**
 * Reply bytes decoded between turns of the event loop: 256 KiB of a route dump
 * is ~3500 routes, a few ms of decoding. The acks of one send (36 bytes each)
 * stay well below it.
 */
const YIELD_BYTES = 256 * 1024;

/** Dumps redone when the kernel flags them inconsistent (NLM_F_DUMP_INTR). */
const DUMP_RETRIES = 3;

/**
 * "a.b.c.d/len" with host bits zero, parsed straight into `out` (4 bytes);
 * returns len, or -1 when the text is anything else. The batch path parses a
 * prefix per route, and the general parser's allocations dominated encoding.
 */
function parseIpv4PrefixInto(s: string, out: Uint8Array): number {
  let part = 0;
  let value = 0;
  let digits = 0;
  let i = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return -1; // leading zero
      value = value * 10 + (c - 48);
      if (value > 255 || ++digits > 3) return -1;
    } else if ((c === 46 && part < 3) || (c === 47 && part === 3)) {
      if (digits === 0) return -1;
      out[part++] = value;
      value = 0;
      digits = 0;
      if (c === 47) break;
    } else {
      return -1;
    }
  }
  if (part !== 4 || i === s.length) return -1;
  let len = 0;
  let lenDigits = 0;
  for (i++; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57 || ++lenDigits > 2) return -1;
    len = len * 10 + (c - 48);
  }
  if (lenDigits === 0 || len > 32) return -1;
  const hostBits = len === 0 ? 0xffffffff : len === 32 ? 0 : 0xffffffff >>> len;
  const addr = ((out[0]! << 24) | (out[1]! << 16) | (out[2]! << 8) | out[3]!) >>> 0;
  return (addr & hostBits) === 0 ? len : -1;
}

function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class Rtnetlink implements LinkOps, RouteOps {
  private readonly w: NlWriter;
  /** Scratch for IPv4 destinations: the encoder copies it into the message. */
  private readonly dst4 = new Uint8Array(4);
  private seq = Math.floor(Date.now() / 1000) >>> 0;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly timeoutMs: number;
  private readonly sendBytes: number;
  private readonly opsPerSend: number;

  private constructor(private readonly sock: NetlinkSocket, opts: RtnetlinkOptions) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.sendBytes = opts.sendBytes ?? 64 * 1024;
    this.opsPerSend = Math.max(1, Math.floor(sock.rcvbuf / ACK_COST));
    this.w = new NlWriter(this.sendBytes + 4096);
  }

  static async open(opts: RtnetlinkOptions = {}): Promise<Rtnetlink> {
    if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
      throw new Error('rtnetlink codec supports little-endian hosts only');
    }
    return new Rtnetlink(NetlinkSocket.open(opts), opts);
  }

  /** Waits for the exchange in progress, then closes the socket. */
  async close(): Promise<void> {
    await this.exclusive(async () => this.sock.close());
  }

  // ------------------------------------------------------------- links

  link(name: string): Promise<LinkInfo | null> {
    return this.exclusive(async () => {
      let found: LinkInfo | null = null;
      try {
        await this.ackRequest((w, seq) => encodeLinkGet(w, seq, name), `link ${name}`, (m) => {
          if (m.type === RTM_NEWLINK) found = toLinkInfo(m.body);
        });
      } catch (e) {
        if (e instanceof NetlinkError && e.errno === ENODEV) return null;
        throw e;
      }
      return found;
    });
  }

  links(): Promise<LinkInfo[]> {
    return this.exclusive(() => this.dumpLinks());
  }

  linkSetUp(name: string): Promise<void> {
    return this.exclusive(() => this.ackRequest((w, seq) => encodeLinkSetUp(w, seq, name), `link set ${name} up`));
  }

  linkDelete(name: string): Promise<void> {
    return this.exclusive(() => this.ackRequest((w, seq) => encodeLinkDelete(w, seq, name), `link delete ${name}`));
  }

  linkSetAddrGenModeNone(name: string): Promise<void> {
    return this.exclusive(() =>
      this.ackRequest((w, seq) => encodeLinkAddrGenModeNone(w, seq, name), `link set ${name} addrgenmode none`),
    );
  }

  addresses(name: string): Promise<string[]> {
    return this.exclusive(async () => {
      const index = await this.ifindex(name);
      return this.dump((w, seq) => encodeAddrDump(w, seq, index), `addresses of ${name}`, (m) => {
        if (m.type !== RTM_NEWADDR) return undefined;
        const a = decodeAddr(m.body);
        return a.index === index && a.address !== '' ? `${a.address}/${a.prefixLen}` : undefined;
      });
    });
  }

  addressAdd(name: string, cidr: string): Promise<void> {
    return this.addressOp('add', name, cidr);
  }

  addressDelete(name: string, cidr: string): Promise<void> {
    return this.addressOp('delete', name, cidr);
  }

  private addressOp(op: 'add' | 'delete', name: string, cidr: string): Promise<void> {
    const p = parsePrefix(cidr, true);
    if (!p) return Promise.reject(new NetlinkError(EINVAL, `address ${op} ${cidr}: not an address/length`));
    return this.exclusive(async () => {
      const index = await this.ifindex(name);
      const family = p.family === 4 ? AF_INET : AF_INET6;
      await this.ackRequest(
        (w, seq) => encodeAddr(w, seq, op, { family, prefixLen: p.len, index, local: p.bytes }),
        `address ${op} ${cidr} dev ${name}`,
      );
    });
  }

  // ------------------------------------------------------------ routes

  routes(table: number, protocol: number): Promise<KernelRoute[]> {
    return this.exclusive(async () => {
      const names = new Map<number, string>();
      for (const l of await this.dumpLinks()) names.set(l.index, l.name);
      const out: KernelRoute[] = [];
      for (const family of [AF_INET, AF_INET6]) {
        const part = await this.dump((w, seq) => encodeRouteDump(w, seq, family, table, protocol), `route dump table ${table}`, (m): KernelRoute | undefined => {
          if (m.type !== RTM_NEWROUTE) return undefined;
          const r = decodeRoute(m.body);
          if (r.table !== table || r.protocol !== protocol || r.type !== RTN_UNICAST) return undefined;
          return {
            prefix: r.prefix,
            table: r.table,
            protocol: r.protocol,
            nexthops: r.nexthops.map((nh) => {
              const hop: { address?: string; interface?: string } = {};
              if (nh.gateway !== undefined) hop.address = nh.gateway;
              if (nh.ifindex > 0) hop.interface = names.get(nh.ifindex) ?? `if${nh.ifindex}`;
              return hop;
            }),
          };
        }).catch((e: unknown) => {
          // A filtered dump of a table that does not exist (yet) fails with ENOENT: it holds nothing.
          if (e instanceof NetlinkError && e.errno === ENOENT) return [];
          throw e;
        });
        out.push(...part);
      }
      return out;
    });
  }

  routeBatch(ops: RouteOp[]): Promise<RouteOpResult[]> {
    return this.exclusive(() => this.runBatch(ops));
  }

  private async runBatch(ops: RouteOp[]): Promise<RouteOpResult[]> {
    const results: RouteOpResult[] = ops.map((_, index) => ({ index, errno: 0 }));
    const ifindex = await this.resolveInterfaces(ops);
    // Next hops repeat across a batch (a few peers, many prefixes): parse each once.
    const gateways = new Map<string, { family: 4 | 6; bytes: Uint8Array } | null>();
    const w = this.w;
    // seq of each message in the current send buffer → index into ops.
    let pending = new Map<number, number>();
    w.reset();
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      const nhCount = op.op === 'replace' ? op.route.nexthops.length : 0;
      const full = w.off + ROUTE_MSG_FIXED + nhCount * ROUTE_MSG_PER_NEXTHOP > this.sendBytes || pending.size >= this.opsPerSend;
      if (w.off > 0 && full) {
        await this.sendBatch(pending, results);
        pending = new Map();
        w.reset();
      }
      const errno = this.encodeOp(op, ifindex, gateways, (seq) => pending.set(seq, i));
      if (errno !== 0) results[i]!.errno = -errno;
    }
    if (pending.size > 0) await this.sendBatch(pending, results);
    return results;
  }

  /** Encodes one op into the writer; returns a positive errno when it cannot be sent. */
  private encodeOp(
    op: RouteOp,
    ifindex: Map<string, number>,
    gateways: Map<string, { family: 4 | 6; bytes: Uint8Array } | null>,
    sent: (seq: number) => void,
  ): number {
    let spec: RouteSpec;
    const len4 = parseIpv4PrefixInto(op.route.prefix, this.dst4);
    if (len4 >= 0) {
      spec = { family: AF_INET, dst: this.dst4, dstLen: len4, table: op.route.table, protocol: op.route.protocol };
    } else {
      const p = parsePrefix(op.route.prefix);
      if (!p) return EINVAL;
      spec = { family: p.family === 4 ? AF_INET : AF_INET6, dst: p.bytes, dstLen: p.len, table: op.route.table, protocol: op.route.protocol };
    }
    const family6 = spec.family === AF_INET6;
    const seq = this.nextSeq();
    if (op.op === 'delete') {
      encodeRouteDelete(this.w, seq, spec);
      sent(seq);
      return 0;
    }
    if (op.route.nexthops.length === 0) return EINVAL;
    const hops: RouteNexthopSpec[] = [];
    for (const nh of op.route.nexthops) {
      const hop: RouteNexthopSpec = { ifindex: 0 };
      if (nh.address !== undefined) {
        let gw = gateways.get(nh.address);
        if (gw === undefined) {
          gw = parseIp(nh.address);
          gateways.set(nh.address, gw);
        }
        // An IPv6 next hop on an IPv4 route is RTA_VIA; an IPv4 one on an IPv6 route does not exist.
        if (!gw || (family6 && gw.family === 4)) return EINVAL;
        hop.gateway = gw.bytes;
      }
      if (nh.interface !== undefined) {
        const idx = ifindex.get(nh.interface);
        if (idx === undefined) return ENODEV;
        hop.ifindex = idx;
      }
      hops.push(hop);
    }
    encodeRouteReplace(this.w, seq, spec, hops);
    sent(seq);
    return 0;
  }

  /**
   * Sends the writer's buffer and collects one ack per message. Acks lost to a
   * receive-queue overrun are reported as ENOBUFS, so the caller retries them.
   */
  private async sendBatch(pending: Map<number, number>, results: RouteOpResult[]): Promise<void> {
    await this.sock.sendAsync(this.w.bytes());
    let overrun = false;
    try {
      await this.receive((m) => {
        if (m.type !== NLMSG_ERROR) return false;
        const e = decodeError(m);
        const i = pending.get(e.seq);
        if (i === undefined) return false;
        pending.delete(e.seq);
        results[i]!.errno = e.error;
        return pending.size === 0;
      }, () => {
        overrun = true;
      });
    } catch (e) {
      if (!(e instanceof NetlinkError && e.errno === ETIMEDOUT)) throw e;
    }
    const missing = overrun ? -ENOBUFS : -ETIMEDOUT;
    for (const i of pending.values()) results[i]!.errno = missing;
  }

  private async resolveInterfaces(ops: RouteOp[]): Promise<Map<string, number>> {
    const map = new Map<string, number>();
    const wanted = ops.some((op) => op.op === 'replace' && op.route.nexthops.some((nh) => nh.interface !== undefined));
    if (!wanted) return map;
    for (const l of await this.dumpLinks()) map.set(l.name, l.index);
    return map;
  }

  // ---------------------------------------------------------- exchanges

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    if (this.seq === 0) this.seq = 1;
    return this.seq;
  }

  private async ifindex(name: string): Promise<number> {
    let index = 0;
    await this.ackRequest((w, seq) => encodeLinkGet(w, seq, name), `link ${name}`, (m) => {
      if (m.type === RTM_NEWLINK) index = decodeLink(m.body).index;
    });
    if (index <= 0) throw new NetlinkError(ENODEV, `link ${name}`);
    return index;
  }

  private async dumpLinks(): Promise<LinkInfo[]> {
    return this.dump(encodeLinkDump, 'link dump', (m) => (m.type === RTM_NEWLINK ? toLinkInfo(m.body) : undefined));
  }

  /** One request with NLM_F_ACK; replies before the ack go to onReply; a negative ack throws. */
  private async ackRequest(
    build: (w: NlWriter, seq: number) => void,
    context: string,
    onReply?: (m: NlMessage) => void,
  ): Promise<void> {
    const seq = this.nextSeq();
    this.w.reset();
    build(this.w, seq);
    this.sock.send(this.w.bytes());
    let failure: NetlinkError | null = null;
    await this.receive((m) => {
      if (m.seq !== seq) return false;
      if (m.type !== NLMSG_ERROR) {
        onReply?.(m);
        return false;
      }
      const e = decodeError(m);
      if (e.error !== 0) failure = new NetlinkError(e.error, context, e.message);
      return true;
    });
    if (failure) throw failure;
  }

  /**
   * A dump request: decode() turns each message into an item or undefined.
   * A dump the kernel flags inconsistent (NLM_F_DUMP_INTR: the table changed
   * under it) is thrown away and asked again.
   */
  private async dump<T>(
    build: (w: NlWriter, seq: number) => void,
    context: string,
    decode: (m: NlMessage) => T | undefined,
  ): Promise<T[]> {
    for (let attempt = 1; ; attempt++) {
      const seq = this.nextSeq();
      this.w.reset();
      build(this.w, seq);
      this.sock.send(this.w.bytes());
      const items: T[] = [];
      let failure: NetlinkError | null = null;
      let interrupted = false;
      await this.receive((m) => {
        if (m.seq !== seq) return false;
        if (m.flags & NLM_F_DUMP_INTR) interrupted = true;
        if (m.type === NLMSG_DONE || m.type === NLMSG_ERROR) {
          // DONE carries the status of the dump itself.
          const e = m.type === NLMSG_DONE ? decodeDone(m) : decodeError(m);
          if (e.error !== 0) failure = new NetlinkError(e.error, context, e.message);
          return true;
        }
        // Decode now: the message is a view of the receive buffer, reused by the next recv.
        const item = decode(m);
        if (item !== undefined) items.push(item);
        return false;
      });
      if (failure) throw failure;
      if (!interrupted) return items;
      if (attempt >= DUMP_RETRIES) throw new NetlinkError(4, `${context}: interrupted ${DUMP_RETRIES} times`);
    }
  }

  /**
   * Reads datagrams until handle() returns true. Waits on the poll handle when
   * the queue is empty; yields to the event loop after every YIELD_BYTES of a
   * long dump. An ENOBUFS from recv (queue overrun) goes to onOverrun when given.
   */
  private async receive(handle: (m: NlMessage) => boolean, onOverrun?: () => void): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    let sinceYield = 0;
    let overrun = false;
    for (;;) {
      let d: Buffer | null;
      try {
        d = this.sock.recv();
      } catch (e) {
        if (onOverrun && e instanceof NetlinkError && e.errno === ENOBUFS) {
          overrun = true;
          onOverrun();
          continue;
        }
        throw e;
      }
      // The kernel answers NETLINK_ROUTE requests inside sendto: after an
      // overrun, an empty queue means the lost acks will never come.
      if (d === null && overrun) return;
      if (d === null) {
        const left = deadline - Date.now();
        if (left <= 0) throw new NetlinkError(ETIMEDOUT, 'netlink reply');
        await this.sock.readable(left);
        continue;
      }
      for (const m of splitMessages(d)) {
        if (m.type === NLMSG_OVERRUN) throw new NetlinkError(ENOBUFS, 'netlink overrun');
        if (handle(m)) return;
      }
      sinceYield += d.length;
      if (sinceYield >= YIELD_BYTES) {
        sinceYield = 0;
        await yieldToLoop();
      }
    }
  }
}

function toLinkInfo(body: Buffer): LinkInfo {
  const l = decodeLink(body);
  return { index: l.index, name: l.name, up: (l.flags & IFF_UP) !== 0, mtu: l.mtu };
}
