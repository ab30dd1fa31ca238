/**
 * Whole messages: the header (RFC 4271 §4.1) and the small message types
 * (NOTIFICATION §4.5, KEEPALIVE §4.4, ROUTE-REFRESH RFC 2918 §3), dispatching
 * OPEN and UPDATE to their own modules.
 */
import { ErrorCode, MessageType } from './types.js';
import type { BgpMessage, CodecContext, DecodedMessage, NotificationMessage, RouteRefreshMessage } from './types.js';
import { BgpWireError, RouteRefreshSubcode, badLength } from './errors.js';
import { HEADER_LENGTH, MAX_MESSAGE_LENGTH, MIN_MESSAGE_LENGTH, allocMessage, checkHeader } from './header.js';
import { copyBytes, rd16, wr16 } from './nlri.js';
import { decodeOpen, encodeOpen } from './open.js';
import { decodeUpdate, encodeUpdate } from './update.js';

/** Encodes one message, header included. `ctx` shapes UPDATEs only. */
export function encodeMessage(msg: BgpMessage, ctx: CodecContext): Buffer {
  switch (msg.type) {
    case MessageType.Open:
      return encodeOpen(msg);
    case MessageType.Update:
      return encodeUpdate(msg, ctx);
    case MessageType.Notification: {
      const buf = allocMessage(HEADER_LENGTH + 2 + msg.data.length, MessageType.Notification);
      buf[19] = msg.code;
      buf[20] = msg.subcode;
      buf.set(msg.data, 21);
      return buf;
    }
    case MessageType.Keepalive:
      return allocMessage(HEADER_LENGTH, MessageType.Keepalive);
    case MessageType.RouteRefresh: {
      const buf = allocMessage(23, MessageType.RouteRefresh);
      wr16(buf, 19, msg.afi);
      buf[21] = 0;
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
  const length = checkHeader(frame, 0, MAX_MESSAGE_LENGTH);
  if (length !== frame.length) throw badLength(length, `header length differs from the ${frame.length}-octet frame`);
  const type = frame[18]!;
  if (length < MIN_MESSAGE_LENGTH[type]!) throw badLength(length, `message type ${type}`);
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
    default: {
      // RFC 7313 §5: a ROUTE-REFRESH of any length but 23 is an Invalid Message
      // Length error carrying the whole message.
      if (length !== 23) {
        throw new BgpWireError(ErrorCode.RouteRefresh, RouteRefreshSubcode.InvalidMessageLength, `ROUTE-REFRESH of ${length} octets`, frame);
      }
      const message: RouteRefreshMessage = { type: MessageType.RouteRefresh, afi: rd16(frame, 19), safi: frame[22]! };
      return { message, action: NONE, problems: [] };
    }
  }
}
