/**
 * Fuzz target: random and mutated frames through MessageFramer + decodeMessage.
 * Whatever happens, the only exception allowed is BgpWireError; and whatever
 * decodes must encode again and decode cleanly. Seeded, so a failure replays.
 */
import { describe, expect, it } from 'vitest';
import { BgpWireError, MessageFramer, decodeMessage, encodeMessage } from '#bgp/wire/index';
import type { CodecContext, DecodedMessage } from '#bgp/wire/index';
import { loadVector, vectorNames } from './vectors.js';

/** mulberry32: small, fast, deterministic. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const golden = vectorNames().map(loadVector);
const CONTEXTS: CodecContext[] = [{ fourOctetAs: true }, { fourOctetAs: false }, { fourOctetAs: true, extendedMessages: true }];
/** Attribute type codes worth hitting: every recognised one plus a few unknown. */
const CODES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 14, 15, 16, 17, 18, 25, 32, 35, 99, 255];

function withHeader(body: Uint8Array, type: number): Buffer {
  const b = Buffer.alloc(19 + body.length);
  b.fill(0xff, 0, 16);
  b.writeUInt16BE(Math.min(b.length, 0xffff), 16);
  b[18] = type;
  b.set(body, 19);
  return b;
}

function randomBytes(r: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (r() * 256) | 0;
  return b;
}

/** An UPDATE whose attribute list is random TLVs, to reach every descriptor. */
function randomUpdate(r: () => number): Buffer {
  const parts: Buffer[] = [];
  const n = (r() * 6) | 0;
  for (let i = 0; i < n; i++) {
    const flags = [0x40, 0x80, 0xc0, 0xe0, 0x50, 0x90, 0x00][(r() * 7) | 0]!;
    const code = CODES[(r() * CODES.length) | 0]!;
    const value = randomBytes(r, (r() * 40) | 0);
    // Sometimes a well-formed start for the MP attributes, so their NLRI is parsed.
    if ((code === 14 || code === 15) && r() < 0.5) {
      value[0] = 0;
      value[1] = r() < 0.5 ? 1 : 2;
      value[2] = 1;
      if (code === 14 && value.length > 3) value[3] = [4, 16, 32][(r() * 3) | 0]!;
    }
    const ext = (flags & 0x10) !== 0;
    const head = ext ? Buffer.of(flags, code, value.length >> 8, value.length & 0xff) : Buffer.of(flags, code, value.length);
    parts.push(head, value);
  }
  const attrs = Buffer.concat(parts);
  const withdrawn = randomBytes(r, r() < 0.7 ? 0 : (r() * 8) | 0);
  const nlri = r() < 0.5 ? Buffer.of(24, 10, 1, 0) : randomBytes(r, (r() * 8) | 0);
  const body = Buffer.concat([Buffer.of(withdrawn.length >> 8, withdrawn.length & 0xff), withdrawn, Buffer.of(attrs.length >> 8, attrs.length & 0xff), attrs, nlri]);
  return withHeader(body, 2);
}

function mutate(r: () => number, src: Buffer): Buffer {
  let b = Buffer.from(src);
  const flips = 1 + ((r() * 4) | 0);
  for (let i = 0; i < flips; i++) {
    const at = 16 + ((r() * (b.length - 16)) | 0);
    if (r() < 0.5) b[at] = b[at]! ^ (1 << ((r() * 8) | 0));
    else b[at] = (r() * 256) | 0;
  }
  const shape = r();
  if (shape < 0.25) b = b.subarray(0, (r() * b.length) | 0);
  else if (shape < 0.35) b = Buffer.concat([b, randomBytes(r, 1 + ((r() * 8) | 0))]);
  // Mostly keep the header consistent, so the mutation reaches the body decoders.
  if (b.length >= 19 && r() < 0.8) {
    b.fill(0xff, 0, 16);
    b.writeUInt16BE(b.length, 16);
  }
  return b;
}

function input(r: () => number): Buffer {
  const kind = r();
  if (kind < 0.1) return randomBytes(r, (r() * 64) | 0);
  if (kind < 0.25) return withHeader(randomBytes(r, (r() * 48) | 0), 1 + ((r() * 5) | 0));
  if (kind < 0.5) return r() < 0.5 ? randomUpdate(r) : mutate(r, randomUpdate(r));
  return mutate(r, golden[(r() * golden.length) | 0]!);
}

/** What decodes must encode again and decode cleanly (no problems left to find). */
function reencodes(d: DecodedMessage, ctx: CodecContext): void {
  let bytes: Buffer;
  try {
    bytes = encodeMessage(d.message, ctx);
  } catch (e) {
    // The one legitimate refusal: RFC 6793 reconstruction made the message outgrow 4096 octets.
    expect(e).toBeInstanceOf(RangeError);
    expect(String(e)).toMatch(/exceeds 4096/);
    return;
  }
  const again = decodeMessage(bytes, ctx);
  expect(again.action).toBe('none');
}

// Longer or different runs: WGBGP_FUZZ_SEED=n WGBGP_FUZZ_RUNS=n npx vitest run test/bgp/wire/fuzz.test.ts
const SEED = Number(process.env['WGBGP_FUZZ_SEED'] ?? 0x5eed);
const RUNS = Number(process.env['WGBGP_FUZZ_RUNS'] ?? 20000);

describe('fuzz', () => {
  it(`${RUNS} random and mutated frames: only BgpWireError is ever thrown`, () => {
    const r = rng(SEED);
    let decoded = 0;
    let rejected = 0;
    for (let i = 0; i < RUNS; i++) {
      const bytes = input(r);
      const ctx = CONTEXTS[i % CONTEXTS.length]!;
      const framer = new MessageFramer();
      const cut = (r() * (bytes.length + 1)) | 0;
      try {
        for (const chunk of [bytes.subarray(0, cut), bytes.subarray(cut)]) {
          for (const f of framer.push(chunk)) {
            const d = decodeMessage(f, ctx);
            decoded++;
            reencodes(d, ctx);
          }
        }
      } catch (e) {
        if (!(e instanceof BgpWireError)) throw new Error(`case ${i} (${bytes.toString('hex')}): ${String(e)}`, { cause: e });
        expect(e.action).toBe('session-reset');
        expect(e.code).toBeGreaterThanOrEqual(1);
        expect(e.code).toBeLessThanOrEqual(7);
        rejected++;
      }
    }
    // The corpus must reach both outcomes in bulk, or it is not exercising the decoders.
    expect(decoded).toBeGreaterThan(RUNS * 0.15);
    expect(rejected).toBeGreaterThan(RUNS * 0.15);
  });
});
