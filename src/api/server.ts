/**
 * The control socket: a unix stream socket speaking newline-delimited JSON, one
 * ControlRequest per line, one ControlReply per line, in order. The server only
 * parses and serializes; every answer comes from the ControlHandler (the agent).
 */
import { chmod, chown, lstat, mkdir, stat, unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from '#lib/log';
import { CHANGING_COMMANDS, type ControlCommand, type ControlHandler, type ControlReply, type ControlRequest, type NeighborAction } from './types.js';
import { LineSplitter, LineTooLongError } from './lines.js';
import { peerCredentials, type PeerCredentials } from './peercred.js';
import { errnoCode } from '#lib/errno';

/**
 * Who may do what. The socket file is mode 0660: root and `group` may
 * connect and ask; changing commands (reload, setting a log level) need root,
 * the agent's own user, or membership of `adminGroup` (SO_PEERCRED).
 */
export interface ControlAccess {
  group: number | null;
  adminGroup: number | null;
}

export interface ControlServerOptions {
  path: string;
  log: Logger;
  /** Replies a client has not read yet; past this it is closed (default 16 MiB). */
  maxUnreadBytes?: number;
  /** Requests of one connection read and not yet answered; reading pauses at this many (default 32). */
  maxPipelined?: number;
  /** Connections at once; more are refused with one error line (default 64). */
  maxConnections?: number;
  /** A connection with no request and nothing to answer for this long is closed (default 5 min). */
  idleMs?: number;
  access?: ControlAccess;
}

/** Requests are a few dozen bytes; a bound keeps a misbehaving client from growing memory. */
const MAX_REQUEST_LINE = 64 * 1024;
const COMMANDS: ReadonlySet<string> = new Set<ControlCommand>([
  'status',
  'neighbors',
  'routes',
  'tunnels',
  'reload',
  'watch',
  'log-level',
  'ospf-neighbors',
  'ospf-routes',
  'neighbor',
]);
const NEIGHBOR_ACTIONS: ReadonlySet<string> = new Set<NeighborAction | 'refresh'>(['shutdown', 'enable', 'reset', 'refresh']);
const DEFAULT_MAX_UNREAD = 16 * 1024 * 1024;
const NO_OSPF = 'OSPF is not configured on this agent (no ospf: section)';
const DEFAULT_MAX_PIPELINED = 32;
const DEFAULT_MAX_CONNECTIONS = 64;
const DEFAULT_IDLE_MS = 5 * 60_000;

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Validates one request line; a string is the reason it is not a request. */
export function parseRequest(line: string): ControlRequest | string {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return 'request is not valid JSON';
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'request must be a JSON object';
  const r = v as Record<string, unknown>;
  if (typeof r.command !== 'string' || !COMMANDS.has(r.command)) {
    return `unknown command ${JSON.stringify(r.command)} (expected one of ${[...COMMANDS].join(', ')})`;
  }
  for (const k of ['query', 'component', 'level', 'action', 'message', 'direction'] as const) {
    if (r[k] !== undefined && typeof r[k] !== 'string') return `${k} must be a string`;
  }
  if (r.query !== undefined && r.command !== 'routes' && r.command !== 'neighbors' && r.command !== 'neighbor') return `command ${r.command} takes no query`;
  if (r.command === 'neighbor') {
    if (r.query === undefined) return 'command neighbor needs a query (the neighbor\'s name)';
    if (typeof r.action !== 'string' || !NEIGHBOR_ACTIONS.has(r.action)) return `command neighbor needs an action (one of ${[...NEIGHBOR_ACTIONS].join(', ')})`;
    if (r.message !== undefined && (r.action === 'enable' || r.action === 'refresh')) return `action ${r.action} takes no message`;
    if (r.direction !== undefined && r.action !== 'refresh') return `action ${r.action} takes no direction`;
    if (r.direction !== undefined && r.direction !== 'in' && r.direction !== 'out') return 'direction must be "in" or "out"';
  } else if (r.action !== undefined || r.message !== undefined) return `command ${r.command} takes no action or message`;
  else if (r.direction !== undefined) return `command ${r.command} takes no direction`;
  if ((r.component !== undefined || r.level !== undefined) && r.command !== 'log-level') return `command ${r.command} takes no component or level`;
  if (r.level !== undefined && r.component === undefined) return 'a level needs a component';
  if (r.dryRun !== undefined && typeof r.dryRun !== 'boolean') return 'dryRun must be true or false';
  if (r.dryRun !== undefined && r.command !== 'reload') return `command ${r.command} takes no dryRun`;
  const req: ControlRequest = { command: r.command as ControlCommand };
  if (typeof r.query === 'string') req.query = r.query;
  if (typeof r.component === 'string') req.component = r.component;
  if (typeof r.level === 'string') req.level = r.level;
  if (typeof r.action === 'string') req.action = r.action as NeighborAction | 'refresh';
  if (r.direction === 'in' || r.direction === 'out') req.direction = r.direction;
  if (typeof r.message === 'string') req.message = r.message;
  if (r.dryRun === true) req.dryRun = true;
  return req;
}

/** A command that changes the agent rather than reading it. */
export function isChanging(req: ControlRequest): boolean {
  return CHANGING_COMMANDS.has(req.command) || (req.command === 'log-level' && req.level !== undefined);
}

/** True when something accepts connections on the socket path. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', (e) => {
      const code = errnoCode(e);
      if (code === 'ECONNREFUSED' || code === 'ENOENT') resolve(false);
      else reject(e);
    });
  });
}

export class ControlServer {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  /** Identity of the socket file we created, so close() never unlinks a successor's socket. */
  private inode: { dev: number; ino: number } | null = null;

  constructor(
    private readonly handler: ControlHandler,
    private readonly opts: ControlServerOptions,
  ) {}

  get path(): string {
    return this.opts.path;
  }

  async listen(): Promise<void> {
    const { path } = this.opts;
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    await this.removeStaleSocket();
    const server = createServer((s) => this.accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (e) => this.opts.log.error({ err: errorText(e) }, 'control socket error'));
    this.server = server;
    // Root and the socket's group (wgbgp operators) may query; nobody else.
    await chmod(path, 0o660);
    await this.applyGroup();
    const st = await stat(path);
    this.inode = { dev: st.dev, ino: st.ino };
    this.opts.log.info({ path }, 'control socket listening');
  }

  /** A reload may change the groups: the socket file follows, existing connections keep what they are. */
  async setAccess(access: ControlAccess): Promise<void> {
    const before = this.opts.access?.group ?? null;
    this.opts.access = access;
    if (this.server !== null && access.group !== before) await this.applyGroup();
  }

  private async applyGroup(): Promise<void> {
    const group = this.opts.access?.group ?? null;
    // No group: the agent's own (root's), so only root may connect.
    await chown(this.opts.path, -1, group ?? process.getgid?.() ?? 0);
  }

  /** Root, the agent's own user, or a member of the admin group. Unknown credentials may not change anything. */
  private mayChange(cred: PeerCredentials | null): boolean {
    if (cred === null) return false;
    if (cred.uid === 0 || cred.uid === process.getuid?.()) return true;
    const admin = this.opts.access?.adminGroup ?? null;
    return admin !== null && cred.gids.includes(admin);
  }

  /**
   * A socket file left by a crashed agent blocks bind(); remove it only when
   * nothing answers on it, so a second agent never steals a running one's socket.
   */
  private async removeStaleSocket(): Promise<void> {
    const { path } = this.opts;
    let st;
    try {
      st = await lstat(path);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return;
      throw e;
    }
    if (!st.isSocket()) throw new Error(`${path} exists and is not a socket; not removing it`);
    if (await answers(path)) throw new Error(`another process is listening on ${path} (is another wgbgp agent running?)`);
    this.opts.log.info({ path }, 'removing stale control socket');
    await unlink(path).catch((e: unknown) => {
      if (errnoCode(e) !== 'ENOENT') throw e;
    });
  }

  /**
   * One client. Bounded on every side, so no client can grow the agent (one
   * that pipelined a million requests without reading took it from 105 MB to
   * 1.3 GB): reading pauses while `maxPipelined` requests wait for their
   * answers, a client that lets more than `maxUnreadBytes` of replies pile up
   * is closed, an idle one is closed after `idleMs`, and past
   * `maxConnections` a new one gets an error line and is closed.
   */
  private accept(socket: Socket): void {
    const o = this.opts;
    const maxUnread = o.maxUnreadBytes ?? DEFAULT_MAX_UNREAD;
    const maxPipelined = o.maxPipelined ?? DEFAULT_MAX_PIPELINED;
    if (this.sockets.size >= (o.maxConnections ?? DEFAULT_MAX_CONNECTIONS)) {
      socket.on('error', () => {});
      // Closed once the line is out: nothing it sends is read, so its end would never be seen.
      socket.end(`${JSON.stringify({ ok: false, error: 'too many control connections; try again later' })}\n`, () => socket.destroy());
      return;
    }
    this.sockets.add(socket);
    let cred: PeerCredentials | null = null;
    try {
      cred = peerCredentials(socket);
    } catch (e) {
      o.log.debug({ err: errorText(e) }, 'control client credentials unavailable');
    }
    let unwatch: (() => void) | null = null;
    socket.setEncoding('utf8');
    socket.setTimeout(o.idleMs ?? DEFAULT_IDLE_MS, () => socket.destroy());
    const lines = new LineSplitter(MAX_REQUEST_LINE);
    // Replies leave in request order even when a slow command (reload) precedes a fast one.
    let queue = Promise.resolve();
    let waiting = 0;
    const backlog: string[] = [];
    const pump = (): void => {
      while (backlog.length > 0 && waiting < maxPipelined) {
        const line = backlog.shift()!;
        waiting++;
        queue = queue.then(async () => {
          const { reply, watch } = await this.answer(line, cred);
          waiting--;
          if (socket.destroyed) return;
          if (socket.writableLength > maxUnread) {
            o.log.warn({ unread: socket.writableLength }, 'control client does not read its replies: closed');
            socket.destroy();
            return;
          }
          socket.write(`${JSON.stringify(reply)}\n`);
          if (watch && unwatch === null && this.handler.watch) {
            // From here on, one event per line; a watcher that stops reading is dropped, not buffered for.
            socket.setTimeout(0);
            unwatch = this.handler.watch((event) => {
              if (socket.destroyed) return;
              if (socket.writableLength > maxUnread) {
                o.log.warn({ unread: socket.writableLength }, 'watch client does not read its events: closed');
                socket.destroy();
                return;
              }
              socket.write(`${JSON.stringify({ event })}\n`);
            });
          }
          pump();
        });
      }
      if (backlog.length >= maxPipelined) socket.pause();
      else if (socket.isPaused() && !socket.destroyed) socket.resume();
    };
    socket.on('data', (chunk: string) => {
      let batch: string[];
      try {
        batch = lines.push(chunk);
      } catch (e) {
        if (!(e instanceof LineTooLongError)) throw e;
        socket.end(`${JSON.stringify({ ok: false, error: `request too long (limit ${MAX_REQUEST_LINE} bytes)` })}\n`);
        return;
      }
      for (const line of batch) backlog.push(line);
      pump();
    });
    socket.on('error', (e) => this.opts.log.debug({ err: errorText(e) }, 'control client error'));
    socket.on('close', () => {
      this.sockets.delete(socket);
      unwatch?.();
    });
  }

  private async answer(line: string, cred: PeerCredentials | null): Promise<{ reply: ControlReply; watch: boolean }> {
    const req = parseRequest(line);
    if (typeof req === 'string') return { reply: { ok: false, error: req }, watch: false };
    if (isChanging(req) && !this.mayChange(cred)) {
      this.opts.log.warn({ command: req.command, uid: cred?.uid ?? null, pid: cred?.pid ?? null }, 'control command refused: not permitted');
      const admin = this.opts.access?.adminGroup ?? null;
      const who = admin === null ? 'root' : `root or members of group ${admin} (control.admin-group)`;
      return { reply: { ok: false, error: `permission denied: ${req.command}${req.command === 'log-level' ? ' (setting a level)' : ''}${req.action !== undefined ? ` ${req.action}` : ''} is for ${who}` }, watch: false };
    }
    try {
      return { reply: { ok: true, result: await this.dispatch(req) }, watch: req.command === 'watch' };
    } catch (e) {
      // A failing command must not take the agent down; the client gets the reason.
      this.opts.log.warn({ command: req.command, err: errorText(e) }, 'control command failed');
      return { reply: { ok: false, error: errorText(e) }, watch: false };
    }
  }

  private async dispatch(req: ControlRequest): Promise<unknown> {
    const h = this.handler;
    switch (req.command) {
      case 'status':
        return h.status();
      case 'neighbors': {
        const all = h.neighbors();
        if (req.query === undefined) return all;
        const n = all.find((x) => x.name === req.query);
        if (n === undefined) throw new Error(`no neighbor named ${JSON.stringify(req.query)} (configured: ${all.map((x) => x.name).join(', ') || 'none'})`);
        return n;
      }
      case 'routes':
        return await h.routes(req.query);
      case 'tunnels':
        return await h.tunnels();
      case 'reload':
        if (req.dryRun === true) {
          if (!h.reloadDryRun) throw new Error('this agent has no reload --dry-run');
          return await h.reloadDryRun();
        }
        return await h.reload();
      case 'watch':
        if (!h.watch) throw new Error('this agent has no event stream');
        return { watching: true };
      case 'log-level':
        if (!h.logLevel) throw new Error('this agent has no run-time log levels');
        return h.logLevel(req.component, req.level);
      case 'ospf-neighbors':
        if (!h.ospfNeighbors) throw new Error(NO_OSPF);
        return await h.ospfNeighbors();
      case 'ospf-routes':
        if (!h.ospfRoutes) throw new Error(NO_OSPF);
        return await h.ospfRoutes();
      case 'neighbor':
        if (req.action === 'refresh') {
          if (!h.neighborRefresh || req.query === undefined) throw new Error('this agent cannot refresh routes');
          return h.neighborRefresh(req.query, req.direction ?? 'both');
        }
        if (!h.neighborAction || req.query === undefined || req.action === undefined) throw new Error('this agent cannot shut down or enable neighbors');
        return await h.neighborAction(req.query, req.action, req.message);
    }
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const { path } = this.opts;
    try {
      const st = await stat(path);
      if (this.inode && st.dev === this.inode.dev && st.ino === this.inode.ino) await unlink(path);
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') this.opts.log.warn({ path, err: errorText(e) }, 'cannot remove control socket');
    }
  }
}
