/**
 * BGP-4 messages as the rest of the speaker sees them (RFC 4271 §4).
 * Prefixes are canonical strings (see #lib/prefix); addresses are text.
 * A decoded UPDATE also carries its prefixes as the wire has them
 * (UpdateMessage.received), and makes the strings only when they are read.
 */
import type { Family } from '#lib/prefix';

export const enum MessageType {
  Open = 1,
  Update = 2,
  Notification = 3,
  Keepalive = 4,
  RouteRefresh = 5,
}

export const AFI_IPV4 = 1;
export const AFI_IPV6 = 2;
export const SAFI_UNICAST = 1;

/** RFC 5492 capabilities the speaker understands; anything else is kept raw. */
export type Capability =
  | { code: 1; afi: number; safi: number } // RFC 4760 multiprotocol
  | { code: 2 } // RFC 2918 route refresh
  | { code: 5; entries: { afi: number; safi: number; nextHopAfi: number }[] } // RFC 8950 extended next hop
  | { code: 6 } // RFC 8654 extended messages
  | { code: 9; role: number } // RFC 9234 BGP Role (a BgpRole value; others are kept as sent)
  | { code: 64; restartState: boolean; notification: boolean; restartTime: number; families: GracefulRestartFamily[] } // RFC 4724 graceful restart (N bit: RFC 8538)
  | { code: 65; asn: number } // RFC 6793 4-octet AS
  | { code: 69; families: AddPathFamily[] } // RFC 7911 ADD-PATH
  | { code: 70 } // RFC 7313 enhanced route refresh
  | { code: 71; families: LongLivedFamily[] } // RFC 9494 long-lived graceful restart
  | { code: number; raw: Uint8Array };

/** RFC 9234 §4.1: the BGP Role capability's value. */
export const enum BgpRole {
  Provider = 0,
  RouteServer = 1,
  RouteServerClient = 2,
  Customer = 3,
  Peer = 4,
}

/** RFC 4724 §3: a family the speaker can restart for; F: its forwarding state was kept. */
export interface GracefulRestartFamily {
  afi: number;
  safi: number;
  forwardingState: boolean;
}

/**
 * RFC 9494 §3: a family the speaker keeps routes of for a long-lived stale
 * time (seconds, 24 bits) after a graceful restart ends; F: its forwarding
 * state was kept.
 */
export interface LongLivedFamily {
  afi: number;
  safi: number;
  forwardingState: boolean;
  staleTime: number;
}

/**
 * RFC 7911 §4: a family for which the speaker can receive (Send/Receive 1),
 * send (2) or both (3) several paths per prefix.
 */
export interface AddPathFamily {
  afi: number;
  safi: number;
  receive: boolean;
  send: boolean;
}

export interface OpenMessage {
  type: MessageType.Open;
  version: number;
  /** The 2-octet My Autonomous System field (AS_TRANS 23456 when the real ASN is 4-octet). */
  myAs: number;
  holdTime: number;
  /** BGP Identifier, dotted quad. */
  bgpId: string;
  capabilities: Capability[];
}

export const enum Origin {
  Igp = 0,
  Egp = 1,
  Incomplete = 2,
}

export const enum AsPathSegmentType {
  AsSet = 1,
  AsSequence = 2,
  ConfedSequence = 3,
  ConfedSet = 4,
}

export interface AsPathSegment {
  type: AsPathSegmentType;
  asns: number[];
}

export interface UnknownAttribute {
  flags: number;
  code: number;
  value: Uint8Array;
}

/**
 * RFC 4360 §2: one extended community, its 8 octets as two 32-bit halves. The
 * high half holds the Type octet (its top bits: IANA authority, and 0x40 for
 * non-transitive), the Sub-Type octet where the type has one, and the first
 * two value octets; the low half the last four value octets.
 */
export type ExtendedCommunity = readonly [high: number, low: number];

/** RFC 8092 §3: Global Administrator, Local Data Part 1, Local Data Part 2. */
export type LargeCommunity = readonly [globalAdmin: number, localData1: number, localData2: number];

/** Path attributes (RFC 4271 §5), already decoded. MP_REACH/MP_UNREACH live on the UpdateMessage. */
export interface PathAttributes {
  origin?: Origin;
  /** Always 4-octet ASNs here; the codec merges AS4_PATH when the session is 2-octet. */
  asPath?: AsPathSegment[];
  /** IPv4 NEXT_HOP attribute (code 3). */
  nextHop?: string;
  med?: number;
  localPref?: number;
  atomicAggregate?: boolean;
  aggregator?: { asn: number; address: string };
  communities?: number[];
  /** RFC 4360 EXTENDED_COMMUNITIES (type 16), in the order received. */
  extendedCommunities?: ExtendedCommunity[];
  /**
   * RFC 5701 IPv6 Address Specific Extended Community (type 25): the value as
   * received, 20 octets per community, carried without interpretation.
   */
  ipv6ExtendedCommunities?: Uint8Array;
  /** RFC 8092 LARGE_COMMUNITY (type 32), in the order received, duplicates removed (RFC 8092 §3). */
  largeCommunities?: LargeCommunity[];
  /** RFC 9234 §5 ONLY_TO_CUSTOMER (OTC, type 35): the AS number it carries. */
  otc?: number;
  /** Optional transitive attributes not understood: carried on with the Partial bit set. */
  unknown?: UnknownAttribute[];
}

export interface MpReach {
  afi: number;
  safi: number;
  /** One or two next hops: global, then link-local (RFC 2545 §3). IPv4 next hop for RFC 8950 over v6 is allowed. */
  nextHops: string[];
  nlri: string[];
  /** RFC 7911 §3: the Path Identifier of each NLRI, same order; present exactly when ADD-PATH applies to the family in this direction. */
  pathIds?: number[];
}

export interface MpUnreach {
  afi: number;
  safi: number;
  withdrawn: string[];
  /** RFC 7911 §3: the Path Identifier of each withdrawn prefix (see MpReach.pathIds). */
  pathIds?: number[];
}

/**
 * One prefix field of a received UPDATE (Withdrawn Routes, NLRI, or the
 * prefixes of MP_REACH_NLRI / MP_UNREACH_NLRI), checked by the decoder and
 * left where it is: b[start, end) of the message, RFC 4271 §4.3 encoding
 * (a length octet, then the fewest octets that hold it), with a 4-octet
 * Path Identifier before each prefix when `addPath` (RFC 7911 §3). Read it
 * with PrefixReader (wire/nlri.ts). A view: it keeps the frame alive.
 */
export interface PrefixRun {
  readonly bytes: Uint8Array;
  readonly start: number;
  readonly end: number;
  readonly family: Family;
  readonly addPath: boolean;
  /** Prefixes in the run. */
  readonly count: number;
}

/** The prefix fields of a received UPDATE, as the wire has them (see UpdateMessage.received). */
export interface ReceivedNlri {
  /** IPv4 Withdrawn Routes (RFC 4271 §4.3). */
  readonly withdrawn: PrefixRun;
  /** IPv4 NLRI (RFC 4271 §4.3). */
  readonly nlri: PrefixRun;
  /** The NLRI of MP_REACH_NLRI (RFC 4760 §3), when mpReach is present. */
  readonly reach?: PrefixRun;
  /** The Withdrawn Routes of MP_UNREACH_NLRI (RFC 4760 §4), when mpUnreach is present. */
  readonly unreach?: PrefixRun;
}

export interface UpdateMessage {
  type: MessageType.Update;
  /** IPv4 withdrawn routes (RFC 4271 §4.3). */
  withdrawn: string[];
  attributes: PathAttributes;
  /** IPv4 NLRI. */
  nlri: string[];
  /** RFC 7911 §3: Path Identifiers of `withdrawn`, same order, when ADD-PATH applies to IPv4 unicast. */
  withdrawnPathIds?: number[];
  /** RFC 7911 §3: Path Identifiers of `nlri`, same order, when ADD-PATH applies to IPv4 unicast. */
  nlriPathIds?: number[];
  mpReach?: MpReach;
  mpUnreach?: MpUnreach;
  /**
   * Set by the decoder on a message it did not rewrite (RFC 7606
   * treat-as-withdraw makes a plain one): the prefix fields as checked
   * views of the received bytes, which the RIB turns into prefix numbers
   * without a text each. The text lists and Path Identifiers of such a
   * message are made from them when first read (the decoder's classes in
   * wire/received.ts; toPlain gives such a message as a plain object).
   */
  readonly received?: ReceivedNlri;
  /**
   * Set by the Adj-RIB-Out packer (UpdatePacker): the prefix fields already
   * in their wire form, written from prefix numbers; encodeUpdate copies
   * them as they are, and the text lists are made from them only when read
   * (logs, tests). Such a message is not changed after it is made. Made by
   * the same class as a received one (wire/received.ts).
   */
  readonly packed?: ReceivedNlri;
}

export interface NotificationMessage {
  type: MessageType.Notification;
  code: number;
  subcode: number;
  data: Uint8Array;
}

export interface KeepaliveMessage {
  type: MessageType.Keepalive;
}

/** RFC 7313 §3.2: the ROUTE-REFRESH Message Subtype, the octet RFC 2918 called Reserved. */
export const enum RouteRefreshSubtype {
  /** RFC 2918 §3: a request to send the family's routes again. */
  Request = 0,
  /** RFC 7313 §3.2: Beginning of Route Refresh (BoRR). */
  BeginningOfRouteRefresh = 1,
  /** RFC 7313 §3.2: End of Route Refresh (EoRR). */
  EndOfRouteRefresh = 2,
}

export interface RouteRefreshMessage {
  type: MessageType.RouteRefresh;
  afi: number;
  /** A RouteRefreshSubtype; RFC 7313 §3.2: a receiver ignores a message with any other value. */
  subtype: number;
  safi: number;
}

export type BgpMessage = OpenMessage | UpdateMessage | NotificationMessage | KeepaliveMessage | RouteRefreshMessage;

/** What was negotiated on a session; every codec call is given it (no globals). */
export interface CodecContext {
  /** RFC 6793: both sides advertised the 4-octet AS capability. */
  fourOctetAs: boolean;
  /**
   * The peer is in another AS (eBGP). Enables the RFC 7606 checks that depend on
   * it (§7.2 confederation segments, §7.5 LOCAL_PREF); undefined: not applied.
   */
  external?: boolean;
  /**
   * RFC 8654: both sides advertised extended messages, so messages other than
   * OPEN and KEEPALIVE may be up to 65535 octets (4096 otherwise).
   */
  extendedMessages?: boolean;
  /**
   * RFC 7313: both sides advertised enhanced route refresh (capability 70).
   * Decides how a ROUTE-REFRESH of the wrong length is answered (§5).
   */
  enhancedRouteRefresh?: boolean;
  /**
   * RFC 7911 §4/§5: the unicast families whose NLRI carry a 4-octet Path
   * Identifier, per direction. `receive`: we advertised receive and the peer
   * send (the decoder expects them); `send`: we advertised send and the peer
   * receive (the encoder writes them). Absent: none.
   */
  addPath?: AddPathDirections;
}

/** RFC 7911 §5: per family (by AFI, unicast) and direction, whether Path Identifiers are carried. */
export interface AddPathDirections {
  readonly receive: { readonly ipv4: boolean; readonly ipv6: boolean };
  readonly send: { readonly ipv4: boolean; readonly ipv6: boolean };
}

/** NOTIFICATION error codes, RFC 4271 §4.5. */
export const enum ErrorCode {
  MessageHeader = 1,
  OpenMessage = 2,
  UpdateMessage = 3,
  HoldTimerExpired = 4,
  Fsm = 5,
  Cease = 6,
  RouteRefresh = 7,
}

/** RFC 7606 §2 error handling approaches, weakest to strongest. */
export type ErrorAction = 'attribute-discard' | 'treat-as-withdraw' | 'session-reset';

/** One decoded message. Session-reset errors are thrown (BgpWireError) instead. */
export interface DecodedMessage {
  message: BgpMessage;
  /**
   * RFC 7606 outcome for UPDATEs; 'none' otherwise. For 'treat-as-withdraw' the
   * message is already rewritten: every reachable NLRI moved to the withdrawals
   * (withdrawn / mpUnreach) and the attributes cleared. For 'attribute-discard'
   * the offending attributes are already dropped.
   */
  action: 'none' | 'attribute-discard' | 'treat-as-withdraw';
  /** One line per problem, for logs. */
  problems: string[];
}
