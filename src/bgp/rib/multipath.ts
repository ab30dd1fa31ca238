/**
 * BGP multipath (ECMP): which candidates forward beside the best.
 *
 * RFC 4271 §9.1.2.2 picks one best path; multipath, as FRR, BIRD and Junos
 * do it, also uses the paths the decision process could not tell from the
 * best before it fell back to arbitrary tie breakers. Here a path is used
 * beside the best when the elimination of §9.1.2.2 keeps it up to and
 * including the external-over-internal step, that is when it ties with the
 * best on:
 *     llgr-stale     long-lived stale (RFC 9494) or not, like the best
 *   1 local-pref      the same degree of preference (LOCAL_PREF)
 *   2 local-origin    learned, like the best (our own routes never share)
 *   3 as-path-length  the same AS_PATH length (§9.1.2.2 a)
 *   4 origin          the same ORIGIN (§9.1.2.2 b)
 *   5 med             not eliminated by the MED step (§9.1.2.2 c): from the
 *                     same neighbor AS as the best, the same MED
 *   6 ebgp-over-ibgp  external when the best is, internal when it is (§9.1.2.2 d)
 *   (§9.1.2.2 e, the interior cost, is the same for every tunnel)
 * and, unless `relax-as-path`, carries the very same AS_PATH as the best
 * and comes from another neighbor (one path per neighbor: its tunnel is its
 * one next hop, whatever RFC 7911 paths it sends)
 * (FRR's default; `bgp bestpath as-path multipath-relax` is the relaxed one).
 * Only router id and peer address (§9.1.2.2 f, g) may differ; they order the
 * paths when more tie than `max-paths` allows.
 *
 * Pure: the Rib calls it at decision time over the candidates it has made
 * Routes of anyway, and keeps only the count of the paths used (members in
 * front of its candidate sets, a bit for a pair): no object per prefix.
 */
import type { AsPathSegment } from '#bgp/wire/types';
import { asPathLength, compare, eliminateMed, llgrStaleRank, localPref } from './decision.js';
import type { DecisionContext } from './decision.js';
import type { Route } from './types.js';

export interface MultipathOptions {
  /** Paths used at most, the best included (2…). */
  readonly maxPaths: number;
  /** Paths of the same AS_PATH length but another AS_PATH may share too. */
  readonly relaxAsPath: boolean;
}

/**
 * The paths used for forwarding, the best first and then the others in the
 * order of the remaining tie breakers (router id, peer address), at most
 * `maxPaths`. `paths` are the candidates (any order), `best` one of them.
 */
export function multipathSet(ctx: DecisionContext, paths: readonly Route[], best: Route, opts: MultipathOptions): Route[] {
  if (paths.length < 2 || best.source !== 'bgp' || best.peer === null || opts.maxPaths < 2) return [best];
  const lp = localPref(best);
  const len = asPathLength(best.attrs);
  const origin = best.attrs.origin;
  const stale = llgrStaleRank(best);
  // Steps 1–4 keep exactly the paths equal to the best's keys (the best survives every step).
  let kept: Route[] = [];
  for (const p of paths) {
    if (p.source !== 'bgp' || p.peer === null) continue;
    if (localPref(p) !== lp || asPathLength(p.attrs) !== len || p.attrs.origin !== origin || llgrStaleRank(p) !== stale) continue;
    kept.push(p);
  }
  if (kept.length < 2) return [best];
  // Step 5 over the survivors as the decision process runs it: per neighbor AS.
  kept = [...eliminateMed(ctx, kept)];
  const ebgp = isEbgp(ctx, best);
  const out: Route[] = [];
  for (const p of kept) {
    // One path per neighbor: its paths all forward into its one tunnel (RFC 7911 may bring several).
    if (p.peer === best.peer || isEbgp(ctx, p) !== ebgp) continue;
    if (!opts.relaxAsPath && !sameAsPath(p.attrs.asPath, best.attrs.asPath)) continue;
    out.push(p);
  }
  if (out.length === 0) return [best];
  // The rest tie with each other up to step 6: compare() orders them by router id, then peer address.
  out.sort((a, b) => {
    const c = compare(ctx, a, b).better;
    return c === a ? -1 : c === b ? 1 : 0;
  });
  // The first (best by router id, peer address) of each neighbor's ADD-PATH paths.
  const seen = new Set<string | null>();
  const one = out.filter((p) => !seen.has(p.peer) && seen.add(p.peer) !== undefined);
  if (one.length > opts.maxPaths - 1) one.length = opts.maxPaths - 1;
  one.unshift(best);
  return one;
}

function isEbgp(ctx: DecisionContext, r: Route): boolean {
  return r.peer !== null && ctx.peers.get(r.peer)?.ebgp === true;
}

/** The same segments with the same ASes in the same order (interned sets compare by identity first). */
export function sameAsPath(a: readonly AsPathSegment[] | undefined, b: readonly AsPathSegment[] | undefined): boolean {
  if (a === b) return true;
  const x = a ?? [];
  const y = b ?? [];
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) {
    const s = x[i]!;
    const t = y[i]!;
    if (s.type !== t.type || s.asns.length !== t.asns.length) return false;
    for (let k = 0; k < s.asns.length; k++) if (s.asns[k] !== t.asns[k]) return false;
  }
  return true;
}
