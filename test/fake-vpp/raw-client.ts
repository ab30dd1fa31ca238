/**
 * A deliberately dumb VPP API client for the fake's own tests: raw frames
 * built with the shared codec, no retries, no pipelining logic. The real
 * client (src/vpp/client.ts) is tested against the fake elsewhere.
 */
import { connect, type Socket } from 'node:net';
import { MESSAGES } from '#vpp/defs/index';
import { decode, encode, type VppRecord } from '#vpp/codec';
import { frame, FrameReader } from '#vpp/framing';

export interface RawMessage {
  name: string;
  values: VppRecord;
}

const EVENTS = new Set(['sw_interface_event', 'wireguard_peer_event']);

export class RawClient {
  /** name → id, from the handshake. */
  readonly ids = new Map<string, number>();
  /** name → CRC as advertised. */
  readonly crcs = new Map<string, string>();
  /** The raw table entries ("name_crc"). */
  readonly table: string[] = [];
  readonly events: RawMessage[] = [];
  clientIndex = 0;
  closed = false;

  private readonly byId = new Map<number, string>();
  private readonly reader = new FrameReader();
  private readonly inbox: RawMessage[] = [];
  private waiter: (() => void) | null = null;
  private nextContext = 1;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const body of this.reader.push(chunk)) this.receive(body);
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static async connect(path: string, name = 'raw-test'): Promise<RawClient> {
    const socket = connect(path);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const c = new RawClient(socket);
    c.byId.set(16, 'sockclnt_create_reply');
    c.sendRaw(encode(MESSAGES.get('sockclnt_create')!, 15, { context: 0x1234, name }));
    const reply = await c.next();
    if (reply.name !== 'sockclnt_create_reply' || reply.values.response !== 0) throw new Error('handshake failed');
    c.clientIndex = reply.values.index as number;
    for (const e of reply.values.message_table as VppRecord[]) {
      const full = e.name as string;
      c.table.push(full);
      const cut = full.lastIndexOf('_');
      c.ids.set(full.slice(0, cut), e.index as number);
      c.crcs.set(full.slice(0, cut), full.slice(cut + 1));
      c.byId.set(e.index as number, full.slice(0, cut));
    }
    return c;
  }

  /** The body of a request (client_index filled in). */
  body(name: string, values: VppRecord, context: number): Buffer {
    const def = MESSAGES.get(name);
    const id = this.ids.get(name);
    if (!def || id === undefined) throw new Error(`${name} is not in the table`);
    return encode(def, id, { client_index: this.clientIndex, context, ...values });
  }

  sendRaw(body: Buffer): void {
    this.socket.write(frame(body));
  }

  context(): number {
    return this.nextContext++;
  }

  /** One request, its one reply. */
  async request(name: string, values: VppRecord = {}): Promise<VppRecord> {
    const ctx = this.context();
    this.sendRaw(this.body(name, values, ctx));
    const m = await this.next();
    if (m.values.context !== ctx) throw new Error(`reply ${m.name} has context ${String(m.values.context)}, expected ${ctx}`);
    return m.values;
  }

  /** A dump fenced by control_ping with the same context: the details, in order. */
  async dump(name: string, values: VppRecord = {}): Promise<RawMessage[]> {
    const ctx = this.context();
    this.sendRaw(this.body(name, values, ctx));
    this.sendRaw(this.body('control_ping', {}, ctx));
    const out: RawMessage[] = [];
    for (;;) {
      const m = await this.next();
      if (m.values.context !== ctx) throw new Error(`${m.name} has context ${String(m.values.context)}, expected ${ctx}`);
      if (m.name === 'control_ping_reply') return out;
      out.push(m);
    }
  }

  /** The next reply/details (events go to `events`). */
  async next(timeoutMs = 2000): Promise<RawMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.inbox.shift();
      if (m) return m;
      if (this.closed) throw new Error('connection closed');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no message in time');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /** Waits for an event matching `pred`. */
  async event(pred: (m: RawMessage) => boolean, timeoutMs = 3000): Promise<RawMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.events.findIndex(pred);
      if (i >= 0) return this.events.splice(i, 1)[0]!;
      if (Date.now() > deadline) throw new Error('no such event in time');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private receive(body: Buffer): void {
    const id = body.readUInt16BE(0);
    const name = this.byId.get(id);
    if (!name) throw new Error(`unknown message id ${id}`);
    const m = { name, values: decode(MESSAGES.get(name)!, body).values };
    if (EVENTS.has(name)) this.events.push(m);
    else this.inbox.push(m);
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }
}
