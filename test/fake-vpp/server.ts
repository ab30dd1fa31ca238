/**
 * A fake VPP binary-API server for tests: the real socket framing (#vpp/framing),
 * the real handshake (sockclnt_create = 15 / reply 16, a message table of
 * "name_crc" entries with the CRCs of the shared definitions), every request
 * decoded with the shared definitions (#vpp/codec): a request that does not
 * fit its definition is recorded in `errors` and dropped without a reply, as
 * VPP drops it. Replies go out in request order per connection; events
 * (sw_interface_event, wireguard_peer_event) to the clients that asked.
 */
import { rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { MESSAGES, VPP_RELEASE } from '#vpp/defs/index';
import { decode, encode, peekMsgId, sizeOf, VppCodecError, type VppRecord } from '#vpp/codec';
import { frame, FrameReader } from '#vpp/framing';
import { HANDLERS, type HandlerContext } from './handlers.js';
import { Realizer } from './realize.js';
import { FakeState, IF_ADMIN_UP, IF_LINK_UP, PEER_ESTABLISHED, type StateHooks } from './state.js';

export interface FakeVppOptions {
  socketPath: string;
  /** show_version's version; default `${VPP_RELEASE}-release`. */
  version?: string;
  /** name → CRC advertised instead of the real one (a VPP whose definitions differ). */
  crcOverrides?: Record<string, string>;
  /** Messages absent from the table (plugin not loaded), e.g. the lcp_* ones. */
  omit?: string[];
  /** Mirror the state into Linux (realize.ts); null/absent = pure fake. */
  realize?: { netns: string | null; pollMs?: number } | null;
  log?: (line: string) => void;
  /** Runs on every fresh state (start, restart): what startup.conf would create, e.g. a loopback. */
  setup?: (state: FakeState) => void;
}

export type ProtocolErrorKind =
  | 'frame'
  | 'unknown-message'
  | 'truncated'
  | 'trailing-bytes'
  | 'not-connected'
  | 'bad-client-index'
  | 'no-handler'
  | 'handler-crash';

export interface ProtocolError {
  kind: ProtocolErrorKind;
  /** The message's name when known. */
  name: string | null;
  detail: string;
}

export interface LoggedRequest {
  name: string;
  values: Record<string, unknown>;
}

interface Conn {
  socket: Socket;
  reader: FrameReader;
  /** Registration pool slot (allocated at accept, like VPP's socket registrations). */
  slot: number;
  /** 0x80000000 | slot once sockclnt_create was answered, else null. */
  clientIndex: number | null;
  name: string;
  queue: Promise<void>;
  /** want_interface_events registration (pid), or null. */
  interfaceEvents: number | null;
}

/** The fixed ids of the handshake (memclnt is enumerated first in every VPP). */
const SOCKCLNT_CREATE_ID = 15;
const SOCKCLNT_CREATE_REPLY_ID = 16;
const PLUGIN_PREFIXES = ['wireguard_', 'want_wireguard_', 'wg_', 'lcp_'];

/**
 * Ids the fake assigns: memclnt messages from 1 (15/16 reserved for the
 * handshake), the core ones from 300, plugin ones from 1200, in definition
 * order — stable, and far from real VPP's numbers so hard-coded ids fail.
 */
function buildTable(omit: ReadonlySet<string>, overrides: Readonly<Record<string, string>>): { byName: Map<string, number>; entries: { index: number; name: string }[] } {
  const byName = new Map<string, number>();
  let memclnt = 1;
  let core = 300;
  let plugin = 1200;
  for (const def of MESSAGES.values()) {
    if (omit.has(def.name)) continue;
    let id: number;
    if (def.name === 'sockclnt_create') id = SOCKCLNT_CREATE_ID;
    else if (def.name === 'sockclnt_create_reply') id = SOCKCLNT_CREATE_REPLY_ID;
    else if (/^(sockclnt_|control_ping|memclnt_)/.test(def.name)) {
      while (memclnt === SOCKCLNT_CREATE_ID || memclnt === SOCKCLNT_CREATE_REPLY_ID) memclnt++;
      id = memclnt++;
    } else if (PLUGIN_PREFIXES.some((p) => def.name.startsWith(p))) id = plugin++;
    else id = core++;
    byName.set(def.name, id);
  }
  const entries = [...byName]
    .map(([name, index]) => ({ index, name: `${name}_${overrides[name] ?? MESSAGES.get(name)!.crc}` }))
    .sort((a, b) => a.index - b.index);
  return { byName, entries };
}

export class FakeVpp {
  /** Decoded requests, in arrival order (across connections and restarts). */
  readonly requests: LoggedRequest[] = [];
  /** Protocol errors: requests VPP would drop or mishandle. Tests assert it stays empty. */
  readonly errors: ProtocolError[] = [];
  /** name → id of the advertised message table. */
  readonly ids: ReadonlyMap<string, number>;
  /** The advertised table: `{ index, name: "name_crc" }`. */
  readonly messageTable: readonly { index: number; name: string }[];

  private readonly byId = new Map<number, string>();
  private readonly opts: FakeVppOptions;
  private readonly logFn: (line: string) => void;
  private currentState: FakeState = new FakeState();
  private realizer: Realizer | null = null;
  private server: Server | null = null;
  private readonly conns = new Set<Conn>();
  private readonly freeSlots: number[] = [];
  private nextSlot = 1;
  private readonly pendingIfEvents = new Map<number, number>();
  private ifEventFlush: NodeJS.Immediate | null = null;
  /** Keeps auto-generated Linux names unique on the host. */
  private readonly suffix = randomBytes(2).toString('hex');

  constructor(opts: FakeVppOptions) {
    this.opts = opts;
    this.logFn = opts.log ?? (() => {});
    const table = buildTable(new Set(opts.omit ?? []), opts.crcOverrides ?? {});
    this.ids = table.byName;
    this.messageTable = table.entries;
    for (const [name, id] of table.byName) this.byId.set(id, name);
  }

  /** The current state (a fresh one after each start/restart). */
  get state(): FakeState {
    return this.currentState;
  }

  /** What realization could not do (empty without realization). */
  get realizeErrors(): readonly string[] {
    return this.realizer?.errors ?? [];
  }

  get socketPath(): string {
    return this.opts.socketPath;
  }

  /** Connected clients. */
  get clients(): number {
    return this.conns.size;
  }

  get version(): string {
    return this.opts.version ?? `${VPP_RELEASE}-release`;
  }

  async start(): Promise<void> {
    if (this.server) throw new Error('fake VPP already started');
    const state = new FakeState();
    this.currentState = state;
    state.hooks = this.hooksFor(state);
    this.opts.setup?.(state);
    if (this.opts.realize) {
      this.realizer = new Realizer(state, {
        netns: this.opts.realize.netns,
        suffix: this.suffix,
        log: this.logFn,
        ...(this.opts.realize.pollMs !== undefined ? { pollMs: this.opts.realize.pollMs } : {}),
      });
      this.realizer.schedule();
    }
    rmSync(this.opts.socketPath, { force: true });
    const server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.logFn(`fake VPP ${this.version} listening on ${this.opts.socketPath}`);
  }

  /** Closes the socket and every connection (clients see EOF, as when VPP dies) and removes what was realized. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const c of this.conns) c.socket.destroy();
      this.conns.clear();
      await closed;
      rmSync(this.opts.socketPath, { force: true });
    }
    if (this.ifEventFlush) clearImmediate(this.ifEventFlush);
    this.ifEventFlush = null;
    this.pendingIfEvents.clear();
    const r = this.realizer;
    this.realizer = null;
    await r?.stop();
    this.freeSlots.length = 0;
    this.nextSlot = 1;
  }

  /** A VPP restart: everything is lost (state, registrations, realized interfaces and routes). */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Drops every client connection but keeps running (and keeps the state). */
  disconnectClients(): void {
    for (const c of [...this.conns]) c.socket.destroy();
  }

  /** Resolves when realization has caught up with the state. */
  async settled(): Promise<void> {
    await this.realizer?.settled();
  }

  /** The Linux interface a VPP interface is realized as. */
  linuxName(swIfIndex: number): string | null {
    return this.realizer?.linuxName(swIfIndex) ?? null;
  }

  /** Test hook (without realization): a handshake completed / keys expired. Emits the peer event. */
  setPeerEstablished(peerIndex: number, established: boolean): void {
    const p = this.currentState.peers.get(peerIndex);
    if (!p) throw new Error(`no peer ${peerIndex}`);
    this.currentState.setPeerFlag(p, PEER_ESTABLISHED, established);
  }

  /** Test hook (without realization): the peer roamed (VPP emits no event for this). */
  roamPeer(peerIndex: number, endpoint: string | null, port: number): void {
    const p = this.currentState.peers.get(peerIndex);
    if (!p) throw new Error(`no peer ${peerIndex}`);
    this.currentState.setPeerEndpoint(p, endpoint, port);
  }

  // ─── connections ─────────────────────────────────────────────────────────

  private accept(socket: Socket): void {
    const conn: Conn = {
      socket,
      reader: new FrameReader(),
      slot: this.freeSlots.pop() ?? this.nextSlot++,
      clientIndex: null,
      name: '',
      queue: Promise.resolve(),
      interfaceEvents: null,
    };
    this.conns.add(conn);
    socket.on('data', (chunk: Buffer) => {
      let bodies: Buffer[];
      try {
        bodies = conn.reader.push(chunk);
      } catch (e) {
        this.protocolError('frame', null, (e as Error).message);
        socket.destroy();
        return;
      }
      for (const body of bodies) {
        conn.queue = conn.queue
          .then(() => this.handle(conn, body))
          .catch((e: unknown) => this.protocolError('handler-crash', null, e instanceof Error ? e.stack ?? e.message : String(e)));
      }
    });
    const gone = (): void => {
      if (!this.conns.delete(conn)) return;
      this.freeSlots.push(conn.slot);
      this.logFn(`client ${conn.name || '?'} disconnected`);
    };
    socket.on('close', gone);
    socket.on('error', () => socket.destroy());
  }

  private async handle(conn: Conn, body: Buffer): Promise<void> {
    if (conn.socket.destroyed) return;
    let msgId: number;
    try {
      msgId = peekMsgId(body);
    } catch (e) {
      this.protocolError('truncated', null, (e as Error).message);
      return;
    }
    const name = this.byId.get(msgId);
    if (name === undefined) {
      this.protocolError('unknown-message', null, `no handler for msg id ${msgId} (${body.length} bytes)`);
      return;
    }
    const def = MESSAGES.get(name)!;
    let values: VppRecord;
    try {
      values = decode(def, body).values;
    } catch (e) {
      if (!(e instanceof VppCodecError)) throw e;
      this.protocolError('truncated', name, `${e.message}; message dropped`);
      return;
    }
    const expected = sizeOf(def, values);
    if (body.length !== expected) {
      // VPP tolerates trailing bytes; our client must not send them (a layout mismatch).
      this.protocolError('trailing-bytes', name, `${body.length} bytes, the definition says ${expected}`);
    }
    this.requests.push({ name, values });
    this.logFn(`<- ${name}`);

    if (name === 'sockclnt_create') {
      this.sockclntCreate(conn, values);
      return;
    }
    let suppress = false;
    if (conn.clientIndex === null) {
      this.protocolError('not-connected', name, 'request before sockclnt_create: VPP has no registration to reply to');
      suppress = true;
    } else if ('client_index' in values && values.client_index !== conn.clientIndex) {
      this.protocolError('bad-client-index', name, `client_index ${String(values.client_index)}, registration is ${conn.clientIndex}: VPP runs the handler and drops the reply`);
      suppress = true;
    }
    const reply = (rname: string, v: VppRecord): void => {
      if (!suppress) this.send(conn, rname, { context: values.context ?? 0, ...v });
    };

    switch (name) {
      case 'control_ping':
        reply('control_ping_reply', { retval: 0, client_index: conn.clientIndex ?? 0, vpe_pid: process.pid });
        return;
      case 'sockclnt_delete':
        reply('sockclnt_delete_reply', { response: 1 });
        conn.socket.end();
        return;
      case 'want_interface_events':
        if (!suppress) conn.interfaceEvents = values.enable_disable === 0 ? null : Number(values.pid ?? 0);
        reply('want_interface_events_reply', { retval: 0 });
        return;
      default:
        break;
    }
    const handler = HANDLERS[name];
    if (!handler) {
      this.protocolError('no-handler', name, 'the fake has no handler for this message (VPP would answer it)');
      return;
    }
    const ctx: HandlerContext = {
      state: this.currentState,
      clientIndex: conn.clientIndex ?? 0,
      reply,
      refreshPeers: () => this.refreshPeers(),
      version: this.version,
    };
    await handler(values, ctx);
  }

  private sockclntCreate(conn: Conn, values: VppRecord): void {
    conn.clientIndex = (0x80000000 | conn.slot) >>> 0;
    conn.name = typeof values.name === 'string' ? values.name : '';
    this.logFn(`client ${conn.name} connected as ${conn.clientIndex.toString(16)}`);
    this.send(conn, 'sockclnt_create_reply', {
      client_index: 0,
      context: values.context ?? 0,
      response: 0,
      index: conn.clientIndex,
      count: this.messageTable.length,
      message_table: this.messageTable.map((e) => ({ index: e.index, name: e.name })),
    });
  }

  private async refreshPeers(): Promise<void> {
    const r = this.realizer;
    if (!r) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([r.refreshPeers(), new Promise<void>((resolve) => (timer = setTimeout(resolve, 500)))]);
    clearTimeout(timer);
  }

  private send(conn: Conn, name: string, values: VppRecord): void {
    const id = this.ids.get(name);
    const def = MESSAGES.get(name);
    if (id === undefined || !def) throw new Error(`fake VPP cannot send ${name}: not in its message table`);
    if (conn.socket.destroyed || !conn.socket.writable) return;
    conn.socket.write(frame(encode(def, id, values)));
    this.logFn(`-> ${name}`);
  }

  private protocolError(kind: ProtocolErrorKind, name: string | null, detail: string): void {
    this.errors.push({ kind, name, detail });
    this.logFn(`protocol error (${kind}) ${name ?? ''}: ${detail}`);
  }

  // ─── events ──────────────────────────────────────────────────────────────

  private hooksFor(state: FakeState): StateHooks {
    return {
      interfaceEvent: (swIfIndex, bits) => {
        if (this.currentState !== state) return;
        const flags = (bits.adminUp ? IF_ADMIN_UP : 0) | (bits.linkUp ? IF_LINK_UP : 0) | (bits.deleted ? 0x100 : 0);
        this.pendingIfEvents.set(swIfIndex, (this.pendingIfEvents.get(swIfIndex) ?? 0) | flags);
        // link_state_process batches per interface and sends after the handler's reply.
        this.ifEventFlush ??= setImmediate(() => this.flushInterfaceEvents());
      },
      peerFlags: (peer) => {
        if (this.currentState !== state || !this.ids.has('wireguard_peer_event')) return;
        for (const clientIndex of peer.subscribers.keys()) {
          const conn = [...this.conns].find((c) => c.clientIndex === clientIndex);
          // VPP sends when the registration's client still exists; client_index and pid are 0.
          if (conn) this.send(conn, 'wireguard_peer_event', { client_index: 0, pid: 0, peer_index: peer.peerIndex, flags: peer.flags });
        }
      },
      changed: () => {
        if (this.currentState === state) this.realizer?.schedule();
      },
    };
  }

  private flushInterfaceEvents(): void {
    this.ifEventFlush = null;
    const events = [...this.pendingIfEvents];
    this.pendingIfEvents.clear();
    if (!this.ids.has('sw_interface_event')) return;
    for (const conn of this.conns) {
      if (conn.interfaceEvents === null || conn.clientIndex === null) continue;
      for (const [swIfIndex, bits] of events) {
        this.send(conn, 'sw_interface_event', {
          client_index: conn.clientIndex,
          pid: conn.interfaceEvents,
          sw_if_index: swIfIndex,
          flags: bits & (IF_ADMIN_UP | IF_LINK_UP),
          deleted: (bits & 0x100) !== 0,
        });
      }
    }
  }
}
