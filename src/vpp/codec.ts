/**
 * Generic encode/decode of VPP API messages from their definitions (never hand
 * offsets). Wire rules, fact sheet §1.6: packed, no padding, every integer
 * big-endian; enums take their declared width; `string x[N]` is N bytes
 * NUL-padded; `string x[]` is a u32 length and the bytes; a VLA's count lives in
 * an earlier field of the same struct; a union is as large as its largest member.
 *
 * Values: integers up to 32 bits and enums are numbers, 64-bit integers bigint,
 * bool boolean, strings string, `u8` arrays (keys, MACs, addresses) Buffers,
 * other arrays VppValue[], typedefs objects. A union is an object naming the
 * member(s) to write, `{ ip4: Buffer }`; members are written in declaration order
 * into the zero-filled union, and decode returns every member read from the same
 * bytes, so a decoded union encodes back to the same bytes.
 *
 * A body starts with the u16 message id; the 16-byte socket frame is framing.ts.
 */
import { TYPES } from './defs/index.js';
import type { FieldDef, MessageDef, TypeDef } from './defs/types.js';
import { VppCodecError } from './errors.js';

export { VppCodecError } from './errors.js';

export type VppValue = number | bigint | boolean | string | Buffer | VppValue[] | { [k: string]: VppValue };
export type VppRecord = { [k: string]: VppValue };

type StructNode = { k: 'struct'; name: string; fields: Member[]; countOf: ReadonlyMap<string, string>; size: number | null };

type Node =
  | { k: 'int'; bytes: 1 | 2 | 4; signed: boolean; size: number }
  | { k: 'int64'; signed: boolean; size: 8 }
  | { k: 'f64'; size: 8 }
  | { k: 'bool'; size: 1 }
  | { k: 'bytes'; size: number }
  | { k: 'string'; size: number }
  | { k: 'vstring'; size: null }
  | { k: 'array'; el: Node; n: number; size: number | null }
  | { k: 'vla'; el: Node; count: string; size: null }
  | StructNode
  | { k: 'union'; name: string; members: Member[]; size: number };

interface Member {
  name: string;
  node: Node;
}

const INTS: Readonly<Record<string, Node>> = {
  u8: { k: 'int', bytes: 1, signed: false, size: 1 },
  i8: { k: 'int', bytes: 1, signed: true, size: 1 },
  u16: { k: 'int', bytes: 2, signed: false, size: 2 },
  i16: { k: 'int', bytes: 2, signed: true, size: 2 },
  u32: { k: 'int', bytes: 4, signed: false, size: 4 },
  i32: { k: 'int', bytes: 4, signed: true, size: 4 },
  u64: { k: 'int64', signed: false, size: 8 },
  i64: { k: 'int64', signed: true, size: 8 },
  f64: { k: 'f64', size: 8 },
  bool: { k: 'bool', size: 1 },
};

// ---------------------------------------------------------------- compile

type Types = ReadonlyMap<string, TypeDef>;
const compiled = new WeakMap<Types, WeakMap<MessageDef, StructNode>>();

function compileMessage(def: MessageDef, types: Types): StructNode {
  let perTypes = compiled.get(types);
  if (!perTypes) {
    perTypes = new WeakMap();
    compiled.set(types, perTypes);
  }
  const cached = perTypes.get(def);
  if (cached) return cached;
  const node = compileStruct(def.name, def.fields, types, new Map());
  perTypes.set(def, node);
  return node;
}

function compileStruct(name: string, fields: readonly FieldDef[], types: Types, seen: Map<string, Node>): StructNode {
  const members: Member[] = [];
  const countOf = new Map<string, string>();
  let size: number | null = 0;
  for (const f of fields) {
    const node = compileField(f, types, seen);
    if (node.k === 'vla') countOf.set(node.count, f.name);
    members.push({ name: f.name, node });
    size = size === null || node.size === null ? null : size + node.size;
  }
  return { k: 'struct', name, fields: members, countOf, size };
}

function compileField(f: FieldDef, types: Types, seen: Map<string, Node>): Node {
  if (f.type === 'string') {
    if (f.length === undefined) throw new VppCodecError(`string field ${f.name} without a length`);
    return f.length === 0 ? { k: 'vstring', size: null } : { k: 'string', size: f.length };
  }
  const el = compileType(f.type, types, seen);
  if (f.length === undefined) return el;
  if (f.length === 0) {
    if (f.lengthField === undefined) throw new VppCodecError(`array ${f.name}[] without a count field`);
    return { k: 'vla', el, count: f.lengthField, size: null };
  }
  return arrayOf(el, f.length);
}

function arrayOf(el: Node, n: number): Node {
  if (el.k === 'int' && el.bytes === 1 && !el.signed) return { k: 'bytes', size: n };
  return { k: 'array', el, n, size: el.size === null ? null : el.size * n };
}

function compileType(type: string, types: Types, seen: Map<string, Node>): Node {
  const base = INTS[type];
  if (base) return base;
  const done = seen.get(type);
  if (done) return done;
  const t = types.get(type);
  if (!t) throw new VppCodecError(`unknown VPP type ${type}`);
  let node: Node;
  switch (t.kind) {
    case 'enum':
      node = INTS[t.width]!;
      break;
    case 'alias': {
      const el = compileType(t.type, types, seen);
      node = t.length === undefined ? el : arrayOf(el, t.length);
      break;
    }
    case 'typedef':
      node = compileStruct(t.name, t.fields, types, seen);
      break;
    case 'union': {
      const members = t.fields.map((f) => ({ name: f.name, node: compileField(f, types, seen) }));
      let size = 0;
      for (const m of members) {
        if (m.node.size === null) throw new VppCodecError(`union ${t.name}: variable-size member ${m.name}`);
        size = Math.max(size, m.node.size);
      }
      node = { k: 'union', name: t.name, members, size };
      break;
    }
  }
  seen.set(type, node);
  return node;
}

// ---------------------------------------------------------------- helpers

function isRecord(v: VppValue | undefined): v is VppRecord {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function describe(v: VppValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  return typeof v;
}

function bad(path: string, why: string): VppCodecError {
  return new VppCodecError(`${path}: ${why}`);
}

/** Elements of an array or VLA value (a Buffer's bytes count as elements too). */
function elementCount(v: VppValue | undefined, path: string): number {
  if (v === undefined) return 0;
  if (Array.isArray(v) || v instanceof Uint8Array) return v.length;
  throw bad(path, `expected an array, got ${describe(v)}`);
}

// ---------------------------------------------------------------- size

function sizeOfNode(node: Node, v: VppValue | undefined, path: string): number {
  if (node.size !== null) return node.size;
  switch (node.k) {
    case 'vstring':
      if (v === undefined) return 4;
      if (typeof v !== 'string') throw bad(path, `expected a string, got ${describe(v)}`);
      return 4 + Buffer.byteLength(v, 'utf8');
    case 'vla': {
      const n = elementCount(v, path);
      if (node.el.size !== null) return n * node.el.size;
      let total = 0;
      const arr = Array.isArray(v) ? v : [];
      for (let i = 0; i < n; i++) total += sizeOfNode(node.el, arr[i], `${path}[${i}]`);
      return total;
    }
    case 'array': {
      let total = 0;
      const arr = Array.isArray(v) ? v : [];
      for (let i = 0; i < node.n; i++) total += sizeOfNode(node.el, arr[i], `${path}[${i}]`);
      return total;
    }
    case 'struct': {
      if (v !== undefined && !isRecord(v)) throw bad(path, `expected an object, got ${describe(v)}`);
      let total = 0;
      for (const m of node.fields) total += sizeOfNode(m.node, v?.[m.name], `${path}.${m.name}`);
      return total;
    }
    default:
      return 0;
  }
}

/**
 * Bytes of the body of `def` with `values`, including the u16 message id (the
 * fact sheet's sizes count it too: control_ping 10, ip_route_add_del 206 with
 * one path).
 */
export function sizeOf(def: MessageDef, values: VppRecord = {}, types: Types = TYPES): number {
  return 2 + sizeOfNode(compileMessage(def, types), values, def.name);
}

// ---------------------------------------------------------------- encode

function writeInt(buf: Buffer, off: number, node: Node & { k: 'int' }, v: VppValue | undefined, path: string): number {
  let n: number;
  if (v === undefined) n = 0;
  else if (typeof v === 'number') n = v;
  else if (typeof v === 'boolean') n = v ? 1 : 0;
  else if (typeof v === 'bigint') n = Number(v);
  else throw bad(path, `expected a number, got ${describe(v)}`);
  const bits = node.bytes * 8;
  const min = node.signed ? -(2 ** (bits - 1)) : 0;
  const max = node.signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw bad(path, `${String(v)} does not fit ${node.signed ? 'i' : 'u'}${bits}`);
  }
  if (node.bytes === 1) buf[off] = n & 0xff;
  else if (node.bytes === 2) buf.writeUInt16BE(n & 0xffff, off);
  else buf.writeUInt32BE(n >>> 0, off);
  return off + node.bytes;
}

function writeNode(buf: Buffer, off: number, node: Node, v: VppValue | undefined, path: string): number {
  switch (node.k) {
    case 'int':
      return writeInt(buf, off, node, v, path);
    case 'int64': {
      let b: bigint;
      if (v === undefined) b = 0n;
      else if (typeof v === 'bigint') b = v;
      else if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
      else throw bad(path, `expected a bigint, got ${describe(v)}`);
      const ok = node.signed ? b >= -(2n ** 63n) && b < 2n ** 63n : b >= 0n && b < 2n ** 64n;
      if (!ok) throw bad(path, `${b} does not fit ${node.signed ? 'i64' : 'u64'}`);
      if (node.signed) buf.writeBigInt64BE(b, off);
      else buf.writeBigUInt64BE(b, off);
      return off + 8;
    }
    case 'f64':
      if (v !== undefined && typeof v !== 'number') throw bad(path, `expected a number, got ${describe(v)}`);
      buf.writeDoubleBE(v ?? 0, off);
      return off + 8;
    case 'bool':
      if (v !== undefined && typeof v !== 'boolean' && v !== 0 && v !== 1) {
        throw bad(path, `expected a boolean, got ${describe(v)}`);
      }
      buf[off] = v === true || v === 1 ? 1 : 0;
      return off + 1;
    case 'bytes':
      if (v !== undefined) {
        if (!(v instanceof Uint8Array)) throw bad(path, `expected a Buffer, got ${describe(v)}`);
        if (v.length > node.size) throw bad(path, `${v.length} bytes do not fit ${node.size}`);
        buf.set(v, off);
      }
      return off + node.size;
    case 'string': {
      if (v !== undefined) {
        if (typeof v !== 'string') throw bad(path, `expected a string, got ${describe(v)}`);
        const len = Buffer.byteLength(v, 'utf8');
        // VPP reads these as C strings: room for the NUL terminator.
        if (len > node.size - 1) throw bad(path, `"${v}" is longer than ${node.size - 1} bytes`);
        buf.write(v, off, 'utf8');
      }
      return off + node.size;
    }
    case 'vstring': {
      if (v !== undefined && typeof v !== 'string') throw bad(path, `expected a string, got ${describe(v)}`);
      const len = v === undefined ? 0 : buf.write(v, off + 4, 'utf8');
      buf.writeUInt32BE(len, off);
      return off + 4 + len;
    }
    case 'array':
    case 'vla': {
      const n = node.k === 'array' ? node.n : elementCount(v, path);
      if (node.k === 'array' && v !== undefined && elementCount(v, path) > n) {
        throw bad(path, `${elementCount(v, path)} elements do not fit ${n}`);
      }
      if (v instanceof Uint8Array) {
        if (node.el.k !== 'int' || node.el.bytes !== 1 || node.el.signed) throw bad(path, 'expected an array, got bytes');
        buf.set(v, off);
        return off + (node.k === 'array' ? n : v.length);
      }
      const arr = Array.isArray(v) ? v : [];
      let o = off;
      for (let i = 0; i < n; i++) o = writeNode(buf, o, node.el, arr[i], `${path}[${i}]`);
      return o;
    }
    case 'struct': {
      if (v !== undefined && !isRecord(v)) throw bad(path, `expected an object, got ${describe(v)}`);
      let o = off;
      for (const m of node.fields) {
        const p = `${path}.${m.name}`;
        let fv = v?.[m.name];
        const vla = node.countOf.get(m.name);
        if (vla !== undefined) {
          const n = elementCount(v?.[vla], `${path}.${vla}`);
          if (fv === undefined) fv = n;
          else if (fv !== n && fv !== BigInt(n)) throw bad(p, `count ${String(fv)} but ${vla} has ${n} elements`);
        }
        o = writeNode(buf, o, m.node, fv, p);
      }
      return o;
    }
    case 'union': {
      if (v !== undefined && !isRecord(v)) throw bad(path, `expected { member: value }, got ${describe(v)}`);
      if (v) {
        for (const key of Object.keys(v)) {
          if (!node.members.some((m) => m.name === key)) throw bad(path, `${node.name} has no member ${key}`);
        }
        for (const m of node.members) {
          if (v[m.name] !== undefined) writeNode(buf, off, m.node, v[m.name], `${path}.${m.name}`);
        }
      }
      return off + node.size;
    }
  }
}

/**
 * The body of message `def` (id `msgId`, the number VPP assigned at connect).
 * Missing fields are zero; a VLA's count field, when omitted, is the array's
 * length. Throws VppCodecError for values that do not fit.
 */
export function encode(def: MessageDef, msgId: number, values: VppRecord, types: Types = TYPES): Buffer {
  const node = compileMessage(def, types);
  const buf = Buffer.alloc(2 + sizeOfNode(node, values, def.name));
  writeInt(buf, 0, INTS.u16 as Node & { k: 'int' }, msgId, `${def.name}._vl_msg_id`);
  const end = writeNode(buf, 2, node, values, def.name);
  if (end !== buf.length) throw bad(def.name, `encoded ${end} bytes, sized ${buf.length}`);
  return buf;
}

// ---------------------------------------------------------------- decode

class Reader {
  off = 0;
  constructor(
    readonly buf: Buffer,
    readonly msg: string,
  ) {}
  need(n: number, path: string): void {
    if (this.off + n > this.buf.length) {
      throw new VppCodecError(
        `${path}: truncated ${this.msg} (needs ${n} bytes at offset ${this.off}, body has ${this.buf.length})`,
      );
    }
  }
}

function readNode(r: Reader, node: Node, path: string, counts?: VppRecord): VppValue {
  switch (node.k) {
    case 'int': {
      r.need(node.bytes, path);
      const b = r.buf;
      const o = r.off;
      r.off += node.bytes;
      if (node.bytes === 1) return node.signed ? b.readInt8(o) : b[o]!;
      if (node.bytes === 2) return node.signed ? b.readInt16BE(o) : b.readUInt16BE(o);
      return node.signed ? b.readInt32BE(o) : b.readUInt32BE(o);
    }
    case 'int64': {
      r.need(8, path);
      const v = node.signed ? r.buf.readBigInt64BE(r.off) : r.buf.readBigUInt64BE(r.off);
      r.off += 8;
      return v;
    }
    case 'f64': {
      r.need(8, path);
      const v = r.buf.readDoubleBE(r.off);
      r.off += 8;
      return v;
    }
    case 'bool':
      r.need(1, path);
      return r.buf[r.off++] !== 0;
    case 'bytes': {
      r.need(node.size, path);
      const v = r.buf.subarray(r.off, r.off + node.size);
      r.off += node.size;
      return v;
    }
    case 'string': {
      r.need(node.size, path);
      const raw = r.buf.subarray(r.off, r.off + node.size);
      r.off += node.size;
      const nul = raw.indexOf(0);
      return raw.toString('utf8', 0, nul < 0 ? raw.length : nul);
    }
    case 'vstring': {
      r.need(4, path);
      const len = r.buf.readUInt32BE(r.off);
      r.off += 4;
      r.need(len, path);
      const v = r.buf.toString('utf8', r.off, r.off + len);
      r.off += len;
      return v;
    }
    case 'array':
    case 'vla': {
      let n: number;
      if (node.k === 'array') n = node.n;
      else {
        const c = counts?.[node.count];
        if (typeof c !== 'number') throw new VppCodecError(`${path}: count field ${node.count} not read before the array`);
        n = c;
      }
      const isBytes = node.el.k === 'int' && node.el.bytes === 1 && !node.el.signed;
      // Checked up front so a hostile count cannot make us loop or allocate.
      r.need(n * (node.el.size ?? 1), path);
      if (isBytes) {
        const v = r.buf.subarray(r.off, r.off + n);
        r.off += n;
        return v;
      }
      const out: VppValue[] = new Array<VppValue>(n);
      for (let i = 0; i < n; i++) out[i] = readNode(r, node.el, `${path}[${i}]`);
      return out;
    }
    case 'struct': {
      const out: VppRecord = {};
      for (const m of node.fields) out[m.name] = readNode(r, m.node, `${path}.${m.name}`, out);
      return out;
    }
    case 'union': {
      r.need(node.size, path);
      const start = r.off;
      const out: VppRecord = {};
      for (const m of node.members) {
        r.off = start;
        out[m.name] = readNode(r, m.node, `${path}.${m.name}`);
      }
      r.off = start + node.size;
      return out;
    }
  }
}

function asBuffer(body: Uint8Array): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** The message id at the start of a body (VppCodecError when shorter than 2 bytes). */
export function peekMsgId(body: Uint8Array): number {
  if (body.length < 2) throw new VppCodecError(`truncated message: ${body.length} bytes, no message id`);
  return (body[0]! << 8) | body[1]!;
}

/**
 * Reads a body of message `def`. Trailing bytes are tolerated (as VPP does);
 * anything short throws VppCodecError. Byte fields are views of `body`.
 */
export function decode(
  def: MessageDef,
  body: Uint8Array,
  types: Types = TYPES,
): { msgId: number; values: VppRecord } {
  const msgId = peekMsgId(body);
  const r = new Reader(asBuffer(body), def.name);
  r.off = 2;
  const values = readNode(r, compileMessage(def, types), def.name) as VppRecord;
  return { msgId, values };
}
