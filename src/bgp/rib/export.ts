/**
 * The export side of the RIB (RFC 4271 §9.2, §9.1.3): brings each peer's
 * Adj-RIB-Out (adj-rib-out.ts) in line with the Loc-RIB, as UPDATEs. The
 * Loc-RIB's changes go to every peer at once (exportToPeers), a peer that
 * just came up gets the whole table in steps (exportFullSteps), one that
 * reads slowly what it is owed (catchUp); each export runs the built-in
 * filters, the peer's export policy and the size check (exportAttrs) and
 * writes through an UpdatePacker.
 *
 * It reads the Loc-RIB through LocRibView (rib.ts implements it) and never
 * changes it: the current Loc-RIB is what is exported, whatever a change
 * said, so stale or merged batches still converge.
 */
import { AFI_IPV4, AFI_IPV6 } from '#bgp/wire/types';
import type { PathAttributes, UpdateMessage } from '#bgp/wire/types';
import { NO_PREFIX } from '#lib/prefix-table';
import type { PrefixTable } from '#lib/prefix-table';
import { afiOf, exportAttributes, exportFilter, localRoleOf } from '#bgp/policy/index';
import type { ExportContext, ExportEncoding } from '#bgp/policy/index';
import type { CompiledChain } from '#bgp/policy/engine';
import type { PrefixWords } from '#bgp/policy/prefix-set';
import { exportAttributesWithPolicy } from '#bgp/policy/export';
import type { AttributeTable } from './intern.js';
import type { AdjRibOutPaths } from './add-path-out.js';
import { AdjRibOut } from './adj-rib-out.js';
import type { AdjRibOutResend } from './adj-rib-out.js';
import { OwedPrefixes } from './owed-prefixes.js';
import { rank } from './decision.js';
import { LOCAL_SLOT } from './loc-rib.js';
import type { DecisionContext } from './decision.js';
import { UpdatePacker, announcementOverhead, endOfRib } from './update-packer.js';
import { MAX_MESSAGE_SIZE, attributesSize, prefixSize } from './update-size.js';
import type { LocRibChange, PeerInfo, Route } from './types.js';

/**
 * The prefix text of a peer's best path made only to be exported by number
 * (exportableOf): the export reads the prefix from its number (policy, size,
 * NLRI), never from the Route, which leaves it with nothing else.
 */
const EXPORTING = '';

/**
 * What the export reads of the Loc-RIB, by prefix number: the Rib's columns
 * stay where they are, asked through these few calls (none allocates but
 * the Routes asked for).
 */
export interface LocRibView {
  /** Routes of another protocol offered to BGP, by prefix text: sent only where the Loc-RIB has no path. */
  readonly redistributed: ReadonlyMap<string, Route>;
  /** Loc-RIB prefixes. */
  count(): number;
  /** Calls `fn` per Loc-RIB prefix, in ascending numbers (`entry`: the Loc-RIB's own, not to be read). */
  forEachPrefix(fn: (entry: number, prefix: number) => void): void;
  /** Whether the prefix (a number, or NO_PREFIX) has a path in the Loc-RIB. */
  has(prefix: number): boolean;
  /** The best candidate's number (LOCAL_SLOT: our own route) of a prefix the Loc-RIB has. */
  bestSlot(prefix: number): number;
  /** Candidate `slot`'s route for `prefix`, made now; `text`: the prefix's (made when not given), or EXPORTING. */
  routeOf(prefix: number, slot: number, text?: string): Route;
  /** The best route, made now; null without a path. */
  bestRoute(prefix: number, text?: string): Route | null;
  /** The candidates' numbers, the best first (a set's others in its own order); [] without a path. */
  rankedSlots(prefix: number): number[];
  /** Whether a change's best (a peer's path) is still the prefix's best, so it may be exported as it is. */
  bestIsCurrent(prefix: number, best: Route | null): boolean;
  /** The prefix as policy matches it (a scratch, valid until the next call). */
  policyKey(prefix: number): PrefixWords;
}

/** A peer's whole table in steps (Rib.exportFullSteps). */
export interface TableSteps {
  /** The UPDATEs for up to `max` more prefixes; [] once done. */
  next(max: number): UpdateMessage[];
  readonly done: boolean;
  /** Prefixes looked at so far. */
  readonly sent: number;
}

/** Whether two routes are the same path (routes are made on demand: identity says nothing). */
export function sameRoute(a: Route | null, b: Route | null): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  return a.peer === b.peer && a.source === b.source && a.attrs === b.attrs && a.nextHop === b.nextHop && a.nextHopLinkLocal === b.nextHopLinkLocal;
}

/** Every peer's Adj-RIB-Out and the export into them; Rib's export methods are these. */
export class RibExport {
  /** Adj-RIBs-Out by peer id: a peer's is made with it (addPeer) and goes with it (removePeer). */
  private readonly outs = new Map<string, AdjRibOut>();
  private readonly peerInfos = new Map<string, PeerInfo>();
  private readonly exportCtx: ExportContext;
  private readonly exportSizes = new WeakMap<PathAttributes, number>();
  /**
   * Export sets for MP_REACH_NLRI (IPv6; IPv4 with an RFC 8950 next hop) of
   * the peers without an RFC 9234 role, one cache for the external ones and
   * one for the internal ones: exportAttributes gives them all the same set
   * (the next hop is not in it), which each peer built and interned again
   * (ten-peer start: nine times per IPv6 set, issue 10). Used only while a
   * peer has no export policy (exportAttrs).
   */
  private readonly mpCaches = [new WeakMap<PathAttributes, PathAttributes>(), new WeakMap<PathAttributes, PathAttributes>()] as const;

  constructor(
    private readonly prefixes: PrefixTable,
    /** Interned attribute sets of Adj-RIB-Out entries (shared by all peers; Rib.exportAttributes). */
    private readonly attributes: AttributeTable,
    private readonly decisionCtx: DecisionContext,
    private readonly loc: LocRibView,
  ) {
    this.exportCtx = { localAsn: decisionCtx.localAsn, peers: this.peerInfos };
  }

  /** A peer in the RIB (Established): an empty Adj-RIB-Out, its export policy. */
  addPeer(p: PeerInfo, policy: CompiledChain | null): AdjRibOut {
    const out = new AdjRibOut(p, policy, this.prefixes, this.attributes, this.mpCacheFor(p));
    this.outs.set(p.id, out);
    this.peerInfos.set(p.id, p);
    return out;
  }

  /** The shared MP export cache for a peer whose sets exportAttributes makes from the Loc-RIB's alone (RFC 9234 role: null, its own). */
  private mpCacheFor(p: PeerInfo): WeakMap<PathAttributes, PathAttributes> | null {
    if (localRoleOf(p, this.exportCtx.localAsn) !== undefined) return null;
    return this.mpCaches[p.asn === this.exportCtx.localAsn ? 1 : 0];
  }

  /** The peer is out of the RIB: its Adj-RIB-Out is forgotten; the one it had, if any. */
  removePeer(id: string): AdjRibOut | undefined {
    const out = this.outs.get(id);
    if (out === undefined) return undefined;
    out.clear();
    this.outs.delete(id);
    this.peerInfos.delete(id);
    return out;
  }

  /** Forgets what the peer was sent and owed (RFC 4724 §4.2: it gets the whole table when it is back). */
  clear(id: string): void {
    this.outs.get(id)?.clear();
  }

  /**
   * The peer's Adj-RIB-Out of one family sent again as it stands, in steps
   * (RFC 2918 §4: the answer to a ROUTE-REFRESH; AdjRibOut.resendSteps).
   * Null when the peer is not in the RIB.
   */
  resendSteps(id: string, afi: number): AdjRibOutResend | null {
    const peer = this.outs.get(id);
    if (!peer) return null;
    return peer.resendSteps(afi, () => this.outs.get(id) === peer);
  }

  /** Adj-RIB-Out size. */
  advertisedCount(peerId: string): number {
    return this.outs.get(peerId)?.adjOut.size ?? 0;
  }

  /**
   * The UPDATEs that bring `peerId` in line with the Loc-RIB for the prefixes
   * named by `changes`. The current Loc-RIB is exported (not the change's
   * `best`), so stale or merged batches still converge; a prefix whose export
   * did not change produces nothing.
   */
  exportChanges(peerId: string, changes: readonly LocRibChange[]): UpdateMessage[] {
    return this.exportToPeers([peerId], changes)[0]!;
  }

  /**
   * exportChanges for several peers at once, per peer in the order given
   * (an unknown peer gets none): each prefix's current best is made once,
   * not once per peer (ten full-table peers: nine Route objects fewer per change).
   *
   * A peer that is behind (setBehind) is sent nothing: the prefixes are
   * remembered for catchUp(). After `step` prefixes exported to a peer in
   * this call, it is behind for the rest (a batch of a million changes is
   * not made into UPDATEs for a socket at once).
   *
   * A change that kept the best path (previous and best the same path: only
   * the backup or the multipath set moved) is not looked at for a peer sent
   * the best path alone: the changes are given to every peer in the order
   * made (or owed to it, or its whole table follows), so the change that
   * made that path the best already brought the peer in line. With ten
   * full-table peers and backups, 46 % of the changes are such (issue 10).
   */
  exportToPeers(peerIds: readonly string[], changes: readonly LocRibChange[], step = Number.POSITIVE_INFINITY): UpdateMessage[][] {
    const peers: AdjRibOut[] = [];
    const slots: number[] = [];
    let allBestOnly = true;
    peerIds.forEach((id, k) => {
      const p = this.outs.get(id);
      if (p !== undefined) {
        peers.push(p);
        slots.push(k);
        if (p.adjOutPaths !== null) allBestOnly = false;
      }
    });
    const packers = peers.map(() => new UpdatePacker(this.prefixes));
    const exported = peers.map(() => 0);
    if (peers.length > 0) {
      // exportPrefix is idempotent (a prefix seen twice finds its Adj-RIB-Out
      // entry current), so repeated prefixes need no set of their own.
      for (let i = 0; i < changes.length; i++) {
        const c = changes[i]!;
        const bestKept = c.best !== null && (c.previous === c.best || sameRoute(c.previous, c.best));
        if (bestKept && allBestOnly) continue;
        const id = this.prefixes.findHinted(c.prefix, c.id);
        const best = this.loc.bestIsCurrent(id, c.best) ? c.best! : this.exportable(id, c.prefix);
        for (let k = 0; k < peers.length; k++) {
          const peer = peers[k]!;
          // RFC 7911 §3: a peer sent several paths may be sent another one though the best stayed.
          if (bestKept && peer.adjOutPaths === null) continue;
          // What the peer was never sent and may not be sent needs no export work: with
          // one peer feeding a full table, that is every change (split horizon).
          // A peer sent several paths (RFC 7911) may be sent the second though the best is its own.
          if (peer.adjOutPaths === null && (id === NO_PREFIX || !peer.adjOut.has(id)) && (best === undefined || exportFilter(this.exportCtx, best, peer.info) !== null)) continue;
          if (peer.owed !== null) {
            peer.owe(c.prefix, id);
            continue;
          }
          this.exportPrefix(peer, c.prefix, id, packers[k]!, best);
          if (++exported[k]! >= step) peer.owed = new OwedPrefixes();
        }
      }
    }
    const out: UpdateMessage[][] = peerIds.map(() => []);
    for (let k = 0; k < peers.length; k++) out[slots[k]!] = packers[k]!.finish();
    return out;
  }

  /**
   * RFC 4271 §9.2 (an implementation may combine or suppress updates; the
   * spirit of MinRouteAdvertisementIntervalTimer): the peer reads slower
   * than its changes come, so from now on they are not made into UPDATEs
   * for it; which prefixes changed is remembered, and catchUp() sends them
   * as the Loc-RIB has them then, each once.
   */
  setBehind(peerId: string): void {
    const peer = this.outs.get(peerId);
    if (peer !== undefined && peer.owed === null) peer.owed = new OwedPrefixes();
  }

  /** Whether the peer is behind (see setBehind): changes for it are remembered, not exported. */
  isBehind(peerId: string): boolean {
    return (this.outs.get(peerId)?.owed ?? null) !== null;
  }

  /** Prefixes the peer is owed an UPDATE for while behind. */
  owedCount(peerId: string): number {
    return this.outs.get(peerId)?.owed?.size ?? 0;
  }

  /**
   * The UPDATEs for up to `max` of the prefixes a peer behind is owed, from
   * the Loc-RIB as it is now (a prefix gone is withdrawn, one that came and
   * went in between needs nothing). Once none is owed, the peer keeps up
   * again: exportToPeers sends to it directly.
   */
  catchUp(peerId: string, max: number): UpdateMessage[] {
    const peer = this.outs.get(peerId);
    const owed = peer?.owed ?? null;
    if (peer === undefined || owed === null) return [];
    const packer = new UpdatePacker(this.prefixes);
    owed.take(max, (id) => {
      this.exportPrefix(peer, null, id, packer, this.exportableOf(id));
      this.prefixes.release(id);
    });
    if (owed.size === 0) peer.owed = null;
    return packer.finish();
  }

  /**
   * After the peer's export policy changed (bgp.advertise-ospf, bgp.export on
   * reload; no session reset, RFC 4271 §9.2): every prefix it was sent, and
   * every one it may be sent now, is owed, the peer behind; catchUp() sends
   * what differs, in steps (a full table's differences are never one batch
   * of UPDATEs). Returns the prefixes owed.
   */
  reexportLater(peerId: string): number {
    const peer = this.outs.get(peerId);
    if (!peer) return 0;
    const owed = (peer.owed ??= new OwedPrefixes());
    peer.adjOut.forEach((_a, id) => peer.owe('', id));
    this.loc.forEachPrefix((_e, id) => peer.owe('', id));
    for (const prefix of this.loc.redistributed.keys()) peer.owe(prefix, this.prefixes.find(prefix));
    return owed.size;
  }

  /** A new export policy for the peer (reload); reexportLater() then sends the differences. */
  setExportPolicy(peerId: string, policy: CompiledChain | null): void {
    const peer = this.outs.get(peerId);
    if (!peer) return;
    peer.setPolicy(policy);
  }

  /**
   * For a dry run of an export policy (policy/preview.ts): every prefix the
   * peer was sent or might be, once, with the route the built-in rules let
   * it be sent (undefined: none) and whether it has been sent.
   */
  forEachExportInput(peerId: string, fn: (prefix: string, route: Route | undefined, advertised: boolean) => void): void {
    const peer = this.outs.get(peerId);
    if (!peer) return;
    const seen = new Set<number>();
    const one = (id: number, text: string): void => {
      if (id !== NO_PREFIX) {
        if (seen.has(id)) return;
        seen.add(id);
      }
      let best = this.exportable(id, text);
      const enc = afiOf(text) === AFI_IPV4 ? peer.encV4 : peer.encV6;
      if (best !== undefined && (enc === null || exportFilter(this.exportCtx, best, peer.info) !== null)) best = undefined;
      fn(text, best, id !== NO_PREFIX && peer.adjOut.has(id));
    };
    for (const id of peer.adjOut.ids()) one(id, this.prefixes.text(id));
    this.loc.forEachPrefix((_e, id) => one(id, this.prefixes.text(id)));
    for (const prefix of this.loc.redistributed.keys()) one(this.prefixes.find(prefix), prefix);
  }

  /**
   * exportFull in steps, for a peer that just came up: its Adj-RIB-Out is
   * cleared now and the Loc-RIB's prefixes are taken now; each step exports
   * the next of them as they are then. Changes exported in between (as
   * always, at once) are not repeated: a step finds their Adj-RIB-Out entry
   * current. A prefix gone meanwhile is skipped. The caller sends
   * endOfRibs() after the last step (RFC 4724 §2). Null for an unknown peer.
   */
  exportFullSteps(peerId: string): TableSteps | null {
    const peer = this.outs.get(peerId);
    if (!peer) return null;
    peer.clear();
    const ids = new Int32Array(this.loc.count());
    let n = 0;
    this.loc.forEachPrefix((_e, id) => {
      ids[n++] = id;
    });
    const redistributed = peer.info.advertiseOspf ? [...this.loc.redistributed.keys()] : [];
    let at = 0;
    let r = 0;
    let sent = 0;
    const current = (): boolean => this.outs.get(peerId) === peer;
    return {
      get done() {
        return at >= n && r >= redistributed.length;
      },
      get sent() {
        return sent;
      },
      next: (max: number): UpdateMessage[] => {
        if (!current()) {
          at = n;
          r = redistributed.length;
          return [];
        }
        const packer = new UpdatePacker(this.prefixes);
        const end = Math.min(n, at + max);
        for (; at < end; at++) {
          const id = ids[at]!;
          if (!this.loc.has(id)) continue;
          this.exportPrefix(peer, null, id, packer, this.exportableOf(id));
          sent++;
        }
        if (at >= n) {
          const rEnd = Math.min(redistributed.length, r + max);
          for (; r < rEnd; r++) {
            const prefix = redistributed[r]!;
            const id = this.prefixes.find(prefix);
            if (this.loc.has(id)) continue;
            this.exportPrefix(peer, prefix, id, packer, this.exportable(id, prefix));
            sent++;
          }
        }
        return packer.finish();
      },
    };
  }

  /** End-of-RIB for each family the peer negotiated (RFC 4724 §2). */
  endOfRibs(peerId: string): UpdateMessage[] {
    return (this.outs.get(peerId)?.info.families ?? []).map((f) => endOfRib(f.afi, f.safi));
  }

  /** The whole table for a peer that just came up, then End-of-RIB per negotiated family (RFC 4724 §2). */
  exportFull(peerId: string): UpdateMessage[] {
    // exportFullSteps in one step: the same export, no copy of it.
    const steps = this.exportFullSteps(peerId);
    if (steps === null) return [];
    const out = steps.next(Number.POSITIVE_INFINITY);
    out.push(...this.endOfRibs(peerId));
    return out;
  }

  /**
   * exportable() of a prefix number in use, without its text where none is
   * needed: a peer's best path is made as a Route with no prefix text
   * (EXPORTING); our own routes and redistributed ones are found by text.
   */
  private exportableOf(prefix: number): Route | undefined {
    if (this.loc.has(prefix)) {
      const slot = this.loc.bestSlot(prefix);
      if (slot !== LOCAL_SLOT) return this.loc.routeOf(prefix, slot, EXPORTING);
    }
    return this.exportable(prefix, this.prefixes.text(prefix));
  }

  /** What a peer may be sent for the prefix: the Loc-RIB's own path first, a redistributed route only where it has none. */
  private exportable(prefix: number, text: string): Route | undefined {
    return this.loc.bestRoute(prefix, text) ?? this.loc.redistributed.get(text);
  }

  /**
   * Brings the peer's Adj-RIB-Out entry for the prefix in line with `best`
   * (exportable(), made once by the caller for all its peers). `prefix` is
   * NO_PREFIX for a redistributed route nothing else names yet. `text`:
   * the prefix's, or null for a number in use whose text is made only where
   * needed (RFC 7911 several paths).
   */
  private exportPrefix(peer: AdjRibOut, text: string | null, prefix: number, packer: UpdatePacker, best: Route | undefined): void {
    const afi = prefix === NO_PREFIX ? afiOf(text!) : this.prefixes.isV6(prefix) ? AFI_IPV6 : AFI_IPV4;
    const enc = afi === AFI_IPV4 ? peer.encV4 : peer.encV6;
    if (peer.adjOutPaths !== null && peer.adjOutPaths.max(afi === AFI_IPV6) > 0) {
      this.exportPaths(peer, peer.adjOutPaths, text ?? this.prefixes.text(prefix), prefix, packer, enc);
      return;
    }
    const prevId = prefix === NO_PREFIX ? -1 : peer.adjOut.get(prefix);
    const prev = prevId < 0 ? undefined : this.attributes.get(prevId);
    const next = best !== undefined && enc !== null ? this.exportAttrs(peer, best, enc, prefix) : null;
    if (next === null) {
      if (prev === undefined) return;
      peer.adjOut.delete(prefix);
      this.attributes.release(prev);
      packer.withdraw(prefix, enc !== null ? enc.classic : afi === AFI_IPV4);
      this.prefixes.release(prefix);
      return;
    }
    if (next === prev) {
      this.attributes.release(next);
      return;
    }
    if (prev === undefined) {
      // The entry's reference on the number (made now for a redistributed route nothing named).
      if (prefix === NO_PREFIX) prefix = this.prefixes.intern(text!);
      else this.prefixes.retain(prefix);
    }
    peer.adjOut.set(prefix, this.attributes.idOf(next));
    if (prev !== undefined) this.attributes.release(prev);
    packer.announce(prefix, enc!, next);
  }

  /**
   * RFC 7911 §3 send: up to the peer's maximum of the prefix's candidates,
   * best first, each through split horizon and the export policy on its own,
   * with its Path Identifier (slot + 1, add-path-out.ts). A path no longer
   * sent is withdrawn by its identifier; a changed one re-announced under it
   * (an implicit withdraw at the receiver).
   */
  private exportPaths(peer: AdjRibOut, out: AdjRibOutPaths, text: string, prefix: number, packer: UpdatePacker, enc: ExportEncoding | null): void {
    const afi = prefix === NO_PREFIX ? afiOf(text) : this.prefixes.isV6(prefix) ? AFI_IPV6 : AFI_IPV4;
    const max = out.max(afi === AFI_IPV6);
    const before = prefix === NO_PREFIX ? { ids: [], attrs: [] } : out.sent(peer.adjOut, prefix);
    const ids: number[] = [];
    const attrs: PathAttributes[] = [];
    if (enc !== null) {
      let slots = this.loc.rankedSlots(prefix);
      let routes = slots.map((slot) => this.loc.routeOf(prefix, slot, text));
      if (slots.length > 2) {
        // A set keeps its best first, the rest unordered: ranked here, as the neighbor gets the first N that pass.
        const ranked = rank(this.decisionCtx, routes);
        slots = ranked.map((r) => slots[routes.indexOf(r)]!);
        routes = ranked;
      }
      for (let i = 0; i < slots.length && ids.length < max; i++) {
        const a = this.exportAttrs(peer, routes[i]!, enc, prefix);
        if (a === null) continue;
        ids.push(slots[i]! + 1);
        attrs.push(a);
      }
      const redistributed = slots.length === 0 ? this.loc.redistributed.get(text) : undefined;
      if (redistributed !== undefined) {
        const a = this.exportAttrs(peer, redistributed, enc, prefix);
        if (a !== null) {
          ids.push(LOCAL_SLOT + 1);
          attrs.push(a);
        }
      }
    }
    if (before.ids.length === 0 && ids.length === 0) return;
    const classic = enc !== null ? enc.classic : afi === AFI_IPV4;
    // The entries' reference on the number (made now for a redistributed route nothing named; the packer writes from it).
    if (before.ids.length === 0) {
      if (prefix === NO_PREFIX) prefix = this.prefixes.intern(text);
      else this.prefixes.retain(prefix);
    }
    for (const id of before.ids) if (!ids.includes(id)) packer.withdraw(prefix, classic, id);
    for (let i = 0; i < ids.length; i++) {
      const j = before.ids.indexOf(ids[i]!);
      if (j < 0 || this.attributes.get(before.attrs[j]!) !== attrs[i]) packer.announce(prefix, enc!, attrs[i]!, ids[i]);
    }
    // The new entries hold the references exportAttrs took; the old ones give theirs up.
    out.store(peer.adjOut, prefix, { ids, attrs: attrs.map((a) => this.attributes.idOf(a)) });
    for (const a of before.attrs) this.attributes.release(this.attributes.get(a));
    if (ids.length === 0) this.prefixes.release(prefix);
  }

  /**
   * Interned export attributes for `best` towards `peer` (one reference
   * taken), or null when not sent. `prefix`: best's number (NO_PREFIX for a
   * redistributed route nothing names yet), which the export policy's prefix
   * sets and the size check read instead of the text.
   */
  private exportAttrs(peer: AdjRibOut, best: Route, enc: ExportEncoding, prefix: number): PathAttributes | null {
    if (exportFilter(this.exportCtx, best, peer.info) !== null) return null;
    const nh = enc.classic ? enc.nextHops[0]! : null;
    let out: PathAttributes | undefined;
    const policy = peer.exportPolicy;
    if (policy === null) {
      const cache = enc.classic ? peer.exportCacheClassic : peer.exportCacheMp;
      out = cache.get(best.attrs);
      if (out === undefined || !this.attributes.retain(out)) {
        out = this.attributes.internBuilt(exportAttributes(this.exportCtx, best.attrs, peer.info, nh));
        cache.set(best.attrs, out);
      }
    } else {
      // The rewrite is cached per outcome, not per attribute set: a prefix match makes routes of one set differ.
      let prepared = peer.exportPrepared.get(best.attrs);
      if (prepared === undefined) peer.exportPrepared.set(best.attrs, (prepared = policy.prepare(best.attrs, peer.info.id)));
      const o = prefix === NO_PREFIX ? prepared.outcome(best.prefix, best.source, best.nextHop) : prepared.outcomeOf(this.loc.policyKey(prefix), best.source, best.nextHop);
      if (!o.accept) return null;
      const cache = enc.classic ? peer.exportByOutcomeClassic : peer.exportByOutcomeMp;
      out = cache.get(o);
      if (out === undefined || !this.attributes.retain(out)) {
        out = this.attributes.intern(exportAttributesWithPolicy(this.exportCtx, best.attrs, peer.info, nh, o));
        cache.set(o, out);
      }
    }
    let size = this.exportSizes.get(out);
    if (size === undefined) this.exportSizes.set(out, (size = attributesSize(out)));
    // RFC 4271 §9.2: a route whose attributes cannot fit one UPDATE is not advertised.
    const nlriSize = prefix === NO_PREFIX ? prefixSize(best.prefix) : 1 + ((this.prefixes.lengthOf(prefix) + 7) >>> 3);
    if (announcementOverhead(size, enc) + nlriSize > MAX_MESSAGE_SIZE) {
      this.attributes.release(out);
      return null;
    }
    return out;
  }}
