/**
 * Cease NOTIFICATION data: the RFC 8203 / RFC 9003 shutdown communication and
 * the RFC 4486 §4 max-prefix data, against the golden vectors in
 * test/vectors/bgp/notification (hex with a comment per field).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  MessageType,
  checkShutdownCommunication,
  decodeMaxPrefixData,
  decodeMessage,
  encodeMaxPrefixData,
  encodeMessage,
  encodeShutdownCommunication,
  readShutdownCommunication,
} from '#bgp/wire/index';
import type { CodecContext, NotificationMessage } from '#bgp/wire/index';
import { notificationText } from '#bgp/session/index';
import { loadVector } from './vectors.js';

const CTX: CodecContext = { fourOctetAs: true };

function notification(name: string): NotificationMessage {
  const d = decodeMessage(loadVector(`notification/${name}`), CTX);
  if (d.message.type !== MessageType.Notification) throw new Error(`${name} is not a NOTIFICATION`);
  expect(d.action).toBe('none');
  return d.message;
}

describe('RFC 9003 shutdown communication (golden vectors)', () => {
  it('RFC 9003 §2: Administrative Reset with 40 octets of UTF-8 decodes to its 36 characters and encodes to the same bytes', () => {
    const m = notification('admin-reset-utf8.hex');
    expect([m.code, m.subcode]).toEqual([6, 4]);
    const text = 'Wartung bis 18:00 – zurück gleich ✓';
    expect(readShutdownCommunication(m.data)).toEqual({ text, problem: null });
    expect(Buffer.from(encodeShutdownCommunication(text))).toEqual(Buffer.from(m.data));
    const ours: NotificationMessage = { type: MessageType.Notification, code: 6, subcode: 4, data: encodeShutdownCommunication(text) };
    expect(encodeMessage(ours, CTX)).toEqual(loadVector('notification/admin-reset-utf8.hex'));
    expect(notificationText(m.code, m.subcode, m.data)).toBe(`6/4 Administrative Reset: "${text}"`);
  });

  it('RFC 9003 §4: a length that overruns the message is no communication (logged), and the NOTIFICATION is still a Cease', () => {
    const m = notification('admin-shutdown-overrun.hex');
    expect([m.code, m.subcode]).toEqual([6, 2]);
    expect(readShutdownCommunication(m.data)).toEqual({ text: null, problem: expect.stringMatching(/length 32 overruns the 5 octet/) });
    expect(notificationText(m.code, m.subcode, m.data)).toBe('6/2 Administrative Shutdown');
  });

  it('RFC 9003 §2, §4: invalid UTF-8 is not interpreted: no communication, a problem to log', () => {
    const m = notification('admin-shutdown-bad-utf8.hex');
    expect(readShutdownCommunication(m.data)).toEqual({ text: null, problem: expect.stringMatching(/not valid UTF-8/) });
    expect(notificationText(m.code, m.subcode, m.data)).toBe('6/2 Administrative Shutdown');
  });

  it('RFC 9003 §2: length zero is no communication and no problem', () => {
    const m = notification('admin-shutdown-empty.hex');
    expect(readShutdownCommunication(m.data)).toEqual({ text: null, problem: null });
    // Without a message we send no data at all (RFC 4486).
    expect(encodeShutdownCommunication('')).toEqual(new Uint8Array(0));
    expect(encodeShutdownCommunication(undefined)).toEqual(new Uint8Array(0));
  });

  it('octets after the communication are not looked at', () => {
    expect(readShutdownCommunication(Uint8Array.of(2, 0x6f, 0x6b, 0xff, 0xff))).toEqual({ text: 'ok', problem: null });
  });
});

describe('RFC 9003 §2: 255 octets at most', () => {
  it('255 octets are sent whole; 256 are refused with the count, and the encoder cuts at a character boundary', () => {
    const fits = `${'x'.repeat(252)}✓`;
    expect(Buffer.byteLength(fits)).toBe(255);
    expect(checkShutdownCommunication(fits)).toBeNull();
    expect(encodeShutdownCommunication(fits)[0]).toBe(255);
    const over = `${'x'.repeat(253)}✓`;
    expect(checkShutdownCommunication(over)).toBe('is 256 octets of UTF-8; RFC 9003 §2 allows at most 255');
    const cut = encodeShutdownCommunication(over);
    // The 3-octet check mark would end at octet 256: it goes whole, never half.
    expect(cut[0]).toBe(253);
    expect(readShutdownCommunication(cut).text).toBe('x'.repeat(253));
  });

  it('a lone UTF-16 surrogate has no UTF-8 form: refused', () => {
    expect(checkShutdownCommunication('bad \ud800 half')).toMatch(/lone UTF-16 surrogate/);
    expect(checkShutdownCommunication('emoji 🚧 fine')).toBeNull();
  });
});

describe('RFC 4486 §4: Maximum Number of Prefixes Reached data', () => {
  it('AFI, SAFI and the upper bound, decoded from the vector and encoded to it', () => {
    const m = notification('max-prefix-ipv4.hex');
    expect([m.code, m.subcode]).toEqual([6, 1]);
    expect(decodeMaxPrefixData(m.data)).toEqual({ afi: 1, safi: 1, limit: 1000 });
    const ours: NotificationMessage = { type: MessageType.Notification, code: 6, subcode: 1, data: encodeMaxPrefixData({ afi: 1, safi: 1, limit: 1000 }) };
    expect(encodeMessage(ours, CTX)).toEqual(loadVector('notification/max-prefix-ipv4.hex'));
    expect(notificationText(6, 1, m.data)).toBe('6/1 Maximum Number of Prefixes Reached: ipv4-unicast limit 1000');
  });

  it('the data is optional ("MAY"): none, or of another length, is just the name', () => {
    expect(decodeMaxPrefixData(new Uint8Array(0))).toBeNull();
    expect(decodeMaxPrefixData(Uint8Array.of(0, 2, 1))).toBeNull();
    expect(notificationText(6, 1, new Uint8Array(0))).toBe('6/1 Maximum Number of Prefixes Reached');
    expect(decodeMaxPrefixData(encodeMaxPrefixData({ afi: 2, safi: 1, limit: 4294967295 }))).toEqual({ afi: 2, safi: 1, limit: 4294967295 });
  });
});

describe('properties', () => {
  it('RFC 9003 §4: no received data makes the reader throw; a text it returns is what the length octet covers', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
        const r = readShutdownCommunication(data);
        if (r.text !== null) expect(Buffer.byteLength(r.text)).toBe(data[0]);
        expect(r.text !== null && r.problem !== null).toBe(false);
      }),
    );
  });

  it('RFC 9003 §2: any text within 255 octets of UTF-8 goes through encode and read unchanged; longer text is cut to whole characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 120 }), (text) => {
        const read = readShutdownCommunication(encodeShutdownCommunication(text)).text;
        if (checkShutdownCommunication(text) === null) expect(read).toBe(text === '' ? null : text);
        else expect(text.startsWith(read ?? '')).toBe(true);
      }),
    );
  });
});
