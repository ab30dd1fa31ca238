/**
 * Client of the control socket (the CLI's side). Requests on one connection are
 * answered in order, so replies are matched to requests by position.
 */
import { createConnection, type Socket } from 'node:net';
import type { ControlReply, ControlRequest } from './types.js';
import { LineSplitter } from './lines.js';
import { errnoCode } from '#lib/errno';

export type ControlClientErrorKind = 'unreachable' | 'timeout' | 'closed' | 'rejected' | 'protocol';

export class ControlClientError extends Error {
  constructor(
    readonly kind: ControlClientErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'ControlClientError';
  }
}

/** The reason in words an operator can act on, not an errno. */
export function unreachableMessage(path: string, e: unknown): string {
  const head = `cannot reach the agent at ${path}`;
  switch (errnoCode(e)) {
    case 'ENOENT':
      return `${head}: no such file (is \`wgbgp agent\` running?)`;
    case 'ECONNREFUSED':
      return `${head}: connection refused (a stale socket; is \`wgbgp agent\` running?)`;
    case 'EACCES':
    case 'EPERM':
      return `${head}: permission denied (run as root or as a member of the socket's group)`;
    case 'ENOTSOCK':
      return `${head}: not a socket`;
    default:
      return `${head}: ${e instanceof Error ? e.message : String(e)}`;
  }
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

function isReply(v: unknown): v is ControlReply {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (r.ok === true && 'result' in r) || (r.ok === false && typeof r.error === 'string');
}

export class ControlClient {
  private readonly pending: Pending[] = [];
  private readonly lines = new LineSplitter();
  private closedReason: string | null = null;
  private eventListener: ((event: unknown) => void) | null = null;
  private closeWaiters: ((reason: string) => void)[] = [];

  private constructor(
    private readonly socket: Socket,
    readonly path: string,
  ) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      for (const line of this.lines.push(chunk)) this.onLine(line);
    });
    socket.on('error', (e) => this.fail(`connection to the agent at ${path} failed: ${e.message}`));
    socket.on('close', () => this.fail(`the agent at ${path} closed the connection`));
  }

  static connect(path: string, timeoutMs = 5000): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(path);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ControlClientError('timeout', `cannot reach the agent at ${path}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      const onError = (e: Error): void => {
        clearTimeout(timer);
        reject(new ControlClientError('unreachable', unreachableMessage(path, e)));
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        resolve(new ControlClient(socket, path));
      });
    });
  }

  /** Resolves with the handler's result; rejects with the agent's error text when it refuses. */
  request(req: ControlRequest, timeoutMs = 5000): Promise<unknown> {
    if (this.closedReason !== null) return Promise.reject(new ControlClientError('closed', this.closedReason));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // A late reply would be taken for the next request's: drop the connection.
        this.fail(`the agent at ${this.path} did not answer "${req.command}" within ${timeoutMs / 1000} s`, 'timeout');
      }, timeoutMs);
      this.pending.push({ resolve, reject, timer });
      this.socket.write(`${JSON.stringify(req)}\n`);
    });
  }

  /**
   * `watch`: every event the agent sends goes to `onEvent` until the
   * connection ends; resolves with the reason it ended (the agent stopped,
   * or close() was called).
   */
  async watch(onEvent: (event: unknown) => void, timeoutMs = 5000): Promise<string> {
    this.eventListener = onEvent;
    await this.request({ command: 'watch' }, timeoutMs);
    return new Promise((resolve) => {
      if (this.closedReason !== null) resolve(this.closedReason);
      else this.closeWaiters.push(resolve);
    });
  }

  close(): void {
    this.fail('client closed');
    this.socket.end();
  }

  private onLine(line: string): void {
    let reply: unknown;
    try {
      reply = JSON.parse(line);
    } catch {
      reply = undefined;
    }
    if (this.eventListener !== null && typeof reply === 'object' && reply !== null && 'event' in reply) {
      this.eventListener((reply as { event: unknown }).event);
      return;
    }
    const p = this.pending.shift();
    if (!p) {
      this.fail(`unexpected data from the agent at ${this.path}`, 'protocol');
      return;
    }
    clearTimeout(p.timer);
    if (reply === undefined) {
      p.reject(new ControlClientError('protocol', `the agent at ${this.path} sent a reply that is not JSON`));
      return;
    }
    if (!isReply(reply)) p.reject(new ControlClientError('protocol', `the agent at ${this.path} sent a malformed reply`));
    else if (reply.ok) p.resolve(reply.result);
    else p.reject(new ControlClientError('rejected', reply.error));
  }

  private fail(reason: string, kind: ControlClientErrorKind = 'closed'): void {
    if (this.closedReason === null) this.closedReason = reason;
    for (const w of this.closeWaiters.splice(0)) w(this.closedReason);
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(new ControlClientError(kind, reason));
    }
    if (kind !== 'closed') this.socket.destroy();
  }
}
