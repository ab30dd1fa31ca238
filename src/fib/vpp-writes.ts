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
import { ADDRESS_IP4, ADDRESS_IP6, encode, fieldLayout, messageDef, sizeOf, toVppAddressUnion, type BulkRequests, type VppRecord } from '#vpp/index';

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
