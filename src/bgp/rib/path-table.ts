/**
 * The Adj-RIBs-In's path records (rib.ts): each distinct path (an interned
 * attribute set and the next hops) once, by number, shared by every prefix
 * of every peer that has it.
 */
import type { PathAttributes } from '#bgp/wire/types';
import { bucketAdd, bucketFind, bucketRemove, type Buckets } from '#lib/buckets';
import type { AttributeTable } from './intern.js';

/**
 * One distinct path as stored: an interned attribute set and the next hops,
 * shared by every prefix (of every peer) that has exactly these.
 */
export interface PathRecord {
  readonly attrs: PathAttributes;
  /** The attribute set's number in the attribute table (stable while this record holds it). */
  readonly attrId: number;
  readonly nextHop: string | null;
  readonly nextHopLinkLocal: string | null;
  refs: number;
}

/**
 * Path records by number, found through their attribute set's number: the
 * records of one set are few (one per next hop: an IPv4 and an IPv6 one for a
 * peer sending both), so they are told apart by comparing the next hops. No
 * key text is built, neither per UPDATE (interning runs once per UPDATE, not
 * per prefix) nor per record. Next-hop texts are shared by the records that
 * have them. A record holds one reference on its attribute set.
 */
export class PathTable {
  private records: (PathRecord | null)[] = [];
  /** Record numbers by attribute set number: one, or the few of one set. */
  private readonly byAttr: Buckets<number> = new Map();
  private readonly free: number[] = [];
  /** Next-hop texts in use, one copy each, with the records holding them. */
  private readonly hops = new Map<string, { text: string; refs: number }>();
  private live = 0;

  constructor(private readonly attributes: AttributeTable) {}

  /** The record of (`attrs`, next hops), with one reference taken; `attrs` must be interned in the attribute table. */
  intern(attrs: PathAttributes, nextHop: string | null, nextHopLinkLocal: string | null): number {
    const a = this.attributes.idOf(attrs);
    const found = bucketFind(this.byAttr, a, (id) => this.matches(id, nextHop, nextHopLinkLocal));
    if (found !== undefined) {
      this.retain(found);
      return found;
    }
    const id = this.free.pop() ?? this.records.length;
    this.records[id] = { attrs: this.attributes.intern(attrs), attrId: a, nextHop: this.hop(nextHop), nextHopLinkLocal: this.hop(nextHopLinkLocal), refs: 1 };
    bucketAdd(this.byAttr, a, id);
    this.live++;
    return id;
  }

  private matches(id: number, nextHop: string | null, nextHopLinkLocal: string | null): boolean {
    const r = this.records[id]!;
    return r.nextHop === nextHop && r.nextHopLinkLocal === nextHopLinkLocal;
  }

  /** The shared copy of a next-hop text, one more reference on it. */
  private hop(text: string | null): string | null {
    if (text === null) return null;
    let h = this.hops.get(text);
    if (h === undefined) this.hops.set(text, (h = { text, refs: 0 }));
    h.refs++;
    return h.text;
  }

  private dropHop(text: string | null): void {
    if (text === null) return;
    const h = this.hops.get(text)!;
    if (--h.refs === 0) this.hops.delete(text);
  }

  retain(id: number): void {
    this.records[id]!.refs++;
  }

  get(id: number): PathRecord {
    return this.records[id]!;
  }

  release(id: number): void {
    const r = this.records[id]!;
    if (--r.refs > 0) return;
    bucketRemove(this.byAttr, r.attrId, id);
    this.dropHop(r.nextHop);
    this.dropHop(r.nextHopLinkLocal);
    this.attributes.release(r.attrs);
    this.records[id] = null;
    this.free.push(id);
    this.live--;
  }

  get size(): number {
    return this.live;
  }
}
