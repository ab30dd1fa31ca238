/**
 * Decoded UPDATEs whose prefix lists are made when read. The decoder only
 * checks the prefix fields (PrefixRun); the RIB reads them from the bytes
 * into prefix numbers (issue 10: a text per received prefix, parsed back
 * into words by the RIB, was a large share of the garbage of ten full-table
 * peers). Whoever reads `nlri`, `withdrawn` or the Path Identifiers of such
 * a message (logs, tests, the RFC 7606 rewrite) gets ordinary arrays, made
 * once, then kept on the message.
 */
import { MessageType } from './types.js';
import type { MpReach, MpUnreach, PathAttributes, PrefixRun, ReceivedNlri, UpdateMessage } from './types.js';
import { prefixPathIds, prefixTexts } from './nlri.js';

/**
 * `key` of `o` as an enumerable property whose value `make` makes on first
 * read (an assignment replaces it): a decoded message compares and prints as
 * if the value had been there all along.
 */
function lazyField(o: object, key: string, make: () => unknown): void {
  const settle = (value: unknown): void => {
    Object.defineProperty(o, key, { value, writable: true, enumerable: true, configurable: true });
  };
  Object.defineProperty(o, key, {
    enumerable: true,
    configurable: true,
    get() {
      const value = make();
      settle(value);
      return value;
    },
    set: settle,
  });
}

function lazyPrefixes(o: object, key: string, run: PrefixRun, pathIdsKey: string): void {
  lazyField(o, key, () => prefixTexts(run));
  if (run.addPath) lazyField(o, pathIdsKey, () => prefixPathIds(run));
}

/** MP_REACH_NLRI as decoded (RFC 4760 §3): `nlri` and `pathIds` made from `run` when read. */
export function receivedReach(afi: number, safi: number, nextHops: string[], run: PrefixRun): MpReach {
  const r = { afi, safi, nextHops } as MpReach;
  lazyPrefixes(r, 'nlri', run, 'pathIds');
  return r;
}

/** MP_UNREACH_NLRI as decoded (RFC 4760 §4): `withdrawn` and `pathIds` made from `run` when read. */
export function receivedUnreach(afi: number, safi: number, run: PrefixRun): MpUnreach {
  const u = { afi, safi } as MpUnreach;
  lazyPrefixes(u, 'withdrawn', run, 'pathIds');
  return u;
}

/** An UPDATE as received, its text lists made from `received` when read. */
export function receivedUpdate(attributes: PathAttributes, received: ReceivedNlri, mpReach: MpReach | undefined, mpUnreach: MpUnreach | undefined): UpdateMessage {
  return updateOfRuns('received', attributes, received, mpReach, mpUnreach);
}

/**
 * An UPDATE made by the Adj-RIB-Out packer from prefix numbers: its fields
 * are `packed` (written once, copied by encodeUpdate), its text lists made
 * from them when read, as for a received one.
 */
export function packedUpdate(attributes: PathAttributes, packed: ReceivedNlri, mpReach: MpReach | undefined, mpUnreach: MpUnreach | undefined): UpdateMessage {
  return updateOfRuns('packed', attributes, packed, mpReach, mpUnreach);
}

function updateOfRuns(key: 'received' | 'packed', attributes: PathAttributes, runs: ReceivedNlri, mpReach: MpReach | undefined, mpUnreach: MpUnreach | undefined): UpdateMessage {
  const m = { type: MessageType.Update, attributes } as UpdateMessage;
  lazyPrefixes(m, 'withdrawn', runs.withdrawn, 'withdrawnPathIds');
  lazyPrefixes(m, 'nlri', runs.nlri, 'nlriPathIds');
  if (mpReach !== undefined) m.mpReach = mpReach;
  if (mpUnreach !== undefined) m.mpUnreach = mpUnreach;
  Object.defineProperty(m, key, { value: runs, enumerable: false });
  return m;
}
