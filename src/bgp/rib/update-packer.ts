/**
 * Adj-RIB-Out output: turns one batch of per-prefix decisions for a peer into
 * UPDATE messages. Announcements are grouped by their (interned) attribute
 * set so one UPDATE carries many NLRI, and every list is split so each
 * message stays within 4096 octets (RFC 4271 §4). IPv4 unicast uses the
 * classic fields, everything else MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760).
 * A family sent with RFC 7911 Path Identifiers gets them on every prefix
 * (the caller gives one with each, or none for the family at all).
 */
import { AFI_IPV4, MessageType, SAFI_UNICAST } from '#bgp/wire/types';
import type { PathAttributes, UpdateMessage } from '#bgp/wire/types';
import type { ExportEncoding } from '#bgp/policy/index';
import {
  MAX_ATTR_HEADER,
  MAX_MESSAGE_SIZE,
  MP_REACH_FIXED,
  MP_UNREACH_FIXED,
  PATH_ID_SIZE,
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

/** Asked of every received UPDATE: a decoded one is answered from its prefix runs, its texts are not made. */
export function isEndOfRib(u: UpdateMessage): { afi: number; safi: number } | null {
  const r = u.received;
  if ((r !== undefined ? r.withdrawn.count + r.nlri.count : u.withdrawn.length + u.nlri.length) > 0 || u.mpReach !== undefined) return null;
  if (u.mpUnreach !== undefined) {
    if ((r?.unreach !== undefined ? r.unreach.count : u.mpUnreach.withdrawn.length) > 0 || Object.keys(u.attributes).length > 0) return null;
    return { afi: u.mpUnreach.afi, safi: u.mpUnreach.safi };
  }
  return Object.keys(u.attributes).length === 0 ? { afi: AFI_IPV4, safi: SAFI_UNICAST } : null;
}

export class UpdatePacker {
  private readonly classicWithdrawn: string[] = [];
  private readonly mpWithdrawn = new Map<number, string[]>();
  /** Per encoding (one per AFI), then per attribute set: the NLRI to announce. */
  private readonly groups = new Map<ExportEncoding, Map<PathAttributes, string[]>>();
  /** RFC 7911: the Path Identifiers of a list above, same order, when its family carries them. */
  private readonly pathIds = new Map<string[], number[]>();

  withdraw(prefix: string, afi: number, classic: boolean, pathId?: number): void {
    if (classic) {
      this.push(this.classicWithdrawn, prefix, pathId);
      return;
    }
    let list = this.mpWithdrawn.get(afi);
    if (!list) this.mpWithdrawn.set(afi, (list = []));
    this.push(list, prefix, pathId);
  }

  announce(prefix: string, enc: ExportEncoding, attrs: PathAttributes, pathId?: number): void {
    let byAttrs = this.groups.get(enc);
    if (!byAttrs) this.groups.set(enc, (byAttrs = new Map()));
    let list = byAttrs.get(attrs);
    if (!list) byAttrs.set(attrs, (list = []));
    this.push(list, prefix, pathId);
  }

  private push(list: string[], prefix: string, pathId: number | undefined): void {
    list.push(prefix);
    if (pathId === undefined) return;
    let ids = this.pathIds.get(list);
    if (!ids) this.pathIds.set(list, (ids = []));
    ids.push(pathId);
  }

  /** Withdrawals first (they free the peer's memory and cannot depend on anything), then announcements. */
  finish(): UpdateMessage[] {
    const out: UpdateMessage[] = [];
    const ids = this.pathIds;
    for (const [chunk, pathIds] of split(this.classicWithdrawn, UPDATE_FIXED_SIZE, ids.get(this.classicWithdrawn))) {
      const u: UpdateMessage = { type: MessageType.Update, withdrawn: chunk, attributes: NO_ATTRIBUTES, nlri: [] };
      if (pathIds !== undefined) {
        u.withdrawnPathIds = pathIds;
        u.nlriPathIds = [];
      }
      out.push(u);
    }
    for (const [afi, list] of this.mpWithdrawn) {
      for (const [chunk, pathIds] of split(list, UPDATE_FIXED_SIZE + MAX_ATTR_HEADER + MP_UNREACH_FIXED, ids.get(list))) {
        out.push({
          type: MessageType.Update,
          withdrawn: [],
          attributes: NO_ATTRIBUTES,
          nlri: [],
          mpUnreach: { afi, safi: SAFI_UNICAST, withdrawn: chunk, ...(pathIds !== undefined ? { pathIds } : {}) },
        });
      }
    }
    for (const [enc, byAttrs] of this.groups) {
      for (const [attrs, list] of byAttrs) {
        for (const [chunk, pathIds] of split(list, announcementOverhead(attributesSize(attrs), enc), ids.get(list))) {
          if (enc.classic) {
            const u: UpdateMessage = { type: MessageType.Update, withdrawn: [], attributes: attrs, nlri: chunk };
            if (pathIds !== undefined) {
              u.withdrawnPathIds = [];
              u.nlriPathIds = pathIds;
            }
            out.push(u);
          } else {
            out.push({
              type: MessageType.Update,
              withdrawn: [],
              attributes: attrs,
              nlri: [],
              mpReach: { afi: enc.afi, safi: SAFI_UNICAST, nextHops: [...enc.nextHops], nlri: chunk, ...(pathIds !== undefined ? { pathIds } : {}) },
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
function split(prefixes: string[], overhead: number, pathIds?: number[]): [string[], number[] | undefined][] {
  const chunks: [string[], number[] | undefined][] = [];
  // RFC 7911 §3: 4 more octets per prefix with Path Identifiers.
  const extra = pathIds !== undefined ? PATH_ID_SIZE : 0;
  let from = 0;
  let size = overhead;
  for (let i = 0; i < prefixes.length; i++) {
    const n = prefixSize(prefixes[i]!) + extra;
    if (size + n > MAX_MESSAGE_SIZE && i > from) {
      chunks.push([prefixes.slice(from, i), pathIds?.slice(from, i)]);
      from = i;
      size = overhead;
    }
    size += n;
  }
  if (from === 0) {
    if (prefixes.length > 0) chunks.push([prefixes, pathIds]);
  } else chunks.push([prefixes.slice(from), pathIds?.slice(from)]);
  return chunks;
}
