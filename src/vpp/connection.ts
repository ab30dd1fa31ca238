/**
 * Keeps one VppClient connected. VPP restarts lose every object the agent
 * made (interfaces, peers, routes) and renumber the message ids, so the
 * backends listen for `connected` and rebuild from their desired state.
 * Reconnects back off exponentially (0.5 s doubling to 10 s); an incompatible
 * VPP is retried at the longest interval (it may be replaced by a good one).
 */
import type { Clock, TimerHandle } from '#lib/clock';
import type { Logger } from '#lib/log';
import { VppClient, type VppClientOptions } from './client.js';
import { VppIncompatibleError } from './errors.js';
import { errorText } from '#lib/error-text';

export type VppConnectionState = 'connected' | 'connecting' | 'incompatible';

export interface VppConnectionOptions extends Omit<VppClientOptions, 'clock'> {
  clock: Clock;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /**
   * Liveness: a control_ping this often while connected (0: never). A VPP that
   * panics can hang with its socket still open (seen on VPP 26.06): without
   * pings the agent would report it healthy forever.
   */
  keepaliveMs?: number;
  /** How long a liveness ping may take before the connection is dropped and retried. */
  keepaliveTimeoutMs?: number;
  /** Replaces VppClient.connect (tests). */
  connect?: (opts: VppClientOptions) => Promise<VppClient>;
}

export class VppConnection {
  private _state: VppConnectionState = 'connecting';
  private _client: VppClient | null = null;
  private _version: string | null = null;
  private _lastError: string | null = null;
  private backoffMs: number;
  private timer: TimerHandle | null = null;
  private liveness: TimerHandle | null = null;
  /** Why the agent itself dropped the connection, reported instead of the close. */
  private dropReason: string | null = null;
  private running = false;
  private attempt = 0;
  /** Counters of the clients of earlier connections, and how many connections were made. */
  private past = { errors: 0, timeouts: 0 };
  private connects = 0;
  private readonly connectedCbs = new Set<(client: VppClient) => void | Promise<void>>();
  private readonly disconnectedCbs = new Set<(reason: string) => void>();
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly log: Logger;

  constructor(private readonly opts: VppConnectionOptions) {
    this.minBackoffMs = opts.minBackoffMs ?? 500;
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000;
    this.backoffMs = this.minBackoffMs;
    this.log = opts.log;
  }

  private retire(c: VppClient): void {
    this.past.errors += c.counters.errors;
    this.past.timeouts += c.counters.timeouts;
  }

  /** API errors (negative retval) and timeouts over all connections, and the connections made (metrics). */
  get counters(): { errors: number; timeouts: number; connects: number } {
    const c = this._client?.counters;
    return { errors: this.past.errors + (c?.errors ?? 0), timeouts: this.past.timeouts + (c?.timeouts ?? 0), connects: this.connects };
  }

  get state(): VppConnectionState {
    return this._state;
  }
  /** The live client while connected. */
  get client(): VppClient | null {
    return this._client;
  }
  /** show_version's `version` of the connected (or last connected) VPP, e.g. '25.10-release'. */
  get version(): string | null {
    return this._version;
  }
  /** Why the last attempt failed or the last connection ended, for status output. */
  get lastError(): string | null {
    return this._lastError;
  }

  /** `cb` runs on every (re)connect, after the CRC check and show_version. */
  onConnected(cb: (client: VppClient) => void | Promise<void>): () => void {
    this.connectedCbs.add(cb);
    return () => this.connectedCbs.delete(cb);
  }

  onDisconnected(cb: (reason: string) => void): () => void {
    this.disconnectedCbs.add(cb);
    return () => this.disconnectedCbs.delete(cb);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.tryConnect();
  }

  /** Stops reconnecting and closes the client (sockclnt_delete). */
  async stop(): Promise<void> {
    this.running = false;
    this.attempt++;
    this.timer?.cancel();
    this.timer = null;
    this.liveness?.cancel();
    this.liveness = null;
    const c = this._client;
    this._client = null;
    this._state = 'connecting';
    if (c) this.retire(c);
    if (c) await c.close();
  }

  private async tryConnect(): Promise<void> {
    this.timer = null;
    const attempt = ++this.attempt;
    const o = this.opts;
    const clientOpts: VppClientOptions = {
      socketPath: o.socketPath,
      log: o.log,
      required: o.required,
      clock: o.clock,
      ...(o.clientName !== undefined && { clientName: o.clientName }),
      ...(o.optional !== undefined && { optional: o.optional }),
      ...(o.timeoutMs !== undefined && { timeoutMs: o.timeoutMs }),
      ...(o.maxInFlight !== undefined && { maxInFlight: o.maxInFlight }),
    };
    let client: VppClient;
    try {
      client = await (o.connect ?? VppClient.connect)(clientOpts);
    } catch (err) {
      if (attempt !== this.attempt || !this.running) return;
      this.failed(err);
      return;
    }
    if (attempt !== this.attempt || !this.running) {
      await client.close();
      return;
    }
    try {
      this._version = client.has('show_version') ? (await client.showVersion()).version : null;
    } catch (err) {
      this.log.warn({ err: String(err) }, 'VPP show_version failed');
    }
    if (client.isClosed || attempt !== this.attempt || !this.running) {
      if (!client.isClosed) await client.close();
      else if (this.running && attempt === this.attempt) this.failed(new Error('VPP closed the connection'));
      return;
    }
    this._client = client;
    this.connects++;
    this._state = 'connected';
    this._lastError = null;
    this.backoffMs = this.minBackoffMs;
    this.log.info({ version: this._version, socket: this.opts.socketPath }, 'VPP API connected');
    client.onClose((reason) => this.lost(client, reason));
    this.armLiveness(client);
    for (const cb of [...this.connectedCbs]) {
      try {
        await cb(client);
      } catch (err) {
        this.log.error({ err: String(err) }, 'VPP connected handler failed');
      }
    }
  }

  private failed(err: unknown): void {
    const text = errorText(err);
    const incompatible = err instanceof VppIncompatibleError;
    if (text !== this._lastError) {
      if (incompatible) this.log.error(text);
      else this.log.warn({ err: text, retryMs: this.backoffMs }, 'VPP API connect failed');
    }
    this._lastError = text;
    this._state = incompatible ? 'incompatible' : 'connecting';
    const delay = incompatible ? this.maxBackoffMs : this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.maxBackoffMs);
    this.schedule(delay);
  }

  private armLiveness(client: VppClient): void {
    const every = this.opts.keepaliveMs ?? 5000;
    if (every <= 0) return;
    const timeoutMs = this.opts.keepaliveTimeoutMs ?? 10_000;
    const tick = (): void => {
      if (this._client !== client || client.isClosed) return;
      client.request('control_ping', {}, timeoutMs).then(
        () => {
          if (this._client === client) this.liveness = this.opts.clock.setTimeout(tick, every);
        },
        (err: unknown) => {
          if (this._client !== client || client.isClosed) return;
          this.dropReason = `VPP stopped answering (control_ping: ${errorText(err)})`;
          this.log.error({ reason: this.dropReason }, 'VPP API unresponsive: reconnecting');
          void client.close();
        },
      );
    };
    this.liveness = this.opts.clock.setTimeout(tick, every);
  }

  private lost(client: VppClient, reason: Error | null): void {
    if (this._client !== client) return;
    this.retire(client);
    this._client = null;
    this._state = 'connecting';
    this.liveness?.cancel();
    this.liveness = null;
    const text = this.dropReason ?? (reason ? reason.message : 'closed');
    this.dropReason = null;
    this._lastError = text;
    for (const cb of [...this.disconnectedCbs]) {
      try {
        cb(text);
      } catch (err) {
        this.log.error({ err: String(err) }, 'VPP disconnected handler failed');
      }
    }
    if (this.running) this.schedule(this.backoffMs);
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    this.timer?.cancel();
    this.timer = this.opts.clock.setTimeout(() => void this.tryConnect(), ms);
  }
}
