import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BfdDecodeError, BfdDiag, BfdState, decodeControl, encodeControl, type BfdControlPacket } from '../../src/bfd/codec.js';
import { parseHexText } from '../bgp/wire/vectors.js';

const vector = (name: string): Buffer => parseHexText(readFileSync(new URL(`../vectors/bfd/${name}`, import.meta.url), 'utf8'));

const base: BfdControlPacket = {
  diag: BfdDiag.None,
  state: BfdState.Down,
  poll: false,
  final: false,
  cpi: false,
  auth: false,
  demand: false,
  detectMult: 3,
  myDiscriminator: 0x6b8a2f01,
  yourDiscriminator: 0,
  desiredMinTx: 1_000_000,
  requiredMinRx: 300_000,
  requiredMinEchoRx: 0,
};

function reason(buf: Buffer): string {
  try {
    decodeControl(buf);
    return 'accepted';
  } catch (e) {
    if (e instanceof BfdDecodeError) return e.reason;
    throw e;
  }
}

describe('BFD control packet golden vectors (RFC 5880 §4.1)', () => {
  const cases: [string, BfdControlPacket][] = [
    ['control-down.hex', base],
    ['control-up-poll.hex', { ...base, state: BfdState.Up, poll: true, yourDiscriminator: 7, desiredMinTx: 300_000 }],
    ['control-up-final.hex', { ...base, state: BfdState.Up, final: true, myDiscriminator: 7, yourDiscriminator: 0x6b8a2f01, desiredMinTx: 300_000 }],
    ['control-down-expired.hex', { ...base, diag: BfdDiag.ControlDetectionTimeExpired }],
  ];
  for (const [file, packet] of cases) {
    it(`${file} decodes to its fields and encodes back to the same octets`, () => {
      const bytes = vector(file);
      expect(decodeControl(bytes)).toEqual(packet);
      expect(encodeControl(packet).equals(bytes)).toBe(true);
    });
  }

  it('RFC 5880 §6.8.6: a packet with the A bit is discarded by a session without authentication, its type named', () => {
    const bytes = vector('control-auth-simple.hex');
    expect(() => decodeControl(bytes)).toThrow(/simple password/);
    expect(reason(bytes)).toBe('authentication');
  });
});

describe('RFC 5880 §6.8.6 reception checks', () => {
  const good = (): Buffer => encodeControl({ ...base, state: BfdState.Up, yourDiscriminator: 9 });

  it('accepts a well-formed packet, and trailing octets after Length (the UDP payload may be longer)', () => {
    expect(reason(good())).toBe('accepted');
    expect(reason(Buffer.concat([good(), Buffer.alloc(4)]))).toBe('accepted');
  });
  it('discards fewer than 24 octets', () => expect(reason(good().subarray(0, 23))).toBe('short'));
  it('discards a version other than 1', () => {
    const b = good();
    b[0] = (2 << 5) | 0;
    expect(reason(b)).toBe('version');
  });
  it('discards Length < 24, and Length beyond the payload', () => {
    const b = good();
    b[3] = 23;
    expect(reason(b)).toBe('length');
    b[3] = 25;
    expect(reason(b)).toBe('length');
  });
  it('discards A set with Length < 26 as a length error', () => {
    const b = Buffer.concat([good(), Buffer.alloc(1)]);
    b[1] = b[1]! | 0x04;
    b[3] = 25;
    expect(reason(b)).toBe('length');
  });
  it('discards Detect Mult 0', () => {
    const b = good();
    b[2] = 0;
    expect(reason(b)).toBe('detect-mult');
  });
  it('discards the Multipoint bit', () => {
    const b = good();
    b[1] = b[1]! | 0x01;
    expect(reason(b)).toBe('multipoint');
  });
  it('discards My Discriminator 0', () => {
    const b = good();
    b.writeUInt32BE(0, 4);
    expect(reason(b)).toBe('my-discriminator');
  });
  it('discards Your Discriminator 0 unless the sender is Down or AdminDown', () => {
    for (const [state, want] of [
      [BfdState.AdminDown, 'accepted'],
      [BfdState.Down, 'accepted'],
      [BfdState.Init, 'your-discriminator'],
      [BfdState.Up, 'your-discriminator'],
    ] as const) {
      expect(reason(encodeControl({ ...base, state, yourDiscriminator: 0 }))).toBe(want);
    }
  });
});

describe('BFD codec properties', () => {
  const packet = fc.record({
    diag: fc.integer({ min: 0, max: 31 }),
    state: fc.integer({ min: 0, max: 3 }),
    poll: fc.boolean(),
    final: fc.boolean(),
    cpi: fc.boolean(),
    auth: fc.constant(false),
    demand: fc.boolean(),
    detectMult: fc.integer({ min: 1, max: 255 }),
    myDiscriminator: fc.integer({ min: 1, max: 0xffffffff }),
    yourDiscriminator: fc.integer({ min: 1, max: 0xffffffff }),
    desiredMinTx: fc.integer({ min: 0, max: 0xffffffff }),
    requiredMinRx: fc.integer({ min: 0, max: 0xffffffff }),
    requiredMinEchoRx: fc.integer({ min: 0, max: 0xffffffff }),
  }) as fc.Arbitrary<BfdControlPacket>;

  it('round-trips every encodable packet', () => {
    fc.assert(
      fc.property(packet, (p) => {
        expect(decodeControl(encodeControl(p))).toEqual(p);
      }),
      { numRuns: 2000 },
    );
  });

  it('fuzz: decode of any octets returns a packet or throws BfdDecodeError, nothing else', () => {
    const arbitrary = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      // Mostly-valid headers reach the later checks.
      packet.chain((p) => fc.tuple(fc.constant(encodeControl(p)), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 255 })).map(([b, i, v]) => {
        const c = Buffer.from(b);
        c[i] = v;
        return new Uint8Array(c);
      })),
    );
    fc.assert(
      fc.property(arbitrary, (bytes) => {
        try {
          decodeControl(Buffer.from(bytes));
        } catch (e) {
          expect(e).toBeInstanceOf(BfdDecodeError);
        }
      }),
      { numRuns: 5000 },
    );
  });
});
