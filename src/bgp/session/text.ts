/**
 * NOTIFICATION text for logs and `lastError`, with what a Cease carries: the
 * RFC 8203/9003 shutdown communication (Administrative Shutdown and Reset) and
 * the RFC 4486 §4 family and limit (Maximum Number of Prefixes Reached).
 */
import { AFI_IPV4, AFI_IPV6, CeaseSubcode, ErrorCode, SAFI_UNICAST, carriesShutdownCommunication, decodeMaxPrefixData, encodeShutdownCommunication, readShutdownCommunication } from '#bgp/wire/index';

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

/** "6/2 Administrative Shutdown: \"maintenance\"", "6/1 Maximum Number of Prefixes Reached: ipv4-unicast limit 1000". */
export function notificationText(code: number, subcode: number, data: Uint8Array): string {
  const entry = NAMES[code];
  const name = entry ? (entry[1][subcode] ?? entry[0]) : 'Unknown Error';
  return `${code}/${subcode} ${name}${detail(code, subcode, data)}`;
}

function detail(code: number, subcode: number, data: Uint8Array): string {
  if (carriesShutdownCommunication(code, subcode)) {
    const comm = readShutdownCommunication(data).text;
    return comm === null ? '' : `: "${comm}"`;
  }
  if (code === ErrorCode.Cease && subcode === CeaseSubcode.MaximumPrefixesReached) {
    const d = decodeMaxPrefixData(data);
    return d === null ? '' : `: ${familyText(d.afi, d.safi)} limit ${d.limit}`;
  }
  return '';
}

/** RFC 4760 family names as BIRD and GoBGP print them. */
function familyText(afi: number, safi: number): string {
  const a = afi === AFI_IPV4 ? 'ipv4' : afi === AFI_IPV6 ? 'ipv6' : `afi${afi}`;
  return `${a}-${safi === SAFI_UNICAST ? 'unicast' : `safi${safi}`}`;
}

export { encodeShutdownCommunication };

/** Null when absent or malformed (RFC 9003 §4: a bad communication is ignored, not an error). */
export function decodeShutdownCommunication(data: Uint8Array): string | null {
  return readShutdownCommunication(data).text;
}
