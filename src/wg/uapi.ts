/**
 * wireguard-go's cross-platform userspace API (UAPI): a line protocol over the
 * unix socket <runDir>/<ifname>.sock. Requests are `key=value` lines ending
 * with an empty line; the reply ends with `errno=N` and an empty line. Keys are
 * lowercase hex, not base64. In a `set`, lines apply in order and everything
 * after `public_key=` applies to that peer.
 *
 * The text codec (parse/serialize) is pure and tested on fixtures; UapiClient
 * is the thin socket part.
 */
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { keyToHex } from './keys.js';
import type { TunnelSpec, TunnelStatus } from './types.js';

export const DEFAULT_RUN_DIR = '/var/run/wireguard';

export interface UapiPeer {
  /** Hex. */
  publicKey: string;
  /** "ip:port" / "[ip6]:port", or null until known. */
  endpoint: string | null;
  protocolVersion: number | null;
  /** 0 (with nsec 0) means no handshake yet. */
  lastHandshakeTimeSec: number;
  lastHandshakeTimeNsec: number;
  rxBytes: number;
  txBytes: number;
  /** Seconds, 0 = off. */
  persistentKeepaliveInterval: number;
  allowedIps: string[];
}

export interface UapiDevice {
  /** Hex, or null when the device has no private key yet. A secret: never log. */
  privateKey: string | null;
  listenPort: number;
  /** 0 = none (the reply omits it then). */
  fwmark: number;
  peers: UapiPeer[];
}

/** One `key=value` line of a set request. */
export type UapiLine = readonly [key: string, value: string];

export class UapiError extends Error {
  override readonly name: string = 'UapiError';
}

/** The device rejected a request: `errno` is negative, e.g. -22 (EINVAL) for a bad value. */
export class UapiErrnoError extends UapiError {
  override readonly name = 'UapiErrnoError';
  constructor(
    readonly errno: number,
    readonly ifname: string | null = null,
  ) {
    super(`${ifname ?? 'uapi'}: request failed with errno=${errno}`);
  }
}

/** The socket could not be reached: `code` is ENOENT (no device), ECONNREFUSED (stale socket), … */
export class UapiConnectError extends UapiError {
  override readonly name = 'UapiConnectError';
  constructor(
    readonly ifname: string,
    readonly code: string,
    message: string,
  ) {
    super(`${ifname}: cannot reach the UAPI socket: ${message}`);
  }
}

/** The reply did not follow the protocol (or did not arrive in time). */
export class UapiProtocolError extends UapiError {
  override readonly name = 'UapiProtocolError';
}

function parseUint(key: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new UapiProtocolError(`bad number in ${key}=${value}`);
  return Number(value);
}

/** Splits a reply into its lines and its errno; throws UapiErrnoError when errno != 0. */
function replyLines(text: string, ifname: string | null): string[] {
  if (!text.endsWith('\n\n')) throw new UapiProtocolError('reply does not end with an empty line');
  const lines = text.slice(0, -2).split('\n');
  const last = lines.pop();
  const m = last === undefined ? null : /^errno=(-?\d+)$/.exec(last);
  if (!m) throw new UapiProtocolError('reply does not end with errno=');
  const errno = Number(m[1]);
  if (errno !== 0) throw new UapiErrnoError(errno, ifname);
  return lines;
}

/** Parses the reply to `get=1`. Unknown keys are skipped (newer wireguard-go versions add some). */
export function parseGetReply(text: string, ifname: string | null = null): UapiDevice {
  const dev: UapiDevice = { privateKey: null, listenPort: 0, fwmark: 0, peers: [] };
  let peer: UapiPeer | null = null;
  for (const line of replyLines(text, ifname)) {
    const eq = line.indexOf('=');
    if (eq <= 0) throw new UapiProtocolError(`not a key=value line: ${JSON.stringify(line.slice(0, 40))}`);
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === 'public_key') {
      peer = {
        publicKey: value,
        endpoint: null,
        protocolVersion: null,
        lastHandshakeTimeSec: 0,
        lastHandshakeTimeNsec: 0,
        rxBytes: 0,
        txBytes: 0,
        persistentKeepaliveInterval: 0,
        allowedIps: [],
      };
      dev.peers.push(peer);
      continue;
    }
    if (peer === null) {
      switch (key) {
        case 'private_key': dev.privateKey = value; break;
        case 'listen_port': dev.listenPort = parseUint(key, value); break;
        case 'fwmark': dev.fwmark = parseUint(key, value); break;
        default: break;
      }
      continue;
    }
    switch (key) {
      case 'endpoint': peer.endpoint = value; break;
      case 'protocol_version': peer.protocolVersion = parseUint(key, value); break;
      case 'last_handshake_time_sec': peer.lastHandshakeTimeSec = parseUint(key, value); break;
      case 'last_handshake_time_nsec': peer.lastHandshakeTimeNsec = parseUint(key, value); break;
      case 'rx_bytes': peer.rxBytes = parseUint(key, value); break;
      case 'tx_bytes': peer.txBytes = parseUint(key, value); break;
      case 'persistent_keepalive_interval': peer.persistentKeepaliveInterval = parseUint(key, value); break;
      case 'allowed_ip': peer.allowedIps.push(value); break;
      // preshared_key is a secret the agent does not use: not kept.
      default: break;
    }
  }
  return dev;
}

/** Parses the reply to `set=1`: returns normally on errno=0, throws UapiErrnoError otherwise. */
export function parseSetReply(text: string, ifname: string | null = null): void {
  const rest = replyLines(text, ifname);
  if (rest.length !== 0) throw new UapiProtocolError('unexpected lines in a set reply');
}

export function serializeGet(): string {
  return 'get=1\n\n';
}

export function serializeSet(lines: readonly UapiLine[]): string {
  let out = 'set=1\n';
  for (const [key, value] of lines) {
    if (!/^[a-z_]+$/.test(key)) throw new UapiProtocolError(`bad UAPI key: ${JSON.stringify(key)}`);
    if (value.includes('\n')) throw new UapiProtocolError(`bad value for ${key}`);
    out += `${key}=${value}\n`;
  }
  return `${out}\n`;
}

/** Unix time of the last handshake, or null when there was none. */
export function lastHandshake(peer: UapiPeer): Date | null {
  if (peer.lastHandshakeTimeSec === 0 && peer.lastHandshakeTimeNsec === 0) return null;
  return new Date(peer.lastHandshakeTimeSec * 1000 + Math.floor(peer.lastHandshakeTimeNsec / 1e6));
}

/**
 * A tunnel's status from its device as UAPI reads it (wireguard-go's socket,
 * or the kernel's device in the same shape): the neighbor's peer by key.
 */
export function tunnelStatusOf(spec: TunnelSpec, dev: UapiDevice, up: boolean): TunnelStatus {
  const peerHex = keyToHex(spec.peerPublicKey);
  const peer = dev.peers.find((p) => p.publicKey === peerHex) ?? null;
  return {
    name: spec.name,
    interface: spec.interface,
    dataplaneInterface: spec.interface,
    publicKey: spec.peerPublicKey,
    endpoint: peer?.endpoint ?? null,
    latestHandshake: peer ? lastHandshake(peer) : null,
    up,
    rxBytes: peer?.rxBytes ?? null,
    txBytes: peer?.txBytes ?? null,
  };
}

export interface UapiClientOptions {
  /** Where wireguard-go puts its sockets (fixed at build time in wireguard-go). */
  runDir?: string;
  timeoutMs?: number;
}

export class UapiClient {
  readonly runDir: string;
  private readonly timeoutMs: number;

  constructor(opts: UapiClientOptions = {}) {
    this.runDir = opts.runDir ?? DEFAULT_RUN_DIR;
    this.timeoutMs = opts.timeoutMs ?? 3000;
  }

  socketPath(ifname: string): string {
    return join(this.runDir, `${ifname}.sock`);
  }

  async get(ifname: string): Promise<UapiDevice> {
    return parseGetReply(await this.request(ifname, serializeGet()), ifname);
  }

  async set(ifname: string, lines: readonly UapiLine[]): Promise<void> {
    parseSetReply(await this.request(ifname, serializeSet(lines)), ifname);
  }

  /** One request per connection: the reply is complete at the first empty line. */
  private request(ifname: string, body: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const sock = createConnection(this.socketPath(ifname));
      let buf = '';
      let settled = false;
      const finish = (err: Error | null, value = ''): void => {
        if (settled) return;
        settled = true;
        sock.destroy();
        if (err) reject(err);
        else resolve(value);
      };
      sock.setEncoding('utf8');
      sock.setTimeout(this.timeoutMs, () => finish(new UapiProtocolError(`${ifname}: no UAPI reply in ${this.timeoutMs} ms`)));
      sock.on('connect', () => sock.write(body));
      sock.on('data', (chunk: string) => {
        buf += chunk;
        if (buf.endsWith('\n\n')) finish(null, buf);
      });
      sock.on('end', () => finish(new UapiProtocolError(`${ifname}: UAPI connection closed mid-reply`)));
      sock.on('error', (e: NodeJS.ErrnoException) => {
        finish(settled || buf.length > 0
          ? new UapiProtocolError(`${ifname}: ${e.message}`)
          : new UapiConnectError(ifname, e.code ?? 'EIO', e.message));
      });
    });
  }
}
