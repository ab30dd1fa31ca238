/**
 * One TCP connection of a session: socket, framing, decoding with this
 * connection's codec context, and a clean close after a NOTIFICATION.
 * It reports to its owner and never throws out of a socket callback.
 */
import { readSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { Clock, TimerHandle } from '#lib/clock';
import { decodeMessage, encodeMessage, EXTENDED_MAX_MESSAGE_LENGTH, MessageFramer } from '#bgp/wire/index';
import type { BgpMessage, CodecContext, DecodedMessage } from '#bgp/wire/types';
import { normalizeAddress } from './address.js';

export type Decoded = DecodedMessage;

export interface ConnectionEvents {
  /** Our connection attempt completed (RFC 4271 Tcp_CR_Acked). */
  connected(c: Connection): void;
  /** Raw bytes arrived; the owner feeds them back through `frames`/`decode` in its own step. */
  data(c: Connection, chunk: Buffer): void;
  /** The connection went away without us dropping it. */
  closed(c: Connection, error: Error | null): void;
}

/** How long a NOTIFICATION may take to flush before the socket is destroyed anyway. */
const FLUSH_GRACE_MS = 3000;

/**
 * The socket's descriptor. Node keeps it on an undocumented handle; there is no
 * public way to read a socket synchronously. Null where there is none (not a
 * TCP handle, or already closed).
 */
function descriptor(sock: Socket): number | null {
  const fd = (sock as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}

export class Connection {
  readonly ctx: CodecContext = { fourOctetAs: false };
  /** Set once we gave the connection up; nothing it says afterwards matters. */
  dropped = false;
  connected: boolean;
  private readonly framer = new MessageFramer();
  private error: Error | null = null;
  private grace: TimerHandle | null = null;
  private ending = false;
  /** What the kernel still held when a write failed; handed to the owner before `closed`. */
  private unread: Buffer | null = null;
  readonly closedPromise: Promise<void>;

  constructor(
    readonly sock: Socket,
    /** We initiated it (§6.8 needs to know who did). */
    readonly outbound: boolean,
    private readonly clock: Clock,
    private readonly events: ConnectionEvents,
  ) {
    this.connected = !outbound;
    let resolve: () => void = () => {};
    this.closedPromise = new Promise<void>((r) => (resolve = r));
    if (this.connected) sock.setNoDelay(true);
    sock.on('connect', () => {
      this.connected = true;
      sock.setNoDelay(true);
      if (!this.dropped) this.events.connected(this);
    });
    sock.on('data', (chunk: Buffer) => {
      if (this.dropped) return;
      this.events.data(this, chunk);
      // One chunk per turn of the event loop. libuv reads a socket that keeps
      // having data up to 32 times (64 KiB each) before it looks at anything
      // else: a full table arriving kept the agent from seeing its FIB writes
      // complete for seconds at a time (1 M routes: 2 518 in the kernel when
      // the last UPDATE was in, the rest written after). Paused here, the
      // socket is read again after this turn's other I/O (write completions,
      // timers); the UPDATE stream and the FIB writes then overlap.
      if (this.dropped || sock.destroyed || sock.isPaused()) return;
      sock.pause();
      setImmediate(() => {
        if (!sock.destroyed) sock.resume();
      });
    });
    sock.on('error', (err) => {
      this.error ??= err;
    });
    const onClose = (): void => {
      this.grace?.cancel();
      resolve();
      if (this.dropped) return;
      const unread = this.unread;
      this.unread = null;
      if (unread) this.events.data(this, unread);
      // What the peer said last (a NOTIFICATION) may have ended the connection already.
      if (this.dropped) return;
      this.dropped = true;
      this.events.closed(this, this.error);
    };
    // An accepted socket may already be gone by the time it is handed over.
    if (sock.closed) queueMicrotask(onClose);
    else sock.once('close', onClose);
  }

  get localAddress(): string {
    return normalizeAddress(this.sock.localAddress ?? '');
  }

  get remoteAddress(): string {
    return normalizeAddress(this.sock.remoteAddress ?? '');
  }

  /** Frames in a chunk; throws BgpWireError on a bad header. */
  frames(chunk: Buffer): Buffer[] {
    return this.framer.push(chunk);
  }

  decode(frame: Uint8Array): Decoded {
    return decodeMessage(frame, this.ctx);
  }

  /** RFC 8654: both OPENs advertised extended messages; from now on up to 65535 octets each way. */
  allowExtendedMessages(): void {
    this.ctx.extendedMessages = true;
    this.framer.setMaxLength(EXTENDED_MAX_MESSAGE_LENGTH);
  }

  /** Encodes and writes; false when the connection is not usable. Throws what the encoder throws. */
  send(msg: BgpMessage): boolean {
    if (this.dropped || !this.connected || this.sock.destroyed) return false;
    this.sock.write(encodeMessage(msg, this.ctx));
    this.salvageOnWriteError();
    return true;
  }

  cork(): void {
    this.sock.cork();
  }

  /** Octets written and not yet taken by the kernel (the socket's own buffer). */
  get backlog(): number {
    return this.sock.writableLength;
  }

  /** Calls `fn` once the socket's buffer has drained, or the connection is gone. */
  whenDrained(fn: () => void): void {
    if (this.sock.writableLength === 0 || this.sock.destroyed) {
      queueMicrotask(fn);
      return;
    }
    let called = false;
    const once = (): void => {
      if (called) return;
      called = true;
      this.sock.off('drain', once);
      this.sock.off('close', once);
      fn();
    };
    this.sock.on('drain', once);
    this.sock.on('close', once);
  }

  uncork(): void {
    this.sock.uncork();
    this.salvageOnWriteError();
  }

  /**
   * A write that fails at once (EPIPE, ECONNRESET: the peer has closed) makes
   * Node destroy the socket before the event loop reads what the peer sent
   * last — typically the NOTIFICATION that says why it closed. Read that now,
   * while the descriptor is still open, so the owner learns the cause and not
   * just the TCP error.
   */
  private salvageOnWriteError(): void {
    if (!this.sock.errored || this.unread) return;
    const fd = descriptor(this.sock);
    if (fd === null) return;
    const chunks: Buffer[] = [];
    const buf = Buffer.allocUnsafe(65536);
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch {
        break; // EAGAIN: nothing more buffered; anything else: nothing to salvage
      }
      if (n === 0) break;
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
    if (chunks.length > 0) this.unread = Buffer.concat(chunks);
  }

  /**
   * Close after what was written (a NOTIFICATION) has left: end() sends FIN
   * behind the data; the socket is destroyed once flushed or after a grace period.
   */
  drop(): void {
    if (this.ending) return;
    this.ending = true;
    this.dropped = true;
    if (!this.connected || this.sock.destroyed) {
      this.sock.destroy();
      return;
    }
    this.grace = this.clock.setTimeout(() => this.sock.destroy(), FLUSH_GRACE_MS);
    this.sock.end(() => this.sock.destroy());
  }
}
