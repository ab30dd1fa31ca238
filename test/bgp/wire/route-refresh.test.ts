/**
 * ROUTE-REFRESH (RFC 2918 §3) with the RFC 7313 §3.2 Message Subtype, against
 * the golden vectors under test/vectors/bgp (route-refresh*.hex,
 * route-refresh/, notification/route-refresh-invalid-length.hex).
 */
import { describe, expect, it } from 'vitest';
import { BgpWireError, MessageType, buildOpen, decodeMessage, encodeMessage, negotiatedContext } from '#bgp/wire/index';
import type { CodecContext, RouteRefreshMessage } from '#bgp/wire/index';
import { loadVector } from './vectors.js';

const PLAIN: CodecContext = { fourOctetAs: true };
const ENHANCED: CodecContext = { fourOctetAs: true, enhancedRouteRefresh: true };

describe('RFC 7313 ROUTE-REFRESH subtypes', () => {
  it('RFC 7313 §3.2: request, BoRR and EoRR decode the same with or without enhanced route refresh negotiated', () => {
    const cases: [string, RouteRefreshMessage][] = [
      ['route-refresh.hex', { type: MessageType.RouteRefresh, afi: 2, subtype: 0, safi: 1 }],
      ['route-refresh-borr.hex', { type: MessageType.RouteRefresh, afi: 1, subtype: 1, safi: 1 }],
      ['route-refresh-eorr.hex', { type: MessageType.RouteRefresh, afi: 2, subtype: 2, safi: 1 }],
    ];
    for (const [name, m] of cases) {
      for (const ctx of [PLAIN, ENHANCED]) {
        const d = decodeMessage(loadVector(name), ctx);
        expect(d.message).toEqual(m);
        expect(d.problems).toEqual([]);
      }
      expect(encodeMessage(m, ENHANCED).equals(loadVector(name))).toBe(true);
    }
  });

  it('RFC 7313 §5: a BoRR one octet too long is 7/1 Invalid Message Length, the NOTIFICATION carrying the whole message', () => {
    const bad = loadVector('route-refresh/borr-too-long.hex');
    let err: unknown;
    try {
      decodeMessage(bad, ENHANCED);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BgpWireError);
    const n = (err as BgpWireError).notification();
    expect(encodeMessage(n, ENHANCED).equals(loadVector('notification/route-refresh-invalid-length.hex'))).toBe(true);
  });

  it('RFC 7313 §5: a reserved subtype (255) is ignored, not an error, with a problem to log', () => {
    for (const ctx of [PLAIN, ENHANCED]) {
      const d = decodeMessage(loadVector('route-refresh/reserved-subtype.hex'), ctx);
      expect(d.action).toBe('none');
      expect((d.message as RouteRefreshMessage).subtype).toBe(255);
      expect(d.problems).toEqual(['RFC 7313 §3.2: ROUTE-REFRESH subtype 255 is not defined: ignored']);
    }
  });

  it('RFC 7313 §3.1: capability 70 is advertised on request, and enhanced refresh is negotiated only when both sent it', () => {
    const base = { asn: 65001, holdTime: 90, bgpId: '192.0.2.1', families: [{ afi: 1, safi: 1 }] };
    const ours = buildOpen({ ...base, routeRefresh: true, enhancedRouteRefresh: true });
    expect(encodeMessage(ours, PLAIN).equals(loadVector('open-enhanced-route-refresh.hex'))).toBe(true);
    const without = buildOpen(base);
    expect(without.capabilities.some((c) => c.code === 70)).toBe(false);
    expect(negotiatedContext(ours, ours).enhancedRouteRefresh).toBe(true);
    expect(negotiatedContext(ours, without).enhancedRouteRefresh).toBeUndefined();
    expect(negotiatedContext(without, ours).enhancedRouteRefresh).toBeUndefined();
  });
});
