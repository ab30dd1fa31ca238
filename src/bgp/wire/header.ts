/**
 * The 19-octet message header (RFC 4271 §4.1) shared by the framer, the
 * decoder and the encoders.
 */
import type { CodecContext } from './types.js';
import { HeaderSubcode, badLength, headerError } from './errors.js';
import { rd16, wr16 } from './nlri.js';

export const MARKER_LENGTH = 16;
export const HEADER_LENGTH = 19;
/** RFC 4271 §4.1; always the limit for OPEN and KEEPALIVE (RFC 8654 §3). */
export const MAX_MESSAGE_LENGTH = 4096;
/** RFC 8654 §3: the limit once both sides advertised extended messages. */
export const EXTENDED_MAX_MESSAGE_LENGTH = 65535;

/** The largest UPDATE, NOTIFICATION or ROUTE-REFRESH the session may send or receive. */
export function maxMessageLength(ctx: CodecContext): number {
  return ctx.extendedMessages === true ? EXTENDED_MAX_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH;
}

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

/** A message buffer of `length` octets with its header written; `maxLength` as maxMessageLength says. */
export function allocMessage(length: number, type: number, maxLength = MAX_MESSAGE_LENGTH): Buffer {
  if (length > maxLength) throw new RangeError(`message of ${length} octets exceeds ${maxLength}`);
  const buf = Buffer.allocUnsafe(length);
  buf.fill(0xff, 0, MARKER_LENGTH);
  wr16(buf, MARKER_LENGTH, length);
  buf[18] = type;
  return buf;
}
