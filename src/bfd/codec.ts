/**
 * The BFD Control packet (RFC 5880 §4.1) and the checks of §6.8.6 that need
 * no session state. Pure: Buffer only, and decode throws nothing but
 * BfdDecodeError.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * |Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
 * |                       My Discriminator                        |
 * |                      Your Discriminator                       |
 * |                    Desired Min TX Interval                    |
 * |                   Required Min RX Interval                    |
 * |                 Required Min Echo RX Interval                 |
 *
 * Authentication (§4.2–4.4) is not implemented: a packet with the A bit is
 * read far enough to name its type and then refused (§6.8.6: a session
 * without authentication discards packets that have the A bit).
 */
import { Buffer } from 'node:buffer';

/** RFC 5880 §4.1. */
export const BFD_VERSION = 1;
/** Length of the mandatory section. */
export const BFD_HEADER_LEN = 24;
/** RFC 5880 §4.1: the smallest authentication section (type, length, one octet). */
const MIN_AUTH_LEN = 2;

/** RFC 5880 §4.1 "Sta". */
export enum BfdState {
  AdminDown = 0,
  Down = 1,
  Init = 2,
  Up = 3,
}

/** RFC 5880 §4.1 "Diag". */
export enum BfdDiag {
  None = 0,
  ControlDetectionTimeExpired = 1,
  EchoFunctionFailed = 2,
  NeighborSignaledSessionDown = 3,
  ForwardingPlaneReset = 4,
  PathDown = 5,
  ConcatenatedPathDown = 6,
  AdministrativelyDown = 7,
  ReverseConcatenatedPathDown = 8,
}

const STATE_NAMES = ['AdminDown', 'Down', 'Init', 'Up'] as const;
export type BfdStateName = (typeof STATE_NAMES)[number];

export function stateName(s: BfdState): BfdStateName {
  return STATE_NAMES[s] ?? 'Down';
}

const DIAG_TEXT: readonly string[] = [
  'no diagnostic',
  'control detection time expired',
  'echo function failed',
  'neighbor signaled session down',
  'forwarding plane reset',
  'path down',
  'concatenated path down',
  'administratively down',
  'reverse concatenated path down',
];

export function diagText(d: number): string {
  return DIAG_TEXT[d] ?? `diagnostic ${d}`;
}

/** RFC 5880 §4.2: authentication types, named for the error text. */
const AUTH_TYPES: readonly string[] = ['reserved', 'simple password', 'keyed MD5', 'meticulous keyed MD5', 'keyed SHA1', 'meticulous keyed SHA1'];

export interface BfdControlPacket {
  diag: BfdDiag;
  state: BfdState;
  /** Poll. */
  poll: boolean;
  /** Final. */
  final: boolean;
  /** Control Plane Independent. */
  cpi: boolean;
  /** Authentication Present: encode never sets it (no authentication here). */
  auth: boolean;
  /** Demand. */
  demand: boolean;
  detectMult: number;
  myDiscriminator: number;
  yourDiscriminator: number;
  /** Microseconds. */
  desiredMinTx: number;
  /** Microseconds. */
  requiredMinRx: number;
  /** Microseconds; 0: no Echo function. */
  requiredMinEchoRx: number;
}

/** Which §6.8.6 rule (or §4.1 field) a packet broke. */
export type BfdDecodeReason =
  | 'short'
  | 'version'
  | 'length'
  | 'detect-mult'
  | 'multipoint'
  | 'my-discriminator'
  | 'your-discriminator'
  | 'authentication';

/** A packet to discard, and the rule that says so. */
export class BfdDecodeError extends Error {
  constructor(
    readonly reason: BfdDecodeReason,
    message: string,
  ) {
    super(message);
    this.name = 'BfdDecodeError';
  }
}

function fail(reason: BfdDecodeReason, message: string): never {
  throw new BfdDecodeError(reason, message);
}

/**
 * The packet in `buf` (the UDP payload), after the checks of RFC 5880 §6.8.6
 * that need no session: version, length, detect mult, M bit, discriminators,
 * and the A bit (refused: no authentication here).
 */
export function decodeControl(buf: Buffer): BfdControlPacket {
  if (buf.length < BFD_HEADER_LEN) fail('short', `${buf.length} octets; a control packet has at least ${BFD_HEADER_LEN} (RFC 5880 §4.1)`);
  const b0 = buf[0]!;
  const b1 = buf[1]!;
  const version = b0 >> 5;
  // RFC 5880 §6.8.6: version other than 1 is discarded.
  if (version !== BFD_VERSION) fail('version', `version ${version}; only ${BFD_VERSION} is known (RFC 5880 §6.8.6)`);
  const auth = (b1 & 0x04) !== 0;
  const length = buf[3]!;
  // §6.8.6: Length less than 24 (26 with the A bit) or more than the payload: discarded.
  const min = auth ? BFD_HEADER_LEN + MIN_AUTH_LEN : BFD_HEADER_LEN;
  if (length < min) fail('length', `length field ${length} < ${min} (RFC 5880 §6.8.6)`);
  if (length > buf.length) fail('length', `length field ${length} > the ${buf.length} octets received (RFC 5880 §6.8.6)`);
  const detectMult = buf[2]!;
  if (detectMult === 0) fail('detect-mult', 'detect mult 0 (RFC 5880 §6.8.6)');
  if ((b1 & 0x01) !== 0) fail('multipoint', 'M bit set (RFC 5880 §6.8.6)');
  const myDiscriminator = buf.readUInt32BE(4);
  const yourDiscriminator = buf.readUInt32BE(8);
  if (myDiscriminator === 0) fail('my-discriminator', 'My Discriminator 0 (RFC 5880 §6.8.6)');
  const state = (b1 >> 6) as BfdState;
  // §6.8.6: Your Discriminator 0 is only for a sender that is Down or AdminDown.
  if (yourDiscriminator === 0 && state !== BfdState.Down && state !== BfdState.AdminDown) {
    fail('your-discriminator', `Your Discriminator 0 in state ${stateName(state)} (RFC 5880 §6.8.6)`);
  }
  if (auth) {
    const type = buf[BFD_HEADER_LEN]!;
    fail('authentication', `authentication (${AUTH_TYPES[type] ?? `type ${type}`}) present; sessions here use none (RFC 5880 §6.8.6)`);
  }
  return {
    diag: (b0 & 0x1f) as BfdDiag,
    state,
    poll: (b1 & 0x20) !== 0,
    final: (b1 & 0x10) !== 0,
    cpi: (b1 & 0x08) !== 0,
    auth,
    demand: (b1 & 0x02) !== 0,
    detectMult,
    myDiscriminator,
    yourDiscriminator,
    desiredMinTx: buf.readUInt32BE(12),
    requiredMinRx: buf.readUInt32BE(16),
    requiredMinEchoRx: buf.readUInt32BE(20),
  };
}

/** The 24 octets of `p` (no authentication section; the A bit is never set). */
export function encodeControl(p: BfdControlPacket): Buffer {
  const buf = Buffer.alloc(BFD_HEADER_LEN);
  buf[0] = (BFD_VERSION << 5) | (p.diag & 0x1f);
  buf[1] = ((p.state & 3) << 6) | (p.poll ? 0x20 : 0) | (p.final ? 0x10 : 0) | (p.cpi ? 0x08 : 0) | (p.demand ? 0x02 : 0);
  buf[2] = p.detectMult;
  buf[3] = BFD_HEADER_LEN;
  buf.writeUInt32BE(p.myDiscriminator >>> 0, 4);
  buf.writeUInt32BE(p.yourDiscriminator >>> 0, 8);
  buf.writeUInt32BE(p.desiredMinTx >>> 0, 12);
  buf.writeUInt32BE(p.requiredMinRx >>> 0, 16);
  buf.writeUInt32BE(p.requiredMinEchoRx >>> 0, 20);
  return buf;
}
