/**
 * The shape of VPP's API definitions as data. A field list follows the .api
 * declaration after the implicit `_vl_msg_id` (vppapigen adds it to every
 * message; it never takes part in the CRC).
 */
export interface FieldDef {
  name: string;
  /**
   * A base type (`u8 i8 u16 i16 u32 i32 u64 i64 f64 bool string`) or a
   * `vl_api_<name>_t` declared in TYPES.
   */
  type: string;
  /**
   * Present for arrays: N for `T x[N]`, 0 for a variable-length array
   * (`T x[count]` with `lengthField`, or `string x[]`: u32 length prefix).
   */
  length?: number;
  /** The earlier field (same struct) that holds the element count of a VLA. */
  lengthField?: string;
}

export interface MessageDef {
  name: string;
  /** 8 lowercase hex digits: the CRC VPP advertises as `<name>_<crc>`. */
  crc: string;
  fields: FieldDef[];
}

/** Named types, keyed by their full `vl_api_<name>_t` spelling. */
export type TypeDef =
  | { kind: 'typedef' | 'union'; name: string; fields: FieldDef[] }
  | { kind: 'enum'; name: string; width: 'u8' | 'u16' | 'u32'; values: [string, number][] }
  | { kind: 'alias'; name: string; type: string; length?: number };
