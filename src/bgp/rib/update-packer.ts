/**
 * Adj-RIB-Out output: turns one batch of per-prefix decisions for a peer into
 * UPDATE messages. Announcements are grouped by their (interned) attribute
 * set so one UPDATE carries many NLRI, and every list is split so each
 * message stays within 4096 octets (RFC 4271 §4). IPv4 unicast uses the
 * classic fields, everything else MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760).
 * A family sent with RFC 7911 Path Identifiers gets them on every prefix
 * (the caller gives one with each, or none for the family at all).
 *
 * Prefixes come as PrefixTable numbers and are written in their wire form
 * at once (writePrefixWords), so a prefix goes from the RIB to the UPDATE's
 * bytes without a text (issue 10: the text made per prefix and peer, then
 * parsed back by the encoder, was much of ten full-table peers' garbage);
 * the messages carry the bytes as `packed` and make their text lists only
 * when read. Written at once also because a number may be released, and
 * reused, before finish().
 */
import { AFI_IPV4, AFI_IPV6, MessageType, SAFI_UNICAST } from '#bgp/wire/types';
import type { PathAttributes, PrefixRun, ReceivedNlri, UpdateMessage } from '#bgp/wire/types';
import { writePrefixWords } from '#bgp/wire/nlri';
import { packedUpdate, receivedReach, receivedUnreach } from '#bgp/wire/received';
import type { PrefixTable } from '#lib/prefix-table';
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

/**
 * Scratch byte lists given back by finish(): the packer is used and finished
 * synchronously, so lists are written into reused memory and finish() copies
 * them into one buffer for all its messages. (A buffer per list, grown by
 * doubling, made thousands of small ArrayBuffers per batch for the GC.)
 */
const spare: Uint8Array[] = [];
let spareBytes = 0;
/**
 * Bound of the scratch memory kept: ten peers' packers of one batch have a
 * list per attribute set each, ~1 500 at once per peer with a full table
 * arriving. A bound of 64 lists made the rest new 256-octet buffers (each an
 * ArrayBuffer the GC tracks) for every batch (issue 10).
 */
const MAX_SPARE_BYTES = 4 << 20;
const MAX_SPARE_SIZE = 1 << 16;

function takeSpare(): Uint8Array {
  const b = spare.pop();
  if (b === undefined) return new Uint8Array(256);
  spareBytes -= b.length;
  return b;
}

/** One list of prefixes in wire form, as it grows (one family; Path Identifiers on all or none). */
class NlriList {
  bytes = takeSpare();
  end = 0;
  count = 0;
  /** RFC 7911 §3: whether the entries carry a Path Identifier (set by the first). */
  addPath = false;
  /** Where finish() copied the list to in its one buffer. */
  base = 0;

  constructor(readonly family: 4 | 6) {}

  push(table: PrefixTable, id: number, pathId: number | undefined): void {
    // Path Identifier, length octet, at most 16 address octets.
    if (this.end + 21 > this.bytes.length) {
      const grown = new Uint8Array(this.bytes.length * 2);
      grown.set(this.bytes.subarray(0, this.end));
      giveBack(this.bytes);
      this.bytes = grown;
    }
    if (this.count === 0) this.addPath = pathId !== undefined;
    else if (this.addPath !== (pathId !== undefined)) throw new RangeError('Path Identifiers on some prefixes of a family and not on others');
    const v6 = this.family === 6;
    this.end = writePrefixWords(
      this.bytes,
      this.end,
      table.lengthOf(id),
      table.wordOf(id, 0),
      v6 ? table.wordOf(id, 1) : 0,
      v6 ? table.wordOf(id, 2) : 0,
      v6 ? table.wordOf(id, 3) : 0,
      pathId,
    );
    this.count++;
  }

  /** Copies the list to `to` at `at` and gives its scratch memory back (`end` and `count` still describe it). */
  moveTo(to: Uint8Array, at: number): void {
    to.set(this.bytes.subarray(0, this.end), at);
    giveBack(this.bytes);
    this.bytes = EMPTY_BYTES;
  }
}

const EMPTY_BYTES = new Uint8Array(0);

function giveBack(b: Uint8Array): void {
  if (b.length === 0 || b.length > MAX_SPARE_SIZE || spareBytes + b.length > MAX_SPARE_BYTES) return;
  spare.push(b);
  spareBytes += b.length;
}

export class UpdatePacker {
  private readonly classicWithdrawn = new NlriList(4);
  private readonly mpWithdrawn = new Map<number, NlriList>();
  /** Per encoding (one per AFI), then per attribute set: the NLRI to announce. */
  private readonly groups = new Map<ExportEncoding, Map<PathAttributes, NlriList>>();

  private finished = false;

  constructor(private readonly prefixes: PrefixTable) {}

  /** Withdraws prefix number `prefix` (in use until this returns); `classic`: in Withdrawn Routes, else MP_UNREACH_NLRI. */
  withdraw(prefix: number, classic: boolean, pathId?: number): void {
    if (this.finished) throw new Error('UpdatePacker: used after finish()');
    if (classic) {
      this.classicWithdrawn.push(this.prefixes, prefix, pathId);
      return;
    }
    const afi = this.prefixes.isV6(prefix) ? AFI_IPV6 : AFI_IPV4;
    let list = this.mpWithdrawn.get(afi);
    if (!list) this.mpWithdrawn.set(afi, (list = new NlriList(afi === AFI_IPV6 ? 6 : 4)));
    list.push(this.prefixes, prefix, pathId);
  }

  /** Announces prefix number `prefix` (in use until this returns) with `attrs`, in `enc`'s family and form. */
  announce(prefix: number, enc: ExportEncoding, attrs: PathAttributes, pathId?: number): void {
    if (this.finished) throw new Error('UpdatePacker: used after finish()');
    let byAttrs = this.groups.get(enc);
    if (!byAttrs) this.groups.set(enc, (byAttrs = new Map()));
    let list = byAttrs.get(attrs);
    if (!list) byAttrs.set(attrs, (list = new NlriList(this.prefixes.isV6(prefix) ? 6 : 4)));
    list.push(this.prefixes, prefix, pathId);
  }

  /**
   * Withdrawals first (they free the peer's memory and cannot depend on
   * anything), then announcements. The packer is spent after: its lists'
   * memory is reused by the next one.
   */
  finish(): UpdateMessage[] {
    if (this.finished) throw new Error('UpdatePacker: finish() twice');
    this.finished = true;
    // Maps walked with forEach and each list's place kept on it: no iterator, entry pair,
    // list array or offset map per batch and peer (issue 10).
    let total = this.classicWithdrawn.end;
    const count = (list: NlriList): void => {
      total += list.end;
    };
    this.mpWithdrawn.forEach(count);
    this.groups.forEach((byAttrs) => byAttrs.forEach(count));
    // One buffer holds every message's prefixes; the runs below are views of it.
    const all = new Uint8Array(total);
    let o = 0;
    const place = (list: NlriList): void => {
      list.base = o;
      list.moveTo(all, o);
      o += list.end;
    };
    place(this.classicWithdrawn);
    this.mpWithdrawn.forEach(place);
    this.groups.forEach((byAttrs) => byAttrs.forEach(place));
    const out: UpdateMessage[] = [];
    let n = splitInto(all, this.classicWithdrawn, UPDATE_FIXED_SIZE);
    for (let k = 0; k < n; k++) {
      const run = runs[k]!;
      out.push(packedUpdate(NO_ATTRIBUTES, { withdrawn: run, nlri: emptyRun(run.addPath) }, undefined, undefined));
    }
    this.mpWithdrawn.forEach((list, afi) => {
      n = splitInto(all, list, UPDATE_FIXED_SIZE + MAX_ATTR_HEADER + MP_UNREACH_FIXED);
      for (let k = 0; k < n; k++) {
        const run = runs[k]!;
        out.push(packedUpdate(NO_ATTRIBUTES, { withdrawn: EMPTY, nlri: EMPTY, unreach: run }, undefined, receivedUnreach(afi, SAFI_UNICAST, run)));
      }
    });
    this.groups.forEach((byAttrs, enc) => {
      byAttrs.forEach((list, attrs) => {
        n = splitInto(all, list, announcementOverhead(attributesSize(attrs), enc));
        for (let k = 0; k < n; k++) {
          const run = runs[k]!;
          if (enc.classic) {
            out.push(packedUpdate(attrs, { withdrawn: emptyRun(run.addPath), nlri: run }, undefined, undefined));
          } else {
            const packed: ReceivedNlri = { withdrawn: EMPTY, nlri: EMPTY, reach: run };
            out.push(packedUpdate(attrs, packed, receivedReach(enc.afi, SAFI_UNICAST, [...enc.nextHops], run), undefined));
          }
        }
      });
    });
    // The scratch holds no view of this batch's buffer past it.
    runs.fill(EMPTY);
    return out;
  }
}

const EMPTY: PrefixRun = Object.freeze({ bytes: new Uint8Array(0), start: 0, end: 0, family: 4, addPath: false, count: 0 });
const EMPTY_ADD_PATH: PrefixRun = Object.freeze({ ...EMPTY, addPath: true });

/** The other, empty classic field of a message: with Path Identifiers (none) when its family has them (RFC 7911). */
function emptyRun(addPath: boolean): PrefixRun {
  return addPath ? EMPTY_ADD_PATH : EMPTY;
}

/**
 * The runs of the list splitInto cut last, in runs[0 … n-1]: reused from one
 * list to the next (finish() reads them before it cuts another), not an
 * array per list (issue 10).
 */
const runs: PrefixRun[] = [];

/**
 * Cuts a list into runs whose encoded size plus `overhead` fits one message
 * (RFC 4271 §4: 4096 octets): views of `bytes`, where finish() copied the
 * list to (from `list.base`), written to `runs`; their count.
 */
function splitInto(bytes: Uint8Array, list: NlriList, overhead: number): number {
  let n = 0;
  const { family, addPath, base } = list;
  const end = list.end;
  // RFC 7911 §3: 4 more octets per prefix with Path Identifiers.
  const extra = addPath ? PATH_ID_SIZE : 0;
  let from = 0;
  let count = 0;
  let size = overhead;
  for (let o = 0; o < end; ) {
    const len = extra + 1 + ((bytes[base + o + extra]! + 7) >>> 3);
    if (size + len > MAX_MESSAGE_SIZE && o > from) {
      runs[n++] = { bytes, start: base + from, end: base + o, family, addPath, count };
      from = o;
      count = 0;
      size = overhead;
    }
    size += len;
    o += len;
    count++;
  }
  if (count > 0) runs[n++] = { bytes, start: base + from, end: base + end, family, addPath, count };
  return n;
}
