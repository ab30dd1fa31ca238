/**
 * RFC 7606 revised UPDATE error handling, one test per rule, plus the RFC 4271
 * §6.3 / RFC 6793 / RFC 7607 cases the walker shares with it.
 */
import { describe, expect, it } from 'vitest';
import { AsPathSegmentType, decodeMessage } from '#bgp/wire/index';
import type { CodecContext, DecodedMessage, UpdateMessage } from '#bgp/wire/index';
import {
  AS_PATH_65002,
  MANDATORY,
  MP_REACH_V6,
  MP_UNREACH_V6,
  NEXT_HOP,
  NLRI_10_1,
  NLRI_10_2,
  ORIGIN_IGP,
  expectNotification,
  updateFrame,
  wireError,
} from './frames.js';

const FOUR: CodecContext = { fourOctetAs: true };
const TWO: CodecContext = { fourOctetAs: false };

function decode(attrs: string, nlri = NLRI_10_1, ctx: CodecContext = FOUR, withdrawn = ''): DecodedMessage {
  return decodeMessage(updateFrame(withdrawn, attrs, nlri), ctx);
}

function update(d: DecodedMessage): UpdateMessage {
  return d.message as UpdateMessage;
}

/** The route 10.1.0.0/24 (and 10.2.0.0/16 when sent) is withdrawn and nothing is left announced. */
function expectWithdrawn(d: DecodedMessage, withdrawn = ['10.1.0.0/24']): void {
  expect(d.action).toBe('treat-as-withdraw');
  expect(d.problems.length).toBeGreaterThan(0);
  const u = update(d);
  expect(u.withdrawn).toEqual(withdrawn);
  expect(u.nlri).toEqual([]);
  expect(u.attributes).toEqual({});
  expect(u.mpReach).toBeUndefined();
}

describe('RFC 7606 §3: general rules', () => {
  it('RFC 7606 §3: Optional/Transitive flags in conflict with the type are treat-as-withdraw', () => {
    // ORIGIN sent as optional transitive.
    expectWithdrawn(decode(`c0 01 01 00 ${AS_PATH_65002} ${NEXT_HOP}`));
  });

  it('RFC 7606 §3: the Partial and Extended Length bits are not flag errors', () => {
    const d = decode(`50 01 0001 00 ${AS_PATH_65002} ${NEXT_HOP} a0 04 04 00000005`);
    expect(d.action).toBe('none');
    expect(update(d).attributes.origin).toBe(0);
    expect(update(d).attributes.med).toBe(5);
  });

  it('RFC 7606 §3: a flags error on MP_REACH_NLRI withdraws the routes it carries', () => {
    const d = decode(`c0 0e 1c 0002 01 10 20010db8000000000000000000000001 00 30 20010db80001 ${ORIGIN_IGP} ${AS_PATH_65002}`, '');
    expect(d.action).toBe('treat-as-withdraw');
    expect(update(d).mpUnreach).toEqual({ afi: 2, safi: 1, withdrawn: ['2001:db8:1::/48'] });
    expect(update(d).mpReach).toBeUndefined();
  });

  it('RFC 7606 §3: a missing well-known mandatory attribute (ORIGIN) is treat-as-withdraw', () => {
    expectWithdrawn(decode(`${AS_PATH_65002} ${NEXT_HOP}`));
  });

  it('RFC 7606 §3: a missing AS_PATH is treat-as-withdraw', () => {
    expectWithdrawn(decode(`${ORIGIN_IGP} ${NEXT_HOP}`));
  });

  it('RFC 7606 §3: a missing NEXT_HOP with IPv4 NLRI is treat-as-withdraw', () => {
    expectWithdrawn(decode(`${ORIGIN_IGP} ${AS_PATH_65002}`, `${NLRI_10_1} ${NLRI_10_2}`), ['10.1.0.0/24', '10.2.0.0/16']);
  });

  it('RFC 7606 §3 (RFC 4760 §3): NEXT_HOP is not needed when the only NLRI is in MP_REACH_NLRI', () => {
    const d = decode(`${MP_REACH_V6} ${ORIGIN_IGP} ${AS_PATH_65002}`, '');
    expect(d.action).toBe('none');
    expect(update(d).mpReach?.nlri).toEqual(['2001:db8:1::/48']);
  });

  it('RFC 7606 §3: mandatory attributes are only required when the UPDATE carries NLRI', () => {
    const d = decode(ORIGIN_IGP, '', FOUR, NLRI_10_2);
    expect(d.action).toBe('none');
    expect(update(d).withdrawn).toEqual(['10.2.0.0/16']);
  });

  it('RFC 7606 §3(g): a repeated attribute is discarded and the first one kept', () => {
    const d = decode(`${ORIGIN_IGP} ${AS_PATH_65002} 40 01 01 02 ${NEXT_HOP}`);
    expect(d.action).toBe('attribute-discard');
    expect(update(d).attributes.origin).toBe(0);
    expect(update(d).nlri).toEqual(['10.1.0.0/24']);
  });

  it('RFC 7606 §3(g): a repeated unrecognised attribute is discarded too', () => {
    const d = decode(`${MANDATORY} c0 63 01 01 c0 63 01 02`);
    expect(d.action).toBe('attribute-discard');
    expect(update(d).attributes.unknown).toEqual([{ flags: 0xe0, code: 99, value: new Uint8Array([1]) }]);
  });

  it('RFC 7606 §3(g): a repeated MP_REACH_NLRI is a session reset (Malformed Attribute List)', () => {
    expectNotification(() => decode(`${MP_REACH_V6} ${MP_REACH_V6} ${ORIGIN_IGP} ${AS_PATH_65002}`, ''), 3, 1);
  });

  it('RFC 7606 §3(g): a repeated MP_UNREACH_NLRI is a session reset (Malformed Attribute List)', () => {
    expectNotification(() => decode(`${MP_UNREACH_V6} ${MP_UNREACH_V6}`, ''), 3, 1);
  });

  it('RFC 7606 §3: when approaches differ the strongest wins', () => {
    // ATOMIC_AGGREGATE of length 1 (discard) and MED of length 2 (withdraw).
    const d = decode(`${MANDATORY} 80 04 02 0001 40 06 01 00`);
    expect(d.problems).toHaveLength(2);
    expectWithdrawn(d);
  });
});

describe('RFC 7606 §4: attribute length fields', () => {
  it('RFC 7606 §4: an attribute overrunning the Total Path Attribute Length is treat-as-withdraw, the NLRI still found', () => {
    // MED claims 9 octets where 4 remain; the NLRI after the attributes is still withdrawn.
    expectWithdrawn(decode(`${MANDATORY} 80 04 09 00000001`));
  });

  it('RFC 7606 §4: trailing octets too short for an attribute header are treat-as-withdraw', () => {
    expectWithdrawn(decode(`${MANDATORY} 40 01`));
  });

  it('RFC 7606 §4: an extended-length header cut short is treat-as-withdraw', () => {
    expectWithdrawn(decode(`${MANDATORY} 90 08 01`));
  });
});

describe('RFC 7606 §5: NLRI', () => {
  it('RFC 7606 §5.2: a treat-as-withdraw error in an UPDATE without reachable NLRI is a session reset', () => {
    expectNotification(() => decode(`40 01 02 00 00 ${AS_PATH_65002}`, ''), 3, 5);
  });

  it('RFC 7606 §5.2: an attribute-discard error without NLRI stays attribute-discard', () => {
    const d = decode(`${ORIGIN_IGP} 40 06 01 00`, '');
    expect(d.action).toBe('attribute-discard');
    expect(update(d).attributes).toEqual({ origin: 0 });
  });

  it('RFC 7606 §5.3: an NLRI prefix longer than 32 bits is a session reset (Invalid Network Field)', () => {
    expectNotification(() => decode(MANDATORY, '21 0a010000 00'), 3, 10);
  });

  it('RFC 7606 §5.3: an NLRI prefix overrunning the message is a session reset', () => {
    expectNotification(() => decode(MANDATORY, '18 0a01'), 3, 10);
  });

  it('RFC 7606 §5.3: Withdrawn Routes are checked like the NLRI field', () => {
    expectNotification(() => decode('', '', FOUR, '20 0a0100'), 3, 10);
  });

  it('RFC 7606 §5.3: an unreadable MP_REACH_NLRI NLRI is a session reset (Optional Attribute Error)', () => {
    expectNotification(() => decode(`80 0e 17 0002 01 10 20010db8000000000000000000000001 00 81 20 ${ORIGIN_IGP} ${AS_PATH_65002}`, ''), 3, 9);
  });

  it('RFC 7606 §5.3: unreadable MP_UNREACH_NLRI withdrawn routes are a session reset', () => {
    expectNotification(() => decode('80 0f 06 0002 01 30 2001', ''), 3, 9);
  });

  it('RFC 7606 §2: treat-as-withdraw moves MP_REACH_NLRI routes into MP_UNREACH_NLRI with those already there', () => {
    const d = decode(`${MP_REACH_V6} ${MP_UNREACH_V6} 40 01 01 07 ${AS_PATH_65002}`, '');
    expect(d.action).toBe('treat-as-withdraw');
    expect(update(d).mpUnreach).toEqual({ afi: 2, safi: 1, withdrawn: ['2001:db8:9::/48', '2001:db8:1::/48'] });
    expect(update(d).attributes).toEqual({});
  });

  it('RFC 7606 §2: treat-as-withdraw of RFC 8950 IPv4 routes in MP_REACH_NLRI lists them as withdrawn IPv4 routes', () => {
    const reach4 = '80 0e 19 0001 01 10 20010db8000000000000000000000001 00 18 0a0100';
    const d = decode(`${reach4} ${MP_UNREACH_V6} 40 01 01 07 ${AS_PATH_65002}`, '');
    expect(d.action).toBe('treat-as-withdraw');
    expect(update(d).withdrawn).toEqual(['10.1.0.0/24']);
    expect(update(d).mpUnreach).toEqual({ afi: 2, safi: 1, withdrawn: ['2001:db8:9::/48'] });
  });
});

describe('RFC 7606 §7: attribute by attribute', () => {
  it('RFC 7606 §7.1: an ORIGIN of length 2 is treat-as-withdraw', () => {
    expectWithdrawn(decode(`40 01 02 0000 ${AS_PATH_65002} ${NEXT_HOP}`));
  });

  it('RFC 7606 §7.1: an undefined ORIGIN value is treat-as-withdraw', () => {
    expectWithdrawn(decode(`40 01 01 03 ${AS_PATH_65002} ${NEXT_HOP}`));
  });

  it('RFC 7606 §7.2: an unreadable AS_PATH is treat-as-withdraw', () => {
    // The segment claims 2 ASNs but carries one.
    expectWithdrawn(decode(`${ORIGIN_IGP} 40 02 06 02 02 0000fdea ${NEXT_HOP}`));
  });

  it('RFC 7606 §7.2: an AS_PATH with an unknown segment type is treat-as-withdraw', () => {
    expectWithdrawn(decode(`${ORIGIN_IGP} 40 02 06 05 01 0000fdea ${NEXT_HOP}`));
  });

  it('RFC 7606 §7.2: an AS_PATH with an empty segment is treat-as-withdraw', () => {
    expectWithdrawn(decode(`${ORIGIN_IGP} 40 02 08 02 00 02 01 0000fdea ${NEXT_HOP}`));
  });

  it('RFC 7606 §7.2: an AS_PATH cut inside a segment header is treat-as-withdraw', () => {
    expectWithdrawn(decode(`${ORIGIN_IGP} 40 02 07 02 01 0000fdea 02 ${NEXT_HOP}`));
  });

  it('RFC 7606 §7.2: confederation segments from an external peer are treat-as-withdraw', () => {
    const attrs = `${ORIGIN_IGP} 40 02 0c 03 01 0000fde8 02 01 0000fdea ${NEXT_HOP}`;
    expectWithdrawn(decodeMessage(updateFrame('', attrs, NLRI_10_1), { fourOctetAs: true, external: true }));
    const internal = decode(attrs);
    expect(internal.action).toBe('none');
    expect(update(internal).attributes.asPath).toEqual([
      { type: AsPathSegmentType.ConfedSequence, asns: [65000] },
      { type: AsPathSegmentType.AsSequence, asns: [65002] },
    ]);
  });

  it('RFC 7606 §7.2 (RFC 7607 §2): AS 0 in the AS_PATH is treat-as-withdraw', () => {
    expectWithdrawn(decode(`${ORIGIN_IGP} 40 02 06 02 01 00000000 ${NEXT_HOP}`));
  });

  it('RFC 7606 §7.3: a NEXT_HOP of length 5 is treat-as-withdraw', () => {
    expectWithdrawn(decode(`${ORIGIN_IGP} ${AS_PATH_65002} 40 03 05 0aff000100`));
  });

  it('RFC 7606 §7.3: a multicast NEXT_HOP is treat-as-withdraw', () => {
    expectWithdrawn(decode(`${ORIGIN_IGP} ${AS_PATH_65002} 40 03 04 e0000001`));
  });

  it('RFC 7606 §7.3: a NEXT_HOP of 0.0.0.0 is treat-as-withdraw', () => {
    expectWithdrawn(decode(`${ORIGIN_IGP} ${AS_PATH_65002} 40 03 04 00000000`));
  });

  it('RFC 7606 §7.3 (RFC 4760 §3): a bad NEXT_HOP beside MP_REACH_NLRI-only routes is just ignored', () => {
    const d = decode(`${MP_REACH_V6} ${ORIGIN_IGP} ${AS_PATH_65002} 40 03 04 7f000001`, '');
    expect(d.action).toBe('attribute-discard');
    expect(update(d).attributes.nextHop).toBeUndefined();
    expect(update(d).mpReach?.nlri).toEqual(['2001:db8:1::/48']);
  });

  it('RFC 7606 §7.4: a MULTI_EXIT_DISC of length 3 is treat-as-withdraw', () => {
    expectWithdrawn(decode(`${MANDATORY} 80 04 03 000001`));
  });

  it('RFC 7606 §7.5: a LOCAL_PREF of length 2 is treat-as-withdraw', () => {
    expectWithdrawn(decode(`${MANDATORY} 40 05 02 0064`));
  });

  it('RFC 7606 §7.5: LOCAL_PREF from an external peer is attribute-discard', () => {
    const d = decodeMessage(updateFrame('', `${MANDATORY} 40 05 04 00000064`, NLRI_10_1), { fourOctetAs: true, external: true });
    expect(d.action).toBe('attribute-discard');
    expect(update(d).attributes.localPref).toBeUndefined();
    expect(update(d).nlri).toEqual(['10.1.0.0/24']);
  });

  it('RFC 7606 §7.6: an ATOMIC_AGGREGATE of length 1 is attribute-discard', () => {
    const d = decode(`${MANDATORY} 40 06 01 00`);
    expect(d.action).toBe('attribute-discard');
    expect(update(d).attributes.atomicAggregate).toBeUndefined();
    expect(update(d).attributes.origin).toBe(0);
    expect(update(d).nlri).toEqual(['10.1.0.0/24']);
  });

  it('RFC 7606 §7.7: an AGGREGATOR of length 7 on a 4-octet session is attribute-discard', () => {
    const d = decode(`${MANDATORY} c0 07 07 0000fdea c00002`);
    expect(d.action).toBe('attribute-discard');
    expect(update(d).attributes.aggregator).toBeUndefined();
    expect(update(d).nlri).toEqual(['10.1.0.0/24']);
  });

  it('RFC 7606 §7.7: a 4-octet AGGREGATOR on a 2-octet session is attribute-discard', () => {
    const d = decode(`${ORIGIN_IGP} 40 02 04 02 01 fdea ${NEXT_HOP} c0 07 08 0000fdea c0000201`, NLRI_10_1, TWO);
    expect(d.action).toBe('attribute-discard');
    expect(update(d).attributes.aggregator).toBeUndefined();
  });

  it('RFC 7606 §7.7 (RFC 7607 §2): an AGGREGATOR with AS 0 is attribute-discard', () => {
    const d = decode(`${MANDATORY} c0 07 08 00000000 c0000201`);
    expect(d.action).toBe('attribute-discard');
    expect(update(d).attributes.aggregator).toBeUndefined();
  });

  it('RFC 7606 §7.8: COMMUNITIES not a multiple of 4 octets is treat-as-withdraw', () => {
    expectWithdrawn(decode(`${MANDATORY} c0 08 06 fdea0064 fdea`));
  });

  it('RFC 7606 §7.8: an empty COMMUNITIES is treat-as-withdraw', () => {
    expectWithdrawn(decode(`${MANDATORY} c0 08 00`));
  });

  it('RFC 7606 §7.11: an MP_REACH_NLRI next hop length that does not fit the AFI is a session reset', () => {
    const reach = '80 0e 14 0002 01 08 20010db800000000 00 30 20010db80001';
    expectNotification(() => decode(`${reach} ${ORIGIN_IGP} ${AS_PATH_65002}`, ''), 3, 9);
  });

  it('RFC 7606 §7.11: an MP_REACH_NLRI next hop overrunning the attribute is a session reset', () => {
    expectNotification(() => decode(`80 0e 08 0002 01 10 20010db8 ${ORIGIN_IGP} ${AS_PATH_65002}`, ''), 3, 9);
  });

  it('RFC 4760 §7: MP_REACH_NLRI for an AFI/SAFI this speaker does not handle is ignored', () => {
    // AFI 2 SAFI 128 (VPN): the attribute is dropped, the IPv4 route stays.
    const d = decode(`80 0e 0e 0002 80 08 0000000000000000 00 00 ${MANDATORY}`);
    expect(d.action).toBe('attribute-discard');
    expect(update(d).mpReach).toBeUndefined();
    expect(update(d).nlri).toEqual(['10.1.0.0/24']);
  });
});

describe('the attributes seen are each UPDATE\'s own (issue 10: one table of type codes for every UPDATE decoded)', () => {
  it('RFC 7606 §3: an UPDATE without ORIGIN after one with it is treat-as-withdraw; one with each attribute once after it has no repeat', () => {
    expect(decode(MANDATORY).action).toBe('none');
    expectWithdrawn(decode(`${AS_PATH_65002} ${NEXT_HOP}`));
    const d = decode(MANDATORY);
    expect(d.action).toBe('none');
    expect(d.problems).toEqual([]);
    // RFC 7606 §3(g): a repeat within one UPDATE is still one.
    const twice = decode(`${MANDATORY} ${ORIGIN_IGP}`);
    expect(twice.action).toBe('attribute-discard');
    expect(twice.problems).toEqual([expect.stringMatching(/repeated ORIGIN/)]);
  });

  it('RFC 4271 §6.3: a malformed attribute that resets the session is sent whole in the NOTIFICATION, after attributes that were fine', () => {
    const e = wireError(() => decode(`${MANDATORY} 80 0e 05 0002 01 20 00`, ''));
    expect(Buffer.from(e.data).toString('hex')).toBe('800e0500020120' + '00');
  });
});

describe('RFC 4271 §5 and §6.3: attribute types', () => {
  it('RFC 4271 §6.3: an unrecognised well-known attribute is a session reset carrying the attribute', () => {
    expectNotification(() => decode(`${MANDATORY} 40 63 01 01`), 3, 2, '40 63 01 01');
  });

  it('RFC 4271 §5: an unrecognised optional transitive attribute is kept, marked Partial', () => {
    const d = decode(`${MANDATORY} c0 63 0c 0000fdea 00000001 00000002`);
    expect(d.action).toBe('none');
    expect(update(d).attributes.unknown).toEqual([
      { flags: 0xe0, code: 99, value: new Uint8Array([0, 0, 0xfd, 0xea, 0, 0, 0, 1, 0, 0, 0, 2]) },
    ]);
  });

  it('RFC 4271 §5: an unrecognised optional non-transitive attribute is quietly ignored', () => {
    const d = decode(`${MANDATORY} 80 63 02 0102`);
    expect(d.action).toBe('none');
    expect(d.problems).toEqual([]);
    expect(update(d).attributes.unknown).toBeUndefined();
  });

  it('RFC 4271 §6.3: a Withdrawn Routes Length overrunning the message is Malformed Attribute List', () => {
    const f = updateFrame('', '', '');
    f.writeUInt16BE(5, 19);
    expectNotification(() => decodeMessage(f, FOUR), 3, 1);
  });

  it('RFC 4271 §6.3: a Total Path Attribute Length overrunning the message is Malformed Attribute List', () => {
    const f = updateFrame('', ORIGIN_IGP, '');
    f.writeUInt16BE(9, 21);
    expectNotification(() => decodeMessage(f, FOUR), 3, 1);
  });
});

describe('RFC 6793: 4-octet AS numbers on a 2-octet session', () => {
  const asPath2 = '40 02 08 02 03 fdf2 fdea 5ba0'; // 65010 65002 AS_TRANS
  const as4Path = 'c0 11 0a 02 02 0000fdea fa56ea01'; // 65002 4200000001

  it('RFC 6793 §4.2.3: ASNs an OLD speaker prepended in front of AS4_PATH are kept', () => {
    const d = decode(`${ORIGIN_IGP} ${asPath2} ${NEXT_HOP} ${as4Path}`, NLRI_10_1, TWO);
    expect(d.action).toBe('none');
    expect(update(d).attributes.asPath).toEqual([{ type: AsPathSegmentType.AsSequence, asns: [65010, 65002, 4200000001] }]);
  });

  it('RFC 6793 §4.2.3: an AS4_PATH longer than AS_PATH is ignored', () => {
    const d = decode(`${ORIGIN_IGP} 40 02 04 02 01 5ba0 ${NEXT_HOP} ${as4Path}`, NLRI_10_1, TWO);
    expect(update(d).attributes.asPath).toEqual([{ type: AsPathSegmentType.AsSequence, asns: [23456] }]);
  });

  it('RFC 6793 §4.2.3: with AGGREGATOR other than AS_TRANS and AS4_AGGREGATOR, both AS4 attributes are ignored', () => {
    const as4Agg = 'c0 12 08 fa56ea01 c0000202';
    const d = decode(`${ORIGIN_IGP} ${asPath2} ${NEXT_HOP} c0 07 06 fdea c0000201 ${as4Path} ${as4Agg}`, NLRI_10_1, TWO);
    expect(update(d).attributes.asPath).toEqual([{ type: AsPathSegmentType.AsSequence, asns: [65010, 65002, 23456] }]);
    expect(update(d).attributes.aggregator).toEqual({ asn: 65002, address: '192.0.2.1' });
  });

  it('RFC 6793 §4.2.3: an AGGREGATOR of a 2-octet AS without AS4_AGGREGATOR leaves AS4_PATH in use', () => {
    const d = decode(`${ORIGIN_IGP} ${asPath2} ${NEXT_HOP} c0 07 06 fdea c0000201 ${as4Path}`, NLRI_10_1, TWO);
    expect(update(d).attributes.asPath).toEqual([{ type: AsPathSegmentType.AsSequence, asns: [65010, 65002, 4200000001] }]);
  });

  it('RFC 6793 §6: a malformed AS4_PATH is attribute-discard and AS_PATH is used as received', () => {
    const d = decode(`${ORIGIN_IGP} ${asPath2} ${NEXT_HOP} c0 11 0a 02 03 0000fdea fa56ea01`, NLRI_10_1, TWO);
    expect(d.action).toBe('attribute-discard');
    expect(update(d).attributes.asPath).toEqual([{ type: AsPathSegmentType.AsSequence, asns: [65010, 65002, 23456] }]);
  });

  it('RFC 6793: AS4_PATH between two 4-octet speakers is discarded', () => {
    const d = decode(`${MANDATORY} ${as4Path}`);
    expect(d.action).toBe('attribute-discard');
    expect(update(d).attributes.asPath).toEqual([{ type: AsPathSegmentType.AsSequence, asns: [65002] }]);
  });
});
