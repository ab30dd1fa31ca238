/**
 * The candidates' paths as they are stored (rib.ts): a peer's in its
 * Adj-RIB-In, a path record by prefix number, found through the peer's
 * candidate number (slot); our own routes by prefix text. The Loc-RIB reads
 * them here for the decision process (CandidatePaths), the Rib makes its
 * Routes here. The tables are the Rib's, shared, and changed only by it.
 */
import type { PathAttributes } from '#bgp/wire/types';
import type { PrefixMap, PrefixTable } from '#lib/prefix-table';
import type { PathIdColumn } from './add-path-in.js';
import type { DecisionPath } from './decision.js';
import { LOCAL_SLOT } from './loc-rib.js';
import type { CandidatePaths, ScratchPath } from './loc-rib.js';
import type { PathTable } from './path-table.js';
import type { PeerInfo, Route } from './types.js';

/** What is read of a peer (or an RFC 7911 sub-slot) by its candidate number. */
export interface SlotPeer {
  readonly info: PeerInfo;
  /** Adj-RIB-In: prefix number -> path record. */
  readonly adjIn: PrefixMap;
  /** RFC 7911: families (bit 1 IPv4, 2 IPv6) the peer sent Path Identifiers for. */
  readonly addPathFamilies: number;
  /** RFC 7911: the Path Identifier of each path in adjIn of a family in `addPathFamilies`. */
  readonly pathIds: PathIdColumn;
}

export class StoredPaths implements CandidatePaths {
  constructor(
    /** Peers by candidate number (index 0, LOCAL_SLOT: our own origin, never a peer). */
    private readonly slots: readonly (SlotPeer | null)[],
    private readonly pathRecords: PathTable,
    /** Our own routes by prefix text. */
    private readonly localRoutes: ReadonlyMap<string, Route>,
    private readonly prefixes: PrefixTable,
  ) {}

  /**
   * Candidate `slot`'s path for `prefix` as the decision process reads it
   * (RFC 4271 §9.1.2), written into `into` (LocRib's scratchA or scratchB)
   * rather than a new Route: a local route is returned as it is stored.
   * Valid until the next call with the same scratch.
   */
  pathIn(into: ScratchPath, prefix: number, slot: number): DecisionPath {
    if (slot === LOCAL_SLOT) return this.localRoutes.get(this.prefixes.text(prefix))!;
    const peer = this.slots[slot]!;
    const r = this.pathRecords.get(peer.adjIn.get(prefix));
    into.peer = peer.info.id;
    into.attrs = r.attrs;
    into.nextHop = r.nextHop;
    return into;
  }

  /** The attributes of candidate `slot`'s path for `prefix`, without making its Route. */
  attrsOf(prefix: number, slot: number): PathAttributes {
    if (slot === LOCAL_SLOT) return this.localRoutes.get(this.prefixes.text(prefix))!.attrs;
    return this.pathRecords.get(this.slots[slot]!.adjIn.get(prefix)).attrs;
  }

  /** The route of candidate `slot` for `prefix` (made now); `text`: the prefix's, made when not given. */
  routeOf(prefix: number, slot: number, text = this.prefixes.text(prefix)): Route {
    if (slot === LOCAL_SLOT) return this.localRoutes.get(text)!;
    const peer = this.slots[slot]!;
    const r = this.pathRecords.get(peer.adjIn.get(prefix));
    if (peer.addPathFamilies !== 0 && (peer.addPathFamilies & (this.prefixes.isV6(prefix) ? 2 : 1)) !== 0) {
      return { prefix: text, peer: peer.info.id, source: 'bgp', attrs: r.attrs, nextHop: r.nextHop, nextHopLinkLocal: r.nextHopLinkLocal, pathId: peer.pathIds.get(prefix) };
    }
    return { prefix: text, peer: peer.info.id, source: 'bgp', attrs: r.attrs, nextHop: r.nextHop, nextHopLinkLocal: r.nextHopLinkLocal };
  }
}
