/**
 * What Rtnetlink.runBatch sends: a batch of requests, each encoded straight
 * into a reused send buffer without an object of its own. A BatchEncoder
 * knows one kind of request (routes, nexthop objects); the send buffers and
 * the exchange around them are Rtnetlink's.
 */
import { parseIp, parsePrefix } from '#lib/prefix';
import { encodeRouteDelete, encodeRouteNew, NlWriter, parseIpv4PrefixInto, parseIpv6PrefixInto } from './codec.js';
import type { RouteNexthopSpec, RouteSpec } from './codec.js';
import { encodeNexthopDelete, encodeNexthopNew, encodeRouteNhId } from './nexthop-codec.js';
import type { NexthopSpec } from './nexthop-codec.js';
import { AF_INET, AF_INET6 } from './constants.js';
import { EINVAL, ENODEV } from './errors.js';
import type { NexthopWrite, RouteOp, RouteTag, RouteWrite, RouteWriteColumns } from './types.js';

/** Upper bound of one encoded route message, to cut send buffers between messages. */
/** Header, rtmsg, table, dst (v6), priority, gateway (v6) or via, oif or nh id, RTA_METRICS { RTAX_ADVMSS, RTAX_HOPLIMIT }. */
const ROUTE_MSG_FIXED = 16 + 12 + 8 + 20 + 8 + 24 + 8 + 20;
const ROUTE_MSG_PER_NEXTHOP = 8 + 24 + 8;
/** The smallest message of any batch (a route delete of a default route, a nexthop delete). */
export const BATCH_MSG_MIN = 16 + 12;
/** Upper bound of a nexthop message: header, nhmsg, NHA_ID, NHA_GATEWAY (v6), NHA_OIF; a group adds 8 per member. */
const NEXTHOP_MSG_FIXED = 16 + 8 + 8 + 20 + 8;

/** A batch as runBatch reads it. */
export interface BatchEncoder {
  readonly length: number;
  /** Upper bound of the bytes op i encodes to. */
  bound(i: number): number;
  /** Encodes op i without NLM_F_ACK; returns a positive errno when it cannot be sent (nothing written then). */
  encode(w: NlWriter, seq: number, i: number): number;
}

/** A route path as the batch path reads it (KernelRoute's and FibRoute's next hops both are). */
export type RouteNexthop = { readonly address?: string; readonly interface?: string };

/** A route batch, without an object per op of its own. */
export interface RouteBatch {
  readonly length: number;
  prefix(i: number): string;
  table(i: number): number;
  protocol(i: number): number;
  /** RTA_PRIORITY to send, or undefined for none. */
  metric(i: number): number | undefined;
  /** How a route with paths is written; null for a delete. */
  how(i: number): 'add' | 'replace' | null;
  /** The paths of an add or replace; null for a delete. */
  nexthops(i: number): readonly RouteNexthop[] | null;
  /** The nexthop object an add or replace names instead of its paths; 0: none. */
  nhId(i: number): number;
  /** RTAX_ADVMSS of an add or replace (0: none, sent); undefined: not sent. */
  advmss(i: number): number | undefined;
  /** RTAX_HOPLIMIT of an add or replace; 0: not sent. */
  hoplimit(i: number): number;
  /** Optional: op i's destination bytes without its text (RouteWriteColumns.dst); -1: use prefix(i). */
  dst?(i: number, v4: Uint8Array, v6: Uint8Array): number;
}

export class RouteOpBatch implements RouteBatch {
  constructor(private readonly ops: readonly RouteOp[]) {}
  get length(): number {
    return this.ops.length;
  }
  prefix(i: number): string {
    return this.ops[i]!.route.prefix;
  }
  table(i: number): number {
    return this.ops[i]!.route.table;
  }
  protocol(i: number): number {
    return this.ops[i]!.route.protocol;
  }
  metric(i: number): number | undefined {
    return this.ops[i]!.route.metric;
  }
  how(i: number): 'add' | 'replace' | null {
    const op = this.ops[i]!;
    return op.op === 'delete' ? null : op.op;
  }
  nexthops(i: number): readonly RouteNexthop[] | null {
    const op = this.ops[i]!;
    return op.op === 'delete' ? null : op.route.nexthops;
  }
  nhId(): number {
    return 0;
  }
  advmss(i: number): number | undefined {
    const op = this.ops[i]!;
    return op.op === 'delete' ? undefined : op.route.advmss;
  }
  hoplimit(i: number): number {
    const op = this.ops[i]!;
    return op.op === 'delete' ? 0 : (op.route.hoplimit ?? 0);
  }
}

/** RouteWrite objects as the columns RouteWriteBatch reads. */
class RouteWriteArray implements RouteWriteColumns {
  constructor(private readonly ops: readonly RouteWrite[]) {}
  get length(): number {
    return this.ops.length;
  }
  how(i: number): 'add' | 'replace' | null {
    const op = this.ops[i]!;
    return op.op === 'delete' ? null : op.op;
  }
  prefix(i: number): string {
    const op = this.ops[i]!;
    return op.op === 'delete' ? op.prefix : op.route.prefix;
  }
  nexthops(i: number): readonly RouteNexthop[] | null {
    const op = this.ops[i]!;
    return op.op === 'delete' ? null : op.route.nexthops;
  }
}

export class RouteWriteBatch implements RouteBatch {
  private readonly ops: RouteWriteColumns;
  readonly dst?: (i: number, v4: Uint8Array, v6: Uint8Array) => number;

  constructor(
    ops: readonly RouteWrite[] | RouteWriteColumns,
    private readonly tag: RouteTag,
    private readonly nhIds: ArrayLike<number> | undefined,
    private readonly mss: ArrayLike<number> | undefined,
    private readonly hops: ArrayLike<number> | undefined = undefined,
  ) {
    this.ops = Array.isArray(ops) ? new RouteWriteArray(ops as readonly RouteWrite[]) : (ops as RouteWriteColumns);
    const cols = this.ops;
    if (cols.dst !== undefined) this.dst = (i, v4, v6) => cols.dst!(i, v4, v6);
  }
  get length(): number {
    return this.ops.length;
  }
  prefix(i: number): string {
    return this.ops.prefix(i);
  }
  table(): number {
    return this.tag.table;
  }
  protocol(): number {
    return this.tag.protocol;
  }
  metric(): number {
    return this.tag.metric;
  }
  how(i: number): 'add' | 'replace' | null {
    return this.ops.how(i);
  }
  nexthops(i: number): readonly RouteNexthop[] | null {
    return this.ops.nexthops(i);
  }
  nhId(i: number): number {
    return this.nhIds === undefined ? 0 : (this.nhIds[i] ?? 0);
  }
  advmss(i: number): number | undefined {
    return this.mss === undefined ? undefined : (this.mss[i] ?? 0);
  }
  hoplimit(i: number): number {
    return this.hops === undefined ? 0 : (this.hops[i] ?? 0);
  }
}

type Gateway = { family: 4 | 6; bytes: Uint8Array } | null;

/** Route requests of a RouteBatch. Scratch specs are the encoder's own: the codec reads them, nothing keeps them. */
export class RouteEncoder implements BatchEncoder {
  private readonly dst4 = new Uint8Array(4);
  private readonly dst6 = new Uint8Array(16);
  private readonly spec: RouteSpec = { family: AF_INET, dst: this.dst4, dstLen: 0, table: 0, protocol: 0 };
  private readonly hops1: RouteNexthopSpec[] = [{ ifindex: 0 }];
  /** Next hops repeat across a batch (a few peers, many prefixes): each is parsed once. */
  private readonly gateways = new Map<string, Gateway>();

  constructor(
    private readonly batch: RouteBatch,
    private readonly ifindex: ReadonlyMap<string, number>,
  ) {}

  get length(): number {
    return this.batch.length;
  }

  bound(i: number): number {
    const nexthops = this.batch.nhId(i) !== 0 ? null : this.batch.nexthops(i);
    return ROUTE_MSG_FIXED + (nexthops === null ? 0 : nexthops.length * ROUTE_MSG_PER_NEXTHOP);
  }

  encode(w: NlWriter, seq: number, i: number): number {
    const batch = this.batch;
    const spec = this.spec;
    const known = batch.dst === undefined ? -1 : batch.dst(i, this.dst4, this.dst6);
    if (known >= 256) {
      spec.family = AF_INET6;
      spec.dst = this.dst6;
      spec.dstLen = known - 256;
    } else if (known >= 0) {
      spec.family = AF_INET;
      spec.dst = this.dst4;
      spec.dstLen = known;
    } else if (!this.parseDst(batch.prefix(i))) return EINVAL;
    spec.table = batch.table(i);
    spec.protocol = batch.protocol(i);
    spec.priority = batch.metric(i);
    const how = batch.how(i);
    spec.advmss = how === null ? undefined : batch.advmss(i);
    spec.hoplimit = how === null ? undefined : batch.hoplimit(i);
    if (how === null) {
      encodeRouteDelete(w, seq, spec, false);
      return 0;
    }
    const nhId = batch.nhId(i);
    if (nhId !== 0) {
      encodeRouteNhId(w, seq, spec, nhId, how, false);
      return 0;
    }
    const nexthops = batch.nexthops(i);
    if (nexthops === null || nexthops.length === 0) return EINVAL;
    // One path (the common case) fills a scratch spec; multipath allocates its own.
    const hops = nexthops.length === 1 ? this.hops1 : nexthops.map((): RouteNexthopSpec => ({ ifindex: 0 }));
    for (let k = 0; k < nexthops.length; k++) {
      const nh = nexthops[k]!;
      const hop = hops[k]!;
      hop.gateway = undefined;
      hop.ifindex = 0;
      if (nh.address !== undefined) {
        const gw = this.gateway(nh.address);
        // An IPv6 next hop on an IPv4 route is RTA_VIA; an IPv4 one on an IPv6 route does not exist.
        if (!gw || (spec.family === AF_INET6 && gw.family === 4)) return EINVAL;
        hop.gateway = gw.bytes;
      }
      if (nh.interface !== undefined) {
        const idx = this.ifindex.get(nh.interface);
        if (idx === undefined) return ENODEV;
        hop.ifindex = idx;
      }
    }
    encodeRouteNew(w, seq, spec, hops, how, false);
    return 0;
  }

  /** The text path: `prefix` parsed into the spec; false when it is not a prefix. */
  private parseDst(prefix: string): boolean {
    const spec = this.spec;
    const len4 = parseIpv4PrefixInto(prefix, this.dst4);
    const len6 = len4 < 0 ? parseIpv6PrefixInto(prefix, this.dst6) : -1;
    if (len4 >= 0) {
      spec.family = AF_INET;
      spec.dst = this.dst4;
      spec.dstLen = len4;
    } else if (len6 >= 0) {
      spec.family = AF_INET6;
      spec.dst = this.dst6;
      spec.dstLen = len6;
    } else {
      const p = parsePrefix(prefix);
      if (!p) return false;
      spec.family = p.family === 4 ? AF_INET : AF_INET6;
      spec.dst = p.bytes;
      spec.dstLen = p.len;
    }
    return true;
  }

  private gateway(address: string): Gateway {
    let gw = this.gateways.get(address);
    if (gw === undefined) {
      gw = parseIp(address);
      this.gateways.set(address, gw);
    }
    return gw;
  }
}

/** Whether any add or replace of the batch names an interface (then runBatch needs the link table). */
export function routeBatchNamesInterfaces(batch: RouteBatch): boolean {
  for (let i = 0; i < batch.length; i++) {
    if (batch.nhId(i) !== 0) continue;
    const hops = batch.nexthops(i);
    if (hops !== null && hops.some((nh) => nh.interface !== undefined)) return true;
  }
  return false;
}

/** Nexthop object requests, in the order given (members before the groups that name them). */
export class NexthopEncoder implements BatchEncoder {
  constructor(
    private readonly ops: readonly NexthopWrite[],
    private readonly ifindex: ReadonlyMap<string, number>,
  ) {}

  get length(): number {
    return this.ops.length;
  }

  bound(i: number): number {
    const op = this.ops[i]!;
    return NEXTHOP_MSG_FIXED + (op.op === 'delete' ? 0 : (op.nexthop.group?.length ?? 0) * 8);
  }

  encode(w: NlWriter, seq: number, i: number): number {
    const op = this.ops[i]!;
    if (op.op === 'delete') {
      if (!(op.id > 0)) return EINVAL;
      encodeNexthopDelete(w, seq, op.id, false);
      return 0;
    }
    const nh = op.nexthop;
    if (!(nh.id > 0 && nh.id <= 0xffffffff)) return EINVAL;
    const spec: NexthopSpec = { id: nh.id, protocol: nh.protocol, family: AF_INET6, ifindex: 0 };
    if (nh.group !== undefined) {
      if (nh.group.length === 0) return EINVAL;
      spec.family = 0;
      spec.group = nh.group;
    } else if (nh.blackhole === true) {
      spec.family = AF_INET;
      spec.blackhole = true;
    } else {
      // A device-only next hop is AF_INET6: IPv4 routes may name an IPv6 object, IPv6 routes no IPv4 one.
      if (nh.interface === undefined) return EINVAL;
      const idx = this.ifindex.get(nh.interface);
      if (idx === undefined) return ENODEV;
      spec.ifindex = idx;
      if (nh.address !== undefined) {
        const gw = parseIp(nh.address);
        if (!gw) return EINVAL;
        spec.family = gw.family === 4 ? AF_INET : AF_INET6;
        spec.gateway = gw.bytes;
      }
    }
    encodeNexthopNew(w, seq, spec, op.op, false);
    return 0;
  }
}

/**
 * One send buffer of requests and, per message, its seq and the index of its
 * op in the batch. Reused batch after batch: no per-op objects.
 */
export class SendBuffer {
  readonly w: NlWriter;
  private readonly seqs: Uint32Array;
  private readonly ops: Uint32Array;
  count = 0;
  /** Offset of the last message, which carries the fence's NLM_F_ACK. */
  lastStart = 0;

  constructor(
    bytes: number,
    readonly capacity: number,
  ) {
    this.w = new NlWriter(bytes);
    this.seqs = new Uint32Array(capacity);
    this.ops = new Uint32Array(capacity);
  }

  reset(): void {
    this.w.reset();
    this.count = 0;
  }

  add(seq: number, op: number, start: number): void {
    this.seqs[this.count] = seq;
    this.ops[this.count] = op;
    this.count++;
    this.lastStart = start;
  }

  seqAt(k: number): number {
    return this.seqs[k]!;
  }

  opAt(k: number): number {
    return this.ops[k]!;
  }

  /** The op of the message with `seq`, or -1. Seqs run consecutively except where they wrap past 0. */
  opOf(seq: number): number {
    const guess = (seq - this.seqs[0]!) >>> 0;
    if (guess < this.count && this.seqs[guess] === seq) return this.ops[guess]!;
    for (let k = 0; k < this.count; k++) if (this.seqs[k] === seq) return this.ops[k]!;
    return -1;
  }
}
