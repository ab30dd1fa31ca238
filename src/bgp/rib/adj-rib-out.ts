/**
 * One peer's Adj-RIB-Out (RFC 4271 §3.2): what it was last sent, how its
 * UPDATEs are encoded, its export policy with the caches in front of it, and
 * the prefixes it is owed while it reads slower than changes come.
 *
 * Shape, as the Adj-RIB-In's: no object per prefix. An entry is prefix
 * number -> number of the interned export attribute set (a PrefixMap: an
 * array once large), holding a reference on both; a peer sent several paths
 * per prefix (RFC 7911) keeps the ones past the first in AdjRibOutPaths.
 * Deciding what to send from the Loc-RIB is export.ts's; this state knows
 * only what was sent, so a ROUTE-REFRESH is answered from it alone.
 */
import { AFI_IPV4, AFI_IPV6 } from '#bgp/wire/types';
import type { PathAttributes, UpdateMessage } from '#bgp/wire/types';
import { NO_PREFIX, PrefixMap } from '#lib/prefix-table';
import type { PrefixTable } from '#lib/prefix-table';
import { exportEncoding } from '#bgp/policy/index';
import type { ExportEncoding } from '#bgp/policy/index';
import type { CompiledChain, PolicyOutcome, PreparedPolicy } from '#bgp/policy/engine';
import type { AttributeTable } from './intern.js';
import { AdjRibOutPaths } from './add-path-out.js';
import type { OwedPrefixes } from './owed-prefixes.js';
import { UpdatePacker } from './update-packer.js';
import type { PeerInfo } from './types.js';

/**
 * A peer's Adj-RIB-Out of one family sent again in steps (Rib.resendSteps),
 * for a ROUTE-REFRESH (RFC 2918 §4, RFC 7313 §4).
 */
export interface AdjRibOutResend {
  /** The UPDATEs for up to `max` more of the prefixes; [] once done. */
  next(max: number): UpdateMessage[];
  readonly done: boolean;
  /** Prefixes announced so far. */
  readonly sent: number;
}

export class AdjRibOut {
  /**
   * What the peer was last sent, as prefix number -> number of the interned
   * export attribute set. Each entry holds a reference on both.
   */
  readonly adjOut = new PrefixMap();
  /** RFC 7911 send: the Adj-RIB-Out's paths past the first, for a peer sent several per prefix; null: one per prefix. */
  readonly adjOutPaths: AdjRibOutPaths | null;
  readonly encV4: ExportEncoding | null;
  readonly encV6: ExportEncoding | null;
  exportPolicy: CompiledChain | null = null;
  /** Export policy, attribute half, per Loc-RIB attribute set; outcome -> export attribute set (no references). */
  exportPrepared = new WeakMap<PathAttributes, PreparedPolicy>();
  exportByOutcomeClassic = new WeakMap<PolicyOutcome, PathAttributes>();
  exportByOutcomeMp = new WeakMap<PolicyOutcome, PathAttributes>();
  /** Loc-RIB attribute set -> export attribute set for this peer; holds no references. */
  readonly exportCacheClassic = new WeakMap<PathAttributes, PathAttributes>();
  /**
   * The same for MP_REACH_NLRI, whose next hop is not in the set: shared by
   * every peer whose sets come out the same (RibExport.mpCacheFor), else its own.
   */
  readonly exportCacheMp: WeakMap<PathAttributes, PathAttributes>;
  /**
   * Behind (Rib.setBehind, or an export step used up): the prefixes whose
   * export it is owed, each holding a reference on its number; catchUp()
   * sends them from the Loc-RIB as it is then. Null while it keeps up.
   */
  owed: OwedPrefixes | null = null;

  constructor(
    readonly info: PeerInfo,
    policy: CompiledChain | null,
    private readonly prefixes: PrefixTable,
    private readonly attributes: AttributeTable,
    /** A cache of the MP export sets shared with peers that get the same ones (no export policy then; setPolicy keeps it). */
    sharedMpCache: WeakMap<PathAttributes, PathAttributes> | null = null,
  ) {
    this.exportCacheMp = sharedMpCache ?? new WeakMap();
    const send = info.addPathSend;
    this.adjOutPaths = (send?.ipv4 ?? 0) > 0 || (send?.ipv6 ?? 0) > 0 ? new AdjRibOutPaths(send!.ipv4, send!.ipv6) : null;
    this.encV4 = exportEncoding(info, AFI_IPV4);
    this.encV6 = exportEncoding(info, AFI_IPV6);
    this.setPolicy(policy);
  }

  /** A new export policy: what the old one decided is forgotten (nothing is sent here). */
  setPolicy(policy: CompiledChain | null): void {
    this.exportPolicy = policy;
    this.exportPrepared = new WeakMap();
    this.exportByOutcomeClassic = new WeakMap();
    this.exportByOutcomeMp = new WeakMap();
  }

  /** Forgets what the peer was sent, and what it was owed (it gets everything again, or nothing). */
  clear(): void {
    this.owed?.drain((prefix) => this.prefixes.release(prefix));
    this.owed = null;
    if (this.adjOutPaths !== null) {
      this.adjOutPaths.forEachExtra((attrs) => this.attributes.release(this.attributes.get(attrs)));
      this.adjOutPaths.clear();
    }
    this.adjOut.forEach((attrs, prefix) => {
      this.attributes.release(this.attributes.get(attrs));
      this.prefixes.release(prefix);
    });
    this.adjOut.clear();
  }

  /** Notes that the peer (behind: `owed` is set) is owed the prefix; the mark holds a reference on its number, so it stays this prefix's. */
  owe(text: string, id: number): void {
    const owed = this.owed!;
    if (id === NO_PREFIX) {
      // A redistributed route nothing names yet: numbered now.
      const made = this.prefixes.intern(text);
      if (!owed.mark(made)) this.prefixes.release(made);
    } else if (owed.mark(id)) this.prefixes.retain(id);
  }

  /**
   * The Adj-RIB-Out of one family sent again as it stands, in steps (RFC
   * 2918 §4: the answer to a ROUTE-REFRESH). The prefixes are taken at the
   * start; each step sends what the Adj-RIB-Out holds for them then, so
   * exports in between (sent at once, as always) are neither undone nor
   * repeated stale, and a prefix withdrawn meanwhile is skipped. The
   * Adj-RIB-Out itself is not changed. `current`: whether this is still the
   * peer's Adj-RIB-Out (its session may have gone meanwhile).
   */
  resendSteps(afi: number, current: () => boolean): AdjRibOutResend {
    const enc = afi === AFI_IPV6 ? this.encV6 : this.encV4;
    const v6 = afi === AFI_IPV6;
    const prefixes = enc === null ? new Int32Array(0) : this.adjOut.ids();
    let at = 0;
    let sent = 0;
    return {
      get done() {
        return at >= prefixes.length;
      },
      get sent() {
        return sent;
      },
      next: (max: number): UpdateMessage[] => {
        if (at >= prefixes.length || !current()) {
          at = prefixes.length;
          return [];
        }
        const packer = new UpdatePacker(this.prefixes);
        const end = Math.min(prefixes.length, at + max);
        for (; at < end; at++) {
          const prefix = prefixes[at]!;
          if (this.prefixes.isV6(prefix) !== v6) continue;
          const attrsId = this.adjOut.get(prefix);
          if (attrsId < 0) continue;
          if (this.adjOutPaths !== null && this.adjOutPaths.max(v6) > 0) {
            // RFC 7911: every path sent, each with its Path Identifier.
            const s = this.adjOutPaths.sent(this.adjOut, prefix);
            for (let i = 0; i < s.ids.length; i++) packer.announce(prefix, enc!, this.attributes.get(s.attrs[i]!), s.ids[i]);
          } else packer.announce(prefix, enc!, this.attributes.get(attrsId));
          sent++;
        }
        return packer.finish();
      },
    };
  }
}
