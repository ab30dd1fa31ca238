/**
 * Attribute interning. A full table holds a million paths but only a few
 * thousand distinct attribute sets, so each set is stored once, frozen, and
 * shared; a refcount frees it when the last path using it goes away.
 */
import type { AsPathSegment, ExtendedCommunity, LargeCommunity, PathAttributes, UnknownAttribute } from '#bgp/wire/types';

interface Slot {
  readonly key: string;
  readonly attrs: PathAttributes;
  /** The set's number while it is interned (a column can name it: Adj-RIB-Out). */
  readonly id: number;
  refs: number;
}

export class AttributeTable {
  private readonly byKey = new Map<string, Slot>();
  /** Identity index: re-interning an object this table already owns skips serialization. */
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
    const key = attributeKey(attrs);
    let slot = this.byKey.get(key);
    if (!slot) {
      const id = this.freeIds.pop() ?? this.byId.length;
      slot = { key, attrs: frozenCopy(attrs), id, refs: 0 };
      this.byId[id] = slot;
      this.byKey.set(key, slot);
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
      this.byKey.delete(slot.key);
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
    return this.byKey.size;
  }
}

/**
 * Canonical serialization: fields in a fixed order, absent fields omitted, so
 * two sets are equal exactly when their keys are. Community lists of every
 * kind keep their received order (a different order is merely a second entry,
 * never a wrong merge).
 */
export function attributeKey(a: PathAttributes): string {
  let k = '';
  if (a.origin !== undefined) k += `o${a.origin}`;
  if (a.asPath !== undefined) {
    k += '|p';
    for (const s of a.asPath) k += `${s.type}:${s.asns.join(',')};`;
  }
  if (a.nextHop !== undefined) k += `|n${a.nextHop}`;
  if (a.med !== undefined) k += `|m${a.med}`;
  if (a.localPref !== undefined) k += `|l${a.localPref}`;
  if (a.atomicAggregate !== undefined) k += `|a${a.atomicAggregate ? 1 : 0}`;
  if (a.aggregator !== undefined) k += `|g${a.aggregator.asn}@${a.aggregator.address}`;
  if (a.communities !== undefined) k += `|c${a.communities.join(',')}`;
  if (a.extendedCommunities !== undefined) {
    k += '|x';
    for (const c of a.extendedCommunities) k += `${c[0]}.${c[1]},`;
  }
  if (a.ipv6ExtendedCommunities !== undefined) k += `|6${hex(a.ipv6ExtendedCommunities)}`;
  if (a.largeCommunities !== undefined) {
    k += '|L';
    for (const c of a.largeCommunities) k += `${c[0]}.${c[1]}.${c[2]},`;
  }
  if (a.otc !== undefined) k += `|O${a.otc}`;
  if (a.unknown !== undefined) {
    k += '|u';
    for (const u of a.unknown) k += `${u.flags}.${u.code}.${hex(u.value)};`;
  }
  return k;
}

function hex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += (b[i]! < 16 ? '0' : '') + b[i]!.toString(16);
  return s;
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

function frozenSegment(s: AsPathSegment): AsPathSegment {
  return Object.freeze({ type: s.type, asns: Object.freeze([...s.asns]) as number[] });
}

function frozenUnknown(u: UnknownAttribute): UnknownAttribute {
  return Object.freeze({ flags: u.flags, code: u.code, value: u.value.slice() });
}
