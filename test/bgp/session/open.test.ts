import { describe, expect, it } from 'vitest';
import { buildOpen, checkOpen } from '#bgp/session/open';
import { bgpIdToNumber, scopedAddress } from '#bgp/session/address';
import { decodeShutdownCommunication, encodeShutdownCommunication, normalizeAddress, notificationText } from '#bgp/session/index';
import { AS_TRANS } from '#bgp/wire/index';
import { MessageType } from '#bgp/wire/types';
import type { Capability, OpenMessage } from '#bgp/wire/types';
import { config } from './helpers.js';

const ADDR = { localAddress: '10.0.0.1', remoteAddress: '10.0.0.2' };
const cfg = config({ name: 'p', localAsn: 65001, routerId: '192.0.2.1', peerAsn: 65002, holdTime: 90 });

function peerOpen(over: Partial<OpenMessage> = {}): OpenMessage {
  return {
    type: MessageType.Open,
    version: 4,
    myAs: 65002,
    holdTime: 180,
    bgpId: '192.0.2.2',
    capabilities: [{ code: 1, afi: 1, safi: 1 }, { code: 2 }, { code: 65, asn: 65002 }],
    ...over,
  };
}

describe('OPEN (RFC 4271 §4.2, §6.2)', () => {
  it('RFC 5492: we advertise each family, route refresh and 4-octet AS', () => {
    const o = buildOpen({ ...cfg, extendedNextHop: true });
    expect(o.myAs).toBe(65001);
    expect(o.holdTime).toBe(90);
    expect(o.capabilities).toEqual(
      expect.arrayContaining([
        { code: 1, afi: 1, safi: 1 },
        { code: 1, afi: 2, safi: 1 },
        { code: 2 },
        { code: 65, asn: 65001 },
        { code: 5, entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }] },
      ]),
    );
  });

  it('RFC 8654 §3: we always advertise extended messages; they are negotiated when the peer does too', () => {
    expect(buildOpen(cfg).capabilities).toContainEqual({ code: 6 });
    const both = checkOpen(cfg, peerOpen({ capabilities: [...peerOpen().capabilities, { code: 6 }] }), ADDR);
    expect(both.ok && both.negotiated.extendedMessages).toBe(true);
    const theirsOnly = checkOpen(cfg, peerOpen(), ADDR);
    expect(theirsOnly.ok && theirsOnly.negotiated.extendedMessages).toBe(false);
  });

  it('RFC 6793 §4.1: an ASN above 65535 sends AS_TRANS in My AS and the real one in capability 65', () => {
    const o = buildOpen({ ...cfg, localAsn: 4200000000 });
    expect(o.myAs).toBe(AS_TRANS);
    expect(o.capabilities).toContainEqual({ code: 65, asn: 4200000000 });
  });

  it('RFC 4271 §4.2: the hold time is the smaller of the two; keepalive a third of it', () => {
    const r = checkOpen(cfg, peerOpen(), ADDR);
    expect(r.ok && r.negotiated.holdTime).toBe(90);
    expect(r.ok && r.negotiated.keepaliveTime).toBe(30);
    const zero = checkOpen(cfg, peerOpen({ holdTime: 0 }), ADDR);
    expect(zero.ok && zero.negotiated.holdTime).toBe(0);
    expect(zero.ok && zero.negotiated.keepaliveTime).toBe(0);
  });

  it('RFC 4760: families are the intersection; none advertised means IPv4 unicast', () => {
    const r = checkOpen(cfg, peerOpen(), ADDR);
    expect(r.ok && r.negotiated.families).toEqual([{ afi: 1, safi: 1 }]);
    const legacy = checkOpen(cfg, peerOpen({ capabilities: [] }), ADDR);
    expect(legacy.ok && legacy.negotiated.families).toEqual([{ afi: 1, safi: 1 }]);
    expect(legacy.ok && legacy.negotiated.fourOctetAs).toBe(false);
    expect(legacy.ok && legacy.negotiated.routeRefresh).toBe(false);
  });

  it('RFC 6793 §4.2: the peer AS is read from capability 65 when My AS is AS_TRANS', () => {
    const c = { ...cfg, peerAsn: 4200000002 };
    const r = checkOpen(c, peerOpen({ myAs: AS_TRANS, capabilities: [{ code: 65, asn: 4200000002 }] }), ADDR);
    expect(r.ok && r.negotiated.peerAsn).toBe(4200000002);
    // AS_TRANS without the capability is the wrong AS.
    const bad = checkOpen(c, peerOpen({ myAs: AS_TRANS, capabilities: [] }), ADDR);
    expect(!bad.ok && bad.notification).toEqual({ code: 2, subcode: 2, data: new Uint8Array(0) });
  });

  it('RFC 4271 §6.2: a wrong peer AS is 2/2 Bad Peer AS', () => {
    const r = checkOpen(cfg, peerOpen({ capabilities: [{ code: 65, asn: 65099 }] }), ADDR);
    expect(r.ok).toBe(false);
    expect(!r.ok && [r.notification.code, r.notification.subcode]).toEqual([2, 2]);
  });

  it('RFC 4271 §6.2: hold times 1 and 2 are 2/6 Unacceptable Hold Time', () => {
    const r = checkOpen(cfg, peerOpen({ holdTime: 2 }), ADDR);
    expect(!r.ok && [r.notification.code, r.notification.subcode]).toEqual([2, 6]);
  });

  it('RFC 6286 §2.2: an iBGP peer with our own identifier is 2/3 Bad BGP Identifier', () => {
    const ibgp = { ...cfg, peerAsn: 65001 };
    const r = checkOpen(ibgp, peerOpen({ myAs: 65001, capabilities: [], bgpId: '192.0.2.1' }), ADDR);
    expect(!r.ok && [r.notification.code, r.notification.subcode]).toEqual([2, 3]);
  });

  it('RFC 8950: extended next hop only when both sides advertise IPv4 over IPv6', () => {
    const caps: Capability[] = [{ code: 1, afi: 1, safi: 1 }, { code: 5, entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }] }];
    const both = checkOpen({ ...cfg, extendedNextHop: true }, peerOpen({ capabilities: caps }), ADDR);
    expect(both.ok && both.negotiated.extendedNextHop).toBe(true);
    const onlyThem = checkOpen(cfg, peerOpen({ capabilities: caps }), ADDR);
    expect(onlyThem.ok && onlyThem.negotiated.extendedNextHop).toBe(false);
  });
});

describe('NOTIFICATION text and RFC 8203/9003 shutdown communication', () => {
  it('names code and subcode', () => {
    expect(notificationText(4, 0, new Uint8Array(0))).toBe('4/0 Hold Timer Expired');
    expect(notificationText(5, 3, new Uint8Array(0))).toBe('5/3 Receive Unexpected Message in Established State');
    expect(notificationText(6, 99, new Uint8Array(0))).toBe('6/99 Cease');
    expect(notificationText(42, 1, new Uint8Array(0))).toBe('42/1 Unknown Error');
  });

  it('RFC 8203 §2: a length octet then UTF-8; round trip', () => {
    const d = encodeShutdownCommunication('moving to new hardware ✓');
    expect(d[0]).toBe(d.length - 1);
    expect(decodeShutdownCommunication(d)).toBe('moving to new hardware ✓');
    expect(notificationText(6, 2, d)).toBe('6/2 Administrative Shutdown: "moving to new hardware ✓"');
    expect(encodeShutdownCommunication(undefined)).toEqual(new Uint8Array(0));
  });

  it('RFC 9003 §2: at most 255 octets, cut on a character boundary', () => {
    const d = encodeShutdownCommunication('é'.repeat(200));
    expect(d[0]).toBe(254);
    expect(decodeShutdownCommunication(d)).toBe('é'.repeat(127));
  });

  it('RFC 8203 §4: a malformed communication is ignored', () => {
    expect(decodeShutdownCommunication(new Uint8Array([9, 0x41]))).toBeNull();
    expect(decodeShutdownCommunication(new Uint8Array([1, 0xff]))).toBeNull();
    expect(notificationText(6, 2, new Uint8Array([9]))).toBe('6/2 Administrative Shutdown');
  });
});

describe('addresses', () => {
  it('the listener key: IPv4-mapped as IPv4, RFC 5952 text, no zone', () => {
    expect(normalizeAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(normalizeAddress('FE80:0:0::1%wg0')).toBe('fe80::1');
    expect(normalizeAddress('fd00:0:0:0:0:0:0:1')).toBe('fd00::1');
    expect(normalizeAddress('10.0.0.1')).toBe('10.0.0.1');
  });

  it('link-local peers are dialled with the interface as scope', () => {
    expect(scopedAddress('fe80::1', 'wg-b')).toBe('fe80::1%wg-b');
    expect(scopedAddress('fd00::1', 'wg-b')).toBe('fd00::1');
    expect(scopedAddress('10.0.0.1', 'wg-b')).toBe('10.0.0.1');
    expect(scopedAddress('fe80::1', undefined)).toBe('fe80::1');
  });

  it('RFC 4271 §6.8 compares identifiers as unsigned 32-bit numbers', () => {
    expect(bgpIdToNumber('255.0.0.1')).toBeGreaterThan(bgpIdToNumber('127.255.255.255'));
  });
});
