/**
 * The decoded form of an UPDATE's prefixes (UpdateMessage.received): each
 * prefix field checked and left in the message's bytes (PrefixRun), read by
 * PrefixReader as (length, 32-bit words, RFC 7911 Path Identifier) without a
 * text; the text lists are made from the same bytes only when read.
 * Vectors under test/vectors/bgp/nlri/ (RFC 4271 §4.3, RFC 4760 §3/§4) and
 * the ADD-PATH ones (RFC 7911 §3).
 */
import { describe, expect, it } from 'vitest';
import { decodeMessage } from '#bgp/wire/index';
import type { CodecContext, PrefixRun, UpdateMessage } from '#bgp/wire/index';
import { PrefixReader, checkPrefixes } from '#bgp/wire/nlri';
import { toPlain } from '#bgp/wire/received';
import type { ReceivedUpdate } from '#bgp/wire/received';
import { loadVector } from './vectors.js';

const FOUR: CodecContext = { fourOctetAs: true };
const BOTH = { ipv4: true, ipv6: true };
const RX: CodecContext = { fourOctetAs: true, addPath: { receive: BOTH, send: { ipv4: false, ipv6: false } } };

/** One prefix as the reader gives it: length, words as unsigned hex, Path Identifier. */
interface Read {
  len: number;
  words: string[];
  pathId: number;
}

function readAll(run: PrefixRun): Read[] {
  const r = new PrefixReader().reset(run);
  const out: Read[] = [];
  while (r.next()) {
    const words = (r.v6 ? [r.w0, r.w1, r.w2, r.w3] : [r.w0]).map((w) => (w >>> 0).toString(16).padStart(8, '0'));
    out.push({ len: r.len, words, pathId: r.pathId });
  }
  return out;
}

function update(name: string, ctx: CodecContext): UpdateMessage {
  const m = decodeMessage(loadVector(name), ctx).message;
  if (m.type !== 2) throw new Error(`${name} is no UPDATE`);
  return m;
}

describe('received prefixes as words (PrefixReader)', () => {
  it('RFC 4271 §4.3: IPv4 Withdrawn Routes and NLRI, trailing bits cleared, /0 and /32 at the word edges', () => {
    const m = update('nlri/update-ipv4-word-edges.hex', FOUR);
    const r = m.received!;
    // Withdrawn Routes: octets 21..28 of the frame; NLRI: after the 20 octets of attributes, to the end.
    expect({ start: r.withdrawn.start, end: r.withdrawn.end, count: r.withdrawn.count, addPath: r.withdrawn.addPath }).toEqual({ start: 21, end: 28, count: 2, addPath: false });
    expect({ start: r.nlri.start, end: r.nlri.end, count: r.nlri.count }).toEqual({ start: 50, end: 61, count: 4 });
    expect(readAll(r.withdrawn)).toEqual([
      { len: 1, words: ['80000000'], pathId: 0 },
      { len: 31, words: ['c0000202'], pathId: 0 },
    ]);
    expect(readAll(r.nlri)).toEqual([
      { len: 0, words: ['00000000'], pathId: 0 },
      { len: 7, words: ['0a000000'], pathId: 0 },
      { len: 32, words: ['0a000001'], pathId: 0 },
      { len: 9, words: ['0a800000'], pathId: 0 },
    ]);
    expect(r.reach).toBeUndefined();
    // The texts, made on demand from the same bytes, agree.
    expect(m.withdrawn).toEqual(['128.0.0.0/1', '192.0.2.2/31']);
    expect(m.nlri).toEqual(['0.0.0.0/0', '10.0.0.0/7', '10.0.0.1/32', '10.128.0.0/9']);
  });

  it('RFC 4760 §3: MP_REACH_NLRI IPv6 prefixes as four words, a length one bit into a word, /127 and /128', () => {
    const m = update('nlri/update-ipv6-word-edges.hex', FOUR);
    const reach = m.received!.reach!;
    expect({ family: reach.family, count: reach.count, addPath: reach.addPath }).toEqual({ family: 6, count: 5, addPath: false });
    expect(readAll(reach)).toEqual([
      { len: 0, words: ['00000000', '00000000', '00000000', '00000000'], pathId: 0 },
      { len: 33, words: ['20010db8', '80000000', '00000000', '00000000'], pathId: 0 },
      { len: 64, words: ['20010db8', '00000001', '00000000', '00000000'], pathId: 0 },
      { len: 127, words: ['ffffffff', 'ffffffff', 'ffffffff', 'fffffffe'], pathId: 0 },
      { len: 128, words: ['20010db8', '00000000', '00000000', '00000001'], pathId: 0 },
    ]);
    expect(m.received!.nlri.count).toBe(0);
    expect(m.mpReach!.nlri).toEqual(['::/0', '2001:db8:8000::/33', '2001:db8:0:1::/64', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127', '2001:db8::1/128']);
  });

  it('RFC 7911 §3: Path Identifiers are read with their prefixes (IPv4 fields, MP_REACH and MP_UNREACH)', () => {
    const v4 = update('add-path/update-ipv4.hex', RX).received!;
    expect(readAll(v4.withdrawn)).toEqual([{ len: 16, words: ['0a030000'], pathId: 2 }]);
    expect(readAll(v4.nlri)).toEqual([
      { len: 24, words: ['0a010000'], pathId: 1 },
      { len: 24, words: ['0a010000'], pathId: 2 },
    ]);
    const reach = update('add-path/update-mp-reach-ipv6.hex', RX).received!.reach!;
    expect(reach.addPath).toBe(true);
    expect(readAll(reach).map((p) => [p.len, p.words[0], p.words[1], p.pathId])).toEqual([
      [48, '20010db8', '00010000', 1],
      [48, '20010db8', '00010000', 7],
    ]);
    const unreach = update('add-path/update-mp-unreach-ipv6.hex', RX).received!.unreach!;
    expect(readAll(unreach).map((p) => [p.len, p.pathId])).toEqual([[48, 7]]);
  });

  it('the decoded message compares equal to the message written out, and prints as it', () => {
    const m = update('update-ipv4.hex', FOUR);
    expect(Object.keys(m)).not.toContain('received');
    expect(m.received).toBeDefined();
    expect((m as ReceivedUpdate).textsMade).toBe(false);
    expect(toPlain(m)).toEqual({ type: 2, withdrawn: [], attributes: m.attributes, nlri: ['10.1.0.0/24', '172.16.0.0/12', '192.0.2.1/32', '0.0.0.0/0'] });
    expect(JSON.parse(JSON.stringify(m)).nlri).toEqual(['10.1.0.0/24', '172.16.0.0/12', '192.0.2.1/32', '0.0.0.0/0']);
  });

  it('a text list, once read, is kept; assigning replaces it', () => {
    const m = update('update-ipv4.hex', FOUR);
    const first = m.nlri;
    expect(m.nlri).toBe(first);
    m.nlri = ['10.9.0.0/16'];
    expect(m.nlri).toEqual(['10.9.0.0/16']);
  });

  it('RFC 7606 §5.3: checkPrefixes names what makes a field unreadable, and counts a readable one', () => {
    const b = Uint8Array.from([0x18, 0x0a, 0x01, 0x00, 0x21, 0x0a]);
    expect(checkPrefixes(b, 0, 4, 4, false)).toMatchObject({ count: 1, start: 0, end: 4, family: 4 });
    expect(checkPrefixes(b, 0, 6, 4, false)).toBe('prefix length 33 exceeds 32');
    expect(checkPrefixes(b, 0, 3, 4, false)).toBe('prefix /24 overruns the field');
    expect(checkPrefixes(b, 0, 4, 4, true)).toBe('Path Identifier and prefix length need 5 octets, 4 left');
    expect(checkPrefixes(b, 2, 2, 6, false)).toMatchObject({ count: 0 });
  });
});
