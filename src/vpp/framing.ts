/**
 * The socket frame (fact sheet §1.2): VPP's packed `msgbuf_t` header before
 * every message, both directions. 8 bytes `q` (0), u32 BE `data_len` (body
 * bytes, header excluded), u32 `gc_mark_timestamp` (0). The stream has no
 * other boundaries: one read may hold many messages or part of one.
 */
import { VppCodecError } from './errors.js';

export const FRAME_HEADER_SIZE = 16;
/** Larger than any real message (the connect reply's table is a few hundred kB). */
export const MAX_BODY_SIZE = 64 * 1024 * 1024;

export function frame(body: Uint8Array): Buffer {
  const out = Buffer.alloc(FRAME_HEADER_SIZE + body.length);
  out.writeUInt32BE(body.length, 8);
  out.set(body, FRAME_HEADER_SIZE);
  return out;
}

/** Reassembles whole message bodies from stream chunks. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private total = 0;

  constructor(private readonly maxBody = MAX_BODY_SIZE) {}

  /** Bytes received but not yet returned as a whole body. */
  get buffered(): number {
    return this.total;
  }

  /**
   * Adds a chunk; returns the bodies it completes, in order. Throws
   * VppCodecError on a frame longer than the limit (the stream is then lost).
   */
  push(chunk: Uint8Array): Buffer[] {
    if (chunk.length > 0) {
      this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this.total += chunk.length;
    }
    const out: Buffer[] = [];
    while (this.total >= FRAME_HEADER_SIZE) {
      const len = this.headerLength();
      if (len > this.maxBody) throw new VppCodecError(`frame of ${len} bytes exceeds the ${this.maxBody} byte limit`);
      if (this.total < FRAME_HEADER_SIZE + len) break;
      out.push(this.take(FRAME_HEADER_SIZE + len).subarray(FRAME_HEADER_SIZE));
    }
    return out;
  }

  /**
   * Like push, without an array or a Buffer per body: `onBody(buf, start,
   * length)` for each body completed, in order. A body wholly inside `chunk`
   * is passed in place (valid only during the call); one split across chunks
   * is joined first. Throws VppCodecError like push.
   */
  scan(chunk: Buffer, onBody: (buf: Buffer, start: number, length: number) => void): void {
    let at = 0;
    if (this.total > 0) {
      // Finish the frame split across chunks from the head of this one.
      if (this.total < FRAME_HEADER_SIZE) {
        at = Math.min(FRAME_HEADER_SIZE - this.total, chunk.length);
        for (const body of this.push(chunk.subarray(0, at))) onBody(body, 0, body.length);
      }
      if (this.total >= FRAME_HEADER_SIZE) {
        const len = this.headerLength();
        if (len > this.maxBody) throw new VppCodecError(`frame of ${len} bytes exceeds the ${this.maxBody} byte limit`);
        const need = FRAME_HEADER_SIZE + len - this.total;
        if (chunk.length - at < need) {
          this.push(chunk.subarray(at));
          return;
        }
        for (const body of this.push(chunk.subarray(at, at + need))) onBody(body, 0, body.length);
        at += need;
      } else if (this.total > 0) {
        return;
      }
    }
    while (chunk.length - at >= FRAME_HEADER_SIZE) {
      const len = chunk.readUInt32BE(at + 8);
      if (len > this.maxBody) throw new VppCodecError(`frame of ${len} bytes exceeds the ${this.maxBody} byte limit`);
      if (chunk.length - at < FRAME_HEADER_SIZE + len) break;
      onBody(chunk, at + FRAME_HEADER_SIZE, len);
      at += FRAME_HEADER_SIZE + len;
    }
    if (at < chunk.length) this.push(chunk.subarray(at));
  }

  private headerLength(): number {
    let first = this.chunks[0]!;
    if (first.length < FRAME_HEADER_SIZE) {
      first = Buffer.concat(this.chunks);
      this.chunks = [first];
    }
    return first.readUInt32BE(8);
  }

  /** Removes and returns the first n buffered bytes (n <= total). */
  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      const parts: Buffer[] = [];
      let need = n;
      while (need > 0) {
        const c = this.chunks[0]!;
        if (c.length <= need) {
          parts.push(c);
          this.chunks.shift();
          need -= c.length;
        } else {
          parts.push(c.subarray(0, need));
          this.chunks[0] = c.subarray(need);
          need = 0;
        }
      }
      out = Buffer.concat(parts, n);
    }
    this.total -= n;
    return out;
  }
}
