/**
 * Adj-RIBs-In, Loc-RIB and Adj-RIBs-Out (RFC 4271 §3.2, §9): the Rib holds
 * the Adj-RIBs-In and our own routes, and drives the Loc-RIB (loc-rib.ts,
 * the candidates per prefix and the decision) and the export side (each
 * peer's Adj-RIB-Out, adj-rib-out.ts, and the UPDATEs that keep it in line
 * with the Loc-RIB, export.ts, which reads it through LocRibView).
 *
 * Shape, chosen for full tables (a million prefixes from each of several
 * peers): no object and no map entry per path. A prefix is a number in the
 * prefix table (shared with the FIB bookkeeping); a path is a number too:
 * its record in the path table (attribute set and next hops, shared by
 * every prefix that has them). Each peer keeps its Adj-RIB-In as prefix
 * number -> record number (PrefixMap: an array once large), its Adj-RIB-Out
 * prefix number -> export attribute set number; the Loc-RIB keeps,
 * per prefix number, which peers' paths are candidates (a lone candidate as
 * the peer's number in a column, several as a small list with the best
 * first). Route objects are made when asked for (best(), changes), never stored. A change
 * to one path touches only its prefix's candidates (one per peer plus a
 * local origin), never the rest of the table. Paths excluded by import policy
 * or by an unusable next hop stay in the Adj-RIB-In (they were received) but
 * are not candidates.
 *
 * Each operation returns the Loc-RIB changes it caused, one per prefix whose
 * best path changed, which the caller hands to exportChanges for every peer.
 */
import { AFI_IPV4, AFI_IPV6, Origin } from '#bgp/wire/types';
import type { PathAttributes, PrefixRun, UpdateMessage } from '#bgp/wire/types';
import { PrefixReader, prefixPathIds } from '#bgp/wire/nlri';
import { canonicalPrefix } from '#lib/prefix';
import { NO_PREFIX, PrefixMap, PrefixTable } from '#lib/prefix-table';
import { canonicalAddress, importAttributes, importPrefixWords } from '#bgp/policy/index';
import type { ImportContext, ImportRejectReason } from '#bgp/policy/index';
import type { CompiledChain, PolicyOutcome, PreparedPolicy } from '#bgp/policy/engine';
import { PrefixWords } from '#bgp/policy/prefix-set';
import { AttributeTable } from './intern.js';
import { OutcomeRecords } from './outcome-records.js';
import { MAX_RECEIVED_PATHS, PathIdColumn, freeLane, laneOf } from './add-path-in.js';
import type { AdjRibOutResend } from './adj-rib-out.js';
import { RibExport, sameRoute } from './export.js';
import type { TableSteps } from './export.js';
import { LOCAL_SLOT, LocRib } from './loc-rib.js';
import { StoredPaths } from './stored-paths.js';
import { LLGR_STALE, NO_LLGR, addressKey, nextHopUsable, routerIdNumber } from './decision.js';
import type { Decision, DecisionContext, DecisionPeer } from './decision.js';
import type { MultipathOptions } from './multipath.js';
import type { LocRibChange, PeerInfo, Route } from './types.js';
import { PathTable } from './path-table.js';
import { TouchMarks } from './touched.js';
import type { Touched } from './touched.js';

/** A peer's withdrawal in steps (Rib.removePeerSteps). */
export interface PeerRemoval {
  /** Withdraws up to `max` more of the peer's paths; the Loc-RIB changes they caused. The last step removes the peer. */
  next(max: number): LocRibChange[];
  /** The peer's paths are all withdrawn and the peer is out of the RIB. */
  readonly done: boolean;
}

/**
 * Why a received path is not a candidate: the built-in import checks, the
 * operator's import policy (`policy`), or step 0 of the decision process.
 */
export type IneligibleReason = ImportRejectReason | 'policy' | 'next-hop-unusable';

/** As kept per path: a policy rejection keeps the (shared) outcome, which names the term. */
type IneligibleEntry = ImportRejectReason | 'next-hop-unusable' | PolicyOutcome;

/** A peer's operator policies (bgp.import / bgp.export), compiled; null: none. */
export interface PeerPolicies {
  readonly import: CompiledChain | null;
  readonly export: CompiledChain | null;
  /** bgp.soft-reconfiguration-inbound: keep each path's pre-policy record. */
  readonly softReconfiguration: boolean;
}

/** A peer's Adj-RIB-In path for a prefix (Rib.receivedPaths). */
export interface ReceivedPath {
  readonly peer: PeerInfo;
  readonly route: Route;
  /** Why it is not a candidate; null when it is. */
  readonly ineligible: IneligibleReason | null;
  /** With `policy`: which term rejected it ("policy/term", "policy/default", "end of chain", or the RFC 8212 reason). */
  readonly policy?: string;
}

interface PeerState extends DecisionPeer {
  readonly info: PeerInfo;
  /** The peer's number in the Loc-RIB's candidate lists (1…; 0 is our own origin). */
  readonly slot: number;
  readonly importCtx: ImportContext;
  /**
   * Adj-RIB-In: every path received and not withdrawn, eligible or not, as
   * prefix number -> path record. Each entry holds a reference on its prefix number.
   */
  readonly adjIn: PrefixMap;
  readonly ineligible: Map<number, IneligibleEntry>;
  /**
   * Soft reconfiguration inbound: the pre-policy path record of each path
   * whose stored one the import policy changed (absent: the same), holding
   * a reference on it; null when the neighbor does not keep them.
   */
  preIn: PrefixMap | null;
  importPolicy: CompiledChain | null;
  /**
   * RFC 4724 §4.2: prefixes of a restarting peer kept from before its session
   * went down and not refreshed since; null when there are none.
   */
  stale: Set<number> | null;
  /** Of the candidates (Adj-RIB-In entries not ineligible), the IPv6 ones; kept where entries come and go (max-prefix). */
  acceptedV6: number;
  /** RFC 7911: the Path Identifier of each path in adjIn of a family in `addPathFamilies` (add-path-in.ts). */
  readonly pathIds: PathIdColumn;
  /** RFC 7911: families (bit 1 IPv4, 2 IPv6) the peer sent Path Identifiers for. */
  addPathFamilies: number;
  /** RFC 7911: the peer's sub-slots, on its own state ([] on a sub-slot and without ADD-PATH). */
  lanes: PeerState[];
  /** RFC 7911: paths not stored because the prefix already had MAX_RECEIVED_PATHS from the peer (on its own state). */
  refusedPaths: number;
}

const STATIC = 1;
const CONNECTED = 2;

export class Rib {
  /** Interned attribute sets of Adj-RIB-In and Loc-RIB paths. */
  readonly attributes = new AttributeTable();
  /** Interned attribute sets of Adj-RIB-Out entries (shared by all peers). */
  readonly exportAttributes = new AttributeTable();
  /** Prefix numbers (shared with the FIB bookkeeping when the caller passes its table). */
  readonly prefixes: PrefixTable;

  /** Distinct paths (attribute set + next hops) of the Adj-RIBs-In. */
  readonly pathRecords = new PathTable(this.attributes);
  private readonly peers = new Map<string, PeerState>();
  /** Peers by number (index 0: our own origin, never a peer). */
  private readonly slots: (PeerState | null)[] = [null];
  private readonly freeSlots: number[] = [];
  private readonly decisionCtx: DecisionContext;
  /** Our own global addresses (canonical) with the number of sessions using each. */
  private readonly ownAddresses = new Map<string, number>();
  private readonly localSources = new Map<string, number>();
  /**
   * Routes of another protocol offered to BGP (OSPF → BGP). Not candidates of
   * the decision process: a prefix is sent as one of ours only to the peers
   * that take it and only while the Loc-RIB has no path for it.
   */
  private readonly redistributed = new Map<string, Route>();
  /** Our own routes by prefix text; each holds a reference on its prefix number. */
  private readonly localRoutes = new Map<string, Route>();
  /** RFC 4271 §5.1.1, §5.1.2: a route we originate has ORIGIN IGP and an empty AS_PATH. */
  private readonly localAttrs: PathAttributes;
  /** Static routes' attribute sets where `announce` gives communities (interned, one reference each). */
  private readonly staticAttrs = new Map<string, PathAttributes>();

  /**
   * Track each prefix's second-best path too (its peer): a change of it is a
   * Loc-RIB change with `backup`, so the FIB can hold the backup next to the
   * best and move to it at once when the best's tunnel dies (PIC).
   */
  private readonly backups: boolean;
  /**
   * Peers sent several paths per prefix (RFC 7911): while there are any, a
   * change to any candidate is a Loc-RIB change (their export needs it), not
   * only a change of the best.
   */
  private addPathSenders = 0;
  private readonly touchMarks = new TouchMarks();
  /** Candidates' paths as stored, read by the Loc-RIB and made into Routes (stored-paths.ts). */
  private readonly stored: StoredPaths;
  /** Loc-RIB: each prefix's candidates, decided (loc-rib.ts). */
  private readonly loc: LocRib;
  /** Every peer's Adj-RIB-Out and the export into them (export.ts). */
  private readonly exporter: RibExport;
  /** Reads received prefix runs (applyUpdate; one run at a time). */
  private readonly reader = new PrefixReader();
  /** The prefix an import policy is asked about (policyKey). */
  private readonly prefixWords = new PrefixWords();

  constructor(local: { asn: number; routerId: string; backups?: boolean; prefixes?: PrefixTable; multipath?: MultipathOptions | null }) {
    this.backups = local.backups ?? false;
    this.prefixes = local.prefixes ?? new PrefixTable();
    this.decisionCtx = { localAsn: local.asn, localRouterIdNum: routerIdNumber(local.routerId), peers: this.peers };
    this.localAttrs = this.attributes.intern({ origin: Origin.Igp, asPath: [] });
    this.stored = new StoredPaths(this.slots, this.pathRecords, this.localRoutes, this.prefixes);
    this.loc = new LocRib(this.prefixes, this.decisionCtx, this.backups, local.multipath ?? null, this.stored);
    this.exporter = new RibExport(this.prefixes, this.exportAttributes, this.decisionCtx, {
      redistributed: this.redistributed,
      count: () => this.loc.size,
      forEachPrefix: (fn) => this.loc.forEach(fn),
      has: (prefix) => this.loc.has(prefix),
      bestSlot: (prefix) => this.loc.bestSlot(prefix),
      routeOf: (prefix, slot, text) => this.stored.routeOf(prefix, slot, text),
      bestRoute: (prefix, text) => this.bestRoute(prefix, text),
      rankedSlots: (prefix) => this.loc.rankedSlots(prefix),
      bestIsCurrent: (prefix, best) => this.changeBestIsCurrent(prefix, best),
      policyKey: (prefix) => this.policyKey(prefix),
    });
  }

  /**
   * On Established. A peer already present must be removed first, unless its
   * paths were kept stale (retainStale): then it resumes with them, and they
   * stay until refreshed or swept (RFC 4724 §4.2).
   */
  addPeer(p: PeerInfo, policies: PeerPolicies = NO_POLICIES): void {
    const kept = this.peers.get(p.id);
    if (kept !== undefined && kept.stale === null) throw new Error(`peer ${p.id} is already in the RIB`);
    if (kept !== undefined) {
      this.forgetPeerState(kept);
      if (!policies.softReconfiguration && kept.preIn !== null) kept.preIn.forEach((r) => this.pathRecords.release(r));
    }
    // A peer resuming with stale paths keeps its number: the Loc-RIB's candidate lists name it.
    const slot = kept !== undefined ? kept.slot : (this.freeSlots.pop() ?? this.slots.length);
    const state: PeerState = {
      info: p,
      slot,
      ebgp: p.asn !== this.decisionCtx.localAsn,
      routerIdNum: routerIdNumber(p.routerId),
      addressKey: addressKey(p.address),
      importCtx: { localAsn: this.decisionCtx.localAsn, peer: p, ownAddresses: this.ownAddresses },
      // The stale paths (and their references) move over as they are.
      adjIn: kept !== undefined ? kept.adjIn : new PrefixMap(),
      ineligible: kept !== undefined ? kept.ineligible : new Map(),
      // Stale paths keep their copies while the neighbor still wants them (a reload may have switched it).
      preIn: policies.softReconfiguration ? (kept?.preIn ?? new PrefixMap()) : null,
      importPolicy: policies.import,
      stale: kept !== undefined ? kept.stale : null,
      acceptedV6: kept !== undefined ? kept.acceptedV6 : 0,
      pathIds: kept !== undefined ? kept.pathIds : new PathIdColumn(),
      addPathFamilies: kept !== undefined ? kept.addPathFamilies : 0,
      lanes: [],
      refusedPaths: 0,
    };
    this.peers.set(p.id, state);
    this.slots[slot] = state;
    if (this.exporter.addPeer(p, policies.export).adjOutPaths !== null) this.addPathSenders++;
    // RFC 7911 sub-slots with stale paths resume too, with the new session's state.
    for (const l of kept?.lanes ?? []) {
      if (!policies.softReconfiguration && l.preIn !== null) l.preIn.forEach((r) => this.pathRecords.release(r));
      this.openLane(state, l);
    }
    for (const a of localAddresses(p)) this.ownAddresses.set(a, (this.ownAddresses.get(a) ?? 0) + 1);
  }

  /** Session down: everything learned from the peer is withdrawn, its Adj-RIB-Out forgotten. */
  removePeer(id: string): LocRibChange[] {
    return this.removePeerSteps(id)?.next(Infinity) ?? [];
  }

  /**
   * removePeer in steps: each next(max) withdraws up to `max` more of the
   * peer's paths and returns the Loc-RIB changes they caused, so a full
   * table's withdrawal is never one array of a million changes (and the
   * caller can let the event loop turn in between). The peer stays in the
   * RIB until the last step: meanwhile its remaining paths are candidates
   * as before, and addPeer for it throws (finish the removal first).
   * Null when the peer is not in the RIB.
   */
  removePeerSteps(id: string): PeerRemoval | null {
    const peer = this.peers.get(id);
    if (!peer) return null;
    // The peer's own slot, then its RFC 7911 sub-slots, one after the other.
    const states = [peer, ...peer.lanes];
    let lane = 0;
    // Descending IPv4 order: the FIB deletes these in this order, and Linux
    // removes IPv4 routes in ascending order in quadratic time where a dense
    // run fills a trie node (PrefixTable.sortV4Descending).
    const ordered = (ids: Int32Array): Int32Array => {
      this.prefixes.sortV4Descending(ids);
      return ids;
    };
    let prefixes = ordered(peer.adjIn.ids());
    let at = 0;
    let done = false;
    const finish = (): void => {
      done = true;
      for (const s of states) {
        s.stale = null;
        s.ineligible.clear();
        this.slots[s.slot] = null;
        this.freeSlots.push(s.slot);
      }
      peer.lanes = [];
      this.forgetPeerState(peer);
    };
    return {
      get done() {
        return done;
      },
      next: (max: number): LocRibChange[] => {
        if (done) return [];
        const touched = this.touchMarks.touched();
        let budget = max;
        for (;;) {
          const end = Math.min(prefixes.length, at + budget);
          budget -= end - at;
          for (; at < end; at++) this.withdrawPath(states[lane]!, prefixes[at]!, touched);
          if (at < prefixes.length || lane + 1 >= states.length || budget <= 0) break;
          prefixes = ordered(states[++lane]!.adjIn.ids());
          at = 0;
        }
        const changes = this.collect(touched);
        if (at >= prefixes.length && lane + 1 >= states.length) finish();
        return changes;
      },
    };
  }

  /**
   * RFC 4724 §4.2, the receiving speaker: the session of a peer that can
   * restart ended without a NOTIFICATION. Its paths stay in the Loc-RIB
   * (forwarding goes on), marked stale; what it re-announces after its
   * restart is fresh again, sweepStale removes the rest. Its Adj-RIB-Out is
   * forgotten: it gets the whole table when it is back.
   */
  retainStale(id: string): number {
    const peer = this.peers.get(id);
    if (!peer) return 0;
    let n = 0;
    for (const s of [peer, ...peer.lanes]) {
      const stale = s.stale ?? new Set<number>();
      s.adjIn.forEach((_record, prefix) => stale.add(prefix));
      s.stale = stale.size > 0 ? stale : null;
      n += stale.size;
    }
    this.exporter.clear(id);
    return n;
  }

  /**
   * RFC 7313 §4, the receiving speaker at a BoRR: the peer's paths of the
   * family become stale (they stay candidates, forwarding goes on); what the
   * peer sends again is fresh (storePath), sweepStale at its EoRR removes
   * the rest. Unlike retainStale the Adj-RIB-Out stays: the session is up.
   * The marks share the graceful-restart set: a path is stale for whichever
   * reason until it is sent again. Returns how many paths were marked.
   */
  markStale(id: string, afi: number): number {
    const peer = this.peers.get(id);
    if (!peer) return 0;
    const v6 = afi === AFI_IPV6;
    let marked = 0;
    for (const s of [peer, ...peer.lanes]) {
      const stale = s.stale ?? new Set<number>();
      s.adjIn.forEach((_record, prefix) => {
        if (this.prefixes.isV6(prefix) !== v6) return;
        stale.add(prefix);
        marked++;
      });
      s.stale = stale.size > 0 ? stale : null;
    }
    return marked;
  }

  /** Stale paths of the peer of one family. */
  staleCountOf(id: string, afi: number): number {
    const peer = this.peers.get(id);
    if (!peer) return 0;
    const v6 = afi === AFI_IPV6;
    let n = 0;
    for (const s of [peer, ...peer.lanes]) for (const prefix of s.stale ?? []) if (this.prefixes.isV6(prefix) === v6) n++;
    return n;
  }

  /** Whether the peer's paths are kept stale (retainStale, not yet swept). */
  hasStale(id: string): boolean {
    const peer = this.peers.get(id);
    return peer !== undefined && (peer.stale !== null || peer.lanes.some((l) => l.stale !== null));
  }

  /** Whether the peer's path for `prefix` is stale (kept from before its restart or refresh, not sent again yet). */
  isStale(id: string, prefix: string): boolean {
    const peer = this.peers.get(id);
    if (!peer) return false;
    const n = this.prefixes.find(prefix);
    return n !== NO_PREFIX && (peer.stale?.has(n) === true || peer.lanes.some((l) => l.stale?.has(n) === true));
  }

  /** Stale paths of the peer, for status. */
  staleCount(id: string): number {
    const peer = this.peers.get(id);
    if (!peer) return 0;
    let n = peer.stale?.size ?? 0;
    for (const l of peer.lanes) n += l.stale?.size ?? 0;
    return n;
  }

  /**
   * Withdraws the peer's paths still stale, of one family (its End-of-RIB, or
   * its new OPEN without the F bit for it) or of all (the restart or stale
   * timer ran out): RFC 4724 §4.2.
   */
  sweepStale(id: string, afi?: number): LocRibChange[] {
    const peer = this.peers.get(id);
    if (!peer) return [];
    const touched = this.touchMarks.touched();
    for (const s of [peer, ...peer.lanes]) {
      const stale = s.stale;
      if (!stale) continue;
      for (const prefix of [...stale]) {
        if (afi !== undefined && (this.prefixes.isV6(prefix) ? AFI_IPV6 : AFI_IPV4) !== afi) continue;
        this.withdrawPath(s, prefix, touched);
      }
      if (stale.size === 0) s.stale = null;
    }
    const changes = this.collect(touched);
    this.closeEmptyLanes(peer);
    return changes;
  }

  /**
   * RFC 9494 §4.2: the restart time of the peer ran out and long-lived
   * graceful restart was negotiated for the family. Its paths still stale
   * stay, with LLGR_STALE added (which makes them least preferred, decision.ts,
   * and keeps them from peers without the capability, exportFilter); those
   * carrying NO_LLGR are withdrawn. A path record gets its long-lived twin
   * once, shared by every prefix that had it: one attribute set more per
   * distinct set, never one per route. The paths stay in the stale set:
   * what the peer sends again is fresh, sweepStale removes the rest.
   */
  longLivedStale(id: string, afi: number): { changes: LocRibChange[]; kept: number; removed: number } {
    const peer = this.peers.get(id);
    if (!peer) return { changes: [], kept: 0, removed: 0 };
    const touched = this.touchMarks.touched();
    // Record -> its long-lived twin (one reference held until the end).
    const twins = new Map<number, number>();
    const twinOf = (record: number): number => {
      let twin = twins.get(record);
      if (twin === undefined) {
        const r = this.pathRecords.get(record);
        const attrs = this.attributes.intern({ ...r.attrs, communities: [...(r.attrs.communities ?? []), LLGR_STALE] });
        twin = this.pathRecords.intern(attrs, r.nextHop, r.nextHopLinkLocal);
        this.attributes.release(attrs);
        twins.set(record, twin);
      }
      return twin;
    };
    let kept = 0;
    let removed = 0;
    const v6 = afi === AFI_IPV6;
    // RFC 7911: each of the peer's ADD-PATH lanes keeps its own stale paths.
    for (const s of [peer, ...peer.lanes]) {
      const stale = s.stale;
      if (!stale) continue;
      for (const prefix of [...stale]) {
        if (this.prefixes.isV6(prefix) !== v6) continue;
        const record = s.adjIn.get(prefix);
        const communities = this.pathRecords.get(record).attrs.communities ?? [];
        if (communities.includes(NO_LLGR)) {
          this.withdrawPath(s, prefix, touched);
          removed++;
          continue;
        }
        kept++;
        if (communities.includes(LLGR_STALE)) continue;
        // A pre-policy copy (soft reconfiguration) gets the community too: a policy
        // applied again on reload must not make the path fresh-looking.
        const pre = s.preIn?.get(prefix) ?? -1;
        const entry = s.ineligible.get(prefix) ?? null;
        this.prefixes.retain(prefix);
        this.storePath(s, prefix, twinOf(record), entry, touched, pre >= 0 ? twinOf(pre) : -1, false);
      }
      if (stale.size === 0) s.stale = null;
    }
    for (const twin of twins.values()) this.pathRecords.release(twin);
    const changes = this.collect(touched);
    this.closeEmptyLanes(peer);
    return { changes, kept, removed };
  }

  /** Drops the peer's state apart from its paths (already moved or withdrawn). */
  private forgetPeerState(peer: PeerState): void {
    if ((this.exporter.removePeer(peer.info.id)?.adjOutPaths ?? null) !== null) this.addPathSenders--;
    this.peers.delete(peer.info.id);
    for (const a of localAddresses(peer.info)) {
      const n = (this.ownAddresses.get(a) ?? 1) - 1;
      if (n === 0) this.ownAddresses.delete(a);
      else this.ownAddresses.set(a, n);
    }
  }

  /**
   * One received UPDATE. Withdrawals are applied before announcements, so a
   * prefix listed in both ends up announced (RFC 4271 §4.3: treat it as if
   * the withdrawn routes did not contain it). An announcement replaces the
   * peer's previous path for the prefix (implicit withdraw, RFC 4271 §3.1).
   */
  applyUpdate(peerId: string, u: UpdateMessage): LocRibChange[] {
    const peer = this.peers.get(peerId);
    if (!peer) throw new Error(`UPDATE from ${peerId}, which is not in the RIB`);
    const touched = this.touchMarks.touched();
    const received = u.received;
    if (received !== undefined) {
      // As decoded: the prefixes go from the wire bytes to numbers, no text made.
      this.withdrawRun(peer, received.withdrawn, touched);
      const unreach = u.mpUnreach;
      if (received.unreach !== undefined && unreach !== undefined && isUnicast(unreach.afi, unreach.safi)) this.withdrawRun(peer, received.unreach, touched);
    } else {
      const withdrawn = u.withdrawn;
      if (u.withdrawnPathIds !== undefined) this.withdrawPaths(peer, withdrawn, u.withdrawnPathIds, touched);
      else for (let i = 0; i < withdrawn.length; i++) this.withdrawText(peer, withdrawn[i]!, touched);
      const unreach = u.mpUnreach;
      if (unreach !== undefined && isUnicast(unreach.afi, unreach.safi)) {
        const list = unreach.withdrawn;
        if (unreach.pathIds !== undefined) this.withdrawPaths(peer, list, unreach.pathIds, touched);
        else for (let i = 0; i < list.length; i++) this.withdrawText(peer, list[i]!, touched);
      }
    }
    const nlriCount = received !== undefined ? received.nlri.count : u.nlri.length;
    if (nlriCount > 0) {
      const ids = received !== undefined ? this.internRun(received.nlri) : this.internTexts(u.nlri);
      const pathIds = received !== undefined ? (received.nlri.addPath ? prefixPathIds(received.nlri) : undefined) : u.nlriPathIds;
      this.announcePaths(peer, u.attributes, u.attributes.nextHop ?? null, null, ids, pathIds, touched);
    }
    const reach = u.mpReach;
    const reachRun = received?.reach;
    const reachCount = reachRun !== undefined ? reachRun.count : (reach?.nlri.length ?? 0);
    if (reach !== undefined && reachCount > 0 && isUnicast(reach.afi, reach.safi)) {
      const ids = reachRun !== undefined ? this.internRun(reachRun) : this.internTexts(reach.nlri);
      const pathIds = reachRun !== undefined ? (reachRun.addPath ? prefixPathIds(reachRun) : undefined) : reach.pathIds;
      const global = reach.nextHops[0] ?? null;
      const linkLocal = reach.nextHops[1] ?? null;
      // RFC 2545 §3: a speaker with no global address on the link (BIRD on an unnumbered
      // tunnel) sends the unspecified address and its link-local: the link-local is the next hop.
      if (global === '::' && linkLocal !== null) this.announcePaths(peer, u.attributes, linkLocal, null, ids, pathIds, touched);
      else this.announcePaths(peer, u.attributes, global, linkLocal, ids, pathIds, touched);
    }
    const changes = this.collect(touched);
    if (peer.lanes.length > 0) this.closeEmptyLanes(peer);
    return changes;
  }

  /** The numbers of a received run's prefixes, one reference taken on each (RFC 4271 §4.3 bytes read as words). */
  private internRun(run: PrefixRun): Int32Array {
    const out = new Int32Array(run.count);
    const r = this.reader.reset(run);
    for (let i = 0; r.next(); i++) out[i] = this.prefixes.internWords(r.v6, r.len, r.w0, r.w1, r.w2, r.w3);
    return out;
  }

  /** internRun for prefixes given as text (an UPDATE made in-process); a non-canonical text throws, nothing taken. */
  private internTexts(texts: readonly string[]): Int32Array {
    const out = new Int32Array(texts.length);
    let i = 0;
    try {
      for (; i < texts.length; i++) out[i] = this.prefixes.intern(texts[i]!);
    } catch (e) {
      for (let k = 0; k < i; k++) this.prefixes.release(out[k]!);
      throw e;
    }
    return out;
  }

  /**
   * Withdrawals as received; with RFC 7911 Path Identifiers, of the lane that
   * holds (prefix, id). One nobody holds is ignored (RFC 4271 §9.1.1).
   */
  private withdrawRun(peer: PeerState, run: PrefixRun, touched: Touched): void {
    if (run.count === 0) return;
    const lanes = run.addPath ? [peer, ...peer.lanes] : null;
    const r = this.reader.reset(run);
    while (r.next()) {
      const prefix = this.prefixes.findWords(r.v6, r.len, r.w0, r.w1, r.w2, r.w3);
      if (prefix === NO_PREFIX) continue;
      if (lanes === null) {
        this.withdrawPath(peer, prefix, touched);
        continue;
      }
      const k = laneOf(lanes, prefix, r.pathId);
      if (k >= 0) this.withdrawPath(lanes[k]!, prefix, touched);
    }
  }

  /**
   * A prefix we originate (`announce` config: static; tunnel subnets:
   * connected). Both sources may hold the same prefix; the Loc-RIB has one
   * local path for it, labelled connected when that source is present.
   */
  originate(prefix: string, source: 'static' | 'connected', extra?: PathAttributes): LocRibChange[] {
    const key = requirePrefix(prefix);
    const bits = this.localSources.get(key) ?? 0;
    // `announce` entries may carry communities: the route is made anew when they change (reload).
    const changed = source === 'static' && this.setStaticAttrs(key, extra);
    return this.setLocalSources(key, bits | (source === 'static' ? STATIC : CONNECTED), changed);
  }

  /** The attribute set of our static route for `key` (ORIGIN IGP, empty AS_PATH, plus `extra`); whether it changed. */
  private setStaticAttrs(key: string, extra: PathAttributes | undefined): boolean {
    const old = this.staticAttrs.get(key);
    const next = extra === undefined || Object.keys(extra).length === 0 ? undefined : this.attributes.intern({ ...extra, origin: Origin.Igp, asPath: [] });
    if (next === old) {
      if (next !== undefined) this.attributes.release(next);
      return false;
    }
    if (next === undefined) this.staticAttrs.delete(key);
    else this.staticAttrs.set(key, next);
    if (old !== undefined) this.attributes.release(old);
    return true;
  }

  /** Stops originating `prefix` from `source`, or from both sources when none is given. */
  withdrawOrigin(prefix: string, source?: 'static' | 'connected'): LocRibChange[] {
    const key = requirePrefix(prefix);
    const bits = this.localSources.get(key) ?? 0;
    const clear = source === undefined ? STATIC | CONNECTED : source === 'static' ? STATIC : CONNECTED;
    const changed = (clear & STATIC) !== 0 && this.setStaticAttrs(key, undefined);
    return this.setLocalSources(key, bits & ~clear, changed);
  }

  /**
   * Offers `prefix` from OSPF to BGP (present: true) or takes it back. The
   * Loc-RIB does not change: the result names the prefix so that
   * exportChanges looks at it again for every peer.
   */
  redistribute(prefix: string, present: boolean): LocRibChange[] {
    const key = requirePrefix(prefix);
    if (!present && !this.redistributed.has(key)) return [];
    // Present again: the route may now go to other peers (their filters look at it anew).
    if (present && !this.redistributed.has(key)) {
      // RFC 4271 §5.1.1: ORIGIN INCOMPLETE for what comes from another protocol, as BIRD and FRR send it.
      const attrs = this.attributes.intern({ origin: Origin.Incomplete, asPath: [] });
      this.redistributed.set(key, { prefix: key, peer: null, source: 'ospf', attrs, nextHop: null, nextHopLinkLocal: null });
    } else if (!present) {
      this.attributes.release(this.redistributed.get(key)!.attrs);
      this.redistributed.delete(key);
    }
    const best = this.bestRoute(this.prefixes.find(key));
    return [{ prefix: key, best, previous: best }];
  }

  get redistributedCount(): number {
    return this.redistributed.size;
  }

  /** The best path (a Route made for the caller: compare routes by value, not identity). */
  best(prefix: string): Route | undefined {
    return this.bestRoute(this.prefixes.find(prefix)) ?? undefined;
  }

  /** The best path and the step of RFC 4271 §9.1.2.2 that chose it. */
  decision(prefix: string): Decision | undefined {
    const id = this.prefixes.find(prefix);
    if (!this.loc.has(id)) return undefined;
    return { best: this.stored.routeOf(id, this.loc.bestSlot(id)), step: this.loc.stepOf(id) };
  }

  /** All candidate paths, best first. */
  paths(prefix: string): Route[] {
    return this.loc.ranked(this.prefixes.find(prefix));
  }

  /** Longest-prefix match over the Loc-RIB. */
  lookup(address: string): Route | undefined {
    const id = this.loc.lookup(address);
    return id === NO_PREFIX ? undefined : this.stored.routeOf(id, this.loc.bestSlot(id));
  }

  /** Best routes (made as they are iterated). */
  *entries(): IterableIterator<Route> {
    const bound = this.prefixes.bound;
    for (let id = 0; id < bound; id++) if (this.loc.has(id)) yield this.stored.routeOf(id, this.loc.bestSlot(id));
  }

  /** Loc-RIB prefixes. */
  get size(): number {
    return this.loc.size;
  }

  /** Adj-RIB-In size: prefixes received and stored, eligible or not. */
  receivedCount(peerId: string): number {
    const p = this.peers.get(peerId);
    if (!p) return 0;
    let n = p.adjIn.size;
    for (const l of p.lanes) n += l.adjIn.size;
    return n;
  }

  /** Received paths that are candidates in the Loc-RIB (RFC 7911: every path counts); with `afi`, those of that family only. */
  acceptedCount(peerId: string, afi?: number): number {
    const p = this.peers.get(peerId);
    if (!p) return 0;
    let all = p.adjIn.size - p.ineligible.size;
    let v6 = p.acceptedV6;
    for (const l of p.lanes) {
      all += l.adjIn.size - l.ineligible.size;
      v6 += l.acceptedV6;
    }
    if (afi === undefined) return all;
    return afi === AFI_IPV6 ? v6 : afi === AFI_IPV4 ? all - v6 : 0;
  }

  /** Why a received path is not a candidate: null when it is, undefined when not received. */
  ineligibleReason(peerId: string, prefix: string): IneligibleReason | null | undefined {
    const p = this.peers.get(peerId);
    const id = this.prefixes.find(prefix);
    if (!p || id === NO_PREFIX || !p.adjIn.has(id)) return undefined;
    return reasonOf(p.ineligible.get(id));
  }

  /**
   * Every peer's Adj-RIB-In path for `prefix` (canonical), candidates and the
   * ones that are not (with the reason), in peer order; our own origin is not
   * received (paths() has it). For one prefix asked for: a loop over the peers.
   */
  receivedPaths(prefix: string): ReceivedPath[] {
    const id = this.prefixes.find(prefix);
    if (id === NO_PREFIX) return [];
    const out: ReceivedPath[] = [];
    for (const peer of this.peers.values()) {
      for (const p of peer.lanes.length === 0 ? [peer] : [peer, ...peer.lanes]) {
        if (!p.adjIn.has(id)) continue;
        const route = this.stored.routeOf(id, p.slot, prefix);
        const e = p.ineligible.get(id);
        out.push({ peer: p.info, route, ineligible: reasonOf(e), ...(typeof e === 'object' ? { policy: e.by } : {}) });
      }
    }
    return out;
  }

  /** RFC 7911: paths of the peer not stored, past MAX_RECEIVED_PATHS for their prefix, since its session came up. */
  refusedPathCount(peerId: string): number {
    return this.peers.get(peerId)?.refusedPaths ?? 0;
  }

  /** Adj-RIB-Out size. */
  advertisedCount(peerId: string): number {
    return this.exporter.advertisedCount(peerId);
  }

  /** The UPDATEs that bring `peerId` in line with the Loc-RIB for the prefixes named by `changes` (RibExport.exportChanges). */
  exportChanges(peerId: string, changes: readonly LocRibChange[]): UpdateMessage[] {
    return this.exporter.exportChanges(peerId, changes);
  }

  /** exportChanges for several peers at once; a peer is behind after `step` prefixes (RibExport.exportToPeers). */
  exportToPeers(peerIds: readonly string[], changes: readonly LocRibChange[], step = Number.POSITIVE_INFINITY): UpdateMessage[][] {
    return this.exporter.exportToPeers(peerIds, changes, step);
  }

  /** The peer reads slower than its changes come: they are remembered for catchUp(), not exported (RFC 4271 §9.2). */
  setBehind(peerId: string): void {
    this.exporter.setBehind(peerId);
  }

  /** Whether the peer is behind (see setBehind): changes for it are remembered, not exported. */
  isBehind(peerId: string): boolean {
    return this.exporter.isBehind(peerId);
  }

  /** Prefixes the peer is owed an UPDATE for while behind. */
  owedCount(peerId: string): number {
    return this.exporter.owedCount(peerId);
  }

  /** The UPDATEs for up to `max` of the prefixes a peer behind is owed, from the Loc-RIB as it is now. */
  catchUp(peerId: string, max: number): UpdateMessage[] {
    return this.exporter.catchUp(peerId, max);
  }

  /** After the peer's export policy changed: everything it was or may be sent is owed (catchUp() sends the differences); how many. */
  reexportLater(peerId: string): number {
    return this.exporter.reexportLater(peerId);
  }

  /** The peer's Adj-RIB-Out of one family sent again as it stands, in steps (RFC 2918 §4); null for an unknown peer. */
  resendSteps(id: string, afi: number): AdjRibOutResend | null {
    return this.exporter.resendSteps(id, afi);
  }

  /** A new export policy for the peer (reload); reexportLater() then sends the differences. */
  setExportPolicy(peerId: string, policy: CompiledChain | null): void {
    this.exporter.setExportPolicy(peerId, policy);
  }

  /** For a dry run of an export policy (policy/preview.ts): every prefix the peer was sent or might be, once. */
  forEachExportInput(peerId: string, fn: (prefix: string, route: Route | undefined, advertised: boolean) => void): void {
    this.exporter.forEachExportInput(peerId, fn);
  }

  /** The whole table for a peer that just came up, in steps, its Adj-RIB-Out cleared first; null for an unknown peer. */
  exportFullSteps(peerId: string): TableSteps | null {
    return this.exporter.exportFullSteps(peerId);
  }

  /** End-of-RIB for each family the peer negotiated (RFC 4724 §2). */
  endOfRibs(peerId: string): UpdateMessage[] {
    return this.exporter.endOfRibs(peerId);
  }

  /** The whole table for a peer that just came up, then End-of-RIB per negotiated family (RFC 4724 §2). */
  exportFull(peerId: string): UpdateMessage[] {
    return this.exporter.exportFull(peerId);
  }

  /**
   * A new import policy for the peer (reload). With soft reconfiguration
   * inbound its paths are evaluated again from their pre-policy records and
   * the Loc-RIB changes returned; without, the new policy applies to what the
   * peer sends from now on (the caller asks it for a ROUTE-REFRESH, RFC 2918)
   * and nothing changes here. `soft` switches the pre-policy copy on (from
   * the next UPDATE) or off.
   */
  setImportPolicy(peerId: string, policy: CompiledChain | null, soft: boolean): LocRibChange[] {
    const base = this.peers.get(peerId);
    if (!base) return [];
    let changes: LocRibChange[] = [];
    for (const peer of [base, ...base.lanes]) {
      const wasSoft = peer.preIn !== null;
      peer.importPolicy = policy;
      if (wasSoft) changes = changes.concat(this.reimport(peer));
      if (!soft && peer.preIn !== null) {
        peer.preIn.forEach((r) => this.pathRecords.release(r));
        peer.preIn = null;
      } else if (soft && peer.preIn === null) peer.preIn = new PrefixMap();
    }
    return changes;
  }

  /** Whether the peer is in the RIB (Established, or its stale paths kept). */
  hasPeer(peerId: string): boolean {
    return this.peers.has(peerId);
  }

  /** Whether the peer keeps pre-policy paths (soft reconfiguration inbound): an import policy change needs no refresh. */
  keepsPrePolicy(peerId: string): boolean {
    return (this.peers.get(peerId)?.preIn ?? null) !== null;
  }

  /** Every path of the peer the import policy decides (not rejected by a built-in check), from its pre-policy record. */
  private reimport(peer: PeerState): LocRibChange[] {
    const touched = this.touchMarks.touched();
    const policy = peer.importPolicy;
    const prepared = new Map<number, PreparedPolicy>();
    const made = new OutcomeRecords(this.attributes, this.pathRecords, this.decisionCtx.localAsn);
    for (const id of peer.adjIn.ids()) {
      const entry = peer.ineligible.get(id);
      if (typeof entry === 'string' && entry !== 'next-hop-unusable') continue;
      const stored = peer.adjIn.get(id);
      const keptPre = peer.preIn?.get(id) ?? -1;
      const pre = keptPre >= 0 ? keptPre : stored;
      const r = this.pathRecords.get(pre);
      const usable = nextHopUsable(r.nextHop);
      // The pre-policy record is held while the path is stored again (storePath may release it).
      this.pathRecords.retain(pre);
      let o: PolicyOutcome | null = null;
      if (policy !== null) {
        let p = prepared.get(pre);
        if (p === undefined) prepared.set(pre, (p = policy.prepare(r.attrs, peer.info.id)));
        o = p.outcomeOf(this.policyKey(id), 'bgp', r.nextHop);
      }
      this.prefixes.retain(id);
      if (o !== null && !o.accept) this.storePath(peer, id, pre, o, touched, -1, false);
      else if (o === null || o.actions.length === 0) this.storePath(peer, id, pre, usable ? null : 'next-hop-unusable', touched, -1, false);
      else this.storePath(peer, id, made.recordFor(o, r.attrs, r.nextHop, r.nextHopLinkLocal), usable ? null : 'next-hop-unusable', touched, pre, false);
      this.pathRecords.release(pre);
    }
    made.release();
    return this.collect(touched);
  }

  /**
   * For a dry run of an import policy (policy/preview.ts): every path of the
   * peer a policy decides (a built-in check rejects none of them), with its
   * pre-policy attributes where they were kept. Returns whether they all
   * were (soft reconfiguration inbound, or no policy changed any), or null
   * for a peer not in the RIB.
   */
  forEachImportInput(peerId: string, fn: (prefix: string, attrs: PathAttributes, nextHop: string | null) => void): boolean | null {
    const base = this.peers.get(peerId);
    if (!base) return null;
    for (const peer of [base, ...base.lanes]) {
      peer.adjIn.forEach((stored, id) => {
        const entry = peer.ineligible.get(id);
        if (typeof entry === 'string' && entry !== 'next-hop-unusable') return;
        const keptPre = peer.preIn?.get(id) ?? -1;
        const r = this.pathRecords.get(keptPre >= 0 ? keptPre : stored);
        fn(this.prefixes.text(id), r.attrs, r.nextHop);
      });
    }
    return base.preIn !== null || base.importPolicy === null;
  }


  private announce(
    peer: PeerState,
    received: PathAttributes,
    nextHop: string | null,
    nextHopLinkLocal: string | null,
    nlri: ArrayLike<number>,
    touched: Touched,
  ): void {
    // Everything that depends on the attributes is decided once per UPDATE.
    const base = this.attributes.intern(normalizeReceived(received, peer.ebgp));
    const verdict = importAttributes(peer.importCtx, base, nextHop);
    const accepted = verdict.accept ? this.attributes.intern(verdict.attrs) : base;
    const usable = nextHopUsable(nextHop);
    if (verdict.accept && peer.importPolicy !== null) {
      this.announceWithPolicy(peer, peer.importPolicy, base, accepted, usable, nextHop, nextHopLinkLocal, nlri, touched);
      this.attributes.release(accepted);
      this.attributes.release(base);
      return;
    }
    // One path record per UPDATE (and per verdict), shared by all its prefixes.
    let acceptedId = -1;
    let baseId = -1;
    for (let i = 0; i < nlri.length; i++) {
      const prefix = nlri[i]!;
      let reason: IneligibleReason | null = verdict.accept ? this.importPrefix(peer, prefix) : verdict.reason;
      if (reason === null && !usable) reason = 'next-hop-unusable';
      let record: number;
      if (reason === null) {
        if (acceptedId < 0) acceptedId = this.pathRecords.intern(accepted, nextHop, nextHopLinkLocal);
        record = acceptedId;
      } else {
        if (baseId < 0) baseId = this.pathRecords.intern(base, nextHop, nextHopLinkLocal);
        record = baseId;
      }
      this.storePath(peer, prefix, record, reason, touched, -1);
    }
    // The references taken above were for this UPDATE; each stored path holds its own.
    if (acceptedId >= 0) this.pathRecords.release(acceptedId);
    if (baseId >= 0) this.pathRecords.release(baseId);
    if (verdict.accept) this.attributes.release(accepted);
    this.attributes.release(base);
  }

  /**
   * The import policy after the built-in checks (which passed: `accepted`).
   * The attribute half of every term is decided once for the UPDATE, the
   * prefix half per prefix; each distinct outcome makes one attribute set
   * and one path record, shared by its prefixes. A rejected path keeps its
   * pre-policy record (`routes PREFIX` shows what was received and why).
   */
  private announceWithPolicy(
    peer: PeerState,
    policy: CompiledChain,
    base: PathAttributes,
    accepted: PathAttributes,
    usable: boolean,
    nextHop: string | null,
    nextHopLinkLocal: string | null,
    nlri: ArrayLike<number>,
    touched: Touched,
  ): void {
    const prepared = policy.prepare(accepted, peer.info.id);
    let baseId = -1;
    let preId = -1;
    // Outcome -> its path record (a reference held for this UPDATE).
    const records = new OutcomeRecords(this.attributes, this.pathRecords, this.decisionCtx.localAsn);
    for (let i = 0; i < nlri.length; i++) {
      const prefix = nlri[i]!;
      const martian = this.importPrefix(peer, prefix);
      if (martian !== null) {
        if (baseId < 0) baseId = this.pathRecords.intern(base, nextHop, nextHopLinkLocal);
        this.storePath(peer, prefix, baseId, martian, touched, -1);
        continue;
      }
      const o = prepared.outcomeOf(this.policyKey(prefix), 'bgp', nextHop);
      if (preId < 0 && (!o.accept || o.actions.length === 0 || peer.preIn !== null)) preId = this.pathRecords.intern(accepted, nextHop, nextHopLinkLocal);
      if (!o.accept) {
        this.storePath(peer, prefix, preId, o, touched, -1);
        continue;
      }
      const record = o.actions.length === 0 ? preId : records.recordFor(o, accepted, nextHop, nextHopLinkLocal);
      this.storePath(peer, prefix, record, usable ? null : 'next-hop-unusable', touched, record === preId ? -1 : preId);
    }
    records.release();
    if (preId >= 0) this.pathRecords.release(preId);
    if (baseId >= 0) this.pathRecords.release(baseId);
  }

  /**
   * Stores the peer's path for `prefix`, whose reference (taken by the
   * caller) it keeps or gives back: `record`, eligible when `reason` is
   * null. `pre`: the pre-policy record when it differs (kept only with soft
   * reconfiguration inbound), else -1. `received`: the peer sent it now (a
   * stale path is fresh again); false when a new import policy re-judges a
   * kept path, which leaves it as stale as it was (graceful restart, RFC 4724
   * §4.2; enhanced route refresh, RFC 7313 §4).
   */
  private storePath(peer: PeerState, prefix: number, record: number, reason: IneligibleEntry | null, touched: Touched, pre: number, received = true): void {
    // The caller's reference is the Adj-RIB-In entry's when the prefix is new to the peer.
    const old = peer.adjIn.get(prefix);
    if (old >= 0) this.prefixes.release(prefix);
    if (peer.preIn !== null) {
      const oldPre = peer.preIn.get(prefix);
      if (pre !== oldPre) {
        if (pre >= 0) {
          this.pathRecords.retain(pre);
          peer.preIn.set(prefix, pre);
        } else peer.preIn.delete(prefix);
        if (oldPre >= 0) this.pathRecords.release(oldPre);
      }
    }
    const oldReason = peer.ineligible.get(prefix) ?? null;
    // Re-announced after a restart: fresh again, even when nothing else changed.
    if (received) peer.stale?.delete(prefix);
    // A duplicate announcement changes nothing.
    if (old === record && oldReason === reason) return;
    const wasCandidate = old >= 0 && oldReason === null;
    const isCandidate = reason === null;
    // The best before the change is made while the old record is still there.
    if (wasCandidate || isCandidate) this.touch(prefix, touched);
    this.pathRecords.retain(record);
    peer.adjIn.set(prefix, record);
    if (reason === null) peer.ineligible.delete(prefix);
    else peer.ineligible.set(prefix, reason);
    if (wasCandidate !== isCandidate && this.prefixes.isV6(prefix)) peer.acceptedV6 += isCandidate ? 1 : -1;
    if (wasCandidate && isCandidate) this.loc.candidateChanged(prefix);
    else if (wasCandidate) this.loc.dropCandidate(prefix, peer.slot);
    else if (isCandidate) this.loc.addCandidate(prefix, peer.slot);
    if (old >= 0) this.pathRecords.release(old);
  }

  /**
   * RFC 7911 §3: withdrawals of (prefix, Path Identifier); one nobody holds
   * is ignored, as RFC 4271 §9.1.1 ignores a withdrawal of an unknown route.
   */
  private withdrawPaths(peer: PeerState, texts: readonly string[], pathIds: readonly number[], touched: Touched): void {
    const lanes = [peer, ...peer.lanes];
    for (let i = 0; i < texts.length; i++) {
      const prefix = this.prefixes.find(texts[i]!);
      if (prefix === NO_PREFIX) continue;
      const k = laneOf(lanes, prefix, pathIds[i]!);
      if (k >= 0) this.withdrawPath(lanes[k]!, prefix, touched, texts[i]!);
    }
  }

  /**
   * Announcements, with RFC 7911 Path Identifiers when `pathIds` is given:
   * each path goes to the lane that holds (prefix, id) (implicit withdraw),
   * else to the first lane free for the prefix; paths are grouped per lane so
   * each lane's share is one announce() (one attribute decision per UPDATE).
   */
  private announcePaths(
    peer: PeerState,
    received: PathAttributes,
    nextHop: string | null,
    nextHopLinkLocal: string | null,
    nlri: Int32Array,
    pathIds: readonly number[] | undefined,
    touched: Touched,
  ): void {
    if (pathIds === undefined) {
      this.announce(peer, received, nextHop, nextHopLinkLocal, nlri, touched);
      return;
    }
    peer.addPathFamilies |= this.prefixes.isV6(nlri[0]!) ? 2 : 1;
    const lanes = [peer, ...peer.lanes];
    const lists: number[][] = [];
    const ids: number[][] = [];
    // New paths of this UPDATE claim a lane per prefix before any is stored: a bit per lane.
    const claimed = new Map<number, number>();
    for (let i = 0; i < nlri.length; i++) {
      const prefix = nlri[i]!;
      const pathId = pathIds[i]!;
      let k = laneOf(lanes, prefix, pathId);
      if (k < 0) {
        const bits = claimed.get(prefix) ?? 0;
        k = freeLane(lanes, prefix, bits);
        if (k < 0 || k >= MAX_RECEIVED_PATHS) {
          // Past the bound: treated as withdrawn (add-path-in.ts), and nothing to withdraw.
          peer.refusedPaths++;
          this.prefixes.release(prefix);
          continue;
        }
        claimed.set(prefix, bits | (1 << k));
        while (k >= lanes.length) lanes.push(this.openLane(peer, null));
      }
      (lists[k] ??= []).push(prefix);
      (ids[k] ??= []).push(pathId);
    }
    for (let k = 0; k < lanes.length; k++) {
      const list = lists[k];
      if (list === undefined) continue;
      const lane = lanes[k]!;
      lane.addPathFamilies = peer.addPathFamilies;
      this.announce(lane, received, nextHop, nextHopLinkLocal, list, touched);
      const laneIds = ids[k]!;
      for (let i = 0; i < list.length; i++) {
        const prefix = list[i]!;
        if (lane.adjIn.has(prefix)) lane.pathIds.set(prefix, laneIds[i]!);
      }
    }
  }

  /** `prefix` as policy matches it (PrefixWords), from its number: no text made. */
  private policyKey(prefix: number): PrefixWords {
    const k = this.prefixWords;
    const t = this.prefixes;
    k.v6 = t.isV6(prefix);
    k.len = t.lengthOf(prefix);
    for (let i = 0; i < 4; i++) k.w[i] = t.wordOf(prefix, i);
    return k;
  }

  /** The built-in import check of one prefix (importPrefixWords), from its number: no text made. */
  private importPrefix(peer: PeerState, prefix: number): ImportRejectReason | null {
    const t = this.prefixes;
    return importPrefixWords(peer.importCtx, t.isV6(prefix), t.lengthOf(prefix), t.wordOf(prefix, 0), t.wordOf(prefix, 1), t.wordOf(prefix, 2), t.wordOf(prefix, 3));
  }

  /**
   * A sub-slot of `peer` (RFC 7911): its own candidate number and Adj-RIB-In,
   * the peer's PeerInfo and policies. `from`: a kept sub-slot whose paths
   * (stale, RFC 4724 §4.2) and number it takes over.
   */
  private openLane(peer: PeerState, from: PeerState | null): PeerState {
    const slot = from !== null ? from.slot : (this.freeSlots.pop() ?? this.slots.length);
    const lane: PeerState = {
      ...peer,
      slot,
      adjIn: from?.adjIn ?? new PrefixMap(),
      ineligible: from?.ineligible ?? new Map(),
      preIn: peer.preIn !== null ? (from?.preIn ?? new PrefixMap()) : null,
      stale: from?.stale ?? null,
      acceptedV6: from?.acceptedV6 ?? 0,
      pathIds: from?.pathIds ?? new PathIdColumn(),
      addPathFamilies: peer.addPathFamilies,
      lanes: [],
      refusedPaths: 0,
    };
    this.slots[slot] = lane;
    peer.lanes.push(lane);
    return lane;
  }

  /** Frees the peer's sub-slots left without paths (their numbers go back to the pool). */
  private closeEmptyLanes(peer: PeerState): void {
    peer.lanes = peer.lanes.filter((l) => {
      if (l.adjIn.size > 0) return true;
      if (l.preIn !== null) l.preIn.forEach((r) => this.pathRecords.release(r));
      this.slots[l.slot] = null;
      this.freeSlots.push(l.slot);
      return false;
    });
  }

  private withdrawText(peer: PeerState, text: string, touched: Touched): void {
    const prefix = this.prefixes.find(text);
    if (prefix !== NO_PREFIX) this.withdrawPath(peer, prefix, touched, text);
  }

  private withdrawPath(peer: PeerState, prefix: number, touched: Touched, text?: string): void {
    const old = peer.adjIn.get(prefix);
    if (old < 0) return;
    peer.stale?.delete(prefix);
    const wasCandidate = !peer.ineligible.has(prefix);
    // Touching holds the number until collect(): the entry's own reference goes below.
    if (wasCandidate) this.touch(prefix, touched, text);
    if (wasCandidate && this.prefixes.isV6(prefix)) peer.acceptedV6--;
    peer.adjIn.delete(prefix);
    peer.ineligible.delete(prefix);
    const pre = peer.preIn === null ? -1 : peer.preIn.delete(prefix);
    if (pre >= 0) this.pathRecords.release(pre);
    if (wasCandidate) this.loc.dropCandidate(prefix, peer.slot);
    this.pathRecords.release(old);
    this.prefixes.release(prefix);
  }

  private setLocalSources(text: string, bits: number, attrsChanged = false): LocRibChange[] {
    if (bits === (this.localSources.get(text) ?? 0) && !attrsChanged) return [];
    if (bits === 0) this.localSources.delete(text);
    else this.localSources.set(text, bits);
    const old = this.localRoutes.get(text);
    const source = bits & CONNECTED ? 'connected' : 'static';
    if (old !== undefined && bits !== 0 && old.source === source && !attrsChanged) return [];
    const touched = this.touchMarks.touched();
    // Our route holds a reference on the number while it exists; this one is for the operation.
    const prefix = this.prefixes.intern(text);
    // The best before the change is made while our old route is still there.
    this.touch(prefix, touched);
    let next: Route | undefined;
    if (bits !== 0) {
      const attrs = (bits & STATIC ? this.staticAttrs.get(text) : undefined) ?? this.localAttrs;
      next = { prefix: text, peer: null, source, attrs: this.attributes.intern(attrs), nextHop: null, nextHopLinkLocal: null };
      this.localRoutes.set(text, next);
      if (old === undefined) this.prefixes.retain(prefix);
    } else {
      this.localRoutes.delete(text);
    }
    if (old !== undefined && next !== undefined) this.loc.candidateChanged(prefix);
    else if (old !== undefined) this.loc.dropCandidate(prefix, LOCAL_SLOT);
    else if (next !== undefined) this.loc.addCandidate(prefix, LOCAL_SLOT);
    if (old !== undefined && next === undefined) this.prefixes.release(prefix);
    const changes = this.collect(touched);
    this.prefixes.release(prefix);
    if (old !== undefined) this.attributes.release(old.attrs);
    return changes;
  }

  /** Notes the prefix's best before this operation changes it (once per operation); holds its number until collect(). */
  private touch(prefix: number, touched: Touched, text?: string): void {
    if (touched.has(prefix)) return;
    this.prefixes.retain(prefix);
    if (!this.loc.has(prefix)) touched.add(prefix, -1, -1, null);
    else {
      const slot = this.loc.bestSlot(prefix);
      if (slot === LOCAL_SLOT) touched.add(prefix, slot, -1, this.localRoutes.get(text ?? this.prefixes.text(prefix))!);
      else {
        const peer = this.slots[slot]!;
        const record = peer.adjIn.get(prefix);
        this.pathRecords.retain(record);
        touched.add(prefix, slot, record, peer.info.id);
      }
    }
    if (this.backups) this.touchMarks.backupBefore.set(prefix, this.loc.backupSlotOf(prefix));
    if (this.loc.multipath !== null) {
      const used = this.loc.multipathSlots(prefix);
      if (used.length > 1) (touched.multipathBefore ??= new Map()).set(prefix, used.sort(numeric));
    }
  }

  /**
   * The paths that forward for `prefix` with multipath: the best first, then
   * the paths used with it; [] without a path. Without multipath: the best alone.
   */
  multipath(prefix: string): Route[] {
    const id = this.prefixes.find(prefix);
    if (!this.loc.has(id)) return [];
    const text = this.prefixes.text(id);
    return this.loc.multipathSlots(id).map((slot) => this.stored.routeOf(id, slot, text));
  }

  /** Whether multipath is on (the Loc-RIB changes carry `multipath`). */
  get multipathOptions(): MultipathOptions | null {
    return this.loc.multipath;
  }

  /**
   * Multipath switched on, off or changed (reload): every prefix with two or
   * more candidates is decided again; the changes of the paths that forward.
   */
  setMultipath(opts: MultipathOptions | null): LocRibChange[] {
    const old = this.loc.multipath;
    if (old === opts || (old !== null && opts !== null && old.maxPaths === opts.maxPaths && old.relaxAsPath === opts.relaxAsPath)) return [];
    const touched = this.touchMarks.touched();
    this.loc.setMultipath(opts, (prefix) => this.touch(prefix, touched));
    return this.collect(touched);
  }

  /** The second-best path of `prefix` (RFC 4271 §9.1.2.2 over the candidates without the best), or null. */
  backup(prefix: string): Route | null {
    const id = this.prefixes.find(prefix);
    const slot = this.loc.backupSlotOf(id);
    return slot < 0 ? null : this.stored.routeOf(id, slot);
  }

  /** `text`: the prefix's text when the caller has it (texts are made on demand: one fewer per route). */
  private bestRoute(prefix: number, text?: string): Route | null {
    return this.loc.has(prefix) ? this.stored.routeOf(prefix, this.loc.bestSlot(prefix), text) : null;
  }

  /** The changes of an operation; gives up the numbers its touches held. */
  private collect(touched: Touched): LocRibChange[] {
    const changes: LocRibChange[] = [];
    const { prefixes, slots, records, who } = touched;
    for (let i = 0; i < touched.size; i++) {
      const prefix = prefixes[i]!;
      const record = records[i]!;
      // Most touches change nothing (a full table from a second peer): no Route is made for those.
      const same = this.bestIs(prefix, slots[i]!, record, who[i]!);
      const backupSlot = this.backups ? this.loc.backupSlotOf(prefix) : -1;
      const used = this.loc.multipath === null ? null : this.loc.multipathSlots(prefix);
      const usedBefore = touched.multipathBefore?.get(prefix);
      // Multipath switched off (setMultipath): a prefix that had a set has the best alone now.
      const usedChanged = used === null ? usedBefore !== undefined : multipathChanged(usedBefore, used);
      if (!same || usedChanged || (this.backups && backupSlot !== this.touchMarks.backupBefore.get(prefix)) || this.addPathSenders > 0) {
        // The best kept (the backup or the multipath set moved): one Route is both (exportToPeers skips such a change).
        const previous = same ? null : this.previousRoute(prefix, slots[i]!, record, who[i]!);
        const best = this.bestRoute(prefix, previous?.prefix);
        // The text comes from a route when there is one (texts are made on demand: one per change).
        const text = (best ?? previous)?.prefix ?? this.prefixes.text(prefix);
        // With backups the literal has `backup` from the start: added afterwards it went into a property array of its own (issue 10).
        const change: { -readonly [K in keyof LocRibChange]: LocRibChange[K] } = this.backups
          ? { prefix: text, best, previous: same ? best : previous, id: prefix, backup: backupSlot < 0 ? null : this.backupRoute(prefix, backupSlot, text, previous, slots[i]!, record) }
          : { prefix: text, best, previous: same ? best : previous, id: prefix };
        if (used !== null) change.multipath = used.length < 2 ? null : used.map((slot, k) => (k === 0 && best !== null ? best : this.stored.routeOf(prefix, slot, text)));
        else if (usedBefore !== undefined) change.multipath = null;
        changes.push(change);
      }
      if (record >= 0) this.pathRecords.release(record);
      this.prefixes.release(prefix);
    }
    this.touchMarks.done(touched);
    return changes;
  }

  /** Whether the prefix's best path is the one a touch noted (slot, record, who), as sameRoute would say of the Routes. */
  private bestIs(prefix: number, slot: number, record: number, who: string | Route | null): boolean {
    if (!this.loc.has(prefix)) return slot === -1;
    if (slot === -1) return false;
    const best = this.loc.bestSlot(prefix);
    if (best === LOCAL_SLOT) return slot === LOCAL_SLOT && sameRoute(this.localRoutes.get((who as Route).prefix) ?? null, who as Route);
    if (slot === LOCAL_SLOT) return false;
    const peer = this.slots[best]!;
    const now = peer.adjIn.get(prefix);
    if (peer.info.id !== who) return false;
    if (now === record) return true;
    // Two records of the same path are one (interned), unless a peer's paths were read anew.
    const a = this.pathRecords.get(now);
    const b = this.pathRecords.get(record);
    return a.attrs === b.attrs && a.nextHop === b.nextHop && a.nextHopLinkLocal === b.nextHopLinkLocal;
  }

  /** The best path a touch noted, as a Route (made now; the record is still held). */
  private previousRoute(prefix: number, slot: number, record: number, who: string | Route | null): Route | null {
    if (slot === -1) return null;
    if (slot === LOCAL_SLOT) return who as Route;
    const r = this.pathRecords.get(record);
    return { prefix: this.prefixes.text(prefix), peer: who as string, source: 'bgp', attrs: r.attrs, nextHop: r.nextHop, nextHopLinkLocal: r.nextHopLinkLocal };
  }

  /**
   * The backup's Route for a change. A new best usually leaves the best
   * before as the runner-up (RFC 4271 §9.1.2.2 over the rest): when the
   * backup is that same path (the touch's slot and record, no Path
   * Identifier) the change's `previous` is it, no second Route is made
   * (issue 10: ~190 000 of the ten-peer start's Routes).
   */
  private backupRoute(prefix: number, slot: number, text: string, previous: Route | null, slotBefore: number, record: number): Route {
    if (previous !== null && slot === slotBefore && slot !== LOCAL_SLOT) {
      const peer = this.slots[slot]!;
      if (peer.info.id === previous.peer && peer.adjIn.get(prefix) === record && (peer.addPathFamilies & (this.prefixes.isV6(prefix) ? 2 : 1)) === 0) return previous;
    }
    return this.stored.routeOf(prefix, slot, text);
  }

  /**
   * Whether a change's best (a peer's path) is still the prefix's best, so
   * the export can take it instead of making the Route again (one object per
   * change fewer; the current Loc-RIB is what is exported either way).
   */
  private changeBestIsCurrent(prefix: number, best: Route | null): boolean {
    if (best === null || best.source !== 'bgp' || prefix === NO_PREFIX || !this.loc.has(prefix)) return false;
    const slot = this.loc.bestSlot(prefix);
    if (slot === LOCAL_SLOT) return false;
    const peer = this.slots[slot]!;
    if (peer.info.id !== best.peer) return false;
    const r = this.pathRecords.get(peer.adjIn.get(prefix));
    if (r.attrs !== best.attrs || r.nextHop !== best.nextHop || r.nextHopLinkLocal !== best.nextHopLinkLocal) return false;
    const addPath = peer.addPathFamilies !== 0 && (peer.addPathFamilies & (this.prefixes.isV6(prefix) ? 2 : 1)) !== 0;
    return addPath ? peer.pathIds.get(prefix) === best.pathId : best.pathId === undefined;
  }

}

const NO_POLICIES: PeerPolicies = { import: null, export: null, softReconfiguration: false };

const numeric = (a: number, b: number): number => a - b;

/** Whether the forwarding peers now (`used`, best first) differ from the sorted ones before (absent: one or none). */
function multipathChanged(before: readonly number[] | undefined, used: readonly number[]): boolean {
  if (before === undefined) return used.length > 1;
  if (before.length !== used.length) return true;
  const now = [...used].sort(numeric);
  for (let i = 0; i < now.length; i++) if (now[i] !== before[i]) return true;
  return false;
}

function reasonOf(e: IneligibleEntry | undefined): IneligibleReason | null {
  if (e === undefined) return null;
  return typeof e === 'object' ? 'policy' : e;
}

function isUnicast(afi: number, safi: number): boolean {
  return (afi === AFI_IPV4 || afi === AFI_IPV6) && safi === 1;
}

function requirePrefix(prefix: string): string {
  const key = canonicalPrefix(prefix);
  if (key === null) throw new RangeError(`not a prefix: ${prefix}`);
  return key;
}

/** Our global addresses on a session (link-local ones are scoped to the tunnel, see ImportContext). */
function localAddresses(p: PeerInfo): string[] {
  const out: string[] = [];
  for (const a of [p.localAddressV4, p.localAddressV6]) {
    const c = a === null ? null : canonicalAddress(a);
    if (c !== null) out.push(c);
  }
  return out;
}

/**
 * The next hop lives on the Route, not in the shared set, so paths from
 * different peers can share it. LOCAL_PREF from an external peer is ignored
 * (RFC 4271 §5.1.5), so it is dropped before interning.
 */
function normalizeReceived(attrs: PathAttributes, ebgp: boolean): PathAttributes {
  if (attrs.nextHop === undefined && !(ebgp && attrs.localPref !== undefined)) return attrs;
  // Only interned (which reads an undefined field as absent and copies none into the set):
  // fields set to undefined, not deleted, as a delete made the copy a dictionary (issue 10).
  return ebgp ? { ...attrs, nextHop: undefined, localPref: undefined } : { ...attrs, nextHop: undefined };
}
