/** Hand-built frames for the error-handling tests (lengths filled in here, bytes spelled out by each test). */
import { expect } from 'vitest';
import { BgpWireError } from '#bgp/wire/index';
import { hex } from './vectors.js';

function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}

export function frame(type: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.alloc(16, 0xff), u16(19 + body.length), Buffer.of(type), body]);
}

/** An UPDATE from hex withdrawn routes, path attributes and NLRI. */
export function updateFrame(withdrawn: string, attrs: string, nlri: string): Buffer {
  const w = hex(withdrawn);
  const a = hex(attrs);
  return frame(2, Buffer.concat([u16(w.length), w, u16(a.length), a, hex(nlri)]));
}

export function openFrame(body: string): Buffer {
  return frame(1, hex(body));
}

/** Runs fn and returns the BgpWireError it must throw. */
export function wireError(fn: () => unknown): BgpWireError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(BgpWireError);
    return e as BgpWireError;
  }
  throw new Error('expected a BgpWireError, nothing was thrown');
}

export function expectNotification(fn: () => unknown, code: number, subcode: number, data?: string): BgpWireError {
  const e = wireError(fn);
  expect([e.code, e.subcode], e.message).toEqual([code, subcode]);
  expect(e.action).toBe('session-reset');
  if (data !== undefined) expect(Buffer.from(e.data).toString('hex')).toBe(hex(data).toString('hex'));
  return e;
}

// Attribute snippets (RFC 4271 §4.3 layouts).
export const ORIGIN_IGP = '40 01 01 00';
export const AS_PATH_65002 = '40 02 06 02 01 0000fdea';
export const NEXT_HOP = '40 03 04 0aff0001';
export const MANDATORY = `${ORIGIN_IGP} ${AS_PATH_65002} ${NEXT_HOP}`;
export const NLRI_10_1 = '18 0a0100';
export const NLRI_10_2 = '10 0a02';
/** MP_REACH_NLRI IPv6 unicast, next hop 2001:db8::1, NLRI 2001:db8:1::/48. */
export const MP_REACH_V6 = '80 0e 1c 0002 01 10 20010db8000000000000000000000001 00 30 20010db80001';
/** MP_UNREACH_NLRI IPv6 unicast withdrawing 2001:db8:9::/48. */
export const MP_UNREACH_V6 = '80 0f 0a 0002 01 30 20010db80009';
