/**
 * The data of Cease NOTIFICATIONs (RFC 4486): the shutdown communication of
 * Administrative Shutdown and Administrative Reset (RFC 8203, extended to 255
 * octets by RFC 9003), and the family and limit of Maximum Number of Prefixes
 * Reached (RFC 4486 §4). Pure: no I/O, and nothing here throws on received data.
 */
import { Buffer } from 'node:buffer';
import { CeaseSubcode } from './errors.js';
import { ErrorCode } from './types.js';

/** RFC 9003 §2: the communication is at most 255 octets of UTF-8 after its length octet. */
export const MAX_SHUTDOWN_COMMUNICATION = 255;
/** RFC 8203's limit, before RFC 9003 raised it; a speaker of RFC 8203 only logs a longer one as an error (RFC 9003 §3). */
export const RFC8203_SHUTDOWN_COMMUNICATION = 128;

const EMPTY = new Uint8Array(0);
/** A UTF-16 surrogate without its other half: such a string has no UTF-8 form. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** RFC 9003 §2: Cease subcodes 2 (Administrative Shutdown) and 4 (Administrative Reset) carry a communication. */
export function carriesShutdownCommunication(code: number, subcode: number): boolean {
  return code === ErrorCode.Cease && (subcode === CeaseSubcode.AdministrativeShutdown || subcode === CeaseSubcode.AdministrativeReset);
}

/**
 * Why `text` cannot be sent as a shutdown communication, or null when it can:
 * RFC 9003 §2 allows 255 octets of UTF-8, and a string with a lone UTF-16
 * surrogate has no UTF-8 form at all.
 */
export function checkShutdownCommunication(text: string): string | null {
  if (LONE_SURROGATE.test(text)) return 'is not valid Unicode (a lone UTF-16 surrogate has no UTF-8 form)';
  const octets = Buffer.byteLength(text, 'utf8');
  if (octets > MAX_SHUTDOWN_COMMUNICATION) {
    return `is ${octets} octets of UTF-8; RFC 9003 §2 allows at most ${MAX_SHUTDOWN_COMMUNICATION}`;
  }
  return null;
}

/**
 * RFC 9003 §2: a length octet, then the UTF-8 text. No text: no data at all.
 * Longer text is cut at the last whole character within 255 octets (callers
 * that take the text from an operator refuse it first, checkShutdownCommunication).
 */
export function encodeShutdownCommunication(text: string | undefined | null): Uint8Array {
  if (!text) return EMPTY;
  let bytes = Buffer.from(text, 'utf8');
  if (bytes.length > MAX_SHUTDOWN_COMMUNICATION) {
    let cut = MAX_SHUTDOWN_COMMUNICATION;
    // Back off over continuation octets (10xxxxxx) so no character is split.
    while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
    bytes = bytes.subarray(0, cut);
  }
  const out = new Uint8Array(bytes.length + 1);
  out[0] = bytes.length;
  out.set(bytes, 1);
  return out;
}

/** A received communication: its text, or why there is none to show. */
export interface ShutdownCommunication {
  /** The text; null when none was sent or it was malformed. */
  text: string | null;
  /** Set when the data was malformed: the reason, for the log (RFC 9003 §4). */
  problem: string | null;
}

/**
 * RFC 9003 §4: a communication whose length overruns the data, or whose text
 * is not UTF-8, is logged and otherwise ignored: the NOTIFICATION stays a
 * valid Cease, it just has no message. Octets after the communication are
 * not looked at (nothing is defined there).
 */
export function readShutdownCommunication(data: Uint8Array): ShutdownCommunication {
  const length = data[0];
  if (length === undefined || length === 0) return { text: null, problem: null };
  if (length > data.length - 1) {
    return { text: null, problem: `shutdown communication length ${length} overruns the ${data.length - 1} octet(s) after it (RFC 9003 §4)` };
  }
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(data.subarray(1, 1 + length)), problem: null };
  } catch {
    return { text: null, problem: 'shutdown communication is not valid UTF-8 (RFC 9003 §2, §4)' };
  }
}

/** RFC 4486 §4: what a Maximum Number of Prefixes Reached NOTIFICATION may carry. */
export interface MaxPrefixData {
  afi: number;
  safi: number;
  /** The prefix upper bound that was exceeded. */
  limit: number;
}

/** RFC 4486 §4: AFI (2 octets), SAFI (1 octet), Prefix upper bound (4 octets). */
export function encodeMaxPrefixData(d: MaxPrefixData): Uint8Array {
  const out = new Uint8Array(7);
  const view = new DataView(out.buffer);
  view.setUint16(0, d.afi);
  out[2] = d.safi;
  view.setUint32(3, d.limit >>> 0);
  return out;
}

/** The RFC 4486 §4 data, or null when the data is not that (it is optional: "MAY optionally include"). */
export function decodeMaxPrefixData(data: Uint8Array): MaxPrefixData | null {
  if (data.length !== 7) return null;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { afi: view.getUint16(0), safi: data[2]!, limit: view.getUint32(3) };
}
