/**
 * Adj-RIB-Out output: turns one batch of per-prefix decisions for a peer into
 * UPDATE messages. Announcements are grouped by their (interned) attribute
 * set so one UPDATE carries many NLRI, and every list is split so each
 * message stays within 4096 octets (RFC 4271 §4). IPv4 unicast uses the
 * classic fields, everything else MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760).
 */
import { AFI_IPV4, MessageType, SAFI_UNICAST } from '#bgp/wire/types';
import type { PathAttributes, UpdateMessage } from '#bgp/wire/types';
import type { ExportEncoding } from '#bgp/policy/index';
import {
  MAX_ATTR_HEADER,
  MAX_MESSAGE_SIZE,
  MP_REACH_FIXED,
  MP_UNREACH_FIXED,
  UPDATE_FIXED_SIZE,
  attributesSize,
  nextHopsSize,
  prefixSize,
} from './update-size.js';

const NO_ATTRIBUTES: PathAttributes = Object.freeze({});

/** Octets an announcement needs before its NLRI; with the NLRI it must fit MAX_MESSAGE_SIZE. */
export function announcementOverhead(attrSize: number, enc: ExportEncoding): number {
  const base = UPDATE_FIXED_SIZE + attrSize;
  return enc.classic ? base : base + MAX_ATTR_HEADER + MP_REACH_FIXED + nextHopsSize(enc.nextHops);
}

/** RFC 4724 §2: End-of-RIB is an empty UPDATE for IPv4 unicast, an empty MP_UNREACH_NLRI otherwise. */
export function endOfRib(afi: number, safi: number): UpdateMessage {
  const u: UpdateMessage = { type: MessageType.Update, withdrawn: [], attributes: NO_ATTRIBUTES, nlri: [] };
  if (afi !== AFI_IPV4 || safi !== SAFI_UNICAST) u.mpUnreach = { afi, safi, withdrawn: [] };
  return u;
}

export function isEndOfRib(u: UpdateMessage): { afi: number; safi: number } | null {
  if (u.withdrawn.length > 0 || u.nlri.length > 0 || u.mpReach !== undefined) return null;
  if (u.mpUnreach !== undefined) {
    if (u.mpUnreach.withdrawn.length > 0 || Object.keys(u.attributes).length > 0) return null;
    return { afi: u.mpUnreach.afi, safi: u.mpUnreach.safi };
  }
  return Object.keys(u.attributes).length === 0 ? { afi: AFI_IPV4, safi: SAFI_UNICAST } : null;
}

export class UpdatePacker {
  private readonly classicWithdrawn: string[] = [];
  private readonly mpWithdrawn = new Map<number, string[]>();
  /** Per encoding (one per AFI), then per attribute set: the NLRI to announce. */
  private readonly groups = new Map<ExportEncoding, Map<PathAttributes, string[]>>();

  withdraw(prefix: string, afi: number, classic: boolean): void {
    if (classic) {
      this.classicWithdrawn.push(prefix);
      return;
    }
    let list = this.mpWithdrawn.get(afi);
    if (!list) this.mpWithdrawn.set(afi, (list = []));
    list.push(prefix);
  }

  announce(prefix: string, enc: ExportEncoding, attrs: PathAttributes): void {
    let byAttrs = this.groups.get(enc);
    if (!byAttrs) this.groups.set(enc, (byAttrs = new Map()));
    let list = byAttrs.get(attrs);
    if (!list) byAttrs.set(attrs, (list = []));
    list.push(prefix);
  }

  /** Withdrawals first (they free the peer's memory and cannot depend on anything), then announcements. */
  finish(): UpdateMessage[] {
    const out: UpdateMessage[] = [];
    for (const chunk of split(this.classicWithdrawn, UPDATE_FIXED_SIZE)) {
      out.push({ type: MessageType.Update, withdrawn: chunk, attributes: NO_ATTRIBUTES, nlri: [] });
    }
    for (const [afi, list] of this.mpWithdrawn) {
      for (const chunk of split(list, UPDATE_FIXED_SIZE + MAX_ATTR_HEADER + MP_UNREACH_FIXED)) {
        out.push({
          type: MessageType.Update,
          withdrawn: [],
          attributes: NO_ATTRIBUTES,
          nlri: [],
          mpUnreach: { afi, safi: SAFI_UNICAST, withdrawn: chunk },
        });
      }
    }
    for (const [enc, byAttrs] of this.groups) {
      for (const [attrs, list] of byAttrs) {
        for (const chunk of split(list, announcementOverhead(attributesSize(attrs), enc))) {
          if (enc.classic) {
            out.push({ type: MessageType.Update, withdrawn: [], attributes: attrs, nlri: chunk });
          } else {
            out.push({
              type: MessageType.Update,
              withdrawn: [],
              attributes: attrs,
              nlri: [],
              mpReach: { afi: enc.afi, safi: SAFI_UNICAST, nextHops: [...enc.nextHops], nlri: chunk },
            });
          }
        }
      }
    }
    return out;
  }
}

/**
 * Cuts `prefixes` into runs whose encoded size plus `overhead` fits one
 * message: slices of the list (one allocation of the right size each), or the
 * list itself when it fits whole (the common case: a batch of one UPDATE's NLRI).
 */
function split(prefixes: string[], overhead: number): string[][] {
  const chunks: string[][] = [];
  let from = 0;
  let size = overhead;
  for (let i = 0; i < prefixes.length; i++) {
    const n = prefixSize(prefixes[i]!);
    if (size + n > MAX_MESSAGE_SIZE && i > from) {
      chunks.push(prefixes.slice(from, i));
      from = i;
      size = overhead;
    }
    size += n;
  }
  if (from === 0) {
    if (prefixes.length > 0) chunks.push(prefixes);
  } else chunks.push(prefixes.slice(from));
  return chunks;
}
