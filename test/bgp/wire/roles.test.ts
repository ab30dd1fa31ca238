/**
 * RFC 9234 in the codec: the BGP Role capability (code 9) and the
 * ONLY_TO_CUSTOMER attribute (type 35).
 */
import { describe, expect, it } from 'vitest';
import { BgpRole, MessageType, buildOpen, decodeMessage, encodeMessage, openCapabilities } from '#bgp/wire/index';
import type { CodecContext, OpenMessage, UpdateMessage } from '#bgp/wire/index';
import { AS_PATH_65002, NEXT_HOP, NLRI_10_1, ORIGIN_IGP, expectNotification, openFrame, updateFrame } from './frames.js';
import { hex } from './vectors.js';
import { AttributeTable, attributesEqual } from '#bgp/rib/intern';
import { attributesSize } from '#bgp/rib/update-size';

const CTX: CodecContext = { fourOctetAs: true };

function openParams(caps: string): string {
  const c = hex(caps);
  return `04 fde9 005a c0000201 ${(c.length + 2).toString(16).padStart(2, '0')} 02 ${c.length.toString(16).padStart(2, '0')} ${caps}`;
}

function openWith(caps: string): OpenMessage {
  return decodeMessage(openFrame(openParams(caps)), CTX).message as OpenMessage;
}

describe('RFC 9234 BGP Role capability (9)', () => {
  it('RFC 9234 §4.1: one octet, the sender\'s role', () => {
    const caps = openCapabilities(openWith('09 01 04'));
    expect(caps.role).toBe(BgpRole.Peer);
    expect(caps.roleConflict).toBe(false);
  });

  it('RFC 9234 §4.1: a length other than 1 is an OPEN Message Error', () => {
    expectNotification(() => decodeMessage(openFrame(openParams('09 02 0003')), CTX), 2, 0);
    expectNotification(() => decodeMessage(openFrame(openParams('09 00')), CTX), 2, 0);
  });

  it('RFC 9234 §4.2: several instances with different values are a conflict; equal ones are not', () => {
    expect(openCapabilities(openWith('09 01 03 09 01 00')).roleConflict).toBe(true);
    const same = openCapabilities(openWith('09 01 03 09 01 03'));
    expect(same.roleConflict).toBe(false);
    expect(same.role).toBe(BgpRole.Customer);
  });

  it('no capability: no role', () => {
    expect(openCapabilities(openWith('41 04 0000fde9')).role).toBeNull();
  });

  it('buildOpen sends the role when given and round-trips it', () => {
    const open = buildOpen({ asn: 65001, holdTime: 90, bgpId: '192.0.2.1', families: [{ afi: 1, safi: 1 }], role: BgpRole.RouteServerClient });
    const back = decodeMessage(encodeMessage(open, CTX), CTX).message as OpenMessage;
    expect(back.type).toBe(MessageType.Open);
    expect(openCapabilities(back).role).toBe(BgpRole.RouteServerClient);
    expect(openCapabilities(buildOpen({ asn: 65001, holdTime: 90, bgpId: '192.0.2.1', families: [] })).role).toBeNull();
  });
});

describe('RFC 9234 §5 ONLY_TO_CUSTOMER (35)', () => {
  const decode = (attrs: string) => decodeMessage(updateFrame('', attrs, NLRI_10_1), CTX);

  it('RFC 9234 §5: 4 octets, an AS number', () => {
    const d = decode(`${ORIGIN_IGP} ${AS_PATH_65002} ${NEXT_HOP} c0 23 04 fa56ea01`);
    expect(d.action).toBe('none');
    expect((d.message as UpdateMessage).attributes.otc).toBe(4200000001);
  });

  it('RFC 9234 §5: an OTC of length other than 4 is treat-as-withdraw', () => {
    for (const otc of ['c0 23 03 00fdea', 'c0 23 05 0000fdea00', 'c0 23 00']) {
      const d = decode(`${ORIGIN_IGP} ${AS_PATH_65002} ${NEXT_HOP} ${otc}`);
      expect(d.action).toBe('treat-as-withdraw');
      const u = d.message as UpdateMessage;
      expect(u.withdrawn).toEqual(['10.1.0.0/24']);
      expect(u.nlri).toEqual([]);
    }
  });

  it('RFC 7606 §3: OTC not flagged optional transitive is treat-as-withdraw', () => {
    expect(decode(`${ORIGIN_IGP} ${AS_PATH_65002} ${NEXT_HOP} 80 23 04 0000fdea`).action).toBe('treat-as-withdraw');
  });

  it('is sent optional transitive, after the other attributes it follows in type order', () => {
    const m: UpdateMessage = { type: MessageType.Update, withdrawn: [], attributes: { origin: 0, asPath: [], nextHop: '10.255.0.1', otc: 65002 }, nlri: ['10.1.0.0/24'] };
    const bytes = Buffer.from(encodeMessage(m, CTX)).toString('hex');
    expect(bytes).toContain('c023040000fdea');
  });
});

describe('OTC in attribute interning', () => {
  it('two sets differing only in OTC are two entries; the frozen copy keeps it', () => {
    const t = new AttributeTable();
    const a = t.intern({ origin: 0, asPath: [], otc: 65002 });
    const b = t.intern({ origin: 0, asPath: [] });
    const c = t.intern({ origin: 0, asPath: [], otc: 65003 });
    expect(new Set([a, b, c]).size).toBe(3);
    expect(a.otc).toBe(65002);
    expect(attributesEqual({ otc: 1 }, {})).toBe(false);
  });
});

describe('OTC in the UPDATE size bound', () => {
  it('counts the 7 octets OTC takes on the wire, so packing stays within the limit', () => {
    expect(attributesSize({ origin: 0, otc: 65002 }) - attributesSize({ origin: 0 })).toBe(7);
  });
});
