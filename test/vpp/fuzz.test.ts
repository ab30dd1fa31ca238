/**
 * Whatever bytes arrive, decode() answers with values or a VppCodecError:
 * never a RangeError from Buffer, never a hang or a huge allocation from a
 * hostile count.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decode, VppCodecError } from '#vpp/codec';
import { MESSAGES } from '#vpp/defs/index';
import { FrameReader, frame } from '#vpp/framing';
import { loadVector } from './vectors.js';

const defs = [...MESSAGES.values()];

function decodeOnlyTyped(name: string, body: Uint8Array): void {
  try {
    decode(MESSAGES.get(name)!, body);
  } catch (e) {
    if (!(e instanceof VppCodecError)) throw e;
  }
}

describe('decode fuzz', () => {
  it('random bodies for every message: values or VppCodecError', () => {
    fc.assert(
      fc.property(fc.constantFrom(...defs.map((d) => d.name)), fc.uint8Array({ maxLength: 600 }), (name, body) => {
        decodeOnlyTyped(name, body);
      }),
      { numRuns: 20_000 },
    );
  });

  it('every strict prefix of every golden vector is a VppCodecError', () => {
    for (const d of defs) {
      const bytes = loadVector(`${d.name}.hex`);
      for (let n = 0; n < bytes.length; n++) {
        expect(() => decode(d, bytes.subarray(0, n)), `${d.name} cut at ${n}`).toThrow(VppCodecError);
      }
    }
  });

  it('mutated golden vectors: values or VppCodecError', () => {
    const vectors = defs.map((d) => ({ name: d.name, bytes: loadVector(`${d.name}.hex`) }));
    fc.assert(
      fc.property(
        fc.constantFrom(...vectors),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.nat(),
        ({ name, bytes }, flips, cut) => {
          const b = Buffer.from(bytes);
          for (const [i, v] of flips) b[i % b.length] = v;
          decodeOnlyTyped(name, b.subarray(0, cut % (b.length + 1)));
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it('a hostile VLA count fails fast instead of looping', () => {
    const body = Buffer.alloc(20);
    body.writeUInt16BE(16, 0);
    body.writeUInt16BE(0xffff, 18); // count: 65535 table entries, none present
    expect(() => decode(MESSAGES.get('sockclnt_create_reply')!, body)).toThrow(/truncated/);
    const vstr = Buffer.alloc(19);
    vstr.writeUInt32BE(0xffffffff, 15); // name_filter length 4 GiB
    expect(() => decode(MESSAGES.get('sw_interface_dump')!, vstr)).toThrow(VppCodecError);
  });
});

describe('FrameReader fuzz', () => {
  it('any split of a stream of frames gives back the same bodies, in order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 50 }),
        (bodies, cuts) => {
          const stream = Buffer.concat(bodies.map((b) => frame(b)));
          const reader = new FrameReader();
          const out: Buffer[] = [];
          let off = 0;
          for (let i = 0; off < stream.length; i++) {
            const n = cuts[i % cuts.length]!;
            out.push(...reader.push(stream.subarray(off, off + n)));
            off += n;
          }
          expect(out.map((b) => b.toString('hex'))).toEqual(bodies.map((b) => Buffer.from(b).toString('hex')));
          expect(reader.buffered).toBe(0);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
