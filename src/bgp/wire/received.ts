/**
 * Decoded UPDATEs whose prefix lists are made when read. The decoder only
 * checks the prefix fields (PrefixRun); the RIB reads them from the bytes
 * into prefix numbers (issue 10: a text per received prefix, parsed back
 * into words by the RIB, was a large share of the garbage of ten full-table
 * peers). Whoever reads `nlri`, `withdrawn` or the Path Identifiers of such
 * a message (logs, tests, the RFC 7606 rewrite) gets ordinary arrays, made
 * once, then kept.
 *
 * Classes with the lists behind getters on the prototype: a message costs
 * what a plain object does (accessors defined per object cost ~0.4 µs each,
 * more than decoding a small UPDATE). The lists are therefore not own
 * properties: `toPlain` (and JSON.stringify, through toJSON) gives the
 * message as a plain object, which is what test equality compares.
 */
import { MessageType } from './types.js';
import type { MpReach, MpUnreach, PathAttributes, PrefixRun, ReceivedNlri, UpdateMessage } from './types.js';
import { prefixPathIds, prefixTexts } from './nlri.js';

/**
 * One MP prefix field as decoded (MP_REACH_NLRI's NLRI, MP_UNREACH_NLRI's
 * Withdrawn Routes): the texts and Path Identifiers made from the run when
 * read. The subclasses name the list as RFC 4760 does.
 */
abstract class ReceivedMpField {
  #texts: string[] | undefined;
  #pathIds: number[] | undefined;
  readonly #run: PrefixRun;

  constructor(run: PrefixRun) {
    this.#run = run;
  }

  protected texts(): string[] {
    return (this.#texts ??= prefixTexts(this.#run));
  }

  protected setTexts(v: string[]): void {
    this.#texts = v;
  }

  get pathIds(): number[] | undefined {
    if (this.#pathIds === undefined && this.#run.addPath) this.#pathIds = prefixPathIds(this.#run);
    return this.#pathIds;
  }

  set pathIds(v: number[] | undefined) {
    this.#pathIds = v;
  }

  get textsMade(): boolean {
    return this.#texts !== undefined;
  }
}

/** MP_REACH_NLRI as decoded (RFC 4760 §3): `nlri` and `pathIds` made from the run when read. */
export class ReceivedReach extends ReceivedMpField implements MpReach {
  constructor(
    public afi: number,
    public safi: number,
    public nextHops: string[],
    run: PrefixRun,
  ) {
    super(run);
  }

  get nlri(): string[] {
    return this.texts();
  }

  set nlri(v: string[]) {
    this.setTexts(v);
  }

  toJSON(): MpReach {
    const r: MpReach = { afi: this.afi, safi: this.safi, nextHops: this.nextHops, nlri: this.nlri };
    const ids = this.pathIds;
    if (ids !== undefined) r.pathIds = ids;
    return r;
  }
}

/** MP_UNREACH_NLRI as decoded (RFC 4760 §4): `withdrawn` and `pathIds` made from the run when read. */
export class ReceivedUnreach extends ReceivedMpField implements MpUnreach {
  constructor(
    public afi: number,
    public safi: number,
    run: PrefixRun,
  ) {
    super(run);
  }

  get withdrawn(): string[] {
    return this.texts();
  }

  set withdrawn(v: string[]) {
    this.setTexts(v);
  }

  toJSON(): MpUnreach {
    const u: MpUnreach = { afi: this.afi, safi: this.safi, withdrawn: this.withdrawn };
    const ids = this.pathIds;
    if (ids !== undefined) u.pathIds = ids;
    return u;
  }
}

/**
 * An UPDATE whose prefix fields are runs in their wire form (RFC 4271 §4.3):
 * as received (`received`, from the decoder) or as packed for sending
 * (`packed`, from the Adj-RIB-Out packer, written from prefix numbers and
 * copied by encodeUpdate); its text lists made from the runs when read.
 */
export class ReceivedUpdate implements UpdateMessage {
  readonly type = MessageType.Update;
  declare mpReach?: MpReach;
  declare mpUnreach?: MpUnreach;
  #withdrawn: string[] | undefined;
  #nlri: string[] | undefined;
  #withdrawnPathIds: number[] | undefined;
  #nlriPathIds: number[] | undefined;
  readonly #received: ReceivedNlri;
  readonly #packed: boolean;

  constructor(
    public attributes: PathAttributes,
    runs: ReceivedNlri,
    mpReach: MpReach | undefined,
    mpUnreach: MpUnreach | undefined,
    packed = false,
  ) {
    this.#received = runs;
    this.#packed = packed;
    if (mpReach !== undefined) this.mpReach = mpReach;
    if (mpUnreach !== undefined) this.mpUnreach = mpUnreach;
  }

  get received(): ReceivedNlri | undefined {
    return this.#packed ? undefined : this.#received;
  }

  get packed(): ReceivedNlri | undefined {
    return this.#packed ? this.#received : undefined;
  }

  get withdrawn(): string[] {
    return (this.#withdrawn ??= prefixTexts(this.#received.withdrawn));
  }

  set withdrawn(v: string[]) {
    this.#withdrawn = v;
  }

  get nlri(): string[] {
    return (this.#nlri ??= prefixTexts(this.#received.nlri));
  }

  set nlri(v: string[]) {
    this.#nlri = v;
  }

  get withdrawnPathIds(): number[] | undefined {
    if (this.#withdrawnPathIds === undefined && this.#received.withdrawn.addPath) this.#withdrawnPathIds = prefixPathIds(this.#received.withdrawn);
    return this.#withdrawnPathIds;
  }

  set withdrawnPathIds(v: number[] | undefined) {
    this.#withdrawnPathIds = v;
  }

  get nlriPathIds(): number[] | undefined {
    if (this.#nlriPathIds === undefined && this.#received.nlri.addPath) this.#nlriPathIds = prefixPathIds(this.#received.nlri);
    return this.#nlriPathIds;
  }

  set nlriPathIds(v: number[] | undefined) {
    this.#nlriPathIds = v;
  }

  /** Whether any text list of the message (MP attributes included) was made. */
  get textsMade(): boolean {
    const r = this.mpReach;
    const u = this.mpUnreach;
    return this.#withdrawn !== undefined || this.#nlri !== undefined || (r instanceof ReceivedReach && r.textsMade) || (u instanceof ReceivedUnreach && u.textsMade);
  }

  toJSON(): UpdateMessage {
    return toPlain(this);
  }
}

/** `m` as a plain object with every list an own property (a received message's made now). */
export function toPlain(m: UpdateMessage): UpdateMessage {
  const out: UpdateMessage = { type: MessageType.Update, withdrawn: m.withdrawn, attributes: m.attributes, nlri: m.nlri };
  if (m.withdrawnPathIds !== undefined) out.withdrawnPathIds = m.withdrawnPathIds;
  if (m.nlriPathIds !== undefined) out.nlriPathIds = m.nlriPathIds;
  const r = m.mpReach;
  if (r !== undefined) out.mpReach = r instanceof ReceivedReach ? r.toJSON() : r;
  const u = m.mpUnreach;
  if (u !== undefined) out.mpUnreach = u instanceof ReceivedUnreach ? u.toJSON() : u;
  return out;
}

export function receivedReach(afi: number, safi: number, nextHops: string[], run: PrefixRun): MpReach {
  return new ReceivedReach(afi, safi, nextHops, run);
}

export function receivedUnreach(afi: number, safi: number, run: PrefixRun): MpUnreach {
  return new ReceivedUnreach(afi, safi, run);
}

/** An UPDATE as received: its text lists made from `received` when read. */
export function receivedUpdate(attributes: PathAttributes, received: ReceivedNlri, mpReach: MpReach | undefined, mpUnreach: MpUnreach | undefined): UpdateMessage {
  return new ReceivedUpdate(attributes, received, mpReach, mpUnreach);
}

/**
 * An UPDATE made by the Adj-RIB-Out packer from prefix numbers: its fields
 * are `packed` (written once, copied by encodeUpdate), its text lists made
 * from them when read, as for a received one. Not changed once made.
 */
export function packedUpdate(attributes: PathAttributes, packed: ReceivedNlri, mpReach: MpReach | undefined, mpUnreach: MpUnreach | undefined): UpdateMessage {
  return new ReceivedUpdate(attributes, packed, mpReach, mpUnreach, true);
}
