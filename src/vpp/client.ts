/**
 * VPP binary API client over the unix socket (fact sheet §1): connect
 * handshake, message table and CRC check, request/reply matched by context,
 * dumps fenced by control_ping, events demuxed by message id, pipelining with a
 * bounded window. One socket is processed in order on VPP's main thread, so
 * replies come back in request order; nothing here relies on it but the dump
 * fence.
 */
import net from 'node:net';
import { SystemClock, type Clock, type TimerHandle } from '#lib/clock';
import { libc, socketFd } from '#lib/libc';
import type { Logger } from '#lib/log';
import { decode, encode, encodeWithHeadroom, peekMsgId, type VppRecord } from './codec.js';
import { MESSAGES, messageDef } from './defs/index.js';
import type { MessageDef } from './defs/types.js';
import {
  VppApiError,
  VppClosedError,
  VppCodecError,
  VppError,
  VppIncompatibleError,
  VppTimeoutError,
  VppUnavailableError,
  type CrcMismatch,
} from './errors.js';
import { FRAME_HEADER_SIZE, FrameReader } from './framing.js';

/** The only fixed ids (memclnt is enumerated first): fact sheet §1.3. */
export const SOCKCLNT_CREATE_ID = 15;
export const SOCKCLNT_CREATE_REPLY_ID = 16;

export const DEFAULT_TIMEOUT_MS = 5000;
/**
 * Requests written and not answered. Large enough for VPP to work through
 * while the agent is busy elsewhere (a received chunk of a full table takes
 * it tens of milliseconds, a major GC more): 16 384 routes are 70–300 ms of
 * VPP's API work, 3.6 MB in the socket, 0.6 MB of replies in VPP.
 */
export const DEFAULT_MAX_IN_FLIGHT = 16_384;

/** Messages the client itself uses: dumps end with a control_ping fence. */
const CLIENT_REQUIRED = ['control_ping', 'control_ping_reply'] as const;

export interface VppClientOptions {
  socketPath: string;
  /** Shown by VPP's `show api clients`; at most 63 bytes. */
  clientName?: string;
  log: Logger;
  /** Messages the caller uses; their replies, details and events are checked with them. */
  required: readonly string[];
  /** Messages the caller can do without: absent or changed ones are just unavailable. */
  optional?: readonly string[];
  /** Default per-request timeout, and the connect handshake's. */
  timeoutMs?: number;
  /** Requests written but not answered; beyond it requests queue. */
  maxInFlight?: number;
  clock?: Clock;
}

/** The companions VPP answers a request with: its reply, details, events. */
export function companionsOf(name: string): string[] {
  const out: string[] = [];
  const add = (n: string): void => {
    if (MESSAGES.has(n) && !out.includes(n)) out.push(n);
  };
  add(`${name}_reply`);
  if (name.endsWith('_dump')) add(`${name.slice(0, -5)}_details`);
  if (name.endsWith('_get')) add(`${name.slice(0, -4)}_details`);
  for (const e of EVENTS_OF[name] ?? []) add(e);
  return out;
}

/** `service { rpc want_X returns want_X_reply events Y; }` of the .api files. */
const EVENTS_OF: Readonly<Record<string, readonly string[]>> = {
  want_interface_events: ['sw_interface_event'],
  want_wireguard_peer_events: ['wireguard_peer_event'],
};

interface Pending {
  name: string;
  context: number;
  /** What resolves it: the reply, or control_ping_reply for a dump. */
  endName: string;
  /** Streamed messages collected before the end (dump details, cursor details). */
  detailsName: string | null;
  details: VppRecord[] | null;
  /** dumpRaw: the details' bodies go here, not decoded (detailsId: their message id). */
  raw: RawDetails | null;
  detailsId: number;
  frames: Buffer[];
  timeoutMs: number;
  deadline: number;
  /** Order of its first write (VPP answers one socket in that order). */
  seq: number;
  resolve: (v: { reply: VppRecord; details: VppRecord[] }) => void;
  reject: (e: Error) => void;
}

type EventHandler = (values: VppRecord) => void;

/**
 * A details message of dumpRaw, in place: its body (u16 message id, then
 * context, then the fields) is buf[start, start + length). Valid only during
 * the call: copy what is kept.
 */
export type RawDetails = (buf: Buffer, start: number, length: number) => void;

/**
 * A run of requests of one message written straight into the socket buffer
 * (VppClient.bulk): no record, promise or closure per request. The client
 * writes each frame header, the message id, client_index and context (the
 * request header, fact sheet §1.3); the caller the fields after it.
 */
export interface BulkRequests {
  /** The request; its reply `${name}_reply` must start with context and an i32 retval (fact sheet §1.5). */
  readonly name: string;
  readonly count: number;
  /** Body bytes of request i, the 10-byte request header included. */
  size(i: number): number;
  /**
   * Writes request i's fields from `at + 10` up to `at + size(i)`, every one
   * of those bytes (the buffer is not zeroed).
   */
  write(i: number, buf: Buffer, at: number): void;
}

/** What VPP answered to a bulk. */
export interface BulkResult {
  /** Each request's retval, where `answered` is 1. */
  readonly retval: Int32Array;
  readonly answered: Uint8Array;
  /** How many were answered. */
  readonly confirmed: number;
  /**
   * Why some were not: the connection ended, or VPP answered none for the
   * timeout. Unanswered requests may or may not have been carried out.
   */
  readonly error: Error | null;
}

interface Bulk {
  readonly req: BulkRequests;
  readonly name: string;
  readonly id: number;
  readonly replyId: number;
  /** The context of request 0; request i has base + i (mod 2^32). */
  base: number;
  /** Requests written so far (0 .. sent-1). */
  sent: number;
  confirmed: number;
  /** `confirmed` at the last timeout sweep: no progress since means VPP went quiet. */
  confirmedAtSweep: number;
  readonly retval: Int32Array;
  readonly answered: Uint8Array;
  readonly timeoutMs: number;
  deadline: number;
  /** Order of its first write. */
  seq: number;
  resolve: (r: BulkResult) => void;
}

const isBulk = (q: Pending | Bulk): q is Bulk => 'req' in q;

export class VppClient {
  /** name -> id for the messages this VPP offers with our CRC. */
  private readonly idOf = new Map<string, number>();
  private readonly defOf = new Map<number, MessageDef>();
  private readonly reader = new FrameReader();
  private readonly inFlight = new Map<number, Pending>();
  /** Bulks with requests written (and possibly more to write); their unanswered requests count in the window. */
  private readonly bulks: Bulk[] = [];
  private bulkInFlight = 0;
  /** dumpRaw requests in flight: their details are not decoded. */
  private rawDumps = 0;
  /** Write order of requests (Pending.seq, Bulk.seq). */
  private seq = 0;
  /**
   * The last answer (reply or details) and the write order of the request it
   * was for: a request written after that one is still queued behind it in
   * VPP, which is busy (a dump of a full table takes VPP seconds), not gone.
   */
  private progress = { at: 0, seq: -1 };
  private queue: (Pending | Bulk | undefined)[] = [];
  private queueHead = 0;
  private nextContext = 1;
  private blocked = false;
  private pumpScheduled = false;
  private sweep: { timer: TimerHandle; at: number } | null = null;
  private closed: Error | null = null;
  /** Replies with a negative retval, and requests that got no reply in time (metrics). */
  readonly counters = { errors: 0, timeouts: 0 };
  private closing = false;
  private readonly closeCbs: ((reason: Error | null) => void)[] = [];
  private readonly subscribers = new Map<string, Set<EventHandler>>();
  private readonly timeoutMs: number;
  private readonly maxInFlight: number;
  private readonly clock: Clock;
  private readonly log: Logger;

  private constructor(
    private readonly socket: net.Socket,
    /** The registration handle from sockclnt_create_reply: every request's client_index. */
    readonly clientIndex: number,
    /** name_crc -> id, all of this VPP's messages. */
    readonly table: ReadonlyMap<string, number>,
    opts: VppClientOptions,
  ) {
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT);
    this.clock = opts.clock ?? new SystemClock();
    this.log = opts.log;
    for (const def of MESSAGES.values()) {
      const id = table.get(`${def.name}_${def.crc}`);
      if (id !== undefined) {
        this.idOf.set(def.name, id);
        this.defOf.set(id, def);
      }
    }
    this.onBody = this.onBody.bind(this);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      this.blocked = false;
      this.pump();
    });
    socket.on('error', (err) => this.shutdown(err));
    socket.on('close', () => this.shutdown(new VppClosedError('VPP closed the API socket')));
  }

  /**
   * Connects, registers (sockclnt_create) and checks every required message's
   * CRC against the table VPP sends. Throws VppIncompatibleError listing each
   * changed or missing message; socket errors (ENOENT, ECONNREFUSED) as they are.
   */
  static async connect(opts: VppClientOptions): Promise<VppClient> {
    const clock = opts.clock ?? new SystemClock();
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const socket = await openSocket(opts.socketPath, clock, timeoutMs);
    let handshake: { clientIndex: number; table: Map<string, number> };
    try {
      handshake = await register(socket, opts.clientName ?? 'wgbgp', clock, timeoutMs);
    } catch (err) {
      socket.destroy();
      throw err;
    }
    const mismatched = checkCrcs(handshake.table, [...CLIENT_REQUIRED, ...opts.required]);
    if (mismatched.length > 0) {
      socket.destroy();
      throw new VppIncompatibleError(mismatched);
    }
    const client = new VppClient(socket, handshake.clientIndex, handshake.table, opts);
    const unavailable = (opts.optional ?? []).filter((n) => !client.has(n) || companionsOf(n).some((c) => !client.has(c)));
    if (unavailable.length > 0) opts.log.info({ unavailable }, 'VPP lacks optional API messages');
    opts.log.debug({ clientIndex: handshake.clientIndex, messages: handshake.table.size }, 'connected to VPP API');
    return client;
  }

  /** True when this VPP offers `name` with the CRC wgbgp was built against. */
  has(name: string): boolean {
    return this.idOf.has(name);
  }

  /** The id VPP assigned to `name` in this run, if it offers it with our CRC. */
  messageId(name: string): number | undefined {
    return this.idOf.get(name);
  }

  get isClosed(): boolean {
    return this.closed !== null;
  }

  /** Requests written and not answered, and requests waiting for the window. */
  get pending(): { inFlight: number; queued: number } {
    let queued = 0;
    for (let i = this.queueHead; i < this.queue.length; i++) {
      const q = this.queue[i]!;
      queued += isBulk(q) ? q.req.count - q.sent : 1;
    }
    return { inFlight: this.inFlight.size + this.bulkInFlight, queued };
  }

  /**
   * Sends `name` and resolves with its reply's values. A negative `retval`
   * rejects with VppApiError; no reply in time with VppTimeoutError.
   */
  async request(name: string, values: VppRecord = {}, timeoutMs?: number): Promise<VppRecord> {
    return (await this.submit(name, values, `${name}_reply`, null, timeoutMs)).reply;
  }

  /** A dump: every `_details` until the control_ping fence with the same context. */
  async dump(name: string, values: VppRecord = {}, timeoutMs?: number): Promise<VppRecord[]> {
    if (!name.endsWith('_dump')) throw new VppError(`${name} is not a dump`);
    return (await this.submit(name, values, 'control_ping_reply', `${name.slice(0, -5)}_details`, timeoutMs)).details;
  }

  /**
   * A dump whose details are not decoded: `onDetails` gets each one's body
   * bytes in place (RawDetails), for tables too large for a record per entry
   * (ip_route_dump of a full table). Resolves with how many there were.
   */
  async dumpRaw(name: string, values: VppRecord, onDetails: RawDetails, timeoutMs?: number): Promise<number> {
    if (!name.endsWith('_dump')) throw new VppError(`${name} is not a dump`);
    const detailsName = `${name.slice(0, -5)}_details`;
    const detailsId = this.idOf.get(detailsName);
    if (detailsId === undefined) throw new VppUnavailableError(`${detailsName}: not offered by this VPP (with CRC ${messageDef(detailsName).crc})`);
    let n = 0;
    const count: RawDetails = (buf, start, length) => {
      n++;
      onDetails(buf, start, length);
    };
    this.rawDumps++;
    try {
      await this.submit(name, values, 'control_ping_reply', detailsName, timeoutMs, { raw: count, detailsId });
    } finally {
      this.rawDumps--;
    }
    return n;
  }

  /**
   * A cursor get (fact sheet §1.5, e.g. lcp_itf_pair_get): the details stream,
   * then the `_reply` carrying retval and the cursor.
   */
  async stream(name: string, values: VppRecord = {}, timeoutMs?: number): Promise<{ reply: VppRecord; details: VppRecord[] }> {
    if (!name.endsWith('_get')) throw new VppError(`${name} is not a cursor get`);
    return this.submit(name, values, `${name}_reply`, `${name.slice(0, -4)}_details`, timeoutMs);
  }

  /**
   * Many requests of one message, pipelined in the window like any request
   * and written as few large socket writes (fact sheet §5), their replies
   * matched by context range. Never rejects: resolves when every request is
   * answered, or with `error` set when the connection ends or VPP answers
   * none of them for `timeoutMs` (the default timeout); the unanswered ones
   * are then unconfirmed. Negative retvals count as errors in `counters`.
   * Requests made after it go out after all of it.
   */
  bulk(req: BulkRequests, timeoutMs?: number): Promise<BulkResult> {
    const retval = new Int32Array(req.count);
    const answered = new Uint8Array(req.count);
    const unanswered = (error: Error): BulkResult => ({ retval, answered, confirmed: 0, error });
    if (this.closed) return Promise.resolve(unanswered(new VppClosedError(`${req.name}: ${this.closed.message}`)));
    const id = this.idOf.get(req.name);
    const replyId = this.idOf.get(`${req.name}_reply`);
    if (id === undefined || replyId === undefined) {
      return Promise.resolve(unanswered(new VppUnavailableError(`${req.name}: not offered by this VPP (with CRC ${messageDef(req.name).crc})`)));
    }
    const [c, r] = messageDef(`${req.name}_reply`).fields;
    if (c?.name !== 'context' || r?.name !== 'retval' || r.type !== 'i32') {
      return Promise.resolve(unanswered(new VppError(`${req.name}_reply does not start with context and retval`)));
    }
    if (req.count === 0) return Promise.resolve({ retval, answered, confirmed: 0, error: null });
    return new Promise((resolve) => {
      const t = timeoutMs ?? this.timeoutMs;
      const b: Bulk = { req, name: req.name, id, replyId, base: 0, sent: 0, confirmed: 0, confirmedAtSweep: 0, retval, answered, timeoutMs: t, deadline: 0, seq: 0, resolve };
      this.queue.push(b);
      this.schedulePump();
    });
  }

  /** Calls `handler` for every `eventName` VPP sends; the want_* registration is the caller's. */
  subscribe(eventName: string, handler: EventHandler): () => void {
    let set = this.subscribers.get(eventName);
    if (!set) {
      set = new Set();
      this.subscribers.set(eventName, set);
    }
    set.add(handler);
    return () => {
      set.delete(handler);
    };
  }

  async showVersion(): Promise<{ program: string; version: string; buildDate: string; buildDirectory: string }> {
    const r = await this.request('show_version');
    return {
      program: String(r.program ?? ''),
      version: String(r.version ?? ''),
      buildDate: String(r.build_date ?? ''),
      buildDirectory: String(r.build_directory ?? ''),
    };
  }

  /** Called once, when the connection ends: null after close(), the error otherwise. */
  onClose(cb: (reason: Error | null) => void): () => void {
    if (this.closed) {
      const reason = this.closing ? null : this.closed;
      queueMicrotask(() => cb(reason));
      return () => {};
    }
    this.closeCbs.push(cb);
    return () => {
      const i = this.closeCbs.indexOf(cb);
      if (i >= 0) this.closeCbs.splice(i, 1);
    };
  }

  /**
   * Unregisters (sockclnt_delete) and closes. VPP closes its end right after
   * the reply, which may be lost (fact sheet §1.4): a short wait, then close.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    if (this.has('sockclnt_delete')) {
      const bye = this.submit('sockclnt_delete', { index: this.clientIndex }, 'sockclnt_delete_reply', null, 1000);
      await bye.catch(() => undefined);
    }
    this.shutdown(new VppClosedError('VPP client closed'));
  }

  // ------------------------------------------------------------ sending

  private submit(
    name: string,
    values: VppRecord,
    endName: string,
    detailsName: string | null,
    timeoutMs: number | undefined,
    raw: { raw: RawDetails; detailsId: number } | null = null,
  ): Promise<{ reply: VppRecord; details: VppRecord[] }> {
    if (this.closed) return Promise.reject(new VppClosedError(`${name}: ${this.closed.message}`));
    const id = this.idOf.get(name);
    if (id === undefined) return Promise.reject(new VppUnavailableError(`${name}: not offered by this VPP (with CRC ${messageDef(name).crc})`));
    const context = this.allocContext();
    let frames: Buffer[];
    try {
      frames = [this.framed(name, id, values, context)];
      // A dump is fenced by a control_ping; a control_ping itself is its own end.
      if (endName === 'control_ping_reply' && detailsName !== null) frames.push(this.framed('control_ping', this.idOf.get('control_ping')!, {}, context));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new VppCodecError(String(err)));
    }
    return new Promise((resolve, reject) => {
      const t = timeoutMs ?? this.timeoutMs;
      this.queue.push({
        name,
        context,
        endName,
        detailsName,
        details: null,
        raw: raw?.raw ?? null,
        detailsId: raw?.detailsId ?? -1,
        frames,
        timeoutMs: t,
        deadline: 0,
        seq: 0,
        resolve,
        reject,
      });
      this.schedulePump();
    });
  }

  /**
   * One buffer: the frame header, then the body with our client_index and the
   * request's context (a request's fields start with them, fact sheet §1.3).
   */
  private framed(name: string, id: number, values: VppRecord, context: number): Buffer {
    const def = messageDef(name);
    const [f0, f1] = def.fields;
    if (f0?.name !== 'client_index' || f1?.name !== 'context') {
      throw new VppError(`${name} is not a request (no client_index, context)`);
    }
    const buf = encodeWithHeadroom(def, id, values, FRAME_HEADER_SIZE);
    buf.writeUInt32BE(buf.length - FRAME_HEADER_SIZE, 8);
    buf.writeUInt32BE(this.clientIndex, FRAME_HEADER_SIZE + 2);
    buf.writeUInt32BE(context, FRAME_HEADER_SIZE + 6);
    return buf;
  }

  private allocContext(): number {
    for (;;) {
      const c = this.nextContext;
      this.nextContext = c >= 0xffffffff ? 1 : c + 1;
      if (!this.inFlight.has(c) && !this.inBulkRange(c)) return c;
    }
  }

  private inBulkRange(c: number): boolean {
    for (const b of this.bulks) if (((c - b.base) >>> 0) < b.req.count) return true;
    return false;
  }

  /** `count` consecutive contexts (0 never among them) that no request in flight uses. */
  private allocContextRange(count: number): number {
    for (;;) {
      if (this.nextContext + count > 0xffffffff) this.nextContext = 1;
      const base = this.nextContext;
      this.nextContext += count;
      let clash = false;
      for (const c of this.inFlight.keys()) if (((c - base) >>> 0) < count) clash = true;
      for (const b of this.bulks) if (((b.base - base) >>> 0) < count || ((base - b.base) >>> 0) < b.req.count) clash = true;
      if (!clash) return base;
    }
  }

  /** Requests made in one tick go out in one write. */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.closed || this.blocked) return;
    const batch: Buffer[] = [];
    const now = this.clock.now();
    let earliest = Infinity;
    while (this.queueHead < this.queue.length && this.inFlight.size + this.bulkInFlight < this.maxInFlight) {
      const p = this.queue[this.queueHead]!;
      if (isBulk(p)) {
        if (p.sent === 0) {
          p.base = this.allocContextRange(p.req.count);
          p.seq = this.seq++;
          this.bulks.push(p);
        }
        p.deadline = now + p.timeoutMs;
        earliest = Math.min(earliest, p.deadline);
        const n = Math.min(p.req.count - p.sent, this.maxInFlight - this.inFlight.size - this.bulkInFlight);
        batch.push(this.writeBulk(p, n));
        this.bulkInFlight += n;
        if (p.sent < p.req.count) break;
        this.queue[this.queueHead++] = undefined;
        continue;
      }
      this.queue[this.queueHead++] = undefined;
      p.seq = this.seq++;
      p.deadline = now + p.timeoutMs;
      earliest = Math.min(earliest, p.deadline);
      this.inFlight.set(p.context, p);
      for (const f of p.frames) batch.push(f);
      p.frames = [];
    }
    if (this.queueHead === this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
    } else if (this.queueHead > 4096 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    if (batch.length === 0) return;
    this.armSweep(earliest);
    // One writev for the lot; write() returning false means the kernel buffer is full: wait for 'drain'.
    if (batch.length > 1) this.socket.cork();
    let ok = true;
    for (const b of batch) ok = this.socket.write(b);
    if (batch.length > 1) this.socket.uncork();
    if (!ok) this.blocked = true;
  }

  /** The next `n` requests of a bulk as one buffer of frames. */
  private writeBulk(b: Bulk, n: number): Buffer {
    const { req } = b;
    let bytes = 0;
    for (let i = b.sent; i < b.sent + n; i++) bytes += FRAME_HEADER_SIZE + req.size(i);
    const buf = Buffer.allocUnsafe(bytes);
    let at = 0;
    for (let i = b.sent; i < b.sent + n; i++) {
      const size = req.size(i);
      // msgbuf_t: q (8 bytes, 0), data_len, gc_mark_timestamp (0): fact sheet §1.2.
      buf.writeUInt32BE(0, at);
      buf.writeUInt32BE(0, at + 4);
      buf.writeUInt32BE(size, at + 8);
      buf.writeUInt32BE(0, at + 12);
      const body = at + FRAME_HEADER_SIZE;
      buf.writeUInt16BE(b.id, body);
      buf.writeUInt32BE(this.clientIndex, body + 2);
      buf.writeUInt32BE((b.base + i) >>> 0, body + 6);
      req.write(i, buf, body);
      at = body + size;
    }
    b.sent += n;
    return buf;
  }

  // ------------------------------------------------------------ timeouts

  private armSweep(at: number): void {
    if (this.sweep && this.sweep.at <= at) return;
    this.sweep?.timer.cancel();
    const timer = this.clock.setTimeout(() => this.onSweep(), Math.max(0, at - this.clock.now()));
    this.sweep = { timer, at };
  }

  private onSweep(): void {
    this.sweep = null;
    const now = this.clock.now();
    let next = Infinity;
    for (const b of [...this.bulks]) {
      if (b.confirmed !== b.confirmedAtSweep) {
        // Still answering: VPP gets another timeout from now.
        b.confirmedAtSweep = b.confirmed;
        b.deadline = now + b.timeoutMs;
      }
      this.behindProgress(b, now);
      if (b.deadline <= now) {
        this.counters.timeouts++;
        this.log.warn({ request: b.name, answered: b.confirmed, of: b.req.count, timeoutMs: b.timeoutMs }, 'VPP bulk request timed out');
        this.endBulk(b, new VppTimeoutError(b.name, b.timeoutMs));
      } else next = Math.min(next, b.deadline);
    }
    for (const p of [...this.inFlight.values()]) {
      this.behindProgress(p, now);
      if (p.deadline <= now) {
        this.inFlight.delete(p.context);
        this.counters.timeouts++;
        this.log.warn({ request: p.name, context: p.context, timeoutMs: p.timeoutMs }, 'VPP request timed out');
        p.reject(new VppTimeoutError(p.name, p.timeoutMs));
      } else next = Math.min(next, p.deadline);
    }
    if (next !== Infinity) this.armSweep(next);
    this.pump();
  }

  /**
   * A request whose time is up while VPP was still answering it (a dump's
   * details) or one written before it, within the last timeout, gets another
   * timeout from that answer: it is queued behind, VPP is alive. An answer to
   * a later request means VPP passed it by: no extension then.
   */
  private behindProgress(q: { deadline: number; timeoutMs: number; seq: number }, now: number): void {
    if (q.deadline > now || this.progress.seq > q.seq || this.progress.seq < 0) return;
    if (now - this.progress.at < q.timeoutMs) q.deadline = this.progress.at + q.timeoutMs;
  }

  private noteProgress(seq: number): void {
    if (seq >= this.progress.seq) this.progress = { at: this.clock.now(), seq };
    else this.progress.at = this.clock.now();
  }

  // ------------------------------------------------------------ receiving

  private onData(chunk: Buffer): void {
    try {
      this.reader.scan(chunk, this.onBody);
    } catch (err) {
      this.socket.destroy();
      this.shutdown(err instanceof Error ? err : new VppCodecError(String(err)));
      return;
    }
    // Refill the window in batches, not one request per reply.
    if (this.inFlight.size + this.bulkInFlight <= this.maxInFlight - Math.ceil(this.maxInFlight / 4)) this.pump();
  }

  /** A bulk's reply is read in place (context @2, retval @6); anything else is decoded. */
  private onBody(buf: Buffer, start: number, length: number): void {
    if (this.bulks.length > 0 && length >= 10) {
      const id = buf.readUInt16BE(start);
      for (const b of this.bulks) {
        if (b.replyId !== id) continue;
        const i = (buf.readUInt32BE(start + 2) - b.base) >>> 0;
        if (i >= b.sent) continue;
        if (b.answered[i] === 0) {
          const retval = buf.readInt32BE(start + 6);
          b.answered[i] = 1;
          b.retval[i] = retval;
          if (retval < 0) this.counters.errors++;
          b.confirmed++;
          this.noteProgress(b.seq);
          this.bulkInFlight--;
          if (b.confirmed === b.req.count) this.endBulk(b, null);
        }
        return;
      }
    }
    if (this.rawDumps > 0 && length >= 6) {
      // A dumpRaw's details (u16 id, then context): handed over in place.
      const p = this.inFlight.get(buf.readUInt32BE(start + 2));
      if (p?.raw && p.detailsId === buf.readUInt16BE(start)) {
        try {
          this.noteProgress(p.seq);
          p.raw(buf, start, length);
        } catch (err) {
          this.log.error({ err, request: p.name }, 'VPP raw details handler failed');
        }
        return;
      }
    }
    this.onMessage(start === 0 && length === buf.length ? buf : buf.subarray(start, start + length));
  }

  /** Takes the bulk out (its unanswered requests leave the window) and resolves it. */
  private endBulk(b: Bulk, error: Error | null): void {
    const at = this.bulks.indexOf(b);
    if (at >= 0) this.bulks.splice(at, 1);
    this.bulkInFlight -= b.sent - b.confirmed;
    if (b.sent < b.req.count) {
      // Still queued (partly written): the rest is never sent.
      const q = this.queue.indexOf(b, this.queueHead);
      if (q >= 0) this.queue.splice(q, 1);
    }
    b.resolve({ retval: b.retval, answered: b.answered, confirmed: b.confirmed, error });
  }

  private onMessage(body: Buffer): void {
    let def: MessageDef | undefined;
    let values: VppRecord;
    try {
      def = this.defOf.get(peekMsgId(body));
      if (!def) {
        this.log.debug({ msgId: peekMsgId(body) }, 'VPP message with an id we do not use: dropped');
        return;
      }
      values = decode(def, body).values;
    } catch (err) {
      this.log.warn({ err, message: def?.name }, 'unreadable VPP message dropped');
      return;
    }
    // Demux by id first (fact sheet §1.3): events have no context.
    if (!def.fields.some((f) => f.name === 'context')) {
      this.emit(def.name, values);
      return;
    }
    if (def.name === 'memclnt_keepalive') {
      this.answerKeepalive(values);
      return;
    }
    const context = values.context;
    const p = typeof context === 'number' ? this.inFlight.get(context) : undefined;
    if (!p) {
      this.log.debug({ message: def.name, context }, 'VPP reply for no pending request (timed out?)');
      return;
    }
    if (def.name === p.detailsName) {
      this.noteProgress(p.seq);
      (p.details ??= []).push(values);
      return;
    }
    if (def.name !== p.endName) {
      this.log.warn({ request: p.name, message: def.name }, 'unexpected VPP message for a pending request');
      return;
    }
    this.inFlight.delete(p.context);
    this.noteProgress(p.seq);
    const retval = def.name === 'control_ping_reply' ? 0 : values.retval;
    if (typeof retval === 'number' && retval < 0) {
      this.counters.errors++;
      p.reject(new VppApiError(p.name, retval));
    } else p.resolve({ reply: values, details: p.details ?? [] });
  }

  private emit(name: string, values: VppRecord): void {
    const set = this.subscribers.get(name);
    if (!set || set.size === 0) return;
    for (const h of [...set]) {
      try {
        h(values);
      } catch (err) {
        this.log.error({ err, event: name }, 'VPP event handler failed');
      }
    }
  }

  private answerKeepalive(values: VppRecord): void {
    const id = this.idOf.get('memclnt_keepalive_reply');
    if (id === undefined || this.closed) return;
    const body = encode(messageDef('memclnt_keepalive_reply'), id, { context: values.context ?? 0, retval: 0 });
    this.socket.write(Buffer.concat([header(body.length), body]));
  }

  // ------------------------------------------------------------ closing

  private shutdown(reason: Error): void {
    if (this.closed) return;
    this.closed = reason;
    this.sweep?.timer.cancel();
    this.sweep = null;
    this.socket.destroy();
    const err = (name: string): VppClosedError => new VppClosedError(`${name}: ${reason.message}`);
    for (const p of this.inFlight.values()) p.reject(err(p.name));
    this.inFlight.clear();
    for (const b of [...this.bulks]) this.endBulk(b, err(b.name));
    const queued = this.queue.slice(this.queueHead);
    this.queue = [];
    this.queueHead = 0;
    for (const p of queued) {
      if (p === undefined) continue;
      if (isBulk(p)) p.resolve({ retval: p.retval, answered: p.answered, confirmed: 0, error: err(p.name) });
      else p.reject(err(p.name));
    }
    const byUs = this.closing;
    if (!byUs) this.log.warn({ err: reason.message }, 'VPP API connection lost');
    for (const cb of this.closeCbs.splice(0)) cb(byUs ? null : reason);
  }
}

function header(bodyLength: number): Buffer {
  const h = Buffer.alloc(FRAME_HEADER_SIZE);
  h.writeUInt32BE(bodyLength, 8);
  return h;
}

const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_SNDBUFFORCE = 32;
/** Room for the whole window of route requests (DEFAULT_MAX_IN_FLIGHT × ~240 bytes). */
const SEND_BUFFER = 4 * 1024 * 1024;

/**
 * The socket's send buffer as large as the window. Node writes what the
 * kernel takes and the rest on a later turn of the event loop; with the
 * default (~208 KiB: ~900 route requests) VPP ran dry between two turns of
 * an agent busy decoding a full table (one received chunk, a GC), however
 * many requests were waiting. SO_SNDBUFFORCE passes net.core.wmem_max as
 * root; otherwise as much as that allows. Best effort: without it the
 * writes just go in smaller steps.
 */
function widenSendBuffer(socket: net.Socket): void {
  const fd = socketFd(socket);
  if (fd === null) return;
  try {
    const c = libc();
    const size = Buffer.alloc(4);
    size.writeInt32LE(SEND_BUFFER, 0);
    if (c.setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, size, 4) < 0) c.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, size, 4);
  } catch {
    // no libc binding here: the default buffer
  }
}

function openSocket(path: string, clock: Clock, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ path });
    const timer = clock.setTimeout(() => {
      socket.destroy();
      reject(new VppTimeoutError(`connect ${path}`, timeoutMs));
    }, timeoutMs);
    socket.once('connect', () => {
      timer.cancel();
      socket.removeAllListeners('error');
      widenSendBuffer(socket);
      resolve(socket);
    });
    socket.once('error', (err) => {
      timer.cancel();
      reject(err);
    });
  });
}

/** sockclnt_create (id 15) -> sockclnt_create_reply (id 16): the handle and the message table. */
function register(
  socket: net.Socket,
  clientName: string,
  clock: Clock,
  timeoutMs: number,
): Promise<{ clientIndex: number; table: Map<string, number> }> {
  return new Promise((resolve, reject) => {
    const reader = new FrameReader();
    const context = 0x77676270; // 'wgbp': any non-zero value
    const done = (err: Error | null, v?: { clientIndex: number; table: Map<string, number> }): void => {
      timer.cancel();
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve(v!);
    };
    const onError = (err: Error): void => done(err);
    const onClose = (): void => done(new VppClosedError('VPP closed the API socket during the handshake'));
    const onData = (chunk: Buffer): void => {
      let bodies: Buffer[];
      try {
        bodies = reader.push(chunk);
      } catch (err) {
        done(err instanceof Error ? err : new VppCodecError(String(err)));
        return;
      }
      const body = bodies[0];
      if (!body) return;
      try {
        if (peekMsgId(body) !== SOCKCLNT_CREATE_REPLY_ID) {
          throw new VppError(`VPP answered sockclnt_create with message id ${peekMsgId(body)}, not ${SOCKCLNT_CREATE_REPLY_ID}`);
        }
        const r = decode(messageDef('sockclnt_create_reply'), body).values;
        if (r.response !== 0) throw new VppApiError('sockclnt_create', Number(r.response));
        const table = new Map<string, number>();
        for (const e of Array.isArray(r.message_table) ? r.message_table : []) {
          if (typeof e === 'object' && e !== null && !Array.isArray(e) && !(e instanceof Uint8Array)) {
            if (typeof e.name === 'string' && typeof e.index === 'number') table.set(e.name, e.index);
          }
        }
        done(null, { clientIndex: Number(r.index), table });
      } catch (err) {
        done(err instanceof Error ? err : new VppError(String(err)));
      }
    };
    const timer = clock.setTimeout(() => done(new VppTimeoutError('sockclnt_create', timeoutMs)), timeoutMs);
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    const body = encode(messageDef('sockclnt_create'), SOCKCLNT_CREATE_ID, { context, name: clientName });
    socket.write(Buffer.concat([header(body.length), body]));
  });
}

/**
 * Fact sheet §3: present with our CRC -> fine; the same name with another CRC
 * -> the layout changed; absent -> plugin not loaded or message removed.
 */
export function checkCrcs(table: ReadonlyMap<string, number>, names: readonly string[]): CrcMismatch[] {
  const advertised = new Map<string, string>();
  for (const nameCrc of table.keys()) {
    const i = nameCrc.lastIndexOf('_');
    if (i > 0) advertised.set(nameCrc.slice(0, i), nameCrc.slice(i + 1));
  }
  const wanted: string[] = [];
  for (const n of names) {
    for (const m of [n, ...companionsOf(n)]) if (!wanted.includes(m)) wanted.push(m);
  }
  const out: CrcMismatch[] = [];
  for (const name of wanted) {
    const expected = messageDef(name).crc;
    const actual = advertised.get(name) ?? null;
    if (actual !== expected) out.push({ name, expected, actual });
  }
  return out;
}
