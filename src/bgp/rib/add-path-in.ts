/**
 * RFC 7911 receive side: a neighbor that sends Path Identifiers may have
 * several paths per prefix. The Loc-RIB's candidates are slots (one path per
 * slot and prefix), so a neighbor's paths are spread over "lanes": its own
 * slot first, then sub-slots sharing its PeerInfo, each with its own
 * Adj-RIB-In. A path (prefix, Path Identifier) lives in the first lane that
 * had no path for the prefix when it arrived, and stays there until withdrawn
 * (implicit withdraw, RFC 7911 §3 / RFC 4271 §3.1, replaces it in place).
 * Each lane keeps the Path Identifier of its path per prefix in a column, no
 * object per path.
 *
 * The bound is on paths per prefix per neighbor (MAX_RECEIVED_PATHS), not on
 * distinct identifiers: identifiers are per prefix (RFC 7911 §3: "unique for
 * a given prefix"), and a sender may draw them from a table-wide pool
 * (millions of distinct values), or at random, without costing more than one
 * lane per path of its widest prefix.
 */
import type { PrefixMap } from '#lib/prefix-table';

/**
 * Paths one neighbor may have for one prefix. RFC 7911 sets no limit; a
 * path beyond it is treated as withdrawn (RFC 7606 §2 treat-as-withdraw:
 * the session stays up, the path is not used), counted and logged.
 */
export const MAX_RECEIVED_PATHS = 16;

/** The prefixes for which a number column switches from a Map to an array. */
const SPARSE_MAX = 2048;

/**
 * A 32-bit Path Identifier per prefix number. No "none" value: whether a lane
 * has a path for the prefix is its Adj-RIB-In's to say.
 */
export class PathIdColumn {
  private sparse: Map<number, number> | null = new Map();
  private dense: Uint32Array | null = null;

  get(prefix: number): number {
    if (this.sparse !== null) return this.sparse.get(prefix) ?? 0;
    return prefix < this.dense!.length ? this.dense![prefix]! : 0;
  }

  set(prefix: number, pathId: number): void {
    if (this.sparse !== null) {
      if (this.sparse.size < SPARSE_MAX || this.sparse.has(prefix)) {
        this.sparse.set(prefix, pathId);
        return;
      }
      let n = 1024;
      for (const k of this.sparse.keys()) while (n <= k) n *= 2;
      this.dense = new Uint32Array(n);
      for (const [k, v] of this.sparse) this.dense[k] = v;
      this.sparse = null;
    }
    if (prefix >= this.dense!.length) {
      let n = this.dense!.length * 2;
      while (n <= prefix) n *= 2;
      const a = new Uint32Array(n);
      a.set(this.dense!);
      this.dense = a;
    }
    this.dense![prefix] = pathId;
  }

  /** Forgets the entry (sparse form only: an array entry is just left, the Adj-RIB-In says it is unused). */
  delete(prefix: number): void {
    this.sparse?.delete(prefix);
  }
}

/** What the lane search needs of a lane. */
export interface Lane {
  readonly adjIn: PrefixMap;
  readonly pathIds: PathIdColumn;
}

/** The lane holding the neighbor's path (prefix, pathId), or -1. */
export function laneOf(lanes: readonly Lane[], prefix: number, pathId: number): number {
  for (let k = 0; k < lanes.length; k++) {
    const l = lanes[k]!;
    if (l.adjIn.has(prefix) && l.pathIds.get(prefix) === pathId) return k;
  }
  return -1;
}

/**
 * A lane for a new path of `prefix`: the first with no path for it and not
 * `claimed` (a bit per lane, taken by earlier paths of the same UPDATE);
 * lanes.length when a new lane is needed, -1 past MAX_RECEIVED_PATHS.
 */
export function freeLane(lanes: readonly Lane[], prefix: number, claimed: number): number {
  for (let k = 0; k < lanes.length; k++) {
    if ((claimed & (1 << k)) !== 0) continue;
    if (!lanes[k]!.adjIn.has(prefix)) return k;
  }
  return lanes.length < MAX_RECEIVED_PATHS ? lanes.length : -1;
}
