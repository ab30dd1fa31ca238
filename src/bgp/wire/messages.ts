/**
 * Whole messages: the header (RFC 4271 §4.1, RFC 8654 for the length limit)
 * and the small message types (NOTIFICATION §4.5, KEEPALIVE §4.4,
 * ROUTE-REFRESH RFC 2918 §3 with the RFC 7313 subtypes), dispatching OPEN and
 * UPDATE to their own modules.
 */
import { ErrorCode, MessageType, RouteRefreshSubtype } from './types.js';
import type { BgpMessage, CodecContext, DecodedMessage, NotificationMessage, RouteRefreshMessage } from './types.js';
import { BgpWireError, RouteRefreshSubcode, badLength } from './errors.js';
import { HEADER_LENGTH, MAX_MESSAGE_LENGTH, MIN_MESSAGE_LENGTH, allocMessage, checkHeader, maxMessageLength } from './header.js';
import { copyBytes, rd16, wr16 } from './nlri.js';
import { decodeOpen, encodeOpen } from './open.js';
import { decodeUpdate, encodeUpdate } from './update.js';

/**
 * Encodes one message, header included. `ctx` shapes UPDATEs and sets the
 * length limit (RFC 8654; OPEN and KEEPALIVE stay within 4096 octets).
 */
export function encodeMessage(msg: BgpMessage, ctx: CodecContext): Buffer {
  switch (msg.type) {
    case MessageType.Open:
      return encodeOpen(msg);
    case MessageType.Update:
      return encodeUpdate(msg, ctx);
    case MessageType.Notification: {
      const buf = allocMessage(HEADER_LENGTH + 2 + msg.data.length, MessageType.Notification, maxMessageLength(ctx));
      buf[19] = msg.code;
      buf[20] = msg.subcode;
      buf.set(msg.data, 21);
      return buf;
    }
    case MessageType.Keepalive:
      return allocMessage(HEADER_LENGTH, MessageType.Keepalive);
    case MessageType.RouteRefresh: {
      if (msg.subtype < 0 || msg.subtype > 255) throw new RangeError(`ROUTE-REFRESH subtype ${msg.subtype} does not fit one octet`);
      const buf = allocMessage(23, MessageType.RouteRefresh);
      wr16(buf, 19, msg.afi);
      buf[21] = msg.subtype;
      buf[22] = msg.safi;
      return buf;
    }
  }
}

const NONE: DecodedMessage['action'] = 'none';

/**
 * Decodes one whole message (header included, as MessageFramer returns it).
 * Throws BgpWireError for anything that calls for a NOTIFICATION.
 */
export function decodeMessage(frame: Uint8Array, ctx: CodecContext): DecodedMessage {
  if (frame.length < HEADER_LENGTH) throw badLength(frame.length, 'frame shorter than a header');
  const length = checkHeader(frame, 0, maxMessageLength(ctx));
  if (length !== frame.length) throw badLength(length, `header length differs from the ${frame.length}-octet frame`);
  const type = frame[18]!;
  if (length < MIN_MESSAGE_LENGTH[type]!) throw badLength(length, `message type ${type}`);
  // RFC 8654 §3: extended messages never include OPEN (KEEPALIVE is checked below).
  if (type === MessageType.Open && length > MAX_MESSAGE_LENGTH) throw badLength(length, 'OPEN longer than 4096 octets (RFC 8654)');
  switch (type) {
    case MessageType.Open:
      return { message: decodeOpen(frame), action: NONE, problems: [] };
    case MessageType.Update:
      return decodeUpdate(frame, ctx);
    case MessageType.Notification: {
      // The data is copied: a NOTIFICATION is kept for status output long after the frame is gone.
      const message: NotificationMessage = { type: MessageType.Notification, code: frame[19]!, subcode: frame[20]!, data: copyBytes(frame.subarray(21)) };
      return { message, action: NONE, problems: [] };
    }
    case MessageType.Keepalive:
      // RFC 4271 §6.1: a KEEPALIVE is exactly the header.
      if (length !== HEADER_LENGTH) throw badLength(length, 'KEEPALIVE');
      return { message: { type: MessageType.Keepalive }, action: NONE, problems: [] };
    default:
      return decodeRouteRefresh(frame, length, ctx);
  }
}

/**
 * RFC 2918 §3 with RFC 7313 §3.2: AFI, Message Subtype, SAFI.
 *
 * RFC 7313 §3.2: a subtype other than 0, 1 or 2 is ignored, whatever the
 * length: the message is returned with a problem saying so, and the receiver
 * must not act on it.
 *
 * A known subtype must be 4 octets of body (this speaker negotiates no ORF,
 * RFC 5291, which alone would make a request longer). With enhanced route
 * refresh negotiated, RFC 7313 §5: ROUTE-REFRESH Message Error / Invalid
 * Message Length carrying the whole message. Without it the peer may not know
 * error code 7 (RFC 2918 defines none), so the length is refused as RFC 4271
 * §6.1 refuses a fixed-size message of the wrong length: Message Header Error
 * / Bad Message Length with the Length field.
 */
function decodeRouteRefresh(frame: Uint8Array, length: number, ctx: CodecContext): DecodedMessage {
  const subtype = frame[21]!;
  const known = subtype <= RouteRefreshSubtype.EndOfRouteRefresh;
  if (known && length !== 23) {
    if (ctx.enhancedRouteRefresh !== true) throw badLength(length, `ROUTE-REFRESH subtype ${subtype} (no enhanced route refresh)`);
    throw new BgpWireError(ErrorCode.RouteRefresh, RouteRefreshSubcode.InvalidMessageLength, `ROUTE-REFRESH subtype ${subtype} of ${length} octets`, frame);
  }
  const message: RouteRefreshMessage = { type: MessageType.RouteRefresh, afi: rd16(frame, 19), subtype, safi: frame[22]! };
  return { message, action: NONE, problems: known ? [] : [`RFC 7313 §3.2: ROUTE-REFRESH subtype ${subtype} is not defined: ignored`] };
}
