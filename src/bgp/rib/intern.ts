/**
 * Attribute interning. A full table holds a million paths but only a few
 * thousand distinct attribute sets, so each set is stored once, frozen, and
 * shared; a refcount frees it when the last path using it goes away.
 */
import { bucketAdd, bucketFind, bucketRemove, type Buckets } from '#lib/buckets';
import type { AsPathSegment, ExtendedCommunity, LargeCommunity, PathAttributes, UnknownAttribute } from '#bgp/wire/types';

interface Slot {
  readonly attrs: PathAttributes;
  /** attributeHash(attrs), to find the bucket again on release. */
  readonly hash: number;
  /** The set's number while it is interned (a column can name it: Adj-RIB-Out). */
  readonly id: number;
  refs: number;
}

/**
 * Sets are found by a 32-bit hash of their fields and told apart by comparing
 * the fields (attributesEqual). There is no text key: one made per UPDATE
 * cost a string build there, and kept per set it was most of a set's memory
 * (a full table's 20 k sets: 2.6 MB of keys and 2.8 MB of rope nodes).
 */
export class AttributeTable {
  /** Sets by hash: one slot, or the few whose hashes collide. */
  private readonly byHash: Buckets<Slot> = new Map();
  /** Identity index: re-interning an object this table already owns skips the hash. */
  private readonly byObject = new Map<PathAttributes, Slot>();
  private readonly byId: (Slot | null)[] = [];
  private readonly freeIds: number[] = [];

  /** Returns the shared frozen copy of `attrs` and takes one reference on it. */
  intern(attrs: PathAttributes): PathAttributes {
    const own = this.byObject.get(attrs);
    if (own) {
      own.refs++;
      return own.attrs;
    }
    return this.insert(attrs, frozenCopy);
  }

  /**
   * intern() of a set made for this call alone (the export's, exportAttributes):
   * when it is new it is frozen as it is and kept, not copied (a set built and
   * then copied per peer was 18 % of the ten-peer start's allocation, issue 10).
   * The caller gives it up: it must hold no part that anything may change.
   */
  internBuilt(attrs: PathAttributes): PathAttributes {
    return this.insert(attrs, freezeInPlace);
  }

  /** The set equal to `attrs`, or `frozen(attrs)` kept as a new one; one reference taken. */
  private insert(attrs: PathAttributes, frozen: (a: PathAttributes) => PathAttributes): PathAttributes {
    const hash = attributeHash(attrs);
    let slot = bucketFind(this.byHash, hash, (s) => attributesEqual(s.attrs, attrs));
    if (slot === undefined) {
      const id = this.freeIds.pop() ?? this.byId.length;
      slot = { attrs: frozen(attrs), hash, id, refs: 0 };
      this.byId[id] = slot;
      bucketAdd(this.byHash, hash, slot);
      this.byObject.set(slot.attrs, slot);
    }
    slot.refs++;
    return slot.attrs;
  }

  /** Takes a reference on `attrs` if it is still live in this table; false when it was freed. */
  retain(attrs: PathAttributes): boolean {
    const slot = this.byObject.get(attrs);
    if (!slot) return false;
    slot.refs++;
    return true;
  }

  release(attrs: PathAttributes): void {
    const slot = this.byObject.get(attrs);
    if (!slot) throw new Error('release of an attribute set that is not interned here');
    if (--slot.refs === 0) {
      bucketRemove(this.byHash, slot.hash, slot);
      this.byObject.delete(slot.attrs);
      this.byId[slot.id] = null;
      this.freeIds.push(slot.id);
    }
  }

  /** The number of an interned set (held by a reference: numbers are reused once a set is freed). */
  idOf(attrs: PathAttributes): number {
    const slot = this.byObject.get(attrs);
    if (!slot) throw new Error('number of an attribute set that is not interned here');
    return slot.id;
  }

  /** The interned set of number `id`. */
  get(id: number): PathAttributes {
    return this.byId[id]!.attrs;
  }

  /** References held on `attrs`; 0 when it is not (or no longer) interned. */
  refCount(attrs: PathAttributes): number {
    return this.byObject.get(attrs)?.refs ?? 0;
  }

  /** Distinct live attribute sets. */
  get size(): number {
    return this.byObject.size;
  }
}

/** One step of the hash: a 32-bit multiply-rotate mix (murmur3's body). */
function mix(h: number, v: number): number {
  let k = Math.imul(v | 0, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function mixText(h: number, s: string): number {
  h = mix(h, s.length);
  for (let i = 0; i < s.length; i++) h = mix(h, s.charCodeAt(i));
  return h;
}

/**
 * A hash of every field, in a fixed order, each tagged so that the same
 * numbers in another attribute hash apart. Equal sets (attributesEqual) hash
 * equal; community lists keep their received order, as in attributesEqual.
 */
export function attributeHash(a: PathAttributes): number {
  let h = 0x9747b28c;
  if (a.origin !== undefined) h = mix(mix(h, 1), a.origin);
  if (a.asPath !== undefined) {
    const p = a.asPath;
    h = mix(mix(h, 2), p.length);
    for (let i = 0; i < p.length; i++) {
      const s = p[i]!;
      h = mix(mix(h, s.type), s.asns.length);
      for (let j = 0; j < s.asns.length; j++) h = mix(h, s.asns[j]!);
    }
  }
  if (a.nextHop !== undefined) h = mixText(mix(h, 3), a.nextHop);
  if (a.med !== undefined) h = mix(mix(h, 4), a.med);
  if (a.localPref !== undefined) h = mix(mix(h, 5), a.localPref);
  if (a.atomicAggregate !== undefined) h = mix(mix(h, 6), a.atomicAggregate ? 1 : 0);
  if (a.aggregator !== undefined) h = mixText(mix(mix(h, 7), a.aggregator.asn), a.aggregator.address);
  if (a.communities !== undefined) {
    const c = a.communities;
    h = mix(mix(h, 8), c.length);
    for (let i = 0; i < c.length; i++) h = mix(h, c[i]!);
  }
  if (a.extendedCommunities !== undefined) {
    const c = a.extendedCommunities;
    h = mix(mix(h, 16), c.length);
    for (let i = 0; i < c.length; i++) h = mix(mix(h, c[i]![0]), c[i]![1]);
  }
  if (a.ipv6ExtendedCommunities !== undefined) h = mixBytes(mix(h, 25), a.ipv6ExtendedCommunities);
  if (a.largeCommunities !== undefined) {
    const c = a.largeCommunities;
    h = mix(mix(h, 32), c.length);
    for (let i = 0; i < c.length; i++) h = mix(mix(mix(h, c[i]![0]), c[i]![1]), c[i]![2]);
  }
  if (a.otc !== undefined) h = mix(mix(h, 35), a.otc);
  if (a.unknown !== undefined) {
    const u = a.unknown;
    h = mix(mix(h, 255), u.length);
    for (let i = 0; i < u.length; i++) h = mixBytes(mix(mix(h, u[i]!.flags), u[i]!.code), u[i]!.value);
  }
  // murmur3's finalizer: every input bit reaches every output bit.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function mixBytes(h: number, b: Uint8Array): number {
  h = mix(h, b.length);
  for (let i = 0; i < b.length; i++) h = mix(h, b[i]!);
  return h;
}

/**
 * Field-by-field equality: two sets are one exactly when every attribute is
 * present in both or in neither, with equal values. Community lists of every
 * kind compare in their received order (a different order is merely a second
 * set, never a wrong merge).
 */
export function attributesEqual(a: PathAttributes, b: PathAttributes): boolean {
  if (a === b) return true;
  if (a.origin !== b.origin || a.nextHop !== b.nextHop || a.med !== b.med || a.localPref !== b.localPref) return false;
  if (a.atomicAggregate !== b.atomicAggregate || a.otc !== b.otc) return false;
  if (a.aggregator !== b.aggregator) {
    if (a.aggregator === undefined || b.aggregator === undefined) return false;
    if (a.aggregator.asn !== b.aggregator.asn || a.aggregator.address !== b.aggregator.address) return false;
  }
  if (a.asPath !== b.asPath) {
    if (a.asPath === undefined || b.asPath === undefined || a.asPath.length !== b.asPath.length) return false;
    for (let i = 0; i < a.asPath.length; i++) {
      const x = a.asPath[i]!;
      const y = b.asPath[i]!;
      if (x.type !== y.type || !numbersEqual(x.asns, y.asns)) return false;
    }
  }
  if (a.communities !== b.communities && (a.communities === undefined || b.communities === undefined || !numbersEqual(a.communities, b.communities))) return false;
  if (a.extendedCommunities !== b.extendedCommunities) {
    const x = a.extendedCommunities;
    const y = b.extendedCommunities;
    if (x === undefined || y === undefined || x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i]![0] !== y[i]![0] || x[i]![1] !== y[i]![1]) return false;
  }
  if (a.ipv6ExtendedCommunities !== b.ipv6ExtendedCommunities) {
    if (a.ipv6ExtendedCommunities === undefined || b.ipv6ExtendedCommunities === undefined || !bytesEqual(a.ipv6ExtendedCommunities, b.ipv6ExtendedCommunities)) return false;
  }
  if (a.largeCommunities !== b.largeCommunities) {
    const x = a.largeCommunities;
    const y = b.largeCommunities;
    if (x === undefined || y === undefined || x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i]![0] !== y[i]![0] || x[i]![1] !== y[i]![1] || x[i]![2] !== y[i]![2]) return false;
  }
  if (a.unknown !== b.unknown) {
    const x = a.unknown;
    const y = b.unknown;
    if (x === undefined || y === undefined || x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i]!.flags !== y[i]!.flags || x[i]!.code !== y[i]!.code || !bytesEqual(x[i]!.value, y[i]!.value)) return false;
  }
  return true;
}

function numbersEqual(x: readonly number[], y: readonly number[]): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function bytesEqual(x: Uint8Array, y: Uint8Array): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/**
 * Deep copy, then freeze, so no caller can change a set other paths share.
 * Unknown attribute values and IPv6 extended communities are copied but
 * cannot be frozen (typed arrays with elements refuse Object.freeze); the
 * table owns the copy and never hands out a writable path to the original.
 */
function frozenCopy(a: PathAttributes): PathAttributes {
  const out: PathAttributes = {};
  if (a.origin !== undefined) out.origin = a.origin;
  if (a.asPath !== undefined) out.asPath = Object.freeze(a.asPath.map(frozenSegment)) as AsPathSegment[];
  if (a.nextHop !== undefined) out.nextHop = a.nextHop;
  if (a.med !== undefined) out.med = a.med;
  if (a.localPref !== undefined) out.localPref = a.localPref;
  if (a.atomicAggregate !== undefined) out.atomicAggregate = a.atomicAggregate;
  if (a.aggregator !== undefined) out.aggregator = Object.freeze({ asn: a.aggregator.asn, address: a.aggregator.address });
  if (a.communities !== undefined) out.communities = Object.freeze([...a.communities]) as number[];
  if (a.extendedCommunities !== undefined) {
    out.extendedCommunities = Object.freeze(a.extendedCommunities.map((c): ExtendedCommunity => Object.freeze([c[0], c[1]] as const))) as ExtendedCommunity[];
  }
  if (a.ipv6ExtendedCommunities !== undefined) out.ipv6ExtendedCommunities = a.ipv6ExtendedCommunities.slice();
  if (a.largeCommunities !== undefined) {
    out.largeCommunities = Object.freeze(a.largeCommunities.map((c): LargeCommunity => Object.freeze([c[0], c[1], c[2]] as const))) as LargeCommunity[];
  }
  if (a.otc !== undefined) out.otc = a.otc;
  if (a.unknown !== undefined) out.unknown = Object.freeze(a.unknown.map(frozenUnknown)) as UnknownAttribute[];
  return Object.freeze(out);
}

/** frozenCopy's freeze without the copy: the set and each part frozenCopy would freeze (an IPv6 extended community list it copies unfrozen stays as it is). */
function freezeInPlace(a: PathAttributes): PathAttributes {
  const path = a.asPath;
  if (path !== undefined) {
    for (let i = 0; i < path.length; i++) {
      Object.freeze(path[i]!.asns);
      Object.freeze(path[i]!);
    }
    Object.freeze(path);
  }
  if (a.aggregator !== undefined) Object.freeze(a.aggregator);
  if (a.communities !== undefined) Object.freeze(a.communities);
  freezeEach(a.extendedCommunities);
  freezeEach(a.largeCommunities);
  freezeEach(a.unknown);
  return Object.freeze(a);
}

function freezeEach(list: readonly object[] | undefined): void {
  if (list === undefined) return;
  for (let i = 0; i < list.length; i++) Object.freeze(list[i]!);
  Object.freeze(list);
}

function frozenSegment(s: AsPathSegment): AsPathSegment {
  return Object.freeze({ type: s.type, asns: Object.freeze([...s.asns]) as number[] });
}

function frozenUnknown(u: UnknownAttribute): UnknownAttribute {
  return Object.freeze({ flags: u.flags, code: u.code, value: u.value.slice() });
}
