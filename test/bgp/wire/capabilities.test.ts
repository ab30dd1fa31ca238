/**
 * The capabilities of issue 11 in the OPEN codec: extended messages (RFC 8654,
 * code 6), ADD-PATH (RFC 7911, code 69) and enhanced route refresh (RFC 7313,
 * code 70); and the ROUTE-REFRESH Message Subtype (RFC 7313 §3.2) with its
 * error rules (RFC 7313 §5).
 */
import { describe, expect, it } from 'vitest';
import { MessageType, buildOpen, decodeMessage, encodeMessage, openCapabilities } from '#bgp/wire/index';
import type { CodecContext, OpenMessage, RouteRefreshMessage } from '#bgp/wire/index';
import { expectNotification, frame, openFrame } from './frames.js';
import { hex, loadVector } from './vectors.js';

const CTX: CodecContext = { fourOctetAs: true };

/** An OPEN (version 4, AS 65001, hold 90, id 192.0.2.1) with one Capabilities parameter holding `caps`. */
function openWith(caps: string): OpenMessage {
  const c = hex(caps);
  const params = `${(c.length + 2).toString(16).padStart(2, '0')} 02 ${c.length.toString(16).padStart(2, '0')} ${caps}`;
  return decodeMessage(openFrame(`04 fde9 005a c0000201 ${params}`), CTX).message as OpenMessage;
}

function expectMalformed(caps: string): void {
  const c = hex(caps);
  const params = `${(c.length + 2).toString(16).padStart(2, '0')} 02 ${c.length.toString(16).padStart(2, '0')} ${caps}`;
  expectNotification(() => decodeMessage(openFrame(`04 fde9 005a c0000201 ${params}`), CTX), 2, 0);
}

describe('RFC 7911 ADD-PATH capability (69)', () => {
  it('RFC 7911 §4: Send/Receive 1 receives, 2 sends, 3 does both, per AFI/SAFI', () => {
    const caps = openCapabilities(openWith('45 0c 0001 01 01 0002 01 02 0001 80 03'));
    expect(caps.addPath).toEqual([
      { afi: 1, safi: 1, receive: true, send: false },
      { afi: 2, safi: 1, receive: false, send: true },
      { afi: 1, safi: 128, receive: true, send: true },
    ]);
  });

  it('RFC 7911 §4: a Send/Receive value other than 1, 2 or 3 makes the capability not understood: ignored', () => {
    const m = openWith('45 08 0001 01 01 0002 01 04');
    expect(m.capabilities).toEqual([{ code: 69, raw: new Uint8Array([0, 1, 1, 1, 0, 2, 1, 4]) }]);
    expect(openCapabilities(m).addPath).toEqual([]);
    expect(openCapabilities(openWith('45 04 0001 01 00')).addPath).toEqual([]);
  });

  it('RFC 7911 §4: one instance lists every family; a second one is not read', () => {
    const caps = openCapabilities(openWith('45 04 0001 01 01 45 04 0002 01 03'));
    expect(caps.addPath).toEqual([{ afi: 1, safi: 1, receive: true, send: false }]);
  });

  it('RFC 5492: a length that is not whole tuples of 4 octets is an OPEN Message Error', () => {
    expectMalformed('45 03 0001 01');
    expectMalformed('45 00');
  });

  it('a family that neither sends nor receives cannot be encoded', () => {
    const open = buildOpen({ asn: 65001, holdTime: 90, bgpId: '192.0.2.1', families: [] });
    open.capabilities.push({ code: 69, families: [{ afi: 1, safi: 1, receive: false, send: false }] });
    expect(() => encodeMessage(open, CTX)).toThrow(RangeError);
  });

  it('the vector open-add-path.hex reads as receive for IPv4, both for IPv6', () => {
    const caps = openCapabilities(decodeMessage(loadVector('open-add-path.hex'), CTX).message as OpenMessage);
    expect(caps.addPath).toEqual([
      { afi: 1, safi: 1, receive: true, send: false },
      { afi: 2, safi: 1, receive: true, send: true },
    ]);
  });
});

describe('RFC 7313 enhanced route refresh capability (70)', () => {
  it('RFC 7313 §3.1: capability 70 of length 0', () => {
    const caps = openCapabilities(decodeMessage(loadVector('open-enhanced-route-refresh.hex'), CTX).message as OpenMessage);
    expect(caps.routeRefresh).toBe(true);
    expect(caps.enhancedRouteRefresh).toBe(true);
    expect(openCapabilities(openWith('02 00')).enhancedRouteRefresh).toBe(false);
  });

  it('RFC 5492: capability 70 with a value is an OPEN Message Error', () => {
    expectMalformed('46 01 00');
  });
});

describe('RFC 8654 extended message capability (6)', () => {
  it('RFC 8654 §3: capability 6 of length 0', () => {
    const caps = openCapabilities(decodeMessage(loadVector('open-extended-message.hex'), CTX).message as OpenMessage);
    expect(caps.extendedMessages).toBe(true);
    expect(openCapabilities(openWith('02 00')).extendedMessages).toBe(false);
  });

  it('RFC 5492: capability 6 with a value is an OPEN Message Error', () => {
    expectMalformed('06 02 0000');
  });

  it('buildOpen advertises it only when asked', () => {
    const base = { asn: 65001, holdTime: 90, bgpId: '192.0.2.1', families: [{ afi: 1, safi: 1 }] };
    expect(buildOpen(base).capabilities.some((c) => c.code === 6)).toBe(false);
    expect(buildOpen({ ...base, extendedMessages: true }).capabilities.map((c) => c.code)).toEqual([1, 2, 6, 65]);
  });
});

describe('RFC 7313 §3.2 and §5: ROUTE-REFRESH Message Subtype', () => {
  const rr = (subtype: number, extra = ''): Buffer => frame(5, hex(`0001 ${subtype.toString(16).padStart(2, '0')} 01 ${extra}`));

  it('RFC 7313 §3.2: the octet after the AFI is the subtype: 0 request, 1 BoRR, 2 EoRR', () => {
    for (const subtype of [0, 1, 2]) {
      const d = decodeMessage(rr(subtype), CTX);
      expect(d.message).toEqual({ type: MessageType.RouteRefresh, afi: 1, subtype, safi: 1 });
      expect(d.problems).toEqual([]);
    }
  });

  it('RFC 7313 §5: with enhanced route refresh, a message whose body is not 4 octets is ROUTE-REFRESH Invalid Message Length, data the whole message', () => {
    for (const subtype of [0, 1, 2]) {
      const f = rr(subtype, '00');
      expectNotification(() => decodeMessage(f, { ...CTX, enhancedRouteRefresh: true }), 7, 1, f.toString('hex'));
    }
  });

  it('RFC 2918 alone defines no error code: without enhanced route refresh the wrong length is 1/2 Bad Message Length (RFC 4271 §6.1)', () => {
    for (const subtype of [0, 1, 2]) {
      expectNotification(() => decodeMessage(rr(subtype, '00'), CTX), 1, 2, '0018');
    }
  });

  it('RFC 7313 §3.2: a subtype other than 0, 1 or 2 is ignored, whatever its length', () => {
    for (const f of [rr(3), rr(255, '0000')]) {
      const d = decodeMessage(f, CTX);
      expect(d.action).toBe('none');
      expect(d.problems).toEqual([expect.stringMatching(/^RFC 7313 §3.2: ROUTE-REFRESH subtype \d+ is not defined: ignored$/)]);
      expect((d.message as RouteRefreshMessage).subtype).toBe(f[21]);
    }
  });

  it('RFC 7313 §3.2: the subtype is sent in place of the Reserved octet', () => {
    const m: RouteRefreshMessage = { type: MessageType.RouteRefresh, afi: 2, subtype: 2, safi: 1 };
    expect(encodeMessage(m, CTX).toString('hex')).toBe(loadVector('route-refresh-eorr.hex').toString('hex'));
    expect(() => encodeMessage({ ...m, subtype: 256 }, CTX)).toThrow(RangeError);
  });
});
