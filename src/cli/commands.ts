/**
 * What each `wgbgp` command does, apart from argument parsing (main.ts). Every
 * function returns the process exit code and writes through `CliIo`, so the
 * commands run in-process under test.
 */
import { fstatSync } from 'node:fs';
import type {
  ControlRequest,
  LogLevelsJson,
  NeighborAction,
  NeighborActionJson,
  NeighborJson,
  NeighborRefreshJson,
  RefreshDirection,
  OspfNeighborJson,
  OspfRouteJson,
  ReloadJson,
  ReloadDryRunJson,
  RouteJson,
  StatusJson,
  TunnelJson,
  WatchEvent,
} from '#api/types';
import { ControlClient } from '#api/index';
import type { ConfigIssue } from '#config/index';
import { checkWireguardKey } from '#config/fields';
import { RFC8203_SHUTDOWN_COMMUNICATION } from '#bgp/wire/cease';
import { generatePrivateKey, publicKeyOf } from '#wg/keys';
import {
  formatEvent,
  formatLogLevels,
  formatNeighborAction,
  formatNeighborDetail,
  formatNeighborRefresh,
  formatNeighbors,
  formatOspfNeighbors,
  formatOspfRoutes,
  formatReload,
  formatReloadDryRun,
  formatRoutes,
  formatStatus,
  formatTunnels,
} from './format.js';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  readStdin(): Promise<string>;
  /** File descriptor behind stdout, to warn before a private key lands in a world-readable file. */
  stdoutFd?: number;
  now(): Date;
  /** Colour in human output (stdout is a terminal and NO_COLOR is unset). */
  color?: boolean;
  /** `watch` ends when this resolves (Ctrl-C); absent: when the agent closes the connection. */
  interrupted?: () => Promise<void>;
}

export async function configCheck(io: CliIo, file: string, strict: boolean): Promise<number> {
  // The validator (zod, yaml) is loaded only by the command that needs it: queries start faster.
  const { byPosition, formatIssue, formatWarning, loadConfig } = await import('#config/index');
  const r = await loadConfig(file, { strict });
  const lines: { issue: ConfigIssue; text: string }[] = [
    ...(r.ok ? [] : r.errors.map((issue) => ({ issue, text: formatIssue(issue) }))),
    ...r.warnings.map((issue) => ({ issue, text: formatWarning(issue) })),
  ];
  // Errors and warnings interleaved in file order read like the file itself.
  lines.sort((a, b) => byPosition(a.issue, b.issue));
  for (const l of lines) io.stderr(`${l.text}\n`);
  if (!r.ok) return 1;
  const n = r.config.neighbors.length;
  io.stdout(`${file}: ok (${n} neighbor${n === 1 ? '' : 's'}${r.warnings.length > 0 ? `, ${r.warnings.length} warning${r.warnings.length === 1 ? '' : 's'}` : ''})\n`);
  return 0;
}

/** reload re-reads the config and reconciles tunnels: it may take longer than a query. */
const RELOAD_TIMEOUT_MS = 60_000;
const QUERY_TIMEOUT_MS = 10_000;

async function ask(socket: string, req: ControlRequest, timeoutMs = QUERY_TIMEOUT_MS): Promise<unknown> {
  const client = await ControlClient.connect(socket);
  try {
    return await client.request(req, timeoutMs);
  } finally {
    client.close();
  }
}

function print(io: CliIo, json: boolean, result: unknown, human: () => string): void {
  io.stdout(json ? `${JSON.stringify(result, null, 2)}\n` : human());
}

function asArray<T>(v: unknown): T[] {
  if (!Array.isArray(v)) throw new Error('the agent sent an unexpected reply (expected a list)');
  return v as T[];
}

export interface QueryOptions {
  socket: string;
  json: boolean;
}

/**
 * `status` exit codes, for monitoring (docs/cli.md): 0 all well; 1 the
 * dataplane is not ok or a neighbor that should be up is not Established;
 * 2 usage error; 3 the agent cannot be reached.
 */
export const STATUS_OK = 0;
export const STATUS_DEGRADED = 1;
export const STATUS_UNREACHABLE = 3;

export async function status(io: CliIo, o: QueryOptions): Promise<number> {
  let r: unknown;
  try {
    r = await ask(o.socket, { command: 'status' });
  } catch (err) {
    io.stderr(`wgbgp: ${err instanceof Error ? err.message : String(err)}\n`);
    return STATUS_UNREACHABLE;
  }
  const s = r as StatusJson;
  print(io, o.json, r, () => formatStatus(s, io));
  // A status from an older agent without `down` counts by Established alone.
  const down = s.neighbors.down ?? s.neighbors.total - s.neighbors.established;
  const ospfDown = s.ospf !== undefined && s.ospf !== null && s.ospf.state !== 'ok';
  return s.dataplane.state !== 'ok' || down > 0 || ospfDown ? STATUS_DEGRADED : STATUS_OK;
}

export async function neighbors(io: CliIo, o: QueryOptions, name?: string): Promise<number> {
  if (name !== undefined) {
    // One neighbor in full; an unknown name is the agent's error (with the configured names), exit 1.
    const r = await ask(o.socket, { command: 'neighbors', query: name });
    print(io, o.json, r, () => formatNeighborDetail(r as NeighborJson, io.now(), io));
    return 0;
  }
  const r = await ask(o.socket, { command: 'neighbors' });
  print(io, o.json, r, () => formatNeighbors(asArray<NeighborJson>(r), io.now(), io));
  return 0;
}

/** `neighbor NAME shutdown|enable|reset [--message TEXT]`: what was done, and the session's state after it. */
export async function neighborAction(io: CliIo, o: QueryOptions, name: string, action: NeighborAction, message?: string): Promise<number> {
  const req: ControlRequest = { command: 'neighbor', query: name, action };
  if (message !== undefined) req.message = message;
  if (message !== undefined && Buffer.byteLength(message, 'utf8') > RFC8203_SHUTDOWN_COMMUNICATION) {
    // RFC 9003 §3: such a peer logs an error and shows no message; the operator may want a shorter one.
    io.stderr(`wgbgp: note: the message is over ${RFC8203_SHUTDOWN_COMMUNICATION} octets; a peer that implements only RFC 8203 logs it as an error and shows none\n`);
  }
  const r = (await ask(o.socket, req)) as NeighborActionJson;
  print(io, o.json, r, () => formatNeighborAction(r, message));
  return 0;
}

/**
 * `neighbor NAME refresh [--in|--out]`: route refresh, both directions unless
 * one is named. Exit 1 when a direction could not be done (not established,
 * or the peer lacks the capability), with the reason.
 */
export async function neighborRefresh(io: CliIo, o: QueryOptions, name: string, direction?: RefreshDirection): Promise<number> {
  const req: ControlRequest = { command: 'neighbor', query: name, action: 'refresh' };
  if (direction !== undefined) req.direction = direction;
  const r = (await ask(o.socket, req)) as NeighborRefreshJson;
  print(io, o.json, r, () => formatNeighborRefresh(r));
  return [r.in, r.out].every((s) => s === null || s === 'sent') ? 0 : 1;
}

/**
 * `watch`: the agent's events as they happen, one per line (JSON Lines with
 * --json), until Ctrl-C (exit 0) or the agent goes away (exit 1).
 */
export async function watch(io: CliIo, o: QueryOptions): Promise<number> {
  const client = await ControlClient.connect(o.socket);
  const ended = client.watch((e) => io.stdout(o.json ? `${JSON.stringify(e)}\n` : formatEvent(e as WatchEvent, io)));
  const stop = io.interrupted?.().then(() => 'interrupted');
  const how = await Promise.race(stop ? [ended, stop] : [ended]);
  client.close();
  if (how === 'interrupted') return 0;
  io.stderr(`wgbgp: ${how}\n`);
  return 1;
}

/** `log-level [COMPONENT LEVEL]`: sets one component's level, or shows them all. */
export async function logLevel(io: CliIo, o: QueryOptions, component?: string, level?: string): Promise<number> {
  const req: ControlRequest = { command: 'log-level' };
  if (component !== undefined) req.component = component;
  if (level !== undefined) req.level = level;
  const r = (await ask(o.socket, req)) as LogLevelsJson;
  print(io, o.json, r, () => (level !== undefined ? `${component} logs at ${level}\n` : formatLogLevels(r)));
  return 0;
}

export async function tunnels(io: CliIo, o: QueryOptions): Promise<number> {
  const r = await ask(o.socket, { command: 'tunnels' });
  print(io, o.json, r, () => formatTunnels(asArray<TunnelJson>(r), io.now(), io));
  return 0;
}

export async function routes(io: CliIo, o: QueryOptions, query: string | undefined): Promise<number> {
  const req: ControlRequest = query === undefined ? { command: 'routes' } : { command: 'routes', query };
  const r = await ask(o.socket, req);
  const routes = asArray<RouteJson>(r);
  print(io, o.json, r, () => formatRoutes(routes, query, io));
  // Like `birdc show route for X`: a lookup that finds nothing is a failure a script can see.
  return query !== undefined && routes.length === 0 ? 1 : 0;
}

export async function reload(io: CliIo, socket: string, json = false): Promise<number> {
  const r = (await ask(socket, { command: 'reload' }, RELOAD_TIMEOUT_MS)) as ReloadJson;
  if (json) {
    io.stdout(`${JSON.stringify(r, null, 2)}\n`);
    return r.ok ? 0 : 1;
  }
  if (r.ok) {
    io.stdout(formatReload(r));
    return 0;
  }
  io.stderr(formatReload(r));
  return 1;
}

/** `reload --dry-run`: what a reload would do; exit 1 when it would be rejected. */
export async function reloadDryRun(io: CliIo, o: QueryOptions): Promise<number> {
  const r = (await ask(o.socket, { command: 'reload', dryRun: true }, RELOAD_TIMEOUT_MS)) as ReloadDryRunJson;
  print(io, o.json, r, () => formatReloadDryRun(r));
  return r.ok ? 0 : 1;
}

/** `ospf neighbors`: FRR's adjacencies on the agent's tunnels (through the agent, which asks FRR). */
export async function ospfNeighbors(io: CliIo, o: QueryOptions): Promise<number> {
  const r = await ask(o.socket, { command: 'ospf-neighbors' });
  print(io, o.json, r, () => formatOspfNeighbors(asArray<OspfNeighborJson>(r), io));
  return 0;
}

/** `ospf routes`: OSPF's own table. */
export async function ospfRoutes(io: CliIo, o: QueryOptions): Promise<number> {
  const r = await ask(o.socket, { command: 'ospf-routes' });
  print(io, o.json, r, () => formatOspfRoutes(asArray<OspfRouteJson>(r)));
  return 0;
}

/** `wg genkey` warns the same way: a private key in a file others can read is no longer private. */
function warnIfStdoutExposed(io: CliIo): void {
  if (io.stdoutFd === undefined) return;
  try {
    const st = fstatSync(io.stdoutFd);
    if (st.isFile() && (st.mode & 0o007) !== 0) io.stderr('Warning: writing to world accessible file.\n');
  } catch {
    // stdout closed or not stat-able: nothing to warn about.
  }
}

export function genkey(io: CliIo): number {
  warnIfStdoutExposed(io);
  io.stdout(`${generatePrivateKey()}\n`);
  return 0;
}

export async function pubkey(io: CliIo): Promise<number> {
  // Like `wg pubkey`: the key may be followed by a newline (and other whitespace).
  const key = (await io.readStdin()).replace(/\s+$/, '');
  const reason = checkWireguardKey(key);
  if (reason !== null) {
    io.stderr(`wgbgp pubkey: ${reason}\n`);
    return 1;
  }
  io.stdout(`${publicKeyOf(key)}\n`);
  return 0;
}
