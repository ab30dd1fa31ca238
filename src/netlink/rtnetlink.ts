/**
 * LinkOps and RouteOps over one NETLINK_ROUTE socket. Requests are serialized
 * (one exchange on the socket at a time) and matched to replies by sequence
 * number; a route batch is packed into as few send buffers as fit.
 */
import { parseIp, parsePrefix } from '#lib/prefix';
import type {
  KernelRoute,
  LinkInfo,
  LinkOps,
  NexthopObject,
  NexthopWrite,
  RouteOp,
  RouteOpResult,
  RouteOps,
  RouteTag,
  RouteWrite,
  RouteWriteColumns,
} from './types.js';
import {
  BATCH_MSG_MIN,
  NexthopEncoder,
  RouteEncoder,
  RouteOpBatch,
  RouteWriteBatch,
  routeBatchNamesInterfaces,
  SendBuffer,
} from './batch.js';
import type { BatchEncoder, RouteBatch } from './batch.js';
import { decodeNexthop, encodeNexthopDump } from './nexthop-codec.js';
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
  encodeLinkAdd,
  encodeLinkGet,
  encodeLinkSetMtu,
  encodeLinkSetUp,
  encodeRouteDump,
  encodeRouteGet,
  NlWriter,
  splitMessages,
} from './codec.js';
import type { DecodedNexthop, NlMessage } from './codec.js';
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
  RTM_DELROUTE,
  RTM_NEWNEXTHOP,
  RTM_NEWROUTE,
  RTMGRP_IPV4_ROUTE,
  RTMGRP_IPV6_ROUTE,
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

/**
 * Receive-buffer bytes one ack or error occupies (skb truesize; measured
 * 830–1050), so a send never carries more requests than the socket can hold
 * answers for even when all of them fail: a lost answer turns the buffer's
 * unanswered ops into ENOBUFS retries.
 */
/** linux/rtnetlink.h: rtm_table for a table id above 255 (the id is in RTA_TABLE). */
const RT_TABLE_COMPAT = 252;
const ACK_COST = 1100;

/**
 * Reply bytes decoded between turns of the event loop: 256 KiB of a route dump
 * is ~3500 routes, a few ms of decoding. The answers to one route send (the
 * fence and any errors, 36 bytes each) stay well below it.
 */
const YIELD_BYTES = 256 * 1024;

/** Dumps redone when the kernel flags them inconsistent (NLM_F_DUMP_INTR). */
const DUMP_RETRIES = 3;

function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class Rtnetlink implements LinkOps, RouteOps {
  private readonly w: NlWriter;
  /** The two send buffers of runBatch. */
  private readonly sends: readonly [SendBuffer, SendBuffer];
  private seq = Math.floor(Date.now() / 1000) >>> 0;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly timeoutMs: number;
  private readonly sendBytes: number;
  private readonly opsPerSend: number;

  private constructor(
    private readonly sock: NetlinkSocket,
    opts: RtnetlinkOptions,
    /** To open the watcher's socket in the same namespace. */
    private readonly socketOptions: SocketOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.sendBytes = opts.sendBytes ?? 64 * 1024;
    this.opsPerSend = Math.max(1, Math.floor(sock.rcvbuf / ACK_COST));
    this.w = new NlWriter(this.sendBytes + 4096);
    // No more requests per buffer than the receive queue holds answers for (all of them may fail).
    const capacity = Math.min(this.opsPerSend, Math.ceil(this.sendBytes / BATCH_MSG_MIN) + 1);
    this.sends = [new SendBuffer(this.sendBytes + 4096, capacity), new SendBuffer(this.sendBytes + 4096, capacity)];
  }

  static async open(opts: RtnetlinkOptions = {}): Promise<Rtnetlink> {
    if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
      throw new Error('rtnetlink codec supports little-endian hosts only');
    }
    return new Rtnetlink(NetlinkSocket.open(opts), opts, opts.netns !== undefined ? { netns: opts.netns } : {});
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

  linkAdd(name: string, kind: string): Promise<void> {
    return this.exclusive(() => this.ackRequest((w, seq) => encodeLinkAdd(w, seq, name, kind), `link add ${name} type ${kind}`));
  }

  linkSetMtu(name: string, mtu: number): Promise<void> {
    return this.exclusive(() => this.ackRequest((w, seq) => encodeLinkSetMtu(w, seq, name, mtu), `link set ${name} mtu ${mtu}`));
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

  routes(table: number, protocol: number, metric?: number): Promise<KernelRoute[]> {
    const out: KernelRoute[] = [];
    return this.routesEach(
      table,
      protocol,
      metric,
      (r) => out.push(r),
      () => (out.length = 0),
    ).then(() => out);
  }

  /**
   * routes() one at a time: `visit` sees each route as it is decoded, and
   * nothing holds the dump (a million routes as objects cost 150 MB at
   * once). A dump the kernel interrupted is asked again from the start:
   * `restart` is called first, and what was visited before does not count.
   * Routes that name a nexthop object without its paths (compat mode off)
   * are visited at the end, once the objects are known.
   */
  routesEach(table: number, protocol: number, metric: number | undefined, visit: (r: KernelRoute) => void, restart: () => void): Promise<void> {
    return this.exclusive(async () => {
      const names = new Map<number, string>();
      for (const l of await this.dumpLinks()) names.set(l.index, l.name);
      // A dump of 100 000 routes has a handful of distinct next-hop lists: each is
      // built once, frozen and shared, so a route costs a prefix and an object.
      const hopLists = new Map<string, KernelRoute['nexthops']>();
      /** The one-path lists (nearly all) by gateway, then ifindex: no key to build per route. */
      const onePath = new Map<string, Map<number, KernelRoute['nexthops']>>();
      const shared = (hops: readonly DecodedNexthop[]): KernelRoute['nexthops'] => {
        const one = hops.length === 1 ? hops[0]! : undefined;
        let byIndex: Map<number, KernelRoute['nexthops']> | undefined;
        if (one !== undefined) {
          const gw = one.gateway ?? '';
          byIndex = onePath.get(gw);
          if (byIndex === undefined) onePath.set(gw, (byIndex = new Map()));
          const hit = byIndex.get(one.ifindex);
          if (hit !== undefined) return hit;
        }
        let key = '';
        for (const nh of hops) key += `${nh.gateway ?? ''}%${nh.ifindex} `;
        let list = hopLists.get(key);
        if (list === undefined) {
          list = Object.freeze(
            hops.map((nh) => {
              const hop: { address?: string; interface?: string } = {};
              if (nh.gateway !== undefined) hop.address = nh.gateway;
              if (nh.ifindex > 0) hop.interface = names.get(nh.ifindex) ?? `if${nh.ifindex}`;
              return Object.freeze(hop);
            }),
          ) as KernelRoute['nexthops'];
          hopLists.set(key, list);
        }
        if (one !== undefined) byIndex!.set(one.ifindex, list);
        return list;
      };
      const unresolved: KernelRoute[] = [];
      const decode = (m: NlMessage): void => {
        if (m.type !== RTM_NEWROUTE) return;
        const r = decodeRoute(m.body);
        if (r.table !== table || (protocol !== 0 && r.protocol !== protocol) || r.type !== RTN_UNICAST) return;
        // The kernel's strict dump filter knows no metric: ours is told apart here.
        if (metric !== undefined && r.priority !== metric) return;
        const kr: KernelRoute = { prefix: r.prefix, table: r.table, protocol: r.protocol, metric: r.priority, nexthops: shared(r.nexthops) };
        if (r.advmss !== 0) kr.advmss = r.advmss;
        if (r.hoplimit !== 0) kr.hoplimit = r.hoplimit;
        if (r.nhId !== 0) {
          kr.nhId = r.nhId;
          if (r.nexthops.length === 0) {
            unresolved.push(kr);
            return;
          }
        }
        visit(kr);
      };
      for (let attempt = 1; ; attempt++) {
        let interrupted = false;
        for (const family of [AF_INET, AF_INET6]) {
          interrupted = await this.dumpOnce((w, seq) => encodeRouteDump(w, seq, family, table, protocol), `route dump table ${table}`, decode).catch((e: unknown) => {
            // A filtered dump of a table that does not exist (yet) fails with ENOENT: it holds nothing.
            if (e instanceof NetlinkError && e.errno === ENOENT) return false;
            throw e;
          });
          if (interrupted) break;
        }
        if (!interrupted) break;
        if (attempt >= DUMP_RETRIES) throw new NetlinkError(4, `route dump table ${table}: interrupted ${DUMP_RETRIES} times`);
        // What was visited does not count: both families are asked again.
        unresolved.length = 0;
        restart();
      }
      if (unresolved.length > 0) {
        await this.resolveNhIds(unresolved, names);
        for (const r of unresolved) visit(r);
      }
    });
  }

  routesOf(prefix: string, table: number): Promise<KernelRoute[]> {
    const p = parsePrefix(prefix);
    if (!p) return Promise.reject(new NetlinkError(EINVAL, `routes of ${prefix}: not a prefix`));
    const family = p.family === 4 ? AF_INET : AF_INET6;
    return this.exclusive(async () => {
      const names = new Map<number, string>();
      for (const l of await this.dumpLinks()) names.set(l.index, l.name);
      // The kernel cannot filter a dump by destination: the length byte sorts out nearly all in place.
      const found = await this.dump((w, seq) => encodeRouteDump(w, seq, family, table, 0), `routes of ${prefix}`, (m): KernelRoute | undefined => {
        if (m.type !== RTM_NEWROUTE || m.body[1] !== p.len) return undefined;
        const r = decodeRoute(m.body);
        if (r.prefix !== prefix || r.table !== table || r.type !== RTN_UNICAST) return undefined;
        return kernelRoute(r, names);
      }).catch((e: unknown): KernelRoute[] => {
        if (e instanceof NetlinkError && e.errno === ENOENT) return [];
        throw e;
      });
      const unresolved = found.filter((r) => r.nhId !== undefined && r.nexthops.length === 0);
      if (unresolved.length > 0) await this.resolveNhIds(unresolved, names);
      return found;
    });
  }

  watchRoutes(changed: (route: { protocol: number; table: number } | null) => void, opts: { ignoreProtocol?: number } = {}): () => void {
    const sock = NetlinkSocket.open({ ...this.socketOptions, groups: RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE, rcvbuf: 1024 * 1024 });
    // Our own route changes never reach this socket: rtm_protocol is byte 5 of struct rtmsg, after the 16-byte nlmsghdr.
    if (opts.ignoreProtocol !== undefined) {
      try {
        sock.dropByte(16 + 5, opts.ignoreProtocol);
      } catch {
        // Without the filter the notifications still come, and the caller filters them.
      }
    }
    let open = true;
    const loop = async (): Promise<void> => {
      while (open) {
        let d: Buffer | null;
        try {
          d = sock.recv();
        } catch (e) {
          if (!open) return;
          // ENOBUFS: notifications were lost; the watcher looks again itself.
          if (e instanceof NetlinkError && e.errno === ENOBUFS) {
            changed(null);
            continue;
          }
          throw e;
        }
        if (d === null) {
          await sock.readable(null);
          continue;
        }
        for (const m of splitMessages(d)) {
          if ((m.type !== RTM_NEWROUTE && m.type !== RTM_DELROUTE) || m.body.length < 12) continue;
          // struct rtmsg: rtm_table is byte 4, rtm_protocol byte 5; a table above 255 (RT_TABLE_COMPAT) is in RTA_TABLE.
          const protocol = m.body[5]!;
          if (m.body[4] !== RT_TABLE_COMPAT) changed({ protocol, table: m.body[4]! });
          else changed({ protocol, table: decodeRoute(m.body).table });
        }
      }
    };
    void loop().catch(() => undefined);
    return () => {
      open = false;
      sock.close();
    };
  }

  routeLookup(address: string): Promise<KernelRoute | null> {
    const ip = parseIp(address);
    if (!ip) return Promise.reject(new NetlinkError(EINVAL, `route get ${address}: not an address`));
    return this.exclusive(async () => {
      let found: KernelRoute | null = null;
      let decoded: ReturnType<typeof decodeRoute> | null = null;
      try {
        await this.ackRequest((w, seq) => encodeRouteGet(w, seq, ip.family === 4 ? AF_INET : AF_INET6, ip.bytes), `route get ${address}`, (m) => {
          if (m.type === RTM_NEWROUTE) decoded = decodeRoute(m.body);
        });
      } catch (e) {
        // No route at all (ENETUNREACH), or an unreachable/prohibit entry.
        if (e instanceof NetlinkError) return null;
        throw e;
      }
      const r = decoded as ReturnType<typeof decodeRoute> | null;
      if (r === null || r.type !== RTN_UNICAST) return null;
      const names = new Map<number, string>();
      for (const l of await this.dumpLinks()) names.set(l.index, l.name);
      found = kernelRoute(r, names);
      if (found.nhId !== undefined && found.nexthops.length === 0) await this.resolveNhIds([found], names);
      return found;
    });
  }

  async routeBatch(ops: RouteOp[]): Promise<RouteOpResult[]> {
    const errnos = new Int32Array(ops.length);
    await this.exclusive(() => this.runRouteBatch(new RouteOpBatch(ops), errnos));
    return Array.from(errnos, (errno, index) => ({ index, errno }));
  }

  async routeWrite(
    tag: RouteTag,
    ops: readonly RouteWrite[] | RouteWriteColumns,
    nhIds?: ArrayLike<number>,
    advmss?: ArrayLike<number>,
    hoplimit?: ArrayLike<number>,
  ): Promise<RouteOpResult[]> {
    const errnos = new Int32Array(ops.length);
    await this.exclusive(() => this.runRouteBatch(new RouteWriteBatch(ops, tag, nhIds, advmss, hoplimit), errnos));
    return failures(errnos);
  }

  // --------------------------------------------------- nexthop objects

  nexthopObjects(protocol = 0): Promise<NexthopObject[]> {
    return this.exclusive(async () => this.dumpNexthops(await this.linkNames(), protocol));
  }

  async nexthopWrite(ops: readonly NexthopWrite[]): Promise<RouteOpResult[]> {
    const errnos = new Int32Array(ops.length);
    await this.exclusive(async () => {
      const wanted = ops.some((op) => op.op !== 'delete' && op.nexthop.interface !== undefined);
      const ifindex = wanted ? await this.linkIndexes() : new Map<string, number>();
      await this.runBatch(new NexthopEncoder(ops, ifindex), errnos);
    });
    return failures(errnos);
  }

  // ------------------------------------------------------------ batches

  private async runRouteBatch(batch: RouteBatch, errnos: Int32Array): Promise<void> {
    const ifindex = routeBatchNamesInterfaces(batch) ? await this.linkIndexes() : new Map<string, number>();
    await this.runBatch(new RouteEncoder(batch, ifindex), errnos);
  }

  /**
   * Requests of a batch go without NLM_F_ACK: the kernel answers a
   * NETLINK_ROUTE request only when it fails (netlink_rcv_skb acks on
   * NLM_F_ACK *or* an error), with an NLMSG_ERROR naming the failed request's
   * seq. The last message of each send buffer asks for an ack: the kernel
   * handles a buffer's messages in order inside sendto, so that ack (the
   * fence) arrives after every error of the buffer, and one recv replaces one
   * per request.
   *
   * Two send buffers alternate: the next one is encoded on the main thread
   * while the kernel works through the current one on koffi's worker thread.
   * A buffer is sent only after the previous one's answers are read, so
   * requests stay in order and the receive queue holds one buffer's errors.
   *
   * The result of op i lands in errnos[i]: 0, or a negative errno.
   */
  private async runBatch(batch: BatchEncoder, errnos: Int32Array): Promise<void> {
    let inFlight: Promise<void> | null = null;
    let next = 0;
    let which = 0;
    while (next < batch.length) {
      const buf = this.sends[which]!;
      which ^= 1;
      next = this.fill(buf, batch, next, errnos);
      if (inFlight !== null) await inFlight;
      inFlight = buf.count > 0 ? this.exchange(buf, errnos) : null;
    }
    if (inFlight !== null) await inFlight;
  }

  /** Encodes ops from `from` into `buf` until it is full; returns the index of the first op left out. */
  private fill(buf: SendBuffer, batch: BatchEncoder, from: number, errnos: Int32Array): number {
    buf.reset();
    const w = buf.w;
    let i = from;
    for (; i < batch.length; i++) {
      const full = w.off + batch.bound(i) > this.sendBytes || buf.count >= buf.capacity;
      if (w.off > 0 && full) break;
      const at = w.off;
      const seq = this.nextSeq();
      const errno = batch.encode(w, seq, i);
      if (errno !== 0) errnos[i] = -errno;
      else buf.add(seq, i, at);
    }
    if (buf.count > 0) w.requestAck(buf.lastStart);
    return i;
  }

  /**
   * Sends one buffer and reads its answers up to the fence. Errors land on
   * their op by seq. When the fence does not come (a receive-queue overrun
   * dropped answers, or a timeout), every op of the buffer without a known
   * error may have failed: it gets ENOBUFS or ETIMEDOUT, so the caller
   * retries it (replace and delete are idempotent).
   */
  private async exchange(buf: SendBuffer, errnos: Int32Array): Promise<void> {
    await this.sock.sendAsync(buf.w.bytes());
    const fence = buf.seqAt(buf.count - 1);
    let fenced = false;
    let overrun = false;
    try {
      await this.receive((m) => {
        if (m.type !== NLMSG_ERROR) return false;
        const e = decodeError(m);
        const i = buf.opOf(e.seq);
        if (i < 0) return false;
        errnos[i] = e.error;
        if (e.seq !== fence) return false;
        fenced = true;
        return true;
      }, () => {
        overrun = true;
      });
    } catch (e) {
      if (!(e instanceof NetlinkError && e.errno === ETIMEDOUT)) throw e;
    }
    if (fenced) return;
    const missing = overrun ? -ENOBUFS : -ETIMEDOUT;
    for (let k = 0; k < buf.count; k++) {
      const i = buf.opAt(k);
      if (errnos[i] === 0) errnos[i] = missing;
    }
  }

  private async dumpNexthops(names: ReadonlyMap<number, string>, protocol: number): Promise<NexthopObject[]> {
    return this.dump((w, seq) => encodeNexthopDump(w, seq), 'nexthop dump', (m): NexthopObject | undefined => {
      if (m.type !== RTM_NEWNEXTHOP) return undefined;
      const d = decodeNexthop(m.body);
      if (protocol !== 0 && d.protocol !== protocol) return undefined;
      const nh: NexthopObject = { id: d.id, protocol: d.protocol };
      if (d.group !== null) nh.group = d.group;
      else if (d.blackhole) nh.blackhole = true;
      else {
        if (d.gateway !== undefined) nh.address = d.gateway;
        if (d.ifindex > 0) nh.interface = names.get(d.ifindex) ?? `if${d.ifindex}`;
      }
      return nh;
    });
  }

  /**
   * Routes that name a nexthop object but came without its paths
   * (net.ipv4.nexthop_compat_mode = 0) get them from the objects: one list
   * per object, frozen and shared like the dump's own.
   */
  private async resolveNhIds(routes: readonly KernelRoute[], names: ReadonlyMap<number, string>): Promise<void> {
    const objects = new Map<number, NexthopObject>();
    for (const nh of await this.dumpNexthops(names, 0)) objects.set(nh.id, nh);
    const lists = new Map<number, KernelRoute['nexthops']>();
    const hop = (nh: NexthopObject): { address?: string; interface?: string } => {
      const h: { address?: string; interface?: string } = {};
      if (nh.address !== undefined) h.address = nh.address;
      if (nh.interface !== undefined) h.interface = nh.interface;
      return Object.freeze(h);
    };
    for (const r of routes) {
      const id = r.nhId!;
      let list = lists.get(id);
      if (list === undefined) {
        const nh = objects.get(id);
        const members = nh?.group?.map((m) => objects.get(m.id)).filter((m) => m !== undefined) ?? (nh && !nh.blackhole ? [nh] : []);
        list = Object.freeze(members.map(hop)) as KernelRoute['nexthops'];
        lists.set(id, list);
      }
      r.nexthops = list;
    }
  }

  private async linkNames(): Promise<Map<number, string>> {
    const names = new Map<number, string>();
    for (const l of await this.dumpLinks()) names.set(l.index, l.name);
    return names;
  }

  private async linkIndexes(): Promise<Map<string, number>> {
    const map = new Map<string, number>();
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
      const items: T[] = [];
      const interrupted = await this.dumpOnce(build, context, (m) => {
        const item = decode(m);
        if (item !== undefined) items.push(item);
      });
      if (!interrupted) return items;
      if (attempt >= DUMP_RETRIES) throw new NetlinkError(4, `${context}: interrupted ${DUMP_RETRIES} times`);
    }
  }

  /**
   * One dump request, each message handed to `handle` as it arrives (a view
   * of the receive buffer: decode it now). True when the kernel flagged the
   * dump inconsistent (NLM_F_DUMP_INTR): what was handled may be incomplete.
   */
  private async dumpOnce(build: (w: NlWriter, seq: number) => void, context: string, handle: (m: NlMessage) => void): Promise<boolean> {
    const seq = this.nextSeq();
    this.w.reset();
    build(this.w, seq);
    this.sock.send(this.w.bytes());
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
      handle(m);
      return false;
    });
    if (failure) throw failure;
    return interrupted;
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

/** A decoded route with its interfaces by name (for the occasional lookup, not the bulk dump). */
function kernelRoute(r: ReturnType<typeof decodeRoute>, names: ReadonlyMap<number, string>): KernelRoute {
  const out: KernelRoute = {
    prefix: r.prefix,
    table: r.table,
    protocol: r.protocol,
    metric: r.priority,
    nexthops: r.nexthops.map((nh) => {
      const hop: { address?: string; interface?: string } = {};
      if (nh.gateway !== undefined) hop.address = nh.gateway;
      if (nh.ifindex > 0) hop.interface = names.get(nh.ifindex) ?? `if${nh.ifindex}`;
      return hop;
    }),
  };
  if (r.nhId !== 0) out.nhId = r.nhId;
  if (r.advmss !== 0) out.advmss = r.advmss;
  if (r.hoplimit !== 0) out.hoplimit = r.hoplimit;
  return out;
}

/** The ops that failed, by index. */
function failures(errnos: Int32Array): RouteOpResult[] {
  const failed: RouteOpResult[] = [];
  for (let i = 0; i < errnos.length; i++) if (errnos[i] !== 0) failed.push({ index: i, errno: errnos[i]! });
  return failed;
}

function toLinkInfo(body: Buffer): LinkInfo {
  const l = decodeLink(body);
  return { index: l.index, name: l.name, up: (l.flags & IFF_UP) !== 0, mtu: l.mtu, ...(l.kind !== '' ? { kind: l.kind } : {}) };
}
