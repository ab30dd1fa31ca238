/**
 * The ip_route_add_del (CRC b8ecfe0d) requests of one FIB batch, written
 * straight into the VPP client's socket buffer (VppClient.bulk): no record,
 * promise or Buffer per route. Offsets come from the message definition
 * (fieldLayout), never by hand: is_add, is_multipath, then vl_api_ip_route_t
 * { table_id, stats_index, prefix { address { af, un[16] }, len }, n_paths,
 * paths[n_paths] } (fact sheet §2.3, §2.4). A route's fib_paths (167 bytes
 * each; direct, or recursive through the PIC tables with a backup's paths at
 * preference 1: vpp-pic.ts) are encoded once per next-hop list and copied;
 * only the prefix and the flags are written per route. The reply, ip_route_add_del_reply
 * (1992deab: context, i32 retval, stats_index), is read in place by the client.
 */
import { parsePrefix } from '#lib/prefix';
import type { PrefixTable } from '#lib/prefix-table';
import { ADDRESS_IP4, ADDRESS_IP6, encode, fieldLayout, messageDef, sizeOf, toVppAddressUnion, type BulkRequests, type VppRecord } from '#vpp/index';
import type { MessageDef } from '#vpp/defs/types';

const DEF = messageDef('ip_route_add_del');
const at = (path: string): number => fieldLayout(DEF, path).offset;
const IS_ADD = at('is_add');
const IS_MULTIPATH = at('is_multipath');
const TABLE_ID = at('route.table_id');
const STATS_INDEX = at('route.stats_index');
const AF = at('route.prefix.address.af');
const UN = at('route.prefix.address.un');
const UN_SIZE = fieldLayout(DEF, 'route.prefix.address.un').size ?? 16;
const LEN = at('route.prefix.len');
const N_PATHS = at('route.n_paths');
const PATHS = at('route.paths');

const routeOf = (paths: VppRecord[]): VppRecord => ({
  is_add: true,
  is_multipath: true,
  route: { table_id: 0, prefix: { address: { af: ADDRESS_IP4, un: { ip4: Buffer.alloc(4) } }, len: 0 }, paths },
});

/** Bytes of one vl_api_fib_path_t (167). */
export const FIB_PATH_SIZE = sizeOf(DEF, routeOf([{}])) - sizeOf(DEF, routeOf([]));

/** A fib_path record as the wire bytes it takes inside ip_route_add_del. */
export function encodeFibPath(path: VppRecord): Buffer {
  const body = encode(DEF, 0, routeOf([path]));
  return Buffer.from(body.subarray(PATHS, PATHS + FIB_PATH_SIZE));
}

/** vl_api_fib_path_type_t FIB_API_PATH_TYPE_NORMAL. */
export const PATH_TYPE_NORMAL = 0;
/** vl_api_fib_path_nh_proto_t FIB_API_PATH_NH_PROTO_IP4, _IP6. */
export const NH_PROTO_IP4 = 0;
export const NH_PROTO_IP6 = 1;

/** What sets one next-hop path apart from another (see fibPath). */
export interface FibPathVia {
  /** The interface, or ~0 for a recursive path. */
  sw: number;
  /** The table a recursive path resolves in; default 0. */
  tableId?: number;
  /** Default 0 (the best). */
  preference?: number;
  /** vl_api_fib_path_flags_t; default 0. */
  flags?: number;
}

/**
 * The fib_path record of a path via the IP next hop `address` (type NORMAL,
 * weight 1, no labels): direct (`sw` the interface) or recursive (`sw` ~0,
 * resolved in `tableId`). proto is the next hop's family, not the route's
 * (RFC 8950: IPv4 via IPv6).
 */
export function fibPath(address: string, via: FibPathVia): VppRecord {
  return {
    sw_if_index: via.sw,
    table_id: via.tableId ?? 0,
    rpf_id: 0,
    weight: 1,
    preference: via.preference ?? 0,
    type: PATH_TYPE_NORMAL,
    flags: via.flags ?? 0,
    proto: address.includes(':') ? NH_PROTO_IP6 : NH_PROTO_IP4,
    nh: { address: toVppAddressUnion(address), via_label: 0, obj_id: 0, classify_table_index: 0 },
    n_labels: 0,
  };
}

/**
 * "a.b.c.d/len" into out[off..off+4): its length, or -1 when the text is not
 * that (IPv6, or anything unusual: the caller parses it the slow way).
 */
function ipv4PrefixInto(s: string, out: Uint8Array, off: number): number {
  let octet = 0;
  let digits = 0;
  let k = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return -1;
    } else if ((c === 46 && k < 3) || (c === 47 && k === 3)) {
      if (digits === 0) return -1;
      out[off + k++] = octet;
      octet = 0;
      digits = 0;
      if (c === 47) {
        let len = 0;
        let n = 0;
        for (let j = i + 1; j < s.length; j++) {
          const d = s.charCodeAt(j);
          if (d < 48 || d > 57 || ++n > 2) return -1;
          len = len * 10 + (d - 48);
        }
        return n > 0 && len <= 32 ? len : -1;
      }
    } else {
      return -1;
    }
  }
  return -1;
}

/**
 * The requests of one batch. Per op: its prefix, parsed once (setPrefix);
 * per request: the op it belongs to, add or remove, and its paths' bytes.
 */
export class RouteWrites implements BulkRequests {
  readonly name = 'ip_route_add_del';
  count = 0;
  /** The op of each request. */
  readonly op: Int32Array;
  private readonly isAdd: Uint8Array;
  private readonly paths: Buffer[] = [];
  private readonly family: Uint8Array;
  private readonly len: Uint8Array;
  private readonly address: Buffer;

  constructor(
    ops: number,
    requests: number,
    private readonly tableId: number,
  ) {
    this.op = new Int32Array(requests);
    this.isAdd = new Uint8Array(requests);
    this.family = new Uint8Array(ops);
    this.len = new Uint8Array(ops);
    this.address = Buffer.alloc(ops * UN_SIZE);
  }

  /** Parses op `o`'s prefix (host bits kept, as VPP takes it); false when it is not one. */
  setPrefix(o: number, prefix: string): boolean {
    const len = ipv4PrefixInto(prefix, this.address, o * UN_SIZE);
    if (len >= 0) {
      this.family[o] = ADDRESS_IP4;
      this.len[o] = len;
      return true;
    }
    const p = parsePrefix(prefix, true);
    if (!p) return false;
    this.address.fill(0, o * UN_SIZE, (o + 1) * UN_SIZE);
    this.address.set(p.bytes, o * UN_SIZE);
    this.family[o] = p.family === 4 ? ADDRESS_IP4 : ADDRESS_IP6;
    this.len[o] = p.len;
    return true;
  }

  /**
   * Op `o`'s prefix from its number in `table` (the words of its address:
   * no text parsed); host bits as the table holds them (none: canonical).
   */
  setPrefixOf(o: number, table: PrefixTable, id: number): void {
    const at = o * UN_SIZE;
    if (table.isV6(id)) {
      this.family[o] = ADDRESS_IP6;
      for (let k = 0; k < 4; k++) this.address.writeInt32BE(table.wordOf(id, k), at + 4 * k);
    } else {
      this.family[o] = ADDRESS_IP4;
      this.address.writeInt32BE(table.wordOf(id, 0), at);
      this.address.fill(0, at + 4, at + UN_SIZE);
    }
    this.len[o] = table.lengthOf(id);
  }

  /** Adds (is_add=1) or removes (is_add=0) `paths` of op `o`'s prefix; is_multipath=1 always (ownership). */
  push(o: number, isAdd: boolean, paths: Buffer): void {
    const i = this.count++;
    this.op[i] = o;
    this.isAdd[i] = isAdd ? 1 : 0;
    this.paths.push(paths);
  }

  /** Empties the requests (the prefixes stay): the next pass over the same ops. */
  reset(): void {
    this.count = 0;
    this.paths.length = 0;
  }

  /**
   * Keeps only the requests whose op passes `keep`, in order (a batch whose
   * PIC host routes could not all be written drops the routes that need them).
   */
  keepOnly(keep: (op: number) => boolean): void {
    let n = 0;
    for (let i = 0; i < this.count; i++) {
      const o = this.op[i]!;
      if (!keep(o)) continue;
      this.op[n] = o;
      this.isAdd[n] = this.isAdd[i]!;
      this.paths[n] = this.paths[i]!;
      n++;
    }
    this.count = n;
    this.paths.length = n;
  }

  /** The paths of request i. */
  pathsOf(i: number): Buffer {
    return this.paths[i]!;
  }

  size(i: number): number {
    return PATHS + this.paths[i]!.length;
  }

  write(i: number, buf: Buffer, off: number): void {
    const o = this.op[i]!;
    const paths = this.paths[i]!;
    buf[off + IS_ADD] = this.isAdd[i]!;
    buf[off + IS_MULTIPATH] = 1;
    buf.writeUInt32BE(this.tableId, off + TABLE_ID);
    buf.writeUInt32BE(0, off + STATS_INDEX);
    buf[off + AF] = this.family[o]!;
    this.address.copy(buf, off + UN, o * UN_SIZE, (o + 1) * UN_SIZE);
    buf[off + LEN] = this.len[o]!;
    buf[off + N_PATHS] = paths.length / FIB_PATH_SIZE;
    paths.copy(buf, off + PATHS);
  }
}

// ─── ip_route_details, read in place (VppClient.dumpRaw) ──────────────────

const DETAILS = messageDef('ip_route_details');
const dat = (path: string): number => fieldLayout(DETAILS, path).offset;
const D_AF = dat('route.prefix.address.af');
const D_UN = dat('route.prefix.address.un');
const D_LEN = dat('route.prefix.len');
const D_N_PATHS = dat('route.n_paths');
const D_PATHS = dat('route.paths');

/** Offsets inside one vl_api_fib_path_t, from its definition. */
const PATH_DEF: MessageDef = { name: 'wgbgp_fib_path', crc: '00000000', fields: [{ name: 'p', type: 'vl_api_fib_path_t' }] };
const pathAt = (field: string): { offset: number; size: number } => {
  const l = fieldLayout(PATH_DEF, `p.${field}`);
  return { offset: l.offset - fieldLayout(PATH_DEF, 'p').offset, size: l.size ?? 0 };
};
const P_SW = pathAt('sw_if_index');
const P_TABLE = pathAt('table_id');
const P_PREFERENCE = pathAt('preference');
const P_TYPE = pathAt('type');
const P_FLAGS = pathAt('flags');
const P_PROTO = pathAt('proto');
const P_NH = pathAt('nh.address');

const readUint = (buf: Buffer, at: number, size: number): number => (size === 1 ? buf[at]! : size === 2 ? buf.readUInt16BE(at) : buf.readUInt32BE(at));

/** One ip_route_details: the route as the few values VppFib reads, and its paths' wire bytes (FIB_PATH_SIZE each). */
export interface DumpedRoute {
  /** vl_api_prefix_t as the codec gives it ({ address: { af, un: { ip4, ip6 } }, len }). */
  readonly prefix: VppRecord;
  /** Per path: sw_if_index, table_id, preference, type, flags, proto, nh.address ({ ip4, ip6 }). */
  readonly paths: VppRecord[];
  /** The paths' bytes (a copy), path i at i * FIB_PATH_SIZE: what a removal sends back. */
  readonly pathBytes: Buffer;
}

/**
 * An ip_route_details body (buf[start, start + length), the u16 message id
 * first) read without the generic decoder: no record for the 16 labels of
 * every path. Null when it is too short for what it says it holds.
 */
export function readRouteDetails(buf: Buffer, start: number, length: number): DumpedRoute | null {
  if (length < D_PATHS) return null;
  const n = buf[start + D_N_PATHS]!;
  if (length < D_PATHS + n * FIB_PATH_SIZE) return null;
  const head = Buffer.from(buf.subarray(start + D_UN, start + D_UN + UN_SIZE));
  const prefix: VppRecord = { address: { af: buf[start + D_AF]!, un: { ip4: head.subarray(0, 4), ip6: head } }, len: buf[start + D_LEN]! };
  const pathBytes = Buffer.from(buf.subarray(start + D_PATHS, start + D_PATHS + n * FIB_PATH_SIZE));
  const paths: VppRecord[] = new Array<VppRecord>(n);
  for (let i = 0; i < n; i++) {
    const at = i * FIB_PATH_SIZE;
    const nh = pathBytes.subarray(at + P_NH.offset, at + P_NH.offset + UN_SIZE);
    paths[i] = {
      sw_if_index: readUint(pathBytes, at + P_SW.offset, P_SW.size),
      table_id: readUint(pathBytes, at + P_TABLE.offset, P_TABLE.size),
      preference: readUint(pathBytes, at + P_PREFERENCE.offset, P_PREFERENCE.size),
      type: readUint(pathBytes, at + P_TYPE.offset, P_TYPE.size),
      flags: readUint(pathBytes, at + P_FLAGS.offset, P_FLAGS.size),
      proto: readUint(pathBytes, at + P_PROTO.offset, P_PROTO.size),
      nh: { address: { ip4: nh.subarray(0, 4), ip6: nh } },
    };
  }
  return { prefix, paths, pathBytes };
}

/**
 * Removals of paths given as wire bytes, one request per entry (is_add=0,
 * is_multipath=1: only these paths go), prefixes as the dump gave them:
 * purgeInterface's batch through VppClient.bulk.
 */
export class PathRemovals implements BulkRequests {
  readonly name = 'ip_route_add_del';
  private readonly prefixes: VppRecord[] = [];
  private readonly paths: Buffer[] = [];
  private readonly whole: boolean[] = [];

  constructor(private readonly tableId: number) {}

  get count(): number {
    return this.paths.length;
  }

  /** Removes `paths` (FIB_PATH_SIZE each) of the dumped `prefix`; `whole`: they are all its paths (is_multipath=0, no paths: the entry goes). */
  push(prefix: VppRecord, paths: Buffer, whole: boolean): void {
    this.prefixes.push(prefix);
    this.paths.push(whole ? Buffer.alloc(0) : paths);
    this.whole.push(whole);
  }

  size(i: number): number {
    return PATHS + this.paths[i]!.length;
  }

  write(i: number, buf: Buffer, off: number): void {
    const p = this.prefixes[i]!;
    const address = p.address as { af: number; un: { ip6: Buffer } };
    const paths = this.paths[i]!;
    buf[off + IS_ADD] = 0;
    buf[off + IS_MULTIPATH] = this.whole[i] ? 0 : 1;
    buf.writeUInt32BE(this.tableId, off + TABLE_ID);
    buf.writeUInt32BE(0, off + STATS_INDEX);
    buf[off + AF] = address.af;
    address.un.ip6.copy(buf, off + UN, 0, UN_SIZE);
    buf[off + LEN] = p.len as number;
    buf[off + N_PATHS] = paths.length / FIB_PATH_SIZE;
    paths.copy(buf, off + PATHS);
  }
}
