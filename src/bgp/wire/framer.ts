/**
 * Splits a TCP byte stream into whole BGP messages. Frames that lie inside one
 * chunk are returned as views of it (Buffer.subarray, no copy); only a frame
 * that spans chunks is assembled into a buffer of its own. Headers are checked
 * as soon as their 19 octets are in (RFC 4271 §6.1), before the body arrives.
 */
import { HEADER_LENGTH, MAX_MESSAGE_LENGTH, checkHeader } from './header.js';
import type { BgpWireError } from './errors.js';

export class MessageFramer {
  private maxLength: number;
  /** Header octets of a frame split before its 19th octet. */
  private readonly head = Buffer.alloc(HEADER_LENGTH);
  private headFill = 0;
  /** The frame being assembled across chunks, once its length is known. */
  private body: Buffer | null = null;
  private bodyFill = 0;
  private failure: BgpWireError | null = null;

  /** `maxLength` stays 4096 unless RFC 8654 extended messages were negotiated. */
  constructor(maxLength = MAX_MESSAGE_LENGTH) {
    this.maxLength = maxLength;
  }

  /**
   * RFC 8654: raised once the OPEN exchange settled extended messages. Frames
   * already split keep the limit they were checked against; the peer sends
   * nothing longer before it has our KEEPALIVE, which follows its OPEN.
   */
  setMaxLength(maxLength: number): void {
    this.maxLength = maxLength;
  }

  /**
   * Returns the frames completed by `chunk`. Throws BgpWireError (code 1) on a
   * bad header; the stream cannot be resynchronised, so every later push throws
   * the same error.
   */
  push(chunk: Uint8Array): Buffer[] {
    if (this.failure) throw this.failure;
    try {
      return this.split(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    } catch (e) {
      this.failure = e as BgpWireError;
      throw e;
    }
  }

  /** Octets held for a frame not yet complete. */
  get pending(): number {
    return this.body ? this.bodyFill : this.headFill;
  }

  private split(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let off = 0;
    if (this.headFill > 0 || this.body) {
      off = this.continueSpanning(chunk, out);
      if (off < 0) return out;
    }
    const end = chunk.length;
    while (end - off >= HEADER_LENGTH) {
      const length = checkHeader(chunk, off, this.maxLength);
      if (end - off < length) break;
      out.push(chunk.subarray(off, off + length));
      off += length;
    }
    const rest = end - off;
    if (rest >= HEADER_LENGTH) {
      const length = checkHeader(chunk, off, this.maxLength);
      this.body = Buffer.allocUnsafe(length);
      chunk.copy(this.body, 0, off, end);
      this.bodyFill = rest;
    } else if (rest > 0) {
      chunk.copy(this.head, 0, off, end);
      this.headFill = rest;
    }
    return out;
  }

  /** Feeds the frame that spans chunks; returns where the chunk's own frames start, or -1 when it was all consumed. */
  private continueSpanning(chunk: Buffer, out: Buffer[]): number {
    let off = 0;
    if (!this.body) {
      const n = Math.min(HEADER_LENGTH - this.headFill, chunk.length);
      chunk.copy(this.head, this.headFill, 0, n);
      this.headFill += n;
      off = n;
      if (this.headFill < HEADER_LENGTH) return -1;
      const length = checkHeader(this.head, 0, this.maxLength);
      this.body = Buffer.allocUnsafe(length);
      this.head.copy(this.body, 0, 0, HEADER_LENGTH);
      this.bodyFill = HEADER_LENGTH;
      this.headFill = 0;
    }
    const body = this.body;
    const n = Math.min(body.length - this.bodyFill, chunk.length - off);
    chunk.copy(body, this.bodyFill, off, off + n);
    this.bodyFill += n;
    off += n;
    if (this.bodyFill < body.length) return -1;
    out.push(body);
    this.body = null;
    this.bodyFill = 0;
    return off;
  }
}
