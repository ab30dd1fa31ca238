/**
 * OPEN checks (RFC 4271 §6.2, RFC 5492, RFC 9072), header and per-type length
 * checks (RFC 4271 §6.1), and the session-facing helpers.
 */
import { describe, expect, it } from 'vitest';
import {
  AS_TRANS,
  BgpWireError,
  MessageType,
  buildOpen,
  decodeMessage,
  encodeMessage,
  negotiatedContext,
  openCapabilities,
  acceptsIpv4OverIpv6,
} from '#bgp/wire/index';
import type { Capability, CodecContext, OpenMessage } from '#bgp/wire/index';
import { expectNotification, frame, openFrame } from './frames.js';
import { hex, loadVector } from './vectors.js';

const CTX: CodecContext = { fourOctetAs: true };

/** version, my AS 65001, hold time, BGP id 192.0.2.1, then optional parameters. */
function openBody(version: string, hold: string, id: string, params: string): string {
  return `${version} fde9 ${hold} ${id} ${params}`;
}

describe('RFC 4271 §6.2: OPEN message errors', () => {
  it('RFC 4271 §6.2: a version other than 4 is Unsupported Version Number, data = 2-octet version 4', () => {
    expectNotification(() => decodeMessage(openFrame(openBody('03', '005a', 'c0000201', '00')), CTX), 2, 1, '0004');
  });

  it('RFC 4271 §6.2: a Hold Time of 1 second is Unacceptable Hold Time', () => {
    expectNotification(() => decodeMessage(openFrame(openBody('04', '0001', 'c0000201', '00')), CTX), 2, 6);
  });

  it('RFC 4271 §6.2: a Hold Time of 2 seconds is Unacceptable Hold Time', () => {
    expectNotification(() => decodeMessage(openFrame(openBody('04', '0002', 'c0000201', '00')), CTX), 2, 6);
  });

  it('RFC 4271 §4.2: a Hold Time of 0 (no keepalives) is accepted', () => {
    const m = decodeMessage(openFrame(openBody('04', '0000', 'c0000201', '00')), CTX).message as OpenMessage;
    expect(m.holdTime).toBe(0);
    expect(m.capabilities).toEqual([]);
  });

  it('RFC 4271 §6.2: a BGP Identifier of 0.0.0.0 is Bad BGP Identifier', () => {
    expectNotification(() => decodeMessage(openFrame(openBody('04', '005a', '00000000', '00')), CTX), 2, 3);
  });

  it('RFC 4271 §6.2: an optional parameter other than Capabilities is Unsupported Optional Parameter', () => {
    expectNotification(() => decodeMessage(openFrame(openBody('04', '005a', 'c0000201', '04 01 02 0000')), CTX), 2, 4);
  });

  it('RFC 4271 §6.2: optional parameters that disagree with the message length are a Bad Message Length', () => {
    expectNotification(() => decodeMessage(openFrame(openBody('04', '005a', 'c0000201', '08 02 02 0200')), CTX), 1, 2);
  });

  it('RFC 5492: a capability overrunning its parameter is an OPEN error', () => {
    expectNotification(() => decodeMessage(openFrame(openBody('04', '005a', 'c0000201', '04 02 02 4104')), CTX), 2, 0);
  });

  it('RFC 5492: a known capability of the wrong length is an OPEN error', () => {
    expectNotification(() => decodeMessage(openFrame(openBody('04', '005a', 'c0000201', '05 02 03 4101 00')), CTX), 2, 0);
  });

  it('RFC 5492 §5: unknown capabilities are kept raw; several Capabilities parameters are merged', () => {
    const m = decodeMessage(openFrame(openBody('04', '005a', 'c0000201', '0b 02 04 4902 0078 02 03 4c01 07')), CTX).message as OpenMessage;
    expect(m.capabilities).toEqual([
      { code: 73, raw: new Uint8Array([0x00, 0x78]) },
      { code: 76, raw: new Uint8Array([7]) },
    ]);
  });

  it('RFC 4724 §3: graceful restart without families (a helper-only speaker), and a malformed length', () => {
    const m = decodeMessage(openFrame(openBody('04', '005a', 'c0000201', '06 02 04 4002 0078')), CTX).message as OpenMessage;
    expect(m.capabilities).toEqual([{ code: 64, restartState: false, notification: false, restartTime: 120, families: [] }]);
    expectNotification(() => decodeMessage(openFrame(openBody('04', '005a', 'c0000201', '07 02 05 4003 007801')), CTX), 2, 0);
  });

  it('RFC 9494 §3: long-lived graceful restart with no tuples is valid; a length not a multiple of 7 is an OPEN error', () => {
    const m = decodeMessage(openFrame(openBody('04', '005a', 'c0000201', '04 02 02 4700')), CTX).message as OpenMessage;
    expect(m.capabilities).toEqual([{ code: 71, families: [] }]);
    expectNotification(() => decodeMessage(openFrame(openBody('04', '005a', 'c0000201', '0a 02 08 4706 000101800000')), CTX), 2, 0);
  });

  it('RFC 9494 §3: a long-lived stale time beyond 24 bits is refused at encoding', () => {
    const open: OpenMessage = {
      type: MessageType.Open,
      version: 4,
      myAs: 65001,
      holdTime: 90,
      bgpId: '192.0.2.1',
      capabilities: [{ code: 71, families: [{ afi: 1, safi: 1, forwardingState: false, staleTime: 0x1000000 }] }],
    };
    expect(() => encodeMessage(open, CTX)).toThrow(/24 bits/);
  });

  it('RFC 9072 §2: extended optional parameters length is decoded', () => {
    // Non-Ext OP Len 255, Non-Ext OP Type 255, Extended Opt. Parm. Length 9,
    // then a Capabilities parameter with a 2-octet length of 6.
    const m = decodeMessage(openFrame(openBody('04', '005a', 'c0000201', 'ff ff 0009 02 0006 41 04 fa56ea01')), CTX).message as OpenMessage;
    expect(m.capabilities).toEqual([{ code: 65, asn: 4200000001 }]);
  });

  it('RFC 9072 §2: capabilities beyond 255 octets are sent with the extended encoding and read back', () => {
    const capabilities: Capability[] = [];
    for (let i = 0; i < 50; i++) capabilities.push({ code: 1, afi: 1, safi: i });
    const open: OpenMessage = { type: MessageType.Open, version: 4, myAs: 65001, holdTime: 90, bgpId: '192.0.2.1', capabilities };
    const bytes = encodeMessage(open, CTX);
    expect(bytes[28]).toBe(255);
    expect(bytes[29]).toBe(255);
    expect(decodeMessage(bytes, CTX).message).toEqual(open);
  });
});

describe('RFC 4271 §6.1: message lengths', () => {
  it('RFC 4271 §6.1: a KEEPALIVE longer than 19 octets is Bad Message Length with the length as data', () => {
    expectNotification(() => decodeMessage(frame(4, Buffer.of(0)), CTX), 1, 2, '0014');
  });

  it('RFC 4271 §6.1: an UPDATE shorter than 23 octets is Bad Message Length', () => {
    expectNotification(() => decodeMessage(frame(2, Buffer.of(0, 0)), CTX), 1, 2, '0015');
  });

  it('RFC 4271 §6.1: an OPEN shorter than 29 octets is Bad Message Length', () => {
    expectNotification(() => decodeMessage(frame(1, hex('04 fde9 005a c0000201')), CTX), 1, 2, '001c');
  });

  it('RFC 4271 §6.1: a NOTIFICATION shorter than 21 octets is Bad Message Length', () => {
    expectNotification(() => decodeMessage(frame(3, Buffer.of(6)), CTX), 1, 2, '0014');
  });

  it('RFC 7313 §5: with enhanced route refresh, a ROUTE-REFRESH that is not 23 octets is ROUTE-REFRESH Invalid Message Length with the message', () => {
    const f = frame(5, hex('0001 00 01 00'));
    expectNotification(() => decodeMessage(f, { ...CTX, enhancedRouteRefresh: true }), 7, 1, f.toString('hex'));
    // Without it the peer may not know code 7 (RFC 2918 defines none): RFC 4271 §6.1's answer.
    expectNotification(() => decodeMessage(f, CTX), 1, 2, '0018');
  });

  it('RFC 4271 §6.1: a header length that differs from the frame is Bad Message Length', () => {
    const f = Buffer.concat([loadVector('keepalive.hex'), Buffer.of(0)]);
    expectNotification(() => decodeMessage(f, CTX), 1, 2);
  });

  it('RFC 4271 §6.1: marker and type are checked by decodeMessage too', () => {
    const bad = loadVector('keepalive.hex');
    bad[3] = 0;
    expectNotification(() => decodeMessage(bad, CTX), 1, 1);
    const t = loadVector('keepalive.hex');
    t[18] = 9;
    expectNotification(() => decodeMessage(t, CTX), 1, 3, '09');
  });

  it('a NOTIFICATION keeps a copy of its data, not a view of the frame', () => {
    const f = loadVector('notification-cease.hex');
    const m = decodeMessage(f, CTX).message;
    f.fill(0, 21);
    expect(m.type === MessageType.Notification && Buffer.from(m.data).toString()).toBe('\x0bmaintenance');
  });
});

describe('session helpers', () => {
  it('buildOpen puts AS_TRANS in My AS for a 4-octet ASN and the real one in capability 65', () => {
    const open = buildOpen({ asn: 4200000001, holdTime: 90, bgpId: '192.0.2.1', families: [{ afi: 1, safi: 1 }, { afi: 2, safi: 1 }] });
    expect(open.myAs).toBe(AS_TRANS);
    expect(encodeMessage(open, CTX).toString('hex')).toBe(loadVector('open-all-capabilities.hex').toString('hex'));
  });

  it('openCapabilities reads the ASN, families, route refresh and extended next hop', () => {
    const caps = openCapabilities(decodeMessage(loadVector('open-extended-next-hop.hex'), CTX).message as OpenMessage);
    expect(caps).toEqual({
      asn: 65001,
      fourOctetAs: true,
      multiprotocol: [
        { afi: 1, safi: 1 },
        { afi: 2, safi: 1 },
      ],
      routeRefresh: false,
      enhancedRouteRefresh: false,
      extendedNextHop: [{ afi: 1, safi: 1, nextHopAfi: 2 }],
      extendedMessages: false,
      addPath: [],
      gracefulRestart: null,
      longLived: null,
      role: null,
      roleConflict: false,
    });
    expect(acceptsIpv4OverIpv6(caps)).toBe(true);
  });

  it('openCapabilities reads RFC 4724 graceful restart (R, N, restart time, F per family)', () => {
    const caps = openCapabilities(decodeMessage(loadVector('open-graceful-restart.hex'), CTX).message as OpenMessage);
    expect(caps.gracefulRestart).toEqual({
      restartState: true,
      notification: true,
      restartTime: 120,
      families: [
        { afi: 1, safi: 1, forwardingState: true },
        { afi: 2, safi: 1, forwardingState: false },
      ],
    });
  });

  it('openCapabilities reads RFC 9494 long-lived graceful restart (F and the stale time per family)', () => {
    const caps = openCapabilities(decodeMessage(loadVector('open-long-lived-graceful-restart.hex'), CTX).message as OpenMessage);
    expect(caps.gracefulRestart?.restartTime).toBe(0);
    expect(caps.longLived).toEqual([
      { afi: 1, safi: 1, forwardingState: true, staleTime: 86400 },
      { afi: 2, safi: 1, forwardingState: false, staleTime: 0xffffff },
    ]);
  });

  it('RFC 9494 §4.1: buildOpen sends the long-lived capability only with the graceful restart capability', () => {
    const longLived = [{ afi: 1, safi: 1, forwardingState: true, staleTime: 3600 }];
    const gracefulRestart = { restartState: false, notification: false, restartTime: 0, families: [{ afi: 1, safi: 1, forwardingState: true }] };
    const base = { asn: 65001, holdTime: 90, bgpId: '192.0.2.1', families: [{ afi: 1, safi: 1 }] };
    expect(buildOpen({ ...base, longLived }).capabilities.some((c) => c.code === 71)).toBe(false);
    expect(buildOpen({ ...base, gracefulRestart, longLived }).capabilities).toContainEqual({ code: 71, families: longLived });
  });

  it('RFC 6793: 4-octet ASNs are used only when both OPENs carry capability 65', () => {
    const local = buildOpen({ asn: 65001, holdTime: 90, bgpId: '192.0.2.1', families: [] });
    const old: OpenMessage = { ...local, capabilities: [] };
    expect(negotiatedContext(local, local, true)).toEqual({ fourOctetAs: true, external: true });
    expect(negotiatedContext(local, old)).toEqual({ fourOctetAs: false });
  });

  it('BgpWireError.notification() is the NOTIFICATION to send', () => {
    const e = new BgpWireError(3, 1, 'x', Uint8Array.of(1, 2));
    expect(encodeMessage(e.notification(), CTX).toString('hex')).toBe(`${'ff'.repeat(16)}0017030301 0102`.replace(' ', ''));
  });
});
