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

type IntNode = { k: 'int'; bytes: 1 | 2 | 4; signed: boolean; size: number; min: number; max: number };
type StructNode = { k: 'struct'; name: string; fields: Member[]; size: number | null };

type Node =
  | IntNode
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
  /** Set on a VLA's count field: the array whose length it carries. */
  countOf?: string;
}

const int = (bytes: 1 | 2 | 4, signed: boolean): IntNode => {
  const bits = bytes * 8;
  return { k: 'int', bytes, signed, size: bytes, min: signed ? -(2 ** (bits - 1)) : 0, max: signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1 };
};

const INTS: Readonly<Record<string, Node>> = {
  u8: int(1, false),
  i8: int(1, true),
  u16: int(2, false),
  i16: int(2, true),
  u32: int(4, false),
  i32: int(4, true),
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
  let size: number | null = 0;
  for (const f of fields) {
    const node = compileField(f, types, seen);
    if (node.k === 'vla') {
      const count = members.find((m) => m.name === node.count);
      if (!count) throw new VppCodecError(`${name}.${f.name}: count field ${node.count} is not an earlier field`);
      count.countOf = f.name;
    }
    members.push({ name: f.name, node });
    size = size === null || node.size === null ? null : size + node.size;
  }
  return { k: 'struct', name, fields: members, size };
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

// ---------------------------------------------------------------- faults

/**
 * Thrown inside the walk; each struct/array level on the way out adds its
 * field name, so the hot path builds no path strings.
 */
class Fault {
  readonly path: string[] = [];
  constructor(readonly why: string) {}
}

/** Adds the field (or `[i]`) a fault passed through on its way out. */
function via(e: unknown, segment: string): unknown {
  if (e instanceof Fault) e.path.unshift(segment);
  return e;
}

function toCodecError(e: unknown, msg: string): unknown {
  if (!(e instanceof Fault)) return e;
  const path = e.path.reduce((acc, seg) => (seg.startsWith('[') ? acc + seg : `${acc}.${seg}`), msg);
  return new VppCodecError(`${path}: ${e.why}`);
}

function isRecord(v: VppValue | undefined): v is VppRecord {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function describe(v: VppValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  return typeof v;
}

/** Elements of an array or VLA value (a Buffer's bytes count as elements too). */
function elementCount(v: VppValue | undefined): number {
  if (v === undefined) return 0;
  if (Array.isArray(v) || v instanceof Uint8Array) return v.length;
  throw new Fault(`expected an array, got ${describe(v)}`);
}

// ---------------------------------------------------------------- size

function sizeOfNode(node: Node, v: VppValue | undefined): number {
  if (node.size !== null) return node.size;
  switch (node.k) {
    case 'vstring':
      if (v === undefined) return 4;
      if (typeof v !== 'string') throw new Fault(`expected a string, got ${describe(v)}`);
      return 4 + Buffer.byteLength(v, 'utf8');
    case 'vla': {
      const n = elementCount(v);
      if (node.el.size !== null) return n * node.el.size;
      let total = 0;
      const arr = Array.isArray(v) ? v : [];
      for (let i = 0; i < n; i++) {
        try {
          total += sizeOfNode(node.el, arr[i]);
        } catch (e) {
          throw via(e, `[${i}]`);
        }
      }
      return total;
    }
    case 'array': {
      let total = 0;
      const arr = Array.isArray(v) ? v : [];
      for (let i = 0; i < node.n; i++) {
        try {
          total += sizeOfNode(node.el, arr[i]);
        } catch (e) {
          throw via(e, `[${i}]`);
        }
      }
      return total;
    }
    case 'struct': {
      if (v !== undefined && !isRecord(v)) throw new Fault(`expected an object, got ${describe(v)}`);
      let total = 0;
      for (const m of node.fields) {
        try {
          total += m.node.size ?? sizeOfNode(m.node, v?.[m.name]);
        } catch (e) {
          throw via(e, m.name);
        }
      }
      return total;
    }
    default:
      return 0;
  }
}

/**
 * Where a field of a message sits and how large it is, from the definitions
 * (no hand offsets): `fieldLayout(def, 'route.prefix.len')`, offsets in the
 * body (the u16 message id at 0 counts). A union member sits at the union's
 * offset; a VLA's size is null. Every field before the one asked for must
 * have a fixed size. For templates of hot-path messages (FIB writes).
 */
export function fieldLayout(def: MessageDef, path: string, types: Types = TYPES): { offset: number; size: number | null } {
  let node: Node = compileMessage(def, types);
  let offset = 2;
  for (const name of path.split('.')) {
    if (node.k === 'struct') {
      let o = 0;
      let found: Member | undefined;
      for (const m of node.fields) {
        if (m.name === name) {
          found = m;
          break;
        }
        if (m.node.size === null) throw new VppCodecError(`${def.name}.${path}: ${m.name} before it has no fixed size`);
        o += m.node.size;
      }
      if (!found) throw new VppCodecError(`${def.name}.${path}: no field ${name}`);
      offset += o;
      node = found.node;
    } else if (node.k === 'union') {
      const found: Member | undefined = node.members.find((m) => m.name === name);
      if (!found) throw new VppCodecError(`${def.name}.${path}: no member ${name}`);
      node = found.node;
    } else {
      throw new VppCodecError(`${def.name}.${path}: ${name} inside a ${node.k}`);
    }
  }
  return { offset, size: node.size };
}

/**
 * Bytes of the body of `def` with `values`, including the u16 message id (the
 * fact sheet's sizes count it too: control_ping 10, ip_route_add_del 206 with
 * one path).
 */
export function sizeOf(def: MessageDef, values: VppRecord = {}, types: Types = TYPES): number {
  try {
    return 2 + sizeOfNode(compileMessage(def, types), values);
  } catch (e) {
    throw toCodecError(e, def.name);
  }
}

// ---------------------------------------------------------------- encode

function writeInt(buf: Buffer, off: number, node: IntNode, v: VppValue | undefined): number {
  let n: number;
  if (v === undefined) n = 0;
  else if (typeof v === 'number') n = v;
  else if (typeof v === 'boolean') n = v ? 1 : 0;
  else if (typeof v === 'bigint') n = Number(v);
  else throw new Fault(`expected a number, got ${describe(v)}`);
  if (!Number.isInteger(n) || n < node.min || n > node.max) {
    throw new Fault(`${String(v)} does not fit ${node.signed ? 'i' : 'u'}${node.bytes * 8}`);
  }
  if (node.bytes === 1) buf[off] = n & 0xff;
  else if (node.bytes === 2) buf.writeUInt16BE(n & 0xffff, off);
  else buf.writeUInt32BE(n >>> 0, off);
  return off + node.bytes;
}

/** Writes `v` at `off` into a zero-filled buffer; returns the offset after it. */
function writeNode(buf: Buffer, off: number, node: Node, v: VppValue | undefined): number {
  // The buffer starts zeroed, and an absent value is all zeros (empty VLAs and
  // strings included): nothing to write.
  if (v === undefined) return off + (node.size ?? sizeOfNode(node, undefined));
  switch (node.k) {
    case 'int':
      return writeInt(buf, off, node, v);
    case 'int64': {
      let b: bigint;
      if (typeof v === 'bigint') b = v;
      else if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
      else throw new Fault(`expected a bigint, got ${describe(v)}`);
      const ok = node.signed ? b >= -(2n ** 63n) && b < 2n ** 63n : b >= 0n && b < 2n ** 64n;
      if (!ok) throw new Fault(`${b} does not fit ${node.signed ? 'i64' : 'u64'}`);
      if (node.signed) buf.writeBigInt64BE(b, off);
      else buf.writeBigUInt64BE(b, off);
      return off + 8;
    }
    case 'f64':
      if (typeof v !== 'number') throw new Fault(`expected a number, got ${describe(v)}`);
      buf.writeDoubleBE(v, off);
      return off + 8;
    case 'bool':
      if (typeof v !== 'boolean' && v !== 0 && v !== 1) throw new Fault(`expected a boolean, got ${describe(v)}`);
      buf[off] = v === true || v === 1 ? 1 : 0;
      return off + 1;
    case 'bytes':
      if (!(v instanceof Uint8Array)) throw new Fault(`expected a Buffer, got ${describe(v)}`);
      if (v.length > node.size) throw new Fault(`${v.length} bytes do not fit ${node.size}`);
      buf.set(v, off);
      return off + node.size;
    case 'string': {
      if (typeof v !== 'string') throw new Fault(`expected a string, got ${describe(v)}`);
      // VPP reads these as C strings: room for the NUL terminator.
      if (Buffer.byteLength(v, 'utf8') > node.size - 1) throw new Fault(`"${v}" is longer than ${node.size - 1} bytes`);
      buf.write(v, off, 'utf8');
      return off + node.size;
    }
    case 'vstring': {
      if (typeof v !== 'string') throw new Fault(`expected a string, got ${describe(v)}`);
      const len = buf.write(v, off + 4, 'utf8');
      buf.writeUInt32BE(len, off);
      return off + 4 + len;
    }
    case 'array':
    case 'vla': {
      const count = elementCount(v);
      if (node.k === 'array' && count > node.n) throw new Fault(`${count} elements do not fit ${node.n}`);
      if (v instanceof Uint8Array) {
        if (node.el.k !== 'int' || node.el.bytes !== 1 || node.el.signed) throw new Fault('expected an array, got bytes');
        buf.set(v, off);
        return off + (node.k === 'array' ? node.n : v.length);
      }
      const arr = v as VppValue[];
      let o = off;
      for (let i = 0; i < count; i++) {
        try {
          o = writeNode(buf, o, node.el, arr[i]);
        } catch (e) {
          throw via(e, `[${i}]`);
        }
      }
      if (node.k === 'array') o += (node.n - count) * (node.el.size ?? 0);
      return o;
    }
    case 'struct': {
      if (!isRecord(v)) throw new Fault(`expected an object, got ${describe(v)}`);
      let o = off;
      for (const m of node.fields) {
        try {
          let fv = v[m.name];
          const vla = m.countOf;
          if (vla !== undefined) {
            const n = elementCount(v[vla]);
            if (fv === undefined) fv = n;
            else if (fv !== n && fv !== BigInt(n)) throw new Fault(`count ${String(fv)} but ${vla} has ${n} elements`);
          }
          o = writeNode(buf, o, m.node, fv);
        } catch (e) {
          throw via(e, m.name);
        }
      }
      return o;
    }
    case 'union': {
      if (!isRecord(v)) throw new Fault(`expected { member: value }, got ${describe(v)}`);
      for (const key in v) {
        let known = false;
        for (const m of node.members) known ||= m.name === key;
        if (!known) throw new Fault(`${node.name} has no member ${key}`);
      }
      for (const m of node.members) {
        const mv = v[m.name];
        try {
          if (mv !== undefined) writeNode(buf, off, m.node, mv);
        } catch (e) {
          throw via(e, m.name);
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
  return encodeWithHeadroom(def, msgId, values, 0, types);
}

/**
 * Like encode, with `headroom` zero bytes before the body in the same buffer
 * (the client puts the 16-byte socket frame header there: one allocation per
 * request).
 */
export function encodeWithHeadroom(
  def: MessageDef,
  msgId: number,
  values: VppRecord,
  headroom: number,
  types: Types = TYPES,
): Buffer {
  try {
    const node = compileMessage(def, types);
    const buf = Buffer.alloc(headroom + 2 + sizeOfNode(node, values));
    try {
      writeInt(buf, headroom, INTS.u16 as IntNode, msgId);
    } catch (e) {
      throw via(e, '_vl_msg_id');
    }
    writeNode(buf, headroom + 2, node, values);
    return buf;
  } catch (e) {
    throw toCodecError(e, def.name);
  }
}

// ---------------------------------------------------------------- decode

class Reader {
  off = 0;
  constructor(readonly buf: Buffer) {}
  need(n: number): void {
    if (this.off + n > this.buf.length) {
      throw new Fault(`truncated (needs ${n} bytes at offset ${this.off}, the body has ${this.buf.length})`);
    }
  }
}

function readNode(r: Reader, node: Node, counts?: VppRecord): VppValue {
  switch (node.k) {
    case 'int': {
      r.need(node.bytes);
      const b = r.buf;
      const o = r.off;
      r.off += node.bytes;
      if (node.bytes === 1) return node.signed ? b.readInt8(o) : b[o]!;
      if (node.bytes === 2) return node.signed ? b.readInt16BE(o) : b.readUInt16BE(o);
      return node.signed ? b.readInt32BE(o) : b.readUInt32BE(o);
    }
    case 'int64': {
      r.need(8);
      const v = node.signed ? r.buf.readBigInt64BE(r.off) : r.buf.readBigUInt64BE(r.off);
      r.off += 8;
      return v;
    }
    case 'f64': {
      r.need(8);
      const v = r.buf.readDoubleBE(r.off);
      r.off += 8;
      return v;
    }
    case 'bool':
      r.need(1);
      return r.buf[r.off++] !== 0;
    case 'bytes': {
      r.need(node.size);
      const v = r.buf.subarray(r.off, r.off + node.size);
      r.off += node.size;
      return v;
    }
    case 'string': {
      r.need(node.size);
      const start = r.off;
      r.off += node.size;
      const nul = r.buf.indexOf(0, start);
      return r.buf.toString('utf8', start, nul < 0 || nul > r.off ? r.off : nul);
    }
    case 'vstring': {
      r.need(4);
      const len = r.buf.readUInt32BE(r.off);
      r.off += 4;
      r.need(len);
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
        if (typeof c !== 'number') throw new Fault(`count field ${node.count} not read before the array`);
        n = c;
      }
      // Checked up front so a hostile count cannot make us loop or allocate.
      r.need(n * (node.el.size ?? 1));
      if (node.el.k === 'int' && node.el.bytes === 1 && !node.el.signed) {
        const v = r.buf.subarray(r.off, r.off + n);
        r.off += n;
        return v;
      }
      const out: VppValue[] = new Array<VppValue>(n);
      for (let i = 0; i < n; i++) {
        try {
          out[i] = readNode(r, node.el);
        } catch (e) {
          throw via(e, `[${i}]`);
        }
      }
      return out;
    }
    case 'struct': {
      const out: VppRecord = {};
      for (const m of node.fields) {
        try {
          out[m.name] = readNode(r, m.node, out);
        } catch (e) {
          throw via(e, m.name);
        }
      }
      return out;
    }
    case 'union': {
      r.need(node.size);
      const start = r.off;
      const out: VppRecord = {};
      for (const m of node.members) {
        r.off = start;
        try {
          out[m.name] = readNode(r, m.node);
        } catch (e) {
          throw via(e, m.name);
        }
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
  const r = new Reader(asBuffer(body));
  r.off = 2;
  try {
    return { msgId, values: readNode(r, compileMessage(def, types)) as VppRecord };
  } catch (e) {
    throw toCodecError(e, def.name);
  }
}
