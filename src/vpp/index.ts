/** The VPP binary API client: the public face for wg/vpp and fib/vpp. */
export { MESSAGES, TYPES, VPP_RELEASE, messageDef } from './defs/index.js';
export type { FieldDef, MessageDef, TypeDef } from './defs/index.js';
export { messageCrc } from './crc.js';
export { decode, encode, fieldLayout, peekMsgId, sizeOf } from './codec.js';
export type { VppRecord, VppValue } from './codec.js';
export { asNumber, asRecord } from './values.js';
export { FrameReader, frame } from './framing.js';
export {
  fromVppAddress,
  fromVppAddressUnion,
  fromVppAddressWithPrefix,
  fromVppPrefix,
  toVppAddress,
  toVppAddressUnion,
  toVppPrefix,
  ADDRESS_IP4,
  ADDRESS_IP6,
} from './address.js';
export type { VppAddress, VppPrefix } from './address.js';
export { VppClient, checkCrcs, companionsOf } from './client.js';
export type { BulkRequests, BulkResult, RawDetails, VppClientOptions } from './client.js';
export { VppConnection } from './connection.js';
export type { VppConnectionOptions, VppConnectionState } from './connection.js';
export {
  VppApiError,
  VppClosedError,
  VppCodecError,
  VppError,
  VppIncompatibleError,
  VppTimeoutError,
  VppUnavailableError,
} from './errors.js';
export type { CrcMismatch } from './errors.js';
export { vnetApiErrorName, vnetApiErrorText } from './errno.js';
