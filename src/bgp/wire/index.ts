/**
 * The BGP-4 message codec: bytes <-> BgpMessage, pure and synchronous.
 * Decoding: MessageFramer splits the stream, decodeMessage turns one frame into
 * a message plus its RFC 7606 outcome, or throws BgpWireError (the NOTIFICATION
 * to send). Encoding: encodeMessage, given what the session negotiated.
 */
export * from './types.js';
export { BgpWireError, CeaseSubcode, HeaderSubcode, OpenSubcode, RouteRefreshSubcode, UpdateSubcode } from './errors.js';
export { encodeMessage, decodeMessage } from './messages.js';
export { MessageFramer } from './framer.js';
export {
  MAX_SHUTDOWN_COMMUNICATION,
  carriesShutdownCommunication,
  checkShutdownCommunication,
  decodeMaxPrefixData,
  encodeMaxPrefixData,
  encodeShutdownCommunication,
  readShutdownCommunication,
} from './cease.js';
export type { MaxPrefixData, ShutdownCommunication } from './cease.js';
export { AS_TRANS, AttrCode, FLAG_EXTENDED_LENGTH, FLAG_OPTIONAL, FLAG_PARTIAL, FLAG_TRANSITIVE } from './attributes.js';
export { treatAsWithdraw } from './update.js';
export { BGP_VERSION, CapabilityCode, MAX_LONG_LIVED_STALE_TIME, acceptsIpv4OverIpv6, buildOpen, negotiateAddPath, negotiatedContext, openCapabilities } from './open.js';
export type { OpenCapabilities, OpenOptions } from './open.js';
export { EXTENDED_MAX_MESSAGE_LENGTH, HEADER_LENGTH, MAX_MESSAGE_LENGTH } from './header.js';
