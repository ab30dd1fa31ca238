/**
 * Policy actions on an attribute set: a new (not yet interned) set with the
 * changes, the input untouched (interned sets are frozen and shared).
 */
import { AsPathSegmentType } from '#bgp/wire/types';
import type { AsPathSegment, ExtendedCommunity, LargeCommunity, PathAttributes } from '#bgp/wire/types';
import type { CommunityPattern } from './community-text.js';
import { matchesExtended, matchesLarge, matchesStandard } from './community-text.js';

/** RFC 4271 §4.3: at most 255 ASNs per segment. */
const MAX_SEGMENT_ASNS = 255;

export type PolicyAction =
  | { readonly type: 'local-pref'; readonly value: number }
  | { readonly type: 'med'; readonly value: number }
  | { readonly type: 'prepend'; readonly as: 'own' | 'first'; readonly count: number }
  | { readonly type: 'community-replace'; readonly set: readonly CommunityPattern[] }
  | { readonly type: 'community-remove'; readonly patterns: readonly CommunityPattern[] }
  | { readonly type: 'community-add'; readonly set: readonly CommunityPattern[] };

export interface ActionContext {
  readonly localAsn: number;
}

export function applyActions(attrs: PathAttributes, actions: readonly PolicyAction[], ctx: ActionContext): PathAttributes {
  if (actions.length === 0) return attrs;
  const out: PathAttributes = { ...attrs };
  for (const a of actions) {
    switch (a.type) {
      case 'local-pref':
        out.localPref = a.value;
        break;
      case 'med':
        out.med = a.value;
        break;
      case 'prepend': {
        const asn = a.as === 'own' ? ctx.localAsn : firstAs(out.asPath);
        // Nothing to repeat on an empty path when the path's first AS is asked for.
        if (asn !== undefined) out.asPath = prepend(out.asPath ?? [], asn, a.count);
        break;
      }
      case 'community-replace':
        setCommunities(out, [], [], []);
        addCommunities(out, a.set);
        break;
      case 'community-remove':
        removeCommunities(out, a.patterns);
        break;
      case 'community-add':
        addCommunities(out, a.set);
        break;
    }
  }
  return out;
}

function firstAs(path: readonly AsPathSegment[] | undefined): number | undefined {
  const s = path?.[0];
  return s !== undefined && s.type === AsPathSegmentType.AsSequence ? s.asns[0] : undefined;
}

/** RFC 4271 §5.1.2 b, `count` times: into a leading AS_SEQUENCE while it has room, else a new one in front. */
export function prepend(path: readonly AsPathSegment[], asn: number, count: number): AsPathSegment[] {
  const out = path.map((s) => ({ type: s.type, asns: [...s.asns] }));
  for (let i = 0; i < count; i++) {
    const first = out[0];
    if (first !== undefined && first.type === AsPathSegmentType.AsSequence && first.asns.length < MAX_SEGMENT_ASNS) first.asns.unshift(asn);
    else out.unshift({ type: AsPathSegmentType.AsSequence, asns: [asn] });
  }
  return out;
}

function setCommunities(out: PathAttributes, std: number[], ext: ExtendedCommunity[], large: LargeCommunity[]): void {
  if (std.length > 0) out.communities = std;
  else delete out.communities;
  if (ext.length > 0) out.extendedCommunities = ext;
  else delete out.extendedCommunities;
  if (large.length > 0) out.largeCommunities = large;
  else delete out.largeCommunities;
}

/** Adds what is not there yet, at the end (RFC 1997 and RFC 8092 §3 want no duplicates). */
function addCommunities(out: PathAttributes, set: readonly CommunityPattern[]): void {
  const std = [...(out.communities ?? [])];
  const ext = [...(out.extendedCommunities ?? [])];
  const large = [...(out.largeCommunities ?? [])];
  for (const c of set) {
    if (c.kind === 'standard') {
      if (!std.includes(c.value)) std.push(c.value);
    } else if (c.kind === 'large') {
      if (!large.some((l) => l[0] === c.value[0] && l[1] === c.value[1] && l[2] === c.value[2])) large.push(c.value);
    } else if (!ext.some((e) => e[0] === c.value[0] && e[1] === c.value[1])) ext.push(c.value);
  }
  setCommunities(out, std, ext, large);
}

function removeCommunities(out: PathAttributes, patterns: readonly CommunityPattern[]): void {
  const std = (out.communities ?? []).filter((v) => !patterns.some((p) => p.kind === 'standard' && matchesStandard(p, v)));
  const ext = (out.extendedCommunities ?? []).filter((v) => !patterns.some((p) => p.kind === 'extended' && matchesExtended(p, v)));
  const large = (out.largeCommunities ?? []).filter((v) => !patterns.some((p) => p.kind === 'large' && matchesLarge(p, v)));
  setCommunities(out, std, ext, large);
}
