/** MessageFramer: stream splitting and the RFC 4271 §6.1 header checks. */
import { describe, expect, it } from 'vitest';
import { MessageFramer, decodeMessage } from '#bgp/wire/index';
import { expectNotification } from './frames.js';
import { loadVector, vectorNames } from './vectors.js';

const frames = vectorNames().map(loadVector);
const stream = Buffer.concat(frames);
const hexes = frames.map((f) => f.toString('hex'));

function toHex(bs: Buffer[]): string[] {
  return bs.map((b) => b.toString('hex'));
}

describe('MessageFramer', () => {
  it('returns every message of a chunk holding many, as views of the chunk (no copy)', () => {
    const out = new MessageFramer().push(stream);
    expect(toHex(out)).toEqual(hexes);
    for (const f of out) expect(f.buffer).toBe(stream.buffer);
  });

  it('gives the same frames whatever byte boundary the stream is split at', () => {
    for (let i = 0; i <= stream.length; i++) {
      const fr = new MessageFramer();
      const out = [...fr.push(stream.subarray(0, i)), ...fr.push(stream.subarray(i))];
      expect(toHex(out), `split at ${i}`).toEqual(hexes);
      expect(fr.pending).toBe(0);
    }
  });

  it('gives the same frames when split at two boundaries', () => {
    const step = 7;
    for (let i = 0; i <= stream.length; i += step) {
      for (let j = i; j <= stream.length; j += step) {
        const fr = new MessageFramer();
        const out = [...fr.push(stream.subarray(0, i)), ...fr.push(stream.subarray(i, j)), ...fr.push(stream.subarray(j))];
        expect(toHex(out)).toEqual(hexes);
      }
    }
  });

  it('assembles a stream fed one octet at a time', () => {
    const fr = new MessageFramer();
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...fr.push(stream.subarray(i, i + 1)));
    expect(toHex(out)).toEqual(hexes);
  });

  it('holds an incomplete frame until the rest arrives', () => {
    const fr = new MessageFramer();
    const open = loadVector('open-all-capabilities.hex');
    expect(fr.push(open.subarray(0, 30))).toEqual([]);
    expect(fr.pending).toBe(30);
    expect(toHex(fr.push(open.subarray(30)))).toEqual([open.toString('hex')]);
  });

  it('frames it returns decode', () => {
    for (const f of new MessageFramer().push(stream)) expect(() => decodeMessage(f, { fourOctetAs: true })).not.toThrow();
  });

  it('RFC 4271 §6.1: a marker that is not all ones is Connection Not Synchronized', () => {
    const bad = Buffer.from(stream);
    bad[5] = 0xfe;
    expectNotification(() => new MessageFramer().push(bad), 1, 1);
  });

  it('RFC 4271 §6.1: a length below 19 is Bad Message Length with the length field as data', () => {
    const bad = loadVector('keepalive.hex');
    bad.writeUInt16BE(18, 16);
    expectNotification(() => new MessageFramer().push(bad), 1, 2, '0012');
  });

  it('RFC 4271 §6.1: a length above 4096 is Bad Message Length, found from the header alone', () => {
    const head = loadVector('keepalive.hex');
    head.writeUInt16BE(4097, 16);
    head[18] = 2;
    expectNotification(() => new MessageFramer().push(head), 1, 2, '1001');
  });

  it('RFC 4271 §6.1: an unknown type is Bad Message Type with the type as data', () => {
    const bad = loadVector('keepalive.hex');
    bad[18] = 6;
    expectNotification(() => new MessageFramer().push(bad), 1, 3, '06');
  });

  it('RFC 4271 §6.1: a bad header split across chunks is found once its 19 octets are in', () => {
    const bad = loadVector('keepalive.hex');
    bad[18] = 0;
    const fr = new MessageFramer();
    expect(fr.push(bad.subarray(0, 10))).toEqual([]);
    expectNotification(() => fr.push(bad.subarray(10)), 1, 3, '00');
  });

  it('stays failed after a framing error: the stream cannot be resynchronised', () => {
    const fr = new MessageFramer();
    const bad = loadVector('keepalive.hex');
    bad[0] = 0;
    expectNotification(() => fr.push(bad), 1, 1);
    expectNotification(() => fr.push(loadVector('keepalive.hex')), 1, 1);
  });

  it('accepts a maximum-length message of 4096 octets', () => {
    const big = Buffer.alloc(4096);
    big.fill(0xff, 0, 16);
    big.writeUInt16BE(4096, 16);
    big[18] = 3;
    const fr = new MessageFramer();
    expect(fr.push(big.subarray(0, 2000))).toEqual([]);
    expect(fr.push(big.subarray(2000))[0]?.length).toBe(4096);
  });
});
