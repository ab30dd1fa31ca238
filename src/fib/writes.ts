/**
 * A backend's view of a batch of writes, op by op, whether it came as FibOp
 * objects (apply) or as the FibManager's columns (applyBatch): one code path
 * in LinuxFib and VppFib for both. The columns' view reads prefix numbers and
 * next-hop list numbers and makes no object or text per route; the prefix's
 * text is made only where asked (a failure, a rare path).
 */
import type { RouteWriteColumns } from '#netlink/types';
import type { PrefixTable } from '#lib/prefix-table';
import { batchOp, OP_ADD, OP_DELETE, OP_REPLACE, type FibBatch, type FibNextHop, type FibOp, type OpPrefixes } from './types.js';

export interface FibWrites extends RouteWriteColumns {
  /** OP_ADD, OP_REPLACE or OP_DELETE. */
  kind(i: number): number;
  v6(i: number): boolean;
  /** The next hops an add or replace writes; null for a delete. */
  nexthops(i: number): readonly FibNextHop[] | null;
  /** Their backup (PIC), if any. */
  backup(i: number): readonly FibNextHop[] | undefined;
  /** The next hops there now (replace, delete); null for an add. */
  previous(i: number): readonly FibNextHop[] | null;
  previousBackup(i: number): readonly FibNextHop[] | undefined;
  /** Op i as an object (rare paths only). */
  op(i: number): FibOp;
  /** The table op i's prefix has a number in (prefixId), or null: only its text is known. */
  readonly table: PrefixTable | null;
  prefixId(i: number): number;
}

const HOW = ['add', 'replace', null] as const;

/** FibOp objects as FibWrites. */
export class OpWrites implements FibWrites {
  readonly table: PrefixTable | null;

  /** `prefixes`: the ops' prefix numbers, if the caller has them (FibBackend.apply). */
  constructor(
    private readonly ops: readonly FibOp[],
    private readonly prefixes?: OpPrefixes,
  ) {
    this.table = prefixes?.table ?? null;
  }
  prefixId(i: number): number {
    return this.prefixes?.ids[i] ?? -1;
  }
  get length(): number {
    return this.ops.length;
  }
  kind(i: number): number {
    const op = this.ops[i]!.op;
    return op === 'add' ? OP_ADD : op === 'replace' ? OP_REPLACE : OP_DELETE;
  }
  how(i: number): 'add' | 'replace' | null {
    return HOW[this.kind(i)]!;
  }
  prefix(i: number): string {
    const op = this.ops[i]!;
    return op.op === 'delete' ? op.prefix : op.route.prefix;
  }
  v6(i: number): boolean {
    return this.prefix(i).includes(':');
  }
  nexthops(i: number): readonly FibNextHop[] | null {
    const op = this.ops[i]!;
    return op.op === 'delete' ? null : op.route.nexthops;
  }
  backup(i: number): readonly FibNextHop[] | undefined {
    const op = this.ops[i]!;
    return op.op === 'delete' ? undefined : op.route.backup;
  }
  previous(i: number): readonly FibNextHop[] | null {
    const op = this.ops[i]!;
    return op.op === 'add' ? null : op.previous.nexthops;
  }
  previousBackup(i: number): readonly FibNextHop[] | undefined {
    const op = this.ops[i]!;
    return op.op === 'add' ? undefined : op.previous.backup;
  }
  op(i: number): FibOp {
    return this.ops[i]!;
  }
}

/** The FibManager's columns as FibWrites: the destination's bytes from the prefix table's words. */
export class BatchWrites implements FibWrites {
  readonly table: PrefixTable;

  constructor(private readonly b: FibBatch) {
    this.table = b.table;
  }
  get length(): number {
    return this.b.length;
  }
  prefixId(i: number): number {
    return this.b.prefixes[i]!;
  }
  kind(i: number): number {
    return this.b.kinds[i]!;
  }
  how(i: number): 'add' | 'replace' | null {
    return HOW[this.b.kinds[i]!]!;
  }
  prefix(i: number): string {
    return this.table.text(this.b.prefixes[i]!);
  }
  v6(i: number): boolean {
    return this.table.isV6(this.b.prefixes[i]!);
  }
  /** RouteWriteColumns.dst: the words as the table holds them (canonical: no host bits), big-endian. */
  dst(i: number, v4: Uint8Array, v6: Uint8Array): number {
    const t = this.table;
    const id = this.b.prefixes[i]!;
    const len = t.lengthOf(id);
    if (!t.isV6(id)) {
      putWord(v4, 0, t.wordOf(id, 0));
      return len;
    }
    for (let k = 0; k < 4; k++) putWord(v6, 4 * k, t.wordOf(id, k));
    return 256 + len;
  }
  nexthops(i: number): readonly FibNextHop[] | null {
    return this.b.kinds[i] === OP_DELETE ? null : this.b.lists.hops(this.b.want[i]!);
  }
  backup(i: number): readonly FibNextHop[] | undefined {
    return this.b.kinds[i] === OP_DELETE ? undefined : (this.b.lists.backup(this.b.want[i]!) ?? undefined);
  }
  previous(i: number): readonly FibNextHop[] | null {
    return this.b.kinds[i] === OP_ADD ? null : this.b.lists.hops(this.b.have[i]!);
  }
  previousBackup(i: number): readonly FibNextHop[] | undefined {
    return this.b.kinds[i] === OP_ADD ? undefined : (this.b.lists.backup(this.b.have[i]!) ?? undefined);
  }
  op(i: number): FibOp {
    return batchOp(this.b, i);
  }
}

function putWord(out: Uint8Array, at: number, w: number): void {
  out[at] = w >>> 24;
  out[at + 1] = (w >>> 16) & 0xff;
  out[at + 2] = (w >>> 8) & 0xff;
  out[at + 3] = w & 0xff;
}
