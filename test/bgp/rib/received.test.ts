/**
 * A decoded UPDATE goes into the RIB from its bytes (UpdateMessage.received:
 * prefix numbers straight from the wire words, no text per prefix) and must
 * leave the RIB exactly as the same UPDATE given as text does: withdrawals
 * before announcements (RFC 4271 §4.3), implicit withdraw (§3.1), MP_REACH /
 * MP_UNREACH (RFC 4760), Path Identifiers (RFC 7911 §3), martians refused
 * and prefix-list policy applied per prefix.
 */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { decodeMessage, encodeMessage } from '#bgp/wire/index';
import type { ReceivedUpdate } from '#bgp/wire/received';
import type { CodecContext, UpdateMessage } from '#bgp/wire/index';
import { AFI_IPV6, MessageType, SAFI_UNICAST } from '#bgp/wire/types';
import { Rib, isEndOfRib } from '#bgp/rib/index';
import type { LocRibChange } from '#bgp/rib/index';
import { compileChain } from '#bgp/policy/engine';
import type { PolicyDefinitions } from '#config/types';
import { LOCAL_ASN, LOCAL_ROUTER_ID, attrs, peer, seq, stepMessage, updateStep } from './helpers.js';

const V4 = ['0.0.0.0/0', '10.0.0.0/8', '10.1.0.0/16', '10.1.2.0/24', '10.1.2.2/31', '192.0.2.1/32', '127.0.0.0/8', '224.0.0.0/4', '128.0.0.0/1'];
const V6 = ['::/0', '2001:db8::/32', '2001:db8:1::/48', '2001:db8:8000::/33', '2001:db8::1/128', 'fe80::/10', 'ff02::/16', '::1/128'];

const DEFS: PolicyDefinitions = {
  prefixLists: {
    inner: [
      { prefix: '10.1.0.0/16', ge: 16, le: 32 },
      { prefix: '2001:db8::/32', ge: 33, le: 128 },
    ],
  },
  asPathLists: {},
  asSets: {},
  communityLists: {},
  policies: {
    'from-peers': {
      terms: [
        { name: 'inner-pref', match: { prefixList: ['inner'] }, set: { localPref: 300 }, action: 'accept' },
        { name: 'no-default', match: { prefixList: ['defaults'] }, set: {}, action: 'reject' },
      ],
      default: 'accept',
    },
  },
};
DEFS.prefixLists['defaults'] = [
  { prefix: '0.0.0.0/0', ge: 0, le: 0 },
  { prefix: '::/0', ge: 0, le: 0 },
];

const BOTH = { ipv4: true, ipv6: true };
const NONE = { ipv4: false, ipv6: false };

const step = updateStep(V4, V6);

function ribWith(policy: boolean): Rib {
  const r = new Rib({ asn: LOCAL_ASN, routerId: LOCAL_ROUTER_ID, backups: true });
  for (const n of [2, 3]) {
    const chain = policy ? compileChain(DEFS, ['from-peers'], LOCAL_ASN, false, 'import') : null;
    r.addPeer(peer(`p${n}`, 65000 + n, n), { import: chain, export: null, softReconfiguration: policy });
  }
  return r;
}

/** A change without its prefix number (a hint, not part of what changed). */
function plain(changes: LocRibChange[]): unknown[] {
  return changes.map(({ id: _id, ...rest }) => rest);
}

function snapshot(r: Rib): unknown {
  return {
    paths: [...V4, ...V6].map((p) => [p, r.paths(p), r.receivedPaths(p).map((x) => [x.peer.id, x.route.pathId, x.ineligible])]),
    counts: ['p2', 'p3'].map((p) => [r.receivedCount(p), r.acceptedCount(p)]),
    size: r.size,
  };
}

describe('received UPDATEs into the RIB without prefix texts', () => {
  for (const addPath of [false, true]) {
    for (const policy of [false, true]) {
      test(`decoded from the wire = the same UPDATE as text (ADD-PATH ${addPath}, prefix-list import policy ${policy})`, () => {
        const rx: CodecContext = addPath ? { fourOctetAs: true, addPath: { receive: BOTH, send: NONE } } : { fourOctetAs: true };
        const tx: CodecContext = addPath ? { fourOctetAs: true, addPath: { receive: NONE, send: BOTH } } : { fourOctetAs: true };
        fc.assert(
          fc.property(fc.array(step, { minLength: 1, maxLength: 12 }), (steps) => {
            const fromWire = ribWith(policy);
            const fromText = ribWith(policy);
            for (const s of steps) {
              const text = stepMessage(s, addPath);
              const decoded = decodeMessage(encodeMessage(text, tx), rx).message as UpdateMessage;
              expect(decoded.received).toBeDefined();
              // The agent asks every UPDATE whether it is an End-of-RIB first (RFC 4724 §2).
              expect(isEndOfRib(decoded)).toEqual(isEndOfRib(text));
              const a = fromWire.applyUpdate(`p${s.peer + 2}`, decoded);
              // Nothing asked the decoded message for its texts: they were never made.
              expect((decoded as ReceivedUpdate).textsMade).toBe(false);
              const b = fromText.applyUpdate(`p${s.peer + 2}`, text);
              expect(plain(a)).toEqual(plain(b));
            }
            expect(snapshot(fromWire)).toEqual(snapshot(fromText));
          }),
          { numRuns: 150 },
        );
      });
    }
  }

  test('RFC 4724 §2: End-of-RIB is told from the prefix runs of a decoded UPDATE', () => {
    const ctx: CodecContext = { fourOctetAs: true };
    const eor4 = decodeMessage(encodeMessage({ type: MessageType.Update, withdrawn: [], attributes: {}, nlri: [] }, ctx), ctx).message as UpdateMessage;
    const eor6 = decodeMessage(encodeMessage({ type: MessageType.Update, withdrawn: [], attributes: {}, nlri: [], mpUnreach: { afi: AFI_IPV6, safi: SAFI_UNICAST, withdrawn: [] } }, ctx), ctx).message as UpdateMessage;
    const withdraw6 = decodeMessage(encodeMessage({ type: MessageType.Update, withdrawn: [], attributes: {}, nlri: [], mpUnreach: { afi: AFI_IPV6, safi: SAFI_UNICAST, withdrawn: ['2001:db8::/32'] } }, ctx), ctx).message as UpdateMessage;
    const withdraw4 = decodeMessage(encodeMessage({ type: MessageType.Update, withdrawn: ['10.0.0.0/8'], attributes: {}, nlri: [] }, ctx), ctx).message as UpdateMessage;
    expect([isEndOfRib(eor4), isEndOfRib(eor6), isEndOfRib(withdraw6), isEndOfRib(withdraw4)]).toEqual([{ afi: 1, safi: 1 }, { afi: 2, safi: 1 }, null, null]);
    expect((withdraw6 as ReceivedUpdate).textsMade).toBe(false);
  });

  test('RFC 4271 §4.3: a prefix sent with trailing bits set is the same route as without them', () => {
    const r = ribWith(false);
    // 10.1.2.0/23 is the NLRI octets 17 0a 01 02, last in the frame; 03 there sets bit 24, past the length.
    const frame = encodeMessage({ type: MessageType.Update, withdrawn: [], attributes: { ...attrs({ asPath: [seq(65002)] }), nextHop: '10.255.2.1' }, nlri: ['10.1.2.0/23'] }, { fourOctetAs: true });
    frame[frame.length - 1] = 0x03;
    r.applyUpdate('p2', decodeMessage(frame, { fourOctetAs: true }).message as UpdateMessage);
    expect(r.best('10.1.2.0/23')?.peer).toBe('p2');
    r.applyUpdate('p2', { type: MessageType.Update, withdrawn: ['10.1.2.0/23'], attributes: {}, nlri: [] });
    expect(r.size).toBe(0);
  });
});
