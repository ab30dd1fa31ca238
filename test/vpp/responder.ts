/**
 * A tiny scripted VPP for the client's own tests (framing, handshake,
 * pipelining, timeouts): it speaks the socket framing with the shared
 * definitions and answers what each test scripts. The full fake VPP lives in
 * test/fake-vpp/; this is not it.
 */
import net from 'node:net';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode, encode, peekMsgId, type VppRecord } from '#vpp/codec';
import { MESSAGES } from '#vpp/defs/index';
import { FrameReader, frame } from '#vpp/framing';

export const HANDLE = 0x80000000;

export interface Io {
  reply(name: string, values: VppRecord): void;
  /** Sends `name`, the request's context filled in. */
  answer(name: string, values?: VppRecord): void;
  socket: net.Socket;
}

export type Handler = (values: VppRecord, io: Io) => void;

export interface ResponderOptions {
  path?: string;
  /** CRCs this "VPP" advertises instead of ours. */
  crcs?: Record<string, string>;
  /** Messages it does not have (plugin not loaded). */
  omit?: readonly string[];
}

let seq = 0;

export function socketPath(): string {
  return join(tmpdir(), `wgbgp-vpp-test-${process.pid}-${++seq}.sock`);
}

export class Responder {
  readonly ids = new Map<string, number>();
  private readonly names = new Map<number, string>();
  readonly handlers = new Map<string, Handler>();
  /** Every request received: name and values. */
  readonly received: { name: string; values: VppRecord }[] = [];
  /** Every request's bytes as received (the message body, after the socket frame). */
  readonly bodies: Buffer[] = [];
  readonly sockets = new Set<net.Socket>();
  connections = 0;
  private server: net.Server | null = null;

  private constructor(
    readonly path: string,
    private readonly opts: ResponderOptions,
  ) {
    const fixed: Record<string, number> = {
      sockclnt_create: 15,
      sockclnt_create_reply: 16,
      sockclnt_delete: 17,
      sockclnt_delete_reply: 18,
      memclnt_keepalive: 21,
      memclnt_keepalive_reply: 22,
      control_ping: 23,
      control_ping_reply: 24,
    };
    let next = 100;
    for (const name of MESSAGES.keys()) {
      const id = fixed[name] ?? next++;
      this.ids.set(name, id);
      this.names.set(id, name);
    }
    this.handlers.set('control_ping', (v, io) =>
      io.answer('control_ping_reply', { retval: 0, client_index: v.client_index ?? 0, vpe_pid: 4242 }),
    );
    this.handlers.set('show_version', (_v, io) =>
      io.answer('show_version_reply', { retval: 0, program: 'vpe', version: '25.10-release', build_date: 'today' }),
    );
    this.handlers.set('sockclnt_delete', (_v, io) => {
      io.answer('sockclnt_delete_reply', { response: 1 });
      io.socket.end();
    });
  }

  static async start(opts: ResponderOptions = {}): Promise<Responder> {
    const r = new Responder(opts.path ?? socketPath(), opts);
    await r.listen();
    return r;
  }

  on(name: string, h: Handler): this {
    this.handlers.set(name, h);
    return this;
  }

  /** The message table a real VPP would send: every definition, minus omissions, plus strangers. */
  private table(): VppRecord[] {
    const out: VppRecord[] = [];
    for (const [name, def] of MESSAGES) {
      if (this.opts.omit?.includes(name)) continue;
      out.push({ index: this.ids.get(name)!, name: `${name}_${this.opts.crcs?.[name] ?? def.crc}` });
    }
    out.push({ index: 9000, name: 'bfd_udp_add_939cd26a' });
    return out;
  }

  async listen(): Promise<void> {
    rmSync(this.path, { force: true });
    const server = net.createServer((s) => this.accept(s));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(this.path, resolve));
  }

  private accept(socket: net.Socket): void {
    this.connections++;
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    const reader = new FrameReader();
    socket.on('data', (chunk) => {
      for (const body of reader.push(chunk)) this.onMessage(socket, body);
    });
  }

  send(socket: net.Socket, name: string, values: VppRecord): void {
    if (socket.destroyed || !socket.writable) return;
    socket.write(frame(encode(MESSAGES.get(name)!, this.ids.get(name)!, values)));
  }

  private onMessage(socket: net.Socket, body: Buffer): void {
    const id = peekMsgId(body);
    const name = this.names.get(id);
    if (name === undefined) return; // VPP: "no handler for msg id", nothing sent
    const values = decode(MESSAGES.get(name)!, body).values;
    this.received.push({ name, values });
    this.bodies.push(Buffer.from(body));
    const io: Io = {
      socket,
      reply: (n, v) => this.send(socket, n, v),
      answer: (n, v = {}) => this.send(socket, n, { ...v, context: values.context ?? 0 }),
    };
    if (name === 'sockclnt_create') {
      const table = this.table();
      this.send(socket, 'sockclnt_create_reply', {
        context: values.context ?? 0,
        response: 0,
        index: HANDLE,
        message_table: table,
      });
      return;
    }
    // A wrong client_index: VPP runs the handler and the reply goes nowhere.
    if (values.client_index !== HANDLE && name !== 'memclnt_keepalive_reply') return;
    const h = this.handlers.get(name);
    if (h) h(values, io);
    else if (MESSAGES.has(`${name}_reply`)) io.answer(`${name}_reply`, { retval: 0 });
  }

  /** Like a VPP crash: every connection dropped, the listener gone. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(this.path, { force: true });
  }
}
