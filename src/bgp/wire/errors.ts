/**
 * The one error type of the codec. Every decode failure carries the NOTIFICATION
 * it calls for (RFC 4271 §4.5, §6) and the RFC 7606 §2 approach it implies; a
 * thrown error is always 'session-reset' (the weaker approaches are outcomes of
 * a successful decode, not exceptions).
 */
import { ErrorCode, MessageType } from './types.js';
import type { ErrorAction, NotificationMessage } from './types.js';
import { copyBytes } from './nlri.js';

/** RFC 4271 §4.5 Message Header Error subcodes. */
export const HeaderSubcode = {
  ConnectionNotSynchronized: 1,
  BadMessageLength: 2,
  BadMessageType: 3,
} as const;

/** RFC 4271 §4.5 OPEN Message Error subcodes (RFC 5492 §5 for 7). */
export const OpenSubcode = {
  Unspecific: 0,
  UnsupportedVersionNumber: 1,
  BadPeerAs: 2,
  BadBgpIdentifier: 3,
  UnsupportedOptionalParameter: 4,
  UnacceptableHoldTime: 6,
  UnsupportedCapability: 7,
  /** RFC 9234 §4.2. */
  RoleMismatch: 11,
} as const;

/** RFC 4271 §4.5 UPDATE Message Error subcodes. */
export const UpdateSubcode = {
  MalformedAttributeList: 1,
  UnrecognizedWellKnownAttribute: 2,
  MissingWellKnownAttribute: 3,
  AttributeFlagsError: 4,
  AttributeLengthError: 5,
  InvalidOrigin: 6,
  InvalidNextHop: 8,
  OptionalAttributeError: 9,
  InvalidNetworkField: 10,
  MalformedAsPath: 11,
} as const;

/** RFC 4486 (and RFC 8538 for Hard Reset) Cease subcodes, for the session's NOTIFICATIONs. */
export const CeaseSubcode = {
  MaximumPrefixesReached: 1,
  AdministrativeShutdown: 2,
  PeerDeconfigured: 3,
  AdministrativeReset: 4,
  ConnectionRejected: 5,
  OtherConfigurationChange: 6,
  ConnectionCollisionResolution: 7,
  OutOfResources: 8,
  HardReset: 9,
} as const;

/** RFC 7313 §5 ROUTE-REFRESH Message Error subcode. */
export const RouteRefreshSubcode = {
  InvalidMessageLength: 1,
} as const;

const EMPTY = new Uint8Array(0);

export class BgpWireError extends Error {
  readonly code: number;
  readonly subcode: number;
  /** The NOTIFICATION data field; a copy, never a view into a receive buffer. */
  readonly data: Uint8Array;
  readonly action: ErrorAction;

  constructor(code: number, subcode: number, message: string, data: Uint8Array = EMPTY, action: ErrorAction = 'session-reset') {
    super(message);
    this.name = 'BgpWireError';
    this.code = code;
    this.subcode = subcode;
    this.data = data.length === 0 ? EMPTY : copyBytes(data);
    this.action = action;
  }

  /** The NOTIFICATION the session sends before closing (RFC 4271 §6). */
  notification(): NotificationMessage {
    return { type: MessageType.Notification, code: this.code, subcode: this.subcode, data: this.data };
  }
}

/** RFC 7606 §3: when several errors call for different approaches, the strongest one is used. */
const RANK: Record<ErrorAction | 'none', number> = {
  none: 0,
  'attribute-discard': 1,
  'treat-as-withdraw': 2,
  'session-reset': 3,
};

export function strongerAction(a: ErrorAction | 'none', b: ErrorAction | 'none'): boolean {
  return RANK[a] > RANK[b];
}

export function headerError(subcode: number, message: string, data?: Uint8Array): BgpWireError {
  return new BgpWireError(ErrorCode.MessageHeader, subcode, message, data);
}

export function openError(subcode: number, message: string, data?: Uint8Array): BgpWireError {
  return new BgpWireError(ErrorCode.OpenMessage, subcode, message, data);
}

export function updateError(subcode: number, message: string, data?: Uint8Array): BgpWireError {
  return new BgpWireError(ErrorCode.UpdateMessage, subcode, message, data);
}

/** RFC 4271 §6.1: Bad Message Length carries the erroneous Length field. */
export function badLength(length: number, what: string): BgpWireError {
  return headerError(HeaderSubcode.BadMessageLength, `${what}: bad message length ${length}`, u16Bytes(length));
}

export function u16Bytes(v: number): Uint8Array {
  return Uint8Array.of((v >>> 8) & 0xff, v & 0xff);
}
