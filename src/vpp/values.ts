/**
 * Reading decoded API values (codec.ts) whose shape a caller expects but
 * cannot be sure of: a reply from another VPP version, a field it left out.
 */
import type { VppRecord, VppValue } from './codec.js';

/** `v` as a record (a typedef or union value), or an empty one. */
export function asRecord(v: VppValue | undefined): VppRecord {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) ? v : {};
}

/** `v` as a number (u64 fields decode as bigint), or 0. */
export function asNumber(v: VppValue | undefined): number {
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : 0;
}
