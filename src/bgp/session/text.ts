/**
 * NOTIFICATION text for logs and `lastError`, and the RFC 8203/9003 shutdown
 * communication carried by Cease/Administrative Shutdown and Reset.
 */
import { Buffer } from 'node:buffer';

const NAMES: Record<number, [string, Record<number, string>]> = {
  1: ['Message Header Error', { 1: 'Connection Not Synchronized', 2: 'Bad Message Length', 3: 'Bad Message Type' }],
  2: [
    'OPEN Message Error',
    {
      1: 'Unsupported Version Number',
      2: 'Bad Peer AS',
      3: 'Bad BGP Identifier',
      4: 'Unsupported Optional Parameter',
      6: 'Unacceptable Hold Time',
      7: 'Unsupported Capability',
      11: 'Role Mismatch',
    },
  ],
  3: [
    'UPDATE Message Error',
    {
      1: 'Malformed Attribute List',
      2: 'Unrecognized Well-known Attribute',
      3: 'Missing Well-known Attribute',
      4: 'Attribute Flags Error',
      5: 'Attribute Length Error',
      6: 'Invalid ORIGIN Attribute',
      8: 'Invalid NEXT_HOP Attribute',
      9: 'Optional Attribute Error',
      10: 'Invalid Network Field',
      11: 'Malformed AS_PATH',
    },
  ],
  4: ['Hold Timer Expired', {}],
  5: [
    'Finite State Machine Error',
    {
      1: 'Receive Unexpected Message in OpenSent State',
      2: 'Receive Unexpected Message in OpenConfirm State',
      3: 'Receive Unexpected Message in Established State',
    },
  ],
  6: [
    'Cease',
    {
      1: 'Maximum Number of Prefixes Reached',
      2: 'Administrative Shutdown',
      3: 'Peer De-configured',
      4: 'Administrative Reset',
      5: 'Connection Rejected',
      6: 'Other Configuration Change',
      7: 'Connection Collision Resolution',
      8: 'Out of Resources',
      9: 'Hard Reset',
      10: 'BFD Down',
    },
  ],
  7: ['ROUTE-REFRESH Message Error', { 1: 'Invalid Message Length' }],
};

/** RFC 9003 §2: the communication is at most 255 octets of UTF-8 after a length octet. */
const MAX_COMMUNICATION = 255;

function hasCommunication(code: number, subcode: number): boolean {
  return code === 6 && (subcode === 2 || subcode === 4);
}

/** "6/2 Administrative Shutdown: \"maintenance\"" — the most specific name known. */
export function notificationText(code: number, subcode: number, data: Uint8Array): string {
  const entry = NAMES[code];
  const name = entry ? (entry[1][subcode] ?? entry[0]) : 'Unknown Error';
  const comm = hasCommunication(code, subcode) ? decodeShutdownCommunication(data) : null;
  return `${code}/${subcode} ${name}${comm ? `: "${comm}"` : ''}`;
}

/** RFC 8203 §2 / RFC 9003 §2: length octet + UTF-8, cut at a character boundary. */
export function encodeShutdownCommunication(text: string | undefined): Uint8Array {
  if (!text) return new Uint8Array(0);
  let bytes = Buffer.from(text, 'utf8');
  if (bytes.length > MAX_COMMUNICATION) {
    let cut = MAX_COMMUNICATION;
    // Back off over continuation bytes (10xxxxxx) so no character is split.
    while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
    bytes = bytes.subarray(0, cut);
  }
  const out = new Uint8Array(bytes.length + 1);
  out[0] = bytes.length;
  out.set(bytes, 1);
  return out;
}

/** Null when absent or malformed (RFC 8203 §4: a bad communication is ignored, not an error). */
export function decodeShutdownCommunication(data: Uint8Array): string | null {
  const len = data[0];
  if (len === undefined || len === 0 || len > data.length - 1) return null;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(data.subarray(1, 1 + len));
  } catch {
    return null;
  }
}
