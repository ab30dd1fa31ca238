/**
 * RFC 8654 extended messages: up to 65535 octets once both sides advertised
 * capability 6 (CodecContext.extendedMessages), 4096 otherwise; OPEN and
 * KEEPALIVE never grow.
 */
import { describe, expect, it } from 'vitest';
import { EXTENDED_MAX_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH, MessageFramer, MessageType, buildOpen, decodeMessage, encodeMessage, negotiatedContext } from '#bgp/wire/index';
import type { CodecContext, NotificationMessage, UpdateMessage } from '#bgp/wire/index';
import { expectNotification } from './frames.js';

const PLAIN: CodecContext = { fourOctetAs: true };
const EXTENDED: CodecContext = { fourOctetAs: true, extendedMessages: true };

/** 1500 /24s: 6000 octets of NLRI, an UPDATE of 6037 octets (0x1795). */
const big: UpdateMessage = {
  type: MessageType.Update,
  withdrawn: [],
  attributes: { origin: 0, asPath: [], nextHop: '192.0.2.1' },
  nlri: Array.from({ length: 1500 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`),
};

describe('RFC 8654 extended messages', () => {
  it('RFC 8654 §3: negotiated only when both OPENs carry capability 6', () => {
    const base = { asn: 65001, holdTime: 90, bgpId: '192.0.2.1', families: [] };
    const ext = buildOpen({ ...base, extendedMessages: true });
    const plain = buildOpen(base);
    expect(negotiatedContext(ext, ext).extendedMessages).toBe(true);
    expect(negotiatedContext(ext, plain).extendedMessages).toBeUndefined();
    expect(negotiatedContext(plain, ext).extendedMessages).toBeUndefined();
  });

  it('RFC 8654 §3: an UPDATE over 4096 octets is encoded and decoded only when negotiated', () => {
    expect(() => encodeMessage(big, PLAIN)).toThrow(RangeError);
    const bytes = encodeMessage(big, EXTENDED);
    expect(bytes.length).toBe(6037);
    expect(decodeMessage(bytes, EXTENDED).message).toEqual(big);
    // RFC 8654 §3 (RFC 4271 §6.1): not negotiated, it is a Bad Message Length carrying the length.
    expectNotification(() => decodeMessage(bytes, PLAIN), 1, 2, '1795');
  });

  it('RFC 8654 §3: 65535 octets is the limit', () => {
    // 37 octets of header, lengths and attributes, 16374 /24s of 4 octets, one /8 of 2.
    const nlri = [...Array.from({ length: 16374 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`), '11.0.0.0/8'];
    const at = encodeMessage({ ...big, nlri }, EXTENDED);
    expect(at.length).toBe(EXTENDED_MAX_MESSAGE_LENGTH);
    expect(() => encodeMessage({ ...big, nlri: [...nlri, '10.255.255.0/24'] }, EXTENDED)).toThrow(RangeError);
  });

  it('RFC 8654 §3: a NOTIFICATION may be extended too', () => {
    const n: NotificationMessage = { type: MessageType.Notification, code: 6, subcode: 2, data: new Uint8Array(5000) };
    expect(() => encodeMessage(n, PLAIN)).toThrow(RangeError);
    expect(decodeMessage(encodeMessage(n, EXTENDED), EXTENDED).message).toEqual(n);
  });

  it('RFC 8654 §3: an OPEN is never longer than 4096 octets', () => {
    const open = buildOpen({ asn: 65001, holdTime: 90, bgpId: '192.0.2.1', families: [] });
    open.capabilities.push(...Array.from({ length: 20 }, () => ({ code: 128, raw: new Uint8Array(250) })));
    expect(() => encodeMessage(open, EXTENDED)).toThrow(RangeError);
    // The same OPEN body with a hand-made header of 5000 octets.
    const f = Buffer.alloc(5000, 0);
    f.fill(0xff, 0, 16);
    f.writeUInt16BE(5000, 16);
    f[18] = MessageType.Open;
    expectNotification(() => decodeMessage(f, EXTENDED), 1, 2, '1388');
  });

  it('the framer takes frames up to 4096 octets until raised to 65535, within one chunk and across chunks', () => {
    const bytes = encodeMessage(big, EXTENDED);
    expectNotification(() => new MessageFramer().push(bytes), 1, 2, '1795');
    const fr = new MessageFramer(MAX_MESSAGE_LENGTH);
    fr.setMaxLength(EXTENDED_MAX_MESSAGE_LENGTH);
    expect(fr.push(bytes).map((b) => b.length)).toEqual([6037]);
    const out = [...fr.push(bytes.subarray(0, 10)), ...fr.push(bytes.subarray(10, 4000)), ...fr.push(bytes.subarray(4000))];
    expect(out.map((b) => b.toString('hex'))).toEqual([bytes.toString('hex')]);
  });
});
