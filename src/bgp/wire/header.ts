/**
 * The 19-octet message header (RFC 4271 §4.1) shared by the framer, the
 * decoder and the encoders.
 */
import { HeaderSubcode, badLength, headerError } from './errors.js';
import { rd16, wr16 } from './nlri.js';

export const MARKER_LENGTH = 16;
export const HEADER_LENGTH = 19;
/** RFC 4271 §4.1; RFC 8654 extended messages are not negotiated by this speaker. */
export const MAX_MESSAGE_LENGTH = 4096;

/** RFC 4271 §6.1: the smallest valid length of each message type (RFC 2918 §3 for ROUTE-REFRESH). */
export const MIN_MESSAGE_LENGTH: readonly number[] = [0, 29, 23, 21, 19, 23];

/**
 * Validates the header at b[off] (at least 19 octets must be there) and returns
 * the message length. Checks in RFC 4271 §6.1 order: marker, length, type.
 */
export function checkHeader(b: Uint8Array, off: number, maxLength: number): number {
  for (let i = 0; i < MARKER_LENGTH; i++) {
    if (b[off + i] !== 0xff) throw headerError(HeaderSubcode.ConnectionNotSynchronized, 'message marker is not all ones');
  }
  const length = rd16(b, off + MARKER_LENGTH);
  if (length < HEADER_LENGTH || length > maxLength) throw badLength(length, 'header');
  const type = b[off + 18]!;
  if (type < 1 || type > 5) throw headerError(HeaderSubcode.BadMessageType, `unknown message type ${type}`, Uint8Array.of(type));
  return length;
}

/** A message buffer of `length` octets with its header written. */
export function allocMessage(length: number, type: number): Buffer {
  if (length > MAX_MESSAGE_LENGTH) throw new RangeError(`message of ${length} octets exceeds ${MAX_MESSAGE_LENGTH}`);
  const buf = Buffer.allocUnsafe(length);
  buf.fill(0xff, 0, MARKER_LENGTH);
  wr16(buf, MARKER_LENGTH, length);
  buf[18] = type;
  return buf;
}
