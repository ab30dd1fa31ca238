/**
 * vppapigen's message CRC (fact sheet §3; src/tools/vppapigen/vppapigen.py,
 * `foldup_crcs`). The input is the Python `str()` of the message's field list
 * (without `_vl_msg_id`, without field options such as `[default=…]`), then
 * every field whose type is a `vl_api_*` name folds in that type's own input,
 * depth first: a typedef or union its field list, an enum `[[NAME, value], …]`,
 * an alias `'[]'` (and nothing below it: vppapigen never looks through aliases).
 * CRC-32 is zlib's (binascii.crc32), chained through the fold.
 *
 * One vppapigen quirk the data cannot express: enum values marked
 * `[backwards_compatible]` are left out of the enum's input; none of the
 * enums defined here has one.
 */
import type { FieldDef, MessageDef, TypeDef } from './defs/types.js';

const TABLE = ((): Uint32Array => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** zlib CRC-32 continuing from `prev`, like Python's binascii.crc32(data, prev). */
export function crc32(data: Uint8Array, prev = 0): number {
  let c = ~prev >>> 0;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** Python's repr of a str as vppapigen's inputs contain it (identifiers: single quotes). */
function pyStr(s: string): string {
  return s.includes("'") && !s.includes('"') ? `"${s}"` : `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** `['u32', 'context']` or, for an array, `['u8', 'key', 32, None]`. */
function fieldRepr(f: FieldDef): string {
  if (f.length === undefined) return `[${pyStr(f.type)}, ${pyStr(f.name)}]`;
  const lf = f.lengthField === undefined ? 'None' : pyStr(f.lengthField);
  return `[${pyStr(f.type)}, ${pyStr(f.name)}, ${f.length}, ${lf}]`;
}

export function fieldListRepr(fields: readonly FieldDef[]): string {
  return `[${fields.map(fieldRepr).join(', ')}]`;
}

function typeRepr(t: TypeDef): string {
  switch (t.kind) {
    case 'typedef':
    case 'union':
      return fieldListRepr(t.fields);
    case 'enum':
      return `[${t.values.map(([n, v]) => `[${pyStr(n)}, ${v}]`).join(', ')}]`;
    case 'alias':
      return '[]';
  }
}

function foldUp(fields: readonly FieldDef[], crc: number, types: ReadonlyMap<string, TypeDef>): number {
  let c = crc;
  for (const f of fields) {
    if (!f.type.startsWith('vl_api_')) continue;
    const t = types.get(f.type);
    if (!t) throw new Error(`CRC of a field of unknown type ${f.type} (${f.name})`);
    c = crc32(Buffer.from(typeRepr(t), 'utf8'), c);
    if (t.kind === 'typedef' || t.kind === 'union') c = foldUp(t.fields, c, types);
  }
  return c;
}

/** The CRC vppapigen gives `def`, as 8 lowercase hex digits. */
export function messageCrc(def: MessageDef, types: ReadonlyMap<string, TypeDef>): string {
  const own = crc32(Buffer.from(fieldListRepr(def.fields), 'utf8'));
  return foldUp(def.fields, own, types).toString(16).padStart(8, '0');
}
